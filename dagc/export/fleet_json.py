"""The fleet's answers as JSON: a cluster's answer as the results file holds it, and report.json's `fleet`.

What a fleet asks each cluster, `FLEET_ASK`: its pick written as `dagc search --rate`'s row
(`dagc.export.search_json.at_rate_json`), which the fleet carries to its workers and Ray.

Input: a `dagc.fleet.stored.StoredAnswer` (`answer_json`), or the fleet's ranking, `dagc.fleet.rank.FleetResult`
(`fleet_json`, with `row_json` for one of its rows). Output: JSON data — fleet.json's `fleet`, which the pages
(`dagc.export.fleet_out`) and the words (`dagc.export.fleet_words`) read. An answer's keys are those it was
written with, in the order dagc writes them (`ANSWER_KEYS`), its pick as it was written (`StoredPick.written`),
so that a resumed answer is written back as it was read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..fleet.cluster import Ask
from ..fleet.rank import COSTS, FleetResult, FleetRow, MixAnswer
from ..fleet.stored import ANSWER_KEYS, StoredAnswer
from .search_json import at_rate_json

if TYPE_CHECKING:
    from ..jsontypes import JSON, JSONObject

__all__ = ["FLEET_ASK", "answer_json", "fleet_json", "row_json"]

_RENTED = tuple(f"rented_{k}" for k in COSTS)       # each with every GPU the cluster rents charged (`rented_cost`)

FLEET_ASK = Ask(pick_json=at_rate_json)     # `dagc fleet`'s question to each cluster: `dagc search --rate`'s row


def _field(answer: StoredAnswer, key: str) -> JSON:
    if key == "cluster":
        cluster: JSONObject = answer.cluster.model_dump(exclude_unset=True)
        return cluster
    if key == "pick":
        return None if answer.pick is None else answer.pick.written
    value: JSON = getattr(answer, key)
    return value


def answer_json(answer: StoredAnswer) -> JSONObject:
    """A cluster's answer as the results file holds it: the keys it was given, in the order dagc writes them.

    Example:
        >>> from dagc.fleet.stored import parse_answer
        >>> answer_json(parse_answer({"cluster": {"gpu": "h200", "gpus": 1, "gpus_per_node": 8, "engine": "vllm"},
        ...                           "meets_requirements": False, "pick": None, "failed": "died"}))
        {'cluster': {'gpu': 'h200', 'gpus': 1, 'gpus_per_node': 8, 'engine': 'vllm'}, 'meets_requirements': False, \
'pick': None, 'failed': 'died'}
    """
    given = answer.model_fields_set
    return {key: _field(answer, key) for key in ANSWER_KEYS if key in given}


def _mix_json(m: MixAnswer) -> JSONObject:
    return {"mix": m.mix, "weight": m.weight, "options": list(m.options), "rate_requests_per_s": m.rate_requests_per_s,
            **answer_json(m.answer)}


def row_json(row: FleetRow) -> JSONObject:
    """One cluster's row of report.json's `fleet`: its place, label, options and rate, then its answer (with mixes,
    the mixes' combined, then each mix's in `mixes`), its costs with every GPU it rents charged and, for the best,
    its capacity at the traffic."""
    rented: JSONObject = dict(zip(_RENTED, row.rented, strict=True))
    head: JSONObject = {"index": row.index, "label": row.label, "options": list(row.options),
                        "rate_requests_per_s": row.rate_requests_per_s}
    if not row.mixes:
        out = {**head, **answer_json(row.answer), **rented}
    else:
        a = row.answer
        out = {**head, "cluster": _field(a, "cluster"), "meets_requirements": a.meets_requirements,
               "pick": _field(a, "pick"), "instances": a.instances, "per_million_tokens": a.per_million_tokens,
               "gpu_hours_per_million_tokens": a.gpu_hours_per_million_tokens, **rented,
               "rent_per_hour": a.rent_per_hour, "binding": a.binding,
               **({"failed": a.failed} if "failed" in a.model_fields_set else {}),
               "mixes": [_mix_json(m) for m in row.mixes]}
    if row.capacity_judged:
        out["capacity_requests_per_s"] = row.capacity_requests_per_s
    return out


def fleet_json(result: FleetResult) -> JSONObject:
    """report.json's `fleet` (docs/fleet.md): the rate (or the mixes), what ranks the clusters, the rows — the best,
    those meeting every requirement, the others — and which runners-up are within dagc's error of the best or hold
    its pick."""
    rates = result.rates
    within, same = result.within_error, result.same_pick
    return {"rate_requests_per_s": rates[0] if len(rates) == 1 else None, "mixes": list(result.mixes),
            "objective": result.objective, "ranked_by": result.by,
            "clusters": len(result.ranked) + len(result.missed), "meeting": len(result.ranked),
            "best": None if result.best is None else row_json(result.best),
            "ranked": [row_json(r) for r in result.ranked], "not_meeting": [row_json(r) for r in result.missed],
            "error_band_ratio": result.error_band_ratio, "outside_calibration": result.outside_calibration,
            "within_error_of_best": [r.label for r in within], "within_error_of_best_index": [r.index for r in within],
            "same_pick_as_best": [r.label for r in same], "same_pick_as_best_index": [r.index for r in same]}
