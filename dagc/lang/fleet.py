"""The `fleet` statement: which clusters `dagc fleet` compares (docs/fleet.md).

Input: a plan file whose `fleet { … }` lists GPU types (`gpu preset "h200" { price = 3.5 $/h }`), lists of
the cluster's fields to sweep (`gpus = [8, 16]  engine = [vllm, sglang]`), optionally traffic mixes
(`mix "chat" { weight = 0.7  rate = 10 requests/s  prompt = 1024 }`) and the arrival rate (`rate = 12
requests/s`; else each mix's, else the workload's). Output: the plan as written and a frozen `Fleet`
(`load_fleet`; `dagc.lang.fleet_ir`), and each cluster of the sweep under each mix as a plan of its own
(`fleet_plans`): the plan's text with the point's fields written into its `cluster` and `workload` blocks
— `dagc search --set cluster.gpu=h200 --set cluster.gpus=16 …` reads the same plan — so a point is lowered,
defaulted and checked exactly as the plan's own cluster. A point's bad value is reported at the value in the
fleet, not in a `--set` option. A fleet naming no GPU type sweeps the cluster's own GPU at the cluster's price.

Diagnostics: E101 (an unknown field or GPU preset), E102/E104 (a bad value, an empty list, a second `fleet`, the
plain reference engine), E103 (a GPU type without a price when the objective is `cost` or the cluster has a price of
its own; no rate), E002 (a sweep of more than `MAX_FLEET_CLUSTERS` searches: clusters x mixes).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path
from typing import cast

from lark import Token, Tree

from ..diagnostics import Diagnostic, PlanError, Severity, code
from ..plan.plan import Plan
from ..plan.presets import GPU_PRESETS
from ..source import SourceFile, Span
from .block_fields import cluster_fields, mix_fields
from .blocks import BAD, Collector, Item, Value, node_span, read_block, read_value, subtrees, written_fields
from .cluster import CLUSTER_BLOCK_FIELDS
from .fields import MIX_FIELDS, WORKLOAD_FIELDS, Field
from .fleet_calibration import calibration_errors, miscalibrated_at_plan
from .fleet_engines import reference_engines
from .fleet_hints import unknown_field_hint
from .fleet_ir import Fleet, FleetGpu, FleetMix, FleetPoint, FleetSweep, typed
from .fleet_prices import unpriced
from .fleet_rate import fleet_example, no_rate_hint
from .fleet_runs import ELLIPSIS, run_error
from .hints import gpu_hint
from .lower import Lowering
from .model import ImportRoots
from .overrides import SET_SOURCE, load_plan_with
from .parse import parse, read_source

__all__ = ["MAX_FLEET_CLUSTERS", "Fleet", "FleetGpu", "FleetPoint", "FleetSweep", "fleet_plans", "fleet_rate",
           "load_fleet", "read_fleet"]

MAX_FLEET_CLUSTERS = 1_000      # clusters one `dagc fleet` compares at most (docs/limits.md); more is E002

# The cluster's fields a fleet may sweep: all but the GPU (its own `gpu preset` items) and its price (each
# GPU type's), and `kernels`, which names a GPU's measured profile.
_SWEPT = {k: v for k, v in CLUSTER_BLOCK_FIELDS.items() if k not in ("price", "kernels")}
_GPU_FIELDS = {"price": CLUSTER_BLOCK_FIELDS["price"]}
_FLEET_VALUES = {"rate": WORKLOAD_FIELDS["rate"]}
_EXAMPLES = {"gpus": "8, 16", "engine": "vllm, sglang", "gpus_per_node": "8"}    # an empty list's hint


def read_fleet(tree: Tree[Token], src: SourceFile, plan: Plan | None = None) -> Fleet | None:
    """The plan's `fleet` statement (None when it has none).

    With `plan`, a GPU type without a price is E103 when the plan's objective is `cost` or its cluster
    has a price (which is its own GPU's, not another's).

    Raises:
        PlanError: the fleet's diagnostics, located in the plan.
    """
    fleet, diags = _read(tree, src, plan)
    if diags:
        raise PlanError(diags)
    return fleet


def _read(tree: Tree[Token], src: SourceFile, plan: Plan | None) -> tuple[Fleet | None, list[Diagnostic]]:
    """The plan's `fleet` statement as far as it reads (its rate even beside errors elsewhere in it) and its
    errors, by their place in the plan (`read_fleet`)."""
    found = [st for st in subtrees(tree.children) if st.data == "fleet"]
    if not found:
        return None, []
    out = Collector()
    for extra in found[1:]:
        at = node_span(src, extra.meta)
        out.error("E104", "a plan has one `fleet` statement; this is another", src.span(at.start, at.start + 5),
                  f"the first is at line {node_span(src, found[0].meta).line}")
    lw = Lowering(src, ImportRoots.of(None, ()))
    span = node_span(src, found[0].meta)
    gpus: list[FleetGpu] = []
    mixes: list[FleetMix] = []
    sweeps: list[FleetSweep] = []
    values: dict[str, object] = {}
    seen: dict[str, Span] = {}
    for item in subtrees(found[0].children):
        children = [lw.transform(c) if isinstance(c, Tree) else c for c in item.children]
        if item.data == "fleet_gpu":
            gpu = _gpu(out, src, item, children)
            twin = next((g for g in gpus if gpu is not None and g.name == gpu.name), None)
            if gpu is not None and twin is not None:
                first = f" (the first is at line {twin.span.line})" if twin.span is not None else ""
                out.error("E104", f'the GPU type "{gpu.name}" is listed twice in the fleet', gpu.span,
                          f"keep one{first}; to compare two prices, run the fleet once with each")
            elif gpu is not None:
                gpus.append(gpu)
        elif item.data == "fleet_mix":
            _mix(out, src, item, children, mixes, seen)
        elif _first(out, src, cast(Token, children[0]), seen):
            _field(out, src, item, children, sweeps, values)
    if not gpus and plan is not None and not out.has_errors:     # none named: the cluster's own, at its price
        gpus.append(FleetGpu(plan.cluster.gpu.name, None, plan.cluster.price_per_gpu_hour, None, own=True))
    rate = values.get("rate")
    fleet = Fleet(tuple(gpus), tuple(sweeps), rate if isinstance(rate, float) else None, span, tuple(mixes))
    _whole(out, src, fleet, plan, "rate" in seen)
    errors = sorted(out.diags, key=lambda d: d.span.start if d.span else -1) if out.has_errors else []
    return fleet, errors


def _whole(out: Collector, src: SourceFile, fleet: Fleet, plan: Plan | None, rate_written: bool = False) -> None:
    """What the fleet as a whole needs: something to compare (without GPU types, the cluster's own GPU; until
    2026-11-30 E103), engines one serves with, prices and a rate where needed (a `rate` written but refused is its own
    E104, not "no arrival rate" beside it), a bounded sweep."""
    assert fleet.span is not None
    keyword = src.span(fleet.span.start, fleet.span.start + 5)
    if all(g.own for g in fleet.gpus) and not fleet.sweeps and not fleet.mixes and not out.has_errors:
        out.error("E103", "the fleet lists nothing to compare: no GPU type, no swept field, no mix", keyword,
                  'add GPU types, `gpu preset "h100-sxm" { price = 2.5 $/h }`, or fields of the cluster to sweep, '
                  "`gpus = [8, 16]` (without GPU types, the cluster's own GPU)")
    out.diags += reference_engines(fleet)
    if plan is not None:
        unpriced(out, list(fleet.gpus), plan)
        if not fleet.mixes and not rate_written and fleet_rate(fleet, plan) is None:
            out.diags.append(_no_rate(src, fleet, plan))
    if fleet.size > MAX_FLEET_CLUSTERS:
        out.error("E002", f"the fleet's sweep has {fleet.size:,} searches (clusters x mixes); dagc fleet runs at "
                          f"most {MAX_FLEET_CLUSTERS:,}", keyword,
                  "sweep fewer GPU types or values, or split the fleet into several plans (docs/limits.md)")


def _no_rate(src: SourceFile, fleet: Fleet, plan: Plan | None = None) -> Diagnostic:
    """E103 at the fleet's keyword: no rate to compare the clusters at, in the fleet, its mixes or the workload."""
    assert fleet.span is not None
    return Diagnostic("E103", Severity.ERROR, "the fleet has no arrival rate to compare the clusters at",
                      src.span(fleet.span.start, fleet.span.start + 5), no_rate_hint(plan))


