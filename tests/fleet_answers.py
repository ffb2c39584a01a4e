"""Made-up fleet answers for the ranking's tests: a partial answer, as a test writes it, read as dagc reads an
answer (`dagc.fleet.stored.parse_answer`) with what it leaves out filled in, its JSON kept as written.

What is filled in changes no figure the ranking computes from what the test wrote: a cluster without a GPU count
rents the GPUs its pick uses (so its rented cost is its cost), a pick without GPUs uses the cluster's, a pick
without a strategy gets one of its own (no two such picks are the same pick), a pick without a goodput serves 0
(no cost band), and percentiles not written are not known.
"""

from __future__ import annotations

import itertools

from dagc.fleet.rank import FleetResult, FleetRow, rank_fleet
from dagc.fleet.stored import StoredAnswer, parse_answer
from dagc.lang.fleet import Fleet, FleetPoint

_PICKS = itertools.count()


def stored(answer: dict) -> StoredAnswer:
    """`answer` (a partial answer's JSON) as a `StoredAnswer`; fleet.json shows its pick as written."""
    given = answer.get("pick")
    pick = None if given is None else dict(given)
    cluster = dict(answer.get("cluster") or {})
    if pick is not None:
        pick.setdefault("gpus", cluster.get("gpus", 1))
        pick.setdefault("strategy", f"made-up pick {next(_PICKS)}")
        pick.setdefault("workload", {})
        pick["load"] = {"goodput_requests_per_s": 0.0, "ttft_s": {}, "tpot_s": {}, **(pick.get("load") or {})}
    cluster = {"gpu": "h200", "gpus": 1 if pick is None else pick["gpus"], "gpus_per_node": 8, "engine": "vllm",
               **cluster}
    out = parse_answer({"meets_requirements": False, **answer, "cluster": cluster, "pick": pick})
    if out.pick is not None:
        out.pick._written = given            # as the test wrote it
    return out


def ranked(fleet, answers, objective: str, error_band_ratio: float | None = None) -> FleetResult:
    """`rank_fleet` of partial answers (`stored`)."""
    return rank_fleet(fleet, [(p, stored(a)) for p, a in answers], objective, error_band_ratio)


def row_of(answer: dict) -> FleetRow:
    """The row of a one-cluster fleet whose answer is `answer` (a partial answer's JSON, `stored`)."""
    result = ranked(Fleet((), (), 1.0, None), [(FleetPoint(0, "h200", None, (), 0, rate=1.0), answer)], "cost")
    return (*result.ranked, *result.missed)[0]
