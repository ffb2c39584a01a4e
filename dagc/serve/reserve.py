"""SGLang's admission in the load simulation: each running request's output to come, reserved at a decaying ratio;
and its decode requests' gaps when prefill steps run apart from theirs (`decode_gaps`).

Input: the engine's `output_reserve` (`EngineTerms`, SGLang's initial `new_token_ratio`), the replica's
attention-DP ranks and the tokens a decode step emits. Output: `OutputReserve`, which `dagc.serve.replica` asks
whether a rank admits a request beside its running ones, and tells of each decode step, start, end and preemption.

SGLang's scheduler (`PrefillAdder`, python/sglang/srt/managers/schedule_policy.py) admits a waiting request only
while its prompt's tokens and its whole `max_new_tokens` (clipped at `SGLANG_CLIP_MAX_NEW_TOKENS`) fit in the
KV pool's free and evictable tokens less every running request's `max_new_tokens` still to come, each clipped
the same and times `new_token_ratio` (`_get_running_request_total_token_offset`; the request's output length is
its `max_new_tokens`, as a benchmark client sends it). The ratio starts at the engine's `output_reserve`
(× 0.3 with attention DP), falls at each decode step toward its floor (`dagc.plan.output_reserve.ratios`),
goes back to its start when the scheduler idles, and after a retraction is (tokens decoded +
`SGLANG_RETRACT_DECODE_STEPS` per request) over the requests' `max_new_tokens` (`update_running_batch`,
`retract_decode`). A request refused (by the reservation, the KV blocks or the cap) stops admission until a
running request leaves (the scheduler's `running_batch.batch_is_full`, cleared when the running batch shrinks).
The constants: `dagc.plan.output_reserve`; their sources: docs/cost-model.md, "SGLang's admission".

dagc keeps, per rank, the sum over its running requests of min(max_new, clip), and of start · E − 1 over the
decoding ones (start: the decode step their first token came at; a prefilling request has decoded nothing), so
the output still to come at decode step `s` is that sum less s · E per decoding request: an output longer than
the clip reserves less than SGLang's (min(max_new − decoded, clip)) once it has decoded any.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..plan.engines import EngineTerms
    from .run import Req, Run

from ..plan.output_reserve import SGLANG_CLIP_MAX_NEW_TOKENS, SGLANG_RETRACT_DECODE_STEPS, ratios

__all__ = ["OutputReserve", "decode_gaps"]


class OutputReserve:
    """The reservations of one replica's ranks (module docstring).

    Example: one rank, a request of 100 output tokens decoding since step 0 and E = 1; at step 10 it has 89
    tokens to come, 62.3 reserved at the initial ratio; 600 decode steps take the ratio to its floor, 0.098.
        >>> r = OutputReserve(0.7, ranks=1, adp=1, emitted=1.0)
        >>> r.admitted(0, 100); r.start(0, 0)
        >>> round(r.reserved(0, 10), 1)
        62.3
        >>> r.decoded(600); round(r.ratio, 3)
        0.098
    """

    __slots__ = ("E", "decay", "floor", "full", "init", "ndec", "ratio", "total")

    def __init__(self, init: float, ranks: int, adp: int, emitted: float) -> None:
        self.init, self.floor, self.decay = ratios(init, adp)
        self.ratio, self.E = self.init, emitted
        self.total = [0.0] * ranks     # Σ min(max_new, clip) (+ start·E − 1 decoding) of each rank's running requests
        self.ndec = [0] * ranks        # each rank's decoding requests
        self.full = False              # a request was refused: none is admitted until one leaves (`batch_is_full`)

    @classmethod
    def of(cls, terms: EngineTerms | None, ranks: int, adp: int, emitted: float) -> OutputReserve | None:
        """The reservations of an engine whose terms reserve output (`output_reserve`), else None."""
        return cls(terms.output_reserve, ranks, adp, emitted) if terms is not None and terms.output_reserve else None

    def admits(self, r: int, free_tokens: int, prompt: int, max_new: int, step: int) -> bool:
        """Whether rank `r` admits a request of `prompt` tokens to prefill and `max_new` to generate, with
        `free_tokens` free (and evictable) at decode step `step`."""
        return prompt + min(max_new, SGLANG_CLIP_MAX_NEW_TOKENS) < free_tokens - self.reserved(r, step)

    def reserved(self, r: int, step: int) -> float:
        """The tokens rank `r` reserves for its running requests' output to come at decode step `step`."""
        return self.ratio * max(0.0, self.total[r] - self.ndec[r] * step * self.E)

    def admitted(self, r: int, max_new: int) -> None:
        """A request of `max_new` output tokens joins rank `r` (to prefill)."""
        self.total[r] += min(max_new, SGLANG_CLIP_MAX_NEW_TOKENS)

    def start(self, r: int, step: int) -> None:
        """A request of rank `r` emitted its first token at decode step `step`: it decodes from there."""
        self.total[r] += step * self.E - 1
        self.ndec[r] += 1

    def left(self, r: int, max_new: int, start: int | None) -> None:
        """A request left rank `r` (ended or preempted): decoding since decode step `start`, or still prefilling."""
        self.total[r] -= min(max_new, SGLANG_CLIP_MAX_NEW_TOKENS)
        if start is not None:
            self.total[r] -= start * self.E - 1
            self.ndec[r] -= 1

    def decoded(self, k: int) -> None:
        """`k` decode steps ran: the ratio decays toward its floor."""
        self.ratio = max(self.floor, self.ratio - self.decay * k)

    def idle(self) -> None:
        """No request runs: the ratio starts again."""
        self.ratio = self.init

    def retracted(self, decoding: list[Req], step: int, output: list[int]) -> None:
        """A request was preempted at decode step `step`: the ratio is what the `decoding` requests' tokens so far
        say of their output lengths (`retract_decode`)."""
        done = sum(1 + (step - q.start) * self.E for q in decoding)
        asked = sum(output[q.i] for q in decoding)
        self.ratio = min(1.0, (done + SGLANG_RETRACT_DECODE_STEPS * len(decoding)) / (asked + 1))


def decode_gaps(run: Run, stall: float, dt: float, ndec: int, kd: int) -> float:
    """Record the gaps of `ndec` decode requests over a step of `dt` that runs `kd` decode steps (0: a prefill
    step apart, whose time their next token carries): the prefill time `stall` not yet carried, after it."""
    if not kd:
        return stall + dt
    if stall:
        run.itl.append(dt + stall)
        run.weight.append(ndec)
        kd -= 1
    if kd:
        run.itl.append(dt)
        run.weight.append(ndec * kd)
    return 0.0
