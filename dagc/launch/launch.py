"""`dagc launch`, the engine-neutral part: a resolved strategy → what a serving engine must be told.

Input: a `Plan`, a valid `Strategy` and its `Layout`, and an engine's table (`EngineTable`, one
module per engine: `launch_vllm`, `launch_sglang`, `launch_trtllm`; `launch_engines` lists them).
Output: a `Launch` — the commands per node, the files to write (TensorRT-LLM's extra options
YAML), notes, or the located E7xx diagnostics of what the engine cannot express — and, for a
refused strategy, the `Nearest` strategy the engine can run with dagc's own figures for it.

What is engine-neutral lives here: the degrees read from the layout (`Degrees`), which nodes
and GPUs each whole-model replica (`dp`) occupies (`placements`: one server per replica, as
every engine runs whole-model replicas as separate servers behind a load balancer), the layer
split and whether the engine's default matches it, the model path, the nodes of each stage in
dagc's layout (`dagc_stage_nodes`, which each table compares with its engine's own rank order),
what the engines' overlap options run (`overlap_note`), and the search for the nearest
expressible strategy. The engine tables only say which flags and which refusals.
The library never prints; `dagc.cli.launch` renders.
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

from ..diagnostics import Diagnostic, quote
from ..lang.lower import model_from_preset
from ..layout.layout import Layout, resolve
from ..plan.plan import Overlap, Plan, Strategy, overlap_span
from ..rules.launch import engine_refusal
from ..search.space import strategy_text
from ..source import Span
from ..verdict.check import check

__all__ = ["BASE_PORT", "HF_IDS", "MAX_LISTED_NODES", "MAX_LISTED_REPLICAS", "OWN_HEADER_END", "Command", "Degrees",
           "EngineTable", "GeneratedFile", "Launch", "ModelPath", "Nearest", "Placement", "Refusal", "Setup",
           "dagc_stage_nodes", "degrees", "launch", "model_path", "nearest", "overlap_note", "placements",
           "shown_commands"]

BASE_PORT = 8000            # the HTTP port of the first server on a node; the next server on it takes 8001, …
MAX_LISTED_REPLICAS = 8     # replicas whose commands are listed (a plan may have a million); the rest repeat them
MAX_LISTED_NODES = 32       # nodes of one replica whose commands a `Launch` holds; the rest follow the pattern
OWN_HEADER_END = "(dagc launch)"   # how the first line of every file `dagc launch` writes ends
NEAREST_TRIES = 8           # candidates `check`ed, nearest first, before giving up on a nearest strategy

# The Hugging Face repositories of the built-in model presets (the model each preset's dimensions are from).
HF_IDS = {
    "mixtral-8x7b": "mistralai/Mixtral-8x7B-Instruct-v0.1",
    "mixtral-8x22b": "mistralai/Mixtral-8x22B-Instruct-v0.1",
    "qwen3-30b-a3b": "Qwen/Qwen3-30B-A3B",
    "qwen3-235b-a22b": "Qwen/Qwen3-235B-A22B",
    "deepseek-v3": "deepseek-ai/DeepSeek-V3",
}


@dataclass(frozen=True)
class Degrees:
    """A strategy's degrees as the engines see them: per stage, attention `tp × cp × adp` and experts
    `etp × ep × edp` over the same `group` GPUs; `dp` whole replicas of `pp` stages."""

    dp: int
    pp: int
    group: int
    tp: int
    cp: int
    sp: bool
    adp: int
    ep: int
    etp: int
    edp: int
    has_experts: bool
    dense_layers: int
    layers: int
    split: tuple[int, ...]
    split_explicit: bool
    overlap: Overlap
    gpus_per_node: int
    microbatches: int = 1          # scheduled by dagc (what its figures are for)

    @property
    def replica_gpus(self) -> int:
        return self.pp * self.group

    @property
    def gpus(self) -> int:
        return self.dp * self.replica_gpus


def degrees(plan: Plan, strategy: Strategy, layout: Layout) -> Degrees:
    """The engine-neutral degrees of a resolved strategy."""
    lay, model = layout, plan.model
    return Degrees(dp=lay.dp, pp=lay.pp, group=lay.group_size, tp=lay.tp, cp=lay.cp, sp=lay.sp, adp=lay.adp,
                   ep=lay.ep, etp=lay.etp, edp=lay.edp, has_experts=model.has_experts,
                   dense_layers=model.dense_layer_count if model.has_experts else 0, layers=model.layers,
                   split=lay.layers_per_stage, split_explicit=lay.split_is_explicit,
                   overlap=strategy.workload_for(plan.workload).overlap, gpus_per_node=lay.gpus_per_node,
                   microbatches=lay.microbatches)


def dagc_stage_nodes(d: Degrees) -> tuple[frozenset[int], ...]:
    """The nodes of each stage's GPUs in dagc's rank order, relative to the replica's first node:
    stage s holds the replica's ranks s·G … s·G + G − 1 (a replica inside one node: node 0).

    Example:
        >>> from dagc.plan.plan import Overlap
        >>> d = Degrees(dp=1, pp=4, group=8, tp=2, cp=1, sp=False, adp=4, ep=8, etp=1, edp=1, has_experts=True,
        ...             dense_layers=0, layers=32, split=(8,) * 4, split_explicit=False, overlap=Overlap.NONE,
        ...             gpus_per_node=8)
        >>> [sorted(n) for n in dagc_stage_nodes(d)]
        [[0], [1], [2], [3]]
    """
    g, gpn = d.group, d.gpus_per_node
    if d.replica_gpus <= gpn:
        return (frozenset({0}),) * d.pp
    return tuple(frozenset(range(s * g // gpn, (s * g + g - 1) // gpn + 1)) for s in range(d.pp))


@dataclass(frozen=True)
class Placement:
    """Where one whole-model replica runs: its nodes, the local GPUs it uses on each, its HTTP port."""

    replica: int
    nodes: range
    gpus: range
    port: int
    shares_node: bool = False      # other replicas run on its node: it is given its GPUs by CUDA_VISIBLE_DEVICES

    @property
    def head(self) -> int:
        return self.nodes[0]

    @property
    def listed_nodes(self) -> range:
        """The nodes whose commands are written out (at most MAX_LISTED_NODES)."""
        return self.nodes[:MAX_LISTED_NODES]

    @property
    def whole_nodes(self) -> bool:
        """Whether the replica has its nodes to itself (no CUDA_VISIBLE_DEVICES needed)."""
        return not self.shares_node


def _straddles(n: int, per_node: int, dp: int) -> bool:
    """Whether a replica of n GPUs (of dp, placed one after another) spans part of a node: larger
    than a node and not whole nodes, or smaller and crossing a node boundary. The offsets of the
    replicas in a node repeat with a period of at most `per_node` replicas."""
    if n > per_node:
        return n % per_node != 0
    return any((r * n) % per_node + n > per_node for r in range(min(dp, per_node)))


def placements(d: Degrees, limit: int | None = None) -> list[Placement] | None:
    """One placement per replica (the first `limit`) in dagc's rank order (replica r holds ranks
    r·pp·G …), or None when a replica would straddle nodes unevenly (E701).

    Example:
        >>> from dagc.plan.plan import Overlap
        >>> d = Degrees(dp=2, pp=1, group=4, tp=4, cp=1, sp=False, adp=1, ep=1, etp=4, edp=1, has_experts=True,
        ...             dense_layers=0, layers=32, split=(32,), split_explicit=False, overlap=Overlap.NONE,
        ...             gpus_per_node=8)
        >>> [(tuple(p.nodes), tuple(p.gpus), p.port) for p in placements(d)]
        [((0,), (0, 1, 2, 3), 8000), ((0,), (4, 5, 6, 7), 8001)]
    """
    n, per_node = d.replica_gpus, d.gpus_per_node
    if _straddles(n, per_node, d.dp):
        return None
    out = []
    for r in range(d.dp if limit is None else min(d.dp, limit)):
        start = r * n
        node, first = divmod(start, per_node)
        if n <= per_node:
            out.append(Placement(r, range(node, node + 1), range(first, first + n), BASE_PORT + first // n,
                                 shares_node=n < per_node and d.dp > 1))
        else:
            out.append(Placement(r, range(node, node + n // per_node), range(per_node), BASE_PORT))
    return out


@dataclass(frozen=True)
class ModelPath:
    """What the engine is told to load: a Hugging Face id, a local directory, or a placeholder."""

    text: str
    why: str
    placeholder: bool = False


def _config_written(plan: Plan) -> str | None:
    """The path a `model from "…"` statement names, as written; None for the other model forms."""
    span = plan.span_of("model")
    words = span.text.split(None, 2) if span is not None else []
    if len(words) == 3 and words[1] == "from":
        m = re.match(r'"([^"]*)"', words[2])
        return m.group(1) if m else None
    return None


def _placeholder_for(name: str) -> str:
    return "/path/to/" + (re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "model")


def model_path(plan: Plan) -> ModelPath:
    """The model path the commands use: the directory of a `model from` config.json (relative to
    where dagc runs), the Hugging Face id of a built-in preset's model with its own dimensions, else
    `/path/to/<name>`, a placeholder to replace.

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> p = load_plan_text('model preset "qwen3-30b-a3b" cluster { gpus = 4 gpu preset "h100-sxm" } '
        ...                    'workload { batch = 8 prompt = 512 generate = 64 } strategy tp 4')
        >>> model_path(p).text
        'Qwen/Qwen3-30B-A3B'
    """
    written, span, name = _config_written(plan), plan.span_of("model"), plan.model.name
    if written is not None and span is not None:
        directory = PurePath(span.source.path).parent / PurePath(written).parent
        return ModelPath(str(directory), "the directory of the plan's config.json, which must hold the weights too")
    if name in HF_IDS:
        if plan.model == model_from_preset(name):
            return ModelPath(HF_IDS[name], f"the Hugging Face id of preset `{name}`")
        return ModelPath(_placeholder_for(name), f"preset `{name}` with fields overridden: replace the path "
                         "with the checkpoint of that model", placeholder=True)
    return ModelPath(_placeholder_for(name), f"model `{quote(name)}` has no known checkpoint: replace the path with "
                     "its Hugging Face id or local directory", placeholder=True)


@dataclass(frozen=True)
class Refusal:
    """An engine rule the strategy breaks: its code, the message, and which part of the strategy
    (`dp`, `pp`, `tp`, `cp`, `ep`, `etp`, `split`, `overlap`) the engine cannot say."""

    code: str
    message: str
    at: str


@dataclass(frozen=True)
class Command:
    """One shell command to run on `node` for `replica`."""

    node: int
    replica: int
    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()

    @property
    def text(self) -> str:
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env)
        return (env + " " if env else "") + " ".join(_quote(a) for a in self.argv)


def _quote(arg: str) -> str:
    # `$NODE0_ADDR` placeholders stay expandable; everything else is quoted for the shell.
    return arg if re.fullmatch(r"\$NODE\d+_ADDR(:\d+)?(,\$NODE\d+_ADDR(:\d+)?)*", arg) else shlex.quote(arg)


@dataclass(frozen=True)
class GeneratedFile:
    name: str
    text: str


@dataclass(frozen=True)
class Setup:
    """What an engine table builds its commands from."""

    d: Degrees
    model: ModelPath
    places: tuple[Placement, ...]
    split_env: tuple[tuple[str, str], ...]   # the layer partition variable, when the engine's default differs
    label: str                               # the strategy as the user named or wrote it
    text: str                                # the strategy's text (without name or options)
    file_stem: str                           # for files the engine reads (TensorRT-LLM's YAML)
    file_dir: str | None                     # where such files are written (-o DIR); None: printed only


@dataclass(frozen=True)
class EngineTable:
    """One engine's mapping (a module per engine holds its `TABLE`)."""

    key: str                                  # the `--engine` value
    name: str
    version: str                              # the engine version the flags follow
    split_env: str | None                     # the environment variable of the layer split; None: cannot be set
    default_split: Callable[[int, int], tuple[int, ...]]
    refusals: Callable[[Degrees], list[Refusal]]
    commands: Callable[[Setup], tuple[list[Command], list[GeneratedFile], list[str]]]


