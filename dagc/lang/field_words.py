"""E101's hint for an unknown field of a block: the field dagc means by an engine's or a benchmark's name.

Input: a field name a plan (or `--set`) writes in a block and the block's known fields. Output: the field it
stands for (for the E103 of that field, which the typo's E101 says already) and the hint to print.

Users come to dagc from vLLM, SGLang, TensorRT-LLM and their benchmark clients, and write the workload in their
words: `max_num_seqs = 64`, `request_rate = 20`, `num_prompts = 1000`, `input_len = 2000`. `nearest` takes only
spellings of one name (`Batch`, `bacth`), so these read the block's whole list of fields; here each is the field
dagc calls it, with whose word it is. A requirement written as a workload field (`ttft = 2 s`) is told to go in
`require { … }`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .choice_words import CHOICE_WORDS
from .fields import (
    REQUIREMENT_NAMES,
    SPECULATIVE_FIELDS,
    Field,
    did_you_mean,
    elsewhere,
    nearest,
    spelling,
)

__all__ = ["CONFIG_WORDS", "FIELD_WORDS", "MOE_FFN_WORDS", "NODE_WORDS", "unknown_block_hint", "unknown_field_hint"]

# Another tool's name of a field (written without case or separators) → dagc's field, and whose name it is
FIELD_WORDS: dict[str, tuple[str, str]] = {
    "batchsize": ("batch", "the batch size"),
    "maxnumseqs": ("batch", "vLLM's `--max-num-seqs`, the cap on requests in flight"),
    "maxrunningrequests": ("batch", "SGLang's `--max-running-requests`, the cap on requests in flight"),
    "maxbatchsize": ("batch", "TensorRT-LLM's `--max_batch_size`, the cap on requests in flight"),
    "requestrate": ("rate", "`vllm bench serve --request-rate`, the arrival rate"),
    "qps": ("rate", "queries per second, the arrival rate"),
    "rps": ("rate", "requests per second, the arrival rate"),
    "arrivalrate": ("rate", "the arrival rate"),
    "numprompts": ("requests", "`vllm bench serve --num-prompts`, the requests sent"),
    "numrequests": ("requests", "the requests sent"),
    "maxconcurrency": ("concurrency", "`vllm bench serve --max-concurrency`, the clients in a closed loop"),
    "inputlen": ("prompt", "the benchmarks' input length, the prompt's tokens"),
    "randominputlen": ("prompt", "`vllm bench serve --random-input-len`, the prompt's tokens"),
    "inputlength": ("prompt", "the input length, the prompt's tokens"),
    "inputtokens": ("prompt", "the prompt's tokens"),
    "isl": ("prompt", "the input sequence length, the prompt's tokens"),
    "promptlen": ("prompt", "the prompt's tokens"),
    "promptlength": ("prompt", "the prompt's tokens"),
    "outputlen": ("generate", "the benchmarks' output length, the tokens generated"),
    "randomoutputlen": ("generate", "`vllm bench serve --random-output-len`, the tokens generated"),
    "outputlength": ("generate", "the output length, the tokens generated"),
    "outputtokens": ("generate", "the tokens generated"),
    "osl": ("generate", "the output sequence length, the tokens generated"),
    "maxtokens": ("generate", "the OpenAI API's `max_tokens`, the tokens generated"),
    "maxnewtokens": ("generate", "the tokens generated"),
    "maxnumbatchedtokens": ("chunk", "vLLM's `--max-num-batched-tokens`, the most tokens one engine step runs"),
    "chunkedprefillsize": ("chunk", "SGLang's `--chunked-prefill-size`, the most tokens one engine step runs"),
    "maxnumtokens": ("chunk", "TensorRT-LLM's `--max_num_tokens`, the most tokens one engine step runs"),
    "numspeculativetokens": ("tokens", "vLLM's `num_speculative_tokens`, the tokens drafted per step"),
    "maxdraftlen": ("tokens", "TensorRT-LLM's `max_draft_len`, the tokens drafted per step"),
    "speculativealgorithm": ("method", "SGLang's `--speculative-algorithm`, what drafts"),
}


# A count of nodes, as launchers write it (`--nnodes`, Slurm's `--nodes`): the cluster is counted in GPUs (until
# 2026-12-02 `nodes = 2` was told the cluster's fields, and "the cluster has no `gpus`" beside it)
NODE_WORDS = frozenset({"nodes", "numnodes", "nnodes", "nodecount", "node"})


# A Hugging Face config.json key (written without case or separators), as a model written out copies it → dagc's
# field and its block (`model from "config.json"` reads these keys: docs/language.md). Until 2026-11-29 `hidden_size`
# got the model's whole list of fields, and an E103 "the model has no `hidden`" above it.
CONFIG_WORDS: dict[str, tuple[str, str]] = {
    "numhiddenlayers": ("layers", "model"), "hiddensize": ("hidden", "model"), "numattentionheads": ("heads", "model"),
    "numkeyvalueheads": ("kv_heads", "model"), "vocabsize": ("vocab", "model"), "tiewordembeddings": ("tied", "model"),
    "torchdtype": ("weights", "model"), "dtype": ("weights", "model"),
    "maxpositionembeddings": ("context_length", "model"),
    "numexperts": ("experts", "model.moe"), "numlocalexperts": ("experts", "model.moe"),
    "nroutedexperts": ("experts", "model.moe"), "numexpertspertok": ("top_k", "model.moe"),
    "expertspertoken": ("top_k", "model.moe"), "moeintermediatesize": ("ffn", "model.moe"),
    "nsharedexperts": ("shared", "model.moe"), "sharedexpertintermediatesize": ("shared_ffn", "model.moe"),
    "firstkdensereplace": ("dense_layers", "model.moe"), "ngroup": ("groups", "model.moe"),
    "qlorarank": ("q_lora", "model.mla"), "kvlorarank": ("kv_lora", "model.mla"),
    "qknopeheaddim": ("qk_nope", "model.mla"), "qkropeheaddim": ("qk_rope", "model.mla"),
    "vheaddim": ("v_head", "model.mla"),
}
_CONFIG_BLOCKS = {"model": "the model's block", "model.moe": "its `moe { … }`", "model.mla": "its `mla { … }`"}
# The experts' FFN width as users name it beside the dense one (`expert_ffn`, `moe_ffn`): `ffn` of `moe { … }`, never
# the model's own `ffn` (its dense layers'). Until 2026-11-30 `moe_intermediate_size` in the model's block was asked
# "did you mean `ffn`?", which sets the dense layers' FFN.
MOE_FFN_WORDS = frozenset({"expertffn", "expertsffn", "moeffn", "expertintermediatesize", "expertffnsize",
                           "expertffndim", "moeffndim", "expertffnhidden", "moeffnhidden"})


def _config_hint(name: str, where: str, known: Sequence[str]) -> tuple[str | None, str] | None:
    """`unknown_field_hint` of a config.json key in the model's blocks (`CONFIG_WORDS`); None for another name or
    block."""
    if not where.startswith("model"):
        return None
    word = spelling(name)
    if word in MOE_FFN_WORDS:
        if where == "model.moe":
            return "ffn", f"did you mean `ffn`? (the experts' FFN width, `{name}`, is `ffn` in `moe {{ … }}`)"
        return None, (f"`{name}`, the experts' FFN width, is `ffn` of the model's `moe {{ … }}` (the model's own `ffn` "
                      "is its dense layers'): write `moe { ffn = … }`")
    said = CONFIG_WORDS.get(word)
    if said is None:
        return None
    field, home = said
    if home == where and field in known:
        return field, f"did you mean `{field}`? (`{name}` is config.json's name of it)"
    return None, (f"`{name}` is config.json's name of `{field}`, a field of {_CONFIG_BLOCKS[home]}: write `{field}` "
                  "there")


def unknown_field_hint(name: str, where: str, known: Sequence[str],
                       specs: Mapping[str, Field] | None = None, degree: str = "8") -> tuple[str | None, str]:
    """The field `name` stands for in block `where` (None when none) and E101's hint for it; `specs`, the block's
    fields, tell a value of a choice field written as a field (`inflight = true`: `serving = inflight`).

    Example:
        >>> unknown_field_hint("max_num_seqs", "workload", ["batch", "prompt"])
        ('batch', "did you mean `batch`? (`max_num_seqs` is vLLM's `--max-num-seqs`, the cap on requests in flight)")
        >>> unknown_field_hint("ttft", "workload", ["batch"])[1][:45]
        '`ttft` is a requirement, not a field of the w'
        >>> serving = {"serving": Field("choice", choices=("static", "inflight"))}
        >>> field, hint = unknown_field_hint("inflight", "workload", ["serving"], serving)
        >>> field, hint[:64]
        ('serving', '`inflight` is a value of `serving`, not a field: write `serving ')
    """
    word = spelling(name)
    if (config := _config_hint(name, where, known)) is not None:
        return config
    if where == "cluster" and word in NODE_WORDS:
        return "gpus", (f"`{name}` is no field: a cluster is counted in GPUs, `gpus` all of them and `gpus_per_node` a "
                        "node's — 2 nodes of 8 GPUs are `gpus = 16  gpus_per_node = 8` (8 a node is the default)")
    if (valued := _choice_named(name, specs or {})) is not None:
        return valued
    if (said := FIELD_WORDS.get(word)) is not None and said[0] in known:
        return said[0], f"did you mean `{said[0]}`? (`{name}` is {said[1]})"
    if said is not None and said[0] in SPECULATIVE_FIELDS and where != "workload.speculative":
        return None, (f"`{name}` is {said[1]}: dagc's `{said[0]}` of the workload's `speculative {{ … }}` block: write "
                      f"`speculative {{ method = …  {said[0]} = …  acceptance = … }}`")
    if said is not None and where.split(".")[0] != "workload":
        return None, (f"`{name}` is {said[1]}: dagc's `{said[0]}`, a field of `workload {{ … }}`: write it there, "
                      f"`workload {{ {said[0]} = … }}` (with --set: `workload.{said[0]}=…`)")
    guess, home = nearest(name, known), elsewhere(name, where, degree)
    if home and (guess is None or spelling(guess) != word):   # a field of another block, exactly, outranks a slip of
        return None, home                                     # one of this block's (`mla { heads }` is no `v_head`)
    if guess is None and name.lower() in REQUIREMENT_NAMES and where.split(".")[0] != "require":
        return None, (f"`{name}` is a requirement, not a field of the {where}: write it in the `require` block, "
                      f"`require {{ {name.lower()} <= … }}` (with --set: `--set 'require.{name.lower()}=…'`)")
    return guess, did_you_mean(name, known)


def _choice_named(name: str, specs: Mapping[str, Field]) -> tuple[str, str] | None:
    """(field, hint) where `name` is a value of one of the block's choice fields, or another name of one
    (`CHOICE_WORDS`: `continuous_batching = true`): until 2026-11-30 `inflight = true` in a workload was told the
    block's 22 fields, none of them `serving = inflight`."""
    word = spelling(name)
    for field, spec in specs.items():
        if spec.kind != "choice":
            continue
        if (other := CHOICE_WORDS.get(field, {}).get(word)) is not None:
            return field, other
        for choice in spec.choices:
            if spelling(choice) == word and not nearest(name, specs):
                rest = " or ".join(f"`{field} = {c}`" for c in spec.choices if c != choice)
                return field, (f"`{name}` is a value of `{field}`, not a field: write `{field} = {choice}`"
                               + (f" (or {rest})" if rest else ""))
    return None


def unknown_block_hint(name: str, subblocks: Sequence[str], fields: Sequence[str]) -> str | None:
    """E101's hint for `name { … }`, no block of its block: the block it begins (`spec` is `speculative`, three
    letters or more; until 2026-11-30 told the block's 22 names), else `did_you_mean`'s; None for a block of none.

    Example:
        >>> unknown_block_hint("spec", ("speculative",), ("batch", "prompt"))
        'did you mean `speculative`?'
        >>> unknown_block_hint("specualtive", ("speculative",), ("batch",))
        'did you mean `speculative`?'
    """
    begun = [b for b in subblocks if len(name) >= 3 and b.startswith(name.lower())]
    if len(begun) == 1:
        return f"did you mean `{begun[0]}`?"
    return did_you_mean(name, list(subblocks) + list(fields)) if subblocks or fields else None
