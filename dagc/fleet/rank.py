"""The fleet's ranking: the clusters whose pick meets every requirement, cheapest per million tokens first.

Input: the fleet, its points and each point's answer (`dagc.fleet.cluster.answer_cluster`, JSON data).
Output: `FleetResult` — the clusters meeting every requirement (the load's percentiles included; with traffic
mixes, under every mix) ranked by what renting the cluster costs a million tokens — every GPU it rents charged,
idle or not (`rented_cost`) — in money when every GPU type has a price, else in GPU-hours; then by the cost on
the GPUs its pick uses; then by the objective's score (higher first, as `dagc search` ranks); then by the
cluster's rent per hour (the smaller cluster that holds the same pick first); then by the sweep's order. The
others follow in the sweep's order, each with what it misses. With mixes, a cluster's cost is the mean of its
mixes' weighted by their weights (their shares of the tokens served), and its pick shown is the heaviest mix's;
each mix's answer is in its row's `mixes`. report.json's `fleet` is `FleetResult.to_json()`.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..lang.fleet_ir import Fleet, FleetPoint
from ..units import count_text, format_figure
from .profiles import borrowed_profile

__all__ = ["SAME_PICK_WORDS", "FleetResult", "basis_words", "close_text", "cluster_text", "cost_figure",
           "idle_instances", "missed_pick", "missed_text", "picks_text", "rank_fleet", "rate_text", "rented_cost",
           "rented_text", "replicas_words", "search_command", "strategy_cell"]

_COSTS = ("per_million_tokens", "gpu_hours_per_million_tokens")
_RENTED = {k: f"rented_{k}" for k in _COSTS}       # each with every GPU the cluster rents charged (`rented_cost`)


@dataclass(frozen=True)
class FleetResult:
    """The fleet's answers, ranked (module docstring)."""

    by: str                              # "money" or "gpu-hours": what ranks the clusters
    ranked: tuple[dict[str, Any], ...]   # meeting every requirement, best first
    missed: tuple[dict[str, Any], ...]   # the others (failed ones included), in the sweep's order
    objective: str
    mixes: tuple[str, ...] = ()
    # how many times its low end the high end of a cost's 80 % band is (`dagc.verdict.ledger.band_ratio` of the
    # plan's regime, throughput's errors): clusters whose cost lies within it of the best's are indistinguishable
    error_band_ratio: float | None = None

    @property
    def rates(self) -> list[float]:
        """The arrival rates the clusters were searched at, each once."""
        return sorted({m["rate_requests_per_s"] for rows in (self.ranked, self.missed) for r in rows
                       for m in r.get("mixes", [r])})

    @property
    def meeting_text(self) -> str:
        """`3 of 8 clusters meet every requirement`."""
        n = len(self.ranked) + len(self.missed)
        verb = "meets" if len(self.ranked) == 1 else "meet"
        return f"{len(self.ranked)} of {n} cluster{'' if n == 1 else 's'} {verb} every requirement"

    @property
    def best(self) -> dict[str, Any] | None:
        return self.ranked[0] if self.ranked else None

    @property
    def within_error(self) -> tuple[dict[str, Any], ...]:
        """The runners-up whose cost lies within `error_band_ratio` of the best's: their bands overlap the best's,
        so dagc cannot tell them from it within its error (docs/bands.md) — not those holding the pick of a cluster
        ranked above them (the best's: `same_pick`), whose figures are that one's and which only rent more GPUs."""
        best, ratio = self.best, self.error_band_ratio
        figure = _COSTS[0] if self.by == "money" else _COSTS[1]
        top = None if best is None else rented_cost(best, figure)
        if ratio is None or not top:
            return ()
        # a cluster holding the pick of a cluster ranked above it (the best's: `same_pick`) is that pick on more GPUs
        keys = [_pick_key(r) for r in self.ranked]
        return tuple(r for k, r in enumerate(self.ranked[1:], 1) if (rented_cost(r, figure) or 0.0) / top <= ratio
                     and (keys[k] is None or keys[k] not in keys[:k]))

    @property
    def same_pick(self) -> tuple[dict[str, Any], ...]:
        """The runners-up whose pick is the best's — the same strategy on the same GPU type and engine, its cost the
        same — on a cluster of more GPUs: more instances of it than the traffic needs, at a higher rent."""
        best = self.best
        if best is None:
            return ()
        key = _pick_key(best)
        return () if key is None else tuple(r for r in self.ranked[1:] if _pick_key(r) == key
                                            and r["cluster"]["gpus"] > best["cluster"]["gpus"])

    def to_json(self) -> dict[str, Any]:
        """report.json's `fleet`."""
        rates = self.rates
        return {"rate_requests_per_s": rates[0] if len(rates) == 1 else None, "mixes": list(self.mixes),
                "objective": self.objective, "ranked_by": self.by,
                "clusters": len(self.ranked) + len(self.missed), "meeting": len(self.ranked),
                "best": self.best, "ranked": list(self.ranked), "not_meeting": list(self.missed),
                "error_band_ratio": self.error_band_ratio,
                "within_error_of_best": [r["label"] for r in self.within_error],
                "within_error_of_best_index": [r["index"] for r in self.within_error],
                "same_pick_as_best": [r["label"] for r in self.same_pick],
                "same_pick_as_best_index": [r["index"] for r in self.same_pick]}


