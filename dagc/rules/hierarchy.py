"""The structural hierarchy of a strategy (SPEC 3.5): E201, E202, E203, E204.

`flatten(decl)` checks a strategy as written (E101 unknown axis, E201, E202, E204) and,
when it is well-formed, returns the flat `Strategy` of degrees. E203 needs the stage
group and runs on the resolved layout.
"""

from __future__ import annotations

import math

from ..diagnostics import Diagnostic, Severity
from ..fields import nearest
from ..plan import Axis, AxisNode, Strategy, StrategyDecl
from .base import RuleContext, diag, largest_divisor, make_rule

__all__ = ["flatten", "RULES", "MAX_DEGREE"]

MAX_DEGREE = 2**20
PRODUCT_CAP = 2**60           # products of degrees are capped here (no GPU count comes near it)
_AXES = [a.value for a in Axis]


def _axis(node: AxisNode) -> Axis | None:
    try:
        return Axis(node.name)
    except ValueError:
        return None


def _text(node: AxisNode) -> str:
    if node.degree is None:
        return node.name
    return f"{node.name} {node.degree:g}"


def _product(axes) -> int:
    """The product of the valid degrees, capped at PRODUCT_CAP: repeated axes must not build
    a number with thousands of digits (that alone can take seconds, or fail to print)."""
    out = 1
    for a in axes:
        if a.degree is not None and 1 <= a.degree <= MAX_DEGREE and a.degree == int(a.degree):
            out = min(out * int(a.degree), PRODUCT_CAP)
    return out


def _count(n: int) -> str:
    """A GPU count for a message: exact up to PRODUCT_CAP, else said to be beyond it."""
    return f"more than {PRODUCT_CAP:,}" if n >= PRODUCT_CAP else f"{n:,}"


def _span(node: AxisNode):
    return node.span.to(node.degree_span) if node.degree_span else node.span


def flatten(decl: StrategyDecl) -> tuple[Strategy | None, list[Diagnostic]]:
    """Check a strategy's structure and return its degrees.

    Example:
        >>> from dagc.parse import parse
        >>> from dagc.lower import lower
        >>> from dagc.source import SourceFile
        >>> text = 'model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" } '
        >>> text += 'workload { batch = 8 prompt = 8 generate = 8 } strategy tp 2 ep 4'
        >>> src = SourceFile("p.moe", text)
        >>> s, diags = flatten(lower(parse(src), src).strategies[0])
        >>> s is None, [d.code for d in diags]
        (True, ['E202'])
    """
    f = _Flattener()
    f.scope(decl.scope, level=0)
    if f.diags:
        return None, f.diags
    v = f.values
    spans = {k: sp for k, (_, sp) in v.items()}
    spans["strategy"] = decl.span
    if "split" in f.extra:
        spans["split"] = f.extra["split_span"]
    strategy = Strategy(
        name=decl.name, text=decl.text,
        dp=int(v.get("dp", (1,))[0]), pp=int(v.get("pp", (1,))[0]),
        pp_split=f.extra.get("split"),
        tp=int(v.get("tp", (1,))[0]), cp=int(v.get("cp", (1,))[0]), sp="sp" in v,
        ep=int(v["ep"][0]) if "ep" in v else None, etp=int(v["etp"][0]) if "etp" in v else None,
        spans=spans,
    )
    if strategy.ep is not None and strategy.etp is None:
        strategy = strategy.model_copy(update={"etp": 1})
    elif strategy.etp is not None and strategy.ep is None:
        strategy = strategy.model_copy(update={"ep": 1})
    return strategy, []


