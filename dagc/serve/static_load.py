"""Static serving under load (`dagc.serve.load`): the waiting requests taken `batch` at a time, prefilled
together, then decoded together.

Input: the plan, its traffic's `Requests`, the strategy's `StepPrices`, one rank's KV capacity in tokens
and the ranks that share a batch. Output: the run's `Load`. A batch's prefill is dagc's static prefill of
that many requests at the workload's prompt, scaled by the batch's prompt tokens over that prompt's (the
prefill's work grows with its tokens); its decode steps are dagc's decode step of that batch, and each
request ends at its own last token; the next batch starts when the longest ends.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..plan.plan import Plan
from ..plan.workload import Traffic
from .load_result import Load, Timeline
from .requests import Requests
from .step_prices import StepPrices

__all__ = ["static_load"]


def static_load(plan: Plan, traffic: Traffic, requests: Requests, prices: StepPrices, kv_tokens: int, ranks: int,
                tick: Callable[[int], None] | None) -> Load:
    """The run of static batches (module docstring)."""
    w = plan.workload
    n = len(requests)
    closed = requests.arrival is None
    # a closed loop's clients each wait for their request: batches of the clients, back to back
    times = np.zeros(n) if requests.arrival is None else requests.arrival.copy()
    prompt, output = requests.prompt, requests.output
    first, finish = np.zeros(n), np.zeros(n)
    itl: list[float] = []
    weight: list[int] = []
    tl: list[tuple[float, int, int, float]] = []
    t, i = 0.0, 0
    clients = traffic.concurrency or 1
    limit = min(w.batch, clients) if closed else w.batch
    while i < n:
        t = max(t, float(times[i]))
        j = i
        while j < n and j - i < limit and times[j] <= t:
            j += 1
        b = j - i
        prefill_s, step_s = prices.static(b)
        prefill_s *= float(prompt[i:j].sum()) / (b * w.prompt)
        steps = np.ceil((output[i:j] - 1) / w.tokens_per_step)
        first[i:j] = t + prefill_s
        finish[i:j] = t + prefill_s + steps * step_s
        if steps.any():
            itl.append(step_s)
            weight.append(int(steps.sum()))
        held = float((prompt[i:j] + output[i:j]).sum()) / ranks
        waiting = int(np.count_nonzero(times[j:] <= t)) if not closed else 0
        tl.append((t, b, waiting, min(1.0, held / kv_tokens) if kv_tokens else 0.0))
        t = float(finish[i:j].max())
        if closed:
            times[j:j + b] = t
        i = j
        if tick is not None:
            tick(i)
    tl.append((t, 0, 0, 0.0))
    area = float((finish - times).sum())     # every request is in the system from arrival to end
    timeline = Timeline(*(np.array(col, dtype=float) for col in zip(*tl, strict=True)))
    return Load(traffic, times, first, finish, w.generate, np.asarray(itl), np.asarray(weight, dtype=float), area,
                timeline=timeline, prompt=prompt, output=output, preemptions=np.zeros(n, np.int32),
                cached_tokens=np.zeros(n, np.int64))
