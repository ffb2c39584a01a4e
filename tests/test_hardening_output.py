"""Issue 8, the output side: dagc never replaces a device, FIFO or link, never mixes two
compiles in one directory, never deletes a directory it did not create, gives every strategy
its own directory, writes trace times that survive the importer at any magnitude, and
refuses an unusable `dot` timeout. Everything here writes inside tmp_path only."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import stat
import threading
from pathlib import Path

import pytest

from dagc.export import (
    output_dir as output_dir_mod,
    strategy_files as strategy_files_mod,
    trace_writer as trace_writer_mod,
)
from dagc.export.compile import CompileOptions, compile_results, strategy_dir_names
from dagc.export.dot import render_svg
from dagc.export.output_dir import MARKER
from dagc.export.trace import write_trace
from dagc.export.trace_writer import TraceWriter, Track, time_quantum_ns
from dagc.export.write import OutputError, write_json_atomic, write_text_atomic
from dagc.lang.load import load_plan, load_plan_text
from dagc.verdict.check import check
from conftest import ROOT, plan_text, run_dagc
from trace_checker import check_trace

SMALL = ROOT / "tests" / "fixtures" / "small.moe"


def snapshot(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def small_variant(batch: int) -> str:
    return SMALL.read_text().replace("batch = 8", f"batch = {batch}")


# ------------------------------------------------------------------ 1. non-regular targets

def test_writer_refuses_fifo_symlink_and_directory(tmp_path):
    fifo = tmp_path / "pipe.svg"
    os.mkfifo(fifo)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "link.svg"
    link.symlink_to(victim)
    folder = tmp_path / "folder.svg"
    folder.mkdir()
    for target, word in ((fifo, "FIFO"), (link, "symbolic link"), (folder, "directory")):
        with pytest.raises(OutputError, match=word) as info:
            write_text_atomic(target, "<svg/>")
        assert str(target) in str(info.value)
    with pytest.raises(OutputError):
        write_json_atomic(fifo, {"a": 1})
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert link.is_symlink() and victim.read_text() == "keep me"
    assert folder.is_dir() and not list(folder.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.svg", "link.svg", "pipe.svg", "victim.txt"]
    # a regular file is still replaced, atomically
    regular = tmp_path / "ok.svg"
    regular.write_text("old")
    write_text_atomic(regular, "new")
    assert regular.read_text() == "new"


def test_trace_and_dot_refuse_a_fifo(tmp_path):
    fifo = tmp_path / "trace.json"
    os.mkfifo(fifo)
    r = check(load_plan(SMALL))[0]
    with pytest.raises(OutputError, match="FIFO"):
        write_trace(r.compiled, fifo)
    with pytest.raises(OutputError, match="FIFO"):
        render_svg("digraph { a -> b }", fifo)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_search_svg_on_a_fifo_exits_5(tmp_path):
    fifo = tmp_path / "pareto.svg"
    os.mkfifo(fifo)
    proc = run_dagc("search", str(SMALL), "--svg", str(fifo), "--budget", "5", cwd=tmp_path)
    assert proc.returncode == 5, proc.stderr
    assert "Traceback" not in proc.stderr and str(fifo) in proc.stderr and "FIFO" in proc.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


# ------------------------------------------------------------------ 2. output directories

def test_killed_compile_keeps_the_previous_set(tmp_path, monkeypatch):
    out = tmp_path / "out"
    first = load_plan_text(small_variant(8), name="first.moe")
    compile_results(first, check(first), out)
    before = snapshot(out)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    second = load_plan_text(small_variant(16), name="second.moe")
    monkeypatch.setattr(strategy_files_mod, "report_html", interrupted)     # the last file of a strategy
    with pytest.raises(KeyboardInterrupt):
        compile_results(second, check(second), out)
    assert snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"], "no staging directory or lock left"
    monkeypatch.undo()
    compile_results(second, check(second), out)
    after = snapshot(out)
    assert after.keys() == before.keys() and after["report.json"] != before["report.json"]


def test_concurrent_compiles_leave_one_complete_set(tmp_path):
    plans = [load_plan_text(small_variant(b), name=f"p{b}.moe") for b in (8, 16)]
    results = [check(p) for p in plans]
    references = []
    for i, (p, r) in enumerate(zip(plans, results, strict=True)):
        compile_results(p, r, tmp_path / f"ref{i}")
        references.append(snapshot(tmp_path / f"ref{i}"))
    assert references[0] != references[1]
    out = tmp_path / "shared"
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            for _ in range(3):
                compile_results(plans[i], results[i], out)
        except BaseException as exc:       # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    assert snapshot(out) in references
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ref0", "ref1", "shared"]


def test_refuses_a_foreign_directory_and_never_deletes(tmp_path):
    plan = load_plan(SMALL)
    results = check(plan)
    home = tmp_path / "home"
    home.mkdir()
    (home / "notes.txt").write_text("mine")
    (home / "report.json").write_text("{}")
    with pytest.raises(OutputError, match="not a dagc output directory"):
        compile_results(plan, results, home)
    assert snapshot(home) == {"notes.txt": b"mine", "report.json": b"{}"}
    assert [p.name for p in tmp_path.iterdir()] == ["home"], "nothing written beside it"
    with pytest.raises(OutputError, match="root directory"):
        compile_results(plan, results, Path("/"))
    # a link to a directory is not followed
    (tmp_path / "link").symlink_to(home)
    with pytest.raises(OutputError, match="symbolic link"):
        compile_results(plan, results, tmp_path / "link")
    # an existing empty directory is fine; one that only looks like dagc's (issue 40: a user's
    # report.md) is replaced only with force
    empty = tmp_path / "empty"
    empty.mkdir()
    compile_results(plan, results, empty)
    assert (empty / MARKER).is_file() and (empty / "report.json").is_file()
    legacy = tmp_path / "legacy"
    (legacy / "tmpabcd1234").mkdir(parents=True)
    (legacy / "tmpabcd1234" / "trace.json").write_text("partial")
    (legacy / "report.json").write_text("{}")
    (legacy / ".report.md.k2j3h4g5").write_text("partial")
    before = snapshot(legacy)
    with pytest.raises(OutputError, match="named like dagc's, but it has no marker"):
        compile_results(plan, results, legacy)
    assert snapshot(legacy) == before
    compile_results(plan, results, legacy, CompileOptions(force=True))
    assert snapshot(legacy) == snapshot(empty)


def test_stale_staging_is_removed_and_search_plot_kept(tmp_path):
    plan = load_plan(SMALL)
    results = check(plan)
    out = tmp_path / "out"
    compile_results(plan, results, out)
    from dagc.export.pareto import plan_mark
    plot = f"<svg>\n<!-- dagc search: Pareto front -->\n{plan_mark(plan)}\n</svg>"    # as `dagc search` writes it
    output_dir_mod.plot_dir(out, "pareto.svg").write_text(plot)
    stale = tmp_path / ".out.dagc-tmp-abc123xy"
    stale.mkdir()
    (stale / MARKER).write_text("dagc output directory\n")      # what a killed run's staging holds first
    (stale / "trace.json").write_text("x" * 1000)
    compile_results(plan, results, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert (out / "pareto.svg").read_text() == plot


# ------------------------------------------------------------------ 3. unique strategy directories

def test_every_strategy_gets_its_own_directory(tmp_path):
    text = plan_text(strategy="strategy tp 8\nstrategy strategy-1 = ep 8\nstrategy Tensor = tp 4\n"
                              "strategy tensor = tp 2")
    plan = load_plan_text(text, name="clash.moe")
    results = check(plan)
    names = strategy_dir_names(results)
    assert len({n.casefold() for n in names}) == 4
    assert names[1] == "strategy-1" and names[0] != "strategy-1"
    written = compile_results(plan, results, tmp_path / "out")
    texts = {json.loads((w.directory / "report.json").read_text())["strategy"] for w in written if w.result}
    assert len(texts) == 4
    comparison = (tmp_path / "out" / "report.md").read_text()
    for name in names:
        assert f"]({name}/report.md)" in comparison


# ------------------------------------------------------------------ 4. trace times at any magnitude

def _nested_trace(base_ns: int) -> TraceWriter:
    """Pipelined ops at `base_ns` on two GPUs: children that end with their parent, abutting slices."""
    tw = TraceWriter()
    tw.process(1, "GPU 0", 0)
    tw.process(2, "GPU 1", 1)
    t = base_ns
    for k in range(2000):
        dur = 1 + (k * 7919) % 4999                      # odd figures in ns
        tw.slice(Track(1, "compute"), t, t + dur, "op", "compute", {}, key=(k, 1))         # keys: (node, pid)
        tw.slice(Track(1, "compute"), t + dur // 3, t + dur, "inner", "compute", {}, key=(k + 10_000, 1))
        tw.slice(Track(2, "comm: PP"), t + 1, t + dur + 1, "recv", "comm.pp", {}, key=(k, 2))
        tw.flow((k, 1), (k, 2))
        tw.counter(1, t, float(k))
        t += dur
    return tw


@pytest.mark.parametrize("base_us", [5e12, 9.3e12, 4e15])
def test_trace_exact_at_huge_timestamps(tmp_path, base_us):
    path = tmp_path / "t.json"
    _nested_trace(int(base_us * 1000)).write(path, {"generator": "test"})
    assert not check_trace(path), check_trace(path)
    data = json.loads(path.read_text())
    xs = [e for e in data["traceEvents"] if e["ph"] == "X"]
    assert len(xs) == 6000 and min(e["ts"] for e in xs) >= base_us - 1
    if base_us > 9e12:
        assert data["metadata"]["time_resolution_ns"] == time_quantum_ns(int(base_us * 1000) + 10**8) > 1


def test_trace_checker_sees_the_precision_loss(tmp_path, monkeypatch):
    """The control: printed to the ns beyond 2**53 ns, the same trace fails the importer's rules."""
    monkeypatch.setattr(trace_writer_mod, "time_quantum_ns", lambda max_ns: 1)
    path = tmp_path / "t.json"
    _nested_trace(int(9.3e15)).write(path, {"generator": "test"})
    assert check_trace(path)["partial_overlap"] > 0


