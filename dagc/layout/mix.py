"""The mix of steps in flight: how often a step carries a prompt's chunk, before any timing.

Input: a `Workload` with `serving = inflight` and a `Layout`. Output: `Shares` — per attention-DP
rank with `d` requests in flight (the busiest rank's share of the batch): each request's prompt is
processed once over its `generate` steps, so a step carries on average `d · prompt / generate`
prompt tokens, at most `c = chunk − d` in one step; a share `f = min(1, d · prompt / generate / c)`
of a rank's steps carry a chunk. The `g` attention-DP ranks of one expert-parallel group meet in
every layer's all-to-all, so their step is a mixed one when any of them carries a chunk:
`f_g = 1 − (1 − f)^g`. A prompt takes ceil(prompt / c) mixed steps. `dagc.schedule.recurrence`
and `dagc.serve.inflight` turn the shares and the two steps' times into TTFT and TPOT.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..plan.workload import Workload
from .layout import Layout

__all__ = ["Shares", "attention_dp_group", "inflight_ttft_tpot", "shares"]


@dataclass(frozen=True)
class Shares:
    """What the in-flight steady state of a workload on a layout is made of, before any timing."""

    requests_per_rank: int        # d: requests in flight on the busiest attention-DP rank
    chunk_prompt_tokens: int      # c = chunk − d: prompt tokens a mixed step carries (0: no room)
    demand: float                 # d · prompt / generate / c: prompt tokens needed per step over c (> 1: behind)
    share: float                  # f = min(1, demand): a rank's steps that carry a chunk
    group: int                    # g: attention-DP ranks of one expert-parallel group
    group_share: float            # f_g = 1 − (1 − f)^g: steps on which some rank of the group carries a chunk
    first_token_steps: int        # ceil(prompt / c): mixed steps until a request's first token
    sustainable_batch: int        # the largest batch whose demand is at most 1

    @property
    def keeps_up(self) -> bool:
        """Whether the chunk keeps up with admissions: every prompt is prefilled as fast as requests end."""
        return self.demand <= 1.0


def attention_dp_group(lay: Layout) -> int:
    """g: the attention-DP ranks of one expert-parallel group (they wait for each other in every
    MoE layer's all-to-all); 1 without attention DP, or when the experts sit inside one TP group."""
    return max(1, min(lay.adp, (lay.ep * lay.etp) // (lay.tp * lay.cp)))


def shares(workload: Workload, lay: Layout) -> Shares:
    """The shares of the in-flight steady state (module docstring).

    Example:
        >>> from types import SimpleNamespace
        >>> from dagc.plan.workload import Workload
        >>> w = Workload(batch=64, prompt=4000, generate=500, serving="inflight", chunk=8192)
        >>> lay = SimpleNamespace(requests_per_rank=64, adp=1, ep=1, etp=1, tp=1, cp=1, dp=1)
        >>> s = shares(w, lay)
        >>> s.chunk_prompt_tokens, round(s.share, 4), s.first_token_steps, s.sustainable_batch
        (8128, 0.063, 1, 910)
    """
    d = lay.requests_per_rank
    c = max(0, workload.chunk_tokens - d)
    need = d * workload.prompt / workload.generate
    demand = need / c if c > 0 else math.inf
    f = min(1.0, demand)
    g = attention_dp_group(lay)
    # d · prompt / generate ≤ chunk − d  ⇔  d ≤ chunk · generate / (generate + prompt)
    per_rank = workload.chunk_tokens * workload.generate // (workload.generate + workload.prompt)
    return Shares(requests_per_rank=d, chunk_prompt_tokens=c, demand=demand, share=f, group=g,
                  group_share=1.0 - (1.0 - f) ** g,
                  first_token_steps=math.ceil(workload.prompt / c) if c > 0 else 0,
                  sustainable_batch=per_rank * lay.dp * lay.adp)


def inflight_ttft_tpot(t_decode: float, t_mixed: float, workload: Workload, lay: Layout) -> tuple[float, float]:
    """TTFT and TPOT in flight from the two steps' times: TTFT = ceil(prompt / c) · t_mixed (no
    queueing; infinite when a step leaves no room for a prompt), TPOT = f_g · t_mixed + (1 − f_g) ·
    t_decode (other requests' chunks slow every token)."""
    s = shares(workload, lay)
    tpot = s.group_share * t_mixed + (1.0 - s.group_share) * t_decode
    ttft = s.first_token_steps * t_mixed if s.chunk_prompt_tokens > 0 else math.inf
    return ttft, tpot
