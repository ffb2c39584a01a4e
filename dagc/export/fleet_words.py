"""The fleet's answers in words: a cluster, its pick, its cost, why it misses, the clusters within dagc's error of
the best — as the terminal (`dagc.cli.print_fleet`) and fleet.md (`dagc.export.fleet_out`) say them.

Input: the rows of `dagc.fleet.rank.FleetResult` (report.json's `fleet`, JSON data: `dagc.export.fleet_json`).
Output: strings.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from typing import Any

from ..fleet.profiles import borrowed_profile
from ..fleet.rank import COSTS
from ..units import count_text, format_figure
from ..verdict.carrying import CAPACITY_TOLERANCE
from .at_rate import rate_arg

__all__ = ["CLOSE_WORDS", "SAME_PICK_WORDS", "TOKENS_COUNTED", "basis_words", "capacity_words", "close_text",
           "cluster_text", "cost_figure", "held_by_batch", "idle_instances", "missed_text", "picks_text", "rate_text",
           "rented_figure", "rented_text", "replicas_words", "search_command", "strategy_cell"]

# the tokens a cost per million tokens counts: each request's prompt and output (`dagc.serve.price.token_cost`), as
# `dagc check`'s Cost line says it; the headings say so (until 2026-11-30 a buyer could read them as output tokens,
# which API prices and serving benchmarks quote, 6× fewer for a prompt of 2,000 and an output of 400)
TOKENS_COUNTED = "input and output"


def rented_figure(row: dict[str, Any], figure: str) -> float | None:
    """A row's cost per million tokens (`figure`: money, or GPU-hours) with every GPU its cluster rents charged,
    as the ranking computed it (`dagc.fleet.rank.rented_cost`, report.json's `rented_…`)."""
    value: float | None = row[f"rented_{figure}"]
    return value


def missed_text(row: dict[str, Any]) -> str:
    """Why a cluster misses, in words: its failure, its note, `misses` and the requirement it misses first, or —
    when its pick does not carry the rate — that sentence as it stands (`does not carry 10 requests/s: …`)."""
    if why := row.get("failed") or row.get("note"):
        return str(why)
    binding = row.get("binding")
    if not binding:
        return "misses"
    return binding if binding.startswith("does not carry") else f"misses {binding}"


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
        + others + (f", {lent}'s profile" if (lent := borrowed_profile(c.get("kernel_profile"))) else "")


# a swept cluster field a row shows elsewhere: its GPU and count, its price (the rent column), its engine (its column)
_SHOWN_FIELDS = frozenset({"gpu", "gpus", "price", "engine"})


# why the clusters `FleetResult.within_error` names cannot be told from the best
CLOSE_WORDS = "their costs' 80 % bands, from their goodputs', overlap the best's: docs/bands.md"


def close_text(rows: Sequence[dict[str, Any]], by: str) -> str:
    """The clusters within dagc's error of the best, as the terminal and fleet.md list them: each its GPUs, its
    engine — what tells two clusters of the same GPUs apart — and its cost with every GPU it rents charged
    (`rented_cost`: what the table shows and the fleet ranks by), `; ` between them.

    Example:
        >>> row = {"cluster": {"gpu": "b200", "gpus": 8, "gpus_per_node": 8, "engine": "vllm@0.33.0"},
        ...        "pick": {"gpus": 6}, "per_million_tokens": 0.6933, "rented_per_million_tokens": 0.9244}
        >>> close_text([row, {**row, "cluster": {**row["cluster"], "engine": "sglang@0.5.23"}}], "money")
        '8 x b200 on vllm@0.33.0 ($0.9244); 8 x b200 on sglang@0.5.23 ($0.9244)'
    """
    figure = COSTS[0] if by == "money" else COSTS[1]
    return "; ".join(f"{cluster_text(r)} on {r['cluster']['engine']} ({cost_figure(rented_figure(r, figure), by)})"
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

    With mixes whose picks hold different counts, each mix's: `2 instances under mix "chat" and 4 under mix "long",
    all but one idle` (until 2026-11-30 the heaviest mix's alone, `2 instances, 1 idle`, where the other mix's pick on
    half the GPUs left 3 of 4 idle).

    Example:
        >>> idle_instances({"instances": 2}), idle_instances({"instances": 4})
        ('2 instances, 1 idle', '4 instances, 3 idle')
        >>> mixes = [{"mix": "chat", "instances": 2}, {"mix": "long", "instances": 4}]
        >>> idle_instances({"instances": 2, "mixes": mixes})
        '2 instances under mix "chat" and 4 under mix "long", all but one idle'
    """
    counts = [(m["mix"], m["instances"]) for m in row.get("mixes") or ()]
    if len({n for _, n in counts}) > 1:
        each = [f'{count_text(n, "instance") if k == 0 else f"{n:,}"} under mix "{mix}"'
                for k, (mix, n) in enumerate(counts)]
        return " and ".join(", ".join(each).rsplit(", ", 1)) + ", all but one idle"
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
    cost = row.get(COSTS[0] if by == "money" else COSTS[1])
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


def search_command(row: dict[str, Any], plan: str = "PLAN") -> str:
    """The `dagc search` command that gives a cluster's pick (with mixes, its heaviest mix's), on `plan` (a shell
    word, quoted by the caller; `PLAN` where the plan's path is not known, as in report files)."""
    m = max(row["mixes"], key=lambda m: m["weight"]) if row.get("mixes") else row
    # each --set a shell word as a user types it, quoted only where the shell needs it (`'cluster.price=2.5 $/h'`),
    # as `dagc search` prints its `check it:` line (until 2026-11-29 each was in single quotes); the rate whole, as
    # `dagc search` reads it back (`rate_arg`; until 2026-11-30 `{:g}`, which wrote 1.2345678 as 1.23457)
    return f"dagc search {plan} --rate {rate_arg(m['rate_requests_per_s'])} " + " ".join(
        "--set " + shlex.quote(o) for o in m["options"])


def rate_text(doc: dict[str, Any]) -> str:
    """`at 4 requests/s`, or with mixes `under 2 traffic mixes (chat, rag)`, from report.json's `fleet`."""
    if doc["mixes"]:
        return f"under each of {len(doc['mixes'])} traffic mixes ({', '.join(doc['mixes'])})"
    return f"at {doc['rate_requests_per_s']:,.10g} requests/s"



def capacity_words(row: dict[str, Any]) -> str:
    """`, capacity 5.383 requests/s`: the best's capacity, as the terminal's best line and fleet.md's sentence say it
    (none when not judged); bisected just below the arrival rate (`CAPACITY_TOLERANCE`), within it of the rate the
    deployment carries it, as `dagc check` judges it, and the words say so, the pick standing beside the lower figure.

    Example:
        >>> capacity_words({"capacity_requests_per_s": 5.956, "rate_requests_per_s": 6.0})
        ", capacity 5.956 requests/s (within the bisection's 1 % of the 6 requests/s arriving: carried, docs/load.md)"
        >>> capacity_words({"capacity_requests_per_s": 6.5, "rate_requests_per_s": 6.0}), capacity_words({})
        (', capacity 6.5 requests/s', '')
    """
    if (capacity := row.get("capacity_requests_per_s")) is None:
        return ""
    rate = row.get("rate_requests_per_s")
    within = "" if rate is None or not rate * (1 - CAPACITY_TOLERANCE) <= capacity < rate else (
        f" (within the bisection's {CAPACITY_TOLERANCE * 100:g} % of the {format_figure(rate)} requests/s arriving: "
        "carried, docs/load.md)")
    return f", capacity {format_figure(capacity)} requests/s{within}"


def held_by_batch(best: dict[str, Any], missed: Sequence[dict[str, Any]]) -> str | None:
    """The clusters cheaper to rent than the best that miss by their cap on requests in flight, which a larger batch
    lifts (their load's `binding`, as their `not meeting:` line says it): the ranking is at the plan's batch, and one
    of them may be the pick at another. Qwen3-30B-A3B at 50 requests/s with a batch of 128: 8 H100s ranked first at
    $19.92/h while 4 H200s ($13.96/h) missed by their cap, and `batch = max` picked 4 H100s at half the best's cost.
    None when there is none, or no rent to compare.

    Example:
        >>> load = {"binding": {"limit": "requests_in_flight", "missed_latencies": ["ttft"]}}
        >>> row = {"cluster": {"gpu": "h200", "gpus": 4, "gpus_per_node": 8}, "rent_per_hour": 13.96,
        ...        "pick": {"load": load}}
        >>> held_by_batch({"rent_per_hour": 19.92}, [row])[:92]
        "cheaper to rent than the best ($19.92/h), held back by the plan's batch: 4 x h200 ($13.96/h)"
    """
    rent = best.get("rent_per_hour")
    held = [r for r in missed if rent is not None and _batch_lifts(r) and (r.get("rent_per_hour") or rent) < rent]
    if rent is None or not held:
        return None
    # the engine where the fleet sweeps it: `8 x h200` alone is either engine's cluster (until 2026-11-30)
    names = ", ".join(f"{cluster_text(r)}{_swept_engine(r)} (${format_figure(r['rent_per_hour'])}/h)" for r in held)
    return (f"cheaper to rent than the best (${format_figure(rent)}/h), held back by the plan's batch: {names} "
            f"{'misses' if len(held) == 1 else 'each miss'} by the cap on requests in flight, which a larger batch "
            "lifts; the clusters are ranked at the plan's batch — `batch = max` in the workload judges each strategy "
            "at the largest batch it serves, and may pick a cheaper cluster")


def _swept_engine(row: dict[str, Any]) -> str:
    """` on vllm@0.33.0` for a cluster of a fleet that sweeps its engine (`cluster.engine=` among its options), else
    nothing: the engine tells two clusters of the same GPUs apart where the table's engine column is not beside it."""
    swept = any(o.startswith("cluster.engine=") for o in row.get("options") or ())
    return f" on {row['cluster']['engine']}" if swept else ""


def _batch_lifts(row: dict[str, Any]) -> bool:
    """Whether a cluster's pick misses by its cap on requests in flight, and a larger batch lifts it: no TPOT or ITL
    percentile missed, which more requests in flight would lengthen (`dagc.export.binding_text._cap_lift`)."""
    b = ((row.get("pick") or {}).get("load") or {}).get("binding") or {}
    return b.get("limit") == "requests_in_flight" and not {"tpot", "itl"} & set(b.get("missed_latencies") or ())