def _pick_key(row: dict[str, Any]) -> tuple[object, ...] | None:
    """What makes two clusters' picks the same: GPU type, engine, strategy — with mixes, each mix's, not the
    heaviest's alone (the table's strategy cell names each) — and cost (None: a row without them)."""
    c, pick = row.get("cluster"), row.get("pick") or {}
    if c is None or "strategy" not in pick:
        return None
    strategies = tuple((m["mix"], (m.get("pick") or {}).get("strategy")) for m in row.get("mixes") or ()) \
        or pick["strategy"]
    return c["gpu"], c["engine"], strategies, row.get("per_million_tokens"), row.get("gpu_hours_per_million_tokens")


def missed_text(row: dict[str, Any]) -> str:
    """Why a cluster misses, in words: its failure, its note, `misses` and the requirement it misses first, or —
    when its pick does not carry the rate — that sentence as it stands (`does not carry 10 requests/s: …`)."""
    if why := row.get("failed") or row.get("note"):
        return str(why)
    binding = row.get("binding")
    if not binding:
        return "misses"
    return binding if binding.startswith("does not carry") else f"misses {binding}"


def rented_cost(row: dict[str, Any], figure: str = _COSTS[0]) -> float | None:
    """A cluster's cost per million tokens (`figure`: money, or GPU-hours) with every GPU it rents charged, at the
    traffic's rate — what the fleet ranks by: its pick's cost × the cluster's GPUs over the pick's (the GPUs
    beyond those the rate needs are paid for and idle); with mixes, each mix's, weighted as their costs are.

    Example:
        >>> rented_cost({"cluster": {"gpus": 8}, "pick": {"gpus": 4}, "per_million_tokens": 0.2585})
        0.517
    """
    if _RENTED[figure] in row:
        rented: float | None = row[_RENTED[figure]]
        return rented
    cost = row.get(figure)
    gpus, used = (row.get("cluster") or {}).get("gpus"), (row.get("pick") or {}).get("gpus")
    return cost if cost is None or not gpus or not used else cost * gpus / used


def cost_figure(value: float | None, by: str) -> str:
    """A cost per million tokens as the fleet's outputs say it: money (`$0.347`), else GPU-hours (`0.139 GPU-h`),
    `—` without one.

    Example:
        >>> cost_figure(0.347, "money"), cost_figure(0.139, "gpu-hours"), cost_figure(None, "money")
        ('$0.347', '0.139 GPU-h', '—')
    """
    if value is None:
        return "—"
    return f"${format_figure(value)}" if by == "money" else f"{format_figure(value)} GPU-h"