def _mix(out: Collector, src: SourceFile, item: Tree[Token], children: list[object], mixes: list[FleetMix],
         seen: dict[str, Span]) -> None:
    """`mix "chat" { weight = 0.7  rate = 10 requests/s  prompt = 1024 }`: a traffic mix, its workload fields
    checked as the workload's (none: the workload as written); `seen` holds each name met (`mix "chat"`: also a mix
    whose fields have errors, that a second of its name is said too)."""
    label, block = children
    assert isinstance(label, Token) and isinstance(block, tuple), "the grammar's `mix STRING block`"
    name, at = str(label)[1:-1], node_span(src, item.meta)
    if (first := seen.get(f'mix "{name}"')) is not None:
        out.error("E104", f'two mixes are named "{name}"', node_span(src, label),
                  f"give each its own name (the first is at line {first.line})")
        return
    seen[f'mix "{name}"'] = at
    before = len(out.diags)
    values, _ = read_block(out, block, "fleet.mix", MIX_FIELDS)
    if len(out.diags) > before:
        return
    settings = tuple((i.name, typed(i.value.span.text, MIX_FIELDS[i.name].kind), i.value.span) for i in block
                     if i.name != "weight" and i.name in values and i.value is not None)
    mixes.append(FleetMix(name, mix_fields(values).get("weight", 1.0), settings, at))


