"""SGLang's mapping for `dagc launch`: `python -m sglang.launch_server …`, flags of SGLang 0.5.23.

Input: the engine-neutral `Setup` of `dagc.launch.launch`. Output: the commands per node. `--tp-size N`
is the number of GPUs of one stage (not the attention TP), `--pp-size P`; `--attn-dp-size D` makes
attention TP N / D and attention DP D; `--ep-size E` makes MoE TP N / E, so the experts always span
the whole stage. Every server listens on `--host 0.0.0.0` (SGLang's default is 127.0.0.1).
Layer split: `SGLANG_PP_LAYER_PARTITION`; the default gives the
remainder to the **last** stages. Several nodes: `--nnodes K --node-rank r --dist-init-addr`.
The serving flags of each server (`serving_flags`), counted as SGLang counts them: some over all its
attention-DP ranks, some per rank. A version bump should only touch this table.
"""

from __future__ import annotations

from ..plan.cluster import Vendor
from ..plan.workload import Overlap, PoolRole
from ..units import count_text
from . import chunked, eplb
from .degrees import Degrees, Placement, dagc_stage_nodes
from .eplb import EplbSupport
from .launch import Command, EngineTable, GeneratedFile, Refusal, Setup, overlap_note
from .serving import Serving, fraction_text
from .sglang_gpu import cp_refusal, mxfp4_refusal
from .sglang_pd import PD, PD_FLAGS, ROUTER_FLAGS, bootstrap_port, http_port
from .speculative import draft_placeholder, notes as speculative_notes

__all__ = ["ALGORITHMS", "EPLB", "FLAGS", "PD", "PD_FLAGS", "ROUTER_FLAGS", "TABLE", "bootstrap_port", "default_split",
           "http_port", "refusals", "serving_flags", "speculative_flags", "stage_nodes"]

VERSION = "SGLang 0.5.23"
SERVING_VERSION = VERSION
A2A_BACKEND = "deepep"       # --moe-a2a-backend: SGLang sets --ep-size to --tp-size with it (arg_groups/overrides.py)
A2A_BACKEND_AMD = "mori"     # on AMD GPUs: AMD's MoRI (DeepEP's kernels are CUDA's), a --moe-a2a-backend choice
# Models with an overlap schedule for --enable-two-batch-overlap (their forward runs `model_forward_stages` of
# python/sglang/srt/batch_overlap/two_batch_overlap.py: models/deepseek_v2.py, glm4_moe.py, qwen2_moe.py, whose
# model Qwen3-MoE reuses); mixtral.py, gpt_oss.py and mllama4.py have none.
NO_TBO_MODELS = frozenset({"MixtralForCausalLM", "GptOssForCausalLM", "Llama4ForConditionalGeneration"})
DIST_PORT = 5000          # --dist-init-addr HOST:PORT
MAX_PREFILL_TOKENS = 16384   # SGLang's default --max-prefill-tokens (python/sglang/srt/arg_groups/fields/schedule.py)