def cluster_text(row: dict[str, Any]) -> str:
    """`16 x h200 (8 a node)`: a cluster's GPUs, its node's where it spans more than one, and each other field the
    fleet sweeps (`intra_node 1.8 TB/s`: what tells two clusters of the same GPUs apart; the engine has its column).

    Example:
        >>> cluster_text({"cluster": {"gpu": "h200", "gpus": 16, "gpus_per_node": 8}})
        '16 x h200 (8 a node)'
        >>> cluster_text({"cluster": {"gpu": "h100-sxm", "gpus": 1, "gpus_per_node": 8},
        ...               "options": ["cluster.gpu=h100-sxm", "cluster.intra_node=1.8 TB/s", "cluster.engine=vllm"]})
        '1 x h100-sxm, intra_node 1.8 TB/s'
    """
    c = row["cluster"]
    swept = [o.removeprefix("cluster.").partition("=") for o in row.get("options") or ()]
    others = "".join(f", {k} {v}" for k, _, v in swept if k not in _SHOWN_FIELDS)
    return f"{c['gpus']} x {c['gpu']}" + (f" ({c['gpus_per_node']} a node)" if c["gpus_per_node"] < c["gpus"] else "") \
        + others + (f", {lent}'s profile" if (lent := borrowed_profile(row)) else "")



# a swept cluster field a row shows elsewhere: its GPU and count, its price (the rent column), its engine (its column)
_SHOWN_FIELDS = frozenset({"gpu", "gpus", "price", "engine"})


def close_text(rows: Sequence[dict[str, Any]], by: str) -> str:
    """The clusters within dagc's error of the best, as the terminal and fleet.md list them: each its GPUs, its
    engine — what tells two clusters of the same GPUs apart — and its cost with every GPU it rents charged
    (`rented_cost`: what the table shows and the fleet ranks by), `; ` between them.

    Example:
        >>> row = {"cluster": {"gpu": "b200", "gpus": 8, "gpus_per_node": 8, "engine": "vllm@0.33.0"},
        ...        "pick": {"gpus": 6}, "per_million_tokens": 0.6933}
        >>> close_text([row, {**row, "cluster": {**row["cluster"], "engine": "sglang@0.5.23"}}], "money")
        '8 x b200 on vllm@0.33.0 ($0.9244); 8 x b200 on sglang@0.5.23 ($0.9244)'
    """
    figure = _COSTS[0] if by == "money" else _COSTS[1]
    return "; ".join(f"{cluster_text(r)} on {r['cluster']['engine']} ({cost_figure(rented_cost(r, figure), by)})"
                     for r in rows)


def basis_words(row: dict[str, Any]) -> str:
    """What a cluster's cost per million tokens is charged to, as `dagc check` charges a plan's traffic
    (`dagc.serve.price`): ` on its goodput of 2 requests/s` — with mixes, ` on its goodput under each mix`.

    Example:
        >>> basis_words({"pick": {"load": {"goodput_requests_per_s": 2.0}}})
        ' on its goodput of 2 requests/s'
    """
    if row.get("mixes"):
        return " on its goodput under each mix"
    goodput = ((row.get("pick") or {}).get("load") or {}).get("goodput_requests_per_s")
    return "" if goodput is None else f" on its goodput of {format_figure(goodput)} requests/s"


def replicas_words(row: dict[str, Any]) -> str:
    """` (2 replicas, 128 requests in flight in all: --set workload.batch=128)` for a pick that is the replicas of a
    search's strategy (`dagc.search.at_rate.replicas_of`: each with its own batch), else ''.

    Example:
        >>> replicas_words({"pick": {"replicas": 2, "workload": {"batch": 128}}})
        ' (2 replicas, 128 requests in flight in all: --set workload.batch=128)'
    """
    pick = row.get("pick") or {}
    k, batch = pick.get("replicas", 1), (pick.get("workload") or {}).get("batch")
    if k <= 1 or batch is None:
        return ""
    return f" ({k} replicas, {batch:,} requests in flight in all: --set workload.batch={batch})"


