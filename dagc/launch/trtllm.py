"""TensorRT-LLM's mapping for `dagc launch`: `trtllm-serve MODEL …`, flags of TensorRT-LLM 1.2.

Input: the engine-neutral `Setup` of `dagc.launch.launch`. Output: the commands per node and the extra
LLM API options YAML (`--extra_llm_api_options FILE`; newer releases call it `--config`).
`--tp_size T` is the number of GPUs of one stage, `--pp_size P`; `--ep_size E` splits the MoE
layers as EP E × MoE TP T / E; attention is TP T, or with `enable_attention_dp: true` attention
DP T (attention TP 1). `cp C` is Helix context parallelism (`--cp_size C`, `cp_config: {cp_type:
HELIX}`), which runs with MoE; a layer split other than the engine's own (the first L mod P stages
one layer more) is its YAML's `pp_partition`. Several nodes: one `mpirun` on the first node starts
every rank (`trtllm-llmapi-launch`). Every server listens on `--host 0.0.0.0` (the default is
localhost). The serving settings go into the same YAML (`serving_yaml`), per attention-DP rank and
per pipeline batch as TensorRT-LLM counts.
A version bump should only touch this table.
"""

from __future__ import annotations

import posixpath

from ..layout.stages import default_split
from ..plan.cluster import Vendor
from ..plan.workload import Overlap
from ..units import count_text, format_bytes
from . import eplb
from .degrees import MAX_LISTED_NODES, Degrees, Placement
from .eplb import EplbSupport
from .launch import OWN_HEADER_END, Command, EngineTable, GeneratedFile, Refusal, Setup
from .serving import Serving, fraction_text
from .speculative import draft_placeholder, notes as speculative_notes
from .trtllm_gpu import GPU_SM, HELIX_DOC, helix_refusal, nvfp4_refusal
from .trtllm_pd import DISAGG_KEYS, PD, PD_FLAGS, PD_YAML_KEYS, ROUTER_FLAGS, disagg_yaml

__all__ = ["DECODING_TYPES", "DISAGG_KEYS", "EPLB", "FLAGS", "PD", "PD_FLAGS", "PD_YAML_KEYS", "ROUTER_FLAGS", "TABLE",
           "YAML_KEYS", "disagg_yaml", "eplb_yaml", "ep_group_nodes", "refusals", "serving_yaml", "speculative_yaml",
           "yaml_text"]

VERSION = "TensorRT-LLM 1.2 (trtllm-serve, PyTorch backend)"
SERVING_VERSION = "TensorRT-LLM 1.2"
TOKENS_PER_BLOCK = 32       # KvCacheConfig.tokens_per_block's default: the unit prompts are chunked in
MLA_CHUNKED_PREFILL_MIN_SM = 90     # below it the engine turns chunked prefill off for MLA models
# Every flag the commands write and every key of the extra options YAML, as TensorRT-LLM 1.x
# spells them in its source (read, not run: the engine does not install without NVIDIA's package
# index; 2025–2026 snapshots of the repository, not the 1.2 tag itself):
# tensorrt_llm/commands/serve.py (`trtllm-serve` options: `--tp_size`, `--pp_size`, `--ep_size`,
# `--port`, `--extra_llm_api_options`, alias `--config`) and tensorrt_llm/llmapi/llm_args.py (the
# YAML's model, which forbids unknown keys: `enable_attention_dp`, `max_batch_size`,
# `max_num_tokens`, `enable_chunked_prefill` (False by default: `chunked_prefill = off` writes it false, explicitly;
# with it off tensorrt_llm/llmapi/llm.py `_check_arguments` refuses a request whose prompt exceeds
# `max_num_tokens`), `kv_cache_config.free_gpu_memory_fraction`,
# `cuda_graph_config.max_batch_size` and `.enable_padding`). Their meaning: `max_batch_size` is
# the requests of one scheduled batch of one attention-DP rank, which keeps pp_size of them in
# flight (`get_max_num_sequences` = pp_size × max_batch_size; with attention DP, tp_size × that
# over the ranks: _torch/pyexecutor request fetching); `max_num_tokens` the tokens of one step of
# a rank; `free_gpu_memory_fraction` the KV cache's share of the memory left free after a
# profiling step with the weights loaded (_torch/pyexecutor/_util.py: (total − peak) × fraction).
# `--host` (default localhost), `--cp_size` (alias of --context_parallel_size): serve.py; `pp_partition`
# (a layer count per stage, BaseLlmArgs), `cp_config.cp_type` HELIX (mapping.py: the one CP type that runs with
# MoE EP or TP), `max_seq_len`, `kv_cache_config.dtype` (KvCacheConfig, PyTorch backend): llm_args.py.
FLAGS = frozenset({"--tp_size", "--pp_size", "--cp_size", "--ep_size", "--extra_llm_api_options", "--host", "--port",
                   "--trust_remote_code"})
