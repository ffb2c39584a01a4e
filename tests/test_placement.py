"""placement.svg, read back as XML: everything inside the canvas, one colour per stage, memory
bars that add up to the memory breakdown, and an explicit count when GPUs are left out."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from dagc.export.html import report_html
from dagc.export.placement import MAX_GPUS, placement_svg
from dagc.export.placement_style import CELL_W, MAX_WIDTH, MEMORY_PARTS, stage_colours
from dagc.lang.load import load_plan_text
from dagc.verdict.check import check
from conftest import ROOT, checked_example, plan_text

NS = "{http://www.w3.org/2000/svg}"
EM = 0.6            # average glyph width of the fonts named, in em (the drawing assumes a bit more)
SHOWN = re.compile(r"(\d+) of (\d+) GPUs shown")


def deepseek(gpus: int, strategy: str):
    text = plan_text(model='model preset "deepseek-v3"', cluster=f'cluster {{ gpus = {gpus} gpu preset "h800" }}',
                     strategy=f"strategy {strategy}")
    return check(load_plan_text(text))[0]


@pytest.fixture(scope="module")
def pp16():
    return checked_example("10b-moe-pp16-ep16-256gpu.moe")[0]


@pytest.fixture(scope="module")
def replicas4096():
    """4096 GPUs, 32 identical DP replicas of 128."""
    return deepseek(4096, "dp 32 < pp 4 < tp 4 sp ; ep 32 > >")


@pytest.fixture(scope="module")
def replica4096():
    """4096 GPUs in one DP replica: more than the drawing shows."""
    return deepseek(4096, "pp 16 < tp 8 ; ep 256 >")


def svg_of(r) -> ET.Element:
    return ET.fromstring(placement_svg(r))


def box(el: ET.Element) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) of a rect, line or text (text by its estimated extent)."""
    tag = el.tag.removeprefix(NS)
    f = lambda k: float(el.get(k, "0"))  # noqa: E731
    if tag == "rect":
        return f("x"), f("y"), f("x") + f("width"), f("y") + f("height")
    if tag == "line":
        return min(f("x1"), f("x2")), min(f("y1"), f("y2")), max(f("x1"), f("x2")), max(f("y1"), f("y2"))
    size = f("font-size")
    w = f("textLength") if el.get("textLength") else len(el.text or "") * size * EM
    x0 = {"start": f("x"), "middle": f("x") - w / 2, "end": f("x") - w}[el.get("text-anchor", "start")]
    return x0, f("y") - 0.8 * size, x0 + w, f("y") + 0.25 * size


def drawn(root: ET.Element):
    return [el for el in root.iter() if el.tag.removeprefix(NS) in ("rect", "line", "text")]


def assert_inside_canvas(root: ET.Element) -> None:
    _, _, width, height = map(float, root.get("viewBox").split())
    assert float(root.get("width")) == width and float(root.get("height")) == height
    assert width <= MAX_WIDTH
    for el in drawn(root):
        x0, y0, x1, y1 = box(el)
        assert 0 <= x0 and x1 <= width + 0.01 and 0 <= y0 and y1 <= height + 0.01, (el.tag, el.attrib, el.text)


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{NS}text")]


