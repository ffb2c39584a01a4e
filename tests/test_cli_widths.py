"""dagc's tables at the widths terminals have: 80, 100 and 120 columns (`dagc.cli.tables`).

Each table of `dagc search`, `search --rate`, `check` and `presets` is drawn at each width and read back:
no line is wider than the console, every header reads whole (its words joined again are the header:
none is broken inside a word), a strategy's wrapped lines joined again are the strategy, every figure
shown is the JSON output's to the digits shown, and the columns not shown are the ones the note under
the table names.
"""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from dagc.cli.builtin_text import preset_fields, preset_tables
from dagc.cli.print_presets import PRESET_COLUMNS, print_presets
from dagc.cli.print_rate import RATE_COLUMNS, print_at_rate
from dagc.cli.print_search import PARETO_COLUMNS, SEARCH_COLUMNS, print_search
from dagc.cli.search_columns import COLUMNS as COLS
from dagc.export.search_json import ranked_at_rate_json, search_json

WIDTHS = (80, 100, 120)

PLAN = """
model preset "qwen3-30b-a3b"
cluster {
  gpus = 4
  gpu preset "h200"
}
workload {
  batch = 32
  prompt = 2000
  generate = 200
  serving = inflight
  chunk = 8192
  rate = 2 requests/s
  requests = 60
}
require {
  ttft_p99 <= 20 s
  tpot_p90 <= 900 ms
}
strategy dep = tp 1 ; ep 4
strategy tp = tp 4
"""

UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "B": 1.0, "%": 0.01, "GiB": 2**30, "TB/s": 1e12, "GB/s": 1e9,
         "TFLOPS": 1e12, "PFLOPS": 1e15, "tokens/s": 1.0, "tokens/s/GPU": 1.0,
         "requests/s": 1.0}


def console(width: int) -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, width=width, no_color=True, highlight=False, soft_wrap=True, emoji=False), buf


def tables(text: str, wraps: set[str]) -> list[dict]:
    """Every box-drawn table in `text`: its title, its headers (each column's lines joined by spaces), its
    rows (a cell's wrapped lines joined by spaces: a row starts on a line with a cell in a column that does
    not wrap, whose header is not in `wraps`) and the columns the note under it says are not shown."""
    lines, found = text.split("\n"), []
    for i, line in enumerate(lines):
        if not line.startswith("┏"):
            continue
        heads: list[list[str]] = []
        j = i + 1
        while lines[j].startswith("┃"):
            cells = [c.strip() for c in lines[j].strip("┃").split("┃")]
            heads = heads or [[] for _ in cells]
            for k, c in enumerate(cells):
                if c:
                    heads[k].append(c)
            j += 1
        headers = [" ".join(h) for h in heads]
        rows: list[list[list[str]]] = []
        end = j + 1
        while lines[end].startswith("│"):
            cells = [c.strip() for c in lines[end].strip("│").split("│")]
            if not rows or any(c and h not in wraps for c, h in zip(cells, headers, strict=True)):
                rows.append([[] for _ in cells])
            for k, c in enumerate(cells):
                if c:
                    rows[-1][k].append(c)
            end += 1
        note = next((line for line in lines[end + 1:end + 3] if line.startswith("not shown at")), "")   # past a caption
        found.append({"title": lines[i - 1], "headers": headers, "rows": [[" ".join(c) for c in r] for r in rows],
                      "dropped": re.findall(r"`([^`]+)`", note.split(" (every figure")[0]),
                      "lines": lines[i:end + 1]})
    return found


def figure(cell: str) -> tuple[float, float]:
    """A figure as printed and half a unit of its last digit: `1,150` → (1150, 0.5); `26.5 ms` → (0.0265, 5e-5)."""
    m = re.fullmatch(r"≈? ?([\d,]+(?:\.(\d+))?) ?(.*)", cell)
    assert m, f"not a figure: {cell!r}"
    scale = UNITS[m.group(3)] if m.group(3) else 1.0
    value = float(m.group(1).replace(",", ""))
    return value * scale, 0.5 * 10 ** -len(m.group(2) or "") * scale


def same(cell: str, value: float) -> bool:
    shown, half = figure(cell)
    return abs(shown - value) <= half * 1.001 + 1e-12


