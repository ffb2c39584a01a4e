"""Band rules other than the shipped one, measured on one half of the fidelity corpus: in-sample and leave-one-
family-out coverage of each quantity's 80 % band, and the shipped rule's coverage by the families behind a band.

Usage:
    python bench/band_rules.py                          # the calibration half of bench/corpus_results.json
    python bench/band_rules.py --half held-out          # the held-out half (what tests/test_bands.py judges)
    python bench/band_rules.py --results FILE           # another corpus run (`bench/fidelity_corpus.py --json FILE`)

A rule is how the ledger turns a half's log-ratios into each regime's quantiles (bench/make_ledger.py). The shipped
one (`current`) states a regime's quantiles when it has MIN_RUNS runs, whatever the sources behind them. The others:

- `families>=2`, `families>=3`: a regime states quantiles only when its runs come from at least 2 (3) families of
  sources (bench/corpus/README.md), else the next wider regime bands its figures; `all` always has them;
- `families alike`: each family of a regime weighs alike, as `all` weighs each quantity (`_quantities_alike`: each
  family's quantile function read at as many levels as the most figures any family of the regime has);
  `families alike, >=2` with the rule above;
- `spread <3`: a regime resting on fewer than 3 families has its log-ratios spread by the quantity's between-family
  offsets (each figure's log-ratio plus each family's median log-ratio of the quantity, less the median of those
  medians), the error of a new source's level added to the regime's own; `spread`: every regime but `all` so.

Each is judged as bench/band_coverage.py judges the shipped ledger, on the half named: in sample (a ledger of the
half's runs) and leaving each family out (a ledger of the half's other families). The last table is the shipped
rule's leave-one-family-out coverage grouped by how many families the regime that banded the figure rests on
(`all`: the widest). docs/bands.md ("A rule chosen on the calibration half") says what was measured and decided.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for p in (ROOT, ROOT / "bench"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import fidelity_corpus as fc  # noqa: E402
import numpy as np  # noqa: E402
from band_coverage import _inside, _ledger, coverage  # noqa: E402
from make_ledger import LEVELS, MIN_RUNS, Observation, _quantities_alike, ledger_doc, observations  # noqa: E402

from dagc.verdict.ledger import CONFIDENCE, WIDEST, regime_keys  # noqa: E402

__all__ = ["RULES", "by_families", "leave_one_family_out", "rule_doc"]

Doc = Callable[[Sequence[Observation]], dict]
QUANTITIES = ("ttft", "tpot", "throughput", "e2e")


def _alike(by_family: dict[str, list[float]]) -> np.ndarray:
    """A regime's log-ratios with each family weighing alike (`_quantities_alike`, over families)."""
    return _quantities_alike(by_family)


