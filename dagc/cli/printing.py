"""The `dagc` command's rendering: what each command prints on the terminal.

Input: the results of the library (`StrategyResult`, `Written`, `SearchResult`) and a rich
console. Output: text on the console — tables, critical paths, verdicts. Every string from the
user passes through `_shown`, so escape sequences never reach the terminal. Argument parsing
and exit codes stay in `dagc.cli.main`.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from ..diagnostics import Diagnostic, Severity, printable, render
from ..units import Dimension, count_text, format_bytes, format_si

# The compiler's modules are imported where they are used: `dagc presets` prints with this module
# without loading them (numpy, networkx, pydantic, lark).
if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from ..export.compile import Written
    from ..plan.plan import Plan
    from ..search.search import SearchResult
    from ..verdict.check import StrategyResult

_WORD = {True: "yes", False: "no", None: "not judged"}


def _shown(text: str) -> str:
    """A text from the user (a path, a plan's names, a message quoting them) fit for a terminal,
    line by line: escape sequences and other control characters never reach it."""
    return "\n".join(printable(line) for line in text.split("\n"))


class _Console(Console):
    """A rich console that passes every string it prints through `_shown`."""

    def print(self, *objects, **kwargs) -> None:
        super().print(*(_shown(o) if isinstance(o, str) else o for o in objects), **kwargs)

    def on_broken_pipe(self) -> None:
        """A reader gone early (`| head`): the CLI's own handler ends quietly with the command's exit
        code (rich's would exit with 1)."""
        raise BrokenPipeError


def _add_row(table: Table, *cells: str, **kwargs) -> None:
    table.add_row(*(_shown(c) for c in cells), **kwargs)


def _console(stream=None) -> Console:
    stream = stream or sys.stdout
    tty = stream.isatty()
    return _Console(file=stream, width=None if tty else 120, no_color=not tty, highlight=False,
                    soft_wrap=True, emoji=False)


def _render_diags(console: Console, diags) -> None:
    for d in diags:
        style = {"error": "bold red", "warning": "yellow", "note": "cyan"}[d.severity.value]
        console.print(render(d), style=style if console.is_terminal else None, markup=False, highlight=False)
        console.print()


class _Progress:
    """A rich progress bar that appears only once the work has taken more than a second."""

    task: TaskID                   # the bar's task, once the bar is shown
    # rich.progress is imported with the first bar: most runs never show one (a tenth of the
    # start-up of a `dagc check` that takes a second)

    def __init__(self, label: str):
        self.label = label
        self.t0 = time.perf_counter()
        self.bar: Progress | None = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            if time.perf_counter() - self.t0 < 1.0 or not sys.stderr.isatty():
                return
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
            self.bar = Progress(TextColumn(self.label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                console=Console(file=sys.stderr), transient=True)
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=total)
        self.bar.update(self.task, completed=done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _print_reports(results: list[StrategyResult]) -> None:
    """report.json objects on stdout: one object, or a list when the plan has several strategies."""
    from ..export.report import report_json
    objs = [report_json(r) for r in results]
    print(json.dumps(objs[0] if len(objs) == 1 else objs, indent=2, allow_nan=False))


# ---------------------------------------------------------------- dagc check

def _print_plan(out: Console, plan: Plan, path: str, objective: str) -> None:
    """The lines `dagc check` opens with: the plan's model, cluster and workload, and `objective`: what
    its optimal verdicts optimise (`objective_text`)."""
    from ..plan.params import active_params, total_params
    m = plan.model
    out.print(f"plan {path} · model {m.name} ({total_params(m) / 1e9:.1f} B params, "
              f"{active_params(m) / 1e9:.1f} B active, {m.weights.value}) · cluster {plan.cluster.gpus} × "
              f"{plan.cluster.gpu.name} ({plan.cluster.gpus_per_node} per node) · batch {plan.workload.batch_text} "
              f"× ({plan.workload.prompt} + {plan.workload.generate}) tokens", markup=False)
    out.print(objective, markup=False)
    out.print()


def objective_text(plan: Plan) -> str:
    """What the optimal verdicts optimise and where that comes from: `--objective`, the plan's
    `objective = …`, or the default (`Plan.objective_from`)."""
    from ..verdict.verdict import optimal_means
    return f"optimal means: {optimal_means(plan.objective, plan.objective_from, plan.objective)}"


def is_input_error(d: Diagnostic) -> bool:
    """E0xx and E1xx: the plan could not be read as written (exit 4, shown on stderr), wherever
    the pass that found it runs — a misspelt axis in a strategy is as much a typo as a misspelt field."""
    return d.is_error and d.code[:2] in ("E0", "E1")


def plan_diagnostics(results: list[StrategyResult]) -> list[Diagnostic]:
    """The diagnostics about the plan as a whole (plan-level rules such as N604): each strategy
    carries them, the terminal shows them once."""
    from ..rules import rule
    seen: dict[tuple, Diagnostic] = {}
    for r in results:
        for d in r.diagnostics:
            found = rule(d.code)
            if found is not None and found.plan_level:
                seen.setdefault((d.code, d.message, d.span and (d.span.line, d.span.column)), d)
    return list(seen.values())


def _print_plan_diagnostics(console: Console, diags: list[Diagnostic]) -> None:
    if diags:
        console.rule("the plan, for every strategy", style="bold")
        _render_diags(console, diags)


def _print_result(console: Console, r: StrategyResult, err: Console | None = None) -> None:
    """One strategy of `dagc check`: layout, memory, metrics, requirements, diagnostics, verdict.

    Plan-level diagnostics are left to `_print_plan_diagnostics`; input errors (E0xx, E1xx) go
    to `err` when it is given, as those found while loading the plan do."""
    from ..cost.cost import cost_basis_text
    from ..rules import rule
    title = f"strategy {r.decl.name + ' = ' if r.decl.name else ''}{r.decl.text}"
    console.rule(_shown(title), style="bold")
    if r.layout is not None:
        _print_layout(console, r)
        if r.memory is not None:
            console.print(_memory_table(console, r))
    if r.metrics:
        console.print(_metrics_table(r))
        if r.compiled is not None and r.compiled.metrics is not None:
            _print_critical_paths(console, r.compiled.metrics, r.plan)
        console.print(cost_basis_text(r.plan.cluster), markup=False)
    if r.requirements:
        console.print(_requirements_table(r))
    own = [d for d in r.diagnostics if not ((found := rule(d.code)) is not None and found.plan_level)]
    if err is not None:
        _render_diags(err, [d for d in own if is_input_error(d)])
        own = [d for d in own if not is_input_error(d)]
    if own:
        console.print()
        _render_diags(console, own)
    v = r.verdict
    console.print(f"verdict: correct: {_WORD[v.correct]} · meets requirements: {_WORD[v.meets_requirements]} · "
                  f"optimal: {_WORD[v.optimal]}", markup=False)
    if r.optimality and r.optimality.get("note"):
        console.print(f"  optimal? {r.optimality['note']}", markup=False)
        _print_evidence(console, r)
    elif r.optimality is None:
        from ..verdict.verdict import NOT_SEARCHED
        console.print(f"  optimal? {NOT_SEARCHED}", markup=False)
    console.print()


def _print_evidence(console: Console, r: StrategyResult) -> None:
    """The better strategy's figures beside this one's, under the optimal verdict's note: what the
    better one costs in the figures the objective does not read (a TTFT 20× longer, say)."""
    ev = r.optimality or {}
    best, own = ev.get("best_figures"), ev.get("own_figures")
    if best is None or own is None or r.verdict.optimal is not False:      # optimal: no better one to show
        return
    from ..export.summary import metric_text
    from ..plan.plan import RequirementKind
    from ..verdict.verdict import near_text
    for label, fig in (("the better one", best), ("this strategy", own)):
        share = fig["memory_fraction"]
        memory = "—" if share is None else near_text(r.plan, RequirementKind.MEMORY, share, f"{share * 100:.0f} %")
        # in the unit of the plan's requirement on each, with the digits that tell a figure from its target
        console.print(f"    {label + ':':15} {count_text(fig['gpus'], 'GPU')} · TTFT "
                      f"{metric_text(r.plan, RequirementKind.TTFT, fig['ttft_s'])} · TPOT "
                      f"{metric_text(r.plan, RequirementKind.TPOT, fig['tpot_s'])} · "
                      f"{fig['decode_tokens_per_s_per_gpu']:,.1f} tokens/s per GPU · memory {memory}", markup=False)


def _print_layout(console: Console, r: StrategyResult) -> None:
    from ..export.summary import data_parallel_text
    plan, lay = r.plan, r.layout
    assert lay is not None, "a strategy with a layout"
    experts = (f"ep {lay.ep} · etp {lay.etp}" if lay.expert_domain_written
               else f"experts follow tp (etp {lay.etp})") if plan.model.has_experts else "dense model"
    adp, edp = data_parallel_text(lay)
    console.print(f"GPUs: {lay.gpus_used} used of {plan.cluster.gpus} available  "
                  f"(dp {lay.dp} × pp {lay.pp} × stage group {lay.group_size})", markup=False)
    if plan.workload.batch_max and plan.workload.batch_note:      # its batch, and what one more would break
        console.print(plan.workload.batch_note, markup=False)
    console.print(f"stage group: attention tp {lay.tp} · cp {lay.cp}{' · sp' if lay.sp else ''} · attention DP "
                  f"{adp}  ;  {experts} · expert DP {edp}  ·  "
                  f"{count_text(lay.microbatches, 'micro-batch', 'micro-batches')}",
                  markup=False)


def _memory_table(console: Console, r: StrategyResult) -> Table:
    from ..export.markdown import gap_text, shown_stages
    from ..plan.plan import RequirementKind
    from ..verdict.verdict import near_text
    plan, lay, mem = r.plan, r.layout, r.memory
    assert lay is not None and mem is not None, "a strategy with a layout and its memory"
    t = Table(title=_shown(f"per-rank memory by stage (GPU {plan.cluster.gpu.name}, "
                           f"{format_bytes(plan.cluster.gpu.memory_bytes)})"),
              title_justify="left")
    for col in ("stage", "GPUs", "layers", "experts/GPU", "weights", "KV cache", "activations", "reserve", "total",
                "use"):
        t.add_column(col, justify="right" if col not in ("stage", "GPUs", "layers") else "left")
    per_gpu = str(lay.experts_per_ep_rank) if plan.model.has_experts else "—"
    for k in shown_stages(len(mem.stages)):
        if k is None:
            _add_row(t, "…", gap_text(len(mem.stages)), *[""] * 8)
            continue
        s = mem.stages[k]
        ranks = lay.stage_ranks(0, s.stage)
        layers = f"{s.layers[0]}–{s.layers[1] - 1}" if s.layers[1] > s.layers[0] else "none"
        gpus = f"{ranks.start}–{ranks.stop - 1}" + (f" (+{count_text(lay.dp - 1, 'replica')})" if lay.dp > 1 else "")
        _add_row(t, str(s.stage), gpus, layers, per_gpu, format_bytes(s.weights_bytes),
                 format_bytes(s.kv_cache_bytes), format_bytes(s.activation_bytes), format_bytes(s.reserve_bytes),
                 format_bytes(s.total_bytes),
                 near_text(r.plan, RequirementKind.MEMORY, s.fraction, f"{s.fraction * 100:.1f} %"),
                 style="red" if not s.fits and console.is_terminal else None)
    return t


# The metrics (docs/cost-model.md, "Schedule and metrics") by their human names; the keys stay those of report.json.
METRIC_NAMES = (
    ("ttft_s", "TTFT (time to first token)"),
    ("tpot_s", "TPOT (time per output token)"),
    ("prefill_tokens_per_s", "prefill throughput"),
    ("decode_tokens_per_s", "decode throughput"),
    ("throughput_tokens_per_s", "end-to-end throughput"),
)


def _tokens_per_s(v: float | None, per: str = "") -> str:
    return "—" if v is None else f"{v:,.1f} tokens/s{per}" if abs(v) < 100 else f"{v:,.0f} tokens/s{per}"


def _metrics_table(r: StrategyResult) -> Table:
    """The metrics with their names and units; throughputs also per GPU."""
    assert r.metrics, "a scheduled strategy"
    gpus = r.layout.gpus_used if r.layout is not None else None
    t = Table(title="metrics", title_justify="left")
    t.add_column("metric")
    t.add_column("value", justify="right")
    t.add_column(f"per GPU (of {gpus})" if gpus else "per GPU", justify="right")
    from ..plan.plan import RequirementKind as K
    from ..verdict.verdict import near_text
    for key, name in METRIC_NAMES:
        v = r.metrics.get(key)
        if key.endswith("_s") and not key.endswith("_per_s"):
            kind = K.TTFT if key == "ttft_s" else K.TPOT
            _add_row(t, name, near_text(r.plan, kind, v, format_si(v, Dimension.TIME)), "")
        else:
            _add_row(t, name, _tokens_per_s(v), _tokens_per_s(v / gpus, "/GPU") if v is not None and gpus else "—")
    return t


def _share(fraction: float) -> str:
    """A part's share of a whole in whole percent; "< 1 %" for a part that is there but rounds to none."""
    return "< 1 %" if 0 < fraction < 0.005 else f"{fraction * 100:.0f} %"


def _print_critical_paths(console: Console, m, plan: Plan) -> None:
    """The critical paths of prefill and decode by kind of work, and the pipeline bubble."""
    from ..plan.plan import RequirementKind
    from ..verdict.verdict import near_text
    for phase, path in (("prefill", m.prefill_path), ("decode (2 steps)", m.decode_path)):
        total = path.makespan_s or 1.0
        parts = " · ".join(f"{name} {format_si(v, Dimension.TIME)} ({_share(v / total)})" for name, v in (
            ("compute", path.compute_s), ("TP comm", path.tp_comm_s), ("EP comm", path.ep_comm_s),
            ("PP comm", path.pp_comm_s), ("waiting", path.waiting_s)) if v > 0)
        length = format_si(path.makespan_s, Dimension.TIME)
        if phase == "prefill":                  # the prefill's path is the TTFT
            length = near_text(plan, RequirementKind.TTFT, path.makespan_s, length)
        console.print(f"critical path, {phase}: {length} = {parts}", markup=False)
    console.print(f"pipeline bubble (prefill): {m.bubble_fraction * 100:.1f} % of stage time", markup=False)


def _requirements_table(r: StrategyResult) -> Table:
    from ..verdict.verdict import met_text
    t = Table(title="requirements", title_justify="left")
    for col in ("requirement", "value", "margin", "met"):
        t.add_column(col)
    unknown = "not computed: the strategy has errors" if r.verdict.correct is False else "not computed"
    for q in r.requirements:
        value = unknown if q.value is None else q.value_text()
        margin = q.margin_percent()
        _add_row(t, q.requirement.text, value, margin, met_text(q, r.verdict.correct, "NO"))
    return t


# ---------------------------------------------------------------- dagc compile

def _print_written(out: Console, err: Console, w: Written) -> None:
    """What `dagc compile` wrote for one strategy (or the side-by-side comparison), with its verdict."""
    r = w.result
    for warning in w.warnings:
        err.print(f"warning: {warning}", markup=False)
    if r is None:
        out.print("side-by-side comparison:", markup=False)
    else:
        _print_compiled(out, err, r)
    for f in w.files:
        out.print(f"  wrote {f}", markup=False)


def _print_compiled(out: Console, err: Console, r: StrategyResult) -> None:
    v = r.verdict
    label = f"{r.decl.name} = {r.decl.text}" if r.decl.name else r.decl.text
    out.print(f"strategy {label}: correct {_WORD[v.correct]} · meets requirements "
              f"{_WORD[v.meets_requirements]} · optimal {_WORD[v.optimal]}", markup=False)
    if r.optimality and r.optimality.get("note"):
        out.print(f"  optimal? {r.optimality['note']}", markup=False)
        _print_evidence(out, r)
    elif r.optimality is None:
        from ..verdict.verdict import NOT_SEARCHED
        out.print(f"  optimal? {NOT_SEARCHED}", markup=False)
    if r.metrics:
        from ..plan.plan import RequirementKind as K
        from ..verdict.verdict import near_text
        ttft, tpot = r.metrics["ttft_s"], r.metrics["tpot_s"]
        out.print(f"  TTFT {near_text(r.plan, K.TTFT, ttft, format_si(ttft, Dimension.TIME))} · TPOT "
                  f"{near_text(r.plan, K.TPOT, tpot, format_si(tpot, Dimension.TIME))} · decode "
                  f"{_tokens_per_s(r.metrics['decode_tokens_per_s_per_gpu'], '/GPU')}", markup=False)
    chosen = [d for d in r.diagnostics if d.code == "N605"]      # `batch = max`: the batch the figures are for
    if chosen:
        out.print(f"  {chosen[0].message}", markup=False)
    for d in r.diagnostics:          # a line each; report.md shows them with their source and help
        if d.severity is Severity.WARNING:
            out.print(f"  warning[{d.code}]: {d.message}", markup=False)
    errors = [d for d in r.diagnostics if d.is_error]
    if errors:
        _render_diags(err, errors)


# ---------------------------------------------------------------- dagc search

def _print_search_warnings(err: Console, found: SearchResult) -> None:
    """What a partial search did not do."""
    if not found.complete:
        err.print(f"warning: the search stopped {found.stop_reason()}: {found.evaluated:,} of {found.total:,} "
                  f"candidates evaluated ({found.order})", markup=False)
    if found.skipped:
        err.print(f"warning: the time budget left no time for: {', '.join(found.skipped)}", markup=False)


def _strategy_table(title: str, columns: tuple[str, ...], rows: Sequence[Sequence[str]]) -> Table:
    """A table whose cells never break: the `strategy` column above all, so that each strategy
    can be pasted into `--strategy` or a plan as it stands. Headers wrap between words."""
    t = Table(title=title, title_justify="left")
    for k, col in enumerate(columns):
        widest = max((len(row[k]) for row in rows), default=1)
        words = max(len(w) for w in col.split())
        left = col in ("strategy", "meets requirements", "binding requirement")
        t.add_column(col, min_width=max(widest, words), overflow="fold", no_wrap=col == "strategy",
                     justify="left" if left else "right")
    for row in rows:
        _add_row(t, *row)
    return t


def _print_table(out: Console, t: Table) -> None:
    """A table at the console's width, or wider when its unbreakable cells need more (a terminal
    then wraps the long lines whole rather than cutting a strategy's text)."""
    need = Measurement.get(out, out.options, t).minimum
    out.print(t, width=max(out.width, need))


SEARCH_COLUMNS = ("#", "strategy", "GPUs", "memory used", "TTFT", "TPOT", "decode (tokens/s/GPU)",
                  "meets requirements", "binding requirement")
PARETO_COLUMNS = ("strategy", "GPUs", "TTFT", "TPOT", "decode (tokens/s/GPU)")


def _print_search(out: Console, found: SearchResult, top: int, svg_path: Path, plan: Plan) -> None:
    """`dagc search` as text: the counts, the best `top`, the Pareto front and where its plot is.

    The strategy text carries its micro-batches and overlap (`… with microbatches 2 overlap
    none`), so they have no columns of their own.
    """
    out.print(f"{found.counts_text()}; in "
              f"{found.seconds:.2f} s ({found.evaluated / max(found.seconds, 1e-9):,.0f} per second); objective "
              f"{found.objective}, subject to the plan's requirements", markup=False)
    best = found.ranked[:top]
    varied = any(c.batch is not None for c in best)       # `batch = max`: each at the largest batch it serves
    # the figure the objective ranks by, to the digit that tells the rows apart
    ttft, tpot = (3 if found.objective == "ttft" else 1), (3 if found.objective == "tpot" else 1)
    from ..plan.plan import RequirementKind as K
    from ..verdict.verdict import near_text

    def shown(kind: K, value: float, text: str) -> str:
        return near_text(plan, kind, value, text)          # beside a requirement's target: its digits

    rows: list[tuple[str, ...]] = [(str(k), c.text, *((f"{c.batch:,}",) if varied else ()), str(c.gpus),
             shown(K.MEMORY, c.memory_fraction, f"{c.memory_fraction * 100:.0f} %"),   # as `memory <= 80 %` reads it
             shown(K.TTFT, c.metrics["ttft_s"], format_si(c.metrics["ttft_s"], Dimension.TIME, ttft)),
             shown(K.TPOT, c.metrics["tpot_s"], format_si(c.metrics["tpot_s"], Dimension.TIME, tpot)),
             f"{c.metrics['decode_tokens_per_s_per_gpu']:,.1f}", "yes" if c.meets_requirements else "no",
             c.binding or "—") for k, c in enumerate(best, 1)]
    columns = SEARCH_COLUMNS[:2] + (("batch (max)",) if varied else ()) + SEARCH_COLUMNS[2:]
    if not any(c.binding for c in best):        # no requirement binds (none given): no column of dashes
        rows, columns = [row[:-1] for row in rows], columns[:-1]
    _print_table(out, _strategy_table(f"best {len(best)}", columns, rows))
    if any(c.binding for c in best):
        out.print("binding requirement: " + ("what one more request would break (memory, or a requirement)"
                                             if varied else "the requirement with the least margin: of a candidate "
                                             "that meets them all, the first to fail if things get worse; of one "
                                             "that does not, the one it misses by the most"),
                  markup=False)
    front = sorted(found.pareto, key=lambda c: c.metrics["tpot_s"])[:20]
    if not front:
        out.print("Pareto front: empty — no candidate meets the requirements (their binding requirement is in the "
                  "table above)", markup=False)
        out.print(f"wrote {svg_path}", markup=False)
        return
    rows = [(c.text, *((f"{c.batch:,}",) if varied and c.batch is not None else ()), str(c.gpus),
             format_si(c.metrics["ttft_s"], Dimension.TIME),
             format_si(c.metrics["tpot_s"], Dimension.TIME), f"{c.metrics['decode_tokens_per_s_per_gpu']:,.1f}",
             *((c.binding or "—",) if varied else ()))          # with `batch = max`: what one more request breaks
            for c in front]
    columns = (PARETO_COLUMNS[:1] + (("batch (max)",) if varied else ()) + PARETO_COLUMNS[1:]
               + (("binding requirement",) if varied else ()))
    _print_table(out, _strategy_table("Pareto front (meeting the requirements): decode tokens/s per GPU vs TPOT",
                                      columns, rows))
    out.print(f"wrote {svg_path}", markup=False)


# ---------------------------------------------------------------- dagc presets

Rows = tuple[tuple[str, ...], ...]

PRESET_COLUMNS: dict[str, tuple[str, ...]] = {
    "model presets": ("preset", "layers", "hidden", "heads/kv", "vocab", "experts/top_k", "expert ffn", "params",
                      "active"),
    "GPU presets": ("preset", "memory", "16-bit", "fp8", "HBM", "intra-node", "kernel profile"),
    'kernel profiles (cluster { kernels = "…" })': ("profile", "measured on", "software", "date",
                                                    "per-kernel floor"),
}


def _print_presets(out: Console, *tables: Rows) -> None:
    """The tables of `dagc presets`, one per title of PRESET_COLUMNS (rows from `preset_rows`)."""
    for (title, columns), rows in zip(PRESET_COLUMNS.items(), tables, strict=True):
        t = Table(title=title, title_justify="left")
        for col in columns:
            t.add_column(col)
        for row in rows:
            _add_row(t, *row)
        out.print(t)


def preset_rows() -> tuple[Rows, Rows, Rows]:
    """The rows of `dagc presets` (models, GPUs, kernel profiles), computed from the built-in data.

    `dagc presets` prints them from `dagc.cli.builtin_text`, generated from this function so that the
    command loads no compiler module; tests/test_startup.py keeps the two equal.
    """
    from ..kernels.kernels import builtin_profile, profile_names
    from ..lang.model import model_from_preset
    from ..plan.params import active_params, total_params
    from ..plan.presets import GPU_PRESETS, MODEL_PRESETS
    models = []
    for name in MODEL_PRESETS:
        m = model_from_preset(name)
        heads = f"{m.heads} (MLA)" if m.attention.value == "mla" else f"{m.heads}/{m.kv_heads}"
        models.append((name, str(m.layers), str(m.hidden), heads, str(m.vocab), f"{m.moe.experts}/{m.moe.top_k}",
                       str(m.moe.ffn), f"{total_params(m) / 1e9:.1f} B", f"{active_params(m) / 1e9:.1f} B"))
    gpus = [(g.name, format_bytes(g.memory_bytes), format_si(g.flops_16bit, Dimension.COMPUTE),
             format_si(g.flops_8bit, Dimension.COMPUTE) if g.flops_8bit else "—",
             format_si(g.hbm_bytes_per_s, Dimension.BANDWIDTH),
             format_si(g.intra_node_bytes_per_s, Dimension.BANDWIDTH), _profile_of(g))
            for g in GPU_PRESETS.values()]
    profiles = []
    for name in profile_names():
        p = builtin_profile(name)
        profiles.append((name, p.provenance.gpu, p.provenance.software, p.provenance.date,
                         format_si(p.floor_s, Dimension.TIME)))
    return tuple(models), tuple(gpus), tuple(profiles)


def _profile_of(gpu) -> str:
    """The profile a GPU preset's estimates use by default."""
    from ..kernels.kernels import nearest_profile, profile_names
    if gpu.name in profile_names():
        return gpu.name
    if gpu.compute_efficiency is not None:
        return "— (constant efficiencies)"
    return f"{nearest_profile(gpu).name}'s, at its peaks"