def check_shape(t: dict, width: int, headers: tuple[str, ...], wide: dict) -> None:
    """No line past the width; every header whole; the columns shown and those the note names are those of
    the table drawn wide (`wide`: at 1,000 columns, every column and none left out)."""
    assert all(len(line) <= width for line in t["lines"]), t["title"]
    assert set(t["headers"]) <= set(headers), t["headers"]       # a header broken inside a word reads otherwise
    assert not wide["dropped"] and set(wide["headers"]) <= set(headers)
    assert [h for h in wide["headers"] if h not in t["headers"]] == t["dropped"]


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    from dagc import load_plan
    from dagc.search.at_rate import rank_at_rate
    from dagc.search.search import search
    path = tmp_path_factory.mktemp("widths") / "plan.moe"
    path.write_text(PLAN)
    plan = load_plan(str(path))
    found = search(plan, objective=plan.objective, top=5)
    return plan, found, rank_at_rate(plan, found, 2.0), path


@pytest.mark.parametrize("width", WIDTHS)
def test_search_tables_keep_every_figure_whole_at_every_width(searched, width):
    plan, found, ranked, path = searched
    drawn = []
    for w in (width, 1000):
        out, buf = console(w)
        print_search(out, found, 5, path.parent / "p.svg", plan)
        print_at_rate(out, ranked, 5, plan)
        drawn.append(tables(buf.getvalue(), {h for h, c in COLS.items() if c.wrap}))
    (best, front, rate), wide = drawn
    doc, at = search_json(found, 5), ranked_at_rate_json(ranked, 5)
    check_shape(best, width, SEARCH_COLUMNS, wide[0])
    check_shape(front, width, PARETO_COLUMNS + ("meets requirements",), wide[1])
    check_shape(rate, width, RATE_COLUMNS, wide[2])
    assert len(best["rows"]) == 5 and len(rate["rows"]) == 5
    for row, c in zip(best["rows"], doc["candidates"], strict=True):
        cells = dict(zip(best["headers"], row, strict=True))
        assert cells["strategy"] == c["strategy"]                  # wrapped between words, whole again
        assert "meets requirements" in cells                       # a figure is never shown without its verdict
        assert same(cells["decode (tokens/s/GPU)"], c["metrics"]["decode_tokens_per_s_per_gpu"])
        for name, key in (("TTFT", "ttft_s"), ("TPOT", "tpot_s")):
            if name in cells:
                assert same(cells[name], c["metrics"][key])
        if "GPUs" in cells:
            assert cells["GPUs"] == str(c["gpus"])
        if "memory used" in cells:
            assert same(cells["memory used"], 1 - c["memory_headroom"])
    for row, a in zip(rate["rows"], at["ranked"], strict=True):
        cells = dict(zip(rate["headers"], row, strict=True))
        assert cells["strategy"] == a["strategy"]
        assert same(cells["goodput (requests/s/GPU)"], a["goodput_requests_per_s_per_gpu"])
        if "TTFT p99" in cells:
            assert same(cells["TTFT p99"], a["load"]["ttft_s"]["p99"])
        if "TPOT p90" in cells:
            assert same(cells["TPOT p90"], a["load"]["tpot_s"]["p90"])
        if "served (requests/s)" in cells:
            assert same(cells["served (requests/s)"], a["load"]["served_requests_per_s"])
    # the figure it ranks by and whether each row meets the requirements, at every width: a percentile past its
    # target must not read as a pick; from 100 columns the percentiles too
    assert {"goodput (requests/s/GPU)", "meets requirements"} <= set(rate["headers"])
    assert ({"TTFT p99", "TPOT p90"} <= set(rate["headers"])) == (width >= 100)
    # the figure the objective ranks by (tokens/s/GPU) at every width, and the front's two axes: a ranking that does
    # not show what it ranks by cannot be read; TTFT and TPOT when there is room
    assert plan.objective == "tokens-per-gpu" and "decode (tokens/s/GPU)" in best["headers"]
    assert {"TPOT", "decode (tokens/s/GPU)"} <= set(front["headers"])
    assert ({"TTFT", "TPOT"} <= set(best["headers"])) == (width >= 100)
    # how many GPUs a row takes before those (tests/test_search_column_priority.py; until 2026-12-02 left out at 80
    # and 120 columns, where TTFT was shown)
    assert "GPUs" in best["headers"] and "GPUs" in rate["headers"]
    for t, w in ((best, wide[0]), (front, wide[1])):
        assert ("meets requirements" in t["headers"]) == ("meets requirements" in w["headers"])


