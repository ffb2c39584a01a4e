"""Step prices and runs shared by the checks one process makes of the same strategy on the same deployment.

Input: a strategy's `StepPrices` (`shared_prices`), or a run of a plan's traffic through a strategy
(`shared_load`). Output: the prices already made for the same model, cluster hardware (`hardware`: whatever
the cluster's count of GPUs and price, which no step reads), workload (whatever its batch and traffic: a step
is priced at its own count of requests in flight, `StepPrices._at`) and strategy, each step priced once over
all those checks — and over every count of the strategy's replicas (`_replica_key`: a step is priced on
one); the `Load` of an identical run (the same model, cluster hardware, workload with its
traffic, and strategy: a run is a deterministic function of them, seeded) made once.

What shares them: `dagc check` judges a strategy under the traffic, then the search it runs for the
optimal verdict judges its best candidates the same way (`dagc.search.under_traffic`) — often the plan's own
strategies — and the next steps re-check a strategy at another batch (`dagc.verdict.next_steps`); all of it
in one process; and `dagc fleet`, whose clusters of one GPU type at each count check the same strategies; and
`dagc calibrate`, whose sets of engine terms that differ only in the front end's time (`EngineTerms.frontend_s`,
which no step reads: a client's TTFT adds it after the steps, `Load.ttft`) make the same steps and runs but for
it. The memo keeps the last `KEEP_PRICES` prices and the last runs of at most `LOAD_REQUESTS` requests each, up
to `KEEP_LOADS` runs and `KEEP_LOAD_REQUESTS` requests together; `cache_clear` forgets them (as a new process
would).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace

from ..layout.layout import Layout
from ..plan.cluster import Cluster, hardware
from ..plan.plan import Plan
from ..plan.strategy import Strategy
from ..plan.workload import Workload
from .load_result import Load
from .step_prices import StepPrices
from .watch import Missed

__all__ = ["KEEP_LOADS", "KEEP_LOAD_REQUESTS", "KEEP_PRICES", "LOAD_REQUESTS", "cache_clear", "shared_load",
           "shared_prices"]

KEEP_PRICES = 128       # strategies' step prices kept (a fleet's GPU type checks some 60 strategies)
KEEP_LOADS = 256        # runs kept (a capacity's are 2,000 requests each)
KEEP_LOAD_REQUESTS = 1_000_000   # their requests together: ~100 MB (a run's arrays are ~100 bytes a request)
LOAD_REQUESTS = 100_000  # the longest run kept, in requests


class _Lru:
    """The last `keep` values by key, of `weight` together at most (each value's weight given to `put`)."""

    def __init__(self, keep: int, weight: int | None = None) -> None:
        self.keep, self.weight = keep, weight
        self.values: OrderedDict[Hashable, object] = OrderedDict()
        self.weights: dict[Hashable, int] = {}

    def get(self, key: Hashable) -> object | None:
        value = self.values.get(key)
        if value is not None:
            self.values.move_to_end(key)
        return value

    def put(self, key: Hashable, value: object, weight: int = 1) -> None:
        self.values[key] = value
        self.weights[key] = weight
        self.values.move_to_end(key)
        while len(self.values) > self.keep or (self.weight is not None and len(self.values) > 1
                                                and sum(self.weights.values()) > self.weight):
            old, _ = self.values.popitem(last=False)
            del self.weights[old]

    def clear(self) -> None:
        self.values.clear()
        self.weights.clear()


_MISSED = object()          # a watched run's verdict, kept in place of its `Load` (`shared_load`)
_PRICES = _Lru(KEEP_PRICES)
_REPLICAS = _Lru(KEEP_PRICES)     # `StepPrices.cache` by `_replica_key`: one replica's steps, of any count of them
_LOADS = _Lru(KEEP_LOADS, KEEP_LOAD_REQUESTS)


def cache_clear() -> None:
    """Forget every price and run kept."""
    _PRICES.clear()
    _REPLICAS.clear()
    _LOADS.clear()


@dataclass(frozen=True)
class _Deployment:
    """What the steps and runs of a strategy read of its plan beside the model, made once for the keys they are
    kept by (`_deployment`): the cluster's hardware but the engine's front-end times (`hardware`: no step reads
    `frontend_s`, which no run reads but to add it to each client's TTFT and latency, `Load.frontend_s`, nor
    `ingest_s`, which a run's key holds apart), the workload the strategy runs (`Strategy.workload_for`), its
    micro-batches as requested of the layout (`with microbatches 1` and the default of one a stage run the same
    steps), and the strategy by its degrees (its name, text and execution options apart: the workload holds
    those; and where the plan's text says it apart)."""

    hardware: Cluster
    workload: Workload
    strategy: str

    @property
    def steps(self) -> Workload:
        """The workload but its batch and traffic: each step names its own requests."""
        return self.workload.model_copy(
            update={"traffic": None, "batch": 0, "batch_max": False, "batch_note": None, "batch_breaks": None})


def _deployment(plan: Plan, strategy: Strategy, lay: Layout) -> _Deployment:
    """The `_Deployment` of a strategy of `plan` laid out as `lay`."""
    key = _strategy_key(strategy)
    c = hardware(plan.cluster)
    w = strategy.workload_for(plan.workload)
    terms = c.engine.terms.model_copy(update={"frontend_s": 0.0, "ingest_s": 0.0})
    return _Deployment(c.model_copy(update={"engine": c.engine.model_copy(update={"terms": terms})}),
                       w.model_copy(update={"microbatches": lay.microbatches_requested or lay.microbatches}), key)


def _prices_key(plan: Plan, d: _Deployment) -> Hashable:
    """What a strategy's step prices depend on: the model, the cluster, the workload the strategy runs but
    its batch and traffic (each step names its own requests), the strategy's degrees."""
    return plan.model, d.hardware, d.steps, d.strategy


def _strategy_key(strategy: Strategy) -> str:
    """A strategy by its degrees (`_Deployment.strategy`)."""
    return strategy.model_dump_json(exclude={"name", "text", "microbatches", "overlap"})


def _replica_key(plan: Plan, strategy: Strategy, lay: Layout, d: _Deployment) -> Hashable | None:
    """What one replica's step prices depend on (`_prices_key` with the strategy's data-parallel replicas left
    out, and the replica's attention-DP ranks and GPUs kept), None when the strategy's degrees do not say its
    replicas apart (its `dp` is not the layout's replicas) or a replica sits in its nodes otherwise than the
    first does. A step is priced per replica, at the requests in flight on it (`StepPrices._at`: the batch `n`
    × dp laid out again): `dp 2 < S >` runs each step of `S` at the same requests on half the batch, the very
    prices (tests/test_shared_prices.py), so that a next step that replicates a strategy (`dagc.verdict.next_steps`)
    or a search's candidate that is a replica of one checked shares its prices."""
    span = lay.pp * lay.group_size             # a replica's GPUs, one after the other
    if strategy.dp != lay.dp or strategy.pools or (span % lay.gpus_per_node and lay.gpus_per_node % span):
        return None
    one = strategy.model_copy(update={"dp": 1})
    return plan.model, d.hardware, d.steps, _strategy_key(one), lay.adp, lay.group_size, lay.pp


def shared_prices(prices: StepPrices) -> StepPrices:
    """The prices kept for the same deployment and strategy as `prices` (module docstring), else `prices`,
    kept from now on.

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> from dagc.verdict.check import check
        >>> plan = load_plan_text('model preset "qwen3-30b-a3b" cluster { gpus = 8 gpu preset "h200" } '
        ...     'workload { batch = 64 prompt = 4000 generate = 500 serving = inflight } strategy tp 8')
        >>> r = check(plan)[0]
        >>> first = shared_prices(StepPrices(r.plan, r.strategy, r.layout))
        >>> smaller = r.plan.model_copy(update={"workload": r.plan.workload.model_copy(update={"batch": 16})})
        >>> shared_prices(StepPrices(smaller, r.strategy, r.layout)) is first     # another batch: the same steps
        True
    """
    d = _deployment(prices.plan, prices.strategy, prices.lay)
    key = _prices_key(prices.plan, d)
    kept = _PRICES.get(key)
    if isinstance(kept, StepPrices):
        return kept
    replica = _replica_key(prices.plan, prices.strategy, prices.lay, d)
    if replica is not None:                 # the steps of its replicas' kind, priced once (`_replica_key`)
        steps = _REPLICAS.get(replica)
        if isinstance(steps, dict):
            prices.cache = steps
        else:
            _REPLICAS.put(replica, prices.cache)
    _PRICES.put(key, prices)
    return prices


def shared_load(plan: Plan, strategy: Strategy, lay: Layout, run: Callable[[], Load], watched: bool = False,
                sized: Hashable = None) -> Load:
    """The run of `plan`'s traffic through `strategy` (laid out as `lay`) that `run` makes, made once for
    identical ones (module docstring): at another front-end time, the same run with the plan's. A `watched` run
    (`dagc.serve.load.simulate`, `dagc.serve.load_pools.simulate_pools`) that stopped, raising `Missed`, is kept as
    that verdict: an identical watched run raises it again, an unwatched one is made whole; one that ran whole,
    without the timeline a watched run leaves out, serves identical watched runs alone. `sized`: what the run reads
    of the deployment as its check sized it beside the plan — a rank's KV cache in tokens, a disaggregated
    strategy's requests a decode instance admits —, part of what makes two runs identical."""
    traffic = plan.workload.traffic
    if traffic is None or traffic.requests > LOAD_REQUESTS:
        return run()
    # a watched run's verdict reads the percentile requirements and every client's TTFT: the front end's time in it
    verdict = (plan.cluster.engine.terms.frontend_s, tuple((r.kind, r.op, r.target, r.percentile)
                                                           for r in plan.requirements if r.percentile is not None))
    d = _deployment(plan, strategy, lay)
    key = (plan.model, d.hardware, plan.cluster.engine.terms.ingest_s, d.workload, d.strategy, sized,
           verdict if watched else None)
    kept = _LOADS.get(key[:-1])
    if isinstance(kept, Load):
        terms = plan.cluster.engine.terms          # a run with no front-end queue adds a request's own `ingest_s`
        frontend_s = terms.frontend_alone_s if kept.static or kept.prefill_instances else terms.frontend_s
        return kept if kept.frontend_s == frontend_s else replace(kept, frontend_s=frontend_s)
    if watched:
        kept = _LOADS.get(key)
        if kept is _MISSED:
            raise Missed
        if isinstance(kept, Load):
            return kept
    try:
        load = run()
    except Missed:
        _LOADS.put(key, _MISSED)
        raise
    # a watched run records no timeline (`dagc.serve.load.simulate`): kept for watched runs alone
    _LOADS.put(key if watched else key[:-1], load, traffic.requests)
    return load
