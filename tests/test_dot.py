"""dag.dot / dag.svg as a reader sees them: the SVG drawn by Graphviz in WebAssembly (what dagc
draws with on a machine with Python alone) and by the real `dot` (those tests are marked
`needs_dot`, skipped where it is absent), the SVG parsed. Identical stages drawn once, collapsed layers in
pass order, the shown layer named, the critical path unbroken, no sentinel values in tooltips."""

from __future__ import annotations

import re
import tempfile
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import graphviz
import pytest

from dagc.export.dot import Detail, dag_dot
from dagc.export.dot_graph import _text
from dagc.export.render import Renderer, write_svg
from dagc.ir.dag import OpKind, Phase
from dagc.lang.load import load_plan
from dagc.units import Dimension, format_si
from dagc.verdict.check import check, load_plan_text
from conftest import EXAMPLES, ROOT, checked_example, needs_dot

SVG_NS = "{http://www.w3.org/2000/svg}"
XLINK_TITLE = "{http://www.w3.org/1999/xlink}title"
PLANS = {"small": ROOT / "tests" / "fixtures" / "small.moe",
         **{p.stem: p for p in sorted(EXAMPLES.glob("*.moe"))}}
SEED0 = "10b-moe-pp16-ep16-256gpu"
# Each picture test runs with both renderers; the `dot` one only where `dot` is on PATH.
RENDERERS = [pytest.param(r, marks=[needs_dot] if r is Renderer.DOT else [], id=r.value) for r in Renderer]
DEEPSEEK = "deepseek-v3-prefill-32xh800"
EDGE = re.compile(r"^\s+(\w+) -> (\w+) \[(.*)\]$", re.M)
NODE = re.compile(r"^\s+(\w+) \[(.*)\]$", re.M)
CLASS = re.compile(r'\bclass=(?:"([^"]*)"|(\w+))')


@cache
def compiled(name: str):
    """The first strategy's compiled DAG of a plan; an example's from `checked_example`, the check its other
    readers share (this file runs in their test process: tests/conftest.py's `EXAMPLE_FILES`)."""
    if PLANS[name].parent == EXAMPLES:
        return checked_example(PLANS[name].name)[0].compiled
    return check(load_plan(PLANS[name]))[0].compiled


@cache
def rendered(name: str, detail: Detail, renderer: Renderer) -> tuple[str, ET.Element]:
    """The DOT text and the parsed SVG `renderer` makes of it (once per plan, level and renderer):
    Graphviz's `dot` (a test asking for it is marked `needs_dot`), or Graphviz in WebAssembly."""
    text = dag_dot(compiled(name), detail).text
    with tempfile.TemporaryDirectory() as d:
        svg = Path(d) / "dag.svg"
        drawn = write_svg(text, svg, renderers=(renderer,))
        assert drawn.renderer is renderer and drawn.warning is None
        return text, ET.parse(svg).getroot()


def edges(text: str) -> list[tuple[str, str, str]]:
    """(tail, head, attributes) of every drawn edge, legend left out."""
    return [(a, b, attrs) for a, b, attrs in EDGE.findall(text) if not a.startswith("legend")]


def classes(attrs: str) -> set[str]:
    """The words of the `class` in a DOT attribute list (the graphviz package quotes it only when it
    has several)."""
    m = CLASS.search(attrs)
    return set((m.group(1) or m.group(2)).split()) if m else set()


def node_y(svg: ET.Element) -> dict[str, float]:
    """Each node's vertical centre in the SVG (y grows downwards)."""
    out = {}
    for g in svg.iter(f"{SVG_NS}g"):
        if "node" in g.get("class", "").split():
            ys = [float(t.get("y")) for t in g.iter(f"{SVG_NS}text")]
            if g.get("id") and ys:
                out[g.get("id")] = sum(ys) / len(ys)
    return out


def svg_height_pt(svg: ET.Element) -> float:
    return float(svg.get("height").removesuffix("pt"))


def svg_texts(svg: ET.Element) -> str:
    return "\n".join(t.text or "" for t in svg.iter(f"{SVG_NS}text"))


# ------------------------------------------------------------------ identical stages

