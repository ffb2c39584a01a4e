"""Fuzz the command line with files of every kind: no traceback, bounded time and memory,
documented exit codes, nothing touched outside the output directory.

Special files (devices, FIFOs, symlinks) run the real `dagc` in a subprocess with a memory
limit and a timeout, so a hang or a runaway read fails the test instead of the machine.
Generated plan texts (CRLF, CR, CJK, binary, oversized, mutated) run in-process under hypothesis
(seeded: the same examples on every run) with an alarm bounding each call.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, seed, settings, strategies as st

from dagc.cli.main import main
from conftest import ROOT, plan_text, private_devices

DOCUMENTED_EXITS = {0, 1, 2, 3, 4, 5, 130}
MEMORY_LIMIT_BYTES = 2 * 1024**3         # a runaway read of a zero device would pass this within seconds
CALL_TIMEOUT_S = 60


def snapshot(root: Path, skip: Path | None = None) -> dict[str, tuple]:
    """Every path under root (not following symlinks) with its kind, size and mtime."""
    seen = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        if skip is not None and Path(dirpath).is_relative_to(skip):
            continue
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            if skip is not None and p.is_relative_to(skip):
                continue
            st_ = os.lstat(p)
            seen[str(p)] = (stat.S_IFMT(st_.st_mode), st_.st_size if stat.S_ISREG(st_.st_mode) else 0,
                            st_.st_mtime_ns if stat.S_ISREG(st_.st_mode) else 0)
    return seen


# Runs `python -m dagc ARGS` for each ARGS of a JSON list, one after the other in this one process (sys.argv
# and `dagc.__main__.run`, its streams UTF-8 and piped as `run_dagc`'s), each under an alarm of CALL_TIMEOUT_S,
# and prints each call's exit code, stdout and stderr, a traceback included, as one JSON line.
_CALLS = """\
import contextlib, io, json, signal, sys, traceback
import dagc.__main__ as entry
calls, limit_s = json.loads(sys.argv[1]), int(sys.argv[2])
def alarm(signum, frame):
    raise TimeoutError(f"took over {limit_s} s")
signal.signal(signal.SIGALRM, alarm)
done = []
for args in calls:
    out, err = (io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="") for _ in range(2))
    sys.argv[:] = ["dagc", *args]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        signal.alarm(limit_s)
        try:
            code = entry.run()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            signal.alarm(0)
    texts = []
    for stream in (out, err):
        stream.flush()
        texts.append(stream.buffer.getvalue().decode("utf-8", errors="replace"))
    done.append([code, *texts])
print(json.dumps(done))
"""


def run_limited_all(calls: list[list[str]], cwd: Path) -> list[subprocess.CompletedProcess]:
    """`python -m dagc ARGS` for each ARGS of `calls`, run in one spawned interpreter (one start-up and one
    import of dagc for them all) with a memory limit, each call under its own alarm and the whole under a
    timeout: the exit code, stdout and stderr of each."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    proc = subprocess.run([sys.executable, "-c", _CALLS, json.dumps(calls), str(CALL_TIMEOUT_S)], cwd=cwd,
                          capture_output=True, text=True, timeout=CALL_TIMEOUT_S * len(calls), preexec_fn=limit)
    assert proc.returncode == 0 and proc.stdout, (proc.returncode, proc.stderr[-2000:])
    return [subprocess.CompletedProcess(["dagc", *args], code, out, err)
            for args, (code, out, err) in zip(calls, json.loads(proc.stdout.splitlines()[-1]), strict=True)]


def assert_clean(proc: subprocess.CompletedProcess, expected: set[int]) -> None:
    assert proc.returncode in expected, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr[-2000:]
    assert len(proc.stdout) + len(proc.stderr) < 1_000_000


