"""The corpus's TensorRT-LLM runs against what their sources state and, where a source leaves a setting out, what
that release's tool ran by default (bench/corpus/README.md). What each test holds, with its source:

- The number of requests: the performance overview's "Preparing a Dataset" table gives `$num_requests` per
  input/output length — 3000 for 1000/1000, 500/2000, 128/2048 and 2048/128 in the v0.17 edition
  (NVIDIA/TensorRT-LLM@258c7540 docs/source/performance/perf-overview.md) and the v1.0 one (@00f37686); each run
  states it as `num_requests` and its offline plan (every request queued at once) runs that many.
- The CUDA graphs: the v1.0, 1.1 and 1.2 editions' `llm_options.yml` (the "Reproducing Benchmarked Results" section)
  capture `batch_sizes: [1, 2, 4, 8, 16, 32, 64, 128, 256, 384, 512, 1024, 2048, 4096, 8192]` with
  `enable_padding: true`; the DeepSeek-R1 best-practice blog's H200 max-throughput config captures `[128]` alone,
  unpadded. The PyTorch backend keeps the sizes up to a rank's largest decode batch, min(max_batch_size,
  max_num_tokens), and, padded, that batch in place of the larger ones (`_filter_cuda_graph_batch_sizes`,
  tensorrt_llm/_torch/pyexecutor/model_engine.py). A run whose settings name no graphs keeps TensorRT-LLM's default
  (`TRTLLM_GRAPH_SIZES`, not padded).
- The scheduler: every TensorRT-LLM run is admitted as GUARANTEED_NO_EVICT — trtllm-bench's ("Scheduling Policy:
  Guaranteed No Evict" in the v0.17 page's sample output, and v0.17.0.post1's as NVIDIA/TensorRT-LLM issue #3122
  reports it; `--scheduler_policy` defaults to guaranteed_no_evict where it exists, tensorrt_llm/bench/benchmark/
  throughput.py), the LLM API's behind trtllm-serve, and the Triton backend's when config.pbtxt leaves
  `batch_scheduler_policy` unset, as trtllm-triton-serving's scripts/setup_triton_repo.sh does.
- Chunked context: on for trtllm-bench on a TensorRT engine (v0.17: ExecutorSettingsConfig `chunking = True`, no
  flag to turn it off — issue #3122's `--help`) and from NVIDIA/TensorRT-LLM PR #6582 (the 1.1 and 1.2 editions);
  off for trtllm-bench 1.0 on the PyTorch backend (`--enable_chunked_context` a flag off by default), for trtllm-serve
  (the LLM API's `enable_chunked_prefill` False) and for the Triton backend (`enable_chunked_context` false).
"""

from __future__ import annotations

import re
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import fidelity_corpus as fc  # noqa: E402, I001

from dagc.plan.engines import TRTLLM_GRAPH_SIZES  # noqa: E402

PAGE_GRAPHS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 384, 512, 1024, 2048, 4096, 8192)
PAGES = ("trtllm-perf-overview-v1-0", "trtllm-perf-overview-v1-0-moe", "trtllm-perf-overview-v1-1-moe",
         "trtllm-perf-overview-v1-2", "trtllm-perf-overview-v1-2-moe")


@pytest.fixture(scope="module")
def runs():
    return [(f.source.id, r) for f in fc.load_corpus() for r in f.runs if r.engine == "trtllm"]


def _plan_int(run, key: str) -> int | None:
    m = re.search(rf"\b{key} = (\d+)", run.plan)
    return int(m.group(1)) if m else None


