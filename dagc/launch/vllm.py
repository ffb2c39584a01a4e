"""vLLM's mapping for `dagc launch`: `vllm serve MODEL …`, flags of vLLM 0.33.0.

Input: the engine-neutral `Setup` of `dagc.launch.launch`. Output: the commands per node. One engine
process group per whole-model replica: `--tensor-parallel-size T` (attention TP), `--pipeline-
parallel-size P`, `--data-parallel-size D` (attention DP, D engines), `--prefill-context-parallel-size
C --decode-context-parallel-size C` (cp: the prompt and the KV cache split over C ranks); the MoE
layers span all D × C × T GPUs of a stage, tensor-sharded (EP 1) or, with `--enable-expert-parallel`,
EP = D × C × T.
Layer split: `VLLM_PP_LAYER_PARTITION`; the default gives the remainder to the stages just
before the last. Several nodes: vLLM's multi-node data parallelism when each DP rank (T × P
GPUs) fits in a node, else a Ray cluster. The serving flags of each DP engine (`serving_flags`):
its longest sequence, its requests, its step's tokens, its share of GPU memory, its CUDA graphs.
A version bump should only touch this table.
"""

from __future__ import annotations

import json

from ..plan.cluster import Vendor
from ..plan.workload import Overlap
from ..units import count_text
from . import chunked, eplb, vllm_share
from .degrees import BASE_PORT, Degrees, Placement, dagc_stage_nodes
from .eplb import EplbSupport
from .launch import Command, EngineTable, GeneratedFile, Refusal, Setup, overlap_note
from .serving import Serving, fraction_text
from .speculative import draft_placeholder, notes as speculative_notes
from .vllm_cp import dcp_refusal
from .vllm_dbo import dbo_flags, dbo_notes
from .vllm_graphs import capture_size, graphs_note
from .vllm_pd import PD, PD_ENV, PD_FLAGS, ROUTER_FLAGS

__all__ = ["EPLB", "EPLB_KEYS", "FLAGS", "PD", "PD_ENV", "PD_FLAGS", "ROUTER_FLAGS", "SPECULATIVE_KEYS", "TABLE",
           "capture_size", "default_split", "eplb_flags", "refusals", "serving_flags", "speculative_config",
           "stage_nodes"]

VERSION = "vLLM 0.33.0"
SERVING_VERSION = VERSION
# `--enable-dbo` runs only with these all-to-all backends (vllm/config/vllm.py, VllmConfig.__post_init__,
# the non-ROCm `supported_backends`); dagc writes the low-latency DeepEP kernels, which it also writes when
# a stage's EP group spans nodes (the default allgather_reducescatter is no all-to-all).
A2A_BACKEND = "deepep_low_latency"
# on AMD's GPUs the all-to-all of AMD's MoRI library (DeepEP's kernels are CUDA's): `mori_low_latency`, beside
# `mori_high_throughput` in vLLM's `--all2all-backend` choices (vllm/config/parallel.py)
A2A_BACKEND_AMD = "mori_low_latency"


def a2a_backend(d: Degrees) -> str:
    """The `--all2all-backend` dagc writes for `d`'s GPU: MoRI's on an AMD GPU, else DeepEP's."""
    return A2A_BACKEND_AMD if d.vendor is Vendor.AMD else A2A_BACKEND
RAY_PACK = ("VLLM_RAY_DP_PACK_STRATEGY", "span")   # vllm/v1/engine/utils.py: a DP rank over several nodes
RPC_PORT = 13345           # --data-parallel-rpc-port
RAY_PORT = 6379