# a larger cluster holding the best's own pick (`FleetResult.same_pick`), in words
SAME_PICK_WORDS = "one instance of it carries the traffic and the others idle"


def idle_instances(row: dict[str, Any]) -> str:
    """`2 instances, 1 idle`: the instances of its pick a cluster holding the best's own pick rents, and how many of
    them idle at the traffic — one instance carries it, as on the best's cluster (`FleetResult.same_pick`).

    Example:
        >>> idle_instances({"instances": 2}), idle_instances({"instances": 4})
        ('2 instances, 1 idle', '4 instances, 3 idle')
    """
    return f"{count_text(row['instances'], 'instance')}, {row['instances'] - 1:,} idle"


def rented_text(row: dict[str, Any], by: str) -> str:
    """` with all 16 GPUs it rents charged; $0.8319 on the 12 its pick uses (4 idle at this traffic)` for a cluster
    that rents more GPUs than its pick uses (the fleet ranks by the first, docs/fleet.md), else ''. With mixes, each
    mix's pick uses its own GPUs, and the cost on them is the mixes' weighted mean: ` with all 2 GPUs it rents
    charged; $0.1899 on the GPUs each mix's pick uses (mix "chat": 1, 1 idle at its traffic; mix "long": 2)` when a
    mix's pick leaves any idle.

    Example:
        >>> chat = {"mix": "chat", "pick": {"gpus": 1}}
        >>> row = {"cluster": {"gpus": 2}, "pick": {"gpus": 1}, "per_million_tokens": 0.19,
        ...        "mixes": [chat, {"mix": "long", "pick": {"gpus": 2}}]}
        >>> for part in rented_text(row, "money").split("; "):
        ...     print(part)
         with all 2 GPUs it rents charged
        $0.19 on the GPUs each mix's pick uses (mix "chat": 1, 1 idle at its traffic
        mix "long": 2)
    """
    gpus = row["cluster"]["gpus"]
    cost = row.get(_COSTS[0] if by == "money" else _COSTS[1])
    used = [(m["mix"], (m.get("pick") or {}).get("gpus") or gpus) for m in row["mixes"]] if row.get("mixes") \
        else [(None, row["pick"]["gpus"])]
    if all(gpus <= n for _, n in used) or cost is None:
        return ""
    head = f" with all {gpus} GPUs it rents charged; {cost_figure(cost, by)}"
    if used[0][0] is None:
        n = used[0][1]
        return f"{head} on the {n} its pick uses ({gpus - n} idle at this traffic)"
    each = "; ".join(f'mix "{mix}": {n}' + (f", {gpus - n} idle at its traffic" if n < gpus else "") for mix, n in used)
    return f"{head} on the GPUs each mix's pick uses ({each})"


def picks_text(row: dict[str, Any], code: Callable[[str], str] = str, name: Callable[[str], str] = str) -> str:
    """`tp 4 ; ep 4 on 4 GPUs`: a cluster's pick on its GPUs (its replicas, `replicas_words`); with mixes, each mix's:
    `tp 1 on 1 GPU under mix "chat", tp 2 on 2 GPUs under mix "long"` (`code` quotes a strategy and `name` writes a
    mix's name: fleet.md's, which make them inert in Markdown).

    Example:
        >>> row = {"pick": {"strategy": "tp 1", "gpus": 1}}
        >>> picks_text(row), picks_text({**row, "mixes": [{**row, "mix": "chat"},
        ...                                                {"mix": "long", "pick": {"strategy": "tp 2", "gpus": 2}}]})
        ('tp 1 on 1 GPU', 'tp 1 on 1 GPU under mix "chat", tp 2 on 2 GPUs under mix "long"')
    """
    def one(r: dict[str, Any]) -> str:
        pick = r.get("pick")
        if pick is None:
            return "no pick"
        return f"{code(pick['strategy'])} on {count_text(pick['gpus'], 'GPU')}{replicas_words(r)}"

    if not row.get("mixes"):
        return one(row)
    return ", ".join(f'{one(m)} under mix "{name(m["mix"])}"' for m in row["mixes"])


