"""Exports: DOT (drawn by the renderer dagc picks: `dot` when it is on PATH, else Graphviz in
WebAssembly), placement SVG, trace (checked by our Perfetto stand-in), report.md and report.html;
golden files for a small plan."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter

import pytest
from hypothesis import given, settings, strategies as st

from dagc.export.compile import CompileOptions, compile_results
from dagc.export.dot import Detail, dag_dot, render_svg
from dagc.export.markdown import report_md
from dagc.export.placement import placement_svg
from dagc.export.trace import write_trace
from dagc.export.trace_writer import TraceWriter, Track
from dagc.lang.load import load_plan, load_plan_text
from dagc.verdict.check import check
from conftest import EXAMPLES, ROOT, checked_example, plan_text, run_dagc, trace_errors
from trace_checker import check_readable, check_trace

SMALL = ROOT / "tests" / "fixtures" / "small.moe"
SVG_NS = "{http://www.w3.org/2000/svg}"


def small():
    return check(load_plan_text(SMALL.read_text(), name="small.moe"))[0]


# ------------------------------------------------------------------ golden files

def test_golden_dot(golden):
    golden("small.dag.dot", dag_dot(small().compiled).text)


def test_golden_dot_full(golden):
    golden("small.dag.full.dot", dag_dot(small().compiled, Detail.FULL).text)


def test_golden_trace(golden, tmp_path):
    info = write_trace(small().compiled, tmp_path / "trace.json")
    golden("small.trace.json", info.path.read_text())


def test_golden_report(golden):
    golden("small.report.md", report_md(small(), links={"dag.svg": "dag.svg", "placement.svg": "placement.svg",
                                                        "trace": "trace.json"}))


# ------------------------------------------------------------------ DOT and SVG

@pytest.mark.parametrize("detail", list(Detail))
def test_dot_renders_and_svg_has_every_node(tmp_path, detail):
    r = small()
    graph = dag_dot(r.compiled, detail)
    svg_path = tmp_path / "dag.svg"
    assert render_svg(graph.text, svg_path) is None
    root = ET.parse(svg_path).getroot()
    ids = {g.get("id") for g in root.iter(f"{SVG_NS}g") if g.get("id")}
    expected = set(re.findall(r"^\s+(n\d+(?:_r\d+)?|c\d+_\d+) \[", graph.text, re.M))
    assert expected and expected <= ids
    classes = " ".join(g.get("class", "") for g in root.iter(f"{SVG_NS}g"))
    assert "crit" in classes
    assert ("collapsed" if detail is Detail.LAYERS else "expert_ffn") in classes
    assert "legend" in graph.text and "newrank" in graph.text


def test_summary_expands_each_layer_shape_once():
    r = small()
    graph = dag_dot(r.compiled)
    assert graph.detail is Detail.SUMMARY
    assert graph.text.count("subgraph cluster_stage") == 2
    assert "GPUs 0–1" in graph.text and "GPUs 2–3" in graph.text
    assert "box3d" in graph.text and "micro-batch 0 of 2" in graph.text
    qkv = graph.text.count('label="qkv_proj')
    assert qkv == 1   # all four layers have the same ops: layer 0 shown, the others like it
    assert 'label="layer 0 (MoE), op by op"' in graph.text and "each like layer 0" in graph.text


def test_full_and_ranks_fall_back_over_budget():
    r = checked_example("deepseek-v3-prefill-32xh800.moe")[0]
    ranks = dag_dot(r.compiled, Detail.RANKS)
    assert ranks.detail is Detail.FULL and "over the budget" in ranks.note
    full = dag_dot(r.compiled, Detail.FULL, budget=100)
    assert full.detail is Detail.LAYERS and "over the budget" in full.text


def test_large_graph_uses_fast_settings():
    """A graph of more than 1,000 nodes is laid out with Graphviz's fast settings, a smaller one without: the Mixtral
    example's per-rank view (until 2026-12-02 DeepSeek-V3's, whose 56,000 lines of DOT took 1.8 CPU s to write, where
    this one's 4,700 take 0.2) and its summary."""
    r = checked_example("mixtral-8x7b-1node.moe")[0]
    large = dag_dot(r.compiled, Detail.RANKS, budget=100_000)
    assert large.detail is Detail.RANKS and "nslimit=0.05" in large.text
    assert "nslimit" not in dag_dot(r.compiled, Detail.SUMMARY).text


