"""Lowering: Lark syntax tree → `Plan`.

Input: the tree from `dagc.parse` and its `SourceFile`. Output: a frozen `Plan`, or a
`PlanError` carrying every problem found at once: unknown names (E101, with the nearest
name), wrong dimensions (E102), missing blocks or fields (E103), invalid values (E104).
Strategies are kept as written (`StrategyDecl`); the structural rules run later.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lark import Token, Tree

from .diagnostics import Diagnostic, PlanError, Severity, quote
from .fields import (
    CLUSTER_FIELDS,
    EFFICIENCY_FIELDS,
    GPU_FIELDS,
    LATENCY_FIELDS,
    MLA_FIELDS,
    MODEL_FIELDS,
    MOE_FIELDS,
    REQUIREMENT_DIMENSIONS,
    SUBBLOCKS,
    WORKLOAD_FIELDS,
    Field,
    did_you_mean,
)
from .hf import load_hf_config
from .plan import (
    AttentionKind,
    AxisNode,
    Cluster,
    DType,
    Efficiency,
    Gpu,
    Latency,
    Mla,
    Model,
    Moe,
    Overlap,
    Plan,
    Requirement,
    RequirementKind,
    StrategyDecl,
    Workload,
)
from .presets import GPU_PRESETS, MODEL_PRESETS
from .source import SourceFile, Span
from .units import UNITS, Dimension, lookup

__all__ = ["MAX_STRATEGIES", "lower", "lower_strategy", "model_from_preset", "strategy_text"]

MAX_STRATEGIES = 64   # `strategy` statements per plan; more is E002 at the first one beyond

_NUM_RE = re.compile(r"[+-]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


class _Bad:
    """Marker for a value that already produced a diagnostic."""


BAD = _Bad()


def _token(node: Tree, i: int) -> Token:
    """Child `i` of `node`, a token by the grammar."""
    child = node.children[i]
    assert isinstance(child, Token), "the grammar puts a token here"
    return child


@dataclass
class Entry:
    name: str
    kind: str                # assign | subblock | gpu_preset | gpu_custom
    node: Tree
    span: Span
    name_span: Span


class _Lowerer:
    def __init__(self, src: SourceFile, base_dir: Path | None, allow_paths: Sequence[Path] = ()):
        self.src = src
        self.base_dir = base_dir
        self.allow_paths = tuple(Path(p) for p in allow_paths)
        self.diags: list[Diagnostic] = []
        self.spans: dict[str, Span] = {}

    # ------------------------------------------------------------ helpers
    def error(self, code: str, message: str, span: Span | None, hint: str | None = None) -> _Bad:
        self.diags.append(Diagnostic(code, Severity.ERROR, message, span, hint))
        return BAD

    def tspan(self, node) -> Span:
        if isinstance(node, Token):
            assert node.start_pos is not None, "the lexer positions every token"
            return self.src.span(node.start_pos, node.end_pos)
        meta = node.meta
        if getattr(meta, "empty", True):
            return self.src.whole()
        return self.src.span(meta.start_pos, meta.end_pos)

    def entries(self, block: Tree, where: str) -> list[Entry]:
        out = []
        for item in block.children:
            match item.data:
                case "assign" | "subblock":
                    name = item.children[0]
                    out.append(Entry(str(name), item.data, item, self.tspan(item), self.tspan(name)))
                case "gpu_preset" | "gpu_custom":
                    out.append(Entry("gpu", item.data, item, self.tspan(item), self.tspan(item)))
        return out

    def read_block(self, block: Tree, where: str, fields: dict[str, Field],
                   subblocks: tuple[str, ...] = ()) -> tuple[dict[str, Any], dict[str, Entry]]:
        """Read a `{ … }` block: values by field, and the sub-block entries by name."""
        values: dict[str, Any] = {}
        subs: dict[str, Entry] = {}
        seen: dict[str, Entry] = {}
        for e in self.entries(block, where):
            if e.name in seen:
                self.error("E104", f"`{e.name}` is given twice in {where}", e.name_span,
                           f"the first is at line {seen[e.name].span.line}; keep one")
                continue
            seen[e.name] = e
            if e.kind == "assign":
                if e.name not in fields:
                    known = list(fields) + list(subblocks)
                    if e.name in subblocks:
                        self.error("E104", f"`{e.name}` is a block: write `{e.name} {{ … }}`", e.name_span)
                    else:
                        self.error("E101", f"unknown field `{e.name}` in {where}", e.name_span,
                                   did_you_mean(e.name, known))
                    continue
                self.spans[f"{where}.{e.name}"] = e.span
                values[e.name] = self.value(e.node.children[1], fields[e.name], f"{where}.{e.name}")
            elif e.kind == "subblock":
                if e.name not in subblocks:
                    self.error("E101", f"unknown block `{e.name}` in {where}", e.name_span,
                               did_you_mean(e.name, list(subblocks) + list(fields)) if subblocks or fields else None)
                    continue
                self.spans[f"{where}.{e.name}"] = e.span
                subs[e.name] = e
            else:
                subs["gpu"] = e
        return values, subs

    # ------------------------------------------------------------ values
    def value(self, node: Tree, field: Field, label: str) -> Any:
        span = self.tspan(node)
        short = label.rpartition(".")[2]
        match field.kind:
            case "bool":
                word = self.word(node, label)
                if isinstance(word, _Bad):
                    return BAD
                if word not in ("true", "false"):
                    return self.error("E101", f"`{short}` is true or false, not `{word}`", span,
                                      did_you_mean(word, ["true", "false"]))
                return word == "true"
            case "choice":
                word = self.word(node, label)
                if isinstance(word, _Bad):
                    return BAD
                if word not in field.choices:
                    return self.error("E101", f"unknown {short} `{word}`", span, did_you_mean(word, field.choices))
                return word
            case "routing":
                if node.data == "word" and str(node.children[0]) == "uniform":
                    return 1.0
                if node.data == "named_number" and str(node.children[0]) == "imbalance":
                    x = self.number(_token(node, 1))
                    if isinstance(x, _Bad):
                        return BAD
                    if not 1.0 <= x <= 1e6:
                        return self.error("E104",
                                          f"imbalance {x:g} is below 1: the busiest rank carries at least the mean",
                                          span, "write `routing = imbalance 1.3` (1.0 is uniform)")
                    return x
                word = str(node.children[0]) if node.children else "?"
                return self.error("E101", f"unknown routing `{word}`", span,
                                  "write `routing = uniform` or `routing = imbalance 1.3`")
            case _:
                return self.quantity(node, field, label)

    def word(self, node: Tree, label: str) -> str | _Bad:
        short = label.rpartition(".")[2]
        if node.data == "word":
            return str(node.children[0])
        if node.data == "string":
            return str(node.children[0])[1:-1]
        return self.error("E102", f"`{short}` takes a name, not a number", self.tspan(node))

    def number(self, tok: Token) -> float | _Bad:
        try:
            x = float(str(tok).replace("_", ""))
        except ValueError:
            return self.error("E104", f"`{tok}` is not a number", self.tspan(tok))
        if not math.isfinite(x) or abs(x) > 1e30:
            return self.error("E104", f"`{tok}` is too large", self.tspan(tok))
        return x

    def quantity(self, node: Tree, field: Field, label: str) -> Any:
        short = label.rpartition(".")[2]
        span = self.tspan(node)
        dim = field.dimension
        assert dim is not None, "every numeric field has a dimension"
        if node.data != "quantity":
            shown = " ".join(str(c) for c in node.children)
            return self.error("E102", f"`{short}` takes {dim.value}, not `{shown}`", span,
                              f"for example `{short} = {dim.example}`")
        tok = _token(node, 0)
        assert tok.start_pos is not None, "the lexer positions every token"
        text = str(tok)
        m = _NUM_RE.match(text)
        assert m is not None, "the QUANTITY terminal starts with a number"
        num = self.number(Token("QUANTITY", m.group(0), start_pos=tok.start_pos, end_pos=tok.start_pos + m.end()))
        if isinstance(num, _Bad):
            return BAD
        unit_text = text[m.end():].strip()
        unit_span = self.src.span(tok.start_pos + len(text) - len(unit_text), tok.end_pos) if unit_text else span
        if unit_text:
            unit = lookup(unit_text)
            if unit is None:
                return self.error("E101", f"unknown unit `{unit_text}`", unit_span,
                                  did_you_mean(unit_text, [u for u in UNITS if "/gpu" not in u]))
            if unit.dimension is not dim:
                return self.error("E102", f"`{short}` takes {dim.value}, but `{text}` is {unit.dimension.value}",
                                  unit_span, f"for example `{short} = {dim.example}`")
            value = num * unit.factor
            per_gpu = unit.per_gpu
        else:
            if dim not in (Dimension.COUNT, Dimension.RATIO):
                return self.error("E102", f"`{short}` takes {dim.value}: `{text}` has no unit", span,
                                  f"write it with a unit, e.g. `{short} = {dim.example}`")
            value, per_gpu = num, False
        if dim is Dimension.COUNT:
            if value != int(value):
                return self.error("E104", f"`{short}` must be a whole number, not {text}", span)
            value = int(value)
        if not field.lo <= value <= field.hi:
            low = f"{field.lo:g}" if dim is Dimension.COUNT else f"{field.lo:g} (SI)"
            if value < field.lo:
                return self.error("E104", f"`{short}` = {text} is out of range: it must be at least {low}", span)
            return self.error("E104", f"`{short}` = {text} is out of range (too large)", span)
        return (value, per_gpu) if dim is Dimension.THROUGHPUT else value

    # ------------------------------------------------------------ statements
    def run(self, tree: Tree) -> Plan | None:
        by_kind: dict[str, list[Tree]] = {}
        for st in tree.children:
            kind = "model" if st.data.startswith("model_") else st.data
            by_kind.setdefault(kind, []).append(st)
        for kind in ("model", "cluster", "workload", "require"):
            extra = by_kind.get(kind, [])[1:]
            for st in extra:
                self.error("E104", f"a plan has one `{kind}` statement; this is another", self.tspan(st).source.span(
                    self.tspan(st).start, self.tspan(st).start + len(kind)),
                    f"the first is at line {self.tspan(by_kind[kind][0]).line}")
        end = self.src.span(max(0, len(self.src.text.rstrip()) - 1), max(1, len(self.src.text.rstrip())))
        missing = [k for k in ("model", "cluster", "workload", "strategy") if k not in by_kind]
        for k in missing:
            example = {"model": 'model preset "mixtral-8x7b"', "cluster": 'cluster { gpus = 8  gpu preset "h100-sxm" }',
                       "workload": "workload { batch = 64  prompt = 2048  generate = 256 }",
                       "strategy": "strategy tp 8"}[k]
            self.error("E103", f"the plan has no `{k}` statement",
                       end if self.src.text.strip() else self.src.span(0, 0), f"add one, e.g. `{example}`")
        model = self.model(by_kind["model"][0]) if "model" in by_kind else None
        cluster = self.cluster(by_kind["cluster"][0]) if "cluster" in by_kind else None
        workload = self.workload(by_kind["workload"][0]) if "workload" in by_kind else None
        reqs = self.require(by_kind["require"][0]) if "require" in by_kind else ()
        written = by_kind.get("strategy", [])
        if len(written) > MAX_STRATEGIES:
            beyond = self.tspan(written[MAX_STRATEGIES])
            self.error("E002",
                       f"the plan has {len(written):,} strategies; dagc checks at most {MAX_STRATEGIES} per plan",
                       beyond.source.span(beyond.start, beyond.start + len("strategy")),
                       "split the plan into several files, or let `dagc search` explore strategies")
        strategies = tuple(self.strategy(st) for st in written[:MAX_STRATEGIES])
        names: dict[str, StrategyDecl] = {}
        for s in strategies:
            if s.name is None:
                continue
            if s.name in names:
                self.error("E104", f"two strategies are named `{s.name}`", s.span, "give each its own name")
            names[s.name] = s
        if any(d.is_error for d in self.diags) or model is None or cluster is None or workload is None:
            return None
        name = Path(self.src.path).stem
        return Plan(name=name, model=model, cluster=cluster, workload=workload, requirements=tuple(reqs),
                    strategies=strategies, spans=dict(self.spans))

    # model ------------------------------------------------------------
    def model(self, st: Tree) -> Model | None:
        span = self.tspan(st)
        self.spans["model"] = span
        name_tok = st.children[0]
        name = str(name_tok)[1:-1]
        block = st.children[1] if len(st.children) > 1 else None
        base: dict = {}
        if st.data == "model_preset":
            if name not in MODEL_PRESETS:
                self.error("E101", f"unknown model preset `{name}`", self.tspan(name_tok),
                           did_you_mean(name, MODEL_PRESETS))
                return None
            base = {k: (dict(v) if isinstance(v, dict) else v) for k, v in MODEL_PRESETS[name].items()}
        elif st.data == "model_from":
            path = self.import_path(name, self.tspan(name_tok))
            if path is None:
                return None
            fields, diags = load_hf_config(path, self.tspan(name_tok))
            self.diags.extend(diags)
            if fields is None:
                return None
            base = fields
            name = path.stem if path.name != "config.json" else path.parent.name or "hf-model"
        if block is None and st.data == "model_full":
            self.error("E103", f'model "{name}" has no fields', span,
                       'write them in a block, e.g. `model "m" { layers = 16 … }`, or use `model preset`')
            return None
        values, subs = self.read_block(block, "model", MODEL_FIELDS, SUBBLOCKS["model"]) if block else ({}, {})
        if any(v is BAD for v in values.values()):
            return None
        merged = {**base, **values}
        for sub, fields in (("moe", MOE_FIELDS), ("mla", MLA_FIELDS)):
            if sub in subs:
                sv, _ = self.read_block(subs[sub].node.children[1], f"model.{sub}", fields)
                if any(v is BAD for v in sv.values()):
                    return None
                merged[sub] = {**(base.get(sub) or {}), **sv}
        return self.build_model(name, merged, span)

    def import_path(self, written: str, span: Span) -> Path | None:
        """The file `model from` names, if it lies inside the plan's directory or an allowed one.

        Symlinks and `..` are resolved first, so neither can lead outside. A plan given as
        text has no directory: it imports only from the directories allowed explicitly.
        """
        hint = "move the file beside the plan, or allow its directory with `--allow-path DIR`"
        shown = quote(written)
        try:
            path = Path(written)
            if not path.is_absolute() and self.base_dir is not None:
                path = self.base_dir / path
            resolved = path.resolve()
            roots = [r.resolve() for r in ((self.base_dir,) if self.base_dir is not None else ()) + self.allow_paths]
        except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL byte
            self.error("E002", f"cannot import `{shown}`: the path cannot be resolved", span)
            return None
        if any(resolved == root or resolved.is_relative_to(root) for root in roots):
            return resolved
        if self.base_dir is None:
            self.error("E002", f"cannot import `{shown}`: a plan given as text reads no files unless a directory "
                       "is allowed", span, "allow the file's directory with `--allow-path DIR`")
        else:
            self.error("E002", f"cannot import `{shown}`: it is outside the plan's directory", span, hint)
        return None

    def build_model(self, name: str, f: dict, span: Span | None) -> Model | None:
        """A `Model` from merged fields; `span` is None for a built-in preset, which has no source."""

        def at(key: str) -> Span | None:
            return self.spans.get(f"model.{key}", span)

        ok = True
        for key in ("layers", "hidden", "heads", "vocab"):
            if f.get(key) is None:
                self.error("E103", f"the model has no `{key}`", span, f"add `{key} = …` to the model block")
                ok = False
        if not ok:
            return None
        attention = AttentionKind(f.get("attention", "gqa"))
        heads, hidden = f["heads"], f["hidden"]
        kv = f.get("kv_heads") or heads
        head_dim = f.get("head_dim") or (hidden // heads if hidden % heads == 0 else None)
        if head_dim is None:
            self.error("E103", "the model has no `head_dim` and hidden is not a multiple of heads", span,
                       "add `head_dim = …`")
            return None
        if kv > heads:
            self.error("E104", f"kv_heads ({kv}) exceeds heads ({heads})", at("kv_heads"))
        elif attention is AttentionKind.GQA and heads % kv:
            self.error("E104", f"heads ({heads}) is not a multiple of kv_heads ({kv})", at("kv_heads"),
                       "each KV head serves a whole group of query heads")
        mla = None
        if attention is AttentionKind.MLA:
            if not f.get("mla"):
                self.error("E103", "attention = mla needs an `mla { … }` block", at("attention"),
                           "add `mla { q_lora = 1536  kv_lora = 512  qk_nope = 128  qk_rope = 64  v_head = 128 }`")
                return None
            missing = [k for k in ("kv_lora", "qk_nope", "v_head") if not f["mla"].get(k)]
            if missing:
                self.error("E103", f"the mla block has no `{missing[0]}`", self.spans.get("model.mla", span))
                return None
            mla = Mla(**{k: v for k, v in f["mla"].items() if v is not None})
        elif f.get("mla"):
            self.error("E104", "an `mla` block needs `attention = mla`", self.spans.get("model.mla", span))
        moe_f = f.get("moe")
        if moe_f is None:
            if f.get("ffn") is None:
                self.error("E103", "the model has neither a `moe { … }` block nor a dense `ffn`", span,
                           "add `moe { experts = 8  top_k = 2  ffn = 14336 }`, or `ffn = …` for a dense model")
                return None
            moe = Moe(experts=0, dense_layers=f["layers"], dense_ffn=f["ffn"], gated=f.get("gated", True))
        else:
            moe_f = {k: v for k, v in moe_f.items() if v is not None}
            moe = Moe(**moe_f)
            where = self.spans.get("model.moe", span)
            if moe.experts > 0:
                for key in ("top_k", "ffn"):
                    if key not in moe_f:
                        self.error("E103", f"the moe block has no `{key}`", where, f"add `{key} = …`")
                    elif not getattr(moe, key):
                        self.error("E104", f"`{key}` = 0: a model with experts needs at least 1",
                                   self.spans.get(f"model.moe.{key}", where),
                                   "for a dense model write `experts = 0` and `dense_ffn = …`")
                if moe.top_k > moe.experts:
                    self.error("E104", f"top_k ({moe.top_k}) exceeds experts ({moe.experts})",
                               self.spans.get("model.moe.top_k", where))
                if moe.dense_layers > f["layers"]:
                    self.error("E104", f"dense_layers ({moe.dense_layers}) exceeds layers ({f['layers']})",
                               self.spans.get("model.moe.dense_layers", where))
                if moe.dense_layers and not moe.dense_ffn:
                    self.error("E103", "dense_layers needs `dense_ffn`",
                               self.spans.get("model.moe.dense_layers", where))
            elif not moe.dense_ffn:
                self.error("E103", "a model with experts = 0 needs `dense_ffn`", where)
            if moe.experts == 0:
                moe = moe.model_copy(update={"dense_layers": f["layers"]})
        if any(d.is_error for d in self.diags):
            return None
        return Model(name=name, layers=f["layers"], hidden=hidden, heads=heads, kv_heads=kv, head_dim=head_dim,
                     vocab=f["vocab"], tied=f.get("tied", False), weights=DType(f.get("weights", "bf16")),
                     kv_cache=DType(f.get("kv_cache", "bf16")), attention=attention, mla=mla, moe=moe)

    # cluster ----------------------------------------------------------
    def cluster(self, st: Tree) -> Cluster | None:
        span = self.tspan(st)
        self.spans["cluster"] = span
        values, subs = self.read_block(st.children[0], "cluster", CLUSTER_FIELDS, SUBBLOCKS["cluster"])
        gpu = None
        if "gpu" not in subs:
            self.error("E103", "the cluster has no `gpu`", span,
                       'add `gpu preset "h100-sxm"` or a custom `gpu "name" { … }`')
        else:
            gpu = self.gpu(subs["gpu"])
        eff = lat = None
        if "efficiency" in subs:
            ev, _ = self.read_block(subs["efficiency"].node.children[1], "cluster.efficiency", EFFICIENCY_FIELDS)
            eff = ev
        if "latency" in subs:
            lv, _ = self.read_block(subs["latency"].node.children[1], "cluster.latency", LATENCY_FIELDS)
            lat = lv
        if "gpus" not in values:
            self.error("E103", "the cluster has no `gpus`", span, "add `gpus = …` (GPUs available)")
        bad = any(v is BAD for v in values.values()) or any(v is BAD for v in (eff or {}).values()) \
            or any(v is BAD for v in (lat or {}).values())
        if bad or gpu is None or "gpus" not in values:
            return None
        efficiency = Efficiency(
            compute=(eff or {}).get("compute", gpu.compute_efficiency or Efficiency().compute),
            hbm=(eff or {}).get("hbm", gpu.hbm_efficiency or Efficiency().hbm),
            network=(eff or {}).get("network", Efficiency().network))
        latency = Latency(intra_s=(lat or {}).get("intra", Latency().intra_s),
                          inter_s=(lat or {}).get("inter", Latency().inter_s))
        extra = {k: values[k] for k in ("gpus_per_node",) if k in values}
        if "inter_node" in values:
            extra["inter_node_bytes_per_s"] = values["inter_node"]
        return Cluster(gpus=values["gpus"], gpu=gpu,
                       intra_node_bytes_per_s=values.get("intra_node", gpu.intra_node_bytes_per_s),
                       efficiency=efficiency, latency=latency, **extra)

    def gpu(self, e: Entry) -> Gpu | None:
        self.spans["cluster.gpu"] = e.span
        if e.kind == "gpu_preset":
            tok = e.node.children[0]
            name = str(tok)[1:-1]
            if name not in GPU_PRESETS:
                self.error("E101", f"unknown GPU preset `{name}`", self.tspan(tok), did_you_mean(name, GPU_PRESETS))
                return None
            return GPU_PRESETS[name]
        name = str(e.node.children[0])[1:-1]
        values, _ = self.read_block(e.node.children[1], "gpu", GPU_FIELDS)
        if any(v is BAD for v in values.values()):
            return None
        missing = [k for k in ("memory", "flops", "hbm") if k not in values]
        if missing:
            self.error("E103", f'gpu "{name}" has no `{missing[0]}`', e.span,
                       "a custom GPU needs memory, flops and hbm, "
                       "e.g. `memory = 64 GB  flops = 400 TFLOPS  hbm = 1.8 TB/s`")
            return None
        return Gpu(name=name, memory_bytes=values["memory"], flops_16bit=values["flops"],
                   flops_8bit=values.get("fp8_flops"), hbm_bytes_per_s=values["hbm"],
                   intra_node_bytes_per_s=values.get("intra_node", Gpu.model_fields["intra_node_bytes_per_s"].default))

    # workload ---------------------------------------------------------
    def workload(self, st: Tree) -> Workload | None:
        span = self.tspan(st)
        self.spans["workload"] = span
        values, _ = self.read_block(st.children[0], "workload", WORKLOAD_FIELDS)
        for key in ("batch", "prompt", "generate"):
            if key not in values:
                self.error("E103", f"the workload has no `{key}`", span, f"add `{key} = …`")
        if any(d.is_error for d in self.diags) or any(v is BAD for v in values.values()):
            return None
        return Workload(batch=values["batch"], prompt=values["prompt"], generate=values["generate"],
                        microbatches=values.get("microbatches"), routing_imbalance=values.get("routing", 1.0),
                        overlap=Overlap(values.get("overlap", "none")))

    # require ----------------------------------------------------------
    def require(self, st: Tree) -> tuple[Requirement, ...]:
        self.spans["require"] = self.tspan(st)
        out = []
        seen = set()
        for req in st.children:
            name_tok, op_tok, value = req.children
            name = str(name_tok)
            span = self.tspan(req)
            try:
                kind = RequirementKind(name)
            except ValueError:
                self.error("E101", f"unknown requirement `{name}`", self.tspan(name_tok),
                           did_you_mean(name, [k.value for k in RequirementKind]))
                continue
            if (name, str(op_tok)) in seen:
                self.error("E104", f"`{name} {op_tok}` is required twice", span)
                continue
            seen.add((name, str(op_tok)))
            dim = REQUIREMENT_DIMENSIONS[kind]
            # memory may be bounded as a share of the GPU (`90 %`) or in bytes (`70 GB`).
            memory_is_fraction = not (kind is RequirementKind.MEMORY and _unit_dimension(value) is Dimension.SIZE)
            field = Field("quantity", dim if memory_is_fraction else Dimension.SIZE, 0.0, 1e30)
            if kind is RequirementKind.MEMORY and memory_is_fraction:
                field = Field("ratio", dim, 0.0, 1.0)
            v = self.value(value, field, f"require.{name}")
            if v is BAD:
                continue
            target, per_gpu = v if isinstance(v, tuple) else (v, False)
            out.append(Requirement(kind=kind, op=str(op_tok), target=float(target), per_gpu=per_gpu,
                                   memory_is_fraction=memory_is_fraction,
                                   text=" ".join(" ".join(str(t).split()) for t in (name_tok, op_tok, *value.children)),
                                   span=span))
        return tuple(out)

    # strategy ---------------------------------------------------------
    def strategy(self, st: Tree) -> StrategyDecl:
        name = None
        kids = list(st.children)
        if isinstance(kids[0], Token):
            name = str(kids.pop(0))
        scope = kids[0]
        span = self.tspan(st)
        return StrategyDecl(name=name, text=strategy_text(scope), scope=self.scope(scope), span=span)

    def scope(self, node: Tree) -> tuple[tuple[AxisNode, ...], ...]:
        return tuple(tuple(self.axis(a) for a in domain.children) for domain in node.children)

    def axis(self, node: Tree) -> AxisNode:
        name_tok, *rest = node.children
        degree = split = body = None
        degree_span = split_span = None
        for part in rest:
            if isinstance(part, Token):
                # Degrees are judged by the structural rules (E204), so keep even absurd values.
                degree = float(str(part).replace("_", ""))
                degree_span = self.tspan(part)
            elif part.data == "split":
                split_span = self.tspan(part)
                split = tuple(float(str(t).replace("_", "")) for t in part.children)
            elif part.data == "scope":
                body = self.scope(part)
        span = self.tspan(name_tok)
        return AxisNode(name=str(name_tok), degree=degree, split=split, body=body,
                        span=span, degree_span=degree_span, split_span=split_span)


def _unit_dimension(value: Tree) -> Dimension | None:
    if value.data != "quantity":
        return None
    text = str(value.children[0])
    m = _NUM_RE.match(text)
    assert m is not None, "the QUANTITY terminal starts with a number"
    unit = lookup(text[m.end():].strip())
    return unit.dimension if unit else None


def lower(tree: Tree, src: SourceFile, base_dir: Path | None = None, *, allow_paths: Sequence[Path] = ()) -> Plan:
    """Lower a parsed plan into a `Plan`.

    `base_dir` is the plan's directory: `model from` reads files inside it, or inside one of
    `allow_paths`, and nowhere else (E002). With `base_dir` None (a plan given as text) only
    `allow_paths` can be read from.

    Raises:
        PlanError: every E1xx problem found, in source order.
    """
    lw = _Lowerer(src, base_dir, allow_paths)
    plan = lw.run(tree)
    if plan is None or any(d.is_error for d in lw.diags):
        diags = sorted(lw.diags, key=lambda d: (d.span.start if d.span else -1))
        raise PlanError(diags or [Diagnostic("E103", Severity.ERROR, "the plan is incomplete", src.whole())])
    return plan


def strategy_text(scope: Tree) -> str:
    """The canonical text of a strategy scope: single spaces, no comments, splits as `[a, b]`.

    It is what report.json, the CLI and the exports show, and `--strategy` accepts it back.

    Example:
        >>> from dagc.parse import parse
        >>> from dagc.source import SourceFile
        >>> tree = parse(SourceFile("s", "pp 2 # c\\n [1,1] <tp 4;ep   8>"), start="scope")
        >>> strategy_text(tree)
        'pp 2 [1, 1] < tp 4 ; ep 8 >'
    """
    domains = []
    for domain in scope.children:
        axes = []
        for axis in domain.children:
            name_tok, *rest = axis.children
            words = [str(name_tok)]
            for part in rest:
                if isinstance(part, Token):
                    words.append(str(part))
                elif part.data == "split":
                    words.append("[" + ", ".join(str(t) for t in part.children) + "]")
                elif part.data == "scope":
                    words.append(f"< {strategy_text(part)} >")
            axes.append(" ".join(words))
        domains.append(" ".join(axes))
    return " ; ".join(domains)


def lower_strategy(tree: Tree, src: SourceFile, name: str | None = None) -> StrategyDecl:
    """Lower a strategy expression, e.g. from `--strategy`: a `scope`, or a `named_scope`
    (`name = expr`, the form the CLI prints for a named strategy). An explicit `name`
    wins over the one written."""
    if tree.data == "named_scope":
        *named, tree = tree.children
        if named and name is None:
            name = str(named[0])
    lw = _Lowerer(src, None)
    span = lw.tspan(tree)
    decl = StrategyDecl(name=name, text=strategy_text(tree), scope=lw.scope(tree), span=span)
    if lw.diags:
        raise PlanError(lw.diags)
    return decl


def model_from_preset(name: str, **overrides) -> Model:
    """A built-in model as a `Model` (overrides replace top-level fields).

    Example:
        >>> model_from_preset("qwen3-30b-a3b").moe.experts
        128
    """
    fields = {**MODEL_PRESETS[name], **overrides}
    model = _Lowerer(SourceFile("<preset>", ""), None).build_model(name, fields, None)
    if model is None:  # pragma: no cover - presets are valid by construction
        raise ValueError(f"preset {name} does not build")
    return model
