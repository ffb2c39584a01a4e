"""What a latency's band cannot go below: the time a request's prefill takes whatever the load (docs/bands.md, "A
band's floor").

Input: a `Plan` and, when one was laid out, its strategy's `Layout`. Output: `Floors` — the floor in seconds of the
TTFTs and E2Es a band is drawn around, and why. A band is the figure times the errors of its regime
(`dagc.verdict.ledger`), and errors measured on other runs — or a calibration's few, one of them a run dagc read as
overloaded — may reach far below the figure: a TTFT of 96.6 ms banded [609.9 us–170.2 ms], for 2,000 prompt tokens
of gpt-oss-120b on 2 H100, whose prefill alone takes 9.6 ms at the GPUs' peak. No deployment computes faster than its
GPUs' peak: a first token comes after its prompt's prefill with nothing else running, at 100 % of the peak FLOPs
and HBM bandwidth on the strategy's GPUs (`dagc.rules.bounds` at a batch of 1), and an E2E after its first token.

The floor is counted only where every prompt is the workload's `prompt`, none of it cached — no request log, no
drawn lengths, no shared `prefix` or warm cache (a cached prefix is not prefilled) —, and not for a disaggregated
strategy (no one layout prefills it). The engine's front end (`EngineTerms.frontend_s`) is not in it: it is a
constant fitted on published runs, not a time every deployment pays — SGLang's 201 ms is DeepSeek-R1's runs', where
other SGLang runs measured 2–25 ms above dagc's server TTFT (docs/cost-model.md, "SGLang's front end, examined").
TPOTs and ITLs are not floored: a speculative decoding's step may emit more tokens than its mean.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..layout.layout import Layout
from ..layout.modes import mode_of
from ..plan.plan import Plan
from ..rules.bounds import bounds
from ..units import Dimension, format_si

__all__ = ["NO_FLOOR", "Floors", "latency_floors"]


@dataclass(frozen=True)
class Floors:
    """The floor of a strategy's TTFTs and E2Es (0: none), and why, in words."""

    seconds: float = 0.0
    why: str = ""

    def of(self, key: str) -> float:
        """The floor of report.json's figure `key` (`ttft_s`, `ttft_server_s`, `load.ttft_s.p99`, `load.e2e_s.mean`),
        0 for the others."""
        name = key.split(".")[1] if key.startswith("load.") else key
        return self.seconds if name in ("ttft_s", "ttft_server_s", "e2e_s") else 0.0


NO_FLOOR = Floors()


def latency_floors(plan: Plan, layout: Layout | None) -> Floors:
    """The floor of `plan`'s TTFTs and E2Es on `layout` (None, or a prompt not every request's: none).

    Example:
        >>> from dagc.verdict.check import check, load_plan_text
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" } '
        ...                    'workload { batch = 64 prompt = 2048 generate = 256 } strategy tp 8')
        >>> f = latency_floors(p, check(p)[0].layout)
        >>> round(f.seconds * 1e3, 2), f.why[:62]
        (6.67, "at least the prompt's prefill alone at the GPUs' peak (6.671 m")
    """
    w, traffic = plan.workload, plan.workload.traffic
    whole = traffic is None or (traffic.log is None and traffic.lengths == "fixed" and not traffic.prefix
                                and not traffic.warm)
    if layout is None or not whole or mode_of(w).role is not None:
        return NO_FLOOR
    prefill = bounds(plan.model, w, plan.cluster, layout.gpus_used, layout.dp, batch=1).ttft_s
    shown = format_si(prefill, Dimension.TIME)
    return Floors(prefill, f"at least the prompt's prefill alone at the GPUs' peak ({shown}), which no deployment "
                  "computes faster") if prefill > 0 else NO_FLOOR