def test_dot_timeout_keeps_dot_and_warns(tmp_path):
    r = checked_example("deepseek-v3-prefill-32xh800.moe")[0]
    problem = render_svg(dag_dot(r.compiled, Detail.FULL).text, tmp_path / "x.svg", timeout_s=0.001)
    assert problem and "longer than" in problem


def test_placement_svg():
    r = small()
    root = ET.fromstring(placement_svg(r))
    gpus = [g for g in root.iter(f"{SVG_NS}g") if g.get("class") == "gpu"]
    assert [g.get("id") for g in gpus] == ["gpu0", "gpu1", "gpu2", "gpu3"]
    text = " ".join(t.text or "" for t in root.iter(f"{SVG_NS}text"))
    assert "layers 0–1" in text and "layers 2–3" in text and "experts 2–3" in text and "node 1" in text


def test_placement_svg_large_cluster_summarises():
    text = plan_text(model='model preset "deepseek-v3"', cluster='cluster { gpus = 2048 gpu preset "h800" }',
                     strategy="strategy dp 16 < pp 4 < tp 4 sp ; ep 32 > >")
    r = check(load_plan_text(text))[0]
    root = ET.fromstring(placement_svg(r))
    assert len([g for g in root.iter(f"{SVG_NS}g") if g.get("class") == "gpu"]) == 128
    assert any("replicas 1–15 are identical" in (t.text or "") for t in root.iter(f"{SVG_NS}text"))
    assert any((t.text or "").startswith("128 of 2048 GPUs shown") for t in root.iter(f"{SVG_NS}text"))


# ------------------------------------------------------------------ trace

@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.moe")), ids=lambda p: p.name)
def test_every_example_trace_loads_cleanly(written_trace, path):
    for r in checked_example(path.name):
        info = written_trace(r.compiled)
        errors = sum(trace_errors(info.path), Counter())
        assert not errors, errors
        data = json.loads(info.path.read_text())
        # a disaggregated strategy's trace is its decode instance's, and says so
        shown = r.pooled.pools[-1].pool.strategy.text if r.pooled is not None else r.decl.text
        assert data["metadata"]["plan"] == r.plan.name and data["metadata"]["strategy"] == shown
        assert data["metadata"].get("pool") == ("decode" if r.pooled is not None else None)
        names = {e["args"]["name"] for e in data["traceEvents"] if e.get("name") == "process_name"}
        assert len([n for n in names if n.startswith("GPU ")]) == len(info.ranks) == len(names) - 1


def test_trace_exact_integer_nanoseconds(tmp_path):
    info = write_trace(small().compiled, tmp_path / "trace.json")
    raw = info.path.read_text()
    for ts in re.findall(r'"(?:ts|dur)":([0-9.]+)', raw):
        assert re.fullmatch(r"\d+\.\d{3}", ts)


def test_trace_prefill_then_decode_and_args(tmp_path):
    r = small()
    info = write_trace(r.compiled, tmp_path / "t.json")
    data = json.loads(info.path.read_text())
    gpus = {rank + 1 for rank in info.ranks}
    xs = [e for e in data["traceEvents"] if e["ph"] == "X" and e["pid"] in gpus]
    prefill_end = max(float(e["ts"]) + float(e["dur"]) for e in xs if e["args"]["phase"] == "prefill")
    decode_start = min(float(e["ts"]) for e in xs if e["args"]["phase"] == "decode")
    assert decode_start >= prefill_end - 1e-3
    assert {"kind", "microbatch", "tokens", "flops", "hbm_bytes", "comm_bytes",
            "on_critical_path"} <= set(xs[0]["args"])
    # the layer where the op has one (the embedding, first, has none: no `layer -1`)
    assert xs[0]["args"]["kind"] == "embed" and "layer" not in xs[0]["args"]
    assert any(e["args"].get("layer") == 0 and e["args"]["kind"] == "attention" for e in xs)
    assert any(e["ph"] == "C" and e["name"] == "HBM" for e in data["traceEvents"])
    assert any(e["ph"] == "s" for e in data["traceEvents"])