@pytest.mark.parametrize("renderer", RENDERERS)
def test_identical_stages_drawn_once_with_their_count(renderer):
    text, svg = rendered(SEED0, Detail.SUMMARY, renderer)
    assert svg_height_pt(svg) < 4000          # was 13,815 pt with every stage drawn
    assert "stages 1–14: 14 identical stages, drawn once (as stage 1)" in svg_texts(svg)
    assert text.count("subgraph cluster_stage") == 3     # stage 0, stages 1–14, stage 15
    assert text.count("op by op") == 1                   # one layer shown op by op: all 16 have the same ops
    assert "like layer 0" in svg_texts(svg)


def test_stages_that_differ_are_all_drawn():
    text = dag_dot(compiled("small")).text
    assert text.count("subgraph cluster_stage") == 2 and "identical stages" not in text


def test_full_detail_draws_every_stage():
    text = dag_dot(compiled(SEED0), Detail.FULL).text
    assert text.count("subgraph cluster_stage") == 16 and "identical stages" not in text


# ------------------------------------------------------------------ layer order

@pytest.mark.parametrize("renderer", RENDERERS)
@pytest.mark.parametrize("name", list(PLANS))
@pytest.mark.parametrize("detail", [Detail.SUMMARY, Detail.LAYERS])
def test_no_edge_goes_back_up(name, detail, renderer):
    text, svg = rendered(name, detail, renderer)
    y = node_y(svg)
    for a, b, _ in edges(text):
        assert y[a] < y[b], f"{name}: edge {a} -> {b} drawn upwards"


@pytest.mark.parametrize("renderer", RENDERERS)
def test_collapsed_layers_on_both_sides_of_the_shown_one(renderer):
    """DeepSeek-V3 shows layer 3 (its first MoE layer): layers 0–2 collapse above it, 4–60 below."""
    text, svg = rendered(DEEPSEEK, Detail.SUMMARY, renderer)
    y = node_y(svg)
    shown = [int(i[1:]) for i in re.findall(r"^\s+(n\d+) \[", text, re.M)]
    layer3 = [f"n{i}" for i in shown if compiled(DEEPSEEK).dag.layer[i] == 3]
    assert y["c0_0"] < min(y[n] for n in layer3) and max(y[n] for n in layer3) < y["c0_4"]
    words = svg_texts(svg)
    assert "layers 0–2" in words and "layers 4–60" in words and "each like layer 3" in words
    assert 'label="layers 0–60' not in text          # one box for all but the shown layer: drawn out of order


@pytest.mark.parametrize("renderer", RENDERERS)
def test_shown_layer_is_named(renderer):
    _, svg = rendered(DEEPSEEK, Detail.SUMMARY, renderer)
    clusters = {g.get("id"): g for g in svg.iter(f"{SVG_NS}g") if "cluster" in g.get("class", "")}
    assert "layer 3 (MoE), op by op" in svg_texts(clusters["layer3"])


# ------------------------------------------------------------------ critical path

@pytest.mark.parametrize("name", list(PLANS))
def test_every_step_of_the_critical_path_drawn_between_two_ops_is_red(name):
    """Consecutive critical ops of micro-batch 0 drawn as two boxes joined by an edge: that edge is
    critical; a recv is reached through its send, and both edges are critical."""
    c = compiled(name)
    dag = c.dag
    text = dag_dot(c, Detail.FULL).text
    style = {(a, b): attrs for a, b, attrs in edges(text)}
    path = c.schedule.prefill_path.nodes
    checked = 0
    for a, b in zip(path, path[1:], strict=False):
        if dag.mb[a] or dag.mb[b]:
            continue
        hops = [(a, dag.pair[b]), (dag.pair[b], b)] if dag.kind[b] is OpKind.RECV else [(a, b)]
        for p, i in hops:
            if (f"n{p}", f"n{i}") in style:
                assert "crit" in classes(style[f"n{p}", f"n{i}"]), f"{name}: n{p} -> n{i} not critical"
                checked += 1
    assert checked


@pytest.mark.parametrize("name", list(PLANS))
@pytest.mark.parametrize("detail", [Detail.SUMMARY, Detail.FULL])
def test_critical_path_unbroken(name, detail):
    """Every critical box but the first is entered by a critical edge, every one but the last left by one."""
    text = dag_dot(compiled(name), detail).text
    crit_nodes = {n for n, attrs in NODE.findall(text) if "crit" in classes(attrs)} - {"legend_crit"}
    crit_edges = [(a, b) for a, b, attrs in edges(text) if "crit" in classes(attrs)]
    into = {b for _, b in crit_edges}
    out = {a for a, _ in crit_edges}
    assert crit_nodes and {a for a, _ in crit_edges} | into <= crit_nodes
    assert len(crit_nodes - into) == 1, f"{name}: the path starts at {sorted(crit_nodes - into)}"
    assert len(crit_nodes - out) == 1, f"{name}: the path ends at {sorted(crit_nodes - out)}"