# Every flag the commands write, each found in `vllm serve`'s own parser of vLLM 0.33.0 (built
# CPU-only: vllm/entrypoints/common/cli_args.py `make_arg_parser`, which adds `--headless`, the
# frontend's `--port` and `EngineArgs.add_cli_args` of vllm/engine/arg_utils.py). The serving
# flags' meaning: vllm/config/scheduler.py (`max_num_seqs` "applies per data-parallel rank",
# `max_num_batched_tokens` the tokens of one step, decode tokens included), vllm/config/cache.py
# (`gpu_memory_utilization`: the share of the GPU's total memory this instance may use),
# vllm/config/compilation.py and vllm/config/vllm.py (`max_cudagraph_capture_size`, the capture
# grid). `--cuda-graph-sizes` is gone from 0.33 (deprecated in 0.11.1).
# Chunked prefill off: `--disable-chunked-prefill` (`dagc.launch.chunked`, which says why, and E730).
FLAGS = frozenset({
    "--tensor-parallel-size", "--pipeline-parallel-size", "--data-parallel-size", "--enable-expert-parallel",
    "--enable-dbo", "--data-parallel-size-local", "--data-parallel-address", "--data-parallel-rpc-port",
    "--data-parallel-start-rank", "--headless", "--distributed-executor-backend", "--data-parallel-backend",
    "--port", "--prefill-context-parallel-size", "--decode-context-parallel-size", "--all2all-backend",
    "--quantization", "--kv-cache-dtype", "--trust-remote-code", "--dbo-decode-token-threshold",
    "--dbo-prefill-token-threshold",
    # serving
    "--max-model-len", "--max-num-seqs", "--max-num-batched-tokens", "--enable-chunked-prefill",
    "--disable-chunked-prefill", "--gpu-memory-utilization",
    "--max-cudagraph-capture-size",
    # speculative decoding
    "--speculative-config",
    # EPLB
    "--enable-eplb", "--eplb-config",
})

# The keys of `--speculative-config` (JSON, parsed into `SpeculativeConfig`, vllm/config/speculative.py
# of vLLM 0.33.0; `vllm/engine/arg_utils.py` adds the flag): `method` — "mtp" (what "deepseek_mtp" and
# the other *_mtp names are now rewritten to; the draft is the target checkpoint's MTP layers),
# "eagle3" (an EAGLE-3 draft in `model`), "ngram" (no model: a lookup in the request's tokens,
# window `prompt_lookup_min` … `prompt_lookup_max`, both 5 by default) — and `num_speculative_tokens`.
SPECULATIVE_KEYS = frozenset({"method", "model", "num_speculative_tokens", "prompt_lookup_max", "prompt_lookup_min"})
NGRAM_WINDOW = 5        # vLLM's own prompt_lookup_min = prompt_lookup_max default, written out

# EPLB (`with redundant R`), vLLM 0.33.0: `--enable-eplb` and `--eplb-config` (vllm/engine/arg_utils.py,
# from `ParallelConfig`); the JSON is `EPLBConfig` (vllm/config/parallel.py: `num_redundant_experts` ≥ 0;
# `window_size` 1000 and `step_interval` 3000 by default, left so). `ParallelConfig` refuses EPLB without
# `enable_expert_parallel`; `FusedMoE` wants (experts + R) divisible by EP (model_executor/layers/fused_moe/
# layer.py), as dagc's E301. The balancer moves the experts of models whose class implements `MixtureOfExperts`
# (model_executor/models/interfaces.py; v1/worker/gpu_model_runner.py adds only those to its `EplbState`):
# not gpt-oss, whose `GptOssForCausalLM` does not and builds its experts with no redundant slot (gpt_oss.py).
EPLB_KEYS = frozenset({"num_redundant_experts"})
EPLB = EplbSupport(frozenset({"DeepseekV3ForCausalLM", "Glm4MoeForCausalLM", "Llama4ForConditionalGeneration",
                              "MixtralForCausalLM", "Qwen3MoeForCausalLM"}), frozenset({"GptOssForCausalLM"}),
                   "the model classes of vLLM 0.33.0 that implement MixtureOfExperts, "
                   "vllm/model_executor/models/interfaces.py")
EPLB_HOW = ("it counts each expert's tokens over its last 1,000 steps and rearranges the experts every 3,000 steps, "
            "EPLBConfig's window_size and step_interval by default; it starts from its contiguous placement")


def default_split(layers: int, pp: int) -> tuple[int, ...]:
    """vLLM's own split (`get_pp_indices`): L // P each, the remainder to the stages before the last.

    Example:
        >>> default_split(61, 4), default_split(31, 4)
        ((15, 15, 16, 15), (8, 8, 8, 7))
    """
    base, extra = divmod(layers, pp)
    parts = [base] * pp
    for i in range(2, extra + 2):
        parts[-i] += 1
    return tuple(parts)


def _engine_gpus(d: Degrees) -> int:
    """The GPUs of one data-parallel engine's stage: TP × prefill CP (vLLM's rank order DP × PP × PCP × TP)."""
    return d.tp * d.cp


def _experts_expressible(d: Degrees) -> bool:
    return (d.ep == 1 and d.etp == d.group) or (d.ep == d.group and d.etp == 1)