YAML_KEYS = frozenset({
    "enable_attention_dp", "pp_partition", "cp_config.cp_type", "cp_config.tokens_per_block", "kv_cache_config.dtype",
    "kv_cache_config.tokens_per_block",
    # serving
    "max_seq_len", "max_batch_size", "max_num_tokens", "enable_chunked_prefill",
    "kv_cache_config.free_gpu_memory_fraction",
    "cuda_graph_config.enable_padding", "cuda_graph_config.max_batch_size",
    # speculative decoding
    "speculative_config.decoding_type", "speculative_config.num_nextn_predict_layers",
    "speculative_config.max_draft_len", "speculative_config.speculative_model",
    # EPLB
    "moe_config.load_balancer.num_slots", "moe_config.load_balancer.layer_updates_per_iter",
})

# EPLB (`with redundant R`), TensorRT-LLM 1.2: `moe_config.load_balancer` (llmapi/llm_args.py: `MoeConfig`,
# `MoeLoadBalancerConfig`): `num_slots`, the expert slots of a MoE layer over all EP ranks (E + R, divisible by
# the EP size), and `layer_updates_per_iter` (0: a static placement; 1: the online balancer re-places one
# layer per iteration from its routing statistics). `maybe_create_moe_load_balancer`
# (_torch/modules/fused_moe/moe_load_balancer.py) creates the balancer only with moe_ep_size above 1 and for the
# architectures of its `moe_model_arch_list`; for any other it ignores the setting.
EPLB = EplbSupport(frozenset({"DeepseekV3ForCausalLM", "Llama4ForConditionalGeneration", "MixtralForCausalLM",
                              "Qwen2MoeForCausalLM", "Qwen3MoeForCausalLM"}), frozenset(),
                   "moe_model_arch_list, tensorrt_llm/_torch/modules/fused_moe/moe_load_balancer.py",
                   exhaustive=True)
EPLB_HOW = ("layer_updates_per_iter 1: its online balancer gathers the experts' tokens every iteration and re-places "
            "one MoE layer per iteration; 0 would keep the first placement")

# Speculative decoding, TensorRT-LLM 1.2 (tensorrt_llm/llmapi/llm_args.py: `speculative_config` is
# one of the decoding configs, chosen by `decoding_type`): MTPDecodingConfig (`MTP`,
# `num_nextn_predict_layers`: the draft tokens; a checkpoint with one MTP layer runs it once per
# token, "EAGLE-style MTP"), Eagle3DecodingConfig (`Eagle3`, `max_draft_len`, `speculative_model`, the
# draft checkpoint, alias `speculative_model_dir`), NGramDecodingConfig (`NGram`, `max_draft_len`;
# `max_matching_ngram_size` left at its default).
DECODING_TYPES = {"mtp": "MTP", "eagle": "Eagle3", "ngram": "NGram"}


