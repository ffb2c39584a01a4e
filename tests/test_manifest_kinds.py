"""A marked output directory vouches for what its manifest lists only as dagc writes it: a file as a regular file,
a directory as a directory. Until 2026-11-30 a FIFO (or socket, device node) put in place of a listed `report.md`
passed the check and `dagc compile` removed it with the old set, where a link under that name was refused
(docs/limits.md: devices, FIFOs and sockets are never replaced)."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

from dagc.export.output_dir import MANIFEST_HEAD, MARKER, MARKER_TEXT, check_output_dir
from dagc.export.write import OutputError
from conftest import plan_text, run_dagc


def _marked(tmp_path: Path, *listed: str) -> Path:
    out = tmp_path / "o"
    (out / "a").mkdir(parents=True)
    (out / "report.json").write_text("{}\n")
    (out / MARKER).write_text(MARKER_TEXT + MANIFEST_HEAD + "".join(f"{r}\n" for r in listed))
    return out


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _socket(path: Path) -> None:
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    s.close()


@pytest.mark.parametrize("make", [_fifo, _socket], ids=["fifo", "socket"])
@pytest.mark.parametrize("rel", ["report.md", "a/report.md"])
def test_a_listed_name_that_is_no_regular_file_is_refused(tmp_path, make, rel):
    out = _marked(tmp_path, "report.json", "a/", rel)
    make(out / rel)
    with pytest.raises(OutputError, match=rf"it holds `{rel}`, which dagc did not write"):
        check_output_dir(out)
    assert stat.S_ISFIFO(os.lstat(out / rel).st_mode) or stat.S_ISSOCK(os.lstat(out / rel).st_mode)


def test_the_same_directory_with_regular_files_is_still_dagcs(tmp_path):
    out = _marked(tmp_path, "report.json", "a/", "report.md", "a/report.md")
    (out / "report.md").write_text("# r\n")
    (out / "a" / "report.md").write_text("# r\n")
    check_output_dir(out)


def test_compile_leaves_a_fifo_in_its_old_output_alone(tmp_path):
    plan = tmp_path / "p.moe"
    plan.write_text(plan_text(workload="workload { batch = 8  prompt = 128  generate = 8 }"))
    out = tmp_path / "out"
    first = run_dagc("compile", str(plan), "--no-search", "-o", str(out))
    assert first.returncode == 0, first.stderr
    (out / "report.md").unlink()
    os.mkfifo(out / "report.md")
    proc = run_dagc("compile", str(plan), "--no-search", "-o", str(out))
    assert proc.returncode == 5
    assert f"error: cannot write {out}: it holds `report.md`, which dagc did not write" in proc.stderr
    assert stat.S_ISFIFO(os.lstat(out / "report.md").st_mode)


FLEET = """model preset "qwen3-30b-a3b"
cluster { gpus = 4  gpu preset "h100-sxm" }
workload { batch = 8  prompt = 256  generate = 16  serving = inflight  rate = 2 requests/s  requests = 50 }
fleet { gpu preset "h100-sxm" { price = 2.49 $/h }  gpus = [2, 4] }
"""


def test_fleet_refuses_a_fifo_in_place_of_its_results(tmp_path):
    """`dagc fleet` resumes from `fleet-results.jsonl` in its output directory: a FIFO under that name, listed by the
    marker, made it wait for a writer forever (a CI job that never ended) until 2026-11-30."""
    import subprocess
    import sys
    plan = tmp_path / "f.moe"
    plan.write_text(FLEET)
    out = tmp_path / "out"
    out.mkdir()
    (out / MARKER).write_text(MARKER_TEXT + MANIFEST_HEAD + "fleet-results.jsonl\nfleet.json\n")
    os.mkfifo(out / "fleet-results.jsonl")
    proc = subprocess.run([sys.executable, "-m", "dagc", "fleet", str(plan), "-o", str(out)], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    assert proc.returncode == 5, proc.stderr
    assert f"error: cannot write {out}: it holds `fleet-results.jsonl`, which dagc did not write" in proc.stderr
    assert stat.S_ISFIFO(os.lstat(out / "fleet-results.jsonl").st_mode)
