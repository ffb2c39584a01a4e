"""The outputs of a simulated load: load_cdf.svg and load_timeline.svg (XML, the CDF's points the sorted
latencies, bounded, names inert), the trace's counters (Perfetto's importer rules, bounded), report.md and
report.html (the pictures in the Load section, inline), and `--requests-out` (a line per request whose
figures give report.json's percentiles back; unsafe names and targets refused with exit 5)."""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from dagc.cli.main import main
from dagc.export.load_series import CDF_POINTS, SERIES_INTERVALS, envelope, load_run
from dagc.export.load_svg import LATENCIES, load_cdf_svg, load_timeline_svg
from dagc.export.trace import write_trace
from dagc.lang.load import load_plan_text
from dagc.serve.load import Load, Timeline, percentiles
from dagc.verdict.check import check
from conftest import ROOT
from trace_checker import check_readable, check_trace

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert(1)</script> & ]]> \x1b[31m"


def _plan_text(traffic: str = "rate = 6 requests/s  requests = 300") -> str:
    text = (ROOT / "examples" / "qwen3-30b-a3b-inflight.moe").read_text()
    text = text.replace("chunk = 8192", "chunk = 8192\n  " + traffic)
    return text.split("strategy dep")[0] + "strategy dep = tp 1 ; ep 4\nstrategy tp = tp 4\n"


def _with_timeline(load: Load) -> Load:
    """The run with a timeline: its own, or one counted from its requests' times (the admission taken as
    the first token) while the simulation does not keep one."""
    if load.timeline is not None:
        return load
    t = np.sort(np.r_[load.arrival, load.first_token, load.finish])
    first, end = np.sort(load.first_token), np.sort(load.finish)
    running = np.searchsorted(first, t, side="right") - np.searchsorted(end, t, side="right")
    waiting = np.searchsorted(np.sort(load.arrival), t, side="right") - np.searchsorted(first, t, side="right")
    return dataclasses.replace(load, timeline=Timeline(t, running, waiting, running / max(1, running.max())))


@pytest.fixture(scope="module")
def results():
    return check(load_plan_text(_plan_text()))


@pytest.fixture(scope="module")
def run(results) -> Load:
    load = load_run(results[0])
    assert load is not None
    return _with_timeline(load)


def _huge_load(n: int = 1_000_000) -> Load:
    """A synthetic run of `n` requests with a timeline of 3n samples (no simulation)."""
    rng = np.random.default_rng(0)
    arrival = np.cumsum(rng.exponential(0.01, n))
    first = arrival + rng.exponential(0.5, n)
    finish = first + 0.02 * 499 * (1 + rng.random(n))
    from dagc.plan.workload import Traffic
    load = Load(traffic=Traffic(requests=n, rate=100.0), arrival=arrival, first_token=first, finish=finish,
                generate=500, itl=np.array([0.02]), itl_weight=np.array([1.0]), area=1.0)
    return _with_timeline(load)


def _points(polyline: ET.Element) -> np.ndarray:
    return np.array([[float(v) for v in p.split(",")] for p in polyline.get("points", "").split()])


def _affine(x: np.ndarray, y: np.ndarray) -> None:
    """`y` is an affine image of `x` (to the 0.01 px the SVG prints): the points are those values."""
    a, b = np.polyfit(x, y, 1)
    assert np.abs(a * x + b - y).max() < 0.011


def test_cdf_points_are_the_sorted_latencies(run):
    svg = load_cdf_svg(run, "plan · dep", "300 requests at 6 requests/s")
    root = ET.fromstring(svg)
    curves = {p.get("data-latency"): _points(p) for p in root.iter(f"{SVG}polyline") if p.get("class") == "cdf"}
    assert set(curves) == {key for key, _, _ in LATENCIES}
    n = len(run.arrival)
    assert n <= CDF_POINTS
    xs = []
    for key, pts in curves.items():
        values = np.sort(getattr(run, key))
        assert len(pts) == n
        _affine(np.arange(1, n + 1) / n, pts[:, 1])            # every request, its share of the requests
        assert np.all(values > 0)
        xs.append((np.log10(values), pts[:, 0]))
    _affine(np.concatenate([x for x, _ in xs]), np.concatenate([p for _, p in xs]))    # one log axis for all
    for key, name, _ in LATENCIES:                  # the legend's figures are report.json's, rounded by dagc
        q = percentiles(getattr(run, key))
        from dagc.units import Dimension, format_si
        assert f"{name}: p50 {format_si(q['p50'], Dimension.TIME)}" in svg


def test_timeline_svg(run):
    svg = load_timeline_svg(run, "plan · dep", "300 requests")
    assert svg is not None
    root = ET.fromstring(svg)
    series = {p.get("data-series"): _points(p) for p in root.iter(f"{SVG}polyline") if p.get("class") == "series"}
    assert set(series) == {"running", "waiting", "kv"}
    kept = envelope(run.timeline.t, run.timeline.running)[0]
    assert len(series["running"]) == 2 * len(kept)          # a step line: two points a sample (or kept point)
    assert len(series["kv"]) == len(series["running"])
    assert load_timeline_svg(dataclasses.replace(run, timeline=None), "x", "y") is None


def test_names_stay_text(run):
    for svg in (load_cdf_svg(run, HOSTILE, HOSTILE), load_timeline_svg(run, HOSTILE, HOSTILE)):
        assert svg is not None
        root = ET.fromstring(svg)
        assert not [e for e in root.iter() if e.tag.endswith("script")]
        assert "<script>" not in svg and "&lt;script&gt;" in svg and "\x1b" not in svg


def test_a_million_requests_draw_a_bounded_picture():
    load = _huge_load()
    cdf = ET.fromstring(load_cdf_svg(load, "big", "1,000,000 requests"))
    for p in cdf.iter(f"{SVG}polyline"):
        assert len(_points(p)) <= CDF_POINTS
    timeline = load_timeline_svg(load, "big", "1,000,000 requests")
    assert timeline is not None and len(timeline) < 400_000
    for p in ET.fromstring(timeline).iter(f"{SVG}polyline"):
        assert len(_points(p)) <= 4 * SERIES_INTERVALS
    t, v = envelope(load.timeline.t, load.timeline.running)
    assert len(t) <= 2 * SERIES_INTERVALS and v.max() == load.timeline.running.max()
    assert np.all(np.diff(t) >= 0)


def _trace_events(path: Path) -> tuple[list[dict], dict]:
    data = json.loads(gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_text())
    return data["traceEvents"], data["metadata"]


@pytest.mark.parametrize("huge", [False, True], ids=["run", "a-million-requests"])
def test_trace_counters(results, run, tmp_path, huge):
    load = _huge_load() if huge else run
    c = results[0].compiled
    path = tmp_path / "trace.json"
    write_trace(c, path, load=load, traffic=HOSTILE)
    assert not +check_trace(path) and not +check_readable(path)
    events, meta = _trace_events(path)
    pid = meta["load"]["pid"]
    names = {e["args"]["name"] for e in events if e["ph"] == "M" and e["pid"] == pid and e["name"] == "process_name"}
    assert names == {f"simulated load · {HOSTILE}"}
    tracks: dict[str, list] = {}
    for e in events:
        if e["ph"] == "C" and e["pid"] == pid:
            (key, value), = e["args"].items()
            tracks.setdefault(f"{e['name']} {key}", []).append((float(e["ts"]), value))
    assert set(tracks) == set(meta["load"]["counters"]) == {"requests running", "requests waiting",
                                                            "KV cache used_percent"}
    for samples in tracks.values():
        assert len(samples) <= 2 * SERIES_INTERVALS
    tl = load.timeline
    assert max(v for _, v in tracks["requests running"]) == int(tl.running.max())
    if not huge:            # every change of the run is there, at its time in µs
        changes = int(np.count_nonzero(np.diff(tl.running))) + 1
        assert len(tracks["requests running"]) <= changes
        assert tracks["requests running"][-1][1] == int(tl.running[-1])


def test_a_disaggregated_trace_gets_the_counters_too(tmp_path):
    """Both pools' instances, then the load's process, sorted last; the trace stays clean."""
    from dagc.export.trace_pools import write_pooled_trace
    text = _plan_text().split("strategy dep")[0] + "strategy pd = prefill 1 < tp 2 > decode 1 < tp 2 >\n"
    (r,) = check(load_plan_text(text))
    path = tmp_path / "trace.json"
    write_pooled_trace(r, path, load=_huge_load(20_000), traffic="20,000 requests")
    assert not +check_trace(path) and not +check_readable(path)
    events, meta = _trace_events(path)
    pid = meta["load"]["pid"]
    sorts = {e["pid"]: e["args"]["sort_index"] for e in events if e["name"] == "process_sort_index"}
    assert sorts[pid] == max(sorts.values()) and pid == max(sorts)
    assert {e["name"] for e in events if e["ph"] == "C" and e["pid"] == pid} == {"requests", "KV cache"}


def test_trace_without_a_timeline_has_no_counters(results, run, tmp_path):
    path = tmp_path / "trace.json"
    write_trace(results[0].compiled, path, load=dataclasses.replace(run, timeline=None), traffic="x")
    events, meta = _trace_events(path)
    assert "load" not in meta and not [e for e in events if e["ph"] == "C" and e["name"] != "HBM"]


def _dagc(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--no-search"])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def plan_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("plan") / "load.moe"
    path.write_text(_plan_text())
    return path


def test_compile_writes_pictures_and_requests(plan_file, results, tmp_path, capsys):
    out = tmp_path / "out"
    code, _, err = _dagc(capsys, "compile", str(plan_file), "-o", str(out), "--requests-out", "requests.jsonl",
                         "--trace-format", "json")
    assert code in (0, 1), err
    lines = (out / "requests.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    manifest = (out / ".dagc-output").read_text()
    assert "requests.jsonl" in manifest and "dep/load_cdf.svg" in manifest
    for name in ("dep", "tp"):
        report = json.loads((out / name / "report.json").read_text())
        mine = [r for r in rows if r["strategy"] == report["strategy"]]
        assert [r["id"] for r in mine] == list(range(report["load"]["requests"]))
        for key in ("ttft_s", "tpot_s", "e2e_s"):
            assert percentiles(np.array([r[key] for r in mine])) == report["load"][key]
        assert all(r["prompt_tokens"] == 4000 and r["output_tokens"] == 500 for r in mine)
        md = (out / name / "report.md").read_text()
        load_section = md.split("## Load", 1)[1].split("\n## ", 1)[0]
        assert "![latency CDF](load_cdf.svg)" in load_section
        if load_run(results[0]).timeline is not None:
            assert "![load over time](load_timeline.svg)" in load_section
            ET.parse(out / name / "load_timeline.svg")
        ET.parse(out / name / "load_cdf.svg")
        html = (out / name / "report.html").read_text()
        assert 'data-latency="ttft"' in html and "load_cdf.svg" in html
        assert not +check_trace(out / name / "trace.json")
    assert ("preemptions" in rows[0]) == (load_run(results[0]).preemptions is not None)
    assert list(rows[0])[:10] == ["strategy", "id", "arrival_s", "prompt_tokens", "output_tokens", "first_token_s",
                                  "finish_s", "ttft_s", "tpot_s", "e2e_s"]


def test_check_writes_requests_in_out_plan(plan_file, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = _dagc(capsys, "check", str(plan_file), "--requests-out", "r.jsonl")
    assert code in (0, 1), err
    path = tmp_path / "out" / "load" / "r.jsonl"
    assert len(path.read_text().splitlines()) == 2 * 300
    assert "r.jsonl" in (tmp_path / "out" / "load" / ".dagc-output").read_text()
    assert "600 simulated requests" in out


@pytest.mark.parametrize("name", ["../x.jsonl", "/tmp/x.jsonl", "sub/x.jsonl", ".hidden", "report.json", "dep",
                                  "a\nb", ""])
def test_unsafe_names_are_refused(plan_file, tmp_path, capsys, name):
    out = tmp_path / "out"
    code, _, err = _dagc(capsys, "compile", str(plan_file), "-o", str(out), "--requests-out", name)
    assert code == 5, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ") and "Traceback" not in err
    assert not out.exists() and not (tmp_path / "x.jsonl").exists()


@pytest.mark.parametrize("kind", ["symlink", "fifo", "directory"])
def test_unsafe_targets_are_refused(plan_file, tmp_path, capsys, monkeypatch, kind):
    monkeypatch.chdir(tmp_path)
    first = _dagc(capsys, "check", str(plan_file), "--requests-out", "r.jsonl")
    assert first[0] in (0, 1)
    target = tmp_path / "out" / "load" / "r.jsonl"
    target.unlink()
    victim = tmp_path / "victim.txt"
    victim.write_text("mine")
    if kind == "symlink":
        target.symlink_to(victim)
    elif kind == "fifo":
        os.mkfifo(target)
    else:
        target.mkdir()
    code, _, err = _dagc(capsys, "check", str(plan_file), "--requests-out", "r.jsonl")
    assert code == 5, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert victim.read_text() == "mine"
    assert target.is_symlink() if kind == "symlink" else True


def test_no_traffic_is_a_usage_error(tmp_path, capsys):
    plan = tmp_path / "static.moe"
    plan.write_text(_plan_text("").replace("  \n", "\n"))
    code, _, err = _dagc(capsys, "compile", str(plan), "-o", str(tmp_path / "out"), "--requests-out", "r.jsonl")
    assert code == 2 and "no traffic" in err and not (tmp_path / "out").exists()
    # `check` refuses it before the work too: no verdict printed first (docs/outputs.md "exits 2 before writing
    # anything"; until 2026-11-28 the whole check ran and printed, then the error)
    code, out, err = _dagc(capsys, "check", str(plan), "--no-search", "--requests-out", "r.jsonl")
    assert code == 2 and "no traffic" in err and out == ""


def test_a_log_of_one_request_is_worded_in_the_singular():
    from dagc.export.load_md import capacity_text

    one = capacity_text({"capacity_judged": False, "log": "long.jsonl", "requests": 1})
    assert one == "capacity not judged: the log's 1 request is too few for a capacity run (at least 100)"
    assert "the log's 2 requests are too few" in capacity_text({"capacity_judged": False, "log": "l", "requests": 2})
