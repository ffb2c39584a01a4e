"""`dagc fleet PLAN --ray ADDRESS` where something answers at ADDRESS's port but it is no Ray cluster (a proxy, another
service, a head that failed): `ray.init` retries, then raises Ray's ConnectionError, an OSError. Before, the CLI took
it for a failing standard output — `error: cannot write to standard output: Failed to connect to Ray cluster at …`,
exit 5 — after up to 14 minutes of Ray's retries (measured: a TCP server that closes each connection). Now it is said
as the address's fault, exit 2, as an address nothing answers at is."""

from __future__ import annotations

import socket
import sys
import types
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


def test_an_address_whose_port_answers_but_holds_no_ray_is_the_address_s_fault(tmp_path: Path, capsys, monkeypatch):
    def init(address, **_):            # what Ray 2.60's `ray.init` raises once its retries are spent
        raise ConnectionError(f"Failed to connect to Ray cluster at {address}")
    monkeypatch.setitem(sys.modules, "ray", types.SimpleNamespace(is_initialized=lambda: False, init=init))
    (tmp_path / "plan.moe").write_text(PLAN)
    with socket.socket() as server:    # a port that answers: `reach` lets it through to `ray.init`
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        address = f"127.0.0.1:{server.getsockname()[1]}"
        code = main(["fleet", str(tmp_path / "plan.moe"), "-o", str(tmp_path / "out"), "--ray", address])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2
    assert "cannot write to standard output" not in err
    assert (f"error: the Ray cluster at '{address}' cannot be reached (its port answers, but Ray found no cluster "
            f"there: Failed to connect to Ray cluster at {address}): check that ADDRESS is the head node's GCS port "
            "(6379 by default, as `ray start --head` prints it), or ray://HOST:PORT for a Ray Client server") in err


def test_a_local_ray_that_cannot_start_says_so(tmp_path: Path, capsys, monkeypatch):
    def init(address, **_):
        raise ConnectionError("Failed to connect to Ray cluster at 192.0.2.2:6379")
    monkeypatch.setitem(sys.modules, "ray", types.SimpleNamespace(is_initialized=lambda: False, init=init))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    (tmp_path / "plan.moe").write_text(PLAN)
    code = main(["fleet", str(tmp_path / "plan.moe"), "-o", str(tmp_path / "out"), "--ray"])
    err = capsys.readouterr().err
    assert code == 2
    assert "error: a local Ray could not be started (Failed to connect to Ray cluster at 192.0.2.2:6379)" in err