# Every flag the commands write, each found in SGLang 0.5.23's own parser (built CPU-only:
# python/sglang/srt/server_args.py `ServerArgs.add_cli_args`, its fields in
# python/sglang/srt/arg_groups/fields/; dagc/data/engine_flags/sglang-0.5.23.json). Full names only:
# `--tp` and `--dp` are no flags there (argparse abbreviations at best), and `--enable-dp-attention --dp`
# is deprecated for `--attn-dp-size` (arg_groups/fields/parallel.py). The serving flags'
# meaning: `--max-running-requests` is over all attention-DP ranks (each gets it // attn_dp_size:
# mem_cache/kv_cache_configurator.py `resolve_max_num_reqs`); `--chunked-prefill-size` too
# (divided by attn_dp_size: arg_groups/parallel_hook.py); with `--enable-mixed-chunk` a step's
# prompt chunk is that size less its decode tokens (managers/schedule_policy.py `PrefillAdder`);
# `--max-prefill-tokens` and `--pp-max-micro-batch-size` are per rank (managers/scheduler.py);
# `--mem-fraction-static` is (weights + KV pool) / GPU memory (arg_groups/memory_hook.py);
# `--cuda-graph-max-bs-decode` is per rank (`--cuda-graph-max-bs` is gone from 0.5.23).
FLAGS = frozenset({
    "--model-path", "--tp-size", "--pp-size", "--attn-dp-size", "--moe-dense-tp-size", "--ep-size",
    "--enable-two-batch-overlap", "--moe-a2a-backend", "--nnodes", "--dist-init-addr", "--node-rank", "--host",
    "--port", "--quantization", "--kv-cache-dtype", "--trust-remote-code",
    # serving
    "--context-length", "--max-running-requests", "--chunked-prefill-size", "--enable-mixed-chunk",
    "--max-prefill-tokens",
    "--pp-max-micro-batch-size", "--mem-fraction-static", "--cuda-graph-max-bs-decode",
    # speculative decoding
    "--speculative-algorithm", "--speculative-num-steps", "--speculative-eagle-topk", "--speculative-num-draft-tokens",
    "--speculative-draft-model-path",
    # EPLB
    "--enable-eplb", "--ep-num-redundant-experts",
})

# EPLB (`with redundant R`), SGLang 0.5.23: `--enable-eplb`, `--ep-num-redundant-experts R`
# (python/sglang/srt/arg_groups/fields/exec_.py). `--enable-eplb` asserts an EP size above 1 and turns the
# recorder on (`--expert-distribution-recorder-mode stat`; arg_groups/parallel_hook.py
# `handle_eplb_and_dispatch`); it rebalances every `--eplb-rebalance-num-iterations` (1000) passes
# (eplb/eplb_manager.py). `--init-expert-location` (default `trivial`) takes a JSON text or a .json/.pt file
# with `physical_to_logical_map` or `logical_count` (eplb/expert_location.py
# `compute_initial_expert_location_metadata`): the `logical_count` of SGLang's own `stat` dump, which dagc's
# expert-load file is not. A model balances when its class has `get_model_config_for_expert_location` and
# sizes its experts with the redundant slots (models/deepseek_v2.py, glm4_moe.py, qwen3_moe.py, gpt_oss.py);
# mixtral.py and mllama4.py have neither.
EPLB = EplbSupport(frozenset({"DeepseekV3ForCausalLM", "Glm4MoeForCausalLM", "GptOssForCausalLM",
                              "Qwen3MoeForCausalLM"}),
                   frozenset({"Llama4ForConditionalGeneration", "MixtralForCausalLM"}),
                   "SGLang 0.5.23's model classes with get_model_config_for_expert_location, "
                   "python/sglang/srt/eplb/expert_location.py")
EPLB_HOW = ("--enable-eplb records them with --expert-distribution-recorder-mode stat and rebalances every 1,000 "
            "forward passes, --eplb-rebalance-num-iterations by default; it starts from its trivial placement")
EPLB_START = ("EPLB: SGLang can start from measured loads instead: --init-expert-location FILE takes SGLang's own "
              "expert-distribution dump (the .pt that /dump_expert_distribution_record writes with "
              "--expert-distribution-recorder-mode stat: its `logical_count`), which it balances before serving; "
              "dagc's expert-load file is not that format (bench/convert_sglang_expert_load.py converts the other "
              "way): give SGLang its own dump, never dagc's file")