@pytest.mark.parametrize("width", WIDTHS)
def test_check_tables_keep_every_figure_whole_at_every_width(searched, width):
    from dagc.cli.print_figures import MEMORY_COLUMNS, print_memory_table, print_metrics_table
    from dagc.export.report import report_json
    from dagc.launch.engine_check import check  # the check alone: these tables are not the search's
    plan = searched[0]
    r = check(plan.model_copy(update={"workload": plan.workload.model_copy(update={"traffic": None})}))[1]
    drawn = []
    for w in (width, 1000):
        out, buf = console(w)
        print_memory_table(out, r)
        print_metrics_table(out, r)
        drawn.append(tables(buf.getvalue(), {"GPUs", "activations", "metric"}))
    (memory, metrics), wide = drawn
    doc = report_json(r)
    check_shape(memory, width, tuple(c.header for c in MEMORY_COLUMNS), wide[0])
    stage = doc["memory"]["stages"][0]
    cells = dict(zip(memory["headers"], memory["rows"][0], strict=True))
    share = stage["total_bytes"] / doc["memory"]["capacity_bytes"]
    assert same(cells["total"], stage["total_bytes"]) and same(cells["use"], share)
    if "weights" in cells:
        assert same(cells["weights"], stage["weights_bytes"])
    values = {row[0]: row[1] for row in metrics["rows"]}
    assert same(values["TTFT as the client sees it (time to first token)"], doc["metrics"]["ttft_s"])
    assert same(values["TPOT (time per output token)"], doc["metrics"]["tpot_s"])
    assert same(values["decode throughput"], doc["metrics"]["decode_tokens_per_s"])


@pytest.mark.parametrize("width", WIDTHS)
def test_presets_tables_keep_every_figure_whole_at_every_width(width):
    drawn = []
    for w in (width, 1000):
        out, buf = console(w)
        print_presets(out, *preset_tables())
        drawn.append(tables(buf.getvalue(), {c.header for cols in PRESET_COLUMNS.values() for c in cols if c.wrap}))
    (models, gpus, profiles), wide = drawn
    fields = preset_fields()
    for t, cols, w in zip((models, gpus, profiles), PRESET_COLUMNS.values(), wide, strict=True):
        check_shape(t, width, tuple(c.header for c in cols), w)
    for row in models["rows"]:
        cells = dict(zip(models["headers"], row, strict=True))
        m = fields["models"][cells["preset"]]
        assert same(cells["params"], m["params_total"] / 1e9) and same(cells["active"], m["params_active"] / 1e9)
        if "layers" in cells:
            assert cells["layers"] == str(m["fields"]["layers"])
    for row in gpus["rows"]:
        cells = dict(zip(gpus["headers"], row, strict=True))
        g = fields["gpus"][cells["preset"]]
        assert same(cells["memory"].split(" (")[0], g["memory_bytes"]) and same(cells["HBM"], g["hbm_bytes_per_s"])
        assert same(cells["16-bit"], g["flops_16bit"])
    assert len(models["rows"]) == len(fields["models"]) and len(gpus["rows"]) == len(fields["gpus"])


def test_on_a_terminal_prose_wraps_between_words_at_its_width(tmp_path):
    """`dagc check` on an 80-column terminal (a pseudo-terminal here): every line but a diagnostic's (whose source
    line and caret stay together) fits, and no word is broken across lines."""
    import os
    import pty
    import sys
    plan = tmp_path / "plan.moe"
    plan.write_text(PLAN.replace("  rate = 2 requests/s\n  requests = 60\n", "").replace("ttft_p99", "ttft")
                    .replace("tpot_p90", "tpot"))
    pid, fd = pty.fork()
    if pid == 0:                                       # the child: dagc on the terminal
        os.environ["COLUMNS"] = "80"
        os.execv(sys.executable, [sys.executable, "-m", "dagc", "check", str(plan), "--no-search"])
    out = b""
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.waitpid(pid, 0)
    text = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", out.decode()).replace("\r", "")
    lines = text.split("\n")
    diagnostic = re.compile(r"^\S+:\d+:\d+: (note|warning|error)\[|^ *\d* *\|")
    assert "verdict: correct: yes" in text and len(lines) > 20
    assert all(len(line) <= 80 for line in lines if not diagnostic.match(line)), [
        line for line in lines if len(line) > 80 and not diagnostic.match(line)]
    joined = " ".join(line.strip() for line in lines)             # broken between words only: joined, whole again
    assert "subject to the plan's requirements; within 5 % of the best counts as optimal" in joined


REQUIREMENTS_PLAN = PLAN.replace("requests = 60\n", "requests = 120\n").replace(
    "  tpot_p90 <= 900 ms\n", "  tpot_p90 <= 900 ms\n  ttft <= 2 s\n  goodput >= 1 requests/s\n  memory <= 90 %\n"
    "  tpot <= 1 ms\n")


@pytest.fixture(scope="module")
def requirements_checked(tmp_path_factory):
    from dagc import load_plan
    from dagc.launch.engine_check import check
    path = tmp_path_factory.mktemp("requirements") / "plan.moe"
    path.write_text(REQUIREMENTS_PLAN)
    return check(load_plan(str(path)))[0]