def _spread(r: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Every log-ratio of `r` plus every between-family offset.

    Example:
        >>> [round(float(x), 2) for x in _spread(np.array([0.0, 0.1]), np.array([-0.2, 0.2]))]
        [-0.2, 0.2, -0.1, 0.3]
    """
    return (r[:, None] + offsets[None, :]).ravel()


def rule_doc(obs: Sequence[Observation], families: int = 1, alike: bool = False, spread_below: int = 0) -> dict:
    """The ledger of `obs` under a rule: quantiles only for a regime of MIN_RUNS runs from `families` families or
    more (`all` always); each family weighing alike (`alike`); a regime of fewer than `spread_below` families
    spread by the quantity's between-family offsets. Quantiles rounded as bench/make_ledger.py rounds them."""
    ratios: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    runs: dict[str, set[str]] = defaultdict(set)
    by_quantity: dict[str, list[float]] = defaultdict(list)
    per_family: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for o in obs:
        by_quantity[o.quantity].append(o.log_ratio)
        per_family[o.quantity][o.family].append(o.log_ratio)
        for key in regime_keys(o.regime, o.quantity):
            ratios[key][o.family].append(o.log_ratio)
            runs[key].add(o.run)
    offsets = {}
    for q, fams in per_family.items():
        medians = np.array([np.median(v) for v in fams.values()])
        offsets[q] = medians - np.median(medians)
    regimes = {}
    for key, fams in sorted(ratios.items()):
        r = _alike(fams) if alike else np.concatenate([np.asarray(v) for v in fams.values()])
        if key == WIDEST:
            r = _quantities_alike(by_quantity)
        elif len(fams) < spread_below:
            r = _spread(r, offsets[key.rsplit("quantity=", 1)[1]])
        enough = len(runs[key]) >= MIN_RUNS and (key == WIDEST or len(fams) >= families)
        q = np.quantile(r, LEVELS, method="weibull") if enough else None
        regimes[key] = {"runs": len(runs[key]), "figures": int(r.size), "families": len(fams),
                        "log_ratio": [round(float(x), 6) for x in q] if q is not None else None}
    return {"min_runs": MIN_RUNS, "levels": list(LEVELS), "regimes": regimes, "source": "bench/band_rules.py"}


RULES: dict[str, Doc] = {
    "current": ledger_doc,
    "families>=2": lambda obs: rule_doc(obs, families=2),
    "families>=3": lambda obs: rule_doc(obs, families=3),
    "families alike": lambda obs: rule_doc(obs, alike=True),
    "families alike, >=2": lambda obs: rule_doc(obs, families=2, alike=True),
    "spread <3": lambda obs: rule_doc(obs, spread_below=3),
    "spread": lambda obs: rule_doc(obs, spread_below=10**9),
}


def leave_one_family_out(obs: Sequence[Observation], make: Doc = ledger_doc,
                         confidence: float = CONFIDENCE) -> dict[str, tuple[int, int]]:
    """quantity → (figures inside the band of a ledger, made by `make`, of the other families' figures; figures)."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for fam in sorted({o.family for o in obs}):
        book = _ledger(make([o for o in obs if o.family != fam]))
        for o in (o for o in obs if o.family == fam):
            out[o.quantity][0] += _inside(o, book, confidence)
            out[o.quantity][1] += 1
    return {q: (c[0], c[1]) for q, c in sorted(out.items())}


def by_families(obs: Sequence[Observation], confidence: float = CONFIDENCE) -> dict[tuple[str, str], tuple[int, int]]:
    """(quantity, families behind the band: `1`, `2`, `3+` or `all`) → (figures inside, figures), each family's
    figures banded by the shipped rule's ledger of the other families."""
    out: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for fam in sorted({o.family for o in obs}):
        rest = [o for o in obs if o.family != fam]
        book, behind = _ledger(ledger_doc(rest)), rule_doc(rest)["regimes"]
        for o in (o for o in obs if o.family == fam):
            regime = book.errors(o.regime, o.quantity).regime
            n = behind[regime]["families"]
            group = "all" if regime == WIDEST else str(n) if n < 3 else "3+"
            out[(o.quantity, group)][0] += _inside(o, book, confidence)
            out[(o.quantity, group)][1] += 1
    return {k: (c[0], c[1]) for k, c in sorted(out.items())}


def _cell(k: int, n: int) -> str:
    return f"{k}/{n} {k / n:6.1%}"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=Path, default=fc.RESULTS, help="a corpus run (default bench/corpus_results.json)")
    ap.add_argument("--half", choices=("calibration", "held-out"), default="calibration")
    args = ap.parse_args(argv)
    obs = observations(args.results, args.half)
    print(f"{args.half} half of {args.results}: 80 % bands, in sample / leaving each family out")
    print(f"{'rule':22}" + "".join(f"{q:>32}" for q in QUANTITIES))
    for name, make in RULES.items():
        inside, loo = coverage(obs, _ledger(make(obs))), leave_one_family_out(obs, make)
        print(f"{name:22}" + "".join(f"{_cell(*inside[q]) + ' / ' + _cell(*loo[q]):>32}" for q in QUANTITIES
                                     if q in inside))
    print("the shipped rule, leaving each family out, by the families behind the band:")
    for (q, group), (k, n) in by_families(obs).items():
        print(f"    {q:12} {group:>4} families  {_cell(k, n)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
