"""The typed plan: what a `.moe` file means, as frozen pydantic models.

Input: nothing (these are the types). Output: `Plan`, produced by `dagc.lang.lower`, which
holds the plan's parts: `Model` (`dagc.plan.model`), `Cluster` (`dagc.plan.cluster`),
`Workload` and `Requirement`s (`dagc.plan.workload`) and `StrategyDecl`s (`dagc.plan.strategy`);
and the objective it optimises by name (`dagc.plan.objective`). All quantities are SI (bytes, bytes/s, FLOP/s,
seconds, tokens/s); conversion happens only at the edges (parse, render).
"""

from __future__ import annotations

from pydantic import Field

from ..diagnostics import Diagnostic
from ..source import Span
from .base import Frozen
from .calibration import Calibration
from .cluster import Cluster
from .model import Model
from .objective import DEFAULT_OBJECTIVE
from .strategy import Strategy, StrategyDecl
from .workload import Requirement, RequirementKind, Workload

__all__ = ["Plan", "LOAD_BUDGET_EVENTS", "SHOWN_DEFAULT", "STRICT_MEMORY_STEP", "overlap_span", "shown_percentiles"]

# The engine events one simulation of the traffic may take (`dagc.verdict.load_size.load_events`): about a
# minute and well under 2 GB; past it the load is not simulated (W518). `--load-budget` changes it.
LOAD_BUDGET_EVENTS = 3_000_000
# What a strict memory limit (`memory < 90 %`) takes off the engine's share, as a fraction of the GPU's memory: one
# step of the share `dagc launch` writes (3 decimals: vLLM --gpu-memory-utilization 0.899), so that a KV cache sized
# to fill the share stays strictly under the limit (`Plan.memory_limit`).
STRICT_MEMORY_STEP = 0.001
SHOWN_DEFAULT = (99, 90)  # the TTFT and TPOT percentiles a run is shown by when the plan requires neither


class Plan(Frozen):
    name: str
    model: Model
    cluster: Cluster
    workload: Workload
    requirements: tuple[Requirement, ...] = ()
    strategies: tuple[StrategyDecl, ...]
    objective: str = DEFAULT_OBJECTIVE          # what "optimal" means for this plan (`objective = …`)
    objective_from: str = "the default"         # where `objective` comes from, in words (`objective_source`)
    overrides: tuple[str, ...] = ()             # `--set` what-ifs applied to the plan's text, as `path = value`
    load_budget_events: int | None = LOAD_BUDGET_EVENTS    # `--load-budget`: None simulates whatever it takes
    # `calibration from "FILE"` (docs/calibrate.md): the engine's terms are already the file's (in `cluster`);
    # this keeps what they were fitted on and their cross-validated errors, which the bands take
    calibration: Calibration | None = None
    spans: dict[str, Span] = Field(default_factory=dict, exclude=True)
    # the files the plan read (`model from`, `calibration from`, `requests from`, a routing file, imported kernels),
    # resolved, each once in the order read: what its figures depend on beside its text (`dagc fleet`'s resume key)
    files: tuple[str, ...] = Field(default=(), exclude=True)
    # the warnings said while the plan was read (a config.json's attention dagc costs as full attention, W543): the
    # checks say them (`dagc.rules.config_attention`)
    read_warnings: tuple[Diagnostic, ...] = Field(default=(), exclude=True)

    @property
    def steady_requirements(self) -> tuple[Requirement, ...]:
        """The requirements judged on the serving mode's steady state: all but those on the simulated load
        (`Requirement.on_load`, judged by `dagc.verdict.load`)."""
        return tuple(r for r in self.requirements if not r.on_load)

    @property
    def memory_limit(self) -> tuple[float, str] | None:
        """The most one GPU may hold under the plan's memory requirements (`memory <= 90 %`: 0.9 × capacity;
        `memory <= 60 GB`; `memory == 90 %` too, which the KV cache then fills), the lowest of them with the text
        of that one; None without an upper bound on memory. A strict `memory < 90 %` allows one step of the engine's
        memory share less (`STRICT_MEMORY_STEP` of the GPU's memory, the 0.001 `dagc launch` writes it in), so
        that a KV cache sized to fill it stays under the limit. In flight it is the engine's memory share: its KV
        cache is what the limit leaves (`dagc.memory.memory`), as `dagc launch` sets it (docs/load.md, "A memory
        requirement caps the KV cache").

        Example:
            >>> from dagc.lang.load import load_plan_text
            >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h200" } '
            ...                    'workload { batch = 8 prompt = 128 generate = 8 } require { memory < 90 % } '
            ...                    'strategy tp 8')
            >>> round(p.memory_limit[0] / p.cluster.gpu.memory_bytes, 6), p.memory_limit[1]
            (0.899, 'memory < 90 %')
        """
        limits = [(limit, r.text) for limit, r in self.memory_bounds]
        return min(limits, key=lambda x: x[0]) if limits else None

    @property
    def memory_bounds(self) -> tuple[tuple[float, Requirement], ...]:
        """Each memory requirement that caps what one GPU may hold (`<=`, `<`, `==`), with the bytes it allows
        (`memory_limit` takes the least): its share of the GPU's memory or its size, less one step of the engine's
        share for a strict `<`, never below 0 (`memory < 0.05 %` allows nothing, not a negative size)."""
        capacity = self.cluster.gpu.memory_bytes
        return tuple((max(0.0, (r.target * capacity if r.memory_is_fraction else r.target)
                          - (STRICT_MEMORY_STEP * capacity if r.op == "<" else 0.0)), r) for r in self.requirements
                     if r.kind is RequirementKind.MEMORY and r.op in ("<=", "<", "=="))

    @property
    def memory_limit_bytes(self) -> float | None:
        """`memory_limit`'s bytes (None: no upper bound on memory)."""
        return None if (limit := self.memory_limit) is None else limit[0]

    def span_of(self, key: str) -> Span | None:
        """Where a field was written, e.g. 'model.layers', 'cluster.gpus', 'workload'."""
        while key:
            if key in self.spans:
                span: Span = self.spans[key]
                return span
            key = key.rpartition(".")[0]
        return None


def overlap_span(plan: Plan, strategy: Strategy) -> Span | None:
    """Where the overlap a strategy runs was written: its own `with … overlap …` option, else the
    workload's `overlap` field, else the strategy."""
    if strategy.overlap is None:
        return plan.span_of("workload.overlap") or strategy.span_of("strategy")
    whole = strategy.span_of("strategy")     # `… with overlap microbatch`: point at the option
    at = whole.text.rfind("overlap") if whole is not None else -1
    if whole is None or at < 0:
        return whole
    value = strategy.overlap.value
    end = whole.text.find(value, at)
    return Span(whole.source, whole.start + at, whole.start + (end + len(value) if end > 0 else at + len("overlap")))


def shown_percentiles(plan: Plan, default: tuple[int, int] = SHOWN_DEFAULT) -> tuple[int, int]:
    """The TTFT and TPOT percentiles a run at the rate is shown by: each the one the plan's requirements bound
    (`tpot_p99 <= 40 ms`: p99; the highest when several), else `default`'s (`SHOWN_DEFAULT`: p99 TTFT, p90 TPOT;
    `dagc check`'s Load line: p99 of both; `dagc search --rate`, `dagc fleet`, `dagc launch`'s nearest strategy)."""
    def bound(kind: str, default: int) -> int:
        named = [r.percentile for r in plan.requirements if r.percentile is not None and r.kind.value == kind]
        return max(named, default=default)
    return bound("ttft", default[0]), bound("tpot", default[1])
