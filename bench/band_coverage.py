"""How often dagc's stated band contains the measured value, on the held-out half of the fidelity corpus.

Usage:
    python bench/band_coverage.py                  # the shipped ledger's 80 % bands, per quantity
    python bench/band_coverage.py --confidence 0.5

Two figures per quantity. *In sample*: each held-out figure against the band the shipped ledger
(dagc/data/ledger.json, made from these same runs by bench/make_ledger.py) gives its run's regime — what
a user of this ledger is told, checked on the runs it summarises; the regime fallback makes this differ
from the nominal share where a run's figures are banded by a wider regime than their own. *Leave one
family out*: each family of sources (bench/corpus/README.md) against a ledger made from the other
held-out families only — how the band does on a source it has never seen, the honest test of a band's
width, with eight families in the held-out half. An E2E is banded as dagc bands it: by its own regime's errors,
or, where E2E has too few runs, by TTFT's and TPOT's composed at its run's TTFT share
(`dagc.verdict.ledger.e2e_errors`) — in the leave-one-family-out column from the other families' TTFT and TPOT.
The composition takes a run's TTFT and TPOT errors together (comonotone); the last line prints what the held-out
runs say of that: the rank correlation of the two log-ratios over the runs that measured both (a mean with a mean,
a median with a median; TPOT, else ITL).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for p in (ROOT, ROOT / "bench"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import numpy as np  # noqa: E402
from make_ledger import Observation, ledger_doc, observations  # noqa: E402

from dagc.verdict.ledger import CONFIDENCE, Errors, Ledger, e2e_errors, ledger  # noqa: E402

__all__ = ["coverage", "leave_one_family_out", "ttft_tpot_pairs"]


def _ledger(doc: dict) -> Ledger:
    return Ledger(min_runs=doc["min_runs"], levels=tuple(doc["levels"]), regimes=doc["regimes"], source=doc["source"])


def _errors(o: Observation, book: Ledger) -> Errors:
    """The errors a figure is banded by, as `dagc.verdict.bands` bands it: an E2E with too few E2E runs by TTFT's
    and TPOT's composed at its run's TTFT share (`e2e_errors`)."""
    own = book.errors(o.regime, o.quantity)
    if o.quantity != "e2e":
        return own
    return e2e_errors(own, book.errors(o.regime, "ttft"), book.errors(o.regime, "tpot"), o.ttft_share)


def _inside(o: Observation, book: Ledger, confidence: float) -> bool:
    low, high = _errors(o, book).band(o.dagc, confidence)
    return low <= o.measured <= high


def coverage(obs: Sequence[Observation], book: Ledger, confidence: float = CONFIDENCE) -> dict[str, tuple[int, int]]:
    """quantity → (figures whose measured value lies in its band, figures)."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for o in obs:
        out[o.quantity][0] += _inside(o, book, confidence)
        out[o.quantity][1] += 1
    return {q: (c[0], c[1]) for q, c in sorted(out.items())}


def leave_one_family_out(obs: Sequence[Observation], confidence: float = CONFIDENCE) -> dict[str, tuple[int, int]]:
    """As `coverage`, each family's figures banded by a ledger of the other families' runs."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for fam in sorted({o.family for o in obs}):
        book = _ledger(ledger_doc([o for o in obs if o.family != fam]))
        for o in obs:
            if o.family == fam:
                out[o.quantity][0] += _inside(o, book, confidence)
                out[o.quantity][1] += 1
    return {q: (c[0], c[1]) for q, c in sorted(out.items())}


def ttft_tpot_pairs(obs: Sequence[Observation]) -> list[tuple[float, float]]:
    """(TTFT's, TPOT's) log-ratio of each held-out run and statistic (mean, median) that measured both (TPOT,
    else ITL): the pairs whose dependence the E2E composition assumes."""
    by: dict[tuple[str, str], float] = {}
    for o in obs:
        by[(o.run, o.key)] = o.log_ratio
    out = []
    for (run, key), r in by.items():
        stem, _, stat = key.partition("_ms")
        if stem != "ttft":
            continue
        tpot = by.get((run, f"tpot_ms{stat}"), by.get((run, f"itl_ms{stat}")))
        if tpot is not None:
            out.append((r, tpot))
    return out


def _rank_correlation(pairs: Sequence[tuple[float, float]]) -> float:
    """Spearman's ρ: the correlation of the pairs' ranks (no ties in these log-ratios)."""
    a = np.array(pairs)
    ranks = np.argsort(np.argsort(a, axis=0), axis=0).astype(float)
    return float(np.corrcoef(ranks[:, 0], ranks[:, 1])[0, 1])


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--confidence", type=float, default=CONFIDENCE, help="the band's stated share (default 0.8)")
    args = ap.parse_args(argv)
    obs = observations()
    inside, loo = coverage(obs, ledger(), args.confidence), leave_one_family_out(obs, args.confidence)
    print(f"stated band: {args.confidence:.0%}; held-out figures of bench/corpus_results.json")
    print(f"{'quantity':12} {'figures':>8} {'in sample':>10} {'leave one family out':>22}")
    for q, (k, n) in inside.items():
        k2, n2 = loo[q]
        print(f"{q:12} {n:8} {k / n:10.1%} {k2 / n2:22.1%}")
    pairs = ttft_tpot_pairs(obs)
    if len(pairs) > 2:
        print(f"TTFT and TPOT errors of one run: {len(pairs)} pairs, rank correlation {_rank_correlation(pairs):+.2f} "
              "(the E2E composition takes them together)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