def _first(out: Collector, src: SourceFile, name: Token, seen: dict[str, Span]) -> bool:
    """Whether the field `name` is written for the first time in the fleet (else E104)."""
    at = node_span(src, name)
    if str(name) in seen:
        out.error("E104", f"`{name}` is given twice in the fleet", at,
                  f"the first is at line {seen[str(name)].line}; keep one")
        return False
    seen[str(name)] = at
    return True


def _field(out: Collector, src: SourceFile, item: Tree[Token], children: list[object], sweeps: list[FleetSweep],
           values: dict[str, object]) -> None:
    """A `name = value` or `name = [values]` of the fleet: the rate, or a swept field of the cluster."""
    token, name = children[0], str(children[0])
    assert isinstance(token, Token) and all(isinstance(c, Value | Token) for c in children[1:]), "NAME = value(s)"
    if item.data == "fleet_value" and name in _FLEET_VALUES:
        got = read_value(out, cast(Value, children[1]), _FLEET_VALUES[name], f"fleet.{name}")
        if got is not BAD:
            values[name] = got
    elif name in _SWEPT:
        sweep = _sweep(out, src, node_span(src, item.meta), name, cast("list[Value | Token]", children[1:]),
                       item.data == "fleet_list")
        if sweep is not None:
            sweeps.append(sweep)
    elif name in _FLEET_VALUES:                # `rate = [4 requests/s, 8 requests/s]`: it was "did you mean `rate`?"
        out.error("E104", f"the fleet's `{name}` is one value, not a list: the clusters are compared at one rate",
                  node_span(src, item.meta), "write one, `rate = 8 requests/s`; to compare at another, run the fleet "
                  'again with it, or give each traffic mix its own: `mix "peak" { rate = 16 requests/s }`')
    else:
        out.error("E101", f"unknown field `{name}` in the fleet", node_span(src, token),
                  unknown_field_hint(name, _SWEPT))


