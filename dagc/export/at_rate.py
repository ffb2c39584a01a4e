"""What an optimal verdict is under a plan's arrival rate, said after what optimal means: the steady state's, and
the command that ranks the strategies by goodput per GPU at that rate (`dagc check`'s first line, the comparison
page, each strategy's summary); and `rate_arg`, a rate as every command dagc prints for pasting writes it."""

from __future__ import annotations

from decimal import Decimal

from ..plan.plan import Plan

__all__ = ["at_rate_text", "rate_arg"]


def rate_arg(rate: float) -> str:
    """A rate as a pasted command gives it back to dagc (`--rate R`, `workload.rate=R requests/s`): a plain decimal,
    every digit of the float's shortest form and no more, without thousands separators (`--rate 1,200` is refused),
    an exponent or rounding (until 2026-11-30 a fleet's `dagc search` line read `--rate 12.3457` for 12.345678 and
    `--rate 1.23457e+06` for 1234567).

    Example:
        >>> rate_arg(12.345678), rate_arg(1234567.0), rate_arg(1200.0), rate_arg(1e-06), rate_arg(4.5)
        ('12.345678', '1234567', '1200', '0.000001', '4.5')
    """
    text = format(Decimal(repr(float(rate))), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def at_rate_text(plan: Plan, plan_word: str = "PLAN") -> str:
    """What an optimal verdict is under the plan's arrival rate, after what optimal means (`dagc check`'s line and
    the comparison's): the steady state's, the search ranking by goodput per GPU at that rate; '' without one.
    `plan_word`: the plan's path as one shell word (`dagc.cli.shell_words.path_word`), `PLAN` where it is not known,
    as in report files."""
    traffic = plan.workload.traffic
    return "" if traffic is None or traffic.rate is None else (
        f"; in the steady state — at the traffic's {traffic.rate:,.10g} requests/s the strategies are ranked by "
        f"goodput per GPU by `dagc search {plan_word} --rate {rate_arg(traffic.rate)}`")
