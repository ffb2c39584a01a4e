"""Flattening: `StrategyDecl` → `Strategy`, the last lowering pass (SPEC 3.5).

Input: a strategy as written (`StrategyDecl`: nested scopes of `AxisNode`s). Output: the flat `Strategy` of
degrees, or None with the diagnostics that say why the hierarchy has no meaning: an unknown axis (E101), axes out
of order or a scope opened by an in-stage axis (E201), attention and expert axes written in one domain (E202), a
repeated axis or a bad degree (E204). Their documentation lives in `dagc.rules.hierarchy`, which names this pass.
E203 needs the stage group and is a rule on the resolved layout.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from ..diagnostics import Diagnostic, Severity
from ..plan.strategy import POOL_ROLES, Axis, AxisNode, Pool, Strategy, StrategyDecl
from ..plan.workload import Overlap, PoolRole
from ..source import Span
from .axis_hint import unknown_axis
from .choice_words import CHOICE_WORDS
from .domain_hint import separate_hint, stage_gpus
from .fields import STRATEGY_OPTIONS, StrategyOptions, did_you_mean, nearest, spelling
from .hints import SPLIT_HINT, repeated_axis_hint, stage_domains_hint
from .nesting_hint import product_note, scope_hint
from .pool_hint import POOLS_HINT, bare_pools_hint, pool_inside_hint
from .scope_text import axes_text as _texts, axis_text as _text, scope_text as _scope_text

__all__ = ["MAX_DEGREE", "PRODUCT_CAP", "flatten"]

MAX_DEGREE = 2**20
PRODUCT_CAP = 2**60           # products of degrees are capped here (no GPU count comes near it)

Domains = Sequence[Sequence[AxisNode]]


def flatten(decl: StrategyDecl, gpus: int | None = None) -> tuple[Strategy | None, list[Diagnostic]]:
    """Check a strategy's structure and return its degrees (`gpus`, the plan's cluster's: what E202's hint fits).

    Example:
        >>> from dagc.lang.parse import parse
        >>> from dagc.lang.lower import lower
        >>> from dagc.source import SourceFile
        >>> text = 'model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" } '
        >>> text += 'workload { batch = 8 prompt = 8 generate = 8 } strategy tp 2 ep 4'
        >>> src = SourceFile("p.moe", text)
        >>> s, diags = flatten(lower(parse(src), src).strategies[0])
        >>> s is None, [d.code for d in diags]
        (True, ['E202'])
        >>> src = SourceFile("p.moe", text.replace("tp 2 ep 4", "dp 2 < tp 2 ; ep 4 >"))
        >>> s, _ = flatten(lower(parse(src), src).strategies[0])
        >>> s.dp, s.tp, s.ep, s.etp
        (2, 2, 4, 1)
    """
    if any(a.name in POOL_ROLES for d in decl.scope for a in d):
        return _pools(decl)
    f = _Flattener(gpus)
    f.scope(decl.scope, level=0)
    options, option_diags = _options(decl.options)
    f.diags.extend(option_diags)
    option_spans = {name: sp for name, _, sp in decl.options}
    if f.diags:
        return None, f.diags
    v = f.degrees
    spans: dict[str, Span | None] = {**{k: sp for k, (_, sp) in v.items()}, "strategy": decl.span, **option_spans}
    if f.split is not None:
        spans["split"] = f.split_span
    ep, etp = (int(v[k][0]) if k in v else None for k in ("ep", "etp"))
    if (ep is None) != (etp is None):  # one expert axis written: the other is 1
        ep, etp = ep or 1, etp or 1
    return Strategy(
        name=decl.name, text=decl.text,
        dp=int(v.get("dp", (1,))[0]), pp=int(v.get("pp", (1,))[0]), pp_split=f.split,
        tp=int(v.get("tp", (1,))[0]), cp=int(v.get("cp", (1,))[0]), sp="sp" in v, ep=ep, etp=etp,
        spans=spans, **options,
    ), []


def _pools(decl: StrategyDecl) -> tuple[Strategy | None, list[Diagnostic]]:
    """A disaggregated strategy (SPEC 11.3): `prefill N < A > decode M < B >` and nothing beside, each
    pool's count a whole number of instances, each scope any strategy without pools (E205); the
    execution options apply to both pools, `redundant` to those with ep > 1 (`Strategy.with_pooled_eplb`)."""
    diags: list[Diagnostic] = []
    found = _pool_axes(decl, diags)
    options, option_diags = _options(decl.options)
    diags.extend(option_diags)
    if found is None or diags:
        return None, diags
    spans: dict[str, Span | None] = {name: sp for name, _, sp in decl.options}
    pools = [_pool(found[role], options, spans, diags) for role in POOL_ROLES]
    if diags:
        return None, diags
    spans.update({"strategy": decl.span}, **{role: _span(found[role]) for role in POOL_ROLES})
    return Strategy(name=decl.name, text=decl.text, pools=tuple(p for p in pools if p is not None), spans=spans,
                    **options).with_pooled_eplb(), []


def _pool_error(diags: list[Diagnostic], message: str, span: Span | None, hint: str = POOLS_HINT) -> None:
    diags.append(Diagnostic("E205", Severity.ERROR, message, span, hint))


def _pool_axes(decl: StrategyDecl, diags: list[Diagnostic]) -> dict[str, AxisNode] | None:
    """The two pools' axes by role, or None (with E205) when the top level is not exactly
    `prefill … decode …` in that order."""
    if (bare := bare_pools_hint(decl.scope, decl.text)) is not None:
        _pool_error(diags, "each pool's strategy goes inside its `< … >`, after its count", decl.span, bare)
        return None
    if len(decl.scope) > 1:
        _pool_error(diags, "the pools of a disaggregated strategy are written side by side, not split by `;`",
                    decl.span)
        return None
    found: dict[str, AxisNode] = {}
    for a in decl.scope[0]:
        if a.name not in POOL_ROLES and (role := nearest(a.name, POOL_ROLES)) is not None and role not in found:
            name = Span(a.span.source, a.span.start, a.span.start + len(a.name))     # `prefil 1 < … >`
            _pool_error(diags, f"unknown pool `{a.name}`", name, f"did you mean `{role}`?")
            found[role] = a
        elif a.name not in POOL_ROLES:
            _pool_error(diags, f"`{_text(a)}` beside the pools: a disaggregated strategy is two pools and nothing "
                        "else (dp, pp and the in-stage axes go inside a pool's `< … >`)", _span(a))
        elif a.name in found:
            _pool_error(diags, f"the {a.name} pool is written twice", _span(a), f"write one `{a.name} N < … >`")
        else:
            found[a.name] = a
    for role in POOL_ROLES:
        if role not in found:
            _pool_error(diags, f"a disaggregated strategy needs a {role} pool", _span(next(iter(found.values()))))
    if not diags and list(found) != list(POOL_ROLES):
        # the same pools in their order, pasteable (until 2026-11-30 "write `prefill N < … > decode M < … >`")
        options = "".join(f" {name} {value}" for name, value, _ in decl.options)
        pools = _scope_text(((found["prefill"], found["decode"]),))
        _pool_error(diags, "the prefill pool comes first", _span(found["decode"]),
                    f"write `{pools}{' with' + options if options else ''}`")
    return None if diags else found


def _pool(a: AxisNode, options: StrategyOptions, at: dict[str, Span | None], diags: list[Diagnostic]) -> Pool | None:
    """One pool: its count of instances and its scope flattened as a strategy of its own (E205 when either is missing
    or wrong; the scope's own diagnostics as any strategy's), with the `with` options and their spans `at` (W510 at
    `microbatches 16`, as a plain strategy's; until 2026-12-02 at the pool)."""
    role, n = a.name, a.degree
    if n is None or not math.isfinite(n) or n != int(n) or not 1 <= n <= MAX_DEGREE:
        _pool_error(diags, f"the {role} pool needs a whole number of instances from 1 to {MAX_DEGREE:,}",
                    a.degree_span or _span(a), f"write e.g. `{role} 2 < tp 8 >`")      # at the count, when written
    if a.split is not None:
        _pool_error(diags, "a pool takes no `[…]` layer split", a.split_span,
                    f"split the layers inside it: `{role} 1 < pp 2 [31, 30] < tp 4 > >`")
    if not a.body:
        _pool_error(diags, f"the {role} pool needs the strategy of its instances in `< … >`", _span(a),
                    f"write e.g. `{role} 1 < tp 8 >`")
        return None
    f = _Flattener()
    f.scope(a.body, level=0)
    diags.extend(f.diags)
    if diags:
        return None
    inner, _ = flatten(StrategyDecl(text=_scope_text(a.body), scope=a.body, span=a.span))
    assert inner is not None          # the same scope flattened without a diagnostic just above
    return Pool(role=PoolRole(role), instances=int(n or 1),
                strategy=inner.model_copy(update={**options, "spans": {**inner.spans, "strategy": _span(a), **at}}))


OPTIONS = STRATEGY_OPTIONS
MAX_MICROBATCHES = 100_000      # as the workload's field
MAX_REDUNDANT = 65_536          # redundant expert slots per MoE layer (DeepSeek serves with 32)
_COUNTS = {"microbatches": (1, MAX_MICROBATCHES, "microbatches"), "redundant": (0, MAX_REDUNDANT, "redundant slots")}


def _options(written: Iterable[tuple[str, str, Span]]) -> tuple[StrategyOptions, list[Diagnostic]]:
    """A strategy's `with …` options: `microbatches N` (a whole number, 1–100,000), `overlap
    none|microbatch` and `redundant R` (extra expert slots per MoE layer, 0–65,536); each at most once
    (E101 unknown, E104 bad value or repeated)."""
    out: StrategyOptions = {}
    diags: list[Diagnostic] = []
    for name, value, span in written:
        if name not in OPTIONS:
            diags.append(Diagnostic("E101", Severity.ERROR, f"unknown strategy option `{name}`", span,
                                    f"a strategy takes `with microbatches N overlap none|microbatch redundant R`; "
                                    f"{did_you_mean(name, OPTIONS)}"))
        elif name in out:
            diags.append(Diagnostic("E104", Severity.ERROR, f"`{name}` is given twice", span,
                                    "give each option once"))
        elif name in _COUNTS:
            n, (low, high, what) = _whole(value), _COUNTS[name]
            if n is None or not low <= n <= high:
                diags.append(Diagnostic("E104", Severity.ERROR, f"{what} must be a whole number from {low} to "
                                        f"{high:,}", span, f"write e.g. `with {name} {max(low, 4)}`"))
            elif name == "microbatches":
                out["microbatches"] = n
            else:
                out["redundant"] = n
        elif value not in ("none", "microbatch"):
            said = CHOICE_WORDS["overlap"].get(spelling(value), "write `overlap none` or `overlap microbatch`")
            diags.append(Diagnostic("E101", Severity.ERROR, f"unknown overlap `{value}`", span,
                                    said.replace("overlap = ", "overlap ")))        # `with overlap true`
        else:
            out["overlap"] = Overlap(value)
    return out, diags


def _whole(text: str) -> int | None:
    try:
        x = float(text.replace("_", ""))
    except ValueError:
        return None
    return int(x) if math.isfinite(x) and x == int(x) else None


def _axis(node: AxisNode) -> Axis | None:
    try:
        return Axis(node.name)
    except ValueError:
        return None


def _product(axes: Iterable[AxisNode]) -> int:
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


def _span(node: AxisNode) -> Span:
    return node.span.to(node.degree_span) if node.degree_span else node.span


class _Flattener:
    """Walks the scopes outside in, recording degrees and diagnostics."""

    def __init__(self, gpus: int | None = None) -> None:
        self.gpus = gpus
        self.diags: list[Diagnostic] = []
        self.degrees: dict[str, tuple[float, Span]] = {}
        self.split: tuple[int, ...] | None = None
        self.split_span: Span | None = None
        self.domain_axes: Sequence[AxisNode] = ()       # the in-stage domain being read
        self.stage_domains: Domains = ()                # and the stage's domains around it

    def err(self, code: str, message: str, span: Span | None, hint: str | None = None) -> None:
        self.diags.append(Diagnostic(code, Severity.ERROR, message, span, hint))

    def scope(self, domains: Domains, level: int) -> None:
        """level 0: top (dp, pp or in-stage); 1: inside dp (pp or in-stage); 2: inside pp."""
        axes = [a for d in domains for a in d]
        outers = [a for a in axes if _axis(a) in (Axis.DP, Axis.PP)]
        if not outers:
            self.stage(domains)
            return
        a = outers[0]
        if len(axes) > 1:
            hint = product_note(domains, self.gpus, self.degrees, self.split)
            self.err("E201", f"`{_text(a)}` must enclose the in-stage axes in `< … >`, not sit beside them",
                     _span(a), hint)
            return
        self.outer(a, level)

    def outer(self, a: AxisNode, level: int) -> None:
        ax = _axis(a)
        if a.name in self.degrees:
            self.err("E204", f"`{a.name}` is repeated", _span(a), f"write `{a.name}` once, outermost")
            return
        if ax is Axis.DP and level > 0:
            pp = self.degrees.get("pp", (None,))[0]
            hint = f"write `{_text(a)} < pp {pp:g} < … > >`" if pp else "write `dp N < pp M < … > >`"
            self.err("E201", "`dp` must be the outermost axis (dp ⊃ pp ⊃ in-stage domains)", _span(a), hint)
            return
        if ax is Axis.PP and level > 1:
            self.err("E201", "`pp` must be outside the in-stage domains", _span(a))
            return
        if not self.degree(a):
            return
        if a.split is not None:
            self.layer_split(a, ax)
        if a.body:
            self.scope(a.body, level=1 if ax is Axis.DP else 2)

    def layer_split(self, a: AxisNode, ax: Axis | None) -> None:
        assert a.split is not None
        if ax is not Axis.PP:
            self.err("E204", "only `pp` takes an explicit `[…]` layer split", a.split_span, SPLIT_HINT)
        elif any(not math.isfinite(x) or x != int(x) or abs(x) > 1e9 for x in a.split):
            self.err("E204", "a layer split holds whole numbers of layers", a.split_span, SPLIT_HINT)
        else:
            self.split = tuple(int(x) for x in a.split)
            self.split_span = a.split_span

    def degree(self, a: AxisNode) -> bool:
        if a.degree is None:
            self.err("E204", f"`{a.name}` needs a degree", a.span, f"write e.g. `{a.name} 2`")
            return False
        d = a.degree
        if math.isfinite(d) and d > MAX_DEGREE or d == math.inf:
            w = a.degree_span.text if a.degree_span is not None else f"{d:g}"         # as written, 24 digits shown
            self.err("E204", f"`{a.name}` degree {w[:24] + '…' * (len(w) > 24)} is beyond any cluster (at most "
                     f"{MAX_DEGREE:,})", a.degree_span or a.span, f"e.g. `{a.name} 8`")
            return False
        if not math.isfinite(d) or d != int(d) or d < 1:
            self.err("E204", f"`{a.name} {a.degree:g}`: a degree is a whole number of at least 1", _span(a),
                     f"e.g. `{a.name} 2` (an axis of degree 1 can be left out)")
            return False
        self.degrees[a.name] = (d, _span(a))
        return True

    def stage(self, domains: Domains) -> None:
        """The in-stage domains: at most one attention domain and one expert domain."""
        seen: set[str] = set()
        self.stage_domains = domains
        kinds = [self.domain(domain, seen, position) for position, domain in enumerate(domains)]
        named = [k for k in kinds if k]
        if len(named) != len(set(named)) or len(domains) > 2:
            first = domains[0][0]
            self.err("E201", "a stage has at most two domains: attention (tp, cp, sp) and expert (ep, etp)",
                     first.span.to(_span(domains[-1][-1])), stage_domains_hint(domains))

    def domain(self, domain: Sequence[AxisNode], seen: set[str], position: int = 0) -> str | None:
        """Record one domain's axes (`position`: its place among the stage's domains); its kind
        ("attention", "expert") or None."""
        has_attention = has_expert = False
        self.domain_axes = domain
        for a in domain:
            ax = self.stage_axis(a, seen, position)
            if ax is None:
                continue
            has_attention |= ax.is_attention
            has_expert |= ax.is_expert
        if has_attention and has_expert:
            self.mixed(domain)
        return "attention" if has_attention else "expert" if has_expert else None

    def stage_axis(self, a: AxisNode, seen: set[str], position: int = 0) -> Axis | None:
        """Record one in-stage axis; the axis when its degree counts toward its domain."""
        ax = _axis(a)
        if ax is None and a.name in POOL_ROLES:
            self.err("E205", f"the {a.name} pool is inside another scope: pools are the outermost level",
                     _span(a), pool_inside_hint(a, *(self.degrees[k][0] if k in self.degrees else None
                                                     for k in ("dp", "pp"))))
            return None
        if ax is None:
            unknown_axis(self.diags, a, position, self.stage_domains)     # one E101 for a whole strategy's rewrite
            return None
        if a.body is not None:
            self.err("E201", f"`<` opened by the in-stage axis `{a.name}`: only dp, pp and the pools (prefill, "
                     "decode) open a scope", _span(a), scope_hint(a, self.stage_domains, self.degrees, self.split))
        if a.name in seen or a.name in self.degrees:
            self.err("E204", f"`{a.name}` is repeated in this scope", _span(a), repeated_axis_hint(a.name))
            return None
        seen.add(a.name)
        if ax is Axis.SP:
            experts = [x for x in self.domain_axes if (e := _axis(x)) is not None and e.is_expert]
            tp_here = any(x.name == "tp" for x in self.domain_axes)       # `tp 4 sp ep 8`: E202 of tp and ep says it
            if experts and not tp_here:     # the expert domain: `tp 4 ; ep 8 sp` was `tp 4 sp ; ep 8` (to 2026-12-03)
                att = next((d for d in self.stage_domains if d is not self.domain_axes), ())
                self.err("E202", f"`sp` and `{_texts(experts)}` are written in one domain: `sp` is a flag on tp, "
                         "of the attention domain", _span(a), f"write `{_texts(att) or 'tp N'} sp ; {_texts(experts)}`")
                return None
            if a.degree is not None:        # `tp 2 sp 2` is `tp 2 sp` (until 2026-11-30 the hint was `tp 4 sp`)
                tp = next((x.degree for x in self.domain_axes if x.name == "tp" and x.degree), a.degree)
                self.err("E204", "`sp` is a flag on tp and takes no degree", _span(a),
                         f"write `tp {tp:g} sp`: sp shards the activations over the tp group's GPUs")
            else:
                self.degrees["sp"] = (1, a.span)
            return None
        if a.split is not None:
            self.err("E204", "only `pp` takes an explicit `[…]` layer split", a.split_span, SPLIT_HINT)
        self.degree(a)
        return ax

    def mixed(self, domain: Sequence[AxisNode]) -> None:
        """E202: attention and expert axes in one domain read as a product they are not."""
        att_axes = [a for a in domain if (x := _axis(a)) is not None and x.is_attention]
        exp_axes = [a for a in domain if (x := _axis(a)) is not None and x.is_expert]
        pa, pe = _product(att_axes), _product(exp_axes)
        outer = [(k, self.degrees[k][0]) for k in ("dp", "pp") if k in self.degrees]
        self.err("E202", f"`{_texts(att_axes)}` and `{_texts(exp_axes)}` are written in one domain, which reads as "
                 f"their product ({_count(min(pa * pe, PRODUCT_CAP))} GPUs); attention and expert axes run on the "
                 "same GPUs of a stage", domain[0].span.to(_span(domain[-1])),
                 separate_hint(att_axes, exp_axes, f"max({_count(pa)}, {_count(pe)}) = {_count(max(pa, pe))}",
                               max(pa, pe), stage_gpus(self.gpus, outer), self.stage_domains))
