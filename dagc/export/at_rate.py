"""What an optimal verdict is under a plan's arrival rate, said after what optimal means: the steady state's, and
the command that ranks the strategies by goodput per GPU at that rate (`dagc check`'s first line, the comparison
page, each strategy's summary); and `rate_arg`, a rate as every command dagc prints for pasting writes it."""

from __future__ import annotations

import shlex
from decimal import Decimal

from ..lang.set_replaces import REPLACES
from ..plan.plan import Plan

__all__ = ["at_rate_text", "rate_arg", "set_options"]

_RATE = ("workload", "rate")
# what a command that sets the rate itself leaves out of the plan's `--set`s: the rate, and what a rate replaces
_RATE_SET = frozenset({".".join(_RATE), *(f"workload.{name}" for name in REPLACES[_RATE])})


def set_options(plan: Plan) -> str:
    """The `--set`s the plan was read with, each one shell word (` --set 'workload.batch=256'`), but those of the rate
    and of what a rate replaces (a closed loop's `concurrency`, `ramp`): for a pasted command that sets the rate
    itself, so that it runs on the plan as read. '' without any.

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" } '
        ...     'workload { batch = 8 prompt = 64 generate = 8 } strategy tp 8')
        >>> set_options(p.model_copy(update={"overrides": ("workload.batch = 16", "workload.rate = 6 requests/s")}))
        ' --set workload.batch=16'
    """
    return "".join(f" --set {shlex.quote(o.replace(' = ', '=', 1))}" for o in plan.overrides
                   if o.split(" = ", 1)[0] not in _RATE_SET)


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
    as in report files; the `--set`s the plan was read with follow it (`set_options`: until 2026-11-30 the command
    left them out, and searched another plan than the one checked)."""
    traffic = plan.workload.traffic
    return "" if traffic is None or traffic.rate is None else (
        f"; in the steady state — at the traffic's {traffic.rate:,.10g} requests/s the strategies are ranked by "
        f"goodput per GPU by `dagc search {plan_word}{set_options(plan)} --rate {rate_arg(traffic.rate)}`")
