"""trace.json reads well in Perfetto: the schedule's phases and critical path as tracks, slices named
by op kind, counters only where they change, every pipeline stage drawn (checked against the
schedule, and by the checker's readability rules)."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from functools import cache

import pytest

from dagc.export.trace import representative_ranks, write_trace
from dagc.export.trace_writer import _ENCODER, TRACE_MAX_NS, TraceWriter, _dumps, seconds_to_ns, seconds_to_ns_many
from dagc.ir.dag import OpKind, Phase
from dagc.lang.load import load_plan_text
from dagc.verdict.check import check
from conftest import ROOT, checked_example, plan_text, trace_errors
from trace_checker import check_readable, check_trace

SMALL = ROOT / "tests" / "fixtures" / "small.moe"


@cache
def compiled(name: str):
    if name == "small":
        return check(load_plan_text(SMALL.read_text(), name="small.moe"))[0].compiled
    return checked_example(name)[0].compiled


def load(path) -> dict:
    # Decimal keeps the printed µs exact, so times compare to the ns.
    return json.loads(path.read_text(), parse_float=Decimal)


def ns(value) -> int:
    return int(Decimal(value) * 1000)


def track(data: dict, name: str) -> list[dict]:
    """The slices of every thread named `name` (or its overflow lanes), by start time."""
    tids = {(e["pid"], e["tid"]) for e in data["traceEvents"]
            if e.get("name") == "thread_name" and e["args"]["name"].split(" (lane")[0] == name}
    return sorted((e for e in data["traceEvents"] if e["ph"] == "X" and (e["pid"], e["tid"]) in tids),
                  key=lambda e: ns(e["ts"]))


def span(e: dict) -> tuple[int, int]:
    return ns(e["ts"]), ns(e["ts"]) + ns(e["dur"])


@pytest.mark.parametrize("name", ["small", "10b-moe-pp16-ep16-256gpu.moe", "30b-moe-dp2-pp2-tp2-ep4-16gpu.moe"])
def test_phases_track_is_prefill_then_each_decode_step(written_trace, name):
    c = compiled(name)
    data = load(written_trace(c).path)
    phases = track(data, "phases")
    d, s = c.dag, c.schedule
    ttft_ns = seconds_to_ns(c.metrics.rates.ttft_server_s)    # the server's: the client's adds its front end
    expected = [("prefill", 0, ttft_ns)]
    for k in sorted({d.step[i] for i in d.indices(Phase.DECODE)}):
        ops = [i for i in d.indices(Phase.DECODE) if d.step[i] == k]
        expected.append((f"decode step {k}", ttft_ns + seconds_to_ns(min(float(s.start[i]) for i in ops)),
                         ttft_ns + seconds_to_ns(max(float(s.finish[i]) for i in ops))))
    assert [(e["name"], *span(e)) for e in phases] == expected
    assert len(expected) == 3                     # prefill and the two decode steps
    assert float(phases[2]["args"]["tpot_s"]) == pytest.approx(c.metrics.tpot_s)


@pytest.mark.parametrize("name", ["small", "10b-moe-pp16-ep16-256gpu.moe", "30b-moe-dp2-pp2-tp2-ep4-16gpu.moe"])
def test_critical_path_track_is_the_critical_ops_in_order(written_trace, name):
    c = compiled(name)
    data = load(written_trace(c).path)
    crit = track(data, "critical path")
    s = c.schedule
    nodes = list(s.prefill_path.nodes) + list(s.decode_path.nodes)
    assert [e["args"]["node"] for e in crit] == nodes
    assert sorted(nodes) == [i for i in range(len(c.dag)) if s.critical[i]]
    assert len({(e["pid"], e["tid"]) for e in crit}) == 1          # one thread: no overflow lane needed
    for a, b in zip(crit, crit[1:], strict=False):
        assert span(a)[1] <= span(b)[0]
    ttft_ns = seconds_to_ns(c.metrics.rates.ttft_server_s)
    for e in crit:
        i = e["args"]["node"]
        offset = ttft_ns if c.dag.phase[i] is Phase.DECODE else 0
        assert span(e) == (offset + seconds_to_ns(s.start[i]), offset + seconds_to_ns(s.finish[i]))
        assert e["name"] == c.dag.kind[i].value
    # the critical path ends where the phase does: prefill at TTFT
    prefill_end = max(span(e)[1] for e in crit if e["args"]["phase"] == "prefill")
    assert prefill_end == ttft_ns


def test_schedule_process_sorted_first_and_named(written_trace):
    data = load(written_trace(compiled("10b-moe-pp16-ep16-256gpu.moe")).path)
    sort = {e["pid"]: e["args"]["sort_index"] for e in data["traceEvents"] if e.get("name") == "process_sort_index"}
    names = {e["pid"]: e["args"]["name"] for e in data["traceEvents"] if e.get("name") == "process_name"}
    first = min(sort, key=sort.get)
    assert names[first].startswith("schedule") and all(n.startswith("GPU ") for p, n in names.items() if p != first)
    labels = {(e["pid"], e["tid"]): e["args"]["name"] for e in data["traceEvents"] if e.get("name") == "thread_name"}
    order = sorted((e["args"]["sort_index"], labels[(e["pid"], e["tid"])]) for e in data["traceEvents"]
                   if e.get("name") == "thread_sort_index" and e["pid"] == first)
    assert [label for _, label in order][0] == "phases" and "critical path" in [label for _, label in order]
    # slices of the first process come first in the file too: an event budget never cuts them
    xs = [e for e in data["traceEvents"] if e["ph"] == "X"]
    assert {e["pid"] for e in xs[:len(track(data, "phases")) + len(track(data, "critical path"))]} == {first}


@pytest.mark.parametrize("name", ["small", "deepseek-v3-prefill-32xh800.moe"])
def test_slices_named_by_op_kind_only(written_trace, name):
    c = compiled(name)
    info = written_trace(c)
    data = json.loads(info.path.read_text())
    kinds = {k.value for k in OpKind}
    ops = [e for e in data["traceEvents"] if e["ph"] == "X" and e["cat"] != "phase"]
    assert {e["name"] for e in ops} <= kinds
    assert not any(ch.isdigit() for e in ops for ch in e["name"])
    # layer and micro-batch are in the args; one name per kind, so per-name totals add up across layers
    assert all({"microbatch", "kind"} <= set(e["args"]) and e["args"]["kind"] == e["name"] for e in ops)
    # an op outside the layers (embedding, final norm, LM head, sends between stages of no layer) has no layer:
    # Perfetto's details showed "layer -1", dagc's sentinel, as if a layer; the op in a layer says which
    assert all(("layer" in e["args"]) == (c.dag.layer[e["args"]["node"]] >= 0) for e in ops)
    assert {e["args"]["kind"] for e in ops if "layer" not in e["args"]} >= {"embed", "lm_head"}
    assert all(e["args"]["layer"] >= 0 for e in ops if "layer" in e["args"])
    per_rank0 = Counter(e["name"] for e in ops if e["pid"] == 1)
    assert per_rank0 == Counter(c.dag.kind[i].value for i in range(len(c.dag)) if c.dag.stage[i] == 0)
    assert not trace_errors(info.path)[1]


@pytest.mark.parametrize("name", ["small", "deepseek-v3-prefill-32xh800.moe", "10b-moe-pp16-ep16-256gpu.moe"])
def test_counters_only_where_the_value_changes(written_trace, name):
    c = compiled(name)
    info = written_trace(c)
    data = json.loads(info.path.read_text())
    by_pid: dict[int, list[tuple[int, float]]] = {}
    for e in data["traceEvents"]:
        if e["ph"] == "C":
            by_pid.setdefault(e["pid"], []).append((ns(e["ts"]), e["args"]["used_GB"]))
    assert set(by_pid) == {r + 1 for r in info.ranks}          # one HBM counter per GPU drawn
    for pid, samples in by_pid.items():
        samples.sort()
        assert all(v0 != v1 and t0 < t1 for (t0, v0), (t1, v1) in zip(samples, samples[1:], strict=False))
        stage = c.memory.stages[int(c.layout.coords["stage"][pid - 1])]
        floor_gb = (stage.weights_bytes + stage.kv_cache_bytes) / 1e9
        assert min(v for _, v in samples) >= round(floor_gb, 6)      # never below weights + KV cache
        assert samples[0][0] == 0
    counters = sum(len(v) for v in by_pid.values())
    slices = sum(1 for e in data["traceEvents"] if e["ph"] == "X")
    assert counters < 0.2 * slices          # was ~0.75 × the slices (a rise and a fall per compute op)
    assert not trace_errors(info.path)[1]


def test_counter_follows_micro_batches_not_ops(written_trace):
    """The counter rises when a micro-batch enters the stage and falls when it leaves: with one
    layer per stage and no overlap, a few samples per micro-batch pass, not two per op."""
    c = compiled("10b-moe-pp16-ep16-256gpu.moe")
    data = json.loads(written_trace(c).path.read_text())
    samples = [e for e in data["traceEvents"] if e["ph"] == "C" and e["pid"] == 1]
    compute_ops = sum(1 for e in data["traceEvents"] if e["ph"] == "X" and e["pid"] == 1 and e["cat"] == "compute")
    passes = c.layout.microbatches * 3                  # prefill, decode step 0, decode step 1
    assert passes <= len(samples) <= 4 * passes + 1 < compute_ops


def test_writer_drops_a_value_that_prints_the_same(tmp_path):
    tw = TraceWriter()
    tw.process(1, "GPU 0", 1)
    for t, v in [(0, 1e9), (10, 1e9 + 1.0), (20, 2e9), (20, 3e9), (30, 3e9), (40, 1e9)]:
        tw.counter(1, t, v)
    tw.write(tmp_path / "t.json", {"generator": "test"})
    data = json.loads((tmp_path / "t.json").read_text())
    assert [(e["ts"], e["args"]["used_GB"]) for e in data["traceEvents"] if e["ph"] == "C"] == \
        [(0.0, 1.0), (0.02, 3.0), (0.04, 1.0)]


def test_every_stage_has_a_rank_and_the_metadata_says_which(written_trace):
    c = compiled("10b-moe-pp16-ep16-256gpu.moe")
    info = written_trace(c)
    data = load(info.path)
    stage = c.layout.coords["stage"]
    assert info.representative and {int(stage[r]) for r in info.ranks} == set(range(16))
    meta = data["metadata"]
    assert meta["ranks"] == "representative" and meta["ranks_included"] == list(info.ranks)
    assert meta["ranks_by_stage"] == {str(s): [r for r in info.ranks if int(stage[r]) == s] for s in range(16)}
    assert meta["pipeline_stages"] == 16 and "every pipeline stage" in meta["ranks_note"]
    gpus = {e["pid"] - 1 for e in data["traceEvents"] if e.get("name") == "process_name"
            and e["args"]["name"].startswith("GPU ")}
    assert gpus == set(info.ranks)
    assert not trace_errors(info.path)[0] and not trace_errors(info.path)[1]


def test_a_64_gpu_plan_draws_every_stage(tmp_path):
    text = plan_text(cluster='cluster { gpus = 64  gpus_per_node = 8  gpu preset "h100-sxm" }',
                     strategy="strategy dp 2 < pp 4 < tp 2 ; ep 8 > >")
    r = check(load_plan_text(text, name="p64.moe"))[0]
    lay = r.compiled.layout
    assert lay.gpus_used == 64 and lay.pp == 4
    info = write_trace(r.compiled, tmp_path / "t.json")
    assert info.representative and list(info.ranks) == representative_ranks(lay)
    assert sorted({int(lay.coords["stage"][x]) for x in info.ranks}) == [0, 1, 2, 3]
    assert not check_trace(info.path) and not check_readable(info.path)


def test_checker_catches_unreadable_traces(tmp_path):
    bad = {"traceEvents": [
        {"ph": "M", "pid": 1, "tid": 0, "name": "process_name", "args": {"name": "GPU 0"}},
        {"ph": "M", "pid": 1, "tid": 0, "name": "process_sort_index", "args": {"sort_index": 0}},
        {"ph": "M", "pid": 9, "tid": 0, "name": "process_name", "args": {"name": "schedule"}},
        {"ph": "M", "pid": 9, "tid": 0, "name": "process_sort_index", "args": {"sort_index": 5}},
        {"ph": "M", "pid": 9, "tid": 9002, "name": "thread_name", "args": {"name": "critical path"}},
        {"ph": "M", "pid": 1, "tid": 1001, "name": "thread_name", "args": {"name": "compute"}},
        {"ph": "X", "pid": 1, "tid": 1001, "ts": 0, "dur": 10, "name": "norm L12", "cat": "compute", "args": {}},
        {"ph": "X", "pid": 1, "tid": 1002, "ts": 0, "dur": 10, "name": "norm", "cat": "compute", "args": {}},
        {"ph": "X", "pid": 9, "tid": 9002, "ts": 0, "dur": 10, "name": "norm", "cat": "compute", "args": {}},
        {"ph": "X", "pid": 9, "tid": 9002, "ts": 5, "dur": 10, "name": "norm", "cat": "compute", "args": {}},
        {"ph": "C", "pid": 1, "ts": 0, "name": "HBM", "args": {"used_GB": 1.0}},
        {"ph": "C", "pid": 1, "ts": 5, "name": "HBM", "args": {"used_GB": 1.0}},
        {"ph": "C", "pid": 1, "ts": 5, "name": "HBM", "args": {"used_GB": 2.0}},
        {"ph": "C", "pid": 2, "ts": 0, "name": "HBM", "args": {"used_GB": 2.0}},
    ], "metadata": {"ranks": "all", "ranks_included": [0, 1]}}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    errors = check_readable(path)
    for key in ("slice_name_has_layer", "counter_repeats_value", "counter_same_ts", "unnamed_process",
                "unsorted_process", "unnamed_thread", "no_phases_track", "schedule_not_first",
                "critical_path_overlap", "ranks_metadata_mismatch"):
        assert errors[key] >= 1, key
    del bad["metadata"]
    path.write_text(json.dumps(bad))
    assert check_readable(path)["ranks_not_in_metadata"] == 1


def test_an_arrays_seconds_become_the_nanoseconds_each_would():
    """`seconds_to_ns_many` (a rank's ops reckoned together) gives each second's `seconds_to_ns`, to the integer:
    halves rounded to even (0.5 ns → 0, 1.5 ns → 2, 2.5 ns → 2), negatives 0, past `TRACE_MAX_NS` or not finite
    cut (TRACE_MAX_NS + 1), a float product that overflows cut too."""
    import numpy as np

    seconds = [0.0, -0.0, -1e-9, 0.5e-9, 1.5e-9, 2.5e-9, 1e-9 / 3, 123.456789012, 4.611686018427388e9,
               4.6116860184273879e9 * 1.0000001, float("inf"), float("-inf"), float("nan"), 1e308, 2.0**51 / 1e9]
    many = seconds_to_ns_many(np.array(seconds))
    assert many == [seconds_to_ns(x) for x in seconds]
    assert many[:6] == [0, 0, 0, 0, 2, 2] and many[10] == many[12] == many[13] == TRACE_MAX_NS + 1
    assert all(type(n) is int for n in many)


def test_a_slices_args_are_encoded_as_the_json_encoder_encodes_them():
    """`_dumps` (the C loop made once) writes what `json.JSONEncoder.encode` with the trace's options writes, and
    refuses what it refuses."""
    args = {"node": 7, "kind": "expert_ffn", "tokens": 4096.0, "flops": 1.2345678901234567e12, "nothing": 0.0,
            "neg": -0.0, "on_critical_path": False, "group": "ep 8", "name": "é \"q\"\n\u2028",
            "kernels_us": {"gemm": 12.345, "none": None}, "list": [1, 2.5, "x"]}
    assert _dumps(args) == _ENCODER.encode(args) and _dumps("é\n") == _ENCODER.encode("é\n")
    for bad in ({"x": float("nan")}, {"x": float("inf")}):
        with pytest.raises(ValueError):
            _dumps(bad)
