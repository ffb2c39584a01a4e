"""TensorRT-LLM's offline (trtllm-bench) runs of the corpus, run by run: where dagc's throughput goes.

Usage:
    python bench/trtllm_offline.py                          # the calibration half's 1.2 tables
    python bench/trtllm_offline.py --only trtllm-perf-overview-v1-2-moe --graphs
    python bench/trtllm_offline.py --profiles DIR           # TensorRT-LLM's own kernel tables where DIR has them
    python bench/trtllm_offline.py --request-us 2 5 10      # a host time per request, estimated
    python bench/trtllm_offline.py --floor                  # every source's runs against physics only, no simulation
    python bench/trtllm_offline.py --only trtllm-perf-overview-v1-0-moe --strategy "tp 1 ; ep 8" "tp 1 ; etp 8"
    python bench/trtllm_offline.py --gather                 # the EP exchange as an all-gather and a reduce-scatter
    python bench/trtllm_offline.py --only trtllm-perf-overview-v1-0-moe --one-group   # "TP8" without attention DP
    python bench/trtllm_offline.py --routing 1.3            # the busiest EP rank 1.3× the mean
    python bench/trtllm_offline.py --decode-attention 2     # decode attention on Blackwell at 2× its time

For each run (bench/corpus/, `client = in-process`, every request at once) it prints dagc's throughput error
and what makes it: the run's duration in dagc and the one its measured throughput implies, the requests in
flight (all schedulers), the mean TTFT and TPOT of the load simulation and its decode step. Eight questions
about the error, each a flag, none of them a term of dagc's (docs/cost-model.md, "TensorRT-LLM's offline MoE
throughput" and "The held-out v1.0 MoE table against TensorRT-LLM 1.0's own source"):

- `--graphs`: the performance pages' CUDA graphs (llm_options.yml: batch sizes 1 … 8192 with `enable_padding`)
  on every run, unfiltered — the pages' own runs carry them since 2026-12-01 (their `cuda_graphs`, kept as
  TensorRT-LLM keeps them: bench/corpus/README.md), so the flag now asks only what they would change elsewhere;
- `--profiles DIR`: the kernel times TensorRT-LLM measured itself — `DIR/<system>-trtllm.json` as
  `dagc kernels import --system <system> --engine trtllm -o …` writes it (aiconfigurator-core's tables, the
  extra `dagc[engines]`), for the runs on a GPU whose system is in `SYSTEMS`;
- `--request-us`: a host time per request a step runs, b, priced after the fact: it adds b · N · OSL / S to a
  run of N requests of OSL output tokens over S schedulers (attention-DP ranks; one without), whatever the
  batch, as every output token is one request in one step;
- `--strategy FROM TO`: another reading of the runs' parallelism, each plan's strategy `FROM` written `TO` (the v1.0
  page's "TP8" as attention DP with the experts tensor-sharded, `--strategy "tp 1 ; ep 8" "tp 1 ; etp 8"`: what
  TensorRT-LLM's mapping makes of a run without `--ep`);
- `--gather`: the EP exchange as TensorRT-LLM's CUTLASS MoE runs it on attention-DP ranks outside a multi-node NVLink
  domain — every rank's tokens all-gathered to every EP rank and the outputs reduce-scattered — where an all-to-all
  sends a token only to the ranks its top-k experts are on (`gather_ratio`: the volume's growth); each worker process
  prices it by `gather`, which replaces the distinct ranks `dagc.ir.op_moe` reads for that process alone. Since
  2026-11-29 dagc prices TensorRT-LLM's plans so by default (`dagc.ir.op_moe.gathers_tokens`, docs/cost-model.md,
  "TensorRT-LLM's EP exchange"); `--gather` now applies it to every all-to-all as well (a GB200 domain's, another
  engine's);
- `--one-group`: the plans' attention-DP ranks (`tp 1 ; ep N`) read as one tensor-parallel group with the experts
  on N EP ranks (`tp N ; ep N`), its `batch` one scheduler's (the plan's over N): a performance page's "TP8" read
  as TensorRT-LLM without attention DP, trtllm-bench's max_batch_size and max_num_tokens then the whole group's
  (`one_group`);
- `--routing X`: every plan's routing `imbalance X`, the busiest EP rank carrying X times the mean (`with_routing`);
  dagc's default is random routing, balanced in expectation;
- `--decode-attention X`: the decode-attention kernels of the runs on a Blackwell GPU (b200, b300, gb200, gb300: the
  H200's profile at their peaks) at X times their time (`attention_scale`), every other op as priced.

Every row also sets the measured figure against physics, whatever dagc's kernels say (`implied_s`,
`weights_floor_s`):
the decode step the measured throughput allows at most at the plan's batch — batch / output tokens/s, as a
request emits at most one token a step without speculation and no step runs more than `batch` requests — and
the least time a decode step can take, its rank reading the weights it must once at the GPU's datasheet HBM
bandwidth (`weights_floor_s`). A run whose allowed step is below that floor (marked `!`) cannot have run at its
plan's batch: its engine ran more requests at once than the plan says. `--floor` prints that check alone, for
every source's in-process runs unless `--only` names some, without simulating any (`floor_rows`).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for p in (ROOT, ROOT / "bench"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import fidelity_corpus as fc  # noqa: E402  (bench/, on the path above)

import dagc.cost.compute as compute  # noqa: E402
import dagc.cost.op_price as op_price  # noqa: E402
import dagc.ir.op_moe as op_moe  # noqa: E402
from dagc.calibrate.figures import with_terms  # noqa: E402
from dagc.cost.compute import kernel_efficiency  # noqa: E402
from dagc.ir.dag import KernelClass  # noqa: E402
from dagc.lang.load import load_plan_text  # noqa: E402
from dagc.layout.routing import expected_distinct_ranks  # noqa: E402
from dagc.layout.shards import expected_distinct_experts, kv_bytes_per_token_layer  # noqa: E402
from dagc.plan.params import bytes_per_param, params_by_category  # noqa: E402
from dagc.verdict.check import check_strategy  # noqa: E402

DEFAULT_SOURCES = ("trtllm-perf-overview-v1-2-moe", "trtllm-perf-overview-v1-2")
# The CUDA graphs the performance pages' llm_options.yml captures (v1.0 and 1.2 editions): `enable_padding: true`.
PAGE_GRAPHS = {"graph_sizes": (1, 2, 4, 8, 16, 32, 64, 128, 256, 384, 512, 1024, 2048, 4096, 8192),
               "graph_padding": True}
SYSTEMS = {"b200": "b200_sxm", "h200": "h200_sxm", "h100-sxm": "h100_sxm"}   # dagc's GPU → aiconfigurator's


def schedulers(plan_text: str) -> int:
    """The engine processes that schedule requests: the attention-DP ranks (`tp 1 ; ep N`, `tp 1 ; etp N`: N), else
    one."""
    found = re.search(r"strategy\s+\w+\s*=\s*tp (\d+)(.*)", plan_text)
    if found is None:
        return 1
    degree = {axis: int(n) for axis, n in re.findall(r"\b(ep|etp) (\d+)", found.group(2))}
    tp = int(found.group(1))
    return max(1, max(tp, degree.get("ep", 1) * degree.get("etp", 1)) // tp)


def weights_floor_s(plan) -> float | None:
    """The least time of one decode step at the plan's batch, for a plan on one GPU (`tp 1`) or on N attention-DP
    ranks with the experts over them (`tp 1 ; ep N`, N the cluster's GPUs; any other: None). A rank reads every
    weight it holds once — attention, shared experts, dense FFNs, norms, routers and the LM head whole, the
    embedding not at all (a lookup) — and of its E / ep routed experts those the step's tokens hit,
    E / ep · (1 − (1 − k/E)^T) (T: the plan's batch, every rank's requests entering the EP group); and, a model
    without windowed layers, its requests' KV cache (batch / ep of them) at the mean context prompt + generate / 2;
    all at the GPU's datasheet HBM bandwidth."""
    gpus = plan.cluster.gpus
    if plan.strategies[0].text.strip() != ("tp 1" if gpus == 1 else f"tp 1 ; ep {gpus}"):
        return None
    m, w, ep = plan.model, plan.workload, gpus
    params = params_by_category(m)
    whole = sum(n * bytes_per_param(m, k) for k, n in params.items() if k not in ("embedding", "routed_experts"))
    tokens = batch_of(plan)
    hit = expected_distinct_experts(m.moe.experts, m.moe.top_k, tokens) / m.moe.experts if m.moe.experts else 0.0
    routed = params["routed_experts"] * bytes_per_param(m, "routed_experts") / ep * hit
    kv = 0.0 if m.window is not None else (
        tokens / ep * (w.prompt + w.generate / 2) * m.layers * kv_bytes_per_token_layer(m, 1))
    return (whole + routed + kv) / plan.cluster.gpu.hbm_bytes_per_s


def batch_of(plan) -> int:
    """The most requests the plan's engine runs at once: its batch, or its requests when fewer."""
    w = plan.workload
    return min(w.batch, w.traffic.requests if w.traffic is not None else w.batch)


def implied_s(plan, measured_tokens_per_s: float) -> float:
    """The longest mean decode step the measured output throughput allows at the plan's batch (no speculation):
    batch / tokens per s — no step runs more than `batch` requests, each emitting one token."""
    return batch_of(plan) / measured_tokens_per_s


def reading(plan_text: str, old: str | None, new: str | None) -> str:
    """The plan with its strategy `old` written `new` (`--strategy`); as it is when `old` is None or absent."""
    if old is None or new is None:
        return plan_text
    return re.sub(rf"(strategy\s+\w+\s*=\s*){re.escape(old)}[ \t]*$", rf"\g<1>{new}", plan_text, flags=re.M)


def gather_ratio(top_k: int, experts: int, ep: int) -> float:
    """How much more an EP exchange sends when every token goes to every EP rank (an all-gather, `--gather`) than
    when it goes to the ranks its top-k experts are on (dagc's all-to-all): ep / expected distinct ranks."""
    return ep / expected_distinct_ranks(top_k, experts, ep)


def _every_rank(top_k: int, experts: int, ep: int) -> float:
    """`--gather`'s distinct ranks a token reaches: all of the EP group's."""
    return float(ep)


def gather(on: bool) -> None:
    """A worker's EP exchange: all-gather and reduce-scatter when `on` (`--gather`), else dagc's all-to-all."""
    op_moe.expected_distinct_ranks = _every_rank if on else expected_distinct_ranks


def one_group(plan_text: str) -> str:
    """The plan with its attention-DP ranks read as one tensor-parallel group (`--one-group`): `tp 1 ; ep N` written
    `tp N ; ep N` and its `batch` over N (one scheduler's); any other strategy as it is."""
    found = re.search(r"^(strategy\s+\w+\s*=\s*)tp 1 ; ep (\d+)[ \t]*$", plan_text, flags=re.M)
    if found is None:
        return plan_text
    n = int(found.group(2))
    text = plan_text[:found.start()] + f"{found.group(1)}tp {n} ; ep {n}" + plan_text[found.end():]
    return re.sub(r"\bbatch = (\d+)", lambda m: f"batch = {-(-int(m.group(1)) // n)}", text, count=1)


def with_routing(plan_text: str, imbalance: float | None) -> str:
    """The plan with its workload's routing `imbalance X` (`--routing`); as it is for None."""
    if imbalance is None:
        return plan_text
    return re.sub(r"workload\s*\{", lambda m: f"{m.group(0)}\n  routing = imbalance {imbalance:g}", plan_text, count=1)


BLACKWELL = frozenset({"b200", "b300", "gb200", "gb300"})
_ATTENTION = [1.0]          # `--decode-attention`'s scale for the run a worker prices (`attention_scale`)


def _scaled_efficiency(cls, cm):
    """`dagc.cost.compute.kernel_efficiency`, a decode-attention kernel's over `_ATTENTION[0]`."""
    e = kernel_efficiency(cls, cm)
    return e / _ATTENTION[0] if cls is KernelClass.ATTN_DECODE else e


def attention_scale(x: float) -> None:
    """A worker's decode-attention kernels at `x` times their time (`--decode-attention`); 1: as dagc prices them."""
    _ATTENTION[0] = x
    for module in (compute, op_price):      # each prices kernels by its own name of it
        module.kernel_efficiency = kernel_efficiency if x == 1.0 else _scaled_efficiency  # type: ignore[attr-defined]


def lowered(run: fc.Run, graphs: bool, profiles: Path | None):
    """The run's plan as bench/fidelity_corpus.py lowers it; with the page's graphs, and TensorRT-LLM's own
    kernel profile in `profiles` for its GPU."""
    system = SYSTEMS.get(run.gpu)
    if profiles is None or system is None or not (profiles / f"{system}-trtllm.json").exists():
        return fc.lowered(run, None, PAGE_GRAPHS if graphs else None)
    text = run.plan.replace("gpu preset", f'kernels from "{system}-trtllm.json"\n  gpu preset', 1)
    plan = load_plan_text(fc.with_engine(text, run.engine, run.release), f"{run.id}.moe", base_dir=profiles)
    cluster = plan.cluster.model_copy(update={"reserve_bytes": fc.engine_reserve(run, plan, run.engine)})
    plan = plan.model_copy(update={"cluster": cluster})
    return with_terms(plan, PAGE_GRAPHS if graphs else fc.graph_terms(run, fc.graph_cap(plan)) or None)


def one(args: tuple) -> dict:
    """One run through dagc's load simulation: its throughput error and what makes it. `o`: the flags
    (`graphs`, `profiles`, `strategy`, `one_group`, `routing`, `decode_attention`)."""
    run_id, o = args
    _, run = fc.published(run_id)
    text = reading(run.plan, *(o["strategy"] or (None, None)))
    text = with_routing(one_group(text) if o["one_group"] else text, o["routing"])
    run = run.model_copy(update={"plan": text})
    attention_scale(o["decode_attention"] if run.gpu in BLACKWELL and o["profiles"] is None else 1.0)
    plan = lowered(run, o["graphs"], o["profiles"])
    r = check_strategy(plan, plan.strategies[0], with_capacity=False)
    f, b = r.load.figures, r.load.binding
    measured = run.measured["output_tokens_per_s"]
    floor = weights_floor_s(plan)
    return {"floor_ms": floor * 1e3 if floor is not None else float("nan"),
            "allowed_ms": implied_s(plan, measured) * 1e3, "speculative": plan.workload.speculative is not None,
            "run": run_id, "error": f.output_tokens_per_s / measured - 1, "seconds": f.duration_s,
            "measured_seconds": f.duration_s * f.output_tokens_per_s / measured, "in_flight": b.running_mean,
            "ttft_s": f.ttft_server_s.mean, "tpot_ms": f.tpot_s.mean * 1e3, "step_ms": b.step_s * 1e3,
            "requests": len(r.load.load.arrival), "generate": plan.workload.generate,
            "schedulers": schedulers(run.plan)}


def with_request_time(row: dict, b: float) -> float:
    """The run's throughput error with a host time of `b` seconds per request a step runs (module docstring)."""
    seconds = row["seconds"] + b * row["requests"] * row["generate"] / row["schedulers"]
    return row["measured_seconds"] / seconds - 1


def below(row: dict) -> bool:
    """Whether the measured throughput allows a decode step shorter than the weights floor (no speculation)."""
    return row["allowed_ms"] < row["floor_ms"] and not row["speculative"]


def summary(errors: list[float]) -> str:
    size = [abs(e) for e in errors]
    return (f"median |error| {statistics.median(size):.1%}, worst {max(size):.1%}, "
            f"signed median {statistics.median(errors):+.1%} over {len(errors)} runs")


def floor_rows(sources: list[str]) -> list[dict]:
    """Every in-process run of `sources` with an output throughput that `weights_floor_s` applies to: its allowed
    step and its floor, lowered only (bench/corpus/README.md, "Runs physics rules out")."""
    rows = []
    for s in sources:
        for run in fc.source_runs(s)[1]:
            if run.client != "in-process" or "output_tokens_per_s" not in run.measured:
                continue
            plan = fc.lowered(run)
            if (floor := weights_floor_s(plan)) is not None:
                rows.append({"run": run.id, "allowed_ms": implied_s(plan, run.measured["output_tokens_per_s"]) * 1e3,
                             "floor_ms": floor * 1e3, "speculative": plan.workload.speculative is not None})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", help="these source ids (default: the 1.2 tables; with --floor, every one)")
    ap.add_argument("--graphs", action="store_true", help="the runs' own CUDA graphs (1 … 8192, padded)")
    ap.add_argument("--profiles", type=Path, help="a directory of `<system>-trtllm.json` engine profiles")
    ap.add_argument("--request-us", nargs="*", type=float, default=[], help="host µs per request, estimated")
    ap.add_argument("--jobs", type=int, default=2, help="processes (default 2)")
    ap.add_argument("--floor", action="store_true", help="only each run's allowed step against its floor")
    ap.add_argument("--strategy", nargs=2, metavar=("FROM", "TO"), help="each plan's strategy FROM written TO")
    ap.add_argument("--gather", action="store_true", help="EP exchange by all-gather and reduce-scatter")
    ap.add_argument("--one-group", action="store_true", help="attention-DP ranks read as one TP group")
    ap.add_argument("--routing", type=float, help="every plan's routing `imbalance X`")
    ap.add_argument("--decode-attention", type=float, default=1.0, help="Blackwell decode attention at X× its time")
    a = ap.parse_args(argv)
    if a.floor:
        rows = floor_rows(a.only or [f.source.id for f in fc.load_corpus()])
        for row in rows:
            print(f"{row['run'][:64]:64} allowed {row['allowed_ms']:7.2f} ms, floor {row['floor_ms']:6.2f} ms"
                  f"{' !' if below(row) else ''}")
        print(f"{sum(map(below, rows))} of {len(rows)} runs below their floor")
        return 0
    a.only = a.only or list(DEFAULT_SOURCES)
    runs = [r.id for s in a.only for r in fc.source_runs(s)[1]
            if r.client == "in-process" and "output_tokens_per_s" in r.measured
            and (a.profiles is None or r.gpu in SYSTEMS)]
    opts = {"graphs": a.graphs, "profiles": a.profiles.resolve() if a.profiles else None, "strategy": a.strategy,
            "one_group": a.one_group, "routing": a.routing, "decode_attention": a.decode_attention}
    with ProcessPoolExecutor(max(1, a.jobs), initializer=gather, initargs=(a.gather,)) as pool:
        rows = list(pool.map(one, [(r, opts) for r in runs]))
    for row in rows:
        print(f"{row['run'][:60]:60} {row['error']:+7.1%}  dagc {row['seconds']:8.1f} s, measured "
              f"{row['measured_seconds']:8.1f} s; {row['in_flight']:6.0f} in flight over {row['schedulers']}; "
              f"TTFT {row['ttft_s']:7.1f} s, TPOT {row['tpot_ms']:6.1f} ms, decode step {row['step_ms']:6.1f} ms; "
              f"allowed {row['allowed_ms']:6.1f} ms, floor {row['floor_ms']:5.1f} ms{' !' if below(row) else ''}")
    print(summary([row["error"] for row in rows]))
    for b in a.request_us:
        print(f"with {b:g} µs per request: " + summary([with_request_time(row, b * 1e-6) for row in rows]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
