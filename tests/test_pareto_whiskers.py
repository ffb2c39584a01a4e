"""pareto.svg's error bars: each front point's whiskers span the band where its measured TPOT and decode
tokens/s per GPU lie, from the ledger's errors of the plan's regime (dagc.verdict.ledger)."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from dagc.export.pareto import pareto_errors, pareto_svg
from dagc.lang.load import load_plan
from dagc.search.search import search
from dagc.verdict.ledger import Errors
from conftest import EXAMPLES, run_dagc

NS = "{http://www.w3.org/2000/svg}"
# ln(dagc / measured) at 0, 10, 50, 90, 100 %: the 80 % band of a prediction v is [v·e^(−0.1), v·e^(0.2)]
TPOT = Errors("quantity=tpot", 10, (0.0, 0.1, 0.5, 0.9, 1.0), (-0.5, -0.2, 0.0, 0.1, 0.3))
# and of a throughput [v·e^(−0.3), v·e^(0.4)]
RATE = Errors("quantity=throughput", 10, (0.0, 0.1, 0.5, 0.9, 1.0), (-0.6, -0.4, 0.0, 0.3, 0.5))


@pytest.fixture(scope="module")
def found():
    return search(load_plan(EXAMPLES / "qwen3-30b-a3b-4gpu.moe"), top=50)


def _lines(group) -> list[tuple[float, float, float, float]]:
    return [tuple(float(e.get(k)) for k in ("x1", "y1", "x2", "y2")) for e in group.iter(f"{NS}line")]


def test_each_front_point_has_whiskers_over_its_band(found):
    root = ET.fromstring(pareto_svg(found, "qwen", errors=(TPOT, RATE)))
    groups = [g for g in root.iter(f"{NS}g") if g.get("class") == "whiskers"]
    points = [e for e in root.iter() if e.get("class") == "pareto"]
    assert len(groups) == len(points) == len(found.pareto) >= 2
    by_tpot = sorted(found.pareto, key=lambda c: (c.metrics.tpot_s, -c.metrics.decode_tokens_per_s_per_gpu))
    for group, point, c in zip(groups, points, by_tpot, strict=True):
        (hx1, hy, hx2, hy2), (vx, vy1, vx2, vy2) = _lines(group)[:2]
        cx, cy = float(point.get("cx")), float(point.get("cy"))
        assert hy == hy2 == pytest.approx(cy, abs=0.06) and vx == vx2 == pytest.approx(cx, abs=0.06)
        # the axes are linear: where the point sits inside its whiskers is where the value sits in its band
        x = c.metrics.tpot_s * 1e3
        assert (cx - hx1) / (hx2 - cx) == pytest.approx((x - x * math.exp(-0.1)) / (x * math.exp(0.2) - x),
                                                        rel=2e-2)
        y = c.metrics.decode_tokens_per_s_per_gpu       # SVG's y grows downwards: the high end is above
        assert (vy1 - cy) / (cy - vy2) == pytest.approx((y - y * math.exp(-0.3)) / (y * math.exp(0.4) - y),
                                                        rel=2e-2)
    caption = ET.tostring(root, encoding="unicode")
    assert "Whiskers: where each front point's measured TPOT and decode tokens/s per GPU lie at 80 %" in caption
    assert "regime quantity=tpot; quantity=throughput" in caption


def test_no_errors_no_whiskers(found):
    svg = pareto_svg(found, "qwen")
    assert 'class="whiskers"' not in svg and "Whiskers" not in svg


def test_the_plan_regime_gives_the_whiskers(found):
    tpot, rate = pareto_errors(load_plan(EXAMPLES / "qwen3-30b-a3b-4gpu.moe"))
    assert tpot.runs > 0 and rate.runs > 0
    assert "tpot" in tpot.regime and "throughput" in rate.regime


def test_search_svg_draws_them(tmp_path):
    svg = tmp_path / "p.svg"
    proc = run_dagc("search", str(EXAMPLES / "qwen3-30b-a3b-4gpu.moe"), "-q", "--svg", str(svg))
    assert proc.returncode == 0, proc.stderr
    root = ET.parse(svg).getroot()
    assert sum(g.get("class") == "whiskers" for g in root.iter(f"{NS}g")) == \
        sum(e.get("class") == "pareto" for e in root.iter())


def test_a_front_point_s_tooltip_rounds_its_ttft_as_every_output_does(found):
    """Hovering a front point reads its TTFT to four significant figures in ms below a second, as the terminal,
    report.md and the list under the plot write times — before, three figures in seconds (`TTFT 0.752 s`, `TTFT
    1.13 s` beside report.md's 751.8 ms and 1.131 s)."""
    root = ET.fromstring(pareto_svg(found, "qwen"))
    titles = ["".join(e.itertext()) for e in root.iter(f"{NS}title")]
    by_tpot = sorted(found.pareto, key=lambda c: (c.metrics.tpot_s, -c.metrics.decode_tokens_per_s_per_gpu))
    assert len(titles) == len(by_tpot) >= 2
    for title, c in zip(titles, by_tpot, strict=True):
        ttft = c.metrics.ttft_s        # 0.75184… s and 1.13124… s on this example
        said = f"{ttft * 1e3:.1f} ms" if ttft < 1 else f"{ttft:.4g} s"
        assert title.endswith(f" · TTFT {said}"), title
    assert titles[0].endswith("TTFT 751.8 ms") and titles[1].endswith("TTFT 1.131 s")


LONG = "tres_long_nom_de_strategie_avec_beaucoup_de_caracteres_pour_voir_ce_qui_se_passe_dans_les_images"  # 98


def test_a_long_strategy_name_of_the_plan_stays_inside_the_picture(found):
    """The plan's own strategies are labelled beside their squares; a long name (98 characters, some 608 px at
    10 px) is moved in from the edge, and wrapped when wider than the picture, so that every character of it is
    drawn inside the 900 px — before, a point at the middle of the plot had its label start there and run some
    130 px past the right edge (Chromium cut it)."""
    fast = min(found.pareto, key=lambda c: c.metrics.tpot_s)
    slow = max(found.pareto, key=lambda c: c.metrics.tpot_s)
    mid = (fast.metrics.tpot_s + slow.metrics.tpot_s) / 2
    rate = fast.metrics.decode_tokens_per_s_per_gpu
    names = [LONG, "b" * 200, LONG + " " + LONG]
    own = [(name, t, rate, True) for name in names for t in (fast.metrics.tpot_s, mid, slow.metrics.tpot_s)]
    root = ET.fromstring(pareto_svg(found, "qwen", own=own))
    labels = [e for e in root.iter(f"{NS}text") if e.get("fill") == "#2171b5"]
    assert len(labels) == len(own)
    for label, (name, _, _, _) in zip(labels, own, strict=True):
        lines = [t.text for t in label.iter(f"{NS}tspan")] or [label.text]
        assert "".join(lines).replace(" ", "") == name.replace(" ", "")       # the whole name, no character lost
        x = float(label.get("x"))
        for line in lines:
            width = len(line) * 10 * 0.62          # dagc's generous estimate of a 10 px line (EM_NORMAL)
            left = x - width if label.get("text-anchor") == "end" else x
            assert 0 <= left and left + width <= 900, (name[:20], line[:20], left, width)
