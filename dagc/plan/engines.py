"""The serving engine a plan runs on (`cluster { engine = vllm }`, docs/language.md) and its terms.

Input: nothing (these are the types and the table of known engines). Output: `Engine` (which
engine, which release, and the `EngineTerms` dagc prices it with), `EngineTerms`, `ENGINE_NAMES`,
`DEFAULT_ENGINE` and `engine_of`, the one place an engine name and release become an `Engine`.

`pytorch` is the plain, unfused reference the calibration in bench/calibration measured: no
scheduler, no front end, graph-captured decode at any batch, dagc's own glue kernels.
Every term of the other engines is a named constant with its source in docs/cost-model.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from pydantic import model_validator

from .base import Frozen, FrozenMap, FrozenMapping
from .output_reserve import SGLANG_NEW_TOKEN_RATIO_INIT

__all__ = ["DEFAULT_ENGINE", "ENGINE_GLUE", "ENGINE_NAMES", "ENGINE_TERMS", "NEWEST", "PRICE_TERMS", "SERIES",
           "TRTLLM_XQA_FROM", "Engine", "EngineName", "EngineTerms", "ENGINE_SAID", "engine_of", "known_release",
           "terms_of", "HELD_BEFORE"]

EngineName = Literal["vllm", "sglang", "trtllm", "pytorch"]
ENGINE_NAMES: tuple[EngineName, ...] = ("vllm", "sglang", "trtllm", "pytorch")
DEFAULT_ENGINE: EngineName = "vllm"       # the default of a plan that names no engine (docs/language.md)

# The release each engine's launch was checked against (dagc.rules.launch): `engine = vllm` is this one.
NEWEST: Mapping[EngineName, str | None] = {"vllm": "0.33.0", "sglang": "0.5.23", "trtllm": "1.2.0", "pytorch": None}
# The release series (major.minor) dagc knows of each engine, newest first: `engine = vllm@0.8.5` names one of
# vLLM's 0.8 series. Every 0.x minor release of vLLM from 0.6 (September 2024, the first that public MoE serving
# benchmarks name) to 0.33; SGLang's 0.4 and 0.5; TensorRT-LLM's every release from its first, 0.5 (October 2023),
# to 0.21 and 1.0–1.3 (1.3 as the release candidates aiconfigurator-core measured its tables in). `pytorch` (dagc's
# own reference) has no releases.
SERIES: Mapping[EngineName, tuple[str, ...]] = {
    "vllm": tuple(f"0.{minor}" for minor in range(33, 5, -1)),
    "sglang": ("0.5", "0.4"),
    "trtllm": ("1.3", "1.2", "1.1", "1.0", *(f"0.{minor}" for minor in range(21, 4, -1))),
    "pytorch": (),
}
_RELEASE = re.compile(r"(\d+\.\d+)(?:\.\d+)*(?:[.\-]?(?:rc|post|dev)\d*)?")


# each engine's name as its project writes it, for the words of diagnostics and reports
ENGINE_SAID = {"vllm": "vLLM", "sglang": "SGLang", "trtllm": "TensorRT-LLM", "pytorch": "pytorch"}


def known_release(name: EngineName, release: str) -> bool:
    """Whether `release` (`0.33.0`, `0.10.1.1`, `1.3.0rc20`, `0.5`) is of a series dagc knows of engine `name`.

    Example:
        >>> known_release("vllm", "0.10.1.1"), known_release("trtllm", "1.3.0rc20"), known_release("sglang", "0.3.6")
        (True, True, False)
    """
    found = _RELEASE.fullmatch(release)
    return found is not None and found.group(1) in SERIES[name]


class EngineTerms(Frozen):
    """What dagc prices an engine's serving with, beyond the kernels: each a named constant
    (docs/cost-model.md, "The engine")."""

    step_s: float = 0.0                   # host time per engine step on the critical path (scheduler, inputs)
    step_request_s: float = 0.0           # … and per request the step runs (one engine process's requests)
    layer_s: float = 0.0                  # … and per layer a step passes through (the engine's time between its
    #                                       kernels and around its collectives that dagc's kernels leave out)
    frontend_s: float = 0.0               # per request, before its first token reaches the client (HTTP,
    #                                       tokenisation, first streamed chunk): client TTFT = server TTFT + this
    ingest_s: float = 0.0                 # per request, of the front end's one server (its event loop: HTTP, chat
    #                                       template, tokenisation), first come first served: a burst queues there
    graph_sizes: tuple[int, ...] = ()     # decode batch sizes captured in CUDA graphs (padded up to the next);
    #                                       empty: every decode batch graph-captured at its own size
    graph_padding: bool = True            # a batch between captured sizes padded up to the next; False: run eagerly
    mixed_graphs: bool = False            # mixed (prompt chunk + decode) steps replay graphs up to the largest size
    # True: a captured size counts the step's requests, each running its positions (SGLang's `capture_bs`,
    # TensorRT-LLM's graph batch sizes: a speculative step of 11 requests verifying 4 positions each replays the
    # graph of 11); False: the step's tokens (vLLM's `cudagraph_capture_sizes`, 44 there)
    graph_per_request: bool = False
    glue: FrozenMapping = FrozenMap()     # launches per glue step (dagc.kernels.format.GLUE_STEPS); absent: dagc's
    # Multipliers of a compute op's time in this engine: of a compute-bound op (a prefill's GEMMs) and of a
    # memory-bound one (a decode step's weight and KV reads), blended by how bound the op is
    # (`dagc.cost.cost_model.CostModel.time_scale`). 1: as profiled; a calibration fits them (docs/calibrate.md).
    compute_time_scale: float = 1.0
    memory_time_scale: float = 1.0
    # Multiplier of a memory-bound op's time (a decode step's weight and KV reads; blended as `memory_time_scale`)
    # on a Blackwell GPU (one with fp4 units: b200, b300, gb200, gb300), whose kernel profile is the H200's at the
    # Blackwell peaks (docs/kernels.md): how far the engine's own Blackwell kernels fall short of that scaling.
    blackwell_memory_time_scale: float = 1.0
    # Multiplier of the routed experts' grouped GEMMs' time on a Hopper GPU (8-bit units, no 4-bit ones: h100-*,
    # h200, h800) priced by a built-in profile: how far the engine's own Hopper MoE kernels fall short of the
    # profile's grouped GEMMs (bf16-measured, at the 8-bit peak for 8-bit experts).
    hopper_expert_time_scale: float = 1.0
    blackwell_expert_time_scale: float = 1.0    # … on a Blackwell GPU (fp4 units), its profile the H200's at its peaks
    # Admission that never preempts: a request is admitted only while the KV cache holds it at its full length
    # beside every running request at theirs (TensorRT-LLM's default capacity scheduler, GUARANTEED_NO_EVICT);
    # False: admitted while its prompt's blocks are free, the latest preempted when blocks run out (vLLM, SGLang).
    no_evict: bool = False
    # Grouped-query decode attention run as multi-head attention: one thread block per query head, each reading its
    # group's KV head, so a step reads each KV head's cache once per query head of its group (heads / kv_heads
    # times) instead of once (TensorRT-LLM's masked multi-head attention kernel before its XQA kernel, 0.8;
    # `dagc.ir.op_attention.kv_reads`). False: once (FlashAttention, FlashInfer, XQA).
    kv_read_per_query_head: bool = False
    # The share of the memory the weights, activations and reserve leave that the engine's KV cache holds in flight
    # (`dagc.memory.memory.kv_room`): 1 but a calibration's, fitted from the requests the engine decoded at once in
    # its offline bursts (`dagc.calibrate.kv_share`, docs/calibrate.md, "The KV cache the engine held").
    kv_cache_share: float = 1.0
    # How a step's tokens on attention-DP ranks reach their EP group: False, an all-to-all that sends each token to the
    # EP ranks its top-k experts are on (vLLM's and SGLang's, DeepEP's); True, an all-gather of every rank's tokens to
    # every EP rank and a reduce-scatter of the experts' outputs, except where the EP group is larger than the top-k and
    # spans a multi-node NVLink domain (TensorRT-LLM's CUTLASS MoE, `EP_ALL_GATHER`; `dagc.ir.op_moe.gathers_tokens`).
    ep_all_gather: bool = False
    # SGLang's scheduling without --enable-mixed-chunk (`dagc.serve.reserve`): prompts' chunks in prefill batches apart
    # from the decode steps, first whenever one forms; admission reserving `output_reserve` × each running request's
    prefill_apart: bool = False
    output_reserve: float = 0.0           # output to come, decaying (SGLang's `new_token_ratio`); 0: none

    def __hash__(self) -> int:
        """By value, `glue` as its sorted items (a frozen `Cluster` holding these terms is hashed)."""
        return hash(tuple(tuple(sorted(v.items())) if isinstance(v, Mapping) else v
                          for v in (getattr(self, f) for f in type(self).model_fields)))

    @property
    def frontend_alone_s(self) -> float:
        """What a request alone spends in the front end beyond the engine: its `frontend_s` and its own `ingest_s`
        (no queue: the steady state's client TTFT adds it; the load simulation queues the `ingest_s`)."""
        return self.frontend_s + self.ingest_s

    def unpriced(self) -> EngineTerms:
        """These terms with their `PRICE_TERMS` at the defaults: what an op's template and a DAG read of them.

        Example:
            >>> EngineTerms(step_s=3e-3, compute_time_scale=1.3, graph_sizes=(1, 2)).unpriced() == EngineTerms(
            ...     graph_sizes=(1, 2))
            True
        """
        return self.model_copy(update={t: type(self).model_fields[t].default for t in PRICE_TERMS})


# The engine's terms no op template and no DAG reads: an op's price takes them on top (`dagc.cost.op_price`), so
# plans that differ only in them — a calibration's simulations, one a set of terms — share their op templates,
# prices and DAGs (`dagc.schedule.timer.shared_timer`, `dagc.verdict.analyse.compile_dag`)
PRICE_TERMS = ("step_s", "step_request_s", "layer_s", "frontend_s", "compute_time_scale", "memory_time_scale",
               "blackwell_memory_time_scale")


# ---------------------------------------------------------------- the engines' terms (docs/cost-model.md, "The engine")

# CUDA-graph capture sizes of a decode step (tokens of one forward, per engine process), by default:
# vLLM: `[1, 2, 4] + range(8, 256, 8) + range(256, max + 1, 16)`, max = min(2 · max_num_seqs, 512) = 512 at the
# default max_num_seqs 256 (vllm/config/compilation.py, `cudagraph_capture_sizes`; docs/design/cuda_graphs.md).
VLLM_GRAPH_SIZES = (1, 2, 4, *range(8, 256, 8), *range(256, 513, 16))
# SGLang: `[1, 2, 4, 8, 12] + range(16, 257, 8) + range(272, 512, 16) + range(512, max + 1, 32)`, cuda_graph_max_bs
# 512 on an 80–160 GB GPU at tp ≥ 4 (256 below tp 4) (python/sglang/srt/server_args.py,
# `_generate_cuda_graph_batch_sizes`, `cuda_graph_max_bs`).
SGLANG_GRAPH_SIZES = (1, 2, 4, 8, 12, *range(16, 257, 8), *range(272, 512, 16), 512)
# TensorRT-LLM: `CudaGraphConfig()` captures `range(1, 32) + [32, 64, 128]` (max_batch_size 128) and does not
# pad (`enable_padding = False`): a batch of another size runs without a graph
# (tensorrt_llm/llmapi/llm_args.py, `CudaGraphConfig._generate_cuda_graph_batch_sizes`).
TRTLLM_GRAPH_SIZES = (*range(1, 32), 32, 64, 128)

# Host time per engine step that the GPU waits for (scheduling, input preparation, sampling, output
# processing), fitted on the calibration half of the public corpus (bench/corpus/split.json, the runs of the
# engine's current generation: `python bench/fit_engine_terms.py`, docs/fidelity.md). The sources give the
# starting values: vLLM's V1 engine loop measured at 0.54 ms a step amortised
# (github.com/openfabric-systems/simllm/pull/204, vLLM 0.27.1); SGLang's overlap ("zero-overhead") scheduler
# leaves no GPU idle between decode steps (lmsys.org/blog/2024-12-04-sglang-v0-4); TensorRT-LLM's overlap
# scheduler is on by default (nvidia.github.io/TensorRT-LLM, "Overlap Scheduler"): 0.1 ms each. The fit
# (vLLM 37 runs, SGLang 32; jointly with the time per request below) moves vLLM's to 1.512 ms and SGLang's to 0:
# beyond the host loop, they carry what dagc's kernels leave out of those engines' steps (their residuals are in
# docs/fidelity.md). TensorRT-LLM's keeps its source's 0.1 ms: what its runs leave beyond dagc's kernels grows
# with the model's depth, and is its time per layer below.
VLLM_STEP_S = 1.512e-3
SGLANG_STEP_S = 0.0
TRTLLM_STEP_S = 0.1e-3
# Time per layer a step passes through, beyond dagc's kernels: the gaps between an engine's kernels, its plugins'
# dispatch and the synchronisation around its collectives, which a step pays once per layer. TensorRT-LLM's is
# fitted on the calibration half's runs of its current generation at one request in flight (`python
# bench/fit_engine_terms.py`, TPOT of 9 runs, DeepSeek-R1 on 8 B200 among them): 70.7 µs, 4.3 ms a step of a
# 61-layer model and 2.3 ms of a 32-layer one. As one time per step (4.556 ms, fitted on the same runs) it put
# the 32-layer Llama 3.1 8B's decode step 30-67 % above what TensorRT-LLM measured. vLLM and SGLang: 0 — vLLM's
# calibration runs fitted per layer instead are explained no better (TPOT median |error| 35.8 % against 35.9 %),
# SGLang's worse with any (28.2 % at none, 28.8 % at 10 µs a layer).
TRTLLM_LAYER_S = 70.7e-6
# Host time per request a step runs (one engine process's requests, a mixed step's prompt among them): the
# scheduler's, the input preparation's, the sampler's and the output processing's work for each sequence of the
# step, which an engine does once per step per request. The sources bracket it: vLLM's V1 scheduler alone grows
# 12.7 µs per running request (github.com/openfabric-systems/simllm/pull/204, vLLM 0.27.1); sampling, input
# preparation, output processing and scheduling together took ~20 ms a step at 200 requests in vLLM 0.5, ~100 µs a
# request (github.com/vllm-project/vllm/issues/6801); it grows with the batch (vllm-project/vllm/issues/18760).
# Fitted jointly with the step's on the same runs' TPOT (`python bench/fit_engine_terms.py`: the runs at one
# request in flight say `*_STEP_S`, those at hundreds this): vLLM 49.7 µs, SGLang 94.0 µs. TensorRT-LLM's stays 0:
# of its 10 calibration runs with a TPOT 3 run more than one request at once, and only GPUStack's 2 offline bursts
# say the term: the script fits the bursts' 206.5 µs, which puts the third (GPUStack's Qwen3-8B at 4 clients) the
# further off (TPOT +23.0 % → +32.4 %) — fewer than the three runs a fitted term needs say it. Like the step's,
# the fitted values carry, beside the host's work, what dagc leaves out of a large batch's step.
VLLM_STEP_REQUEST_S = 49.7e-6
SGLANG_STEP_REQUEST_S = 94.0e-6
TRTLLM_STEP_REQUEST_S = 0.0
# Per request, between the client's request and its first streamed token beyond the server's TTFT (HTTP,
# chat template and tokenisation, the first chunk's detokenisation and streaming): 8.4–12.2 ms between
# `vllm bench serve`'s TTFT and vLLM's own `time_to_first_token_seconds`
# (github.com/vllm-project/vllm/pull/54628), fitted to 20.02 ms on the calibration half's vLLM runs (3 runs
# whose client does not send every request at once). SGLang's is fitted to 201.03 ms on the calibration half's
# SGLang runs (among them InferenceX's DeepSeek-R1 on 8 H200, 7 runs at concurrency 4–64): the TTFT a client measures
# stays 200–475 ms whatever the concurrency (4 or 64) and prompt (922 or 7,373 tokens), 130–305 ms above the
# server's prefill — a per-request constant, not queueing, which would grow with the concurrency; a public
# conc-1 sweep of DeepSeek-R1 on SGLang (github.com/tenstorrent/tt-inference-server/issues/356) shows the same
# 180–200 ms from 128 to 4,096 prompt tokens. Every such run is of a large MoE model: SGLang 0.3.0's dense Llama
# runs measured 32–58 ms in all, SGLang 0.5.3's Qwen3-8B on one H100 at 4 clients 27.7–39.7 ms (GPUStack's latency
# page; dagc 216–220 ms). With those three runs in the calibration half `python bench/fit_engine_terms.py
# --engine sglang` gives 9.121 ms (the step terms and Blackwell scale unchanged), and the front end's fit alone
# gives vLLM's 41.56 ms with four vLLM 0.11.0 runs of the same page; neither is adopted yet (docs/cost-model.md,
# "Front end per request"). TensorRT-LLM's keeps vLLM's
# measured 10 ms from 1.0 (before it, Triton's below): one calibration run moves it (GPUStack's Qwen3-8B on one
# H100 through `trtllm-serve` 1.2.0rc1 at 4 clients: mean TTFT 51.6 ms, dagc 23.5 ms), fewer than the three a fitted
# term needs.
# Per request, of the front end's one server (the API server's event loop: HTTP, chat template, tokenisation),
# first come first served, each handed on behind the requests sent while it was taken in
# (`dagc.serve.sources.FrontEnd`): what a burst of requests queues on before any reaches the engine. vLLM runs one
# API server process per data-parallel engine by default (vllm/entrypoints/cli/serve.py: `api_server_count`
# defaults to `data_parallel_size`), SGLang one tokenizer manager. Fitted on the calibration half's TTFT (`python
# bench/fit_ingest.py`): GPUStack's bursts of 500-1,000 requests sent at once reach their first tokens together,
# 5-19 s in for 128-token prompts that an engine prefills in 2 s (vLLM, 37 runs: median |error| of TTFT 54.4 % at
# none, 33.6 % at 4 ms, of throughput 39.4 % → 31.2 %); SGLang, 23 runs: TTFT 24.8 % → 18.6 % at 1 ms, throughput
# 13.5 % → 13.6 %. TensorRT-LLM's stays 0: only two calibration runs' TTFT (GPUStack's bursts through trtllm-serve)
# move it, fewer than the three a fitted term needs.
VLLM_INGEST_S = 4e-3
SGLANG_INGEST_S = 1e-3
TRTLLM_INGEST_S = 0.0
VLLM_FRONTEND_S = 20.02e-3
SGLANG_FRONTEND_S = 201.03e-3
# What SGLang's front end stands for, said beside it wherever dagc names it (its Engine line): the calibration half's
# other SGLang runs leave far less above dagc's server TTFT (docs/cost-model.md, "SGLang's front end, examined").
SGLANG_FRONTEND_DOUBT = ("what InferenceX's DeepSeek-R1 runs under concurrency leave above dagc's server TTFT; smaller "
                         "models' runs leave 2–25 ms: measure yours with `dagc calibrate`")
TRTLLM_FRONTEND_S = 10e-3
# TensorRT-LLM before 1.0 behind Triton Inference Server (the backend's ensemble or BLS model: tokenisation in the
# `preprocessing` Python model, each streamed token's detokenisation in `postprocessing`): fitted on the calibration
# half (`python bench/fit_triton_frontend.py`: `trtllm-triton-serving-ensemble`, Llama-3.1-8B's TensorRT-LLM 0.20 engine
# on 2 H100 behind the ensemble model at 1 to 128 clients, 6 runs). Until 2026-12-01 GenAI-Perf's tutorial's 11.20 ms
# (GPT-2 through Triton CLI's BLS model, TensorRT-LLM 0.8.0: TTFT 13.27 ms less its ITL 2.07 ms; docs/cost-model.md).
TRTLLM_TRITON_FRONTEND_S = 7.9192e-3
TRTLLM_TRITON_UNTIL = (1, 0)       # from 1.0 dagc prices `trtllm-serve` on the PyTorch backend (its default there)
# SGLang's memory-bound ops on a Blackwell GPU, against the H200 profile at its peaks: fitted on the calibration
# half's SGLang runs on B200 (`python bench/fit_engine_terms.py`: InferenceX's DeepSeek-R1 FP4 sweep at concurrency
# 4-32, github.com/SemiAnalysisAI/InferenceX/issues/870, and a sweep of four models at concurrency 1,
# gist.github.com/BenHamm/78563d0d0a08d7cb61b4737392633384), with the host times above: the same InferenceX client
# and engine that run within 10 % of dagc on 8 H200 run 23-42 % below its unscaled B200 throughput: SGLang's
# decode kernels take less of the B200's 1.67x bandwidth over the H200 than the scaled profile gives them. Only
# decode-bound figures (TPOT, throughput at 1K/1K) move it: compute-bound ops (a prefill) have no calibration run
# to say and stay as scaled. TensorRT-LLM's B200 runs of the calibration half fit 1.001 (within 10 % as scaled),
# and no vLLM run on a Blackwell GPU is in it: theirs stay 1.
SGLANG_BLACKWELL_MEMORY_TIME_SCALE = 1.244
# TensorRT-LLM's routed experts on a Hopper GPU, against the built-in profile's grouped GEMMs (measured in bf16 with
# PyTorch; an 8-bit expert at the 8-bit peak): fitted on the calibration half's TensorRT-LLM runs of MoE models on
# H100 and H200 (`python bench/fit_engine_terms.py --engine trtllm`: the 1.2 performance overview's H200 rows of
# DeepSeek-R1, gpt-oss-120b, gpt-oss-20b and Qwen3-235B-A22B, GPUStack's bursts of DeepSeek-R1 and gpt-oss-120b,
# the DeepSeek-R1 H200 blog run; 18 runs): the scale at which the median signed error of their output throughput
# is 0: the PyTorch backend's Hopper fused MoE (CUTLASS SM90 grouped GEMM) takes about twice the profile's time.
# Releases before 1.0 (the TensorRT engine's MoE plugin) have no such run: they keep 1 (`terms_of`). Refitted on
# 2026-11-28 (2.22 → 2.05) and 2026-12-01 (→ 2.42, `fit_engine_terms.py --engine trtllm --hopper`); its 1.0 and 1.1
# runs alone fit 2.38 (docs/cost-model.md, "TensorRT-LLM's experts on Hopper"). … and on Blackwell (CUTLASS SM100,
# TRTLLM-Gen MoE), by the same rule on the calibration half's 95 MoE runs of 1.2 on B200, B300, GB200, GB300 (`python
# bench/fit_engine_terms.py --engine trtllm --blackwell`); before 1.2 (`TRTLLM_EXPERTS_UNTIL`) on its 57 of 1.1 on
# B200 and GB200 (the performance overview's 1.1 edition; docs/cost-model.md, "TensorRT-LLM's experts on Blackwell").
TRTLLM_HOPPER_EXPERT_TIME_SCALE = 2.42
TRTLLM_BLACKWELL_EXPERT_TIME_SCALE = 1.68
TRTLLM_BLACKWELL_EXPERT_TIME_SCALE_BEFORE = 2.18
TRTLLM_EXPERTS_UNTIL = (1, 2)
# TensorRT-LLM's fused MoE on attention-DP ranks all-gathers every rank's tokens to every EP rank and reduce-scatters
# the experts' outputs, unless its all-to-all is chosen: only for an EP group larger than the top-k on a multi-node
# NVLink domain (MNNVL: GB200/GB300 NVL72), or with DeepEP asked for (TRTLLM_CAN_USE_DEEP_EP=1, which `dagc launch`
# does not set) — tensorrt_llm/_torch/modules/fused_moe/fused_moe_cutlass.py, `select_alltoall_method_type` and
# `reducescatter_or_allreduce` (1.0 to 1.2). vLLM's and SGLang's default all-to-all sends a token to its experts' ranks.
TRTLLM_EP_ALL_GATHER = True

# How each engine runs dagc's glue steps (`dagc.kernels.format.GLUE_STEPS`, `dagc.ir.op_shapes.REFERENCE`):
# launches per step, 0 when fused into a neighbouring kernel (docs/kernels.md, "Glue", names the engines' code).
# All three write attention's output token-major (no layout copy), add the residual inside a fused add + RMSNorm,
# and pick experts with one fused softmax/top-k kernel. TensorRT-LLM applies the rotary embedding and writes the
# KV cache inside its attention op; vLLM and SGLang launch each as one kernel before their attention backend.
# The routed experts: vLLM's and SGLang's Triton fused MoE (fused_moe.py) sort the assignments in one
# `moe_align_block_size` kernel, gather the rows inside the gate·up GEMM (no permute, no zeroed buffer), scale
# by the routing weights inside the down GEMM and sum each token's rows in one `moe_sum` kernel; TensorRT-LLM's
# CUTLASS MoE builds its expert maps in one kernel (`fusedBuildExpertMapsSortFirstTokenKernel`), permutes in
# `expandInputRowsKernel`, and un-permutes, scales and sums in `finalizeMoeRoutingKernel`.
ENGINE_GLUE: Mapping[EngineName, Mapping[str, int]] = {
    "vllm": {"rope": 1, "o_layout": 0, "kv_write": 1, "residual_add": 0, "softmax_topk": 1,
             "routing_index": 1, "zero_fill": 0, "permute": 0, "combine_weights": 0, "unpermute": 1},
    "sglang": {"rope": 1, "o_layout": 0, "kv_write": 1, "residual_add": 0, "softmax_topk": 1,
               "routing_index": 1, "zero_fill": 0, "permute": 0, "combine_weights": 0, "unpermute": 1},
    "trtllm": {"rope": 0, "o_layout": 0, "kv_write": 0, "residual_add": 0, "softmax_topk": 1,
               "routing_index": 1, "zero_fill": 0, "permute": 1, "combine_weights": 0, "unpermute": 1},
    "pytorch": {},
}

# Each engine's terms; `pytorch` is the plain reference (all zero, dagc's glue, every decode batch graphed).
# vLLM V1 replays piecewise graphs for mixed steps up to its largest size (docs/design/cuda_graphs.md,
# FULL_AND_PIECEWISE); SGLang runs an extend batch without a graph (its piecewise graphs are off by default:
# `--enable-piecewise-cuda-graph`), TensorRT-LLM graphs generation-only batches: their mixed steps run eagerly.
ENGINE_TERMS: Mapping[EngineName, EngineTerms] = {
    "vllm": EngineTerms(step_s=VLLM_STEP_S, step_request_s=VLLM_STEP_REQUEST_S, frontend_s=VLLM_FRONTEND_S,
                        ingest_s=VLLM_INGEST_S,
                        graph_sizes=VLLM_GRAPH_SIZES, mixed_graphs=True, glue=ENGINE_GLUE["vllm"]),
    "sglang": EngineTerms(step_s=SGLANG_STEP_S, step_request_s=SGLANG_STEP_REQUEST_S, frontend_s=SGLANG_FRONTEND_S,
                          ingest_s=SGLANG_INGEST_S, graph_sizes=SGLANG_GRAPH_SIZES, graph_per_request=True,
                          glue=ENGINE_GLUE["sglang"], blackwell_memory_time_scale=SGLANG_BLACKWELL_MEMORY_TIME_SCALE,
                          output_reserve=SGLANG_NEW_TOKEN_RATIO_INIT),   # prefill steps apart: measured, not shipped
    "trtllm": EngineTerms(step_s=TRTLLM_STEP_S, step_request_s=TRTLLM_STEP_REQUEST_S, layer_s=TRTLLM_LAYER_S,
                          frontend_s=TRTLLM_FRONTEND_S, ingest_s=TRTLLM_INGEST_S,
                          graph_sizes=TRTLLM_GRAPH_SIZES, graph_padding=False, graph_per_request=True,
                          glue=ENGINE_GLUE["trtllm"],
                          hopper_expert_time_scale=TRTLLM_HOPPER_EXPERT_TIME_SCALE, no_evict=True,
                          blackwell_expert_time_scale=TRTLLM_BLACKWELL_EXPERT_TIME_SCALE,
                          ep_all_gather=TRTLLM_EP_ALL_GATHER),
    "pytorch": EngineTerms(),
}


# The releases before which a term has no calibration run of its own: the term keeps its default there. TensorRT-LLM's
# Hopper expert scale is fitted on its PyTorch backend (the default from 1.0); before, the TensorRT engine's MoE plugin.
_FITTED_FROM: Mapping[EngineName, Mapping[str, tuple[int, int]]] = {
    "trtllm": {"hopper_expert_time_scale": (1, 0), "blackwell_expert_time_scale": (1, 0)}}
# The terms that hold only before a release, with their value there (their default from that release on). TensorRT-LLM
# 0.5-0.7 ran every generation step's attention in its masked multi-head attention kernel, one thread block per query
# head (`dim3 grid{num_heads, batch_size}`, each block reading KV head `hi / (num_heads / num_kv_heads)`:
# cpp/tensorrt_llm/kernels/decoderMaskedMultiheadAttention/ in release/0.5.0 and release/v0.7.1); 0.7's XQA kernel was
# opt-in (`TRTLLM_ENABLE_XQA=1`), FP16 and a contiguous KV cache only; 0.8.0 added BF16 and the paged KV cache to it
# and enabled it by default ("Add bfloat16 and paged kv cache support for optimized generation MQA/GQA kernels", the
# release notes; docs/source/blogs/XQA-kernel.md: "will be included in the v0.8 releases"). Its front end before 1.0 is
# Triton's (`TRTLLM_TRITON_FRONTEND_S`).
TRTLLM_XQA_FROM = (0, 8)
HELD_BEFORE: Mapping[EngineName, Mapping[str, tuple[tuple[int, int], bool | float]]] = {
    "trtllm": {"kv_read_per_query_head": (TRTLLM_XQA_FROM, True),
               "frontend_s": (TRTLLM_TRITON_UNTIL, TRTLLM_TRITON_FRONTEND_S),
               "blackwell_expert_time_scale": (TRTLLM_EXPERTS_UNTIL, TRTLLM_BLACKWELL_EXPERT_TIME_SCALE_BEFORE)}}


def terms_of(name: EngineName, release: str | None) -> EngineTerms:
    """The terms of engine `name` at `release` (None: its newest): `ENGINE_TERMS`, with each term of an earlier
    release at its value there (`HELD_BEFORE`) and each term fitted on a later generation than `release`'s at its
    default (`_FITTED_FROM`, which wins: TensorRT-LLM 0.17's Blackwell experts keep 1, its 1.1's take 1.1's scale).

    Example:
        >>> terms_of("trtllm", "0.17.0").hopper_expert_time_scale, terms_of("trtllm", "1.0").hopper_expert_time_scale
        (1.0, 2.42)
        >>> [terms_of("trtllm", r).blackwell_expert_time_scale for r in ("0.17.0", "1.0", "1.1.0", "1.2.0", "1.3")]
        [1.0, 2.18, 2.18, 1.68, 1.68]
        >>> terms_of("trtllm", "0.7.1").kv_read_per_query_head, terms_of("trtllm", "0.8.0").kv_read_per_query_head
        (True, False)
        >>> round(terms_of("trtllm", "0.14.0").frontend_s * 1e3, 2), terms_of("trtllm", "1.0").frontend_s * 1e3
        (7.92, 10.0)
    """
    terms = ENGINE_TERMS.get(name, EngineTerms())
    found = _RELEASE.fullmatch(release) if release is not None else None
    if found is None:
        return terms
    series = tuple(int(x) for x in found.group(1).split("."))
    older = {t: value for t, (until, value) in HELD_BEFORE.get(name, {}).items() if series < until}
    older |= {t: type(terms).model_fields[t].default for t, since in _FITTED_FROM.get(name, {}).items()
              if series < since}
    return terms.model_copy(update=older) if older else terms


class Engine(Frozen):
    name: EngineName = DEFAULT_ENGINE
    release: str | None = None            # as the plan writes it, else the newest dagc knows (None: pytorch)
    terms: EngineTerms = EngineTerms()    # not given: the engine's (`ENGINE_TERMS`)

    @model_validator(mode="before")
    @classmethod
    def _engines_terms(cls, data: object) -> object:
        """An engine made without terms gets its own (`ENGINE_TERMS`), without a release its newest (`NEWEST`):
        `Engine()` is `engine_of(DEFAULT_ENGINE)`; `model_copy(update={"terms": …})` replaces the terms (a fit
        of the calibration corpus)."""
        if isinstance(data, dict):
            name = data.get("name", DEFAULT_ENGINE)
            if "terms" not in data:
                data = {**data, "terms": terms_of(name, data.get("release"))}
            if data.get("release") is None and name in NEWEST:
                data = {**data, "release": NEWEST[name]}
        return data


def engine_of(name: EngineName, release: str | None = None) -> Engine:
    """The engine `name` at `release` (None: its newest known, `NEWEST`) with its terms.

    Raises:
        ValueError: a release of a series dagc does not know (`known_release`; the plan's lowering says so first).

    Example:
        >>> engine_of("vllm").release, engine_of("sglang", "0.5.6").release, engine_of("pytorch").release
        ('0.33.0', '0.5.6', None)
    """
    if release is not None and not known_release(name, release):
        raise ValueError(f"{name} has no release {release!r} dagc knows")
    return Engine(name=name, release=release or NEWEST[name])
