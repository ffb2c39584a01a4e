"""The public corpus's residuals by regime: each half's errors grouped by engine, traffic and GPU generation.

Usage:
    python bench/fidelity_regimes.py                          # bench/corpus_results.json, every quantity
    python bench/fidelity_regimes.py --json F --quantity TTFT # another results file, one quantity

Input: a results file of `bench/fidelity_corpus.py --json` and the corpus files (each run's GPU and plan).
Output: for each half, quantity (TPOT/ITL, TTFT, throughput, E2E), engine, model (dense or MoE), traffic and GPU
generation, the count of figures, the median |error| and the signed median (the bias): where a half's misses sit.

Traffic is the benchmark's, read from the run's plan (bench/corpus/README.md): `burst` (an offline run, every
request sent at once: `concurrency` = `requests`), `closed loop` (fewer clients than requests), `open rate`
(`rate = R requests/s`), `none` (no traffic: the steady state, a static batch or a pool alone). The GPU
generation is the preset's: Ampere (a100-*), Hopper (h100-*, h200, h800, h20), Blackwell (b200, b300, gb200,
gb300), else the preset's name. docs/fidelity.md, section (h), renders the table.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "bench") not in sys.path:     # run as a script from anywhere: bench/fidelity_corpus.py beside it
    sys.path.insert(0, str(ROOT / "bench"))

import fidelity_corpus as fc  # noqa: E402, I001  (bench/, on the path above)
from dagc.lang.load import load_plan_text  # noqa: E402  (the working tree's dagc, on the path fidelity_corpus puts)

__all__ = ["GENERATIONS", "Regime", "generation", "markdown_section", "markdown_table", "model_kind", "regime_rows",
           "traffic"]

Regime = tuple[str, str, str, str, str, str]    # half, quantity, engine, model, traffic, GPU generation
GENERATIONS = (("Ampere", re.compile(r"a100")), ("Hopper", re.compile(r"h100|h200|h800|h20\b")),
               ("Blackwell", re.compile(r"b200|b300")))
_WORD = re.compile(r"\b(concurrency|requests|rate)\s*=\s*([0-9.]+)")


def generation(gpu: str) -> str:
    """The GPU preset's generation (module docstring).

    Example:
        >>> generation("h100-sxm"), generation("gb200"), generation("a100-80g"), generation("mi300x")
        ('Hopper', 'Blackwell', 'Ampere', 'mi300x')
    """
    return next((name for name, pattern in GENERATIONS if pattern.search(gpu)), gpu)


def traffic(plan: str) -> str:
    """The benchmark's traffic as the plan's workload writes it (module docstring).

    Example:
        >>> traffic("workload { batch = 8  concurrency = 64  requests = 64 }"), traffic("rate = 4 requests/s")
        ('burst', 'open rate')
        >>> traffic("workload { concurrency = 16  requests = 80 }"), traffic("workload { batch = 8 }")
        ('closed loop', 'none')
    """
    said = {k: float(v) for k, v in _WORD.findall(plan)}
    if "rate" in said:
        return "open rate"
    if "concurrency" in said:
        return "burst" if said["concurrency"] >= said.get("requests", 0) else "closed loop"
    return "none"


@cache
def model_kind(plan: str) -> str:
    """`MoE` when the plan's model has routed experts, else `dense` (as the split groups sources)."""
    moe = load_plan_text(plan, "run.moe").model.moe
    return "MoE" if moe is not None and moe.experts > 0 else "dense"


def regime_rows(results: dict, runs: dict[str, fc.Run], half: dict[str, str]
                ) -> list[tuple[Regime, int, float, float]]:
    """(regime, figures, median |error|, bias) for each regime holding a figure of `results` (a results file's
    content), its runs' GPU and plan from `runs` (run id → `Run`) and their half from `half` (source → half);
    in order of half, quantity (`fidelity_corpus.QUANTITIES`), engine, model, traffic and generation."""
    by: dict[Regime, list[float]] = {}
    for row in results["runs"]:
        run = runs[row["run"]]
        for key, e in row["errors"].items():
            q = fc.quantity(key)
            if q is not None:
                key_ = (half.get(row["source"]) or "unsplit", q, row["engine"], model_kind(run.plan), traffic(run.plan),
                        generation(run.gpu))
                by.setdefault(key_, []).append(e)
    order = {q: i for i, q in enumerate(fc.QUANTITIES)}
    return [(k, len(es), statistics.median(abs(e) for e in es), statistics.median(es))
            for k, es in sorted(by.items(), key=lambda kv: (kv[0][0], order[kv[0][1]], *kv[0][2:]))]


def markdown_table(rows: Iterable[tuple[Regime, int, float, float]], quantities: Sequence[str] = fc.QUANTITIES
                   ) -> list[str]:
    """docs/fidelity.md's table of `regime_rows`, the quantities named."""
    out = ["| half | quantity | engine | model | traffic | GPUs | figures | median \\|error\\| | bias (signed median) "
           "|",
           "|---|---|---|---|---|---|---:|---:|---:|"]
    for (h, q, engine, kind, t, gen), n, median, bias in rows:
        if q in quantities:
            out.append(f"| {h} | {q} | {engine} | {kind} | {t} | {gen} | {n} | {median * 100:.1f} % | "
                       f"{bias * 100:+.1f} % |")
    return out


def markdown_section(results: dict, runs: dict[str, fc.Run], half: dict[str, str]) -> list[str]:
    """docs/fidelity.md's residuals by regime (section (h)), of `regime_rows` for TPOT/ITL, TTFT and throughput."""
    return ["### (h) Residuals by regime", "",
            "The figures above grouped by half, quantity, engine, model (dense or MoE), the benchmark's traffic "
            "(`burst`: every request sent at once; `closed loop`: fewer clients than requests; `open rate`: requests "
            "at a rate; `none`: the steady state, a static batch or a pool alone) and the GPU's generation "
            "(`python bench/fidelity_regimes.py`): a held-out miss whose regime the calibration half shows with the "
            "same sign is one a term fitted there can be looked for; a regime only the held-out half holds is not "
            "one the calibration can say.", ""] + markdown_table(regime_rows(results, runs, half), fc.TARGETED) + [""]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", type=Path, default=fc.RESULTS, help="a results file (bench/corpus_results.json)")
    ap.add_argument("--quantity", choices=fc.QUANTITIES, action="append", help="only this quantity (repeatable)")
    args = ap.parse_args(argv)
    results = json.loads(args.json.read_text(encoding="utf-8"))
    runs = {r.id: r for f in fc.load_corpus() for r in f.runs}
    print("\n".join(markdown_table(regime_rows(results, runs, fc.halves()), args.quantity or fc.QUANTITIES)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