def ep_group_nodes(d: Degrees, ep_fastest: bool) -> list[frozenset[int]]:
    """The nodes (relative to the replica's first) of every MoE EP group of every stage, sorted:
    with `ep_fastest` as TensorRT-LLM forms them (its `Mapping`: moe_ep_rank = tp_rank mod ep_size,
    so an EP group is ep_size consecutive ranks), else as dagc (etp fastest: ranks etp apart).

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> from dagc.launch.degrees import degrees
        >>> from dagc.verdict.check import check
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 16 gpu preset "h100-sxm" } '
        ...                    'workload { batch = 8 prompt = 512 generate = 64 } strategy tp 1 ; ep 8 etp 2')
        >>> d = degrees(p, check(p)[0].strategy)
        >>> [sorted(n) for n in ep_group_nodes(d, True)], [sorted(n) for n in ep_group_nodes(d, False)]
        ([[0], [1]], [[0, 1], [0, 1]])
    """
    gpn, g = d.gpus_per_node, d.group
    whole = d.replica_gpus <= gpn
    groups = []
    for s in range(d.pp):
        for m in range(d.etp):
            local = [m * d.ep + e if ep_fastest else e * d.etp + m for e in range(d.ep)]
            groups.append(frozenset(0 if whole else (s * g + r) // gpn for r in local))
    return sorted(groups, key=sorted)


def _moe_order(d: Degrees) -> list[Refusal]:
    if not d.has_experts or d.edp > 1 or d.ep == 1 or d.etp == 1:
        return []
    engine, own = ep_group_nodes(d, True), ep_group_nodes(d, False)
    if engine == own:
        return []
    spans = [f"{n} node{'s' if n > 1 else ''}" for n in (len(engine[-1]), len(own[-1]))]
    return [Refusal("E726", f"TensorRT-LLM: an EP group is {d.ep} consecutive GPUs of a stage (MoE TP over GPUs "
                    f"{d.ep} apart), dagc's EP group GPUs {d.etp} apart (etp fastest); on a stage of {d.group} GPUs "
                    f"over nodes of {d.gpus_per_node}, the engine's EP groups span {spans[0]}, dagc's {spans[1]}, "
                    "which dagc costs", "etp")]


def refusals(d: Degrees) -> list[Refusal]:
    """What TensorRT-LLM cannot say: Helix outside what it supports (E727), cp beside attention DP (E722),
    expert DP (E723), attention TP × DP mixed (E721), micro-batch overlap (E725), EP groups on other nodes
    than dagc's (E726), EPLB with EP 1 or for an architecture its balancer does not list (E707); NVFP4 weights
    before Blackwell (E729) alone, as no strategy changes it."""
    if nvfp4 := nvfp4_refusal(d):
        return nvfp4
    out = helix_refusal(d)
    if d.cp > 1 and d.adp > 1:
        out.append(Refusal("E722", f"TensorRT-LLM: Helix context parallelism splits attention as TP × CP over the "
                           f"stage (--tp_size × --cp_size); `cp {d.cp}` beside attention DP {d.adp} has no setting",
                           "cp"))
    elif d.adp > 1 and d.tp > 1:
        out.append(Refusal("E721", f"TensorRT-LLM: attention is TP over all --tp_size {d.group} GPUs or, with "
                           f"enable_attention_dp, DP over them; here attention TP {d.tp} × DP {d.adp}", "tp"))
    if d.has_experts and d.edp > 1:
        out.append(Refusal("E723", f"TensorRT-LLM: --tp_size {d.group} --ep_size E makes EP E × MoE TP "
                           f"{d.group}/E, the whole stage; here ep {d.ep} × etp {d.etp} = {d.ep * d.etp}, each "
                           f"expert replicated {d.edp} times", "ep"))
    if d.overlap is Overlap.MICROBATCH:
        out.append(Refusal("E725", "TensorRT-LLM: no option overlaps one micro-batch's communication with "
                           "another's compute (`overlap microbatch`)", "overlap"))
    balance = eplb.refusal(d, "TensorRT-LLM", EPLB, "TensorRT-LLM creates its load balancer only with an EP size "
                           "above 1 and ignores moe_config.load_balancer otherwise (maybe_create_moe_load_balancer)")
    if balance is not None:
        out.append(Refusal("E707", balance, "redundant"))
    return out + _moe_order(d)


def serving_yaml(v: Serving | None, kv_dtype: str = "") -> str:
    """The serving settings of the extra options YAML, per attention-DP rank: its longest sequence
    (`max_seq_len`), its scheduled batch (`max_batch_size`: ceil(requests / pp), the engine keeping
    pp batches in flight), its step's tokens (`max_num_tokens`, decode tokens included) with chunked
    prefill on (`enable_chunked_prefill: true`) or, with `chunked_prefill = off`, explicitly off (whole
    prompts only; E307 makes `chunk` hold the others' decode tokens and a whole prompt), the KV cache's share of
    the memory the weights and activations leave (`kv_cache_config.free_gpu_memory_fraction` = (free −
    reserve) / free), CUDA graphs for the batch.

    Example:
        >>> from dagc.launch.serving import Serving
        >>> v = Serving(batch=256, servers=1, ranks=8, pp=1, requests=32, chunk=8192, capacity_bytes=80e9,
        ...             reserve_bytes=4e9, activation_bytes=1e9, resident_bytes=21e9)
        >>> print(serving_yaml(v), end="")
        max_seq_len: 0
        max_batch_size: 32
        max_num_tokens: 8192
        enable_chunked_prefill: true
        kv_cache_config:
          free_gpu_memory_fraction: 0.932
        cuda_graph_config:
          enable_padding: true
          max_batch_size: 32
    """
    if v is None:
        return "kv_cache_config:\n" + kv_dtype if kv_dtype else ""
    chunked = [f"enable_chunked_prefill: {'false' if v.whole_prompts else 'true'}"] \
        if v.mode.continuous or v.splits_long_prompts else []
    lines = [f"max_seq_len: {v.max_len}", f"max_batch_size: {v.step_requests}", f"max_num_tokens: {v.chunk}", *chunked]
    if v.free_fraction is not None or kv_dtype:
        lines.append("kv_cache_config:")
    if v.free_fraction is not None:
        lines.append(f"  free_gpu_memory_fraction: {fraction_text(v.free_fraction)}")
    lines += kv_dtype.splitlines()
    lines += ["cuda_graph_config:", "  enable_padding: true", f"  max_batch_size: {v.step_requests}"]
    return "".join(line + "\n" for line in lines)


def speculative_yaml(d: Degrees, model: str) -> str:
    """The `speculative_config` of the extra options YAML (nothing without speculative decoding).

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> from dagc.launch.degrees import degrees
        >>> from dagc.verdict.check import check
        >>> p = load_plan_text('model preset "deepseek-v3" cluster { gpus = 16 gpu preset "h200" } '
        ...                    'workload { batch = 8 prompt = 512 generate = 64 '
        ...                    'speculative { method = mtp tokens = 2 acceptance = 0.8 } } strategy tp 1 ; ep 16')
        >>> print(speculative_yaml(degrees(p, check(p)[0].strategy), "deepseek-ai/DeepSeek-V3"), end="")
        speculative_config:
          decoding_type: MTP
          num_nextn_predict_layers: 2
    """
    spec = d.speculative
    if spec is None:
        return ""
    lines = ["speculative_config:", f"  decoding_type: {DECODING_TYPES[spec.method]}"]
    if spec.method == "mtp":
        lines.append(f"  num_nextn_predict_layers: {spec.tokens}")
    else:
        lines.append(f"  max_draft_len: {spec.tokens}")
    if spec.method == "eagle":
        lines.append(f"  speculative_model: {draft_placeholder(model)}")
    return "".join(line + "\n" for line in lines)


def eplb_yaml(d: Degrees) -> str:
    """The `moe_config.load_balancer` of the extra options YAML (nothing without `with redundant R`).

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> from dagc.launch.degrees import degrees
        >>> from dagc.verdict.check import check
        >>> p = load_plan_text('model preset "deepseek-v3" cluster { gpus = 32 gpu preset "h200" } '
        ...                    'workload { batch = 64 prompt = 512 generate = 64 } '
        ...                    'strategy tp 1 ; ep 32 with redundant 32')
        >>> print(eplb_yaml(degrees(p, check(p)[0].strategy)), end="")
        moe_config:
          load_balancer:
            num_slots: 288
            layer_updates_per_iter: 1
    """
    if not d.eplb:
        return ""
    return ("moe_config:\n  load_balancer:\n"
            f"    num_slots: {d.experts + d.redundant}\n    layer_updates_per_iter: 1\n")


def _serving_notes(v: Serving | None) -> list[str]:
    if v is None:
        return []
    batches = f", in {v.pp} pipeline batches of at most {v.step_requests:,} (max_batch_size)" if v.pp > 1 else ""
    steps = f"{v.static_steps} (max_num_tokens)" if not v.mode.continuous else \
        "decode tokens included (max_num_tokens, enable_chunked_prefill)" if not v.whole_prompts else \
        ("decode tokens included, and whole prompts only (max_num_tokens, enable_chunked_prefill: false, "
         "TensorRT-LLM's own default: its micro-batch scheduler takes the waiting prompts whole, first come first "
         "served, and stops at the first that does not fit the step)")
    notes = [f"{v.mode_text} (serving settings of {SERVING_VERSION}, in the YAML): {v.unit_text} runs up to "
             f"{count_text(v.requests, 'request')} ({v.share_text}) of up to {v.max_len:,} tokens "
             f"(max_seq_len){batches}, in steps of at most {v.chunk:,} tokens, {steps}"]
    if v.free_fraction is None:
        notes.append("kv_cache_config.free_gpu_memory_fraction: dagc has no per-GPU memory figures for this "
                     "strategy; TensorRT-LLM's default applies")
    else:
        formula = "(limit − weights − activations − reserve) / free" if v.capped else "(free − reserve) / free"
        notes.append(f"kv_cache_config.free_gpu_memory_fraction {fraction_text(v.free_fraction)}: the KV cache's "
                     f"share of the memory the weights and activations leave = {formula}, free = "
                     f"capacity − weights − activations = {format_bytes(v.capacity_bytes - (v.resident_bytes or 0.0))}"
                     f" on the fullest stage, {v.capacity_text}")
        notes += v.limit_notes
    if v.whole_prompts and v.longest_prompt > v.chunk:
        notes.append(f"the traffic's longest prompt, {v.longest_prompt:,} tokens, is longer than max_num_tokens "
                     f"{v.chunk:,}: with chunked prefill off TensorRT-LLM refuses such a request (tensorrt_llm/"
                     "llmapi/llm.py, _check_arguments: \"should not exceed max_num_tokens\"), where dagc's simulated "
                     "load runs it alone in a step (W526)")
    if v.splits_long_prompts:
        notes.append(f"the traffic's longest prompt, {v.longest_prompt:,} tokens, is longer than the prefill server's "
                     f"max_num_tokens {v.chunk:,}: enable_chunked_prefill: true, so that TensorRT-LLM splits it over "
                     "steps — with its default (false) it refuses such a request (tensorrt_llm/llmapi/llm.py, "
                     "_check_arguments: \"should not exceed max_num_tokens\"); dagc's figures price each prompt's "
                     "prefill whole")
    chunking = v.mode.continuous and not v.whole_prompts
    if chunking and v.prompt_tokens == v.room and v.room % TOKENS_PER_BLOCK:   # dagc fills a step's room
        notes.append(f"TensorRT-LLM cuts prompts into chunks of whole KV blocks ({TOKENS_PER_BLOCK} tokens by "
                     f"default): a full step holds {v.room // TOKENS_PER_BLOCK * TOKENS_PER_BLOCK:,} prompt tokens "
                     f"where dagc counts {v.room:,}")
    sm = GPU_SM.get(v.gpu)
    if chunking and v.mla and sm is not None and sm < MLA_CHUNKED_PREFILL_MIN_SM:
        notes.append(f"TensorRT-LLM turns chunked prefill off for MLA models below SM{MLA_CHUNKED_PREFILL_MIN_SM} "
                     f"({v.gpu} is SM{sm}): it would prefill whole prompts, which dagc's in-flight figures do not "
                     "describe")
    return notes


def yaml_text(d: Degrees, label: str, serving: Serving | None = None, kv_dtype: str = "") -> str:
    """The extra LLM API options of a strategy (with, in flight, its serving settings).

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> from dagc.launch.degrees import degrees
        >>> from dagc.verdict.check import check
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" } '
        ...                    'workload { batch = 8 prompt = 512 generate = 64 } strategy tp 1 ; ep 8')
        >>> d = degrees(p, check(p)[0].strategy)
        >>> print(yaml_text(d, "dep"), end="")
        # TensorRT-LLM 1.2 extra LLM API options for strategy `dep` (dagc launch)
        # attention DP 8 × TP 1; MoE EP 8 × TP 1
        enable_attention_dp: true
    """
    attention = f"attention DP {d.group} × TP 1" if d.adp > 1 else f"attention TP {d.group}"
    moe = f"; MoE EP {d.ep} × TP {d.etp}" if d.has_experts else ""
    label = " ".join(label.split())          # one line: its end marks the file as dagc's (OWN_HEADER_END)
    own = default_split(d.layers, d.pp)
    parallel = "" if d.split == own else f"pp_partition: [{', '.join(map(str, d.split))}]\n"
    if d.cp > 1:        # Helix: both block sizes required and equal (HELIX_DOC)
        parallel += f"cp_config:\n  cp_type: HELIX\n  tokens_per_block: {TOKENS_PER_BLOCK}\n"
        kv_dtype += f"  tokens_per_block: {TOKENS_PER_BLOCK}\n"
        attention = f"attention TP {d.tp} × Helix CP {d.cp}"
    return (f"# TensorRT-LLM 1.2 extra LLM API options for strategy `{label}` {OWN_HEADER_END}\n"
            f"# {attention}{moe}\n"
            f"enable_attention_dp: {'true' if d.adp > 1 else 'false'}\n"
            + parallel + serving_yaml(serving, kv_dtype))


def _flags(d: Degrees, yaml_path: str) -> list[str]:
    flags = ["--tp_size", str(d.group // d.cp)]
    if d.pp > 1:
        flags += ["--pp_size", str(d.pp)]
    if d.cp > 1:
        flags += ["--cp_size", str(d.cp)]
    if d.has_experts:
        flags += ["--ep_size", str(d.ep)]
    return flags + ["--extra_llm_api_options", yaml_path]


def _hostfile(s: Setup, p: Placement) -> GeneratedFile | None:
    """mpirun's host list of replica `p` when it spans more nodes than a `-H` list shows (`MAX_LISTED_NODES`): a
    file of its own per replica, `$NODE<k>_ADDR slots=G` a node, which the replica's script writes again with the
    nodes' addresses (`dagc.launch.scripts`). Until 2026-11-30 every replica's mpirun read one `hosts.txt`, from the
    directory it ran in, that the user was to write: two replicas named the same file for different nodes."""
    if len(p.nodes) <= MAX_LISTED_NODES:
        return None
    lines = [f"# {SERVING_VERSION} mpirun hostfile of replica {p.replica} of strategy `{' '.join(s.label.split())}`, "
             f"its {len(p.nodes)} nodes in rank order {OWN_HEADER_END}",
             *(f"$NODE{n}_ADDR slots={len(p.gpus)}" for n in p.nodes)]
    return GeneratedFile(f"trtllm-{s.file_stem}-replica{p.replica}.hosts", "".join(x + "\n" for x in lines))


def _replica(s: Setup, p: Placement, yaml_path: str, hostfile: GeneratedFile | None) -> Command:
    serve = ["trtllm-serve", s.model.text, *_flags(s.d, yaml_path), *s.extra_flags, "--host", "0.0.0.0",
             "--port", str(p.port)]
    if len(p.nodes) == 1:
        env = () if p.whole_nodes else (("CUDA_VISIBLE_DEVICES", ",".join(map(str, p.gpus))),)
        return Command(p.head, p.replica, tuple(serve), env)
    ranks = str(len(p.nodes) * len(p.gpus))
    if hostfile is not None:       # too many for -H: its own hostfile lists them
        path = posixpath.join(s.file_dir, hostfile.name) if s.file_dir else hostfile.name
        return Command(p.head, p.replica, ("mpirun", "--hostfile", path, "-n", ranks, "trtllm-llmapi-launch", *serve))
    hosts = ",".join(f"$NODE{n}_ADDR:{len(p.gpus)}" for n in p.nodes)
    return Command(p.head, p.replica, ("mpirun", "-H", hosts, "-n", ranks, "trtllm-llmapi-launch", *serve))


def _commands(s: Setup) -> tuple[list[Command], list[GeneratedFile], list[str]]:
    name = f"trtllm-{s.file_stem}.yml"
    path = posixpath.join(s.file_dir, name) if s.file_dir else name
    notes = []
    if any(len(p.nodes) > 1 for p in s.places):
        notes.append("mpirun on the first node of a replica starts the ranks on all its nodes")
    hostfiles = [_hostfile(s, p) for p in s.places]
    if any(hostfiles):
        notes.append("trtllm-…-replica<r>.hosts: mpirun's host list of a replica past "
                     f"{MAX_LISTED_NODES} nodes, one line a node, `$NODE<k>_ADDR slots={s.d.gpus_per_node}`; its "
                     "script (-o DIR) writes the nodes' addresses into a copy it starts on (by hand: e.g. envsubst)")
    notes += _serving_notes(s.serving)
    notes += speculative_notes(s.d.speculative, s.d.mtp, "trtllm", draft_placeholder(s.model.text))
    notes += eplb.notes(s.d, "TensorRT-LLM", "moe_config.load_balancer in the YAML, TensorRT-LLM 1.2", EPLB_HOW, EPLB)
    if s.d.split != default_split(s.d.layers, s.d.pp):
        notes.append(f"layer split {list(s.d.split)} differs from TensorRT-LLM's default "
                     f"{list(default_split(s.d.layers, s.d.pp))}: set by pp_partition in the YAML (a prototype field)")
    if s.d.cp > 1:
        gpu = f"; dagc does not know whether {s.d.gpu} is a Blackwell GPU, which Helix needs" \
            if s.d.gpu not in GPU_SM else ""
        notes.append(f"cp {s.d.cp}: TensorRT-LLM's Helix context parallelism (cp_config cp_type HELIX, --cp_size), the "
                     "one CP type its Mapping runs with MoE; the KV cache is split over the CP ranks in blocks of "
                     f"{TOKENS_PER_BLOCK} tokens (cp_config.tokens_per_block and kv_cache_config.tokens_per_block, "
                     f"equal, as {HELIX_DOC} requires){gpu}")
    text = (yaml_text(s.d, s.label, s.serving, s.checkpoint.yaml) + speculative_yaml(s.d, s.model.text)
            + eplb_yaml(s.d) + s.extra_yaml)
    return ([_replica(s, p, path, h) for p, h in zip(s.places, hostfiles, strict=True)],
            [GeneratedFile(name, text), *(h for h in hostfiles if h is not None)], notes)


# NVIDIA's GPUs only: its support matrix (docs/source/reference/support-matrix.md) lists NVIDIA architectures alone,
# and its kernels are CUDA's; vLLM and SGLang also ship ROCm builds for AMD's Instinct GPUs (E728).
TABLE = EngineTable(key="trtllm", name="TensorRT-LLM", version=VERSION, split_env=None,
                    default_split=default_split, refusals=refusals, commands=_commands,
                    runs_on=frozenset({Vendor.NVIDIA}))
