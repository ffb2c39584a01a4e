"""The static schedule of a candidate's steps as a recurrence, no DAG built.

Input: a `Plan`, a `Layout`, a workload and a `dagc.schedule.timer.Timer` of the plan (its stage passes'
times). Output: what the static schedule of `dagc.schedule.schedule` gives — the prefill makespan
(TTFT) and the gap between two decode steps (TPOT) — and lower bounds of them from the stage costs
alone, without running the recurrence, or from single ops' times (`split_floor`, `op_floor`). The
pipeline — blocking send/recv, two decode steps — is computed by a recurrence over (step,
micro-batch, stage): exact for `overlap = none`; with `overlap = microbatch` it schedules pairs of
micro-batches, timed by the `Timer` (an estimate). `dagc.serve.estimate.fast_metrics` turns its
TTFT and TPOT into metrics.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Sequence

from ..ir.dag import Phase
from ..ir.op_shapes import phase_chunk
from ..layout.layout import Layout
from ..layout.modes import StepPrice, inflight_floors, mode_of
from ..plan.plan import Plan
from ..plan.workload import Overlap, Workload
from ..rules.bounds import routed_experts_peak_s
from .timer import Timer
from .timer_base import Requests, StageCosts, StageTimes, UnitKind

__all__ = ["Recurrence", "fast_ttft", "fast_ttft_floor", "fast_tpot", "fast_tpot_floor", "fast_tpot_op_floor",
           "fast_tpot_split_floor", "fast_ttft_split_floor", "inflight_floors", "mixed_floor", "op_floor",
           "split_floor", "tpot_split_floor", "ttft_split_floor"]


def _stage_compute(times: StageTimes, kinds: tuple[int, int, bool, bool], pair: bool) -> float:
    """A stage's compute seconds for a unit (two micro-batches when `pair`) from its pass's times and
    its `Timer.core.stage_kinds` entry."""
    n_dense, n_moe, first, last = kinds
    if pair:
        dense_t, moe_t = times["pair_dense"], times["pair_moe"]
        extra = 2 * ((times["embed"] if first else 0.0) + (times["head"] if last else 0.0))
    else:
        dense_t, moe_t = times["dense"], times["moe"]
        extra = (times["embed"] if first else 0.0) + (times["head"] if last else 0.0)
    return extra + n_dense * dense_t + n_moe * moe_t


def fast_ttft(plan: Plan, lay: Layout, workload: Workload, timer: Timer) -> float:
    """The prefill makespan of the static schedule's recurrence."""
    return Recurrence(plan, lay, workload, timer).prefill()


def fast_ttft_floor(plan: Plan, lay: Layout, workload: Workload, timer: Timer) -> float:
    """A lower bound of `fast_ttft` from the prefill stage costs alone (`Recurrence.prefill_floor`)."""
    return Recurrence(plan, lay, workload, timer).prefill_floor()


def fast_tpot(plan: Plan, lay: Layout, workload: Workload, timer: Timer) -> float:
    """The gap between two decode steps of the static schedule's recurrence. Decode starts on idle
    streams, so it does not depend on prefill: the search prices it alone first (`dagc.search.search`)."""
    return Recurrence(plan, lay, workload, timer).tpot()


def fast_tpot_floor(plan: Plan, lay: Layout, workload: Workload, timer: Timer) -> float:
    """A lower bound of `fast_tpot` from the stage costs alone, without running the recurrence:
    between a micro-batch's two tokens its next pass crosses every stage and every send in turn,
    and the busiest stage runs every unit of micro-batches once (its stream is serial)."""
    return Recurrence(plan, lay, workload, timer).tpot_floor()


def fast_tpot_split_floor(plan: Plan, lay: Layout, workload: Workload, timer: Timer) -> float:
    """A lower bound of `fast_tpot_floor` from the ops of the attention split alone
    (`tpot_split_floor`), with no op of the expert domain made or priced."""
    return tpot_split_floor(timer, workload, lay)


def fast_ttft_split_floor(plan: Plan, lay: Layout, workload: Workload, timer: Timer) -> float:
    """A lower bound of `fast_ttft_floor` from the ops of the attention split alone
    (`split_floor` of prefill), with no op of the expert domain made or priced."""
    return ttft_split_floor(timer, workload, lay)


def ttft_split_floor(timer: Timer, workload: Workload, lay: Layout) -> float:
    """The serving mode's TTFT floor (`dagc.layout.modes`) from `split_floor` of its steps: the prefill's;
    in flight, the first token's steps each at the mixed step's (`inflight_floors`)."""
    return mode_of(workload).ttft_floor(_split_step_floor(timer, workload, lay), workload, lay)


