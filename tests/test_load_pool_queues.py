"""A disaggregated run's two queues — requests waiting for a prefill, and prefilled requests waiting for a
decode slot — as the pooled simulation records them, drawn in load_timeline.svg and traced as counters."""

from __future__ import annotations

import gzip
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from dagc.export.load_series import SERIES_INTERVALS, envelope, load_run
from dagc.export.load_svg import load_timeline_svg
from dagc.export.trace_pools import write_pooled_trace
from dagc.lang.load import load_plan_text
from dagc.serve.load import Load
from dagc.units import format_figure
from dagc.verdict.check import check
from conftest import ROOT
from trace_checker import check_readable, check_trace

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def pooled():
    """Qwen3-30B-A3B on one prefill and one decode instance of 2 GPUs each, at 20 requests/s: both queues fill."""
    text = (ROOT / "examples" / "qwen3-30b-a3b-inflight.moe").read_text()
    text = text.replace("chunk = 8192", "chunk = 8192\n  rate = 20 requests/s requests = 300")
    (r,) = check(load_plan_text(text.split("strategy dep")[0] + "strategy pd = prefill 1 < tp 2 > decode 1 < tp 2 >\n"))
    load = load_run(r)
    assert load is not None and load.timeline is not None
    return r, load


def test_the_queues_split_the_waiting(pooled):
    _, load = pooled
    tl = load.timeline
    assert tl.waiting_prefill is not None and tl.waiting_decode is not None
    assert np.array_equal(tl.waiting_prefill + tl.waiting_decode, tl.waiting)
    assert tl.waiting_prefill.min() >= 0 and tl.waiting_decode.min() >= 0
    assert tl.waiting_prefill.max() >= 2 and tl.waiting_decode.max() >= 100      # both queues hold requests
    # a prefilled request waits for a decode slot only while every slot is taken
    assert np.all(tl.kv_share[tl.waiting_decode > 0] == 1.0)
    assert tl.kv_share.max() == 1.0


def test_an_aggregated_run_has_no_queues_split():
    text = (ROOT / "examples" / "qwen3-30b-a3b-inflight.moe").read_text()
    text = text.replace("chunk = 8192", "chunk = 8192\n  rate = 6 requests/s requests = 100")
    (r,) = check(load_plan_text(text.split("strategy dep")[0] + "strategy dep = tp 1 ; ep 4\n"))
    load = load_run(r)
    assert load is not None and load.timeline is not None
    assert load.timeline.waiting_prefill is None and load.timeline.waiting_decode is None


def _series(svg: str) -> dict[str, np.ndarray]:
    root = ET.fromstring(svg)
    return {p.get("data-series"): np.array([[float(v) for v in pt.split(",")] for pt in p.get("points", "").split()])
            for p in root.iter(f"{SVG}polyline") if p.get("class") == "series"}


def test_the_timeline_draws_both_queues(pooled):
    _, load = pooled
    tl = load.timeline
    svg = load_timeline_svg(load, "plan · pd", "300 requests at 20 requests/s")
    assert svg is not None
    series = _series(svg)
    assert set(series) == {"running", "waiting_prefill", "waiting_decode", "kv"}
    for key in ("waiting_prefill", "waiting_decode"):
        kept = envelope(tl.t, getattr(tl, key))[0]
        assert len(series[key]) == 2 * len(kept)            # a step line: two points a kept sample
    # one scale for the requests: the same count sits at the same height on every request line
    top_run = series["running"][:, 1].min()
    peak_run, peak_dec = tl.running.max(), tl.waiting_decode.max()
    assert tl.running.min() == 0 and tl.waiting_decode.min() == 0
    base = series["running"][:, 1].max()                        # the height of 0
    assert series["waiting_decode"][:, 1].max() == base
    y_dec = series["waiting_decode"][:, 1].min()
    assert abs((base - y_dec) / (base - top_run) - peak_dec / peak_run) < 1e-3
    assert f"waiting for a prefill (most {format_figure(float(tl.waiting_prefill.max()))})" in svg
    assert f"prefilled, waiting for a decode slot (most {format_figure(float(peak_dec))})" in svg
    keys = [e for e in ET.fromstring(svg).iter(f"{SVG}line") if e.get("class") == "legend"]
    assert {e.get("data-series") for e in keys} == {"running", "waiting_prefill", "waiting_decode"}
    assert max(float(e.get("y1", 0)) for e in keys) < top_run - 5          # above the chart: no line runs through it
    texts = [e for e in ET.fromstring(svg).iter(f"{SVG}text") if "waiting" in (e.text or "") and "(most" in e.text]
    xs = [float(e.get("x", 0)) for e in texts]
    assert len(xs) == 2 and xs == sorted(xs) and max(xs) < 900 - 250      # side by side, inside the picture


