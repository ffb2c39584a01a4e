"""A plan's strategies: how the model is split over the GPUs.

Input: nothing (these are the types). Output: `StrategyDecl` (a `strategy` statement as
written, its axes `AxisNode`s) and `Strategy` (the degrees of every `Axis` once the structural
rules have run, `dagc.lang.flatten`).
"""

from __future__ import annotations

from pydantic import Field

from ..enums import FastEnum
from ..source import Span
from .base import Frozen
from .workload import Overlap, PoolRole, Workload

__all__ = ["Axis", "AxisNode", "POOL_ROLES", "Pool", "Strategy", "StrategyDecl"]


class Axis(FastEnum):
    DP = "dp"
    PP = "pp"
    TP = "tp"
    CP = "cp"
    SP = "sp"
    EP = "ep"
    ETP = "etp"

    @property
    def is_attention(self) -> bool:
        return self in (Axis.TP, Axis.CP, Axis.SP)

    @property
    def is_expert(self) -> bool:
        return self in (Axis.EP, Axis.ETP)

    @property
    def is_outer(self) -> bool:
        return self in (Axis.DP, Axis.PP)



class AxisNode(Frozen):
    """One axis as written in a strategy: `pp 4 [5, 4, 4, 3] < … >`."""

    name: str
    degree: float | None = None
    split: tuple[float, ...] | None = None
    body: tuple[tuple[AxisNode, ...], ...] | None = None   # domains of the `< … >` scope
    span: Span = Field(exclude=True)
    degree_span: Span | None = Field(default=None, exclude=True)
    split_span: Span | None = Field(default=None, exclude=True)


POOL_ROLES = (PoolRole.PREFILL, PoolRole.DECODE)      # the pools of a disaggregated strategy, in the order written


class Strategy(Frozen):
    """A strategy after the structural rules: the degrees of every axis.

    `ep`/`etp` are None when no expert domain was written (experts then follow tp). A disaggregated
    strategy (`prefill N < A > decode M < B >`, SPEC 11.3) has its two `pools` and no degrees of its
    own: each pool's instances run the pool's strategy.
    """

    name: str | None = None
    # A label: for a strategy read from a plan or `--strategy`, the parser's canonical text of what was
    # written (its `with` options included); for one built by `dagc.plan.printer`, its printed scope (the
    # options are the fields below). Text to paste is `dagc.plan.printer.strategy_source`, never this.
    text: str
    dp: int = 1
    pp: int = 1
    pp_split: tuple[int, ...] | None = None
    tp: int = 1
    cp: int = 1
    sp: bool = False
    ep: int | None = None
    etp: int | None = None
    microbatches: int | None = None      # `with microbatches N`: overrides the workload's
    overlap: Overlap | None = None       # `with overlap …`: overrides the workload's
    redundant: int | None = None         # `with redundant R`: EPLB with R extra expert slots per MoE layer
    pools: tuple[Pool, ...] = ()         # disaggregated: the prefill pool, then the decode pool
    spans: dict[str, Span | None] = Field(default_factory=dict, exclude=True)

    @property
    def disaggregated(self) -> bool:
        return bool(self.pools)

    def with_pooled_eplb(self) -> Strategy:
        """A disaggregated strategy whose `with redundant R` reaches only the pools with expert parallelism
        (ep > 1): EPLB moves experts between EP ranks, and a pool of ep 1 holds every expert on each GPU.
        When no pool has ep > 1 every pool keeps it (W516 says what it costs)."""
        eplb = [p for p in self.pools if p.strategy.redundant is not None and (p.strategy.ep or 1) > 1]
        if not eplb:
            return self
        pools = tuple(p if p in eplb else p.model_copy(update={"strategy": p.strategy.model_copy(
            update={"redundant": None})}) for p in self.pools)
        return self.model_copy(update={"pools": pools})

    def pool(self, role: PoolRole) -> Pool:
        """The pool of `role` of a disaggregated strategy."""
        return next(p for p in self.pools if p.role == role)

    def workload_for(self, w: Workload) -> Workload:
        """The workload this strategy runs: `w` with the strategy's own execution options."""
        update: dict[str, object] = {}
        if self.microbatches is not None:
            update["microbatches"] = self.microbatches
        if self.overlap is not None:
            update["overlap"] = self.overlap
        return w.model_copy(update=update) if update else w

    @property
    def label(self) -> str:
        return self.name or self.text

    def span_of(self, key: str) -> Span | None:
        return self.spans.get(key) or self.spans.get("strategy")


class Pool(Frozen):
    """One pool of a disaggregated strategy: `instances` copies of `strategy`, each serving one role."""

    role: PoolRole
    instances: int
    strategy: Strategy


class StrategyDecl(Frozen):
    """A `strategy` statement before the structural rules run."""

    name: str | None = None
    text: str
    scope: tuple[tuple[AxisNode, ...], ...]
    options: tuple[tuple[str, str, Span], ...] = Field(default=(), exclude=True)   # `with name value`, as written
    span: Span = Field(exclude=True)


AxisNode.model_rebuild()
Strategy.model_rebuild()