def test_send_before_a_critical_recv_is_critical():
    c = compiled("small")
    dag = c.dag
    text = dag_dot(c).text
    recv = next(i for i in range(len(dag)) if dag.kind[i] is OpKind.RECV and dag.phase[i] is Phase.PREFILL
                and dag.mb[i] == 0)
    send = dag.pair[recv]
    assert re.search(rf"^\s+n{send} \[.*class=\"send comm crit\"", text, re.M)
    assert classes(dict(((a, b), attrs) for a, b, attrs in edges(text))[f"n{send}", f"n{recv}"]) == {"crit"}


# ------------------------------------------------------------------ tooltips

@pytest.mark.parametrize("name", ["small", SEED0, DEEPSEEK])
@pytest.mark.parametrize("detail", list(Detail))
def test_no_sentinel_in_tooltips(name, detail):
    text = dag_dot(compiled(name), detail).text
    tips = re.findall(r'tooltip="([^"]*)"', text)
    assert tips and not [t for t in tips if "-1" in t or "layer -" in t]


def test_tooltips_say_where_ops_outside_the_layers_are():
    text = dag_dot(compiled("small")).text
    assert 'tooltip="send · stage 0 → 1 · ' in text and 'tooltip="recv · stage 0 → 1 · ' in text
    # The embedding's kernel takes 16.64 us; the step's host time is paid by the embedding, and the
    # small plan serves on vLLM (the default engine): 1.512 ms a step and 49.7 us for each of the 4 requests
    # of a micro-batch (its batch of 8 in 2): 16.64 us + 1.512 ms + 4 × 49.7 us = 1.72744 ms, to four digits.
    embed_s = 16.64e-6 + 1.512e-3 + 4 * 49.7e-6
    assert round(embed_s * 1e3, 3) == 1.727
    assert 'tooltip="norm · head · ' in text and 'tooltip="embed · 1.727 ms"' in text


# ------------------------------------------------------------------ quoting

@pytest.mark.parametrize("renderer", RENDERERS)
def test_a_plan_name_is_drawn_as_typed_never_as_markup(renderer, tmp_path):
    """Backslash escapes (`\\N`, `\\l`, `\\n`), quotes and HTML-like markup in a plan's name reach the
    picture as typed: the graphviz package quotes, dot_graph escapes, nothing is read as markup."""
    name = '<i>\\N "x" \\l\\n\\\\<i>'
    plan = load_plan_text((ROOT / "tests" / "fixtures" / "small.moe").read_text(), name=f"{name}.moe")
    assert plan.name == name
    text = dag_dot(check(plan)[0].compiled).text
    assert write_svg(text, tmp_path / "dag.svg", renderers=(renderer,)).warning is None
    assert svg_texts(ET.parse(tmp_path / "dag.svg").getroot()).splitlines()[0].startswith(f"{name} · strategy ")
    assert graphviz.quoting.quote(_text("<b>x</b>")) == '"<b>x</b>"'      # never an HTML-like label


@pytest.mark.parametrize("renderer", RENDERERS)
def test_a_character_entity_in_a_plan_name_is_drawn_as_typed(renderer, tmp_path):
    """Graphviz reads `&amp;` and `&#65;` in a label as `&` and `A`: a name holding them is drawn as typed."""
    name = "a&amp;b &#65; c&d"
    plan = load_plan_text((ROOT / "tests" / "fixtures" / "small.moe").read_text(), name=f"{name}.moe")
    text = dag_dot(check(plan)[0].compiled).text
    assert write_svg(text, tmp_path / "dag.svg", renderers=(renderer,)).warning is None
    assert svg_texts(ET.parse(tmp_path / "dag.svg").getroot()).splitlines()[0].startswith(f"{name} · strategy ")