def strategy_cell(row: dict[str, Any], code: Callable[[str], str] = str, name: Callable[[str], str] = str) -> str:
    """A ranked row's strategy as its table shows it: its pick's (with mixes, the heaviest mix's, whose figures the
    row's other cells are), and each other mix's that picks another strategy on the cluster (`code` quotes one,
    `name` writes a mix's name).

    Example:
        >>> row = {"pick": {"strategy": "tp 1", "gpus": 1}, "mixes": [
        ...     {"mix": "chat", "weight": 0.8, "pick": {"strategy": "tp 1"}},
        ...     {"mix": "long", "weight": 0.2, "pick": {"strategy": "tp 2"}}]}
        >>> strategy_cell(row), strategy_cell({"pick": {"strategy": "tp 1"}})
        ('tp 1 (mix "chat"; tp 2 under mix "long")', 'tp 1')
    """
    shown = code(row["pick"]["strategy"])
    mixes = row.get("mixes") or ()
    heaviest = max(mixes, key=lambda m: m["weight"]) if mixes else None
    others = [m for m in mixes if m is not heaviest and (m.get("pick") or {}).get("strategy") not in
              (None, row["pick"]["strategy"])]
    if heaviest is None or not others:
        return shown
    return (f'{shown} (mix "{name(heaviest["mix"])}"; '
            + "; ".join(f'{code(m["pick"]["strategy"])} under mix "{name(m["mix"])}"' for m in others) + ")")