def stage_nodes(d: Degrees) -> tuple[frozenset[int], ...]:
    """The nodes (relative to the replica's first) of each stage's GPUs as vLLM places them: the
    global rank is dp_rank·(P·T) + pp_rank·T + tp_rank — each data-parallel engine's T × P GPUs
    together, engines one after another — and rank k runs on node k // gpus_per_node (multi-node
    DP starts `--data-parallel-size-local` whole engines per node; Ray fills nodes in rank order).

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> from dagc.launch.degrees import degrees
        >>> from dagc.verdict.check import check
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 32 gpu preset "h100-sxm" } '
        ...                    'workload { batch = 8 prompt = 512 generate = 64 } strategy pp 4 < tp 2 ; ep 8 >')
        >>> d = degrees(p, check(p)[0].strategy)
        >>> [sorted(n) for n in stage_nodes(d)]             # dagc: stage s on node s
        [[0, 1, 2, 3], [0, 1, 2, 3], [0, 1, 2, 3], [0, 1, 2, 3]]
    """
    t, p, gpn = _engine_gpus(d), d.pp, d.gpus_per_node
    if d.replica_gpus <= gpn:
        return (frozenset({0}),) * p
    return tuple(frozenset((e * p * t + s * t + k) // gpn for e in range(d.adp) for k in range(t)) for s in range(p))


def refusals(d: Degrees) -> list[Refusal]:
    """What vLLM cannot say: cp with dual-batch overlap (E703); dual-batch overlap without DP+EP, where it has no
    all-to-all to overlap, or on an AMD GPU, whose MoRI all-to-all it does not take (E710); an expert split other
    than EP 1 or the stage (E702); stages on other nodes than dagc's (E704); EPLB with EP 1 or for a model it does
    not balance (E707); with chunked prefill off, a step's budget below the longest request (E730); KV sharding (DCP)
    it refuses (E731, `vllm_cp`); the whole GPU (E733)."""
    out = []
    if d.cp > 1 and d.overlap is Overlap.MICROBATCH:
        out.append(Refusal("E703", f"vLLM: context parallelism (`cp {d.cp}`, --prefill-context-parallel-size) runs "
                           "on its V2 model runner only, and dual-batch overlap (--enable-dbo) on its V1 runner only "
                           "(vllm/config/vllm.py)", "overlap"))
    elif d.overlap is Overlap.MICROBATCH and not _dbo_overlaps(d):
        out.append(Refusal("E710", "vLLM: dual-batch overlap (--enable-dbo) overlaps the MoE layers' all-to-all with "
                           "the other micro-batch's compute, and only targets DP+EP deployments (docs/design/dbo.md: "
                           f"its yield points are in the all-to-all's kernel); here {_no_all_to_all(d)}, so nothing "
                           "would overlap", "overlap"))
    elif d.overlap is Overlap.MICROBATCH and d.vendor is Vendor.AMD:
        out.append(Refusal("E710", "vLLM: dual-batch overlap (--enable-dbo) takes only a DeepEP or NIXL-EP all-to-all "
                           "(--all2all-backend deepep_low_latency, deepep_high_throughput or nixl_ep: vllm/config/"
                           "vllm.py), whose kernels are CUDA's; on an AMD GPU the experts' all-to-all is AMD's MoRI "
                           f"(--all2all-backend {A2A_BACKEND_AMD}), which it refuses", "overlap"))
    if d.has_experts and not _experts_expressible(d):
        extra = f" with expert DP {d.edp}" if d.edp > 1 else ""
        cp = f" × CP {d.cp}" if d.cp > 1 else ""
        out.append(Refusal("E702", f"vLLM: EP is always attention DP × TP{cp} ({d.group}, with "
                           f"--enable-expert-parallel) or 1 (experts tensor-sharded {d.group} ways); here ep {d.ep} "
                           f"× etp {d.etp}{extra}", "ep" if d.ep > 1 else "etp"))
    engine, own = stage_nodes(d), dagc_stage_nodes(d)
    if engine != own:
        s = next(i for i in range(d.pp) if engine[i] != own[i])
        group = "EP group" if d.has_experts and d.ep > 1 else "GPUs"
        out.append(Refusal("E704", f"vLLM: each data-parallel engine's TP × PP GPUs ({_engine_gpus(d)} × {d.pp}) are "
                           "placed "
                           f"together, so a stage's {group} spans nodes: stage {s}'s {d.group} GPUs run on "
                           f"{_nodes_text(engine[s])} of the replica, where dagc puts them on {_nodes_text(own[s])} "
                           "and costs them so", "pp"))
    balance = eplb.refusal(d, "vLLM", EPLB, "vLLM runs EPLB only with --enable-expert-parallel (vllm/config/"
                           "parallel.py: \"enable_expert_parallel must be True to use EPLB\")")
    if balance is not None:
        out.append(Refusal("E707", balance, "redundant"))
    return out + dcp_refusal(d) + chunked.vllm_refusal(d) + vllm_share.refusal(d)


def _dbo_overlaps(d: Degrees) -> bool:
    """Whether vLLM's dual-batch overlap has an all-to-all to overlap: experts over EP above 1 with attention DP
    (`--data-parallel-size` D > 1 and `--enable-expert-parallel`), vLLM's DP+EP; without DP its MoE layers run
    no all-to-all kernel (`FusedMoEParallelConfig.use_all2all_kernels`), whose yield points DBO switches at."""
    return d.has_experts and d.ep > 1 and d.adp > 1


def _no_all_to_all(d: Degrees) -> str:
    if not d.has_experts:
        return "the model has no experts"
    if d.ep == 1:
        return f"the experts are tensor-sharded over the stage's {d.group} GPUs (ep 1)"
    return f"attention is tensor-parallel over the stage (no attention DP): the experts of `tp {d.tp} ; ep {d.ep}` " \
        "run on the tokens every TP rank holds, summed by the TP all-reduce"


def _nodes_text(nodes: frozenset[int]) -> str:
    """A range, up to 16 listed, or more as their count, first two and last: `_nodes_text(frozenset(range(0, 512,
    2)))` is 'the 256 nodes 0, 2, …, 510' (until 2026-11-29 `pp 16 < ep 256 >` listed 190 before the line was cut)."""
    ordered = sorted(nodes)
    lo, hi = ordered[0], ordered[-1]
    if len(ordered) == 1:
        return f"node {lo}"
    if len(ordered) == hi - lo + 1:
        return f"nodes {lo}–{hi}"
    return "nodes " + ", ".join(map(str, ordered)) if len(ordered) <= 16 else \
        f"the {len(ordered):,} nodes {lo}, {ordered[1]}, …, {hi}"


def _ep_spans_nodes(d: Degrees) -> bool:
    """Whether a stage's EP group (the whole stage) spans nodes and takes an all-to-all: not when it is the TP
    group (`tp N ; ep N`, no DP, no cp), whose experts vLLM runs on the tokens every rank holds and sums by
    the TP all-reduce (its all-to-all kernels run only with DP or cp: `FusedMoEParallelConfig.
    use_all2all_kernels`), as dagc prices them."""
    return (d.has_experts and d.ep > 1 and not d.experts_inside_tp
            and any(len(n) > 1 for n in dagc_stage_nodes(d)))


def _flags(d: Degrees) -> list[str]:
    flags = ["--tensor-parallel-size", str(d.tp)]
    if d.pp > 1:
        flags += ["--pipeline-parallel-size", str(d.pp)]
    if d.cp > 1:       # DCP spanning the PCP axis: the KV cache split over the cp ranks, as dagc counts it
        flags += ["--prefill-context-parallel-size", str(d.cp), "--decode-context-parallel-size", str(d.cp)]
    if d.adp > 1:
        flags += ["--data-parallel-size", str(d.adp)]
    if d.has_experts and d.ep > 1:
        flags.append("--enable-expert-parallel")
    if d.overlap is Overlap.MICROBATCH or _ep_spans_nodes(d):
        flags += ["--all2all-backend", a2a_backend(d)]
    if d.overlap is Overlap.MICROBATCH:
        flags.append("--enable-dbo")
    return flags + eplb_flags(d)


def eplb_flags(d: Degrees) -> list[str]:
    """`--enable-eplb --eplb-config '{"num_redundant_experts":R}'` when the strategy balances its
    experts (`with redundant R`); nothing otherwise."""
    if not d.eplb:
        return []
    return ["--enable-eplb", "--eplb-config", json.dumps({"num_redundant_experts": d.redundant}, separators=(",", ":"))]


def serving_flags(v: Serving | None) -> list[str]:
    """The serving flags of one data-parallel engine. vLLM counts per DP engine, which is one
    attention-DP rank: its longest sequence (`--max-model-len`, the traffic's longest request), its requests
    (`--max-num-seqs`, all its pipeline batches together), its step's tokens (`--max-num-batched-
    tokens`: in flight dagc's `chunk`, decode tokens included, chunked prefill on — or off,
    `--disable-chunked-prefill`, with `chunked_prefill = off`; static, the prefill of all its prompts at
    once), the share of each GPU's total memory it may use (`--gpu-memory-utilization` = (capacity −
    reserve) / capacity; the plan's memory limit in place of the capacity when it requires less,
    `Serving.top_bytes`) and its CUDA graphs."""
    if v is None:
        return []
    length = ["--max-model-len", str(v.max_len)] if v.max_len else []
    chunked = (["--disable-chunked-prefill"] if v.whole_prompts else ["--enable-chunked-prefill"]) \
        if v.mode.continuous else []
    return [*length, "--max-num-seqs", str(v.requests), "--max-num-batched-tokens", str(v.chunk), *chunked,
            "--gpu-memory-utilization", fraction_text(v.usable_fraction),
            "--max-cudagraph-capture-size", str(capture_size(v.requests * v.query_len, v.chunk))]


def speculative_config(s: Setup) -> dict[str, str | int] | None:
    """The `--speculative-config` of the plan's speculative decoding (None without).

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> from dagc.launch.degrees import degrees
        >>> from dagc.verdict.check import check
        >>> p = load_plan_text('model preset "deepseek-v3" cluster { gpus = 16 gpu preset "h200" } '
        ...                    'workload { batch = 8 prompt = 512 generate = 64 '
        ...                    'speculative { method = mtp tokens = 2 acceptance = 0.8 } } strategy tp 1 ; ep 16')
        >>> d = degrees(p, check(p)[0].strategy)
        >>> from dagc.launch.launch import Setup, model_path
        >>> speculative_config(Setup(d, model_path(p), (), (), "", "", "", None))
        {'method': 'mtp', 'num_speculative_tokens': 2}
    """
    spec = s.d.speculative
    if spec is None:
        return None
    if spec.method == "mtp":
        return {"method": "mtp", "num_speculative_tokens": spec.tokens}
    if spec.method == "eagle":
        return {"method": "eagle3", "model": draft_placeholder(s.model.text), "num_speculative_tokens": spec.tokens}
    return {"method": "ngram", "num_speculative_tokens": spec.tokens, "prompt_lookup_max": NGRAM_WINDOW,
            "prompt_lookup_min": NGRAM_WINDOW}


def _speculative_flags(s: Setup) -> list[str]:
    config = speculative_config(s)
    return [] if config is None else ["--speculative-config", json.dumps(config, separators=(",", ":"))]


def _serving_notes(v: Serving | None, hip: bool = False) -> list[str]:
    if v is None:
        return []
    engine = "each data-parallel engine (one attention-DP rank)" if v.ranks > 1 else v.unit_text
    steps = v.static_steps if not v.mode.continuous else \
        "decode tokens included (chunked prefill)" if not v.whole_prompts \
        else ("decode tokens included, and whole prompts only (--disable-chunked-prefill: vLLM schedules the running "
              "requests first, then the waiting prompts whole, first come first served, and stops at the first that "
              "does not fit the step, as dagc does; vllm/v1/core/sched/scheduler.py)")
    return [f"{v.mode_text} (serving flags of {SERVING_VERSION}): {engine} runs up to "
            f"{count_text(v.requests, 'request')} ({v.share_text}) of up to {v.max_len:,} tokens, in steps of at "
            f"most {v.chunk:,} tokens, {steps}; {graphs_note(v, hip)}",
            f"--gpu-memory-utilization {fraction_text(v.usable_fraction)}: vLLM's share of each GPU's total memory "
            f"(weights, activations, KV cache, its CUDA graphs and buffers) = ({v.top_word} − reserve) / capacity, "
            f"{v.capacity_text}", *v.limit_notes]


def _replica(s: Setup, p: Placement) -> list[Command]:
    d = s.d
    env = s.split_env if p.whole_nodes else (("CUDA_VISIBLE_DEVICES", ",".join(map(str, p.gpus))), *s.split_env)
    base = ["vllm", "serve", s.model.text, *_flags(d), *dbo_flags(d, s.serving), *serving_flags(s.serving),
            *_speculative_flags(s), *s.extra_flags]
    port = ["--port", str(p.port)]
    if len(p.nodes) == 1:
        # servers sharing a node: each its own DP RPC port too (vLLM's default is one fixed port)
        rpc = ["--data-parallel-rpc-port", str(RPC_PORT + p.port - BASE_PORT)] if p.shares_node and d.adp > 1 else []
        return [Command(p.head, p.replica, tuple(base + rpc + port), env)]
    rank_gpus = d.tp * d.pp
    head_addr = f"$NODE{p.head}_ADDR"
    if d.adp > 1 and d.gpus_per_node % rank_gpus == 0:     # whole DP ranks per node: vLLM's multi-node DP
        local = d.gpus_per_node // rank_gpus
        dp = ["--data-parallel-size-local", str(local), "--data-parallel-address", head_addr,
              "--data-parallel-rpc-port", str(RPC_PORT)]
        cmds = [Command(p.head, p.replica, tuple(base + dp + port), env)]
        cmds += [Command(node, p.replica, tuple(base + dp + ["--data-parallel-start-rank", str(i * local),
                                                             "--headless"]), env)
                 for i, node in enumerate(p.listed_nodes[1:], 1)]
        return cmds
    # An engine (T × P GPUs) spans nodes: vLLM runs it on a Ray cluster started on the replica's nodes.
    ray = ["--distributed-executor-backend", "ray"] + (["--data-parallel-backend", "ray"] if d.adp > 1 else [])
    if d.adp > 1:          # a DP rank over several nodes: Ray places it with the `span` pack strategy
        env = (*env, RAY_PACK)
    # `--block` on the head too: its script is the Ray node's process, as each worker's (without it `ray start
    # --head` returns once the daemons are up, and srun or a service manager ends the head with it; vLLM's own
    # examples/online_serving/run_cluster.sh starts both with `--block`)
    return [Command(p.head, p.replica, ("ray", "start", "--head", "--port", str(RAY_PORT), "--block")),
            *[Command(n, p.replica, ("ray", "start", "--address", f"{head_addr}:{RAY_PORT}", "--block"))
              for n in p.listed_nodes[1:]],
            Command(p.head, p.replica, tuple(base + ray + port), env)]


def _commands(s: Setup) -> tuple[list[Command], list[GeneratedFile], list[str]]:
    commands = [c for p in s.places for c in _replica(s, p)]
    notes: list[str] = []
    notes += overlap_note(s, "vLLM", "--enable-dbo") + dbo_notes(s.d, s.serving)
    if s.d.overlap is Overlap.MICROBATCH or _ep_spans_nodes(s.d):
        why = "--enable-dbo runs only with a DeepEP or NIXL-EP all-to-all" if s.d.overlap is Overlap.MICROBATCH \
            else "a stage's EP group spans nodes"
        notes.append(f"--all2all-backend {a2a_backend(s.d)}: {why} (vllm/config/vllm.py); " + (
            "it needs AMD's MoRI installed; mori_high_throughput suits a prefill-heavy service better"
            if s.d.vendor is Vendor.AMD else
            "it needs DeepEP's kernels installed; deepep_high_throughput suits a prefill-heavy service better"))
    if s.d.cp > 1:
        notes.append(f"cp {s.d.cp}: --prefill-context-parallel-size splits each prompt over {s.d.cp} ranks and "
                     "--decode-context-parallel-size the KV cache over the same ranks, as dagc counts it; vLLM runs "
                     "it on its V2 model runner, with the attention backends that support it")
    if any(c.argv[:2] == ("ray", "start") for c in commands):       # the head's node runs two commands
        notes.append("`ray start … --block` does not return (the Ray node's process, as vLLM's run_cluster.sh starts "
                     "it): run it in a shell or script of its own on each node, and `vllm serve` on the head node in "
                     "another once every node has joined (`ray status` lists them)")
    if s.split_env:
        notes.append(f"layer split {list(s.d.split)} differs from vLLM's default "
                     f"{list(default_split(s.d.layers, s.d.pp))}: set by VLLM_PP_LAYER_PARTITION")
    spec = speculative_config(s)
    return commands, [], notes + _serving_notes(s.serving, s.d.vendor is Vendor.AMD) + speculative_notes(
        s.d.speculative, s.d.mtp, "vllm", str(spec.get("model", "")) if spec else "") + eplb.notes(
        s.d, "vLLM", "--enable-eplb --eplb-config, flags of vLLM 0.33.0", EPLB_HOW, EPLB)


TABLE = EngineTable(key="vllm", name="vLLM", version=VERSION, split_env="VLLM_PP_LAYER_PARTITION",
                    default_split=default_split, refusals=refusals, commands=_commands)