def test_the_embedding_says_it_carries_the_steps_host_time():
    """SGLang's 94 µs of host time per request rides on each step's embedding (docs/cost-model.md): the box read
    "embed 6.133 ms" for a gather of 19 µs. It says "embed + host", the host time on its own line, and the legend
    says what that is; an engine without host time keeps "embed"."""
    text = ('model preset "qwen3-30b-a3b" cluster {{ gpus = 8  gpu preset "h200"  engine = {engine} }} '
            "workload {{ batch = 64  prompt = 1000  generate = 200  serving = inflight }} strategy tp 1 ; ep 8")
    c = check(load_plan_text(text.format(engine="sglang")))[0].compiled
    dot = dag_dot(c, Detail.SUMMARY).text
    [(nid, attrs)] = [(n, a) for n, a in NODE.findall(dot) if "embed" in classes(a)]
    i = int(nid.removeprefix("n"))
    host = c.costs.model.host_s(c.dag.template[i].requests)
    # the mixed step drawn: attention DP 8, each engine process 8 decoding requests and the prompt of the chunk
    assert host == pytest.approx(9 * 94e-6)
    total = format_si(float(c.costs.node_s[i]), Dimension.TIME)
    assert f'label="embed + host\\n{total}\\n(host {format_si(host, Dimension.TIME)})"' in attrs
    assert "legend_host" in dot and "embed + host: the step's" in dot
    bare = dag_dot(check(load_plan_text(text.format(engine="pytorch")))[0].compiled, Detail.SUMMARY).text
    assert "legend_host" not in bare and 'label="embed\\n' in bare


# ------------------------------------------------------------------ the bytes a transfer carries

@needs_dot
def test_every_transfer_between_ranks_is_labelled_with_its_bytes():
    """Communication edges carry their bytes, in the per-rank view too: each of the 4 GPUs of stage 0 of
    30b-moe-dp2-pp2-tp2-ep4-16gpu sends its half of a micro-batch's activations to its GPU of stage 1 — 128 requests
    over dp 2 and 4 micro-batches are 16 of 2,048 tokens, 32,768 tokens split over tp 2, 16,384 × 4,096 hidden ×
    2 bytes = 128 MiB (the ops' view labels the group's 512 MiB). `dot` draws each label beside its arrow."""
    name = "30b-moe-dp2-pp2-tp2-ep4-16gpu"
    assert 16_384 * 4_096 * 2 == 128 * 2**20
    text, svg = rendered(name, Detail.RANKS, Renderer.DOT)
    shapes = dict(re.findall(r"^\s+(n\d+_r\d+) \[.*shape=(\w+)", text, re.M))
    transfers = [(a, b, attrs) for a, b, attrs in edges(text) if shapes.get(a) == shapes.get(b) == "cds"]
    assert len(transfers) == 4 and all('label="128.0 MiB"' in attrs for _, _, attrs in transfers)
    assert 'label="512.0 MiB"' in rendered(name, Detail.FULL, Renderer.DOT)[0]
    drawn = {g.findtext(f"{SVG_NS}title"): [t.text for t in g.iter(f"{SVG_NS}text")]
             for g in svg.iter(f"{SVG_NS}g") if "edge" in g.get("class", "").split()}
    assert all(drawn[f"{a}->{b}"] == ["128.0 MiB"] for a, b, _ in transfers)


def test_a_collective_says_the_bytes_it_moves():
    """A collective's hexagon read only its time and group ("all_reduce 10.73 us · tp 2"): nothing in dag.svg
    said how much it moves. It says the bytes each GPU brings to it (what its time is costed on): in the small plan's
    prefill, a micro-batch of 4 requests × 128 tokens, 512 tokens × 256 hidden × 2 bytes = 256 KiB a GPU for the
    TP all-reduce; the expert all-to-alls name their own, no more than the largest rank's."""
    assert 512 * 256 * 2 == 256 * 2**10
    text = dag_dot(compiled("small"), Detail.SUMMARY).text
    hexagons = [attrs for _, attrs in NODE.findall(text) if "shape=hexagon" in attrs and "comm" in classes(attrs)]
    reduces = [attrs for attrs in hexagons if "all_reduce" in classes(attrs)]
    assert reduces and all('label="all_reduce\\n10.73 us · tp 2\\n256.0 KiB per GPU"' in a for a in reduces)
    c = compiled("small")
    for nid, attrs in NODE.findall(text):
        if "shape=hexagon" in attrs and "comm" in classes(attrs):
            sent = c.dag.template[int(nid.removeprefix("n"))].comm_bytes
            figure = format_si(float(sent.max()), Dimension.SIZE)
            assert (f"\\n{figure} per GPU\"" if sent.min() == sent.max() else f"\\nup to {figure} per GPU\"") in attrs