def test_representative_ranks_and_flows_only_between_emitted(written_trace, tmp_path):
    r = checked_example("10b-moe-pp16-ep16-256gpu.moe")[0]
    info = written_trace(r.compiled)            # `write_trace` with its defaults, shared with the test of every example
    assert info.representative
    data = json.loads(info.path.read_text())
    assert data["metadata"]["ranks"] == "representative"
    emitted = {rank + 1 for rank in info.ranks}
    names = [e["args"]["name"] for e in data["traceEvents"] if e.get("name") == "process_name"
             and e["args"]["name"].startswith("GPU ")]
    assert len(names) == len(info.ranks) and all("representative" in n for n in names)
    flows = [e for e in data["traceEvents"] if e["ph"] in ("s", "f")]
    assert flows and all(e["pid"] in emitted for e in flows)
    assert not trace_errors(info.path)[0]       # `check_trace(info.path)`, shared
    everyone = write_trace(r.compiled, tmp_path / "all.json", all_ranks=True)
    assert not everyone.representative and len(everyone.ranks) == 256
    assert not check_trace(everyone.path)


def test_event_budget_falls_back_with_warning(tmp_path):
    r = checked_example("10b-moe-pp16-ep16-256gpu.moe")[0]
    info = write_trace(r.compiled, tmp_path / "t.json", all_ranks=True, budget=50_000)
    assert info.representative and "budget" in info.warning
    data = json.loads(info.path.read_text())
    assert "budget" in data["metadata"]["warning"]


def test_gzip_trace(tmp_path):
    info = write_trace(small().compiled, tmp_path / "trace.json", compress=True)
    assert info.path.name == "trace.json.gz" and not check_trace(info.path)


slices = st.lists(st.tuples(st.integers(0, 3), st.sampled_from(["compute", "comm: TP", "comm: EP (all-to-all)",
                                                                 "comm: PP"]),
                            st.integers(0, 10_000), st.integers(0, 3_000)), min_size=1, max_size=60)


@settings(max_examples=150, deadline=None)
@given(slices, st.lists(st.tuples(st.integers(0, 59), st.integers(0, 59)), max_size=20))
def test_lanes_on_random_schedules(tmp_path_factory, items, flows):
    """Random slices, concurrent collectives on one GPU included: lanes keep every thread nested."""
    tw = TraceWriter()
    for pid in range(1, 5):
        tw.process(pid, f"GPU {pid - 1}", pid - 1)
    for k, (gpu, cls, start, dur) in enumerate(items):
        tw.slice(Track(gpu + 1, cls), start, start + dur, "op", "compute", {"k": k}, key=(k, gpu + 1))   # (node, pid)
        tw.counter(gpu + 1, start, float(k))
    for a, b in flows:
        if a < len(items) and b < len(items) and items[a][0] != items[b][0]:
            tw.flow((a, items[a][0] + 1), (b, items[b][0] + 1))
    path = tmp_path_factory.mktemp("trace") / "t.json"
    tw.write(path, {"generator": "test"})
    assert not check_trace(path)


def test_checker_catches_errors(tmp_path):
    bad = {"traceEvents": [
        {"ph": "X", "pid": 1, "tid": 2, "ts": 0, "dur": 10, "name": "a"},
        {"ph": "X", "pid": 1, "tid": 2, "ts": 5, "dur": 10, "name": "b"},        # partial overlap
        {"ph": "X", "pid": 1, "tid": 1, "ts": 0, "name": "c"},                     # no dur, tid == pid
        {"ph": "s", "id": "7", "pid": 1, "tid": 2, "ts": 1, "name": "f", "cat": "f"},
        {"ph": "f", "id": 8, "pid": 1, "tid": 2, "ts": 99, "name": "f", "cat": "f", "bp": "e"},
        {"ph": "C", "pid": 1, "ts": 0, "name": "HBM", "args": {}},
        {"ph": "Q", "pid": 1},
        {"ph": "M", "pid": 1, "tid": 0, "name": "process_sort_index", "args": {"sort_index": "1"}},
    ]}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    errors = check_trace(path)
    for key in ("partial_overlap", "x_without_dur", "flow_id_not_int", "flow_f_without_s", "flow_f_outside_slice",
                "counter_bad_args", "unknown_ph", "sort_index_not_int"):
        assert errors[key] >= 1, key
    (tmp_path / "trunc.json").write_text(path.read_text()[:-10])
    assert check_trace(tmp_path / "trunc.json")["json_parse"] == 1