def test_offline_runs_send_the_requests_their_page_names(runs):
    """A trtllm-bench run whose settings name `num_requests` plans that many; queued at once, as many in flight
    unless the command caps the concurrency (the DeepSeek-R1 blog's `--concurrency 1024`)."""
    checked = []
    for _, r in runs:
        n = r.settings.get("num_requests")
        if r.client != "in-process" or not isinstance(n, int):
            continue
        assert _plan_int(r, "requests") == n, r.id
        assert _plan_int(r, "concurrency") == r.settings.get("concurrency", n), r.id
        checked.append(r)
    assert len(checked) == 1 + 40 + 50 + 86 + 130          # the blog, the v0.17, v1.0, 1.1 and 1.2 offline tables
    assert sum(_plan_int(r, "requests") == 3000 for r in checked) == 28 + 23 + 20 + 29


def test_the_pages_runs_capture_their_llm_options_graphs(runs):
    """The performance pages' runs carry their llm_options.yml's graphs; the rest keep the engine's default."""
    ours = [r for s, r in runs if s in PAGES]
    assert len(ours) == 266
    for r in ours:
        assert r.cuda_graphs == fc.CudaGraphs(batch_sizes=PAGE_GRAPHS, enable_padding=True), r.id
    others = [r for s, r in runs if s not in PAGES and s != "trtllm-blog-dsr1-best-perf"]
    assert others and all(r.cuda_graphs is None for r in others)
    for r in others[:3]:
        terms = fc.lowered(r).cluster.engine.terms
        assert (terms.graph_sizes, terms.graph_padding) == (TRTLLM_GRAPH_SIZES, False), r.id


def test_graphs_as_the_pytorch_backend_keeps_them(runs):
    """Each rank's graphs stop at its largest decode batch, which padding captures in place of the larger sizes."""
    by_id = {r.id: r for _, r in runs}

    def graphs(run_id: str) -> tuple[tuple[int, ...], bool]:
        t = fc.lowered(by_id[run_id]).cluster.engine.terms
        return t.graph_sizes, t.graph_padding

    # DEP4 at batch 896: 224 a rank
    assert graphs("deepseek-r1-0528-b200-dep4-fp4-1024-1024-offline-v1.2") == ((*PAGE_GRAPHS[:8], 224), True)
    # one GPU, max_batch_size 512 within max_num_tokens 2048: 512 is a captured size
    assert graphs("llama-3.3-70b-b200-tp1-fp4-1024-1024-offline-v1.2") == (PAGE_GRAPHS[:11], True)
    # the blog's one size, unpadded
    assert graphs("dsr1-h200-adp8-ep8-1k2k-c1024") == ((128,), False)
    # under another engine the run's graphs are not that engine's
    assert fc.lowered(by_id["dsr1-h200-adp8-ep8-1k2k-c1024"], "pytorch").cluster.engine.terms.graph_sizes == ()


def test_every_run_is_admitted_without_eviction(runs):
    assert len(runs) == 369
    assert all(fc.lowered(r).cluster.engine.terms.no_evict for _, r in runs)


CHUNKED = {"trtllm-perf-overview-v0-17": True, "trtllm-perf-overview-v0-17-moe": True,
           "trtllm-perf-overview-v1-0": False, "trtllm-perf-overview-v1-0-moe": False,
           "trtllm-perf-overview-v1-1-moe": True,
           "trtllm-perf-overview-v1-2": True, "trtllm-perf-overview-v1-2-moe": True,
           "gpustack-perf-lab-deepseek-r1-h200": False, "gpustack-perf-lab-gpt-oss-120b-h100": False,
           "gpustack-perf-lab-qwen3-8b-h100-latency": False, "trtllm-triton-serving-ensemble": False,
           "trtllm-blog-dsr1-best-perf": False}


def test_chunked_context_as_each_tool_ran_it(runs):
    """In flight, a run's prompts are chunked as its tool's release did by default (module docstring); the v0.17
    page's served rows (Triton, release 0.14.0) are whole prompts."""
    seen = set()
    for s, r in runs:
        if "serving = inflight" not in r.plan or s not in CHUNKED:
            continue
        want = CHUNKED[s] and r.client == "in-process"
        assert fc.lowered(r).workload.chunked_prefill is want, r.id
        seen.add(s)
    assert seen == set(CHUNKED)
