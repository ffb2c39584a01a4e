"""pareto.svg under a plan's traffic: a candidate the search judged on the steady state alone (not simulated
under the traffic, `Candidate.judged`) is not drawn as meeting every requirement, and a load percentile
(`tpot_p90 <= 50 ms`) gets no line on the steady state's TPOT axis — a trial's plot drew `tp 1 ; ep 16` (steady
TPOT 66.49 ms, p90 under the traffic 55.83 ms: it misses) dark grey, "meets every requirement", right of a
dashed `tpot_p90 <= 50 ms`."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

import pytest

from dagc.export.pareto import pareto_svg
from dagc.lang.load import load_plan
from dagc.plan.workload import Requirement, RequirementKind
from dagc.search.search import search
from conftest import EXAMPLES

NS = "{http://www.w3.org/2000/svg}"


def _tpot(target_s: float, percentile: int | None = None) -> Requirement:
    name = "tpot" if percentile is None else f"tpot_p{percentile}"
    return Requirement(kind=RequirementKind.TPOT, op="<=", target=target_s, percentile=percentile,
                       text=f"{name} <= {target_s * 1e3:g} ms")


@pytest.fixture(scope="module")
def found():
    return search(load_plan(EXAMPLES / "qwen3-30b-a3b-4gpu.moe"), top=50)


def _words(svg: str) -> str:
    """The SVG's text, its lines joined by spaces (the heading wraps)."""
    return " ".join(" ".join(e.itertext()) for e in ET.fromstring(svg).iter(f"{NS}text"))


def test_a_candidate_judged_on_the_steady_state_alone_is_mid_grey(found):
    meeting = [c for c in found.ranked if c.meets_requirements]
    assert len(meeting) >= 2
    first = meeting[0]
    unjudged = dataclasses.replace(first, judged="steady-state")
    ranked = tuple(unjudged if c is first else c for c in found.ranked)
    svg = pareto_svg(dataclasses.replace(found, ranked=ranked), "qwen")
    fills = [e.get("fill") for e in ET.fromstring(svg).iter(f"{NS}circle") if e.get("class") == "candidate"]
    # one dot mid grey (the one not simulated), the others meeting every requirement dark grey as before
    assert fills.count("#c6c6c6") == 1
    assert fills.count("#969696") == len([c for c in found.ranked[:len(fills)] if c.meets_requirements]) - 1
    assert "mid grey meets the steady-state requirements but was not simulated under the traffic" in _words(svg)
    plain = pareto_svg(found, "qwen")
    assert "#c6c6c6" not in plain and "mid grey" not in plain


def test_a_load_percentile_has_no_line_on_the_steady_tpot_axis(found):
    def lines(svg: str) -> list[ET.Element]:
        return [e for e in ET.fromstring(svg).iter(f"{NS}line") if e.get("class") == "requirement"]

    target = found.ranked[0].metrics.tpot_s             # inside the axis: a line would be drawn
    p90 = pareto_svg(found, "qwen", requirements=(_tpot(target, 90),))
    assert lines(p90) == [] and "tpot_p90" not in _words(p90)
    assert "dashed: the steady-state requirements (a load percentile, judged on simulated runs, has no line" \
        in _words(p90)
    steady = pareto_svg(found, "qwen", requirements=(_tpot(target),))
    assert len(lines(steady)) == 1 and "dashed: requirements." in _words(steady)