def test_checker_counts_fields_perfetto_cannot_read_instead_of_failing(tmp_path):
    """Times that are no numbers, names that are no strings, JSON `true` for an integer, a tid past 2³²−1: each is
    counted as the importer's error, not a crash of the checker (until 2026-12-02 a `ts` of `"abc"` raised, a
    missing `ts` was a KeyError, `true` passed for an int, and a name of 5 went unsaid)."""
    events = [
        {"ph": "X", "pid": 1, "tid": 1001, "ts": "abc", "dur": 1, "name": "a", "cat": "c"},      # bad_ts
        {"ph": "X", "pid": 1, "tid": 1001, "dur": 1, "name": "a", "cat": "c"},                   # bad_ts (none)
        {"ph": "X", "pid": 1, "tid": 1001, "ts": 0, "dur": None, "name": "a", "cat": "c"},       # bad_dur
        {"ph": "X", "pid": 1, "tid": 1001, "ts": 2, "dur": 1, "name": 5, "cat": "c"},            # name_not_string
        {"ph": "X", "pid": 1, "tid": 2**32, "ts": 0, "dur": 1, "name": "a", "cat": "c"},         # tid read as 0
        {"ph": "C", "pid": 1, "ts": 0, "args": {"v": 1}},                                         # counter_without_name
        {"ph": "s", "id": True, "pid": 1, "tid": 1001, "ts": 2, "name": "d", "cat": "flow"},      # flow_id_not_int
        {"ph": "M", "pid": 1, "tid": 0, "name": "process_sort_index", "args": {"sort_index": True}},
    ]
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"traceEvents": events, "metadata": {}}))
    errors = check_trace(path)
    assert {k: errors[k] for k in ("bad_ts", "bad_dur", "name_not_string", "tid_merges_into_pid",
                                   "counter_without_name", "flow_id_not_int", "sort_index_not_int")} == {
        "bad_ts": 2, "bad_dur": 1, "name_not_string": 1, "tid_merges_into_pid": 1, "counter_without_name": 1,
        "flow_id_not_int": 1, "sort_index_not_int": 1}

# ------------------------------------------------------------------ reports

def test_report_md_answers_the_three_questions():
    md = report_md(small(), links={"dag.svg": "dag.svg", "placement.svg": "placement.svg", "trace": "trace.json"})
    for heading in ("## Verdicts", "## GPUs and placement", "## Memory per rank", "## Metrics", "## Requirements",
                    "## Critical path", "## Pictures and trace", "## Diagnostics"):
        assert heading in md
    assert "Is the strategy correct?" in md and "Is it optimal on this cluster?" in md
    assert "(dag.svg)" in md and "(placement.svg)" in md and "(trace.json)" in md
    assert "headroom" in md


def test_compile_writes_everything_and_html_is_self_contained(tmp_path):
    plan = load_plan(SMALL)
    written = compile_results(plan, check(plan), tmp_path, CompileOptions())
    names = {f.name for w in written for f in w.files}
    assert {"report.json", "report.md", "report.html", "dag.json", "dag.dot", "dag.svg", "placement.svg",
            "trace.json"} <= names
    html = (tmp_path / "report.html").read_text()
    assert html.count("<svg") == 2 and "<img" not in html
    assert not re.search(r'(src|href)="https?://(?!ui\.perfetto\.dev)', html)
    ET.parse(tmp_path / "dag.svg")
    assert not check_trace(tmp_path / "trace.json")