def special_inputs(tmp: Path) -> dict[str, Path]:
    fifo = tmp / "fifo.moe"
    os.mkfifo(fifo)
    (tmp / "loop.moe").symlink_to(tmp / "loop.moe")
    (tmp / "dir.moe").mkdir()
    (tmp / "zero-link.moe").symlink_to("dev-zero")
    devices = {f"device like /dev/{name}": path for name, path in private_devices(tmp).items()}
    return {**devices, "link to a device": tmp / "zero-link.moe", "fifo": fifo, "symlink loop": tmp / "loop.moe",
            "directory": tmp / "dir.moe"}


@pytest.mark.parametrize("command", ["check", "compile", "search"])
def test_special_files_as_plans(tmp_path, command):
    inputs = special_inputs(tmp_path)
    out = tmp_path / "out"
    before = snapshot(tmp_path)
    calls = [[command, str(path)] + (["-o", str(out)] if command == "compile" else []) +
             (["--svg", str(out / "p.svg")] if command == "search" else []) for path in inputs.values()]
    for name, proc in zip(inputs, run_limited_all(calls, tmp_path), strict=True):
        assert_clean(proc, {4})
        assert "E002" in proc.stderr, (name, proc.stderr)
    assert snapshot(tmp_path) == before          # the device nodes are still devices, nothing was added


def test_special_files_through_model_from(tmp_path):
    inputs = special_inputs(tmp_path)
    calls = []
    for n, path in enumerate(inputs.values()):
        plan = tmp_path / f"p{n}.moe"
        plan.write_text(plan_text(model=f'model from "{path.name}"'))
        calls.append(["check", str(plan), "--no-search"])
    for name, proc in zip(inputs, run_limited_all(calls, tmp_path), strict=True):
        assert_clean(proc, {4})
        assert "E002" in proc.stderr, (name, proc.stderr)


def non_regular_targets(tmp: Path) -> dict[str, Path]:
    """Output paths that must be refused: a FIFO, a symlink, a directory, and (as root) a device node."""
    targets = {}
    fifo = tmp / "target.fifo"
    os.mkfifo(fifo)
    targets["fifo"] = fifo
    outside = tmp / "outside.svg"
    outside.write_text("keep me")
    (tmp / "link.svg").symlink_to(outside)
    targets["symlink"] = tmp / "link.svg"
    (tmp / "adir.svg").mkdir()
    targets["directory"] = tmp / "adir.svg"
    targets.update({f"device like /dev/{name}": path for name, path in private_devices(tmp).items()})
    return targets


def test_non_regular_output_targets_are_refused(tmp_path):
    plan = tmp_path / "p.moe"
    plan.write_text(plan_text(workload="workload { batch = 8  prompt = 128  generate = 8 }"))
    targets = non_regular_targets(tmp_path)
    before = snapshot(tmp_path)
    calls = [["search", str(plan), "--top", "1", "--svg", str(target)] for target in targets.values()]
    for (name, target), proc in zip(targets.items(), run_limited_all(calls, tmp_path), strict=True):
        assert_clean(proc, {5})
        assert str(target.name) in proc.stderr, (name, proc.stderr)
    assert snapshot(tmp_path) == before
    assert (tmp_path / "outside.svg").read_text() == "keep me"
    # compile into a symlinked directory, a FIFO and a foreign non-empty directory: refused, nothing touched
    foreign = tmp_path / "home"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    (tmp_path / "linkdir").symlink_to(foreign)
    before = snapshot(tmp_path)
    calls = [["compile", str(plan), "--no-search", "-o", str(target)]
             for target in (tmp_path / "linkdir", targets["fifo"], foreign)]
    for proc in run_limited_all(calls, tmp_path):
        assert_clean(proc, {5})
    assert snapshot(tmp_path) == before


# ------------------------------------------------------------------ generated plan texts

def _lines(text: str, ending: str) -> str:
    return text.replace("\n", ending)


