"""`dagc fleet PLAN --ray --jobs 2`: Ray runs as many clusters at once as its cluster has CPUs, and `--jobs` is not
read; it was dropped without a word (and lowered to the CPUs available first, `note: --jobs 8 lowered to 2`, of a
number then unused). Now a note says so."""

from __future__ import annotations

from pathlib import Path

from dagc.cli.main import main

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 2  gpu preset "h100-sxm" }
workload { batch = 64  prompt = 1000  generate = 200  serving = inflight  requests = 200 }
require { ttft_p99 <= 2 s  tpot_p90 <= 40 ms }
fleet {
  gpus = [1, 2]
  rate = 6 requests/s
}
"""


def test_jobs_beside_ray_is_said_unread(tmp_path: Path, capsys):
    (tmp_path / "plan.moe").write_text(PLAN)
    # port 1 answers nothing: the run stops there (exit 2), after what it said of --jobs
    code = main(["fleet", str(tmp_path / "plan.moe"), "-o", str(tmp_path / "out"), "--ray", "127.0.0.1:1",
                 "--jobs", "64"])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2
    assert "note: --jobs 64 is not read with --ray: Ray runs as many clusters at once as it has CPUs" in err
    assert "lowered to" not in err
    assert "error: the Ray cluster at '127.0.0.1:1' cannot be reached (Connection refused)" in err