# Speculative decoding, SGLang 0.5.23 (fields: python/sglang/srt/arg_groups/fields/spec.py; resolution and
# checks: arg_groups/speculative_hook.py, arg_groups/validation_hook.py). `--speculative-algorithm`:
# NEXTN for a checkpoint's own MTP layer (an alias of EAGLE whose draft is the target checkpoint for
# DeepseekV3ForCausalLM, Glm4MoeForCausalLM, …), EAGLE3 with `--speculative-draft-model-path`, NGRAM.
# EAGLE-family steps: `--speculative-num-steps k --speculative-eagle-topk 1 --speculative-num-draft-tokens
# k + 1` (with topk 1 SGLang sets the draft tokens to steps + 1 itself: the verified positions, the
# last token included). NGRAM: `--speculative-num-draft-tokens k + 1` (its tree's positions; default 12).
# Refused by SGLang (E714): NGRAM with attention DP (`_handle_ngram`), any algorithm with pipeline stages
# (`check_pipeline_parallel_compat`: only single-layer EAGLE — NEXTN resolves to it, EAGLE3 does not — and
# only on a PD prefill server, `--disaggregation-mode prefill`, or with the experimental
# SGLANG_ENABLE_PP_SPEC=1 and no attention DP nor disaggregation): a prefill pool of pipeline stages drafting
# with the MTP layer is accepted. Without `--max-running-requests` SGLang caps the requests at 48 when
# speculating; every algorithm dagc writes turns `--enable-mixed-chunk` off (`_handle_eagle_family` for NEXTN,
# which resolves to EAGLE, and EAGLE3; `_handle_ngram`), so dagc does not write it with speculative decoding.
ALGORITHMS = {"mtp": "NEXTN", "eagle": "EAGLE3", "ngram": "NGRAM"}
# EAGLE made multi-layer for these checkpoints (arg_groups/overrides.py `_mimo_v2_overrides`), which pipeline
# stages refuse even on a prefill server (`check_pipeline_parallel_compat`: `not enable_multi_layer_eagle`)
MULTI_LAYER_EAGLE_MODELS = frozenset({"MiMoV2ForCausalLM", "MiMoV2FlashForCausalLM"})
SPEC_MAX_RUNNING = 48
# where SGLang turns mixed chunks off for each algorithm dagc writes
_HANDLER = {"mtp": "_handle_eagle_family: NEXTN resolves to EAGLE", "eagle": "_handle_eagle_family",
            "ngram": "_handle_ngram"}


def default_split(layers: int, pp: int) -> tuple[int, ...]:
    """SGLang's own split: L // P each, the remainder to the last stages.

    Example:
        >>> default_split(61, 4)
        (15, 15, 15, 16)
    """
    base, extra = divmod(layers, pp)
    return (base,) * (pp - extra) + (base + 1,) * extra