class _Flattener:
    def __init__(self) -> None:
        self.diags: list[Diagnostic] = []
        self.values: dict[str, tuple[float, object]] = {}
        self.extra: dict = {}

    def err(self, code: str, message: str, span, hint: str | None = None) -> None:
        self.diags.append(diag(code, Severity.ERROR, message, span, hint))

    def scope(self, domains, level: int) -> None:
        """level 0: top (dp, pp or in-stage); 1: inside dp (pp or in-stage); 2: inside pp."""
        axes = [a for d in domains for a in d]
        outers = [a for a in axes if _axis(a) in (Axis.DP, Axis.PP)]
        if outers:
            a = outers[0]
            if len(axes) > 1:
                rest = " ".join(_text(x) for x in axes if x is not a)
                self.err("E201", f"`{_text(a)}` must enclose the in-stage axes in `< … >`, not sit beside them",
                         _span(a), f"write `{_text(a)} < {rest} >`")
                return
            self.outer(a, level)
            return
        self.stage(domains)

    def outer(self, a: AxisNode, level: int) -> None:
        ax = _axis(a)
        if a.name in self.values:
            self.err("E204", f"`{a.name}` is repeated", _span(a), f"write `{a.name}` once, outermost")
            return
        if ax is Axis.DP and level > 0:
            pp = self.values.get("pp", (None,))[0]
            hint = f"write `{_text(a)} < pp {pp:g} < … > >`" if pp else "write `dp N < pp M < … > >`"
            self.err("E201", "`dp` must be the outermost axis (dp ⊃ pp ⊃ in-stage domains)", _span(a), hint)
            return
        if ax is Axis.PP and level > 1:
            self.err("E201", "`pp` must be outside the in-stage domains", _span(a))
            return
        if not self.degree(a):
            return
        if a.split is not None:
            if ax is not Axis.PP:
                self.err("E204", "only `pp` takes an explicit `[…]` layer split", a.split_span,
                         "write `pp 4 [5, 4, 4, 3] < … >`")
            elif any(not math.isfinite(x) or x != int(x) or abs(x) > 1e9 for x in a.split):
                self.err("E204", "a layer split holds whole numbers of layers", a.split_span)
            else:
                split = tuple(int(x) for x in a.split)
                self.extra["split"] = split
                self.extra["split_span"] = a.split_span
        if a.body:
            self.scope(a.body, level=1 if ax is Axis.DP else 2)

    def degree(self, a: AxisNode) -> bool:
        if a.degree is None:
            self.err("E204", f"`{a.name}` needs a degree", a.span, f"write e.g. `{a.name} 2`")
            return False
        d = a.degree
        if math.isfinite(d) and d > MAX_DEGREE or d == math.inf:
            self.err("E204", f"`{a.name}` degree {d:g} is beyond any cluster (at most {MAX_DEGREE})", _span(a))
            return False
        if not math.isfinite(d) or d != int(d) or d < 1:
            self.err("E204", f"`{a.name} {a.degree:g}`: a degree is a whole number of at least 1", _span(a))
            return False
        self.values[a.name] = (d, _span(a))
        return True

    def stage(self, domains) -> None:
        kinds = []
        seen: dict[str, AxisNode] = {}
        for domain in domains:
            has_attention = has_expert = False
            for a in domain:
                ax = _axis(a)
                if ax is None:
                    self.err("E101", f"unknown axis `{a.name}`", a.span,
                             f"did you mean `{nearest(a.name, _AXES)}`?" if nearest(a.name, _AXES)
                             else "axes are dp, pp, tp, cp, sp, ep, etp")
                    continue
                if a.body is not None:
                    inner = " ; ".join(" ".join(_text(x) for x in d) for d in a.body)
                    self.err("E201", f"`<` opened by the in-stage axis `{a.name}`: only dp and pp open a scope",
                             _span(a), f"in-stage domains sit side by side: `{_text(a)} ; {inner}`")
                if a.name in seen or a.name in self.values:
                    self.err("E204", f"`{a.name}` is repeated in this scope", _span(a))
                    continue
                seen[a.name] = a
                if ax is Axis.SP:
                    if a.degree is not None:
                        self.err("E204", "`sp` is a flag on tp and takes no degree", _span(a), "write `tp 4 sp`")
                    else:
                        self.values["sp"] = (1, a.span)
                    continue
                if a.split is not None:
                    self.err("E204", "only `pp` takes an explicit `[…]` layer split", a.split_span)
                self.degree(a)
                has_attention |= ax.is_attention
                has_expert |= ax.is_expert
            if has_attention and has_expert:
                att_axes = [a for a in domain if (x := _axis(a)) is not None and x.is_attention]
                exp_axes = [a for a in domain if (x := _axis(a)) is not None and x.is_expert]
                att = " ".join(_text(a) for a in att_axes)
                exp = " ".join(_text(a) for a in exp_axes)
                pa, pe = _product(att_axes), _product(exp_axes)
                self.err("E202", f"`{att}` and `{exp}` are written in one domain, which reads as their product "
                         f"({_count(min(pa * pe, PRODUCT_CAP))} GPUs); attention and expert axes run on the same "
                         "GPUs of a stage", domain[0].span.to(_span(domain[-1])),
                         f"separate the domains with `;`: `{att} ; {exp}` uses max({_count(pa)}, {_count(pe)}) = "
                         f"{_count(max(pa, pe))} GPUs per stage")
            kinds.append("attention" if has_attention else "expert" if has_expert else None)
        named = [k for k in kinds if k]
        if len(named) != len(set(named)) or len(domains) > 2:
            first = domains[0][0]
            self.err("E201", "a stage has at most two domains: attention (tp, cp, sp) and expert (ep, etp)",
                     first.span.to(_span(domains[-1][-1])), "write `tp 2 cp 2 ; ep 8 etp 2`")


def check_divides(ctx: RuleContext):
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
                       f"make one domain's product a multiple of the other's, e.g. a {name} product of "
                       f"{largest_divisor(g, product)}")


E201 = """
The order of a strategy is fixed: dp outside pp outside the in-stage domains. Only dp and pp
open a `< … >` scope, and they enclose what they split; tp, cp, sp, ep and etp live inside a
stage. Anything else (pp around dp, `<` after tp, pp beside tp) has no meaning.

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
not 8 GPUs per stage but 4).

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

RULES = (
    make_rule("E201", Severity.ERROR, "hierarchy: only dp ⊃ pp ⊃ in-stage domains", doc=E201),
    make_rule("E202", Severity.ERROR, "attention and expert axes written in one domain without `;`", doc=E202),
    make_rule("E203", Severity.ERROR, "a domain product does not divide the stage group", check_divides),
    make_rule("E204", Severity.ERROR, "axis repeated in a scope, or degree < 1", doc=E204),
)