def _gpu(out: Collector, src: SourceFile, item: Tree[Token], children: list[object]) -> FleetGpu | None:
    label = children[0]
    assert isinstance(label, Token), "the grammar's `gpu STRING block?`"
    name, label_span = str(label)[1:-1], node_span(src, label)
    if name not in GPU_PRESETS:
        out.error("E101", f"unknown GPU preset {code(name)}", label_span, gpu_hint(name, GPU_PRESETS, describe=False))
        return None
    block = cast("tuple[Item, ...]", children[1]) if len(children) > 1 else ()
    values, _ = read_block(out, block, "fleet.gpu", _GPU_FIELDS)
    if values.get("price") is BAD:
        return None
    price = cluster_fields(values).get("price")         # a GPU type's price: the cluster's field
    text = next((i.value.span.text for i in block if i.name == "price" and i.value is not None), None)
    return FleetGpu(name, text, price, node_span(src, item.meta))


def _sweep(out: Collector, src: SourceFile, span: Span, name: str, elements: Sequence[Value | Token],
           listed: bool) -> FleetSweep | None:
    if listed and not elements:
        out.error("E104", f"the fleet's `{name}` lists no value", span,
                  f"list one or more: `{name} = [{_EXAMPLES.get(name, '…')}]`")
        return None
    values = [e for e in elements if isinstance(e, Value)]
    spec: Field = _SWEPT[name]
    good = [v for v in values if read_value(out, v, spec, f"fleet.{name}") is not BAD]
    if len(good) < len(values):
        return None
    written = _expanded(out, src, name, elements)
    if written is None:
        return None
    texts = tuple(t for t, _ in written)
    for i, (t, at) in enumerate(written):
        if t in texts[:i]:      # said, and the sweep kept with each value once: its values' own errors said too
            out.error("E104", f"`{t}` is listed twice in the fleet's `{name}`", at, "keep one")
    once = [(t, at) for i, (t, at) in enumerate(written) if t not in texts[:i]]
    return FleetSweep(name, tuple(t for t, _ in once), tuple(at for _, at in once))