def stage_nodes(d: Degrees) -> tuple[frozenset[int], ...] | None:
    """The nodes (relative to the replica's first) of each stage's GPUs as SGLang places them with
    `--nnodes K --pp-size P --tp-size N`: node r holds the pp ranks of block r // (K/P) and the tp ranks
    of block r mod (K/P) (`nnodes_per_tp_group = max(K // P, 1)`, `pp_size_per_node = max(P // K,
    1)`); None when the stages do not divide the nodes that way (SGLang would leave ranks unplaced).

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> from dagc.launch.degrees import degrees
        >>> from dagc.verdict.check import check
        >>> p = load_plan_text('model preset "qwen3-30b-a3b" cluster { gpus = 32 gpu preset "h100-sxm" } '
        ...                    'workload { batch = 8 prompt = 512 generate = 64 } strategy pp 2 < tp 1 ; ep 16 >')
        >>> d = degrees(p, check(p)[0].strategy)
        >>> [sorted(n) for n in stage_nodes(d)]
        [[0, 1], [2, 3]]
    """
    n, p, gpn = d.group, d.pp, d.gpus_per_node
    if d.replica_gpus <= gpn:
        return (frozenset({0}),) * p
    k = d.replica_gpus // gpn
    per_tp_group, per_node = max(k // p, 1), max(p // k, 1)
    if n % per_tp_group:
        return None
    tp_per_node = n // per_tp_group
    out = tuple(frozenset((s // per_node) * per_tp_group + t // tp_per_node for t in range(n)) for s in range(p))
    return out if max(max(nodes) for nodes in out) < k else None


def refusals(d: Degrees) -> list[Refusal]:
    """What SGLang cannot say: cp as dagc counts it (E712); experts replicated inside a stage (E711);
    its speculative decoding's limits (E714); two-batch overlap where it has none (E715); EPLB with
    EP 1 or for a model it does not balance (E707); stages that do not take whole nodes, nor nodes
    whole stages (E713); MXFP4 weights on an AMD GPU before gfx95 (E734)."""
    out = cp_refusal(d)
    if d.has_experts and d.edp > 1:
        out.append(Refusal("E711", f"SGLang: the MoE layers span all --tp-size {d.group} GPUs of a stage (EP × MoE TP "
                           f"= {d.group}); here ep {d.ep} × etp {d.etp} = {d.ep * d.etp}, each expert replicated "
                           f"{d.edp} times", "ep"))
    out += _speculative_refusals(d) + _overlap_refusals(d) + mxfp4_refusal(d)
    balance = eplb.refusal(d, "SGLang", EPLB, "SGLang asserts an EP size above 1 with --enable-eplb "
                           "(arg_groups/parallel_hook.py, handle_eplb_and_dispatch)")
    if balance is not None:
        out.append(Refusal("E707", balance, "redundant"))
    if d.replica_gpus % d.gpus_per_node == 0 and stage_nodes(d) != dagc_stage_nodes(d):
        k = d.replica_gpus // d.gpus_per_node
        out.append(Refusal("E713", f"SGLang: --nnodes {k} --pp-size {d.pp} gives each stage whole nodes or each "
                           f"node whole stages; dagc's {d.pp} stages of {d.group} GPUs on {k} nodes of "
                           f"{d.gpus_per_node} are neither", "pp"))
    return out


def _deepep(d: Degrees) -> bool:
    """Whether the experts take SGLang's DeepEP all-to-all: EP over the whole stage (DeepEP sets --ep-size to
    --tp-size) with attention DP, whose ranks hold different tokens, and two-batch overlap or a stage over
    several nodes asks for an all-to-all. Without attention DP (`tp N ; ep N`) every rank holds all the
    stage's tokens: SGLang's default `--moe-a2a-backend none` runs the experts on them and sums their outputs
    by the TP all-reduce, as dagc prices it (`Degrees.experts_inside_tp`), with no all-to-all."""
    if not d.has_experts or d.ep != d.group or d.ep == 1 or d.experts_inside_tp:
        return False
    return d.overlap is Overlap.MICROBATCH or any(len(n) > 1 for n in dagc_stage_nodes(d))


def _overlap_refusals(d: Degrees) -> list[Refusal]:
    if d.overlap is not Overlap.MICROBATCH:
        return []
    if d.model_arch in NO_TBO_MODELS:
        return [Refusal("E715", f"SGLang: --enable-two-batch-overlap has no overlap schedule for {d.model_arch} "
                        "(only for models whose forward SGLang splits in two: DeepSeek-V3, GLM-4.5, Qwen3-MoE, …)",
                        "overlap")]
    if d.experts_inside_tp:
        return [Refusal("E715", "SGLang: --enable-two-batch-overlap needs an expert all-to-all (--moe-a2a-backend "
                        "deepep) or attention DP (arg_groups/validation_hook.py, check_two_batch_overlap); here the "
                        f"experts run inside the tp {d.tp} group, which dagc prices without an all-to-all, and DeepEP "
                        "would add one", "overlap")]
    if not _deepep(d) and d.adp == 1:
        return [Refusal("E715", "SGLang: --enable-two-batch-overlap needs an expert all-to-all (--moe-a2a-backend "
                        f"deepep, EP over the whole stage; here ep {d.ep} of {d.group} GPUs) or attention DP "
                        "(arg_groups/validation_hook.py, check_two_batch_overlap)", "overlap")]
    return []


def _speculative_refusals(d: Degrees) -> list[Refusal]:
    spec = d.speculative
    if spec is None:
        return []
    algorithm = ALGORITHMS[spec.method]
    multi_layer = d.model_arch in MULTI_LAYER_EAGLE_MODELS
    if d.pp > 1 and not (d.role is PoolRole.PREFILL and algorithm == "NEXTN" and not multi_layer):
        where = "a prefill pool's server" if d.role is PoolRole.PREFILL else "this server"
        what = f"{algorithm}, multi-layer EAGLE for {d.model_arch}," if multi_layer else algorithm
        return [Refusal("E714", "SGLang: speculative decoding with pipeline stages runs only on a disaggregated "
                        "prefill server, and only as single-layer EAGLE (NEXTN, a checkpoint's MTP layer), or under "
                        "the experimental SGLANG_ENABLE_PP_SPEC (no attention DP, no disaggregation); here "
                        f"{what} with pp {d.pp} on {where} (arg_groups/validation_hook.py, "
                        "check_pipeline_parallel_compat)", "pp")]
    if spec.method == "ngram" and d.adp > 1:
        return [Refusal("E714", f"SGLang: NGRAM speculative decoding does not run with attention DP; here attention "
                        f"DP {d.adp}", "tp")]
    return []


def speculative_flags(d: Degrees, model: str) -> list[str]:
    """The speculative-decoding flags of the plan's `speculative` block (none without).

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> from dagc.launch.degrees import degrees
        >>> from dagc.verdict.check import check
        >>> p = load_plan_text('model preset "deepseek-v3" cluster { gpus = 16 gpu preset "h200" } '
        ...                    'workload { batch = 8 prompt = 512 generate = 64 '
        ...                    'speculative { method = mtp tokens = 2 acceptance = 0.8 } } strategy tp 1 ; ep 16')
        >>> speculative_flags(degrees(p, check(p)[0].strategy), "deepseek-ai/DeepSeek-V3")[:4]
        ['--speculative-algorithm', 'NEXTN', '--speculative-num-steps', '2']
    """
    spec = d.speculative
    if spec is None:
        return []
    flags = ["--speculative-algorithm", ALGORITHMS[spec.method]]
    if spec.method == "ngram":
        return flags + ["--speculative-num-draft-tokens", str(spec.tokens + 1)]
    if spec.method == "eagle":
        flags += ["--speculative-draft-model-path", draft_placeholder(model)]
    return flags + ["--speculative-num-steps", str(spec.tokens), "--speculative-eagle-topk", "1",
                    "--speculative-num-draft-tokens", str(spec.tokens + 1)]


def _speculative_notes(s: Setup) -> list[str]:
    spec = s.d.speculative
    if spec is None:
        return []
    out = speculative_notes(spec, s.d.mtp, "sglang", draft_placeholder(s.model.text))
    if spec.method == "ngram":
        out.append("--speculative-num-draft-tokens: the positions SGLang's n-gram tree verifies per request (the last "
                   f"token and {spec.tokens} drafted); its breadth (--speculative-ngram-max-bfs-breadth, 10) is "
                   "SGLang's default")
    if s.serving is not None and s.serving.mode.continuous and not s.serving.whole_prompts:
        out.append(f"{ALGORITHMS[spec.method]}: SGLang turns --enable-mixed-chunk off with speculative decoding "
                   f"({_HANDLER[spec.method]}, arg_groups/speculative_hook.py), so dagc does not write it: SGLang runs "
                   "prefill and decode batches apart, not the mixed steps dagc's in-flight figures describe")
    if s.serving is None:
        out.append(f"SGLang caps the requests in flight at {SPEC_MAX_RUNNING} when speculating unless "
                   "--max-running-requests is given (an in-flight plan writes it)")
    return out


def _flags(d: Degrees) -> list[str]:
    flags = ["--tp-size", str(d.group)]
    if d.pp > 1:
        flags += ["--pp-size", str(d.pp)]
    if d.adp > 1:
        flags += ["--attn-dp-size", str(d.adp)]
        if d.dense_layers and d.tp == 1:
            flags += ["--moe-dense-tp-size", "1"]
    if d.has_experts and d.ep > 1:
        flags += ["--ep-size", str(d.ep)]
    if _deepep(d):
        flags += ["--moe-a2a-backend", A2A_BACKEND_AMD if d.vendor is Vendor.AMD else A2A_BACKEND]
    if d.overlap is Overlap.MICROBATCH:
        flags.append("--enable-two-batch-overlap")
    if d.eplb:
        flags += ["--enable-eplb", "--ep-num-redundant-experts", str(d.redundant)]
    return flags


def serving_flags(v: Serving | None, speculative: bool = False) -> list[str]:
    """The serving flags of one server: its longest sequence (`--context-length`). SGLang divides
    `--max-running-requests` and `--chunked-prefill-size` by the attention-DP ranks, so they are
    written for all D ranks of the server (D × each rank's); with `--enable-mixed-chunk` a step
    runs the decode tokens and a prompt's chunk within the chunk size, as dagc's `chunk`.
    `--max-prefill-tokens` (per rank) only when the chunk is above its default, 16,384;
    `--pp-max-micro-batch-size` (per rank) with pipeline stages, whose batches SGLang caps at
    requests // P otherwise. `--mem-fraction-static` = (capacity − reserve − activations) /
    capacity; the decode CUDA graphs cover a rank's step. With `chunked_prefill = off`:
    `--chunked-prefill-size -1` (no chunked prefill, and then no mixed steps) and `--max-prefill-tokens`
    the chunk, which bounds a prefill batch of whole prompts (`_serving_notes` says what differs). With
    `speculative` decoding no `--enable-mixed-chunk`: SGLang turns it off for every algorithm dagc writes."""
    if v is None:
        return []
    length = ["--context-length", str(v.max_len)] if v.max_len else []
    flags = [*length, "--max-running-requests", str(v.requests * v.ranks)]
    if v.whole_prompts:        # chunked prefill off: whole prompts, a prefill batch of at most `chunk` tokens
        flags += ["--chunked-prefill-size", str(chunked.SGLANG_NO_CHUNKING), "--max-prefill-tokens", str(v.chunk)]
    else:
        mixed = v.mode.continuous and not speculative
        flags += ["--chunked-prefill-size", str(v.chunk * v.ranks), *(["--enable-mixed-chunk"] if mixed else [])]
        if v.chunk > MAX_PREFILL_TOKENS:
            flags += ["--max-prefill-tokens", str(v.chunk)]
    if v.pp > 1:
        flags += ["--pp-max-micro-batch-size", str(v.step_requests)]
    if v.static_fraction is not None:
        flags += ["--mem-fraction-static", fraction_text(v.static_fraction)]
    return flags + ["--cuda-graph-max-bs-decode", str(v.step_requests)]


def _serving_notes(v: Serving | None, speculative: bool = False) -> list[str]:
    if v is None:
        return []
    batches = f", in {v.pp} pipeline batches of at most {v.step_requests:,}" if v.pp > 1 else ""
    both, it = ("--max-running-requests is", "it") if v.whole_prompts else \
        ("--max-running-requests and --chunked-prefill-size are", "them")
    divided = "" if v.ranks == 1 else (f"; {both} written for all {v.ranks:,} ranks ({v.ranks:,} × the rank's), since "
                                        f"SGLang divides {it} by the attention-DP ranks")
    steps = v.static_steps if not v.mode.continuous else "whole prompts only (--chunked-prefill-size -1, " \
        "--max-prefill-tokens)" if v.whole_prompts else "prompt chunks and decode steps in batches apart (no " \
        "--enable-mixed-chunk: speculative decoding)" if speculative else \
        "decode tokens included (--enable-mixed-chunk)"
    notes = [f"{v.mode_text} (serving flags of {SERVING_VERSION}): {v.unit_text} runs up to "
             f"{count_text(v.requests, 'request')} ({v.share_text}) of up to {v.max_len:,} tokens{batches}, in "
             f"steps of at most {v.chunk:,} tokens, {steps}{divided}"]
    if v.whole_prompts:
        notes.append(chunked.SGLANG_NOTE)
    if v.static_fraction is None:
        notes.append("--mem-fraction-static: dagc has no per-GPU memory figures for this strategy; SGLang's default "
                     "applies")
    else:
        notes += [*v.static_notes, *v.limit_notes]
    return notes


def _replica(s: Setup, p: Placement) -> list[Command]:
    env = s.split_env if p.whole_nodes else (("CUDA_VISIBLE_DEVICES", ",".join(map(str, p.gpus))), *s.split_env)
    base = ["python", "-m", "sglang.launch_server", "--model-path", s.model.text, *_flags(s.d),
            *serving_flags(s.serving, s.d.speculative is not None), *speculative_flags(s.d, s.model.text),
            *s.extra_flags]
    port = ["--host", "0.0.0.0", "--port", str(http_port(p))]
    if len(p.nodes) == 1:
        return [Command(p.head, p.replica, tuple(base + port), env)]
    multi = ["--nnodes", str(len(p.nodes)), "--dist-init-addr", f"$NODE{p.head}_ADDR:{DIST_PORT}"]
    return [Command(node, p.replica, tuple(base + multi + ["--node-rank", str(i)] + port), env)
            for i, node in enumerate(p.listed_nodes)]


def _notes(s: Setup) -> list[str]:
    d, notes = s.d, []
    if d.adp > 1 and d.dense_layers and d.tp > 1:
        notes.append(f"the {d.dense_layers} dense layers: SGLang splits their FFN over all {d.group} GPUs of a stage "
                     f"(--moe-dense-tp-size takes only 1), dagc by tp {d.tp}; --enable-dense-mlp-attn-tp, which "
                     "would split them by the attention TP, is read by Kimi-K3's model file only (models/kimi_k3.py)")
    notes += overlap_note(s, "SGLang", "--enable-two-batch-overlap")
    if d.experts_inside_tp and d.ep > 1 and any(len(n) > 1 for n in dagc_stage_nodes(d)):
        notes.append(f"--ep-size {d.ep} without --moe-a2a-backend: with no attention DP every rank holds all the "
                     "stage's tokens, and SGLang's default backend (none) runs each rank's experts on them and sums "
                     "their outputs by the TP all-reduce, as dagc prices it; --moe-a2a-backend deepep would add an "
                     "all-to-all dagc does not price")
    if _deepep(d):
        why = "two-batch overlap" if d.overlap is Overlap.MICROBATCH else "a stage whose EP group spans nodes"
        lib = "AMD's MoRI" if d.vendor is Vendor.AMD else "DeepEP"
        notes.append(f"--moe-a2a-backend {A2A_BACKEND_AMD if d.vendor is Vendor.AMD else A2A_BACKEND}: the experts' "
                     f"all-to-all over {lib} (its kernels must be installed), for {why}")
    if d.overlap is Overlap.MICROBATCH and d.model_arch is None and d.has_experts:
        notes.append("--enable-two-batch-overlap: dagc cannot tell whether SGLang has an overlap schedule for this "
                     "model (DeepSeek-V3, GLM-4.5 and Qwen3-MoE have one; Mixtral, gpt-oss and Llama 4 none)")
    if s.split_env:
        notes.append(f"layer split {list(d.split)} differs from SGLang's default "
                     f"{list(default_split(d.layers, d.pp))}: set by SGLANG_PP_LAYER_PARTITION")
    notes += eplb.notes(d, "SGLang", "--enable-eplb --ep-num-redundant-experts, flags of SGLang 0.5.23", EPLB_HOW, EPLB)
    return notes + ([EPLB_START] if d.eplb else [])


def _commands(s: Setup) -> tuple[list[Command], list[GeneratedFile], list[str]]:
    return ([c for p in s.places for c in _replica(s, p)], [],
            _notes(s) + _serving_notes(s.serving, s.d.speculative is not None) + _speculative_notes(s))


TABLE = EngineTable(key="sglang", name="SGLang", version=VERSION, split_env="SGLANG_PP_LAYER_PARTITION",
                    default_split=default_split, refusals=refusals, commands=_commands)
