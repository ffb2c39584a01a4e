"""`dagc launch`, the engine-neutral part: a resolved strategy → what a serving engine must be told.

Input: a `Plan`, a valid `Strategy` and its `Layout`, and an engine's table (`EngineTable`, one
module per engine: `dagc.launch.vllm`, `.sglang`, `.trtllm`; `dagc.launch.engines` lists them).
Output: a `Launch` — the commands per node, the files to write (TensorRT-LLM's extra options
YAML), notes, or the located E7xx diagnostics of what the engine cannot express (`refusals_of`).

What is engine-neutral lives here and in `dagc.launch.degrees` (the degrees read from the layout,
the nodes of each stage, where each replica runs): the layer split and whether the engine's
default matches it, the model path, what the engines' overlap options run (`overlap_note`), and
which commands are listed (`shown_commands`). For a refused strategy, `dagc.launch.nearest` finds
the nearest one the engine can run. The engine tables only say which flags and which refusals.
The library never prints; `dagc.cli.launch` renders.
"""

from __future__ import annotations

import os
import posixpath
import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

from ..diagnostics import Diagnostic, code, quote
from ..lang.lower import model_from_preset
from ..layout.layout import Layout
from ..memory.memory import MemoryBreakdown
from ..plan.cluster import Vendor
from ..plan.plan import Plan, overlap_span
from ..plan.printer import aggregated, options_source, with_split
from ..plan.strategy import Strategy
from ..plan.workload import Overlap
from ..rules.launch import engine_refusal
from ..source import Span
from .addresses import address_note
from .checkpoint import Checkpoint, checkpoint, preset_with_dtypes, published_fp8, safe_path
from .degrees import BASE_PORT, MAX_LISTED_NODES, Degrees, Placement, degrees, placements
from .file_names import STEM_HASH, STEM_MAX, strategy_file_stem
from .kv_start import kv_start_refusal
from .serving import Serving, serving, strategy_memory
from .sp import sp_refusal
from .speculative import config_written, mtp_refusal

__all__ = ["HF_IDS", "MODEL_FLAGS", "engine_checkpoint", "model_flags",
           "MAX_LISTED_REPLICAS", "OWN_HEADER_END", "Command", "EngineTable", "GeneratedFile", "Launch",
           "ModelPath", "Refusal", "Setup", "launch", "launch_refusals", "model_path", "overlap_note", "refusals_of",
           "shown_commands", "bare_text", "engine_split", "field_span", "path_refusal", "strategy_file_stem",
           "STEM_MAX", "STEM_HASH"]

MAX_LISTED_REPLICAS = 8     # replicas whose commands are listed (a plan may have a million); the rest repeat them
OWN_HEADER_END = "(dagc launch)"   # how the first line of every file `dagc launch` writes ends

# The Hugging Face repositories of the built-in model presets (the model each preset's dimensions are from).
HF_IDS = {
    "mixtral-8x7b": "mistralai/Mixtral-8x7B-Instruct-v0.1",
    "mixtral-8x22b": "mistralai/Mixtral-8x22B-Instruct-v0.1",
    "qwen3-30b-a3b": "Qwen/Qwen3-30B-A3B",
    "qwen3-235b-a22b": "Qwen/Qwen3-235B-A22B",
    "deepseek-v3": "deepseek-ai/DeepSeek-V3",
    "gpt-oss-120b": "openai/gpt-oss-120b",
    "gpt-oss-20b": "openai/gpt-oss-20b",
    "kimi-k2": "moonshotai/Kimi-K2-Instruct",
    "llama-4-maverick": "meta-llama/Llama-4-Maverick-17B-128E-Instruct",
    "llama-4-scout": "meta-llama/Llama-4-Scout-17B-16E-Instruct",
    "glm-4.5": "zai-org/GLM-4.5",
    "qwen3-coder-480b-a35b": "Qwen/Qwen3-Coder-480B-A35B-Instruct",
}
# What an engine needs to load a preset's checkpoint besides its id, by engine key: Kimi-K2's
# repository ships its own tokenizer code (its README serves it with these flags on vLLM and SGLang;
# trtllm-serve's `--trust_remote_code`, tensorrt_llm/commands/serve.py).
MODEL_FLAGS: dict[str, dict[str, tuple[str, ...]]] = {
    "kimi-k2": {"vllm": ("--trust-remote-code",), "sglang": ("--trust-remote-code",),
                "trtllm": ("--trust_remote_code",)},
}