def missed_pick(row: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """The pick whose figures show why a cluster misses — with mixes, that of the first mix that misses, the one its
    `binding` names, not the heaviest mix's — and ` under mix "long"` to say whose (else '')."""
    missing = next((m for m in row.get("mixes") or () if not m.get("meets_requirements")), None)
    if missing is None:
        return row.get("pick"), ""
    return missing.get("pick"), f' under mix "{missing["mix"]}"'


def search_command(row: dict[str, Any], plan: str = "PLAN") -> str:
    """The `dagc search` command that gives a cluster's pick (with mixes, its heaviest mix's), on `plan` (a shell
    word, quoted by the caller; `PLAN` where the plan's path is not known, as in report files)."""
    m = max(row["mixes"], key=lambda m: m["weight"]) if row.get("mixes") else row
    # each --set a shell word, in single quotes as dagc's other commands print them (one holding a quote: shlex's)
    return f"dagc search {plan} --rate {m['rate_requests_per_s']:g} " + " ".join(
        "--set " + (shlex.quote(o) if "'" in o else f"'{o}'") for o in m["options"])


def rate_text(doc: dict[str, Any]) -> str:
    """`at 4 requests/s`, or with mixes `under 2 traffic mixes (chat, rag)`, from report.json's `fleet`."""
    if doc["mixes"]:
        return f"under each of {len(doc['mixes'])} traffic mixes ({', '.join(doc['mixes'])})"
    return f"at {doc['rate_requests_per_s']:,.10g} requests/s"


def rank_fleet(fleet: Fleet, answers: list[tuple[FleetPoint, dict[str, Any]]], objective: str,
               error_band_ratio: float | None = None) -> FleetResult:
    """The answers ranked (module docstring); each row is the cluster's answer with its `index`, `label`,
    `options` (the `--set` options that make the plan this cluster's) and `rate_requests_per_s`;
    `error_band_ratio` (`FleetResult.within_error`) names the runners-up dagc cannot tell from the best.

    Example:
        >>> a = {"meets_requirements": True, "per_million_tokens": 0.2, "gpu_hours_per_million_tokens": 0.1,
        ...      "rent_per_hour": 20.0, "pick": {"score": 5.0}}
        >>> b = {**a, "per_million_tokens": 0.1, "gpu_hours_per_million_tokens": 0.05}
        >>> p, q = FleetPoint(0, "h100-sxm", None, (), 0, rate=4.0), FleetPoint(1, "h200", None, (), 1, rate=4.0)
        >>> fleet = Fleet((), (), 4.0, None)          # no GPU type is read: no price, GPU-hours rank
        >>> [r["label"] for r in rank_fleet(fleet, [(p, a), (q, b)], "cost").ranked]
        ['h200', 'h100-sxm']
    """
    by = "money" if fleet.gpus and fleet.priced else "gpu-hours"
    figure = _COSTS[0] if by == "money" else _COSTS[1]
    groups: dict[int, list[tuple[FleetPoint, dict[str, Any]]]] = {}
    for p, a in answers:
        groups.setdefault(p.cluster, []).append((p, a))
    rows = [_row(members) for members in groups.values()]
    meeting = [r for r in rows if r.get("meets_requirements") and r.get(figure) is not None]

    def key(r: dict[str, Any]) -> tuple[float, float, float, float, int]:
        return (rented_cost(r, figure) or 0.0, r[figure], -((r.get("pick") or {}).get("score") or 0.0),
                r.get("rent_per_hour") or 0.0, r["index"])

    meeting.sort(key=key)
    chosen = {r["index"] for r in meeting}
    return FleetResult(by, tuple(meeting), tuple(r for r in rows if r["index"] not in chosen), objective,
                       tuple(m.name for m in fleet.mixes), error_band_ratio)


def _row(members: list[tuple[FleetPoint, dict[str, Any]]]) -> dict[str, Any]:
    """One cluster's row: its answer, or with mixes its mixes' answers combined (module docstring)."""
    p0 = members[0][0]
    head = {"index": p0.cluster, "label": p0.label, "options": list(p0.cluster_options)}
    if p0.mix is None:
        answer = members[0][1]
        return {**head, "options": list(p0.options), "rate_requests_per_s": p0.rate, **answer,
                **{_RENTED[k]: rented_cost(answer, k) for k in _COSTS}}
    mixes = [{"mix": p.mix, "weight": p.weight, "options": list(p.options), "rate_requests_per_s": p.rate, **a}
             for p, a in members]
    heaviest = max(mixes, key=lambda m: m["weight"])      # the first of the heaviest
    total = sum(m["weight"] for m in mixes)
    costs = {k: (sum(m["weight"] * m[k] for m in mixes) / total if all(m.get(k) is not None for m in mixes)
                 else None) for k in _COSTS}
    costs.update({_RENTED[k]: (sum(m["weight"] * (rented_cost(m, k) or 0.0) for m in mixes) / total
                               if costs[k] is not None else None) for k in _COSTS})
    missing = next((m for m in mixes if not m.get("meets_requirements")), None)
    why = missing or heaviest
    binding = why.get("binding") or why.get("failed") or why.get("note")
    return {**head, "rate_requests_per_s": heaviest["rate_requests_per_s"], "cluster": heaviest.get("cluster"),
            "meets_requirements": missing is None, "pick": heaviest.get("pick"),
            "instances": heaviest.get("instances"), **costs, "rent_per_hour": heaviest.get("rent_per_hour"),
            "binding": f'mix "{why["mix"]}": {binding}' if binding else None,
            **({"failed": f'mix "{missing["mix"]}": {missing["failed"]}'} if missing and missing.get("failed") else {}),
            "mixes": mixes}