def test_cli_compile_options(tmp_path):
    proc = run_dagc("compile", str(SMALL), "-o", str(tmp_path), "--graph-detail", "full", "--gzip", "--all-ranks")
    assert proc.returncode == 1, proc.stderr        # small.moe's ttft requirement is not met
    assert "Traceback" not in proc.stderr
    assert (tmp_path / "trace.json.gz").exists() and "detail: full" in (tmp_path / "dag.dot").read_text()


def test_the_trace_checker_runs_from_the_command_line(tmp_path):
    """`python tests/trace_checker.py FILE …` says "clean" and exits 0 for a trace Perfetto loads, names
    what is wrong and exits 1 for one it does not (not JSON), and exits 2 without a file."""
    good = write_trace(small().compiled, tmp_path / "trace.json").path
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    checker = [sys.executable, str(ROOT / "tests" / "trace_checker.py")]
    ok = subprocess.run([*checker, str(good)], capture_output=True, text=True, timeout=120)
    assert (ok.returncode, ok.stdout) == (0, f"{good}: clean\n")
    no = subprocess.run([*checker, str(good), str(bad)], capture_output=True, text=True, timeout=120)
    assert no.returncode == 1 and no.stdout.splitlines()[1] == f"{bad}: container_not_object 1, json_parse 1, " \
        "not_loadable 1"
    assert subprocess.run(checker, capture_output=True, text=True, timeout=120).returncode == 2


# ------------------------------------------------------------------ what Perfetto binds a flow to

def _flow_trace(tmp_path, producer: tuple[int, str, int, int], consumer: tuple[int, str, int, int]):
    """A trace of two slices (pid, class, start ns, end ns) and one flow from the first to the second."""
    tw = TraceWriter()
    for pid in (1, 2):
        tw.process(pid, f"GPU {pid - 1}", pid)
    for k, (pid, cls, start, end) in enumerate((producer, consumer)):
        tw.slice(Track(pid, cls), start, end, "op", "compute", {"k": k}, key=(k, pid))
    tw.flow((0, producer[0]), (1, consumer[0]))
    path = tmp_path / "flow.json"
    tw.write(path, {"generator": "test"})
    return path, [e for e in json.loads(path.read_text())["traceEvents"] if e["ph"] in ("s", "f")]


def test_a_flow_binds_to_the_slices_it_joins(tmp_path):
    """An arrow between two GPUs: `s` at the producer's start on its thread, `f` with `"bp": "e"` (bound to the
    slice open at its time, not the next to begin) at the consumer's start on its own thread, one integer id."""
    path, (s, f) = _flow_trace(tmp_path, (1, "compute", 0, 10_000), (2, "comm: PP", 10_000, 25_000))
    assert (s["ph"], s["pid"], s["tid"], s["ts"]) == ("s", 1, 1001, 0.0)
    assert (f["ph"], f["pid"], f["tid"], f["ts"], f["bp"]) == ("f", 2, 2004, 10.0, "e")
    assert s["id"] == f["id"] == 1 and (s["cat"], s["name"]) == (f["cat"], f["name"])
    assert not check_trace(path)


@pytest.mark.parametrize("producer, consumer", [
    ((1, "compute", 5_000, 5_000), (2, "compute", 6_000, 9_000)),      # a producer of no duration: closed at once
    ((1, "compute", 0, 4_000), (1, "compute", 4_000, 9_000)),         # one lane of one GPU: within a thread
], ids=["empty-producer", "same-thread"])
def test_no_flow_perfetto_could_not_draw_between_two_threads(tmp_path, producer, consumer):
    """Perfetto binds a flow's `s` to the slice open at its time: a slice of no duration is already closed, so the
    arrow would start from nothing (the importer's checker counts it); an arrow from a thread to itself only runs
    along its row. Neither is written."""
    path, flows = _flow_trace(tmp_path, producer, consumer)
    assert flows == []
    assert not check_trace(path) and not check_readable(path)["flow_same_thread"]