def test_write_trace_of_a_schedule_days_long(tmp_path):
    c = check(load_plan(SMALL))[0].compiled
    late = dataclasses.replace(c.schedule, start=c.schedule.start + 9.3e6)   # the whole schedule ~9.3e12 µs later
    info = write_trace(dataclasses.replace(c, schedule=late), tmp_path / "trace.json")
    assert not check_trace(info.path)
    data = json.loads(info.path.read_text())
    assert min(float(e["ts"]) for e in data["traceEvents"] if e["ph"] == "X") >= 9.3e12


# ------------------------------------------------------------------ 5. dot timeout

@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 0.0, -1.0])
def test_render_svg_refuses_unusable_timeouts(tmp_path, bad):
    with pytest.raises(ValueError, match="dot timeout"):
        render_svg("digraph { a -> b }", tmp_path / "x.svg", bad)
    plan = load_plan(SMALL)
    with pytest.raises(ValueError, match="dot timeout"):
        compile_results(plan, check(plan), tmp_path / "out", CompileOptions(dot_timeout_s=bad))
    assert not list(tmp_path.iterdir())


def test_render_svg_caps_a_huge_timeout(tmp_path):
    assert render_svg("digraph { a -> b }", tmp_path / "x.svg", 1e300) is None
    assert (tmp_path / "x.svg").read_text().lstrip().startswith("<?xml")