@dataclass(frozen=True)
class Launch:
    """The launch of one strategy on one engine: commands, files and notes, or refusals."""

    engine: str
    name: str
    version: str
    strategy: str
    gpus: int
    gpus_per_node: int
    replicas: int
    model: ModelPath
    commands: tuple[Command, ...] = ()
    files: tuple[GeneratedFile, ...] = ()
    notes: tuple[str, ...] = ()
    refusals: tuple[Diagnostic, ...] = ()
    refused_at: tuple[str, ...] = field(default=(), repr=False)

    @property
    def ok(self) -> bool:
        return not self.refusals

    @property
    def nodes(self) -> int:
        """Nodes the strategy runs on (dagc's placement: node of rank = rank // gpus_per_node)."""
        return -(-self.gpus // self.gpus_per_node) if self.gpus_per_node else 0


def _span(plan: Plan, strategy: Strategy, key: str) -> Span | None:
    return overlap_span(plan, strategy) if key == "overlap" else strategy.span_of(key)


def _engine_split(table: EngineTable, d: Degrees) -> tuple[tuple[str, str], ...]:
    if d.pp == 1 or table.split_env is None or d.split == table.default_split(d.layers, d.pp):
        return ()
    return ((table.split_env, ",".join(map(str, d.split))),)


def _file_stem(strategy: Strategy) -> str:
    # the strategy's name, else its text (`tp 1 ; ep 8` → `tp-1-ep-8`): distinct strategies, distinct files
    return re.sub(r"[^A-Za-z0-9_-]+", "-", strategy.name or strategy.text).strip("-")[:60] or "strategy"


def _bare_text(s: Strategy) -> str:
    """The strategy's degrees as text, without its name or `with` options."""
    expert = None if s.ep is None and s.etp is None else (s.ep or 1, s.etp or 1)
    return strategy_text(s.dp, s.pp, s.pp_split, s.tp, s.cp, s.sp, expert)


def _refusals(table: EngineTable, d: Degrees) -> list[Refusal]:
    found = list(table.refusals(d))
    if placements(d) is None:
        found.append(Refusal("E701", f"{table.name}: a replica of {d.replica_gpus} GPUs (pp × stage group) does "
                             f"not sit on whole nodes of {d.gpus_per_node} GPUs, nor share one evenly", "pp"))
    return found


def launch(plan: Plan, strategy: Strategy, layout: Layout, table: EngineTable, file_dir: str | None = None) -> Launch:
    """The commands that start `strategy` on the engine of `table`, or why it cannot.

    Example:
        >>> from dagc.verdict.check import check
        >>> from dagc.launch.vllm import TABLE
        >>> from dagc.lang.load import load_plan_text
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" } '
        ...                    'workload { batch = 8 prompt = 512 generate = 64 } strategy tp 2 ; ep 8')
        >>> r = check(p)[0]
        >>> launch(p, r.strategy, r.layout, TABLE).commands[0].argv[3:]
        ('--tensor-parallel-size', '2', '--data-parallel-size', '4', '--enable-expert-parallel', '--port', '8000')
    """
    d = degrees(plan, strategy, layout)
    model = model_path(plan)
    refused = _refusals(table, d)
    if refused:
        diags = tuple(engine_refusal(r.code, r.message, _span(plan, strategy, r.at)) for r in refused)
        return Launch(table.key, table.name, table.version, strategy.label, d.gpus, d.gpus_per_node, d.dp,
                      model, refusals=diags,
                      refused_at=tuple(r.at for r in refused))
    places = placements(d, MAX_LISTED_REPLICAS)
    assert places is not None         # _refusals says E701 otherwise
    setup = Setup(d, model, tuple(places), _engine_split(table, d), strategy.label, _bare_text(strategy),
                  _file_stem(strategy), file_dir)
    commands, files, notes = table.commands(setup)
    notes = [*notes, *_common_notes(d, setup), *_address_note(commands)]
    return Launch(table.key, table.name, table.version, strategy.label, d.gpus, d.gpus_per_node, d.dp, model,
                  commands=tuple(commands), files=tuple(files), notes=tuple(notes))


def _common_notes(d: Degrees, s: Setup) -> list[str]:
    notes = []
    if d.dp > 1:
        notes.append(f"dp {d.dp}: {d.dp} separate servers (ports from {BASE_PORT}); put an HTTP load balancer in "
                     "front of them")
    spread = len(s.places[0].nodes)
    if spread > MAX_LISTED_NODES:
        notes.append(f"a replica spans {spread:,} nodes: the commands of its first {MAX_LISTED_NODES} are listed; "
                     "each further node runs the same with its own node rank")
    return notes


def overlap_note(s: Setup, engine: str, flag: str) -> list[str]:
    """What the engine's micro-batch overlap option runs, against what dagc costed.

    The engines split each batch they run (one per pipeline stage in flight: P of them) in two and
    overlap the halves; dagc's `overlap microbatch` pairs its own K micro-batches two by two. They
    are the same schedule when K = 2·P."""
    d = s.d
    if d.overlap is not Overlap.MICROBATCH:
        return []
    batches = f"each of its {d.pp} in-flight batches (one per stage)" if d.pp > 1 else "each batch"
    runs = f"{flag}: {engine} splits {batches} in two and overlaps the halves"
    if d.microbatches == 2 * d.pp:
        return [f"{runs}: what dagc costed ({d.microbatches} micro-batches, paired two by two)"]
    costed = "1 micro-batch, which overlaps nothing" if d.microbatches == 1 else \
        f"{d.microbatches} micro-batches paired two by two"
    return [f"{runs}, which dagc costs as `{s.text} with microbatches {2 * d.pp} overlap microbatch`; dagc's "
            f"figures for this strategy are for {costed}"]


def _address_note(commands: Sequence[Command]) -> list[str]:
    notes = []
    if any("$NODE" in c.text for c in commands):
        notes.append("`$NODE<k>_ADDR`: the address of node k (node k holds dagc's ranks k·gpus_per_node …)")
    return notes


def shown_commands(result: Launch, limit: int = MAX_LISTED_REPLICAS) -> tuple[list[Command], str | None]:
    """The commands of the first `limit` replicas, and a line saying what the others run. Replicas
    are numbered from 0, as dagc's ranks: replica r holds ranks r·pp·G …"""
    shown = [c for c in result.commands if c.replica < limit]
    if result.replicas <= limit:
        return shown, None
    first = limit * (result.gpus // result.replicas) // result.gpus_per_node
    others = f"replica {limit:,} runs" if result.replicas == limit + 1 else \
        f"replicas {limit:,}–{result.replicas - 1:,} run"
    nodes = f"node {first:,}" if first == result.nodes - 1 else f"nodes {first:,}–{result.nodes - 1:,}"
    return shown, f"{others} the same commands on {nodes} (with their own node addresses, GPUs and ports)"


# ------------------------------------------------------------------ the nearest strategy an engine can run

@dataclass(frozen=True)
class Nearest:
    """A strategy the engine can run, as text `--strategy` accepts, with dagc's figures for it."""

    text: str
    metrics: dict
    batch: int | None = None       # with `batch = max`: the batch its figures are for (its own largest)


def _divisors(n: int) -> list[int]:
    return [k for k in range(1, n + 1) if n % k == 0]


def _experts(d: Degrees) -> Iterator[tuple[int, int] | None]:
    yield None
    if d.has_experts:
        for ep in _divisors(d.group):
            for etp in _divisors(d.group // ep):
                yield ep, etp


def _candidates(plan: Plan, strategy: Strategy, d: Degrees, refused: Sequence[str]) -> Iterator[Strategy]:
    split = None if "split" in refused else strategy.pp_split
    overlap = Overlap.NONE if "overlap" in refused else strategy.overlap
    for tp in _divisors(d.group):
        for cp in _divisors(d.group // tp):
            for expert in _experts(d):
                text = strategy_text(d.dp, d.pp, split, tp, cp, strategy.sp and tp > 1, expert)
                yield Strategy(text=text, dp=d.dp, pp=d.pp, pp_split=split, tp=tp, cp=cp, sp=strategy.sp and tp > 1,
                               ep=expert[0] if expert else None, etp=expert[1] if expert else None,
                               microbatches=strategy.microbatches, overlap=overlap)


def _distance(a: Degrees, b: Degrees) -> float:
    axes = ("tp", "cp", "adp", "ep", "etp", "edp")
    moved = sum(abs(math.log2(getattr(a, k) / getattr(b, k))) for k in axes)
    return moved + (a.split != b.split) + (a.overlap != b.overlap)


def _with_options(s: Strategy) -> str:
    opts = []
    if s.microbatches is not None:
        opts.append(f"microbatches {s.microbatches}")
    if s.overlap is not None:
        opts.append(f"overlap {s.overlap.value}")
    return s.text + (" with " + " ".join(opts) if opts else "")


def nearest(plan: Plan, strategy: Strategy, layout: Layout, table: EngineTable) -> Nearest | None:
    """The valid strategy on the same GPUs (same dp, pp and stage group) that the engine can run and
    that changes the fewest degrees the least (in factors of two), with dagc's figures; None if none.

    It keeps what the engine can say and changes only what it cannot: the split when the engine
    refused it, the overlap when it has none, else the in-stage degrees."""
    d = degrees(plan, strategy, layout)
    refused = [r.at for r in _refusals(table, d)]
    ranked = []
    for cand in _candidates(plan, strategy, d, refused):
        lay = resolve(plan.model, plan.cluster, cand.workload_for(plan.workload), cand)
        if lay.group_size != d.group or lay.gpus_used != layout.gpus_used:
            continue
        cd = degrees(plan, cand, lay)
        if lay.adp * lay.tp * lay.cp != d.group or _refusals(table, cd):
            continue
        # Among equals, the form the user wrote (an expert domain or none), then the shortest text.
        form = (cand.ep is None) != (strategy.ep is None and strategy.etp is None)
        ranked.append((_distance(d, cd), form, len(cand.text), _with_options(cand)))
    for *_, text in sorted(set(ranked))[:NEAREST_TRIES]:
        result = check(plan, text)[0]
        if result.valid and result.metrics:
            batch = result.layout.batch if plan.workload.batch_max and result.layout is not None else None
            return Nearest(text, result.metrics, batch)
    return None