def test_the_checker_counts_flows_perfetto_binds_elsewhere(tmp_path):
    """An `f` without `"bp": "e"` (bound to the next slice to begin), an end at a slice's end (closed there: half-open),
    a flow within one thread, `B`/`E` slices, a thread without its sort index and a timeline that does not start at 0
    are each counted."""
    events = [{"ph": "M", "pid": 1, "tid": 0, "name": "process_name", "args": {"name": "GPU 0"}},
              {"ph": "X", "pid": 1, "tid": 1001, "ts": 0, "dur": 10, "name": "a", "cat": "compute", "args": {}},
              {"ph": "X", "pid": 1, "tid": 1002, "ts": 0, "dur": 10, "name": "b", "cat": "compute", "args": {}},
              {"ph": "s", "id": 1, "pid": 1, "tid": 1001, "ts": 10, "name": "d", "cat": "flow"},
              {"ph": "f", "id": 1, "pid": 1, "tid": 1002, "ts": 0, "name": "d", "cat": "flow"},
              {"ph": "s", "id": 2, "pid": 1, "tid": 1001, "ts": 0, "name": "d", "cat": "flow"},
              {"ph": "f", "id": 2, "pid": 1, "tid": 1001, "ts": 5, "name": "d", "cat": "flow", "bp": "e"},
              {"ph": "B", "pid": 1, "tid": 1003, "ts": 0, "name": "c"}, {"ph": "E", "pid": 1, "tid": 1003, "ts": 3},
              {"ph": "M", "pid": 1, "tid": 1001, "name": "thread_sort_index", "args": {"sort_index": 1}}]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"traceEvents": events, "metadata": {}}))
    found, readable = check_trace(path), check_readable(path)
    assert (found["flow_f_without_bp_e"], found["flow_s_outside_slice"]) == (1, 1)
    assert (readable["flow_same_thread"], readable["begin_end_events"]) == (1, 2)
    assert (readable["unsorted_thread"], readable["timeline_not_from_0"]) == (1, 0)     # thread 1002 has no sort index
    late = [{**e, "ts": e["ts"] + 5} if "ts" in e else e for e in events]
    path.write_text(json.dumps({"traceEvents": late, "metadata": {}}))
    assert check_readable(path)["timeline_not_from_0"] == 1


def test_a_trace_cut_at_the_event_budget_says_so_in_its_metadata(tmp_path):
    """Perfetto shows the file's metadata, not dagc's terminal: a trace of representative ranks (256 GPUs, no
    warning of its own) that reaches the event budget says so there, with how many slices and samples it left out
    — the events written and those left out add up to every slice and sample of the whole trace."""
    r = checked_example("10b-moe-pp16-ep16-256gpu.moe")[0]
    whole = write_trace(r.compiled, tmp_path / "whole.json")
    assert whole.warning is None and "warning" not in json.loads(whole.path.read_text())["metadata"]
    every = sum(1 for e in json.loads(whole.path.read_text())["traceEvents"] if e["ph"] in ("X", "C"))
    cut = write_trace(r.compiled, tmp_path / "cut.json", budget=2_000)
    data = json.loads(cut.path.read_text())
    written = sum(1 for e in data["traceEvents"] if e["ph"] in ("X", "C"))
    left_out = data["metadata"]["cut_for_budget"]
    assert written + left_out == every and left_out > 0
    assert data["metadata"]["warning"] == cut.warning == (
        f"the trace reached the event budget of 2,000: {left_out:,} later slices and samples were cut")
    assert not check_trace(cut.path)


def test_one_more_identical_stage_is_said_as_one_in_the_collapsed_box():
    """Mixtral 8x7B's 32 layers over `pp 4`: stages 1 and 2 are alike (the first holds the embedding, the last the LM
    head), drawn once, "likewise in stage 2" — until 2026-12-03 "likewise in stages 2–2"."""
    plan = load_plan_text(plan_text(strategy="strategy pp 4 < tp 2 >",
                                    cluster='cluster { gpus = 16  gpus_per_node = 8  gpu preset "h100-sxm" }'))
    text = dag_dot(check(plan)[0].compiled).text
    assert "likewise in stage 2" in text and "stages 2–2" not in text
