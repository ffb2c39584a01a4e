"""A requirement whose bound lies off pareto.svg's axis is said in words, whether every point meets it or none: until
2026-12-03 it was left out while the caption said "dashed: requirements" (a new user's `tpot <= 100 ms` beside points
up to 48 ms)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from dagc.export.pareto import plan_pareto_svg
from dagc.lang.load import load_plan_text
from dagc.search.search import search
from dagc.verdict.check import check
from conftest import plan_text


def test_a_bound_off_the_axis_is_said():
    bound, said = "tpot <= 10 s", "tpot &lt;= 10 s: right of the axis (every point meets it)"
    plan = load_plan_text(plan_text(require=f"require {{ {bound} }}"))
    svg = plan_pareto_svg(plan, search(plan, top=3), check(plan))
    ET.fromstring(svg)
    assert said in svg and 'class="requirement" x1=' not in svg       # no dashed line: the bound is off the axis
