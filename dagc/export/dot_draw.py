"""What a level of dag.dot draws of micro-batch 0 of prefill: a cluster per run of identical stages,
in it the shown layers op by op (a cluster each) and the other layers collapsed into boxes, then
the edges between drawn boxes and the critical path's steps; or, per rank, a cluster per GPU.

Input: a `Writer` (dot_graph.py), the ops of micro-batch 0 and a `Picture` (which stages are
drawn once, which layers are shown). Output: nodes, edges and clusters added to the writer.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from ..cost.cost import host_step_s
from ..ir.dag import Category, Dag, OpKind
from ..layout.layout import Layout
from ..units import Dimension, format_si
from ..verdict.compiled import Compiled
from .dot_graph import Writer, position_key


@dataclass(frozen=True)
class Picture:
    """What a level draws of micro-batch 0: runs of identical consecutive stages (each drawn once, as
    its first stage), the layers shown op by op, the collapsed layers with the same ops as a shown one."""

    runs: list[list[int]]
    expanded: frozenset[int]
    like: dict[int, int]
    box_per_layer: bool          # collapse each layer into its own box (else each run of layers)


def ops_by_stage(dag: Dag, ids: list[int]) -> dict[int, list[int]]:
    """Ops per stage in pass order."""
    out: dict[int, list[int]] = {}
    for i in sorted(ids, key=lambda i: (dag.pos[i], i)):
        out.setdefault(dag.stage[i], []).append(i)
    return out


def _op_label(c: Compiled, i: int) -> str:
    """An op's kind and time; the embedding's says it carries the engine's host time of the step
    (`dagc.cost.cost.host_step_s`: its kernel alone is tens of µs, SGLang's 94 µs per request far more)."""
    dag = c.dag
    t = dag.template[i]
    kind = dag.kind[i]
    extra = f"\n{format_si(float(c.costs.node_s[i]), Dimension.TIME)}"
    host = host_step_s(t, c.costs.model) if kind is OpKind.EMBED else 0.0
    if host > 0:
        return f"{kind.value} + host{extra}\n(host {format_si(host, Dimension.TIME)})"
    if kind.is_comm and t.group is not None and kind not in (OpKind.SEND, OpKind.RECV):
        # the bytes each GPU brings to the collective (what its time is costed on), the largest rank's when they differ
        most = float(t.comm_bytes.max()) if len(t.comm_bytes) else 0.0
        upto = "up to " if len(t.comm_bytes) and float(t.comm_bytes.min()) != most else ""
        extra += f" · {t.group.value} {t.group_size}\n{upto}{format_si(most, Dimension.SIZE)} per GPU"
    return kind.value + extra


def _op_tooltip(c: Compiled, i: int, run: list[int]) -> str:
    """What an op is and where: its layer (ops outside the layers have none), the stages it stands for."""
    dag = c.dag
    parts = [dag.kind[i].value]
    if dag.layer[i] >= 0:
        parts.append(f"layer {dag.layer[i]}")
    match dag.kind[i]:
        case OpKind.SEND:
            parts.append(f"stage {dag.stage[i]} → {dag.stage[i] + 1}")
        case OpKind.RECV:
            parts.append(f"stage {dag.stage[i] - 1} → {dag.stage[i]}")
        case OpKind.EMBED | OpKind.LM_HEAD:
            pass
        case _ if dag.layer[i] < 0:
            parts.append("head" if dag.pos[i] > 0 else "embedding")
    if len(run) > 1:
        parts.append(f"the same in stages {run[0]}–{run[-1]}")
    parts.append(format_si(float(c.costs.node_s[i]), Dimension.TIME))
    return " · ".join(parts)


def _run_label(lay: Layout, run: list[int]) -> str:
    first, last = run[0], run[-1]
    rep = f" (+{lay.dp - 1} DP replicas)" if lay.dp > 1 else ""
    a, b = lay.stage_layers[first][0], lay.stage_layers[last][1]
    gpus = f"GPUs {lay.stage_ranks(0, first).start}–{lay.stage_ranks(0, last).stop - 1}{rep}"
    layers = f"layer {a}" if b - a == 1 else f"layers {a}–{b - 1}"
    if len(run) == 1:
        return f"stage {first} · {gpus} · {layers}"
    return f"stages {first}–{last}: {len(run)} identical stages, drawn once (as stage {first})\n{gpus} · {layers}"


def draw_ops(w: Writer, ids: list[int], pic: Picture) -> None:
    """Draw micro-batch 0 of prefill: one cluster per run of stages, then the edges between drawn boxes."""
    by_stage = ops_by_stage(w.dag, ids)
    rep: dict[int, str] = {}                 # dag node → dot node id
    run_of: dict[int, int] = {}              # stage → the stage drawn for it
    for run in pic.runs:
        drawn = by_stage[run[0]]
        alias = {j: [j] for j in drawn}      # a drawn op and the ops of the other stages it stands for
        for stage in run:
            run_of[stage] = run[0]
            for j, i in zip(drawn, by_stage[stage], strict=True):
                if i != j:
                    alias[j].append(i)
        with w.cluster(f"stage{run[0]}", label=_run_label(w.lay, run), style="rounded", color="#6a51a3",
                       fontsize=12, id=f"stage{run[0]}"):
            _draw_stage(w, run, drawn, alias, pic, rep)
        for j, same in alias.items():
            for i in same:
                rep[i] = rep[j]
    _draw_edges(w, ids, rep, run_of)


def _segments(dag: Dag, ops: list[int], pic: Picture) -> list[tuple[tuple[str, int | None], list[int]]]:
    """A stage's ops in pass order, cut into single ops (outside the layers), shown layers and collapsed runs."""
    out: list[tuple[tuple[str, int | None], list[int]]] = []
    for i in ops:
        layer = dag.layer[i]
        if layer < 0:
            key: tuple[str, int | None] = ("op", i)
        elif layer in pic.expanded:
            key = ("layer", layer)
        else:
            key = ("box", layer if pic.box_per_layer else None)
        if out and out[-1][0] == key:
            out[-1][1].append(i)
        else:
            out.append((key, [i]))
    return out


def _draw_stage(w: Writer, run: list[int], ops: list[int], alias: dict[int, list[int]], pic: Picture,
                rep: dict[int, str]) -> None:
    """One stage's ops: shown layers op by op in a cluster of their own, the others collapsed, one box per run."""
    dag, c = w.dag, w.c
    for (what, layer), group in _segments(dag, ops, pic):
        if what == "box":
            _collapsed_box(w, group, alias, pic, rep, run)
            continue
        scope: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
        if what == "layer":
            assert layer is not None                 # a shown layer's segment: ("layer", its index)
            moe = "MoE" if c.plan.model.is_moe_layer(layer) else "dense"
            scope = w.cluster(f"layer{layer}", label=f"layer {layer} ({moe}), op by op", style="dashed",
                              color="#9e9ac8", fontsize=11, id=f"layer{layer}")
        with scope:
            for i in group:
                rep[i] = f"n{i}"
                w.node(rep[i], _op_label(c, i), dag.kind[i], w.crit(alias[i]), tooltip=_op_tooltip(c, i, run))


def _collapsed_box(w: Writer, group: list[int], alias: dict[int, list[int]], pic: Picture,
                   rep: dict[int, str], run: list[int]) -> None:
    dag, c = w.dag, w.c
    layers = sorted({dag.layer[i] for i in group})
    nid = f"c{dag.stage[group[0]]}_{layers[0]}"
    moe = sum(1 for L in layers if c.plan.model.is_moe_layer(L))
    total = format_si(float(sum(c.costs.node_s[i] for i in group)), Dimension.TIME)
    likes = {pic.like.get(L) for L in layers}
    like = likes.pop() if len(likes) == 1 else None
    if len(layers) > 1:
        same = f"each like layer {like}\n" if like is not None else ""
        mix = " · ".join(f"{n} {what}" for n, what in ((moe, "MoE"), (len(layers) - moe, "dense")) if n)
        label = f"layers {layers[0]}–{layers[-1]}\n{mix} · {len(group)} ops\n{same}{total}"
    else:
        same = f", like layer {like}" if like is not None else ""
        label = f"layer {layers[0]} ({'MoE' if moe else 'dense'}){same}\n{len(group)} ops · {total}"
    if len(run) > 2:
        label += f"\nlikewise in stages {run[1]}–{run[-1]}"
    elif len(run) == 2:                 # one more stage: "stage 2", not "stages 2–2" (until 2026-12-03)
        label += f"\nlikewise in stage {run[1]}"
    kinds = len({dag.kind[i] for i in group})
    w.node(nid, label, None, w.crit([j for i in group for j in alias[i]]), shape="box3d",
           tooltip=f"{len(layers)} layer{'s' if len(layers) > 1 else ''} collapsed: {len(group)} ops of {kinds} kinds")
    for i in group:
        rep[i] = nid


def _draw_edges(w: Writer, ids: list[int], rep: dict[int, str], run_of: dict[int, int]) -> None:
    """The data edges between drawn boxes, each once (a recv is fed by its send, the transfer), then the
    critical-path steps that are no data edge: the op waited for its stream."""
    dag = w.dag
    edges: dict[tuple[str, str], tuple[Category | None, bool, str | None]] = {}   # (tail, head) → its drawing
    for i in ids:
        for p in [dag.pair[i]] if dag.kind[i] is OpKind.RECV else dag.preds[i]:
            a, b = rep.get(p), rep.get(i)
            if a is None or b is None or a == b or _inside_run(dag, p, i, run_of):
                continue
            cat = dag.template[i].category if dag.kind[i].is_comm else dag.template[p].category
            label = format_si(dag.template[i].comm_bytes_total, Dimension.SIZE) if dag.kind[i] is OpKind.RECV else None
            drawn_cat, drawn_crit, drawn_label = edges.setdefault((a, b), (cat, False, label))
            edges[(a, b)] = (drawn_cat, drawn_crit or w.crit_edge(p, i), drawn_label)
    drawn = {position_key(dag, i): i for i in ids}
    for ka, kb in sorted(w.steps):
        if ka not in drawn or kb not in drawn or ka[1] >= kb[1] or _inside_run(dag, drawn[ka], drawn[kb], run_of):
            continue          # a step back in the pass: the path moves on to another micro-batch
        a, b = rep.get(drawn[ka]), rep.get(drawn[kb])
        if a is None or b is None or a == b:
            continue
        if (a, b) in edges:
            drawn_cat, _, drawn_label = edges[(a, b)]
            edges[(a, b)] = (drawn_cat, True, drawn_label)   # into or out of a collapsed box: the path passes along it
        else:
            edges[(a, b)] = (None, True, None)
    for (a, b), (category, crit, text) in edges.items():
        w.edge(a, b, category, crit, text)


def _inside_run(dag: Dag, p: int, i: int, run_of: dict[int, int]) -> bool:
    """An edge between two stages drawn as one (a run of identical stages): not drawn."""
    return dag.stage[p] != dag.stage[i] and run_of.get(dag.stage[p]) == run_of.get(dag.stage[i])


def draw_ranks(w: Writer, ids: list[int]) -> None:
    dag, lay = w.dag, w.lay
    for stage in sorted({dag.stage[i] for i in ids}):
        for rank in lay.stage_ranks(0, stage):
            with w.cluster(f"gpu{rank}", label=f"GPU {rank} · stage {stage}", style="rounded", color="#6a51a3"):
                for i in ids:
                    if dag.stage[i] == stage:
                        nid = f"n{i}_r{rank}"
                        w.node(nid, _op_label(w.c, i), dag.kind[i], w.crit([i]), tooltip=_op_tooltip(w.c, i, [stage]))
    for i in ids:
        for p in [dag.pair[i]] if dag.kind[i] is OpKind.RECV else dag.preds[i]:
            if p in ids:
                for local in range(lay.group_size):
                    a = f"n{p}_r{dag.stage[p] * lay.group_size + local}"
                    b = f"n{i}_r{dag.stage[i] * lay.group_size + local}"
                    cat = dag.template[i].category if dag.kind[i].is_comm else dag.template[p].category
                    # a transfer's edge carries what this rank sends, as the ops' view carries the group's
                    label = (format_si(float(dag.template[i].comm_bytes[local]), Dimension.SIZE)
                             if dag.kind[i] is OpKind.RECV else None)
                    w.edge(a, b, cat, w.crit_edge(p, i), label)
