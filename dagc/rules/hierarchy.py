"""The structural hierarchy of a strategy (SPEC 3.5, 11.3): E201, E202, E203, E204, E205.

E201, E202, E204 and E205 are found while the strategy is lowered: the flatten pass
(`dagc.lang.flatten`) emits them, and their entries here name it. E203 needs the stage group
and is a check on the resolved layout.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..diagnostics import Diagnostic, Severity
from ..lang.flatten import flatten
from .base import RuleContext, diag, largest_divisor, make_rule, pass_rule

__all__ = ["RULES", "check_divides"]


def check_divides(ctx: RuleContext) -> Iterator[Diagnostic]:
    """A domain product must divide the stage group.

    The stage group has G = max(tp·cp, ep·etp) GPUs; the smaller domain repeats G/product
    times as implicit data parallelism (attention DP or expert DP). When the product does
    not divide G, some GPUs would hold a partial replica.

    Bad:
        strategy tp 4 ; ep 6
    Fixed:
        strategy tp 4 ; ep 8      # G = 8, attention DP 2
    """
    lay = ctx.layout
    g = lay.group_size
    for name, product, keys in (("attention", lay.attention_size, ("tp", "cp")),
                                ("expert", lay.expert_size, ("ep", "etp"))):
        if g % product:
            span = next((ctx.strategy.spans[k] for k in keys if k in ctx.strategy.spans),
                        ctx.strategy.span_of("strategy"))
            other = "expert" if name == "attention" else "attention"
            yield diag("E203", Severity.ERROR,
                       f"the {name} domain ({product} GPUs) does not divide the stage group of {g} GPUs "
                       f"set by the {other} domain", span,
                       f"make one domain's product a multiple of the other's, e.g. {'·'.join(keys)} = "
                       f"{_divisors_around(g, product)}")


def _divisors_around(g: int, product: int) -> str:
    """The divisors of the stage group's `g` GPUs on either side of a domain's `product` that does not divide it: the
    largest below and the smallest above (`tp 3 ; ep 16`: 2 or 4; until 2026-12-02 only the one below, 2).

    Example:
        >>> _divisors_around(16, 3), _divisors_around(6, 4), _divisors_around(12, 1)
        ('2 or 4', '3 or 6', '1')
    """
    below = largest_divisor(g, product)
    above = min((d for d in range(product, g + 1) if g % d == 0), default=below)
    return f"{below}" if above == below else f"{below} or {above}"


E201 = """
The order of a strategy is fixed: dp outside pp outside the in-stage domains. Only dp and pp
open a `< … >` scope, and they enclose what they split (as do the pools of a disaggregated
strategy, `prefill N < … > decode M < … >`, outermost of all: E205); tp, cp, sp, ep and etp live
inside a stage. Anything else (pp around dp, `<` after tp, pp beside tp) has no meaning. The hint
writes the whole strategy, the stage's other domains and the scopes around it kept:
`tp 8 ; ep 8 < dp 2 >` is told `dp 2 < tp 8 ; ep 8 >`. With `tp T` and `ep E` also written in one
domain (`ep 16 tp 4 pp 1`), the hint separates them, max(T, E) GPUs a stage, and names their
product's reading beside it where the cluster holds it, as E202 does: `pp 1 < tp 4 ; ep 16 etp 4 >`.

Bad:
    strategy pp 2 < dp 2 < tp 4 > >
    strategy tp 2 < ep 4 >
    strategy pp 4 tp 2
Fixed:
    strategy dp 2 < pp 2 < tp 4 > >
    strategy tp 2 ; ep 4
    strategy pp 4 < tp 2 >
"""

E202 = """
Attention axes (tp, cp, sp) and expert axes (ep, etp) written in one domain without `;`. The
two domains run on the same GPUs of a stage: attention is split one way, the experts another.
Writing them together reads as the product (the "multiplied degrees" mistake: `tp 2 ep 4` is
not 8 GPUs per stage but 4). The hint names only what the plan's cluster holds: on 8 GPUs
`tp 8 ep 16` is told `tp 8 ; ep 8`, not `tp 8 ; ep 16` (16 GPUs a stage, E401); each degree is
lowered to a divisor of its own, the last written first, within the GPUs a stage has (the
cluster's over the dp and pp outside it), or the hint says the domains need more GPUs.

Bad:
    strategy pp 2 < tp 2 ep 4 >
Fixed:
    strategy pp 2 < tp 2 ; ep 4 >      # 4 GPUs per stage, attention DP 2
"""

E204 = """
An axis repeated in a scope, a degree below 1 or not whole, `sp` with a degree, an axis with
no degree, or a `[…]` split on an axis other than pp.

Bad:
    strategy tp 2 tp 4
    strategy tp 0
Fixed:
    strategy tp 8
"""

E205 = """
A disaggregated strategy (`serving = inflight`, docs/language.md) runs prefill and decode on separate
pools of GPUs: `prefill N < A > decode M < B >` is N instances of strategy A that prefill
prompts and M instances of strategy B that decode them. The two pools are the whole strategy,
prefill first: nothing sits beside them, neither is nested inside dp, pp or the other pool, each
is written once with a whole number of instances and its strategy in `< … >` (any strategy dagc
accepts, dp included).

Bad:
    strategy dp 2 < prefill 1 < tp 8 > decode 1 < tp 8 > >
    strategy prefill 2 < tp 8 >
    strategy decode 1 < tp 8 > prefill 2 < tp 8 >
Fixed:
    strategy prefill 2 < tp 8 > decode 1 < dp 2 < tp 4 ; ep 8 > >
"""

RULES = (
    pass_rule("E201", Severity.ERROR, "hierarchy: only dp ⊃ pp ⊃ in-stage domains", doc=E201, passes=(flatten,)),
    pass_rule("E202", Severity.ERROR, "attention and expert axes written in one domain without `;`", doc=E202,
              passes=(flatten,)),
    make_rule("E203", Severity.ERROR, "a domain product does not divide the stage group", check_divides),
    pass_rule("E204", Severity.ERROR, "axis repeated in a scope, or degree < 1", doc=E204, passes=(flatten,)),
    pass_rule("E205", Severity.ERROR, "a disaggregated strategy's pools: `prefill N < … > decode M < … >`", doc=E205,
              passes=(flatten,)),
)