@st.composite
def plan_files(draw) -> bytes:
    """A plan's bytes: a valid base, mutated, re-encoded, with odd line endings or junk."""
    text = plan_text(workload=draw(st.sampled_from([
        "workload { batch = 8  prompt = 128  generate = 8 }",
        "workload { batch = 8  prompt = 2  generate = 8  microbatches = 64 }",
        "workload { batch = 3  prompt = 64  generate = 4 }"])),
        strategy=draw(st.sampled_from(["strategy tp 8", "strategy tp 2 ; ep 8", "strategy pp 2 < tp 4 >",
                                       "strategy cp 4", "strategy tp 1 sp", "strategy 名前 = tp 8",
                                       "strategy a = tp 8\nstrategy a = tp 4"])))
    kind = draw(st.sampled_from(["plain", "crlf", "cr", "cjk", "bom", "junk", "cut", "huge", "nul", "latin1",
                                 "repeat"]))
    match kind:
        case "crlf":
            text = _lines(text, "\r\n")
        case "cr":
            text = _lines(text, "\r")
        case "cjk":
            text = "# 専門家の並列 計画\n" + text.replace("strategy", "# 戦略 ✓\nstrategy 名 = ", 1) + "typo 専門家\n"
        case "bom":
            text = "\ufeff" + text
        case "junk":
            pos = draw(st.integers(0, len(text)))
            text = text[:pos] + draw(st.text(max_size=40)) + text[pos:]
        case "cut":
            text = text[:draw(st.integers(0, len(text)))]
        case "huge":
            text = text + "# " + "x" * (5 * 1024 * 1024) + "\n"
        case "repeat":
            text = text.replace("strategy", "strategy " + " ".join(["tp 2"] * draw(st.integers(2, 3000))) + " ;", 1)
    data = text.encode("utf-8")
    if kind == "nul":
        data = data[:50] + b"\x00" + data[50:]
    if kind == "latin1":
        data = text.replace("#", "# caf\xe9 ", 1).encode("latin-1", errors="replace")
    return data


class _Timeout(Exception):
    pass


def _call(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()

    def alarm(signum, frame):
        raise _Timeout(f"dagc {' '.join(argv)} took over {CALL_TIMEOUT_S} s")
    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(CALL_TIMEOUT_S)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = main(argv)
            except SystemExit as exc:          # argparse
                rc = int(exc.code or 0)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    return rc, out.getvalue(), err.getvalue()


@seed(20261122)
@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=plan_files(), command=st.sampled_from(["check", "check-json", "compile"]))
def test_generated_plans_get_documented_answers(tmp_path_factory, data, command):
    tmp = tmp_path_factory.mktemp("fuzz")
    plan = tmp / "plan.moe"
    plan.write_bytes(data)
    out = tmp / "out"
    before = snapshot(tmp)
    match command:
        case "check":
            rc, stdout, stderr = _call(["check", str(plan), "--no-search"])
        case "check-json":
            rc, stdout, stderr = _call(["check", str(plan), "--no-search", "--format", "json"])
            if rc in (0, 1, 3):
                json.loads(stdout)
        case _:
            rc, stdout, stderr = _call(["compile", str(plan), "--no-search", "-o", str(out), "--dot-timeout", "20"])
    assert rc in {0, 1, 3, 4}, (rc, stderr[-2000:])
    assert "Traceback" not in stderr
    if rc == 4:
        assert "error[E0" in stderr or "error[E1" in stderr, stderr[-2000:]
        assert ":1:" in stderr or any(f":{n}:" in stderr for n in range(1, 200))   # file:line:col
    assert len(stdout) + len(stderr) < 2_000_000, "output must stay bounded"
    assert snapshot(tmp, skip=out) == before, "nothing outside the output directory is touched"


def test_the_repository_is_untouched_by_a_check(tmp_path):
    before = snapshot(ROOT / "examples")
    rc, _, _ = _call(["check", str(ROOT / "examples" / "mixtral-8x7b-1node.moe"), "--no-search"])
    assert rc in (0, 1)
    assert snapshot(ROOT / "examples") == before