@pytest.mark.parametrize("width", WIDTHS)
def test_requirements_table_shows_every_figure_at_every_width(requirements_checked, width):
    """`dagc check`'s requirements table: each requirement's target, value, band, margin, met, odds and what it is
    judged on (with the load's mean beside a steady-state latency) — report.json's figures, none cut, at 80
    columns as at 1,000."""
    from dagc.cli.print_requirements import REQUIREMENT_COLUMNS, print_requirements
    from dagc.export.bands_words import p_text
    from dagc.export.report import report_json
    from dagc.verdict.bands import bands_of
    r = requirements_checked
    drawn = []
    wraps = {c.header for c in REQUIREMENT_COLUMNS} - {"margin"}       # a row starts where its margin is
    for w in (width, 1000):
        out, buf = console(w)
        print_requirements(out, r)
        drawn.append(tables(buf.getvalue(), wraps))
    (t,), (wide,) = drawn
    check_shape(t, width, tuple(c.header for c in REQUIREMENT_COLUMNS), wide)
    assert t["headers"] == wide["headers"] == [c.header for c in REQUIREMENT_COLUMNS]     # nothing left out
    doc = report_json(r)["requirements"]
    odds = bands_of(r).requirements
    assert len(t["rows"]) == len(doc) == 6
    kinds = set()
    for row, q, o in zip(t["rows"], doc, odds, strict=True):
        cells = dict(zip(t["headers"], row, strict=True))
        name, op, target = cells["requirement"].split(" ", 2)
        assert (name, op) == (q["name"], q["op"]) and same(target, q["target"])
        value, _, band = cells["value [band]"].partition(" [")
        assert same(value, q["value"])
        unit = value.split(" ", 1)[1]
        if o.band is None:
            assert not band and q["probability"] is None
        else:                               # the band in the value's unit, each end the band's to its digits
            low, high = band.removesuffix("]").split("–")
            assert same(f"{low} {unit}", o.band.low) and same(f"{high} {unit}", o.band.high)
        ratio = q["value"] / q["target"]
        margin = (1 - ratio) if q["op"] in ("<=", "<") else (ratio - 1)
        shown = cells["margin"]
        if shown.endswith("%"):
            assert same(shown.lstrip("+-"), abs(margin)) and shown.startswith("+" if margin > 0 else "-")
        else:                               # past ±100 %: the multiple of the target
            assert shown.endswith(("× over", "× the target")) and same(shown.split("×")[0], max(ratio, 1 / ratio))
        assert cells["met"] == ("yes" if q["met"] else "NO")
        p = q["probability"]
        assert cells["odds"] == (q["class"] if p is None else f"{q['class']} ({p_text(p)})")
        judged = cells["judged on"]
        if q["judged_on"] == "load":
            assert judged == "load"
        elif q["load_value"] is None:
            assert judged == "steady state"
        else:
            assert judged.startswith("steady state; ") and same(judged.rsplit("mean ", 1)[1], q["load_value"])
        kinds.add((q["judged_on"], q["load_value"] is not None, o.band is not None, shown.endswith("%"), q["met"]))
    # the table covers each kind of row: judged on the load, on the steady state with and without the load's mean,
    # banded or not, a margin in % and past 100 %, met and missed
    assert {k[0] for k in kinds} == {"load", "steady-state"} and {k[1] for k in kinds} == {True, False}
    assert {k[2] for k in kinds} == {True, False} and {k[3] for k in kinds} == {True, False}
    assert {k[4] for k in kinds} == {True, False}


def test_requirements_table_without_traffic_has_no_judged_on_column(requirements_checked):
    from dagc.launch.engine_check import check  # the check alone: these tables are not the search's
    plan = requirements_checked.plan
    text = REQUIREMENTS_PLAN.replace("  rate = 2 requests/s\n  requests = 120\n", "")
    for line in ("  ttft_p99 <= 20 s\n", "  tpot_p90 <= 900 ms\n", "  goodput >= 1 requests/s\n"):
        text = text.replace(line, "")
    from dagc.cli.print_requirements import print_requirements
    from dagc.lang.load import load_plan_text
    r = check(load_plan_text(text))[0]
    assert plan.workload.traffic is not None and r.plan.workload.traffic is None
    out, buf = console(80)
    print_requirements(out, r)
    (t,) = tables(buf.getvalue(), {"requirement", "value [band]", "met", "odds"})
    assert t["headers"] == ["requirement", "value [band]", "margin", "met", "odds"] and not t["dropped"]
