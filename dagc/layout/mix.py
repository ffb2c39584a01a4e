"""The mix of steps in flight: how often a step carries a prompt's chunk, before any timing.

Input: a `Workload` with `serving = inflight` and a `Layout`. Output: `Shares` — per attention-DP
rank with `d` requests in flight (the busiest rank's share of the batch): each request's prompt is
processed once over its `generate / E` steps (E tokens emitted per step: 1, or with speculative
decoding its expected count), so a rank needs `need = d · prompt · E / generate` prompt tokens per
step on average, and a step has room for `chunk − d · q` (q positions run per request: 1, or the
drafted tokens and the next). A mixed step carries a chunk of one prompt: the room when the prompt
is longer, else the whole prompt (one prompt cannot fill more), or what `need` asks when that is
more than a prompt (several prompts a step). A share `f = min(1, need / c)` of a rank's steps carry
a chunk; when `need` exceeds the room the chunk cannot keep up (W513). The `g` attention-DP ranks of
one expert-parallel group meet in every layer's all-to-all, so their step is a mixed one when any of
them carries a chunk: `f_g = 1 − (1 − f)^g`. A prompt takes ceil(prompt / min(room, prompt)) mixed
steps. With chunked prefill off (`chunked_prefill = off`, as TensorRT-LLM runs by default) a step takes
whole prompts only: it carries at most the whole prompts its room holds (`carry`, none when the room is
less than a prompt: E307), a mixed step as many whole prompts as `need` asks (at least one), and a
prompt's first token comes after one mixed step. `dagc.schedule.recurrence` and `dagc.serve.inflight`
turn the shares and the two steps' times into TTFT and TPOT.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from ..plan.workload import Workload
from .layout import Layout

__all__ = ["Shares", "attention_dp_group", "inflight_ttft_tpot", "shares", "shares_at"]


@dataclass(frozen=True)
class Shares:
    """What the in-flight steady state of a workload on a layout is made of, before any timing."""

    requests_per_rank: int        # d: requests in flight on the busiest attention-DP rank
    room: int                     # chunk − d·q: the most prompt tokens a step has room for (0: none)
    chunk_prompt_tokens: int      # c: prompt tokens a mixed step carries, min(room, max(prompt, need))
    demand: float                 # need / room: prompt tokens needed per step over the room (> 1: behind)
    share: float                  # f = min(1, need / c): a rank's steps that carry a chunk
    group: int                    # g: attention-DP ranks of one expert-parallel group
    group_share: float            # f_g = 1 − (1 − f)^g: steps on which some rank of the group carries a chunk
    first_token_steps: int        # ceil(prompt / min(room, prompt)): mixed steps until a request's first token
    sustainable_batch: int        # the largest batch whose demand is at most 1
    least_chunk: int = 0          # d·q + ceil(need): the least chunk whose room keeps up (demand at most 1)
    carry: int = 0                # the most prompt tokens a step carries: the room, or its whole prompts
    whole_prompts: bool = False   # chunked prefill off: a step takes whole prompts only

    @property
    def keeps_up(self) -> bool:
        """Whether the chunk keeps up with admissions: every prompt is prefilled as fast as requests end."""
        return self.demand <= 1.0


def attention_dp_group(lay: Layout) -> int:
    """g: the attention-DP ranks of one expert-parallel group (they wait for each other in every
    MoE layer's all-to-all). A stage group is max(tp·cp, ep·etp) GPUs, so with attention DP (more
    than tp·cp GPUs) its expert domain spans all of them: g is the attention DP, 1 without."""
    return lay.adp


def shares(workload: Workload, lay: Layout) -> Shares:
    """The shares of the in-flight steady state (module docstring).

    Example:
        >>> from types import SimpleNamespace
        >>> from dagc.plan.workload import Workload
        >>> w = Workload(batch=64, prompt=4000, generate=500, serving="inflight", chunk=8192)
        >>> lay = SimpleNamespace(requests_per_rank=64, adp=1, dp=1)
        >>> s = shares(w, lay)         # a whole prompt fits a step: a mixed step carries one prompt
        >>> s.room, s.chunk_prompt_tokens, s.share, s.first_token_steps, s.sustainable_batch
        (8128, 4000, 0.128, 1, 910)
    """
    global _LAST
    last = _LAST
    if last[0] is workload and last[1] is lay and last[2] is not None:
        return last[2]
    out = shares_at(workload, lay.requests_per_rank, attention_dp_group(lay), lay.dp)
    _LAST = (workload, lay, out)
    return out


# The last (workload, layout)'s shares (`shares`): a step's price asks them of the same two, by identity (both frozen;
# held here, so neither identity is reused), in its chunk, its shapes' keys and its shapes.
_LAST: tuple[Workload | None, Layout | None, Shares | None] = (None, None, None)


def shares_at(workload: Workload, requests_per_rank: int, adp: int, dp: int) -> Shares:
    """`shares` of a layout with `dp` replicas of `adp` attention-DP groups whose busiest rank serves
    `requests_per_rank` requests: all `shares` reads of one (the search's bounds have no layout)."""
    steps = Steps(workload.chunk_tokens, workload.prompt, workload.generate, workload.tokens_per_step,
                  workload.step_positions, not workload.chunked_prefill)
    return _shares(steps, requests_per_rank, adp, dp * adp)


@dataclass(frozen=True, slots=True)
class Steps:
    """What the shares of an in-flight step follow from in the workload: the chunk (tokens a step), the prompt
    and output lengths, the tokens a decode step emits per request and the positions it takes."""

    chunk: int
    prompt: int
    generate: int
    emitted: float = 1.0
    positions: int = 1
    whole: bool = False           # chunked prefill off: whole prompts only


@functools.lru_cache(maxsize=4096)
def _shares(steps: Steps, d: int, g: int, ranks: int) -> Shares:
    """`shares` of its numbers (the search asks of the same ones again and again)."""
    chunk, prompt, generate = steps.chunk, steps.prompt, steps.generate
    emitted, positions = steps.emitted, steps.positions
    room = max(0, chunk - d * positions)
    need = d * prompt * emitted / generate
    if steps.whole:
        # Whole prompts only: as many as `need` asks, at least one, at most those the room holds — beside the others'
        # decode tokens: the request whose prompt runs is one of the d (an engine counts it in its cap on requests)
        carry = max(0, chunk - max(0, d - 1) * positions) // prompt * prompt
        asked = prompt * max(1, math.ceil(need / prompt))
        c, first, least = min(carry, asked), (1 if carry else 0), max(0, d - 1) * positions + asked
    else:
        # A mixed step carries a chunk of one prompt: all the room when the prompt is longer, else the whole
        # prompt — or, when the requests need more than one prompt a step, what they need (several prompts).
        carry, c, least = room, min(room, max(prompt, math.ceil(need))), d * positions + math.ceil(need)
        first = math.ceil(prompt / min(room, prompt)) if room > 0 else 0
    f = min(1.0, need / c) if c > 0 else 1.0
    return Shares(requests_per_rank=d, room=room, chunk_prompt_tokens=c,
                  demand=need / carry if carry > 0 else math.inf, share=f, group=g, group_share=1.0 - (1.0 - f) ** g,
                  first_token_steps=first, sustainable_batch=_sustainable(steps) * ranks, least_chunk=least,
                  carry=carry, whole_prompts=steps.whole)


@functools.lru_cache(maxsize=1024)
def _sustainable(steps: Steps) -> int:
    """The most requests in flight on a rank whose prompts the steps keep up with (demand at most 1)."""
    chunk, prompt, generate, emitted, positions = (steps.chunk, steps.prompt, steps.generate, steps.emitted,
                                                   steps.positions)
    if not steps.whole:
        # need ≤ room ⇔ d·prompt·E / generate ≤ chunk − d·q ⇔ d ≤ chunk · generate / (q · generate + E · prompt)
        return (chunk * generate // (positions * generate + prompt) if emitted == 1.0 else
                math.floor(chunk * generate / (positions * generate + emitted * prompt)))
    # need ≤ carry: need grows with d and the whole prompts the room holds shrink, so the largest d is bisected
    low, high = 0, chunk // positions + 1
    while low < high:
        d = (low + high + 1) // 2
        if d * prompt * emitted <= max(0, chunk - (d - 1) * positions) // prompt * prompt * generate:
            low = d
        else:
            high = d - 1
    return low


def inflight_ttft_tpot(t_decode: float, t_mixed: float, workload: Workload, lay: Layout) -> tuple[float, float]:
    """TTFT and TPOT in flight from the two steps' times: TTFT = the first token's mixed steps ·
    t_mixed (no queueing; infinite when a step leaves no room for a prompt), TPOT = f_g · t_mixed + (1 − f_g) ·
    t_decode (other requests' chunks slow every token)."""
    s = shares(workload, lay)
    tpot = s.group_share * t_mixed + (1.0 - s.group_share) * t_decode
    ttft = s.first_token_steps * t_mixed if s.chunk_prompt_tokens > 0 else math.inf
    return ttft, tpot