def _expanded(out: Collector, src: SourceFile, name: str, elements: Sequence[Value | Token]
              ) -> list[tuple[str, Span]] | None:
    """The values as written, each `...` replaced by the whole numbers between its neighbours in the step of
    the two before it (`8, 16, ..., 64`: 24 to 56 by 8), located at the `...`."""
    written: list[tuple[str, Span]] = []
    for i, e in enumerate(elements):
        if isinstance(e, Value):
            written.append((typed(e.span.text, _SWEPT[name].kind), e.span))    # `"vllm"` as `vllm`
            continue
        at = node_span(src, e)
        texts = [v.span.text if isinstance(v, Value) else ELLIPSIS for v in elements]
        if (wrong := run_error(name, texts, i)) is not None:
            out.error("E104", wrong[0], at, wrong[1])
            return None
        first, second, last = int(texts[i - 2]), int(texts[i - 1]), int(texts[i + 1])
        step = second - first
        if (count := len(written) + (last - second) // step) > MAX_FLEET_CLUSTERS:     # not expanded: a bound
            out.error("E002", f"`{first}, {second}, ..., {last}` lists {count:,} values of the fleet's `{name}`; dagc "
                              f"fleet runs at most {MAX_FLEET_CLUSTERS:,} searches", at,
                      "sweep fewer values (a larger step), or split the fleet into several plans (docs/limits.md)")
            return None
        written += [(str(n), at) for n in range(second + step, last, step)]
    return written


def fleet_rate(fleet: Fleet, plan: Plan) -> float | None:
    """The arrival rate the clusters are compared at: the fleet's `rate`, else the workload's."""
    if fleet.rate_requests_per_s is not None:
        return fleet.rate_requests_per_s
    return plan.workload.traffic.rate if plan.workload.traffic is not None else None


def load_fleet(path: str | Path, *, allow_paths: Sequence[Path] = ()) -> tuple[Plan, Fleet]:
    """The plan at `path` and its `fleet` statement.

    Raises:
        PlanError: the plan's diagnostics, or the fleet's; E103 when the plan has no `fleet`.
    """
    base_dir = Path(path).absolute().parent.resolve()
    src = read_source(path, roots=(base_dir, *allow_paths))
    tree = parse(src)
    # the fleet's rate, the workload's where its traffic says none (`load_plan_with`), whatever else is wrong in the
    # fleet: its errors are said with the plan's; "no rate" only where the workload writes none either (its E104)
    sketch, fleet_errors = _read(tree, src, None)
    rate = sketch.rate_requests_per_s if sketch is not None else None
    try:
        plan = load_plan_with(path, (), allow_paths=allow_paths, rate=rate, needs_strategy=False)
    except PlanError as exc:
        if sketch is not None and rate is None and not sketch.mixes and "rate" not in written_fields(tree, "workload"):
            fleet_errors.append(_no_rate(src, sketch))
        if sketch is not None and any(isinstance(st, Tree) and st.data == "cluster" for st in tree.children):
            fleet_errors += _value_errors(path, sketch, allow_paths)   # without a cluster, each value lacks the rest
        raise PlanError(_merged(exc.diagnostics, fleet_errors)) from None
    fleet, errors = _read(tree, src, plan)
    if errors:      # with them, what a swept value would say (an unknown engine), not hidden behind the rest
        raise PlanError(_merged(errors, _value_errors(path, fleet, allow_paths) if fleet is not None else []))
    if fleet is None:
        text = src.text.rstrip()
        end = src.span(max(0, len(text) - 1), max(1, len(text)))
        raise PlanError([Diagnostic("E103", Severity.ERROR, "the plan has no `fleet` statement", end,
                                    f"add one, e.g. `{fleet_example(plan)}` (docs/fleet.md)")])
    return plan, fleet


def _value_errors(path: str | Path, fleet: Fleet, allow_paths: Sequence[Path]) -> list[Diagnostic]:
    """The diagnostics each swept value of the fleet gets on its own (`--set cluster.engine=sglng`: E101), located
    at the value; those of the plan itself are the plan's to say."""
    spans = _value_spans(fleet)
    found: list[Diagnostic] = []
    for sweep in fleet.sweeps:
        for value in sweep.values:
            try:
                load_plan_with(path, (f"cluster.{sweep.field}={value}",), allow_paths=allow_paths,
                               rate=fleet.rate_requests_per_s, needs_strategy=False)
            except PlanError as exc:
                found += [_relocated(d, spans) for d in exc.diagnostics
                          if d.span is not None and d.span.source.path == SET_SOURCE]
    return found


def _merged(plan_errors: Sequence[Diagnostic], fleet_errors: list[Diagnostic]) -> list[Diagnostic]:
    """The plan's diagnostics and the fleet's, each once, by their place in the plan."""
    out = list(plan_errors) + [d for d in fleet_errors if d not in plan_errors]
    return sorted(out, key=lambda d: d.span.start if d.span else -1)


def fleet_plans(path: str | Path, fleet: Fleet, *,
                allow_paths: Sequence[Path] = ()) -> list[tuple[FleetPoint, Plan]]:
    """Each cluster of the sweep and its plan, in the sweep's order: the plan at `path` read with the point's
    `--set` options (`FleetPoint.options`).

    Raises:
        PlanError: a point's diagnostics, located at the fleet's value that made it (E101 an unknown engine,
            E104 …), or in the plan.
    """
    spans = _value_spans(fleet)
    out: list[tuple[FleetPoint, Plan]] = []
    refused: list[Diagnostic] = []
    miscalibrated = False
    for point in fleet.points():
        try:
            plan = load_plan_with(path, point.options, allow_paths=allow_paths, rate=fleet.rate_requests_per_s,
                                  needs_strategy=False)
        except PlanError as exc:
            found = [_relocated(d, spans) for d in exc.diagnostics if not miscalibrated_at_plan(d)]
            refused += [d for d in found if d not in refused]
            miscalibrated = miscalibrated or len(found) < len(exc.diagnostics)
            continue
        # the mix's own rate, else the fleet's, else the workload's
        traffic_rate = plan.workload.traffic.rate if plan.workload.traffic is not None else None
        rate = traffic_rate if "rate" in dict(point.workload) else fleet_rate(fleet, plan)
        if rate is None:
            raise PlanError([Diagnostic("E103", Severity.ERROR, f'mix "{point.mix}" has no arrival rate',
                                        spans.get(f"mix={point.mix}", fleet.span),
                                        "write `rate = 12 requests/s` in the mix, the fleet or the workload")])
        out.append((dataclasses.replace(point, rate=rate), plan))
    if miscalibrated:
        refused += [d for d in calibration_errors(path, fleet, spans, allow_paths) if d not in refused]
    if refused:
        raise PlanError(sorted(refused, key=lambda d: d.span.start if d.span else -1))
    return out


def _value_spans(fleet: Fleet) -> dict[str, Span]:
    """Where the fleet writes what each `--set` option of its points sets."""
    spans: dict[str, Span | None] = {f"cluster.gpu={g.name}": g.span for g in fleet.gpus}
    spans.update({f"cluster.price={g.price_text}": g.span for g in fleet.gpus if g.price_text is not None})
    for s in fleet.sweeps:
        spans.update({f"cluster.{s.field}={v}": at for v, at in zip(s.values, s.spans, strict=True)})
    for m in fleet.mixes:
        spans.update({f"workload.{k}={v}": at for k, v, at in m.settings})
        spans[f"mix={m.name}"] = m.span
    return {k: v for k, v in spans.items() if v is not None}


_SET_HINT = re.compile(r"`((?:--set '?cluster\.[a-z_]+=[^`']+'? ?)+)`")     # `dagc.lang.set_form`'s, one or more
_ONE_SET = re.compile(r"--set '?cluster\.([a-z_]+)=([^`']+?)'?(?= --set|$)")


def _relocated(d: Diagnostic, spans: dict[str, Span]) -> Diagnostic:
    """A point's diagnostic in a `--set` option, moved to the fleet's value that option came from, its hint written
    as the fleet's line (`engine = vllm@0.33.0`: until 2026-12-01 `--set cluster.engine=vllm@0.33.0` at `engine =
    [vllm@0.5, sglang]`, an option the plan's author had not written).

    Example:
        >>> hint = "`--set cluster.engine=vllm@0.33.0`, `--set 'cluster.reserve=4 GiB'`"
        >>> _SET_HINT.sub(_as_line, hint)
        '`engine = vllm@0.33.0`, `reserve = 4 GiB`'
        >>> _SET_HINT.sub(_as_line, "`--set cluster.gpus=16 --set cluster.gpus_per_node=8`")
        '`gpus = 16  gpus_per_node = 8`'
    """
    if d.span is None or d.span.source.path != SET_SOURCE or d.span.source.text not in spans:
        return d
    hint = _SET_HINT.sub(_as_line, d.hint) if d.hint else d.hint
    return dataclasses.replace(d, span=spans[d.span.source.text], hint=hint)


def _as_line(m: re.Match[str]) -> str:
    """`_SET_HINT`'s options written as the fleet's line: `gpus = 16  gpus_per_node = 8`."""
    return "`" + "  ".join(f"{k} = {v}" for k, v in _ONE_SET.findall(m[1].strip())) + "`"