def _counters(path: Path, pid: int) -> dict[str, list[tuple[float, float]]]:
    data = json.loads(gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_text())
    tracks: dict[str, list] = {}
    for e in data["traceEvents"]:
        if e["ph"] == "C" and e["pid"] == pid:
            (key, value), = e["args"].items()
            tracks.setdefault(f"{e['name']} {key}", []).append((float(e["ts"]), value))
    return tracks


def test_the_trace_counts_both_queues(pooled, tmp_path):
    r, load = pooled
    path = tmp_path / "trace.json"
    write_pooled_trace(r, path, load=load, traffic="300 requests at 20 requests/s")
    assert not +check_trace(path) and not +check_readable(path)
    meta = json.loads(path.read_text())["metadata"]["load"]
    tracks = _counters(path, meta["pid"])
    assert set(tracks) == set(meta["counters"]) == {"requests running", "requests waiting", "KV cache used_percent",
                                                    "requests waiting_prefill", "requests waiting_decode"}
    tl = load.timeline
    assert len(tl.t) <= SERIES_INTERVALS          # every sample traced (past that, each track keeps its own peaks)
    for key, v in (("waiting_prefill", tl.waiting_prefill), ("waiting_decode", tl.waiting_decode)):
        samples = tracks[f"requests {key}"]
        assert max(s for _, s in samples) == int(v.max()) and samples[-1][1] == int(v[-1])
        # each change, once: the value each instant ends with, where it differs from the one before
        last = np.r_[np.diff(tl.t) > 0, True]
        assert len(samples) <= int(np.count_nonzero(np.diff(v[last]))) + 1
        assert len(samples) >= int(np.count_nonzero(np.diff(v[last]))) // 2      # a sample time may round alike
    # at every time, the two queues' last values add up to the waiting track's
    at = sorted({t for samples in tracks.values() for t, _ in samples})
    def value(track: str, t: float) -> float:
        samples = tracks[track]
        k = np.searchsorted([s for s, _ in samples], t, side="right") - 1
        return samples[k][1] if k >= 0 else 0
    for t in at:
        assert value("requests waiting_prefill", t) + value("requests waiting_decode", t) == \
            value("requests waiting", t)


def test_a_synthetic_load_without_queues_traces_as_before(pooled, tmp_path):
    """A load whose timeline does not split its waiting (any other run) gets the three counters alone."""
    import dataclasses
    r, load = pooled
    tl = dataclasses.replace(load.timeline, waiting_prefill=None, waiting_decode=None)
    plain: Load = dataclasses.replace(load, timeline=tl)
    path = tmp_path / "trace.json"
    write_pooled_trace(r, path, load=plain, traffic="x")
    meta = json.loads(path.read_text())["metadata"]["load"]
    assert meta["counters"] == ["requests running", "requests waiting", "KV cache used_percent"]
    svg = load_timeline_svg(plain, "p", "x")
    assert svg is not None and set(_series(svg)) == {"running", "waiting", "kv"}