# ------------------------------------------------------------------ 6. CLI runs without tracebacks

def test_cli_compile_refusal_is_exit_5_without_traceback(tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("years of work")
    proc = run_dagc("compile", str(SMALL), "-o", str(foreign), "--no-search", cwd=tmp_path)
    assert proc.returncode == 5 and "not a dagc output directory" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert snapshot(foreign) == {"thesis.tex": b"years of work"}


def test_cli_compile_refuses_a_foreign_directory_before_checking_the_plan(tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("years of work")
    proc = run_dagc("compile", str(SMALL), "-o", str(foreign), cwd=tmp_path)
    assert proc.returncode == 5 and "not a dagc output directory" in proc.stderr
    assert proc.stdout == ""                    # no verdict: the check and its search never ran
    assert snapshot(foreign) == {"thesis.tex": b"years of work"}


def test_swap_without_rename_exchange(tmp_path, monkeypatch):
    """Where the kernel cannot exchange two directories, two renames do it, leaving nothing behind."""
    monkeypatch.setattr(output_dir_mod, "_exchange", lambda a, b: False)
    out = tmp_path / "out"
    for batch in (8, 16):
        plan = load_plan_text(small_variant(batch), name=f"p{batch}.moe")
        compile_results(plan, check(plan), out)
        assert json.loads((out / "report.json").read_text())["plan"] == f"p{batch}"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
