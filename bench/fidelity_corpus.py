"""Fidelity over the public corpus: every run of bench/corpus/*.json through dagc, against what it measured.

Usage:
    python bench/fidelity_corpus.py                     # run every plan, print the table and the summaries
    python bench/fidelity_corpus.py --check             # also exit 1 unless the held-out half meets its targets
    python bench/fidelity_corpus.py --json bench/corpus_results.json    # write the per-run results
    python bench/fidelity_corpus.py --engine pytorch    # every run with this engine instead of its own
    python bench/fidelity_corpus.py --split             # write bench/corpus/split.json by the rule below

Each run's plan (bench/corpus/README.md) is lowered with the run's engine put in its cluster
(`with_engine`) and checked by `dagc.verdict.check.check_strategy`, its capacity not bisected. dagc's
figure for each measured key:

- with traffic in the plan (`concurrency`, `rate`): the load simulation's, as a benchmark client
  computes it over the whole run — mean TTFT, TPOT, ITL and E2E (`load.ttft_s.mean`, …; `_median`
  keys from `p50`), output (and input + output) tokens over the run's duration, requests over it;
- a disaggregated plan without traffic, whose source benchmarks one pool with the other ample:
  `input_tokens_per_s` = the prefill pool's capacity × prompt, `output_tokens_per_s` = the decode
  pool's capacity × generate, `tpot_ms` the decode pool's;
- otherwise the steady state's: TTFT, TPOT (= ITL), E2E = TTFT + (generate − 1) × TPOT, output
  tokens/s = the decode tokens/s of the whole deployment.

Error = (dagc − measured) / measured. The figures are the library's (`dagc.calibrate.figures`, which
`dagc calibrate` compares a user's runs with). The split (`--split`) is by source, never by run, and sources
of one series go together: a source that names a `family` (one page's tables filed as several
sources, one lab's pages measured with one method) goes where its family goes. Families (a source
naming none is its own) are grouped by dense / MoE and by in flight (or disaggregated) / static, by
their largest source; within a group, in the order of the sha256 of the family's name, each family
goes to the half holding fewer of that group's runs so far (a tie: the half with fewer runs in
all, then calibration) — so each half gets families of every group with two or more, and about as
many runs of each.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from functools import cache
from pathlib import Path
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dagc.calibrate.figures import dagc_figures as _dagc_figures, with_terms  # noqa: E402
from dagc.diagnostics import PlanError  # noqa: E402
from dagc.lang.load import load_plan_text  # noqa: E402
from dagc.launch.sglang_share import sglang_fraction  # noqa: E402
from dagc.plan.engines import ENGINE_NAMES, EngineName, known_release  # noqa: E402

__all__ = ["CORPUS", "QUANTITIES", "RESULTS", "RESULTS_PYTORCH", "SPLIT", "TARGETS", "CorpusError", "CorpusFile",
           "CudaGraphs", "Run", "errors", "evaluate", "graph_cap", "graph_terms",
           "halves", "load_corpus", "lowered", "make_split", "markdown_section",
           "published", "quantity", "source_runs", "summarise", "targets_met", "with_engine"]

CORPUS = ROOT / "bench" / "corpus"
SPLIT = CORPUS / "split.json"
RESULTS = ROOT / "bench" / "corpus_results.json"
RESULTS_PYTORCH = ROOT / "bench" / "corpus_results_pytorch.json"      # the same, `--engine pytorch`
HALVES = ("calibration", "held-out")
QUANTITIES = ("TPOT/ITL", "TTFT", "throughput", "E2E")
TARGETS = {"median": 0.12, "worst": 0.40}       # on the held-out half, for TPOT/ITL, TTFT and throughput
TARGETED = ("TPOT/ITL", "TTFT", "throughput")
_QUANTITY = {"tpot_ms": "TPOT/ITL", "itl_ms": "TPOT/ITL", "ttft_ms": "TTFT", "e2e_ms": "E2E",
             "output_tokens_per_s": "throughput", "total_tokens_per_s": "throughput",
             "input_tokens_per_s": "throughput", "requests_per_s": "throughput"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    title: str = Field(min_length=1)
    url: str = Field(pattern=r"^https://")
    kind: Literal["engine-docs", "dashboard", "paper", "pull-request", "blog"]
    accessed: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    # sources of one series (one page's tables filed as several sources, one lab's pages measured with one
    # method) name the same family and go to the same half; unwritten, a source is its own family
    family: str | None = Field(default=None, pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")


class CudaGraphs(_Strict):
    """The CUDA graphs a run's settings capture (TensorRT-LLM's `cuda_graph_config`: `batch_sizes`,
    `enable_padding`), where they are not its engine's default: dagc prices the run's decode steps under them."""
    batch_sizes: tuple[int, ...] = Field(min_length=1)
    enable_padding: bool


class Run(_Strict):
    id: str = Field(pattern=r"^[a-z0-9]+([-.][a-z0-9]+)*$")
    quote: str = Field(min_length=1)
    engine: Literal["vllm", "sglang", "trtllm"]
    release: str | None
    gpu: str
    gpus: int = Field(ge=1)
    mode: Literal["static", "inflight", "disaggregated"]
    settings: dict[str, Any]
    plan: str
    measured: dict[str, float]
    # how the benchmark reached the engine: over its HTTP server (a serving client: TTFT and E2E include the
    # front end) or in its own process (gptSessionBenchmark, trtllm-bench: the server's TTFT and E2E)
    client: Literal["http", "in-process"] = "http"
    # the engine's memory share the run set (vLLM gpu_memory_utilization, SGLang mem_fraction_static,
    # TensorRT-LLM free_gpu_memory_fraction), or the default of a release whose rule `sglang_fraction` does not
    # follow (bench/corpus/README.md); None: the engine's default (`engine_reserve`)
    memory_fraction: float | None = Field(default=None, gt=0, le=1)
    # the CUDA graphs the run's settings capture, where they are not its engine's default (`graph_terms`)
    cuda_graphs: CudaGraphs | None = None
    notes: str = ""

    @field_validator("measured")
    @classmethod
    def _keys(cls, v: dict[str, float]) -> dict[str, float]:
        if not v:
            raise ValueError("no measured figure")
        for k, x in v.items():
            if quantity(k) is None:
                raise ValueError(f"unknown measured key {k!r} (bench/corpus/README.md lists them)")
            if not x > 0:
                raise ValueError(f"{k} = {x}: a measured figure is positive")
        return v


class CorpusFile(_Strict):
    source: Source
    runs: tuple[Run, ...] = Field(min_length=1)


class CorpusError(ValueError):
    """A corpus file that does not validate: the message names the file and the run."""


def quantity(key: str) -> str | None:
    """The quantity a measured key is summarised under (TPOT/ITL, TTFT, throughput, E2E), None if unknown."""
    return _QUANTITY.get(key.removesuffix("_median"))


def _where(doc: Any, loc: tuple) -> str:
    if len(loc) >= 2 and loc[0] == "runs" and isinstance(loc[1], int):
        runs = doc.get("runs") if isinstance(doc, dict) else None
        rid = runs[loc[1]].get("id") if isinstance(runs, list) and loc[1] < len(runs) and \
            isinstance(runs[loc[1]], dict) else None
        return f"run {rid or '#' + str(loc[1] + 1)}: " + ".".join(str(x) for x in loc[2:])
    return ".".join(str(x) for x in loc)


def load_file(path: Path) -> CorpusFile:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise CorpusError(f"{path.name}: {e}") from None
    try:
        out = CorpusFile.model_validate(doc)
    except ValidationError as e:
        first = e.errors()[0]
        raise CorpusError(f"{path.name}: {_where(doc, tuple(first['loc']))}: {first['msg']}") from None
    if out.source.id != path.stem:
        raise CorpusError(f"{path.name}: source id {out.source.id!r} is not the file's name")
    return out


def load_corpus(folder: Path = CORPUS) -> list[CorpusFile]:
    """Every bench/corpus/*.json, validated; run ids unique over the corpus."""
    files = [load_file(p) for p in sorted(folder.glob("*.json")) if p.name != SPLIT.name]
    seen: dict[str, str] = {}
    for f in files:
        for r in f.runs:
            if r.id in seen:
                raise CorpusError(f"{f.source.id}.json: run {r.id}: its id is also a run of {seen[r.id]}.json")
            seen[r.id] = f.source.id
    return files


@cache
def _corpus_by_run() -> dict[str, tuple[Source, Run]]:
    return {r.id: (f.source, r) for f in load_corpus() for r in f.runs}


def published(run_id: str) -> tuple[Source, Run]:
    """The corpus's source and run of this id: the sections of docs/fidelity.md that show published runs
    (bench/fidelity_inflight.py, fidelity_disagg.py, fidelity_speculative.py) read their figures here."""
    return _corpus_by_run()[run_id]


def source_runs(source_id: str) -> tuple[Source, tuple[Run, ...]]:
    """A corpus source and its runs, in the file's order."""
    (f,) = [f for f in load_corpus() if f.source.id == source_id]
    return f.source, f.runs


# ---------------------------------------------------------------- the engine in the plan


@cache
def _engine_parses() -> bool:
    """Whether plans name their engine yet (`cluster { engine = … }`)."""
    try:
        load_plan_text('model preset "mixtral-8x7b"\ncluster { gpus = 1  gpu preset "h100-sxm"  engine = pytorch }\n'
                       "workload { batch = 1 prompt = 8 generate = 2 }\nstrategy tp 1\n", "probe.moe")
    except PlanError:
        return False
    return True


def with_engine(plan: str, engine: str, release: str | None = None) -> str:
    """The plan text with `engine = ENGINE` in its cluster — the one place a run's engine enters its plan —,
    at the run's `release` (`engine = trtllm@0.17`) when dagc knows its series, else dagc's newest (a
    release dagc does not know, or none, is priced as the newest). Until plans can name their engine, the
    plan as it is."""
    if engine not in ENGINE_NAMES:
        raise ValueError(f"unknown engine {engine!r}: one of {', '.join(ENGINE_NAMES)}")
    if not _engine_parses():
        return plan
    written = engine
    if release is not None and engine != "pytorch" and known_release(cast(EngineName, engine), release):
        written = f"{engine}@{release}"
    at = plan.index("cluster {") + len("cluster {")
    return f"{plan[:at]} engine = {written} {plan[at:]}"


# ---------------------------------------------------------------- the engine's memory share

# The engines' default share of GPU memory, which a benchmark run with the engine's defaults had (a run whose
# settings name another gives it as `memory_fraction`): vLLM's `gpu_memory_utilization` 0.9 of the GPU's total
# (vllm/config/cache.py); TensorRT-LLM's `free_gpu_memory_fraction` 0.9 of the memory free after the weights and
# activations (tensorrt_llm/llmapi/llm_args.py, KvCacheConfig); SGLang's `mem_fraction_static` computed from the
# GPU's memory (`sglang_fraction`).
VLLM_GPU_MEMORY_UTILIZATION = 0.9
TRTLLM_FREE_GPU_MEMORY_FRACTION = 0.9


def flatten_first(plan):
    """The plan's first strategy, flattened (None when it does not flatten)."""
    from dagc.lang.flatten import flatten
    return flatten(plan.strategies[0])[0]


def engine_reserve(run: Run, plan, engine: str) -> float:
    """The reserve (bytes per GPU) under which dagc's KV cache is the one the run's engine allocated with its
    memory share (the default's, or the run's `memory_fraction`). dagc's KV cache is the GPU's memory less the
    weights W, the activations A and the reserve R; each engine's:

    - vLLM: u · C − W − A − its non-torch memory, the rest (1 − u) · C left unused: R = max(R₀, (1 − u) · C);
    - SGLang: f · C − W (activations and graphs live in the rest): R = max(R₀, (1 − f) · C − A);
    - TensorRT-LLM: f · (C − W − A − R₀): R = R₀ + (1 − f) · (C − W − A − R₀);

    R₀ the plan's own reserve (dagc's runtime reserve unless the plan sets one). A disaggregated strategy's
    figures are its decode pool's (the pool whose KV cache admits the requests in flight)."""
    from dagc.layout.layout import resolve
    from dagc.memory.activations import activation_bytes_by_stage
    from dagc.memory.memory import memory
    c, w = plan.cluster, plan.workload
    strategy = flatten_first(plan)
    if strategy is None:            # a strategy that does not flatten: the check says why
        return c.reserve_bytes
    if strategy.disaggregated:
        strategy = strategy.pool("decode").strategy
    w = strategy.workload_for(w)
    lay = resolve(plan.model, c, w, strategy)
    worst = memory(plan.model, w, c, lay, activation_bytes_by_stage(plan.model, w, c, lay)).worst
    cap, r0 = c.gpu.memory_bytes, c.reserve_bytes
    free = cap - worst.weights_bytes - worst.activation_bytes
    if engine == "vllm":
        r = max(r0, (1 - (run.memory_fraction or VLLM_GPU_MEMORY_UTILIZATION)) * cap)
    elif engine == "sglang":
        f = run.memory_fraction or sglang_fraction(cap, w.chunk_tokens, lay.group_size, lay.pp, lay.adp,
                                                   w.speculative is not None)
        r = max(r0, (1 - f) * cap - worst.activation_bytes)
    else:
        r = r0 + (1 - (run.memory_fraction or TRTLLM_FREE_GPU_MEMORY_FRACTION)) * max(0.0, free - r0)
    # a deployment the default leaves no KV cache could not have started with it: it ran with a share its
    # source does not print (SGLang's default with wide DP attention reserves more than the GPU holds)
    return r if free - r > 0 else r0


def graph_terms(run: Run, cap: int) -> dict[str, Any]:
    """The engine terms under which dagc captures the run's own CUDA graphs (its `cuda_graphs`), none without. As
    TensorRT-LLM keeps them (`_filter_cuda_graph_batch_sizes`, tensorrt_llm/_torch/pyexecutor/model_engine.py): the
    sizes up to `cap` — the largest decode batch of a rank, min(max_batch_size, max_num_tokens) — and, padded, `cap`
    itself in place of the larger ones.

    Example:
        >>> run = Run(id="r", quote="q", engine="trtllm", release="1.2", gpu="b200", gpus=1, mode="static",
        ...           settings={}, plan="", measured={"tpot_ms": 1.0},
        ...           cuda_graphs=CudaGraphs(batch_sizes=(1, 2, 4, 8, 16), enable_padding=True))
        >>> graph_terms(run, 12)
        {'graph_sizes': (1, 2, 4, 8, 12), 'graph_padding': True}
    """
    g = run.cuda_graphs
    if g is None:
        return {}
    sizes = sorted({b for b in g.batch_sizes if b <= cap} | ({cap} if g.enable_padding and max(g.batch_sizes) > cap
                                                             else set()))
    return {"graph_sizes": tuple(sizes), "graph_padding": g.enable_padding}


def graph_cap(plan) -> int:
    """The largest decode batch one rank runs: the plan's `batch` over its attention-DP ranks, within its chunk."""
    from dagc.layout.layout import resolve
    strategy = flatten_first(plan)
    adp = 1 if strategy is None else resolve(plan.model, plan.cluster, plan.workload, strategy).adp
    return min(-(-plan.workload.batch // adp), plan.workload.chunk_tokens)


def lowered(run: Run, engine: str | None = None, terms: dict[str, float] | None = None):
    """The run's plan lowered with its engine at its release (or with `engine`, at that one's newest), its
    reserve the engine's memory share's (`engine_reserve`), the run's own CUDA graphs under its own engine
    (`graph_terms`) and, given `terms`, that engine's terms replaced."""
    own = engine in (None, run.engine)
    engine = engine or run.engine
    plan = load_plan_text(with_engine(run.plan, engine, run.release if engine == run.engine else None),
                          f"{run.id}.moe")
    if engine != "pytorch" and "reserve" not in run.plan:
        cluster = plan.cluster.model_copy(update={"reserve_bytes": engine_reserve(run, plan, engine)})
        plan = plan.model_copy(update={"cluster": cluster})
    if own and run.cuda_graphs is not None:
        terms = cast(dict[str, float], graph_terms(run, graph_cap(plan))) | (terms or {})
    return with_terms(plan, terms)


# ---------------------------------------------------------------- dagc's figures (dagc.calibrate.figures)


def dagc_figures(plan, client: str = "http") -> tuple[dict[str, float], str | None]:
    """dagc's figures for a lowered plan (its one strategy), and why there are none (refused) or None: the
    library's (`dagc.calibrate.figures.dagc_figures`, which `dagc calibrate` compares measured runs with),
    TTFT and E2E as a serving client measures them, or the server's for a benchmark in the engine's process
    (`client = "in-process"`)."""
    return _dagc_figures(plan, server=client == "in-process")


def errors(measured: dict[str, float], dagc: dict[str, float]) -> dict[str, float]:
    """(dagc − measured) / measured for every measured key dagc gives a figure for."""
    return {k: (dagc[k] - m) / m for k, m in measured.items() if k in dagc}


def evaluate(source: str, run: Run, engine: str | None = None, terms: dict[str, float] | None = None) -> dict:
    """One run through dagc: its result row (figures, errors, status, seconds)."""
    t0 = time.perf_counter()
    row: dict[str, Any] = {"source": source, "run": run.id, "engine": engine or run.engine, "mode": run.mode,
                           "measured": dict(run.measured), "dagc": {}, "errors": {}, "status": "ok", "why": None}
    try:
        figs, why = dagc_figures(lowered(run, engine, terms), run.client)
    except PlanError as e:
        figs, why = {}, f"the plan does not lower: {e}"
    except Exception as e:      # noqa: BLE001  (a crash is a result of the harness, reported and failed on)
        row.update(status="crashed", why=f"{type(e).__name__}: {e}")
        figs, why = {}, None
    if why is not None:
        row.update(status="refused", why=why)
    row["dagc"] = {k: figs[k] for k in run.measured if k in figs}
    row["errors"] = errors(run.measured, figs)
    row["seconds"] = round(time.perf_counter() - t0, 2)
    return row


def _one(args: tuple) -> dict:
    return evaluate(*args)


def run_all(jobs: Sequence[tuple], workers: int = 2, progress: bool = True) -> list[dict]:
    """Every (source, run, engine, terms) through `evaluate` in a pool of `workers` processes, in order."""
    if workers <= 1:
        rows = []
        for i, j in enumerate(jobs):
            rows.append(_one(j))
            if progress:
                print(f"  [{i + 1}/{len(jobs)}] {j[1].id} {rows[-1]['seconds']:.1f} s", file=sys.stderr)
        return rows
    out: dict[int, dict] = {}
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(_one, j): i for i, j in enumerate(jobs)}
        for done in as_completed(futures):
            i = futures[done]
            out[i] = done.result()
            if progress:
                print(f"  [{len(out)}/{len(jobs)}] {jobs[i][1].id} {out[i]['seconds']:.1f} s", file=sys.stderr)
    return [out[i] for i in range(len(jobs))]


# ---------------------------------------------------------------- halves and summaries


def halves(split_path: Path = SPLIT) -> dict[str, str]:
    """source id → its half, from split.json (empty when there is none yet)."""
    if not split_path.exists():
        return {}
    doc = json.loads(split_path.read_text(encoding="utf-8"))
    return {sid: half for half in HALVES for sid in doc[half]}


def _group(f: CorpusFile) -> tuple[int, int]:
    """(0 dense / 1 MoE, 0 in flight / 1 static) of a source, from its first run's plan and its runs' modes."""
    moe = load_plan_text(f.runs[0].plan, f"{f.runs[0].id}.moe").model.moe
    moe = moe is not None and moe.experts > 0       # a dense model lowers to no experts
    static = all(r.mode == "static" for r in f.runs)
    return int(bool(moe)), int(static)


def make_split(files: Iterable[CorpusFile]) -> dict:
    """The split by the module docstring's rule: by family of sources, grouped, ordered by sha256, balanced
    by runs."""
    families: dict[str, list[CorpusFile]] = {}
    for f in files:
        families.setdefault(f.source.family or f.source.id, []).append(f)

    def group(fam: list[CorpusFile]) -> tuple[int, int]:       # the group of the family's largest source
        return _group(max(fam, key=lambda f: (len(f.runs), f.source.id)))

    order = sorted(families.items(), key=lambda kv: (group(kv[1]), hashlib.sha256(kv[0].encode()).hexdigest()))
    out: dict[str, Any] = {"rule": "bench/fidelity_corpus.py --split: by family of sources (a source is its own "
                                   "family unless it names one); grouped dense/MoE × in flight/static by the "
                                   "family's largest source; within a group in the order of the sha256 of the "
                                   "family, each family to the half with fewer of the group's runs so far (a tie: "
                                   "fewer runs in all, then calibration)",
                           "calibration": [], "held-out": []}
    runs = {h: 0 for h in HALVES}
    group_runs: dict[tuple[int, int], dict[str, int]] = {}
    for _name, fam in order:
        g = group_runs.setdefault(group(fam), {h: 0 for h in HALVES})
        half = min(HALVES, key=lambda h: (g[h], runs[h], HALVES.index(h)))
        n = sum(len(f.runs) for f in fam)
        out[half].extend(sorted(f.source.id for f in fam))
        g[half] += n
        runs[half] += n
    return out


def summarise(rows: Iterable[dict]) -> dict[str, dict[str, dict[str, float]]]:
    """half → quantity → {count, median (of |error|), worst, bias (signed median)}."""
    by: dict[str, dict[str, list[float]]] = {}
    for r in rows:
        for k, e in r["errors"].items():
            q = quantity(k)
            if q is not None:
                by.setdefault(r.get("half") or "unsplit", {}).setdefault(q, []).append(e)
    return {h: {q: {"count": len(es), "median": statistics.median(abs(e) for e in es),
                    "worst": max(abs(e) for e in es), "bias": statistics.median(es)}
                for q, es in qs.items()} for h, qs in by.items()}


def targets_met(rows: Sequence[dict]) -> list[tuple[str, str, float | None, bool]]:
    """(what, quantity, value, met) for each must-hold target on the held-out half, and no run refused or crashed."""
    held = summarise([r for r in rows if r.get("half") == "held-out"]).get("held-out", {})
    out: list[tuple[str, str, float | None, bool]] = []
    for q in TARGETED:
        s = held.get(q)
        for what, limit in TARGETS.items():
            v = s[what] if s else None
            out.append((what, q, v, v is not None and v <= limit))
    bad = sum(r["status"] != "ok" for r in rows)
    out.append(("refused or crashed", "runs", float(bad), bad == 0))
    return out


def _pct(x: float) -> str:
    return f"{x * 100:+.1f} %"


def print_table(rows: Sequence[dict]) -> None:
    for r in rows:
        figs = "  ".join(f"{k} {m:.4g}/{r['dagc'][k]:.4g} ({_pct(r['errors'][k])})"
                         for k, m in r["measured"].items() if k in r["dagc"])
        tail = figs if r["status"] == "ok" else f"{r['status'].upper()}: {r['why']}"
        print(f"{r.get('half') or 'unsplit':11} {r['run']:44} {r['engine']:7} {r['seconds']:6.1f} s  {tail}")
    for half, qs in summarise(rows).items():
        for q in QUANTITIES:
            if q in qs:
                s = qs[q]
                print(f"{half:11} {q:10} n={s['count']:<3} median |error| {s['median'] * 100:5.1f} %  worst "
                      f"{s['worst'] * 100:5.1f} %  bias {_pct(s['bias'])}")


def _row_pct(x: float) -> str:
    return f"{x * 100:+.1f} %"


def _fig(x: float) -> str:
    return f"{x:,.0f}" if x >= 1000 else f"{x:.3g}" if x < 10 else f"{x:.1f}"


def _targets_table(rows: Sequence[dict]) -> list[str]:
    lines = ["Must hold on the held-out half:", "", "| target | value | met? |", "|---|---:|---|"]
    for what, q, v, ok in targets_met(rows):
        verdict = "met" if ok else "**not met**"
        if q == "runs":
            lines.append(f"| no run refused or crashed | {v:.0f} | {verdict} |")
            continue
        value = "—" if v is None else f"{v * 100:.1f} %"
        lines.append(f"| {q} {what} \\|error\\| ≤ {TARGETS[what] * 100:.0f} % | {value} | {verdict} |")
    return lines


def _summary_table(summary: dict, ref: dict) -> list[str]:
    beside = " | `engine = pytorch`: median, worst, bias" if ref else ""
    lines = [f"| half | quantity | figures | median \\|error\\| | worst | bias (signed median){beside} |",
             "|---|---|---:|---:|---:|---:|" + ("---|" if ref else "")]
    for h in (*HALVES, "unsplit"):
        for q in QUANTITIES:
            s, p = summary.get(h, {}).get(q), ref.get(h, {}).get(q)
            if s is None:
                continue
            tail = "" if not ref else " | —" if p is None else \
                f" | {p['median'] * 100:.1f} %, {p['worst'] * 100:.1f} %, {_row_pct(p['bias'])}"
            lines.append(f"| {h} | {q} | {s['count']} | {s['median'] * 100:.1f} % | {s['worst'] * 100:.1f} % | "
                         f"{_row_pct(s['bias'])}{tail} |")
    return lines


def _runs_table(rows: Sequence[dict]) -> list[str]:
    lines = ["| run | engine | mode | half | figure | measured | dagc | error |",
             "|---|---|---|---|---|---:|---:|---:|"]
    for r in rows:
        head = f"| {r['run']} | {r['engine']} | {r['mode']} | {r['half'] or 'unsplit'} |"
        if r["status"] != "ok":
            lines.append(f"{head} **{r['status']}**: {r['why']} | | | |")
        lines += [f"{head} {k} | {_fig(m)} | {_fig(r['dagc'][k])} | {_row_pct(r['errors'][k])} |"
                  for k, m in r["measured"].items() if k in r["dagc"]]
    return lines


def markdown_section(results: dict, files: Sequence[CorpusFile], half: dict[str, str],
                     reference: dict | None = None) -> list[str]:
    """docs/fidelity.md's corpus section, from bench/corpus_results.json (`results`) and the corpus files;
    `reference`, the same corpus run with `--engine pytorch` (bench/corpus_results_pytorch.json), beside."""
    rows = [r | {"half": half.get(r["source"])} for r in results["runs"]]
    ref = summarise([r | {"half": half.get(r["source"])} for r in reference["runs"]]) if reference else {}
    engine = ("in each plan (`cluster { engine = … }`)" if results.get("engine_in_plan")
              else "not in the plans yet (dagc's default engine)")
    lines = ["## (h) The public corpus: published serving runs, both halves", "",
             "Every run of `bench/corpus/` — measured serving runs of public sources, each with its quote, settings "
             "and plan (bench/corpus/README.md) — checked by dagc with the run's engine in its plan, from "
             "`bench/corpus_results.json` (`python bench/fidelity_corpus.py --json bench/corpus_results.json`). "
             "With traffic in the plan dagc's figures are the load simulation's over the whole run, as the "
             "benchmark client computes them; without, the steady state's (a disaggregated source's pool "
             "alone: the pool's capacity). Error = (dagc − measured) / measured.", "",
             f"The engine is {engine}"
             + (f"; every run with `engine = {results['engine']}`" if results.get("engine") else "")
             + (". The split (bench/corpus/split.json) is by source, sources of one series (a family: one page's "
                "tables, one lab's pages) together, fixed before any term is fitted: constants are fitted on the "
                "calibration half (bench/fit_engine_terms.py), the held-out half is reported, never tuned on." if half
                else
                ". No split is committed yet: every source is `unsplit`."), ""]
    lines += _targets_table(rows) + [""] + _summary_table(summarise(rows), ref)
    if ref:
        lines += ["", "`engine = pytorch`: the same runs with every plan's engine the plain reference of the "
                  "calibration (`python bench/fidelity_corpus.py --engine pytorch --json "
                  "bench/corpus_results_pytorch.json`): what the engines' terms change."]
    lines += ["", "Sources:", "", "| source | kind | half | runs |", "|---|---|---|---:|"]
    lines += [f"| [{f.source.title}]({f.source.url}) | {f.source.kind} | {half.get(f.source.id, 'unsplit')} | "
              f"{len(f.runs)} |" for f in files]
    return lines + [""] + _runs_table(rows) + [""]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="exit 1 unless the held-out half meets its targets")
    ap.add_argument("--json", type=Path, help="write the per-run results here (bench/corpus_results.json)")
    ap.add_argument("--engine", choices=ENGINE_NAMES, help="run every plan with this engine instead of its own")
    ap.add_argument("--split", action="store_true", help="write bench/corpus/split.json and stop")
    ap.add_argument("--jobs", type=int, default=2, help="processes (default 2)")
    ap.add_argument("--only", nargs="*", default=None, help="only these source ids")
    args = ap.parse_args(argv)
    try:
        files = load_corpus()
    except CorpusError as e:
        print(f"bench/corpus: {e}", file=sys.stderr)
        return 2
    if args.split:
        SPLIT.write_text(json.dumps(make_split(files), indent=2) + "\n", encoding="utf-8")
        print(f"wrote {SPLIT.relative_to(ROOT)}")
        return 0
    half = halves()
    files = [f for f in files if args.only is None or f.source.id in args.only]
    jobs = [(f.source.id, r, args.engine, None) for f in files for r in f.runs]
    t0 = time.perf_counter()
    rows = run_all(jobs, args.jobs)
    for r in rows:
        r["half"] = half.get(r["source"])
    print_table(rows)
    print(f"{len(rows)} runs of {len(files)} sources in {time.perf_counter() - t0:.0f} s wall")
    if args.json:
        meta = {"engine_in_plan": _engine_parses(), "engine": args.engine, "runs": rows}
        args.json.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    if args.check:
        failed = [t for t in targets_met(rows) if not t[3]]
        for what, q, v, _ in failed:
            print(f"NOT met: held-out {q} {what}" + ("" if v is None else f" = {v * 100:.1f} %" if q != "runs"
                                                      else f" = {v:.0f}"))
        return 1 if failed else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