def _split_step_floor(timer: Timer, workload: Workload, lay: Layout) -> StepPrice:
    """`split_floor` of a step of each phase: the mixed step's from its decode pass and its chunk's
    (`_split_mixed_floor`)."""
    def step(phase: Phase) -> float:
        if phase is Phase.MIXED:
            return _split_mixed_floor(timer, workload, lay)
        return split_floor(timer, workload, lay, phase)
    return step


def fast_tpot_op_floor(plan: Plan, lay: Layout, workload: Workload, timer: Timer) -> float:
    """A lower bound of `fast_tpot_floor` that prices each op by itself (`Recurrence.tpot_op_floor`):
    the attention split's ops at their times, the others at lower bounds that need no routing
    statistics and no kernel table (`Timer.floors.lower_times`), no pass of the candidate's timed."""
    return Recurrence(plan, lay, workload, timer).tpot_op_floor()


class Recurrence:
    """The static schedule of `dagc.schedule.schedule` as a recurrence over (step, micro-batch, stage)."""

    def __init__(self, plan: Plan, lay: Layout, workload: Workload, timer: Timer):
        self.plan, self.lay, self.workload, self.timer = plan, lay, workload, timer
        self.reqs = lay.request_rows             # per micro-batch, per attention-DP group
        self.pair = workload.overlap is Overlap.MICROBATCH
        self.units, self.unit_counts = timer.core.units(lay, self.pair)
        self.stage_costs: dict[tuple[str, Requests, int], list[tuple[float, float]]] = {}
        self.kinds = timer.core.stage_kinds(lay)
        self.known = timer.figures_of(lay, workload)      # its figures, once computed, for every later search
        self.mode = mode_of(workload)                     # what its TTFT and TPOT are made of

    def costs(self, phase: Phase, req: Requests, n: int) -> list[tuple[float, float]]:
        """(compute, send) seconds of each stage for a unit of `n` micro-batches of `req` requests."""
        key = (phase.value, req, n)
        row = self.stage_costs.get(key)
        if row is None:
            row = self.stage_costs[key] = self._row(self.timer.stage_passes(self.workload, self.lay, phase, req), n)
        return row

    def _row(self, passes: Sequence[StageCosts], n: int) -> list[tuple[float, float]]:
        """(compute, send) of each stage for a unit of `n` micro-batches from its stages' `passes`."""
        return _row(passes, self.kinds, self.pair, n)

    def _step(self, phase: Phase, free: list[float], p2p: list[float], ready_of: Callable[[tuple[int, ...]], float]
              ) -> dict[int, float]:
        """One pass of every unit through every stage; the end of each micro-batch at the last stage.
        A mixed step's chunk rides in its first unit; the others decode (as `dagc.ir.build` builds it)."""
        last = self.lay.pp - 1
        ends: dict[int, float] = {}
        for k, unit in enumerate(self.units):
            ready = ready_of(unit)
            unit_phase = Phase.DECODE if phase is Phase.MIXED and k > 0 else phase
            for stage, (compute, send) in enumerate(self.costs(unit_phase, self.reqs[unit[0]], len(unit))):
                end = max(free[stage], ready) + compute
                free[stage] = end
                if stage == last:
                    for j in unit:
                        ends[j] = end
                elif self.pair:
                    start = max(end, p2p[stage], p2p[stage + 1])
                    p2p[stage] = p2p[stage + 1] = ready = start + send
                else:
                    start = max(end, free[stage + 1])
                    free[stage] = free[stage + 1] = ready = start + send
        return ends

    def prefill(self) -> float:
        """TTFT, the serving mode's from its steps (`dagc.layout.modes`): the prefill makespan; in flight,
        ceil(prompt / c) mixed steps (`dagc.layout.mix`)."""
        if "prefill" not in self.known:
            self.known["prefill"] = self.mode.ttft(self.step, self.workload, self.lay)
        return self.known["prefill"]

    def step(self, phase: Phase) -> float:
        """One step of `phase`: the prefill's makespan, or the gap between two decode or two mixed steps."""
        if phase is not Phase.PREFILL:
            return self._two_steps(phase)
        if "step prefill" not in self.known:
            pp = self.lay.pp
            self.known["step prefill"] = max(self._step(Phase.PREFILL, [0.0] * pp, [0.0] * pp,
                                                        lambda unit: 0.0).values())
        return self.known["step prefill"]

    def prefill_floor(self) -> float:
        """A lower bound of `prefill` from the stage costs alone, without the recurrence (`step_floor`); in
        flight, the first token's steps each at least the mixed step's floor (`inflight_floors`)."""
        if "prefill_floor" not in self.known:
            self.known["prefill_floor"] = self.mode.ttft_floor(self.step_floor, self.workload, self.lay)
        return self.known["prefill_floor"]

    def tpot_floor(self) -> float:
        """A lower bound of `tpot` from the decode stage costs alone; in flight, its mixture with the
        mixed step's (`inflight_floors`)."""
        if "floor" not in self.known:
            self.known["floor"] = self.mode.tpot_floor(self.step_floor, self.workload, self.lay)
        return self.known["floor"]

    def step_floor(self, phase: Phase) -> float:
        """A lower bound of `step(phase)` from its stage costs alone: every unit crosses every stage and send,
        and the busiest stage runs every unit (a mixed step: `mixed_floor`)."""
        if phase is Phase.PREFILL:
            return self._floor(lambda req, n: self.costs(Phase.PREFILL, req, n))
        return self._mixed_floor() if phase is Phase.MIXED else self._decode_floor()

    def _decode_floor(self) -> float:
        """A lower bound of the decode step from its stage costs alone."""
        if "decode_floor" not in self.known:
            self.known["decode_floor"] = self._floor(lambda req, n: self.costs(Phase.DECODE, req, n))
        return self.known["decode_floor"]

    def _mixed_floor(self) -> float:
        """A lower bound of the mixed step from the stage costs alone (`mixed_floor`)."""
        if "mixed_floor" not in self.known:
            self.known["mixed_floor"] = mixed_floor(self.timer.core.mixed_units(self.lay, self.pair), self.lay.pp,
                                                    lambda phase, req, n: self.costs(phase, req, n))
        return self.known["mixed_floor"]

    def tpot_op_floor(self) -> float:
        """A lower bound of `tpot_floor` from each op's own lower bound (`Timer.floors.op_floor_times`), at least
        `split_floor`'s, with no pass of the candidate's timed."""
        if "ops" not in self.known:
            self.known["ops"] = op_floor(self.timer, self.workload, self.lay)
        return self.known["ops"]

    def _floor(self, row_of: Callable[[Requests, int], list[tuple[float, float]]]) -> float:
        """`_floor` of this schedule's units of micro-batches."""
        return _floor(self.unit_counts, self.lay.pp, row_of)

    def tpot(self) -> float:
        """TPOT, the serving mode's from its steps: the decode step; in flight, its mixture with the mixed
        step (`dagc.layout.mix`)."""
        if "tpot" not in self.known:
            self.known["tpot"] = self.mode.tpot(self.step, self.workload, self.lay)
        return self.known["tpot"]

    def decode_step(self) -> float:
        """The gap between two decode steps (the static TPOT)."""
        return self._two_steps(Phase.DECODE)

    def mixed_step(self) -> float:
        """In flight, the gap between two mixed steps (a decode step whose first unit carries a chunk)."""
        return self._two_steps(Phase.MIXED)

    def _two_steps(self, phase: Phase) -> float:
        """Two steps of `phase` from idle streams: the slowest micro-batch's gap between its tokens."""
        key = "step " + phase.value
        if key not in self.known:
            pp = self.lay.pp
            free, p2p = [0.0] * pp, [0.0] * pp        # stage streams (compute; with overlap, also the collectives)
            first = self._step(phase, free, p2p, lambda unit: 0.0)
            second = self._step(phase, free, p2p, lambda unit: max(first[j] for j in unit))
            self.known[key] = max(second[j] - first[j] for j in range(self.lay.microbatches))
        return self.known[key]


