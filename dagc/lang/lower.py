"""Lowering: Lark syntax tree → `Plan`.

Input: the tree from `dagc.lang.parse` and its `SourceFile`. Output: a frozen `Plan`, or a
`PlanError` carrying every problem found at once: unknown names (E101, with the nearest
name), wrong dimensions (E102), missing blocks or fields (E103), invalid values (E104), a
kernel profile file that cannot be used (E105, from `dagc.kernels.kernels`).
Strategies are kept as written (`StrategyDecl`); `dagc.lang.flatten` turns them into degrees.

The grammar names every alternative (grammar/plan.lark) and `Lowering`, a Lark
`Transformer`, has one method per name. Blocks and values become plain data (`Item`,
`Value`) bottom-up, without diagnostics; a statement's method gives them meaning with the
field schema of its block (`dagc.lang.blocks`; the model in `dagc.lang.model`, the cluster
in `dagc.lang.cluster`, strategy scopes in `dagc.lang.scope`). A small driver (`lower`) lowers
the first statement of each kind and reports the others, so a second `model` statement is one E104, not a second set of
findings. Diagnostics are collected, sorted by position, and raised once in a `PlanError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import cast

from lark import Token, Transformer, Tree, v_args
from lark.tree import Meta

from ..diagnostics import Diagnostic, PlanError, Severity
from ..plan.calibration import Calibration
from ..plan.cluster import Cluster
from ..plan.model import DType, Model
from ..plan.objective import DEFAULT_OBJECTIVE, OBJECTIVES
from ..plan.plan import Plan
from ..plan.step_budget import engine_chunk
from ..plan.strategy import StrategyDecl
from ..plan.workload import ExpertLoad, Overlap, Requirement, Serving, Traffic, Workload
from ..source import SourceFile, Span
from .block_fields import workload_fields
from .blocks import (
    BAD,
    Collector,
    Item,
    ItemKind,
    Value,
    ValueKind,
    node_span,
    read_block,
    subtrees,
)
from .calibration import calibrated_cluster, read_calibration
from .cluster import lower_cluster
from .context import check_context
from .expert_load import check_expert_load, read_expert_load
from .fields import (
    BATCH_LIMIT,
    SUBBLOCKS,
    WORKLOAD_FIELDS,
    Inner,
    nearest,
)
from .flatten import flatten
from .model import ImportRoots, alias_of, imported_fields, lower_model, model_from_preset, preset_fields, preset_named
from .requirements import WrittenRequirement, lower_requirements
from .scope import scope_axes, strategy_text
from .speculative import lower_speculative
from .statements import check_statements
from .traffic import read_traffic

__all__ = ["MAX_STRATEGIES", "Lowering", "lower", "lower_strategy", "model_from_preset", "strategy_text"]

MAX_STRATEGIES = 64   # `strategy` statements per plan; more is E002 at the first one beyond

# The statement each alias of grammar/plan.lark belongs to; a plan has one of each but strategies.
_STATEMENTS = {"model_full": "model", "model_preset": "model", "model_from": "model", "cluster": "cluster",
               "workload": "workload", "require": "require", "strategy": "strategy", "named_strategy": "strategy",
               "objective": "objective", "calibration": "calibration",
               "fleet": "fleet"}     # `fleet`: dagc.lang.fleet's, not the plan's


# an objective in other words (until 2026-11-29 `max-throughput` and `cheapest` got the list alone, as "(the objectives
# — …)"): each the objective it names
_OBJECTIVE_WORDS = {"max-throughput": "throughput", "maximum-throughput": "throughput",
                    "cheapest": "cost", "price": "cost", "min-cost": "cost", "fewest-gpus": "min-gpus",
                    "tokens-per-gpu-per-s": "tokens-per-gpu", "min-ttft": "ttft", "min-tpot": "tpot"}


@v_args(meta=True)
class Lowering(Transformer[Token, object]):   # a statement lowers to its own type: a Model, a Cluster, …
    """One method per alias of the grammar; `out` collects what the statements find."""

    def __init__(self, src: SourceFile, roots: ImportRoots) -> None:
        super().__init__(visit_tokens=False)
        self.src = src
        self.roots = roots
        self.out = Collector()

    # ---------------------------------------------------------------- values and blocks: data only
    def _value(self, kind: ValueKind, meta: Meta, tokens: list[Token]) -> Value:
        return Value(kind, tuple(tokens), node_span(self.src, meta), tuple(node_span(self.src, t) for t in tokens))

    def quantity(self, meta: Meta, tokens: list[Token]) -> Value:
        return self._value(ValueKind.QUANTITY, meta, tokens)

    def named_number(self, meta: Meta, tokens: list[Token]) -> Value:
        return self._value(ValueKind.NAMED_NUMBER, meta, tokens)

    def word(self, meta: Meta, tokens: list[Token]) -> Value:
        return self._value(ValueKind.WORD, meta, tokens)

    def string(self, meta: Meta, tokens: list[Token]) -> Value:
        return self._value(ValueKind.STRING, meta, tokens)

    def block(self, meta: Meta, items: list[Item]) -> tuple[Item, ...]:
        return tuple(items)

    def assign(self, meta: Meta, children: list[Token | Value]) -> Item:
        name, value = children
        assert isinstance(name, Token) and isinstance(value, Value), "the grammar's `assign: NAME \"=\" value`"
        return Item(ItemKind.ASSIGN, str(name), node_span(self.src, meta), node_span(self.src, name), value=value)

    def subblock(self, meta: Meta, children: list[Token | tuple[Item, ...]]) -> Item:
        name, block = children
        assert isinstance(name, Token) and isinstance(block, tuple), "the grammar's `subblock: NAME block`"
        return Item(ItemKind.SUBBLOCK, str(name), node_span(self.src, meta), node_span(self.src, name), block=block)

    def assign_from(self, meta: Meta, children: list[Token]) -> Item:
        name, label = children
        return Item(ItemKind.FROM_FILE, str(name), node_span(self.src, meta), node_span(self.src, name),
                    label=str(label)[1:-1], label_span=node_span(self.src, label))

    def gpu_preset(self, meta: Meta, children: list[Token]) -> Item:
        (label,) = children
        span = node_span(self.src, meta)
        return Item(ItemKind.GPU_PRESET, "gpu", span, span, label=str(label)[1:-1],
                    label_span=node_span(self.src, label))

    def gpu_custom(self, meta: Meta, children: list[Token | tuple[Item, ...]]) -> Item:
        label, block = children
        assert isinstance(label, Token) and isinstance(block, tuple), "the grammar's `gpu_custom: STRING block`"
        span = node_span(self.src, meta)
        return Item(ItemKind.GPU_CUSTOM, "gpu", span, span, block=block, label=str(label)[1:-1],
                    label_span=node_span(self.src, label))

    def requirement(self, meta: Meta, children: list[Token | Value]) -> WrittenRequirement:
        name, op, value = children
        assert isinstance(name, Token) and isinstance(op, Token) and isinstance(value, Value), "NAME OP value"
        return WrittenRequirement(name, op, value, node_span(self.src, meta), node_span(self.src, name))

    # ---------------------------------------------------------------- statements: meaning and diagnostics
    def model_full(self, meta: Meta, children: list[Token | tuple[Item, ...]]) -> Model | None:
        label, block = _labelled(children)
        span = self._statement("model", meta)
        name = str(label)[1:-1]
        if block is None:
            meant = preset_named(name)                  # `model "mixtral-8x7b"`: a preset's name without `preset`
            alias = alias_of(name)                      # `model "deepseek-r1"`: another name of a preset's model
            hint = 'write them in a block, e.g. `model "m" { layers = 16 … }`, or use `model preset`'
            if alias is not None:
                hint = f'use `model preset "{alias[0]}"`: {alias[1]}'
            self.out.error("E103", f'model "{name}" has no fields', span,
                           f'did you mean `model preset "{meant}"`?' if meant else hint)
            return None
        return lower_model(self.out, name, {}, block, span)

    def model_preset(self, meta: Meta, children: list[Token | tuple[Item, ...]]) -> Model | None:
        label, block = _labelled(children)
        span = self._statement("model", meta)
        name = str(label)[1:-1]
        base = preset_fields(self.out, name, node_span(self.src, label))
        if base is None:
            return None
        return lower_model(self.out, name, base, block, span)

    def model_from(self, meta: Meta, children: list[Token | tuple[Item, ...]]) -> Model | None:
        label, block = _labelled(children)
        span = self._statement("model", meta)
        imported = imported_fields(self.out, self.roots, str(label)[1:-1], node_span(self.src, label))
        if imported is None:
            return None
        name, base = imported
        return lower_model(self.out, name, base, block, span)

    def cluster(self, meta: Meta, children: list[tuple[Item, ...]]) -> Cluster | None:
        (block,) = children
        span = self._statement("cluster", meta)
        return lower_cluster(self.out, self.roots, block, span)

    def workload(self, meta: Meta, children: list[tuple[Item, ...]]) -> Workload | None:
        (block,) = children
        span = self._statement("workload", meta)
        inner = Inner(SUBBLOCKS["workload"], files=("routing", "requests"), file_and_value=("requests",))
        values, subs = read_block(self.out, block, "workload", WORKLOAD_FIELDS, inner)
        for key in ("batch", "prompt", "generate"):
            if key not in values and f"workload.{key}" not in self.out.guessed:     # a typo of it says so already
                self.out.error("E103", f"the workload has no `{key}`", span, f"add `{key} = …`")
        speculative = lower_speculative(self.out, subs["speculative"].block, span) if "speculative" in subs else None
        load = read_expert_load(self.out, self.roots, subs["routing"]) if "routing" in subs else None
        traffic = read_traffic(self.out, self.roots, values, subs.get("requests"), span)
        if self.out.has_errors or any(v is BAD for v in values.values()):
            return None
        f = workload_fields(values)          # a count, or `max`: BATCH_LIMIT until each strategy's is chosen
        return Workload(batch=f["batch"] if isinstance(f["batch"], int) else BATCH_LIMIT, batch_max=f["batch"] == "max",
                        prompt=f["prompt"], generate=f["generate"],
                        microbatches=f.get("microbatches"), routing_imbalance=f.get("routing"),
                        overlap=Overlap(f.get("overlap", "none")),
                        dispatch=DType(f["dispatch"]) if "dispatch" in f else None,
                        serving=Serving(f.get("serving", "static")), chunk=f.get("chunk"),
                        chunked_prefill=f.get("chunked_prefill", "on") == "on",
                        prefill_batch=f.get("prefill_batch"), kv_transfer=f.get("kv_transfer", "after"),
                        speculative=speculative, expert_load=load if isinstance(load, ExpertLoad) else None,
                        traffic=traffic if isinstance(traffic, Traffic) else None)

    def require(self, meta: Meta, written: list[WrittenRequirement]) -> tuple[Requirement, ...]:
        self._statement("require", meta)
        return lower_requirements(self.out, written)

    def objective(self, meta: Meta, children: list[Token]) -> str | None:
        (name,) = children
        self._statement("objective", meta)          # where the statement is, for later diagnostics
        word = str(name)
        if word not in OBJECTIVES:        # the caret under the word, not the statement
            every = "; ".join(f"`{o.name}`: {o.means}" for o in OBJECTIVES.values())
            near = nearest(word.replace("_", "-"), OBJECTIVES, _OBJECTIVE_WORDS)
            self.out.error("E101", f"unknown objective `{word}`", node_span(self.src, name),
                           f"did you mean `{near}`? (the objectives — {every})" if near else f"the objectives: {every}")
            return None
        return word

    def calibration(self, meta: Meta, children: list[Token]) -> Calibration | None:
        (label,) = children
        self._statement("calibration", meta)
        at = self.out.spans["calibration.file"] = node_span(self.src, label)
        cal = read_calibration(self.out, self.roots, str(label)[1:-1], at)
        return cal if isinstance(cal, Calibration) else None

    def strategy(self, meta: Meta, children: list[Tree[Token]]) -> StrategyDecl:
        scope, *options = children
        return _decl(self.src, None, scope, node_span(self.src, meta), options)

    def named_strategy(self, meta: Meta, children: list[Token | Tree[Token]]) -> StrategyDecl:
        name, scope, *options = children
        assert isinstance(scope, Tree) and all(isinstance(o, Tree) for o in options), "NAME \"=\" scope options*"
        return _decl(self.src, str(name), scope, node_span(self.src, meta), cast("list[Tree[Token]]", options))

    # ---------------------------------------------------------------- helpers
    def _statement(self, key: str, meta: Meta) -> Span:
        span = node_span(self.src, meta)
        self.out.spans[key] = span
        return span


def _labelled(children: list[Token | tuple[Item, ...]]) -> tuple[Token, tuple[Item, ...] | None]:
    """A `model "…" { … }` statement's label and its block (None: none written): the grammar's `STRING block?`."""
    label, *block = children
    assert isinstance(label, Token) and all(isinstance(b, tuple) for b in block)
    return label, cast("tuple[Item, ...]", block[0]) if block else None


def _decl(src: SourceFile, name: str | None, scope: Tree[Token], span: Span, options: list[Tree[Token]] | None = None
          ) -> StrategyDecl:
    """A strategy as written; its options (`with microbatches 2 overlap microbatch`) are kept as
    (name, value, span) for `flatten` to check, and appended to the canonical text."""
    opts: list[tuple[str, str, Span]] = []
    for tree in options or ():
        for opt in subtrees(tree.children):
            key, value = opt.children
            opts.append((str(key), str(value), node_span(src, opt.meta)))
    text = strategy_text(scope)
    if opts:
        text += " with " + " ".join(f"{k} {v}" for k, v, _ in opts)
    return StrategyDecl(name=name, text=text, scope=scope_axes(scope, src), options=tuple(opts), span=span)



def _statements(tree: Tree[Token]) -> dict[str, list[Tree[Token]]]:
    by_kind: dict[str, list[Tree[Token]]] = {}
    for st in subtrees(tree.children):
        by_kind.setdefault(_STATEMENTS[st.data], []).append(st)
    return by_kind



def _lower_strategies(lw: Lowering, written: list[Tree[Token]]) -> tuple[StrategyDecl, ...]:
    if len(written) > MAX_STRATEGIES:
        beyond = node_span(lw.src, written[MAX_STRATEGIES].meta)
        lw.out.error("E002", f"the plan has {len(written):,} strategies; dagc checks at most {MAX_STRATEGIES} per plan",
                     lw.src.span(beyond.start, beyond.start + len("strategy")),
                     "split the plan into several files, or let `dagc search` explore strategies")
    strategies = cast("tuple[StrategyDecl, ...]", tuple(lw.transform(st) for st in written[:MAX_STRATEGIES]))
    names: set[str] = set()
    for s in strategies:
        if s.name is None:
            continue
        if s.name in names:
            lw.out.error("E104", f"two strategies are named `{s.name}`", s.span, "give each its own name")
        names.add(s.name)
    return strategies


def _lower_plan(lw: Lowering, tree: Tree[Token], needs_strategy: bool) -> Plan | None:
    by_kind = _statements(tree)
    check_statements(lw.out, lw.src, by_kind, needs_strategy)
    first = {kind: lw.transform(by_kind[kind][0])      # in this order: their diagnostics are said in it
             for kind in ("model", "cluster", "workload", "require", "objective", "calibration") if kind in by_kind}
    strategies = _lower_strategies(lw, by_kind.get("strategy", []))
    model, cluster, workload = first.get("model"), first.get("cluster"), first.get("workload")
    require, objective, calibration = first.get("require", ()), first.get("objective"), first.get("calibration")
    assert isinstance(model, Model | None) and isinstance(cluster, Cluster | None) and isinstance(
        workload, Workload | None) and isinstance(objective, str | None) and isinstance(calibration, Calibration | None)
    require = cast("tuple[Requirement, ...]", require)
    # a strategy's own misspellings (an unknown axis or option, a bad option value) are input errors like a
    # misspelt field: said now, with the plan's others, and nothing is checked (not a verdict of a strategy
    # that does not read); `check` finds its E2xx, rules on its structure, once the plan loads
    lw.out.diags += strategy_input_errors(strategies)
    if lw.out.has_errors or model is None or cluster is None or workload is None:
        return None
    gpu = cluster.gpu          # an unwritten `chunk` is the engine's default on this GPU (docs/language.md)
    workload = workload.model_copy(update={"chunk_default": engine_chunk(cluster.engine.name, gpu.name,
                                                                          gpu.memory_bytes)})
    if workload.expert_load is not None:
        lw.out.diags += check_expert_load(model, workload.expert_load, lw.out.spans["workload.routing.file"])
        if lw.out.has_errors:
            return None
    at = lw.out.spans
    lw.out.diags += check_context(model, workload, lw.out.value_spans.get("workload.prompt") or at.get("workload"),
                                  at.get("workload.requests.file") or at.get("workload"), cluster.engine.name)
    for req in require:
        if req.on_load and workload.traffic is None:
            lw.out.error("E104", f"`{req.name}` is judged on a simulated load, but the workload sends no traffic",
                         req.span, "add `rate = 12 requests/s` (open loop), `concurrency = 64` (closed loop) or "
                                   "`requests from \"trace.csv\"` to the workload")
    if calibration is not None:
        cluster = calibrated_cluster(lw.out, calibration, model, cluster, lw.out.spans["calibration.file"])
    if lw.out.has_errors or not isinstance(cluster, Cluster):
        return None
    return Plan(name=Path(lw.src.path).stem, model=model, cluster=cluster, workload=workload, calibration=calibration,
                requirements=require, strategies=strategies, objective=objective or DEFAULT_OBJECTIVE,
                objective_from="the plan's `objective`" if objective else "the default",
                spans=dict(lw.out.spans), files=tuple(str(f) for f in lw.roots.read),
                read_warnings=tuple(d for d in lw.out.diags if not d.is_error))


def lower(tree: Tree[Token], src: SourceFile, base_dir: Path | None = None, *,
          allow_paths: Sequence[Path] = (), needs_strategy: bool = True) -> Plan:
    """Lower a parsed plan into a `Plan`.

    `base_dir` is the plan's directory: `model from` reads files inside it, or inside one of
    `allow_paths`, and nowhere else (E002). With `base_dir` None (a plan given as text) only
    `allow_paths` can be read from. With `needs_strategy` False a plan without a `strategy` is lowered (its
    `strategies` empty), for a command that searches them itself.

    Raises:
        PlanError: every E1xx problem found, in source order.

    Example:
        >>> from dagc.lang.parse import parse
        >>> src = SourceFile("p.moe", 'model preset "mixtral-8x7b"  cluster { gpus = 8  gpu preset "h100-sxm" }'
        ...                  '  workload { batch = 8  prompt = 512  generate = 64 }  strategy tp 8')
        >>> plan = lower(parse(src), src)
        >>> plan.model.layers, plan.cluster.gpu.name, plan.strategies[0].text
        (32, 'h100-sxm', 'tp 8')
    """
    lw = Lowering(src, ImportRoots.of(base_dir, allow_paths))
    plan = _lower_plan(lw, tree, needs_strategy)
    if plan is None or lw.out.has_errors:
        diags = sorted(lw.out.diags, key=lambda d: (d.span.start if d.span else -1))
        raise PlanError(diags or [Diagnostic("E103", Severity.ERROR, "the plan is incomplete", src.whole(),
                                             "a plan has a model, a cluster, a workload and a strategy")])
    return plan


def strategy_input_errors(strategies: Sequence[StrategyDecl]) -> list[Diagnostic]:
    """The E0xx/E1xx of `strategies` (`flatten`'s unknown axes and options, bad option values): what keeps a
    strategy from being read as written, so the plan (or `--strategy`) is refused before anything is checked."""
    return [d for s in strategies for d in flatten(s)[1] if d.is_error and d.code[:2] in ("E0", "E1")]


def lower_strategy(tree: Tree[Token], src: SourceFile, name: str | None = None) -> StrategyDecl:
    """Lower a strategy expression, e.g. from `--strategy`: a `scope`, or a `named_scope`
    (`name = expr`, the form the CLI prints for a named strategy). An explicit `name`
    wins over the one written.

    Example:
        >>> from dagc.lang.parse import parse
        >>> src = SourceFile("--strategy", "fast = tp 4 ; ep 8")
        >>> decl = lower_strategy(parse(src, start="named_scope"), src)
        >>> decl.name, decl.text, [a.name for a in decl.scope[1]]
        ('fast', 'tp 4 ; ep 8', ['ep'])
    """
    children = list(tree.children)
    written = str(children.pop(0)) if children and not isinstance(children[0], Tree) else None
    scope, *options = subtrees(children)
    span = node_span(src, scope.meta)
    if options:                         # the expression with its options, without the `name =`
        span = src.span(span.start, node_span(src, options[-1].meta).end)
    return _decl(src, name if name is not None else written, scope, span, options)
