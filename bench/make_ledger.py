"""Write dagc/data/ledger.json: dagc's errors on the held-out half of the fidelity corpus, per regime.

Usage:
    python bench/make_ledger.py            # write dagc/data/ledger.json from bench/corpus_results.json
    python bench/make_ledger.py --print    # print the regimes, write nothing

Every figure of every held-out run of bench/corpus_results.json (`python bench/fidelity_corpus.py --json
bench/corpus_results.json`) gives one error e = (dagc − measured) / measured, kept as the log-ratio
r = ln(dagc / measured) = ln(1 + e), under its quantity (TTFT; TPOT and ITL; throughput: tokens/s and
requests/s; E2E) and the regime of its run's plan as dagc sees it (`dagc.verdict.ledger.regime_of`: engine,
GPU family, serving mode, concurrency band). Each figure is counted in every regime of its chain, finest
first (`regime_keys`): engine + GPU family + mode + concurrency band + quantity, then without the
concurrency band, then engine + quantity, then the quantity alone, then every quantity (`all`). A regime
stores its runs, its figures and — with at least MIN_RUNS runs — the empirical quantiles of r at LEVELS,
the k-th smallest of n at level k / (n + 1) and linear between (Weibull plotting positions, Hyndman and
Fan's type 6, numpy's `method="weibull"`): the band between the levels (1 − c) / 2 and (1 + c) / 2 is then
a distribution-free prediction interval of share c for one more run of the regime, where numpy's default
(type 7, the k-th at (k − 1) / (n − 1)) is narrower and covers fewer than c of a small regime's own runs.
A thinner regime stores its counts only, and dagc falls back to the next wider one (docs/bands.md).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
for p in (ROOT, ROOT / "bench"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import fidelity_corpus as fc  # noqa: E402

from dagc.lang.flatten import flatten  # noqa: E402
from dagc.verdict.ledger import LEDGER_FILE, WIDEST, Regime, regime_keys, regime_of  # noqa: E402

__all__ = ["LEDGER", "LEVELS", "MIN_RUNS", "Observation", "ledger_doc", "observations", "quantity_of"]

LEDGER = ROOT / "dagc" / "data" / LEDGER_FILE
MIN_RUNS = 8                                            # fewer runs than this: the next wider regime
LEVELS = tuple(round(i / 20, 2) for i in range(21))     # 0, 0.05, …, 1: the quantiles stored
HALF = "held-out"
_QUANTITY = {"TTFT": "ttft", "TPOT/ITL": "tpot", "throughput": "throughput", "E2E": "e2e"}


@dataclass(frozen=True)
class Observation:
    """One measured figure of a held-out run against dagc's."""

    run: str
    family: str           # the corpus family of its source (its own id when it names none)
    key: str              # the measured key (`tpot_ms`, `output_tokens_per_s`, …)
    quantity: str         # ttft | tpot | throughput | e2e
    regime: Regime
    dagc: float
    measured: float
    ttft_share: float | None = None     # an E2E's: dagc's TTFT (the same statistic) over its E2E, else None

    @property
    def log_ratio(self) -> float:
        return math.log(self.dagc / self.measured)


def quantity_of(key: str) -> str | None:
    """The ledger's quantity of a corpus figure key (`itl_ms_median` → tpot), None if unknown."""
    q = fc.quantity(key)
    return _QUANTITY.get(q) if q is not None else None


def observations(results: Path = fc.RESULTS, half: str = HALF) -> list[Observation]:
    """Every figure of `half`'s runs that dagc gave (status ok), each with its run's regime."""
    doc = json.loads(results.read_text(encoding="utf-8"))
    out = []
    for row in doc["runs"]:
        if row["half"] != half or row["status"] != "ok":
            continue
        source, run = fc.published(row["run"])
        plan = fc.lowered(run, row["engine"])
        strategy, _ = flatten(plan.strategies[0])
        regime = regime_of(plan, disaggregated=bool(strategy is not None and strategy.disaggregated))
        for key, dagc in row["dagc"].items():
            q, measured = quantity_of(key), row["measured"].get(key)
            if q is None or measured is None or measured <= 0 or dagc <= 0:
                continue
            ttft = row["dagc"].get(key.replace("e2e", "ttft")) if q == "e2e" else None
            out.append(Observation(row["run"], source.family or source.id, key, q, regime, dagc, measured,
                                   ttft / dagc if ttft else None))
    return out


def _quantities_alike(by_quantity: dict[str, list[float]]) -> np.ndarray:
    """The widest regime's errors (`all`, the last fallback of a figure of any quantity): each quantity's
    empirical quantile function read at n evenly spaced levels — n the most figures any quantity has — and
    pooled, so that each quantity weighs alike: pooled figure by figure, the throughputs (161 of the held-out
    half's 221 figures) made it a throughput's band, which a latency with too few runs of its own then took
    (docs/bands.md, 2026-11-28).

    Example:
        >>> [round(float(x), 3) for x in _quantities_alike({"ttft": [0.0, 0.4], "tpot": [0.1, 0.2, 0.3]})]
        [0.1, 0.2, 0.3, 0.0, 0.2, 0.4]
    """
    n = max(len(v) for v in by_quantity.values())
    at = np.linspace(0.0, 1.0, n)
    return np.concatenate([np.interp(at, np.linspace(0.0, 1.0, len(v)), np.sort(v)) for _, v in
                           sorted(by_quantity.items())])


def ledger_doc(obs: Iterable[Observation], min_runs: int = MIN_RUNS, levels: Sequence[float] = LEVELS,
               source: str = "bench/corpus_results.json, held-out half") -> dict:
    """The ledger of these observations: every regime of every figure's chain with its runs and figures,
    and the quantiles of its log-ratios when it has `min_runs` runs or more."""
    ratios: dict[str, list[float]] = defaultdict(list)
    runs: dict[str, set[str]] = defaultdict(set)
    by_quantity: dict[str, list[float]] = defaultdict(list)
    for o in obs:
        by_quantity[o.quantity].append(o.log_ratio)
        for key in regime_keys(o.regime, o.quantity):
            ratios[key].append(o.log_ratio)
            runs[key].add(o.run)
    regimes = {}
    for key in sorted(ratios):
        r = np.asarray(ratios[key])
        enough = len(runs[key]) >= min_runs
        if key == WIDEST:          # every quantity's errors, each quantity weighing alike (`_quantities_alike`)
            r = _quantities_alike(by_quantity)
        q = np.quantile(r, levels, method="weibull") if enough else None
        regimes[key] = {"runs": len(runs[key]), "figures": int(r.size),
                        "log_ratio": [round(float(x), 6) for x in q] if q is not None else None}
    return {"about": "dagc's errors on published serving runs it was not tuned on: per regime, the quantiles of "
                     "ln(dagc / measured) at `levels` (docs/bands.md); made by bench/make_ledger.py",
            "source": source, "estimator": "empirical quantiles of the log-ratio: the k-th smallest of n at level "
                                      "k / (n + 1), linear between (Weibull plotting positions)",
            "min_runs": min_runs, "levels": list(levels), "regimes": regimes}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--print", action="store_true", help="print the regimes, write nothing")
    args = ap.parse_args(argv)
    doc = ledger_doc(observations())
    for key, r in doc["regimes"].items():
        q = r["log_ratio"]
        tail = "" if q is None else (f"  80 %: measured in [{math.exp(-q[18]):.2f}, {math.exp(-q[2]):.2f}] × dagc")
        print(f"{key:70} runs {r['runs']:4}  figures {r['figures']:4}{tail}")
    if not args.print:
        LEDGER.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {LEDGER.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