def _row(passes: Sequence[StageCosts], kinds: tuple[tuple[int, int, bool, bool], ...], pair: bool, n: int
         ) -> list[tuple[float, float]]:
    """(compute, send) of each stage for a unit of `n` micro-batches from its stages' `passes` and
    `Timer.core.stage_kinds` (two micro-batches as a pair with `overlap = microbatch`)."""
    pair = pair and n == 2
    return [(_stage_compute(t, k, pair), t["send"] * n) for t, k in zip(passes, kinds, strict=True)]


def _floor(units: collections.Counter[UnitKind], pp: int, row_of: Callable[[Requests, int], list[tuple[float, float]]]
           ) -> float:
    """max(the first unit crossing every stage and send, the busiest stage's units), from the
    rows `row_of(req, n)` gives of each kind of unit — (requests, micro-batches), counted in
    `units` (`Timer.core.units`) from the first unit on."""
    if len(units) == 1:                         # every unit alike (the usual case)
        [(key, count)] = units.items()
        row = row_of(*key)
        return max(sum(compute + send for compute, send in row), count * max(compute for compute, _ in row))
    rows = {key: row_of(*key) for key in units}
    crossing = sum(compute + send for compute, send in rows[next(iter(units))])
    busiest = max(sum(count * rows[key][stage][0] for key, count in units.items()) for stage in range(pp))
    return max(crossing, busiest)


Rows = Callable[[Phase, Requests, int], list[tuple[float, float]]]    # (phase, requests, micro-batches) → a row