@dataclass(frozen=True)
class ModelPath:
    """What the engine is told to load: a Hugging Face id, a local directory, or a placeholder."""

    text: str
    why: str
    placeholder: bool = False
    local: bool = False          # a directory on disk (`model from` config.json), relative to where dagc runs


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
    written, span, name = config_written(plan), plan.span_of("model"), plan.model.name
    if written is not None and span is not None:
        directory = PurePath(span.source.path).parent / PurePath(written).parent
        return ModelPath(safe_path(str(directory)), "the directory of the plan's config.json, which must hold the "
                         "weights too", local=True)
    if name in HF_IDS:
        if plan.model == model_from_preset(name) or preset_with_dtypes(plan):
            dtypes = "" if plan.model == model_from_preset(name) else \
                f", its dtypes as the plan costs them ({plan.model.weights.value} weights, " \
                f"{plan.model.kv_cache.value} KV cache: see each engine's flags)"
            if (fp8 := published_fp8(plan)) is not None:
                return ModelPath(fp8, f"the fp8 checkpoint the publisher of preset `{name}` released{dtypes}")
            return ModelPath(HF_IDS[name], f"the Hugging Face id of preset `{name}`{dtypes}")
        return ModelPath(_placeholder_for(name), f"preset `{name}` with fields overridden: replace the path "
                         "with the checkpoint of that model", placeholder=True)
    return ModelPath(_placeholder_for(name), f"model {code(name)} has no known checkpoint: replace the path with "
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
        env = " ".join(self.env_words)
        return (env + " " if env else "") + self.argv_text

    @property
    def env_words(self) -> tuple[str, ...]:
        """Each `NAME=value` of the environment, quoted for the shell (`$NODE<k>_ADDR` left to expand)."""
        return tuple(f"{k}={_quote(v)}" for k, v in self.env)

    @property
    def argv_text(self) -> str:
        return " ".join(_quote(a) for a in self.argv)


def _quote(arg: str) -> str:
    # `$NODE0_ADDR` placeholders (in a host list or a URL) stay expandable; everything else is quoted for the shell.
    return arg if re.fullmatch(_ADDRESSES, arg) else shlex.quote(arg)


_ADDRESS = r"(http://)?\$NODE\d+_ADDR(:\d+)?"
_ADDRESSES = f"{_ADDRESS}(,{_ADDRESS})*"


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
    serving: Serving | None = None           # what the serving flags are derived from; None: none written (a pool)
    extra_flags: tuple[str, ...] = ()        # a pool's server (dagc.launch.pools): its role's flags, before --port
    extra_yaml: str = ""                     # a pool's server: its role's settings in TensorRT-LLM's YAML
    checkpoint: Checkpoint = Checkpoint()    # the weights' quantization and the KV cache's dtype the plan costs


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
    runs_on: frozenset[Vendor] = frozenset(Vendor)   # the makers of the GPUs the engine's builds run on


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
    pool_nodes: int = 0      # a disaggregated deployment (dagc.launch.pools): the nodes its pools span; 0: none

    @property
    def ok(self) -> bool:
        return not self.refusals

    @property
    def nodes(self) -> int:
        """Nodes the strategy runs on (dagc's placement: node of rank = rank // gpus_per_node)."""
        if self.pool_nodes:
            return self.pool_nodes
        return -(-self.gpus // self.gpus_per_node) if self.gpus_per_node else 0


def field_span(plan: Plan, strategy: Strategy, key: str) -> Span | None:
    if key.startswith(("workload.", "cluster.", "model.")) or key == "model":     # the plan's parts, not the strategy
        return plan.span_of(key)
    return overlap_span(plan, strategy) if key == "overlap" else strategy.span_of(key)


def engine_split(table: EngineTable, d: Degrees) -> tuple[tuple[str, str], ...]:
    if d.pp == 1 or table.split_env is None or d.split == table.default_split(d.layers, d.pp):
        return ()
    return ((table.split_env, ",".join(map(str, d.split))),)


def bare_text(s: Strategy) -> str:
    """The strategy's degrees as text, without its name or `with` options."""
    return with_split(aggregated(dp=s.dp, pp=s.pp, tp=s.tp, cp=s.cp, sp=s.sp, ep=s.ep, etp=s.etp), s.pp_split).text


def refusals_of(table: EngineTable, d: Degrees) -> list[Refusal]:
    """What the engine of `table` cannot express of `d`: E728 alone when the engine does not run on the GPU's
    maker's GPUs; else its table's refusals, E709 for `sp` (`dagc.launch.sp`), E701 when a replica would straddle
    nodes unevenly, and E706 when `method = mtp` meets a checkpoint without MTP weights."""
    if d.vendor is not None and d.vendor not in table.runs_on:
        makers = " and ".join(sorted(v.name for v in table.runs_on))
        return [Refusal("E728", f"{table.name} runs on {makers} GPUs only; {d.gpu} is an {d.vendor.name} GPU",
                        "cluster.gpu")]
    found = list(table.refusals(d))
    sp = sp_refusal(d, table.key, table.name)
    if sp is not None:
        found.append(Refusal("E709", sp, "sp"))
    mtp = mtp_refusal(d.speculative, d.mtp, table.key, table.name)
    if mtp is not None:
        found.append(Refusal("E706", mtp, "workload.speculative.method"))
    if placements(d) is None:
        found.append(Refusal("E701", f"{table.name}: a replica of {d.replica_gpus} GPUs (pp × stage group) does "
                             f"not sit on whole nodes of {d.gpus_per_node} GPUs, nor share one evenly", "pp"))
    return found


def launch_refusals(plan: Plan, table: EngineTable, d: Degrees) -> list[Refusal]:
    """Everything `launch` refuses a strategy of degrees `d` for on the engine of `table`: `refusals_of`,
    and E708 for a model path no command can carry. The strategy search leaves out what this refuses on
    the engine a plan chose (`dagc.launch.engine_check.engine_refuses`)."""
    return refusals_of(table, d) + path_refusal(model_path(plan))


def launch(plan: Plan, strategy: Strategy, layout: Layout, table: EngineTable, file_dir: str | None = None,
           mem: MemoryBreakdown | None = None) -> Launch:
    """The commands that start `strategy` on the engine of `table`, or why it cannot. The commands also
    carry the serving flags dagc's figures assume (`dagc.launch.serving`, static or in flight), derived
    from `mem` (made here when not given), and the checkpoint's dtypes (`dagc.launch.checkpoint`).

    Example:
        >>> from dagc.verdict.check import check
        >>> from dagc.launch.vllm import TABLE
        >>> from dagc.lang.load import load_plan_text
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" } '
        ...                    'workload { batch = 8 prompt = 512 generate = 64 } strategy tp 2 ; ep 8')
        >>> r = check(p)[0]
        >>> launch(p, r.strategy, r.layout, TABLE).commands[0].argv[3:8]
        ('--tensor-parallel-size', '2', '--data-parallel-size', '4', '--enable-expert-parallel')
    """
    d = degrees(plan, strategy, layout)
    model = model_path(plan)
    refused = launch_refusals(plan, table, d)
    if refused:
        diags = tuple(engine_refusal(r.code, r.message, field_span(plan, strategy, r.at)) for r in refused)
        return Launch(table.key, table.name, table.version, strategy.label, d.gpus, d.gpus_per_node, d.dp,
                      model, refusals=diags, refused_at=tuple(r.at for r in refused))
    mem = mem if mem is not None else strategy_memory(plan, strategy, layout)
    served = serving(plan, strategy, layout, mem)
    short = kv_start_refusal(plan, strategy, layout, table.key, mem, served)    # it would not start (E732)
    if short is not None:
        return Launch(table.key, table.name, table.version, strategy.label, d.gpus, d.gpus_per_node, d.dp, model,
                      refusals=(short,), refused_at=("workload",))
    places = placements(d, MAX_LISTED_REPLICAS)
    assert places is not None         # refusals_of says E701 otherwise
    ckpt = engine_checkpoint(plan, table.key, model)
    if ckpt.path is not None:
        model = ModelPath(ckpt.path, model.why, placeholder=True)
    setup = Setup(d, model, tuple(places), engine_split(table, d), strategy.label, bare_text(strategy),
                  strategy_file_stem(strategy), file_dir, served,
                  extra_flags=(*ckpt.flags, *model_flags(plan, table.key)), checkpoint=ckpt)
    commands, files, notes = table.commands(setup)
    notes = [*notes, *ckpt.notes, *_common_notes(d, setup, commands),
             *address_note([c.text for c in commands], d.host_gpus)]
    return Launch(table.key, table.name, table.version, strategy.label, d.gpus, d.gpus_per_node, d.dp, model,
                  commands=tuple(commands), files=tuple(files), notes=tuple(notes))


def engine_checkpoint(plan: Plan, engine: str, model: ModelPath) -> Checkpoint:
    """The engine's checkpoint settings for the plan's dtypes (`dagc.launch.checkpoint`)."""
    return checkpoint(plan, engine, model.text, preset_with_dtypes(plan) and model.text == HF_IDS.get(plan.model.name))


def path_refusal(model: ModelPath) -> list[Refusal]:
    """E708: a model path with a control character (a newline would end the printed command), or any other the
    terminal shows as U+FFFD (a bidi override, a zero-width space); a local directory judged whole, joined to where
    dagc runs, as `dagc launch` writes it (`absolute_model`: until 2026-12-03 a newline there went into the script)."""
    text = model.text
    if model.local and not posixpath.isabs(text):
        text = posixpath.normpath(posixpath.join(os.getcwd(), text))
    bad = next((c for c in text if not c.isprintable()), None)
    if bad is None:
        return []
    return [Refusal("E708", f"the model path {quote(text)} holds a control character (U+{ord(bad):04X}), which "
                    "no command line can carry as it is printed; rename the directory", "model")]


def model_flags(plan: Plan, engine: str) -> tuple[str, ...]:
    """The flags `engine` needs to load the plan's preset's checkpoint (`MODEL_FLAGS`); none for any other."""
    name = plan.model.name
    if name not in MODEL_FLAGS or model_path(plan).text != HF_IDS.get(name):
        return ()
    return MODEL_FLAGS[name].get(engine, ())


def _common_notes(d: Degrees, s: Setup, commands: Sequence[Command]) -> list[str]:
    notes = []
    if d.dp > 1:
        notes.append(f"dp {d.dp}: {d.dp} separate servers (ports from {BASE_PORT}); put an HTTP load balancer in "
                     "front of them")
    spread = len(s.places[0].nodes)
    # a node's commands (not when one command starts them all: TensorRT-LLM's mpirun, until 2026-11-30 told so)
    if spread > MAX_LISTED_NODES and sum(c.replica == s.places[0].replica for c in commands) > 1:
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
    costs_as = s.text + options_source(2 * d.pp, Overlap.MICROBATCH, d.redundant if d.eplb else None)
    return [f"{runs}, which dagc costs as `{costs_as}`; dagc's "
            f"figures for this strategy are for {costed}"]


def shown_commands(result: Launch, limit: int = MAX_LISTED_REPLICAS) -> tuple[list[Command], str | None]:
    """The commands of the first `limit` replicas, and a line saying what the others run. Replicas
    are numbered from 0, as dagc's ranks: replica r holds ranks r·pp·G …"""
    if result.pool_nodes:           # a disaggregated deployment: its commands are already the listed ones
        return list(result.commands), None
    shown = [c for c in result.commands if c.replica < limit]
    if result.replicas <= limit:
        return shown, None
    first = limit * (result.gpus // result.replicas) // result.gpus_per_node
    others = f"replica {limit:,} runs" if result.replicas == limit + 1 else \
        f"replicas {limit:,}–{result.replicas - 1:,} run"
    nodes = f"node {first:,}" if first == result.nodes - 1 else f"nodes {first:,}–{result.nodes - 1:,}"
    return shown, f"{others} the same commands on {nodes} (with their own node addresses, GPUs and ports)"
