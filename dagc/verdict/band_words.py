"""Why a band stops where it does, in words: report.json's `bands.<figure>.clamped` reasons
(`dagc.verdict.bands`), one place for each sentence."""

from __future__ import annotations

from .ledger import CONFIDENCE

__all__ = ["SENT_REASON", "arrivals_reason", "at_rate_reason"]


def arrivals_reason(rate: float) -> str:
    """Why a served rate's or a goodput's band stops at the arrival rate."""
    return (f"at most the arrival rate, {rate:.4g} requests/s: no deployment serves, nor serves well, more requests "
            "than are sent")


def at_rate_reason(rate: float, both: bool, confidence: float = CONFIDENCE) -> str:
    """Why a goodput's band on its curve stops at the arrival rate (`both`: its low end too, a band of zero width).

    Example:
        >>> at_rate_reason(9.0, True)[:70]
        'at most the arrival rate, 9 requests/s, which no goodput passes: [9–9]'
    """
    tail = (1.0 - confidence) / 2
    if not both:
        return arrivals_reason(rate)
    return (f"at most the arrival rate, {rate:.4g} requests/s, which no goodput passes: [{rate:.4g}–{rate:.4g}] is "
            f"every request within its targets from the {tail * 100:.0f} % of dagc's errors least in its favour up, "
            "and odds below 1 are those errors below the band's low end (docs/bands.md)")


# why a band of an open-loop run stops at what is sent (`_served_as_sent`)
SENT_REASON = ("the requests sent, {rate} requests/s: a run serves no more than arrives, and one that keeps pace "
               "serves what arrives unless its capacity falls below the rate")