def mixed_floor(units: tuple[UnitKind, collections.Counter[UnitKind]], pp: int, row_of: Rows) -> float:
    """A lower bound of the mixed step (its first unit carries the chunk, the others decode) from the
    rows `row_of` gives — (compute, send) of each stage, lower bounds of the passes' — without the
    recurrence: the first unit crosses every stage and send in turn, and the busiest stage runs every
    unit once (the first mixed, the others decoding). `units`: the first unit's (requests,
    micro-batches) and how many of the others there are of each (`Timer.core.mixed_units`). A mixed
    pass does all a decode pass does, so the decode step's bound bounds it too: `inflight_floors`
    takes the larger."""
    first, rest = units
    mixed = row_of(Phase.MIXED, *first)
    crossing = sum(compute + send for compute, send in mixed)
    if not rest:
        return max(crossing, max(compute for compute, _ in mixed))
    rows = [(n, row_of(Phase.DECODE, *key)) for key, n in rest.items()]
    busiest = max(mixed[s][0] + sum(n * row[s][0] for n, row in rows) for s in range(pp))
    return max(crossing, busiest)


def _split_rows(timer: Timer, workload: Workload, lay: Layout) -> Rows:
    """The rows of `split_floor`: each stage's compute from its attention split's ops alone, no send. A
    mixed pass's from its decode pass's and its chunk's (`Timer.floors.mixed_split_times`), and its MoE
    layers' routed experts at least at the GPUs' peak (`routed_experts_peak_s`: the chunk makes them
    a large share of the step, and they read no expert split)."""
    pair = workload.overlap is Overlap.MICROBATCH
    kinds = timer.core.stage_kinds(lay)

    def row(phase: Phase, req: Requests, n: int) -> list[tuple[float, float]]:
        if phase is Phase.MIXED:
            times = timer.floors.mixed_split_times(workload, lay, req).copy()
            tokens = sum(req) + phase_chunk(workload, lay, Phase.MIXED)
            experts = routed_experts_peak_s(timer.plan.model, timer.plan.cluster, tokens, lay.group_size)
            times["moe"] += experts
            times["pair_moe"] += 2 * experts
        else:
            times = timer.floors.split_times(workload, lay, phase, req)
        both = pair and n == 2
        return [(_stage_compute(times, k, both), 0.0) for k in kinds]

    return row


def tpot_split_floor(timer: Timer, workload: Workload, lay: Layout) -> float:
    """The serving mode's TPOT floor from `split_floor` of its steps: decode's; in flight, its mixture with
    the mixed step's (`inflight_floors`)."""
    return mode_of(workload).tpot_floor(_split_step_floor(timer, workload, lay), workload, lay)


def _split_mixed_floor(timer: Timer, workload: Workload, lay: Layout) -> float:
    """`mixed_floor` of the attention split's rows (`_split_rows`)."""
    pair = workload.overlap is Overlap.MICROBATCH
    return mixed_floor(timer.core.mixed_units(lay, pair), lay.pp, _split_rows(timer, workload, lay))


def split_floor(timer: Timer, workload: Workload, lay: Layout, phase: Phase) -> float:
    """A lower bound of `Recurrence.tpot_floor` (decode) or `prefill_floor` (prefill) from the ops of
    the attention split alone (`Timer.floors.split_times`: no op of the expert domain made or priced, and
    no send), no `Recurrence` made: the search's screen asks it of thousands of candidates, once each."""
    pair = workload.overlap is Overlap.MICROBATCH
    rows = _split_rows(timer, workload, lay)
    return _floor(timer.core.units(lay, pair)[1], lay.pp, lambda req, n: rows(phase, req, n))


def op_floor(timer: Timer, workload: Workload, lay: Layout) -> float:
    """`Recurrence.tpot_op_floor` of a candidate, no `Recurrence` made (see `split_floor`); in flight,
    its mixture with the mixed step's (`inflight_floors`), at least its attention split's floor."""
    pair = workload.overlap is Overlap.MICROBATCH
    kinds = timer.core.stage_kinds(lay)

    def rows(phase: Phase, req: Requests, n: int) -> list[tuple[float, float]]:
        passes = (timer.floors.mixed_floor_times(workload, lay, req) if phase is Phase.MIXED
                  else timer.floors.op_floor_times(workload, lay, phase, req))
        return _row(passes, kinds, pair, n)

    counts = timer.core.units(lay, pair)[1]

    def step(phase: Phase) -> float:
        if phase is not Phase.MIXED:
            return _floor(counts, lay.pp, lambda req, n: rows(phase, req, n))
        # at least `_split_mixed_floor`: the op rows need not be part by part above the attention split's
        # (`_split_rows` bounds the routed experts at the GPUs' peak, which an engine's fused glue can leave
        # above the experts' own lower seconds), and the larger of two lower bounds is one
        return max(mixed_floor(timer.core.mixed_units(lay, pair), lay.pp, rows),
                   _split_mixed_floor(timer, workload, lay))
    return mode_of(workload).tpot_floor(step, workload, lay)
