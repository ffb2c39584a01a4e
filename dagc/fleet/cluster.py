"""One cluster of a fleet: what `dagc search PLAN --rate R` runs on it, and its pick.

Input: the cluster's `Plan` (the fleet's plan read with the point's `--set` options), the arrival rate and
what the cluster is asked (`Ask`): how many of the search's rows are shown (`top`, as `dagc search --top`) and
how its pick is written as JSON (`pick_json`, `dagc.export.search_json.at_rate_json`: the fleet carries the
exporter it is given, and writes no result as JSON of its own). Output: the cluster's answer as
a `StoredAnswer` (`answer_cluster`), the same whichever process or machine computes it: the search
(`dagc.search.search.search`), the best judged under the plan's traffic (`judge_under_traffic`), the shown
rows re-scored exactly (`exact_shown`) and the best simulated at the rate, ranked by goodput per GPU
(`dagc.search.at_rate.rank_at_rate`) — `dagc search --rate`'s route, not another. The cluster's pick is the
first of that ranking that meets every requirement, the load's included; without one, the first, which
says what it misses.

What a million tokens cost on the pick: its instance's GPUs (the strategy's, `gpus`) for the time they take
to serve them within the requirements — goodput (requests/s) times a request's prompt and generated tokens, the
workload's, or with a request log the mean of its simulated requests (`dagc.serve.price.request_tokens`) — at
the GPU type's price (`dagc.serve.price.token_cost`, as `dagc check` prices a plan's traffic). The cluster's other
GPUs hold `instances` - 1 more copies of it, each able to take as much traffic again; their rent is `rent_per_hour`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..cost.cost_model import cost_basis
from ..diagnostics import PlanError
from ..lang.load import parse_strategy
from ..launch.engine_check import plan_refusals
from ..plan.plan import Plan
from ..plan.workload import Traffic
from ..rules.weights_fit import weights_beyond_cluster
from ..schedule.timer import shared_timer
from ..search.at_rate import AtRate, RankedAtRate, plan_at_rate, rank_at_rate, rate_work_events, with_capacity
from ..search.rejections import legal_line
from ..search.search import SearchOptions, SearchResult, search
from ..search.shown import exact_shown
from ..search.under_traffic import check_candidate, judge_under_traffic, judged_under_traffic
from ..serve.binding import Binding, Limit
from ..serve.price import request_tokens, token_cost
from ..units import count_text, format_figure, said_list
from ..verdict.carrying import NEEDS_LEAD, faster_weights
from ..verdict.check import StrategyResult, check_strategy
from ..verdict.under_load import capacity_requests
from .stored import StoredAnswer, parse_answer

if TYPE_CHECKING:
    from ..jsontypes import JSON, JSONObject
    from ..search.result import Candidate

__all__ = ["QUEUE_BATCHES", "SEARCH_TOP", "Ask", "Carry", "answer_cluster", "cap_binds", "cluster_json",
           "failed_answer", "judged_batch", "pick_missed", "queues"]

SEARCH_TOP = 10        # the search's rows shown and re-scored exactly: `dagc search`'s default `--top`
QUEUE_BATCHES = 2      # a run of more batches than this can queue (`queues`); one of fewer is judged again


@dataclass(frozen=True)
class Ask:
    """What each cluster of a sweep is asked (`answer_cluster`): its pick written as JSON by `pick_json` — the row of
    `dagc search --rate`, `dagc.export.search_json.at_rate_json`, handed down by the command so that results become
    JSON in `dagc.export` alone, and carried to worker processes and Ray with the plan — and its search's rows shown
    and re-scored exactly (`top`, as `dagc search --top`)."""

    pick_json: Callable[[AtRate], Mapping[str, object]]
    top: int = SEARCH_TOP


def cluster_json(plan: Plan) -> JSONObject:
    """The cluster in report.json's words: GPU type, count, GPUs a node, engine, price, and the kernel profile its
    times rest on (`dagc.cost.cost_model.cost_basis`: `h200@mi300x`, another GPU's at this one's peaks, when the GPU
    has no profile of its own; None for the constant-efficiency roofline)."""
    c = plan.cluster
    return {"gpu": c.gpu.name, "gpus": c.gpus, "gpus_per_node": c.gpus_per_node, "engine": _engine(plan),
            "price_per_gpu_hour": c.price_per_gpu_hour, "kernel_profile": cost_basis(c)["kernel_profile"]}


def answer_cluster(plan: Plan, rate: float, ask: Ask) -> StoredAnswer:
    """The cluster's search at `rate` requests/s and its pick (module docstring), as a results file gives it
    back (`_stored`): the pick as `ask.pick_json` writes it, its search's `ask.top` rows re-scored.

    Fields: `cluster`, `searched` (candidates evaluated), `simulated`, `meets_requirements`, `pick` (the
    at-rate row: strategy, GPUs, metrics, load, goodput per GPU; None when none was simulated), `instances`,
    `tokens_per_s`, `gpu_hours_per_million_tokens`, `per_million_tokens` (None without a price),
    `rent_per_hour`, `binding` (the pick's requirement with the least margin, or the first it misses) and
    `note` (why nothing was simulated, else None).
    """
    # the timer of every count of this GPU type in this process: each op priced once (`shared_timer`)
    top = ask.top
    found = search(plan, SearchOptions(objective=plan.objective, top=top, jobs=1, timer=shared_timer(plan)))
    if judged_under_traffic(plan):
        found = judge_under_traffic(plan, found, max(top, 1))
    found = exact_shown(plan, found, top)
    out: JSONObject = {"cluster": cluster_json(plan), "searched": found.evaluated, "simulated": 0,
           "meets_requirements": False, "pick": None, "instances": None, "tokens_per_s": None,
           "gpu_hours_per_million_tokens": None, "per_million_tokens": None,
           "rent_per_hour": _rent(plan), "binding": None, "note": None, "carry_check_requests": None,
           "carry_check_rejected": 0}
    if not found.ranked:
        out["note"] = f"no legal strategy on {count_text(plan.cluster.gpus, 'GPU')}: " + _none_because(plan, found)
        return _stored(out)
    events, budget = rate_work_events(plan, found), plan.load_budget_events
    if budget is not None and events > budget:
        out["note"] = (f"not simulated: the best strategies' runs would take about {events:,} engine events, past "
                       f"the load's work budget of {budget:,} (W518)")
        return _stored(out)
    at = rank_at_rate(plan, found, rate)
    out["simulated"] = len(at.ranked)
    if not at.ranked:
        out["note"] = "no strategy could be simulated at the rate"
        return _stored(out)
    pick, carry = _pick(plan, at, rate)
    c = pick.candidate
    w = plan.workload               # charged to its goodput at the rate, as `dagc check` charges a plan's traffic
    prompt, generate = request_tokens(pick.load.load, w.prompt, w.generate)     # a request log's own lengths
    cost = token_cost(None, plan.cluster.price_per_gpu_hour, prompt, generate,
                      pick.load.figures.goodput_requests_per_s, c.gpus)
    missed = pick_missed(plan, c)
    if carry.missed is not None:            # it met every requirement on a run too short to queue, not on a long one
        missed = (carry.missed,)
    elif not pick.load.carries_traffic and pick.load.not_carried_because:     # its load lines held, the rate not
        because = pick.load.not_carried_because
        lifts = cap_binds(pick.load.binding, rate, c.replicas, because.startswith(NEEDS_LEAD), faster_weights(plan))
        missed = (f"does not carry {rate:,.10g} requests/s: {because}{lifts}",)
    pick_json: JSON = json.loads(json.dumps(ask.pick_json(pick), allow_nan=False))
    out.update({"meets_requirements": bool(c.meets_requirements) and carry.missed is None, "pick": pick_json,
                "carry_check_requests": carry.requests, "carry_check_rejected": carry.rejected,
                "instances": plan.cluster.gpus // c.gpus, "tokens_per_s": cost["tokens_per_s"],
                "gpu_hours_per_million_tokens": cost["gpu_hours_per_million_tokens"],
                "per_million_tokens": cost["per_million_tokens"],
                "binding": missed[0] if missed else c.binding})
    return _stored(out)


def pick_missed(plan: Plan, c: Candidate) -> tuple[str, ...]:
    """The requirements a cluster's pick misses, the first said (the answer's `binding`): its load lines, the first
    with the steady state's lines it misses too (`ttft_p99 <= 10 ms and decode_throughput >= 100 tokens/ms/gpu`; until
    2026-12-01 the load line alone, as if relaxing it were enough), else its binding line."""
    if not c.load_missed:
        return (c.binding,) if c.binding and not c.meets_requirements else ()
    others = [r.text for r in plan.requirements if not r.on_load and r.name in c.others_missed]
    return (said_list([c.load_missed[0], *others]), *c.load_missed[1:])


def _stored(answer: JSONObject) -> StoredAnswer:
    """An answer's JSON data as a results file gives it back (`dagc.fleet.results_file`): passed through JSON —
    tuples as lists, no NaN — and read as a resumed answer is read (`parse_answer`), so that a sweep's answers and
    ranking are the same fresh and resumed, in this process, in a worker and on Ray."""
    return parse_answer(json.loads(json.dumps(answer, allow_nan=False)))


@dataclass(frozen=True)
class Carry:
    """Whether the pick carries the rate, when its traffic's run was too short to tell (`_pick`): the requests of
    the run that judged it (None: the traffic's own run could queue, `queues`), how many candidates met every
    requirement on the short run but not on that one, and why the pick does not carry the rate (None: it does)."""

    requests: int | None = None
    rejected: int = 0
    missed: str | None = None


def queues(plan: Plan, batch: int | None = None, traffic: Traffic | None = None) -> bool:
    """Whether the traffic's run (`traffic`, else the workload's) can tell a deployment that carries its rate
    from one that does not: more than `QUEUE_BATCHES` batches of requests (`batch`: a candidate's own, else the
    workload's). With fewer, the engine admits nearly every request as it arrives, no queue forms, and a
    deployment whose capacity is below the arrival rate meets every percentile target (docs/fleet.md, "One
    cluster: its pick")."""
    traffic = traffic or plan.workload.traffic
    return traffic is not None and traffic.requests > QUEUE_BATCHES * (batch or plan.workload.batch)


def _pick(plan: Plan, at: RankedAtRate, rate: float) -> tuple[AtRate, Carry]:
    """The first of the at-rate ranking that meets every requirement and carries the rate; without one, the
    first, with what it misses. Where the traffic's run cannot queue (`queues`), a candidate meeting every
    requirement on it is judged again as the capacity judges a rate (`dagc.verdict.under_load.capacity`):
    `capacity_requests` requests arriving at `rate`, meeting every requirement without overloading it."""
    rejected, first_missed, n = 0, None, None
    # the traffic the ranking ran at the rate: the plan's, else `search --rate`'s default arrivals (a workload
    # without traffic, its rate the fleet's)
    traffic = at.traffic
    for a in at.ranked:
        if not a.candidate.meets_requirements or not a.load.carries_traffic:
            continue
        if queues(plan, a.candidate.batch, traffic):
            # a run that keeps pace may still lie above its capacity, which `dagc check` judges: the ranking
            # judged its first few so (`dagc.search.at_rate._verified`), not necessarily this one
            judged = with_capacity(plan.model_copy(update={"workload": plan.workload.model_copy(
                update={"traffic": traffic})}), a, plan.objective)
            why = _short_of(judged, rate, faster_weights(plan))
            if why is None and judged is not None:
                return judged, Carry(n, rejected)
            rejected += 1
            first_missed = first_missed or (judged or a, why or "")
            continue
        n = capacity_requests(traffic)
        long = traffic.at_rate(rate).model_copy(update={"requests": n})
        r = check_candidate(plan.model_copy(update={"workload": plan.workload.model_copy(update={"traffic": long})}),
                            a.candidate)
        why = _not_carried(r, rate, n)
        if why is None:
            return a, Carry(n, rejected)
        rejected += 1
        first_missed = first_missed or (a, why)
    if first_missed is not None:
        return first_missed[0], Carry(n, rejected, first_missed[1])
    return at.ranked[0], Carry()


def _short_of(judged: AtRate | None, rate: float, faster: str | None) -> str | None:
    """Why a run judged with its capacity (`with_capacity`) does not carry `rate` and meet every requirement, as
    `dagc check` says it (`faster`: the weights that would make its steps faster, `cap_binds`); None when it does."""
    head = f"does not carry {rate:,.10g} requests/s"
    if judged is None:
        return f"{head}: not simulated"
    if not judged.load.carries_traffic:
        because = f": {judged.load.not_carried_because}" if judged.load.not_carried_because else ""
        said = (judged.load.not_carried_because or "").startswith(NEEDS_LEAD)
        return f"{head}{because}{cap_binds(judged.load.binding, rate, judged.candidate.replicas, said, faster)}"
    if not judged.candidate.meets_requirements:
        missed = [q.requirement.text for q in judged.requirements if q.met is not True]
        return f"misses {', '.join(missed)}" if missed else "misses a requirement"
    return None


def _not_carried(r: StrategyResult | str, rate: float, n: int) -> str | None:
    """Why the long run `r` (`_pick`) says its strategy does not carry `rate`; None when it does."""
    head = f"does not carry {rate:,.10g} requests/s over {n:,} requests"
    if isinstance(r, str) or r.load is None:
        return f"{head}: not simulated"
    if r.load.not_carried_because:         # its queue's growth (`dagc.verdict.under_load`)
        return f"{head}: {r.load.not_carried_because}"
    if r.load.figures.overloaded:
        return f"{head}: its queue keeps growing"
    if r.verdict.meets_requirements is not True:
        missed = [q.requirement.text for q in r.requirements if q.met is not True]
        return f"{head}: misses {', '.join(missed)}" if missed else head
    return None


def cap_binds(b: Binding, rate: float, replicas: int = 1, need_said: bool = False, faster: str | None = None) -> str:
    """What a pick that does not carry the rate says of its cap on requests in flight when that is what binds it
    (`Limit.REQUESTS_IN_FLIGHT`: every cluster is judged at the plan's batch, a cluster holding k copies of a
    strategy at k times it, `replicas`): the cap, what Little's law needs, and what lifts it; else nothing. With
    `need_said` (the reason before it gave the cap and Little's law's need, `NEEDS_LEAD`), whose cap it is and what
    lifts it alone: the 32-GPU row of a fleet read both "it needs ≈ 715 … more than its cap of 512" and "bound by its
    cap of 512 requests in flight (the plan's batch), where ≈ 715.2 are needed". `faster`: the weights that would
    make its steps faster (`dagc.export.binding_text.faster_weights`), None when none would — as `dagc check` words
    the same binding (until 2026-11-30 "faster steps (8-bit weights)" was said of DeepSeek-V3's fp8 weights too).

    Example:
        >>> from dagc.serve.binding import Limit
        >>> b = Binding(Limit.REQUESTS_IN_FLIGHT, 64, 63.7, 63.7, 32.5, 1.2, 5.0, 0.04, 0.04, 0.04, 0, 6.0, 80.2,
        ...             None, None, None, None, None, None)
        >>> for part in cap_binds(b, 6.0).split(", "):
        ...     print(part)
        ; bound by its cap of 64 requests in flight (the plan's batch)
        where ≈ 80.2 are needed at 6 requests/s: a larger batch
        or `batch = max`
        lifts it
        >>> from dataclasses import replace
        >>> cap_binds(replace(b, cap=384), 6.0, replicas=6)[:68]
        '; bound by its cap of 384 requests in flight (6 replicas of 64 each)'
        >>> cap_binds(replace(b, little_concurrency=57.71), 6.0).split(", ")[1]     # fewer than the cap, on average
        'where ≈ 57.71 are needed at 6 requests/s — under the cap on average: it binds when arrivals bunch: a \
larger batch'
    """
    if b.limit is not Limit.REQUESTS_IN_FLIGHT or b.cap is None:
        return ""
    whose = "the plan's batch" if replicas <= 1 else f"{replicas} replicas of {b.cap // replicas:,} each"
    need = f", where ≈ {format_figure(b.little_concurrency)} are needed at {rate:,.10g} requests/s" \
        if b.little_concurrency is not None and not need_said else ""
    if need and b.little_concurrency is not None and b.little_concurrency < b.cap:      # as `dagc check` says it
        need += " — under the cap on average: it binds when arrivals bunch"
    lead = f"; that cap is {whose}" if need_said else f"; bound by its cap of {b.cap:,} requests in flight ({whose})"
    if b.per_token_missed:
        late = [m.upper() for m in b.missed if m in ("tpot", "itl")]
        steps = f"more GPUs, a faster strategy, or faster steps ({faster})" if faster else \
            "more GPUs or a faster strategy"
        return (f"{lead}{need}, but a larger batch "
                f"lengthens every step and its {' and '.join(late)} already {'misses' if len(late) == 1 else 'miss'}"
                f": a larger batch alone cannot meet it — {steps} with it")
    return f"{lead}{need}: a larger batch, or `batch = max`, lifts it"


def failed_answer(plan: Plan, reason: str) -> StoredAnswer:
    """The answer of a cluster whose search did not finish (a worker that died twice, or an error)."""
    return _stored({"cluster": cluster_json(plan), "meets_requirements": False, "pick": None, "failed": reason})


def _none_because(plan: Plan, found: SearchResult) -> str:
    """Why the search found no strategy, when the engine refuses the plan whatever the strategy (E728: its GPU's
    maker; E729: NVFP4 before Blackwell; E706: MTP drafting without MTP weights;
    `dagc.launch.engine_check.plan_refusals`) — as `dagc search` says it, not its hint, which names the plan's
    `cluster`, not the fleet's list — else the rules that rejected its candidates, most first, and how many each
    (`dagc.search.rejections`; `dagc search` gives each one's first candidate and hint). A cluster whose GPUs
    cannot hold the model's weights whatever the strategy says so with E402's hint, how many GPUs of its kind would
    (`weights_beyond_cluster`; until 2026-11-30 a count too small for the model read only "E402 (…) 34")."""
    refused = plan_refusals(plan)
    if refused:
        return "; ".join(f"{d.message} ({d.code})" for d in refused)
    beyond = weights_beyond_cluster(plan, plan.cluster.gpu.memory_bytes, plan.cluster.reserve_bytes)
    if not found.rejected_by:
        return beyond or "the search found none (dagc search says why)"
    line = legal_line(found.rejected_by, found.legal, found.evaluated, found.complete)
    return f"{line} — {beyond}" if beyond else f"{line} (`dagc search` gives an example of each, with its hint)"


def _engine(plan: Plan) -> str:
    e = plan.cluster.engine
    name = getattr(e.name, "value", e.name)
    return f"{name}@{e.release}" if e.release else str(name)


def _rent(plan: Plan) -> float | None:
    price = plan.cluster.price_per_gpu_hour
    return None if price is None else price * plan.cluster.gpus


def judged_batch(pick: Mapping[str, object]) -> int | None:
    """The batch a cluster's pick (its answer's `pick` row) was judged at beside its strategy's text: the batch of
    its replicas together when it is k copies of a search's strategy (`dagc.search.at_rate.replicas_of`, k times
    the batch each was searched at, as `--set workload.batch`), else None — the plan's own. Its capacity is the
    capacity at this batch (`pick_capacity`): the same text at the plan's batch is another deployment, each of its
    instances holding 1/k of the requests in flight.

    Example:
        >>> judged_batch({"replicas": 2, "workload": {"batch": 128}}), judged_batch({"workload": {"batch": 64}})
        (128, None)
    """
    replicas, workload = pick.get("replicas", 1), pick.get("workload")
    if not isinstance(replicas, int) or replicas <= 1 or not isinstance(workload, dict):
        return None
    batch = workload.get("batch")
    return batch if isinstance(batch, int) else None


def pick_capacity(plan: Plan, strategy: str, batch: int | None = None, rate: float | None = None) -> float | None:
    """The capacity (requests/s) of a cluster's pick — its strategy's text on the cluster's plan, with `batch`
    when given (the replicas of a search's strategy: `Candidate.replicas`, as `--set workload.batch`, which
    `judged_batch` reads from the pick), under its traffic at the fleet's `rate` when given (`plan_at_rate`, as the
    search ran it: until 2026-12-03 a plan whose rate the fleet alone writes was checked without traffic, and the
    best line had no capacity) — as `dagc check --strategy` bisects it (`dagc.verdict.under_load.capacity`): the
    highest arrival rate at which its percentile requirements hold and its queue keeps pace; None when not judged
    (past the work budget) or when the text does not check."""
    try:
        decl = parse_strategy(strategy)
    except PlanError:
        return None
    if rate is not None:
        plan = plan_at_rate(plan, rate)
    if batch is not None:
        plan = plan.model_copy(update={"workload": plan.workload.model_copy(update={"batch": batch,
                                                                                    "batch_max": False})})
    r = check_strategy(plan, decl)
    return None if r.load is None else r.load.capacity_requests_per_s