def cells(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{NS}g") if "gpu" in (g.get("class") or "").split()]


def shown_notes(root: ET.Element) -> list[tuple[int, int]]:
    return [(int(m[1]), int(m[2])) for t in texts(root) if (m := SHOWN.search(t))]


# ------------------------------------------------------------------ canvas

@pytest.mark.parametrize("name", ["pp16", "replicas4096", "replica4096"])
def test_everything_is_inside_the_canvas(request, name):
    assert_inside_canvas(svg_of(request.getfixturevalue(name)))


def test_sixteen_stage_legend_is_inside_and_complete(pp16):
    root = svg_of(pp16)
    swatches = [el for el in root.iter(f"{NS}rect") if el.get("class") == "stage-swatch"]
    assert [int(s.get("data-stage")) for s in swatches] == list(range(16))
    assert_inside_canvas(root)
    assert any(t.startswith("stage 15: layer 15") for t in texts(root))


def test_text_stays_inside_its_gpu_cell(pp16, replica4096):
    for r in (pp16, replica4096):
        for g in cells(svg_of(r)):
            frame = next(g.iter(f"{NS}rect"))
            fx0, fy0, fx1, fy1 = box(frame)
            for t in g.iter(f"{NS}text"):
                x0, y0, x1, y1 = box(t)
                assert fx0 <= x0 and x1 <= fx1 and fy0 <= y0 and y1 <= fy1, (g.get("id"), t.text)


@pytest.mark.parametrize("name", ["pp16", "replicas4096", "replica4096"])
def test_text_is_never_small_nor_condensed(request, name):
    root = svg_of(request.getfixturevalue(name))
    assert min(float(t.get("font-size")) for t in root.iter(f"{NS}text")) >= 10
    assert [t.text for t in root.iter(f"{NS}text") if t.get("textLength")] == []


def test_a_long_plan_name_wraps_inside_the_canvas():
    text = (ROOT / "tests" / "fixtures" / "small.moe").read_text()
    r = check(load_plan_text(text, name="a-very-long-plan-name-" * 12 + ".moe"))[0]
    root = svg_of(r)
    assert_inside_canvas(root)
    title = [t for t in root.iter(f"{NS}text") if t.get("font-size") == "15"]
    assert len(title) >= 2 and "".join(t.text or "" for t in title).startswith("a-very-long-plan-name-")


def test_a_small_cluster_gets_a_small_canvas():
    text = (ROOT / "tests" / "fixtures" / "small.moe").read_text()
    root = svg_of(check(load_plan_text(text, name="small.moe"))[0])
    assert float(root.get("width")) < 0.8 * MAX_WIDTH and float(root.get("height")) < 500
    assert_inside_canvas(root)


# ------------------------------------------------------------------ colours

@pytest.mark.parametrize("pp", [1, 2, 12, 16, 20, 21, 32, 61, 128])
def test_stage_colours_are_distinct(pp):
    assert len(set(stage_colours(pp))) == pp


def test_each_stage_has_its_own_colour_in_the_drawing(pp16):
    root = svg_of(pp16)
    by_stage: dict[int, set[str]] = {}
    for g in cells(root):
        by_stage.setdefault(int(g.get("data-stage")), set()).add(next(g.iter(f"{NS}rect")).get("fill"))
    assert sorted(by_stage) == list(range(16))
    assert all(len(fills) == 1 for fills in by_stage.values())
    fills = [f for fs in by_stage.values() for f in fs]
    assert len(set(fills)) == 16, fills      # stage 0 and stage 12 no longer share a blue
    legend = {int(s.get("data-stage")): s.get("fill") for s in root.iter(f"{NS}rect")
              if s.get("class") == "stage-swatch"}
    assert all(legend[s] in by_stage[s] for s in by_stage)


def test_many_stages_get_a_labelled_strip():
    r = deepseek(1024, "pp 32 < tp 4 ; ep 32 >")
    root = svg_of(r)
    strip = [el for el in root.iter(f"{NS}rect") if el.get("class") == "stage-swatch"]
    assert len(strip) == 32 and len({s.get("fill") for s in strip}) == 32
    labels = texts(root)
    assert "stage 0" in labels and "stage 31" in labels
    assert_inside_canvas(root)


# ------------------------------------------------------------------ memory bars

@pytest.mark.parametrize("name", ["pp16", "replicas4096"])
def test_memory_segments_add_up_to_the_rank_total(request, name):
    r = request.getfixturevalue(name)
    root = svg_of(r)
    mem = r.compiled.memory if r.compiled is not None else r.memory
    assert mem is not None
    totals = mem.per_rank("total_bytes")
    seen = 0
    for g in cells(root):
        rank = int(g.get("id").removeprefix("gpu"))
        segs = [el for el in g.iter(f"{NS}rect") if el.get("class") == "mem"]
        assert {s.get("data-part") for s in segs} <= {label for _, label, _ in MEMORY_PARTS}
        assert sum(float(s.get("data-bytes")) for s in segs) == pytest.approx(totals[rank], rel=1e-12)
        st = mem.stages[int(g.get("data-stage"))]
        for key, label, colour in MEMORY_PARTS:
            seg = [s for s in segs if s.get("data-part") == label]
            assert (float(seg[0].get("data-bytes")) if seg else 0.0) == pytest.approx(getattr(st, key))
            assert all(s.get("fill") == colour for s in seg)
        # widths are to scale: the bar is the GPU's memory when every rank fits
        width = sum(float(s.get("width")) for s in segs)
        assert width == pytest.approx(totals[rank] / st.capacity_bytes * (CELL_W - 12), abs=0.05 * len(segs))
        seen += 1
    assert seen == len(cells(root)) > 0


def test_memory_legend_names_every_colour(pp16):
    root = svg_of(pp16)
    labels = set(texts(root))
    assert {"weights", "KV cache", "activations", "reserve (runtime)"} <= labels
    legend = {el.get("fill") for el in root.iter(f"{NS}rect") if el.get("class") == "memory-swatch"}
    used = {el.get("fill") for el in root.iter(f"{NS}rect") if el.get("class") == "mem"}
    assert used <= legend


def test_over_capacity_is_drawn_to_scale_with_the_capacity_marked():
    r = deepseek(8, "tp 8")           # DeepSeek-V3 does not fit on one node
    root = svg_of(r)
    assert r.memory is not None and r.memory.worst.total_bytes > r.memory.worst.capacity_bytes
    assert any(el.get("stroke") == "#d7191c" for el in root.iter(f"{NS}line"))
    over = [t for t in root.iter(f"{NS}text") if t.get("class") == "over"]
    share = f"{r.memory.worst.total_bytes / r.memory.worst.capacity_bytes * 100:.1f} %"      # 135.9 %, as report.md
    assert len(over) == 8 and all(t.get("font-weight") == "bold" and share in (t.text or "") for t in over)
    assert any("red line" in t for t in texts(root))
    assert_inside_canvas(root)


# ------------------------------------------------------------------ elision

def test_no_count_when_every_gpu_is_drawn(pp16):
    root = svg_of(pp16)
    assert len(cells(root)) == 256 and shown_notes(root) == []


def test_replicas_are_summarised_and_counted(replicas4096):
    root = svg_of(replicas4096)
    assert shown_notes(root) == [(128, 4096)]
    assert len(cells(root)) == 128
    assert any("replicas 1–31 are identical" in t for t in texts(root))


def test_a_large_replica_is_cut_and_counted(replica4096):
    root = svg_of(replica4096)
    assert shown_notes(root) == [(MAX_GPUS, 4096)]
    assert len(cells(root)) == MAX_GPUS


# ------------------------------------------------------------------ report.html

def test_report_html_keeps_placement_legible(pp16):
    svg = placement_svg(pp16)
    page = report_html("# r\n\n![placement](placement.svg)\n", {"placement.svg": svg})
    width = int(ET.fromstring(svg).get("width"))
    # (the style also carries the width below which its text would shrink under 8 px: `--legible`)
    m = re.search(r'<svg style="[^"]*min-width: (\d+)px"[^>]*class="placement"[^>]*viewBox="0 0 (\d+) ', page)
    assert m and int(m[2]) == width and width * 0.85 <= int(m[1]) < width


def test_a_domain_that_does_not_divide_the_stage_group_has_no_dp_in_the_picture():
    """E203 (tp 3 beside ep 16): the header says "DP —" with the reason, as report.md does, and no GPU
    is labelled with an attention-DP index the layout does not have."""
    r = deepseek(64, "pp 4 < tp 3 ; ep 16 >")
    assert "E203" in {d.code for d in r.diagnostics}
    svg = placement_svg(r)
    assert "attention: tp 3, cp 1, DP — (3 GPUs do not divide the stage group of 16)" in svg
    assert "adp" not in svg
