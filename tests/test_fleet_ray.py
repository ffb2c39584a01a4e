"""`dagc fleet --ray`: the clusters searched as Ray Core tasks on a local Ray of two CPUs give the answers the
search gives in this process. Ray is the optional extra `ray`: without it these tests are skipped,
saying so, and `--ray` says how to install it."""

from __future__ import annotations

import importlib.util
import os
import shlex
import sys
from pathlib import Path

import pytest
from test_fleet import SMALL, write

from dagc.cli.main import main
from dagc.export.fleet_json import FLEET_ASK
from dagc.fleet import ray_run
from dagc.fleet.run import run_fleet
from dagc.fleet.stored import parse_answer
from dagc.lang.fleet import fleet_plans, load_fleet

HAVE_RAY = importlib.util.find_spec("ray") is not None


def _dies(plan, rate, top):
    """On H200s its worker always dies; on H100s it dies once, then answers (a made-up answer)."""
    marker = Path(os.environ["DAGC_TEST_MARKER"]) / plan.cluster.gpu.name
    if plan.cluster.gpu.name == "h200" or not marker.exists():
        marker.write_text("died")
        os._exit(9)
    return parse_answer({"cluster": {"gpu": plan.cluster.gpu.name, "gpus": 1, "gpus_per_node": 8, "engine": "vllm"},
                         "meets_requirements": True, "searched": 7})


@pytest.mark.skipif(not HAVE_RAY, reason="Ray is not installed (the optional extra: pip install -e '.[ray]')")
def test_ray_tasks_give_the_answers_of_this_process_and_retry_a_dead_worker_once(tmp_path, monkeypatch):
    import ray
    path = write(tmp_path, SMALL)
    _, fleet = load_fleet(path)
    items = fleet_plans(path, fleet)
    here = run_fleet(items, FLEET_ASK)
    monkeypatch.setenv("DAGC_TEST_MARKER", str(tmp_path))     # before Ray starts: its workers inherit it,
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, (str(Path(__file__).parent),  # and import _dies
                                                                  os.environ.get("PYTHONPATH")))))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        seen: list[int] = []
        got = run_fleet(items, FLEET_ASK, ray="", progress=lambda done, total: seen.append(done))
        monkeypatch.setattr(ray_run, "answer_cluster", _dies)
        dying = {p.gpu: a for p, a in run_fleet(items, FLEET_ASK, ray="")}
    finally:
        ray.shutdown()
    assert got == here
    assert seen == [0, 1, 2]            # streamed back one cluster at a time
    assert dying["h100-sxm"].searched == 7                     # died once, run again: the made-up answer
    assert "failed twice" in (dying["h200"].failed or "") and not dying["h200"].meets_requirements


def test_ray_without_ray_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)        # `import ray` fails, as where it is not installed
    path = write(tmp_path, SMALL)
    assert main(["fleet", str(path), "-o", str(tmp_path / "out"), "--ray"]) == 2
    err = capsys.readouterr().err
    # this interpreter's pip: `pip install -e '.[ray]'` (until 2026-11-30) installs PyPI's `dagc`, another project
    assert f"--ray needs Ray, the optional extra `ray`: {shlex.quote(sys.executable)} -m pip install 'ray>=2.30'" in err
    assert "dagc[" not in err


def _closed_port() -> int:
    """A local TCP port nothing listens on: one the system handed out and then closed."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(("address", "says"), [
    ("not-an-address", "is not an address: write HOST:PORT"),
    ("10.0.0.1:99999", "is not an address"),
    ("ray://:10001", "is not an address"),
    ("localhost:" + "9" * 5000, "is not an address"),      # past Python's integer-length limit: no traceback
])
def test_an_address_that_is_none_is_refused_at_once(address, says):
    with pytest.raises(ray_run.RayUnreachable, match=says):
        ray_run.reach(address)


def test_an_address_nothing_answers_at_is_said_in_time_not_retried_for_minutes():
    import time
    port = _closed_port()
    t0 = time.monotonic()
    with pytest.raises(ray_run.RayUnreachable, match=rf"the Ray cluster at '127\.0\.0\.1:{port}' cannot be reached"):
        ray_run.reach(f"127.0.0.1:{port}", timeout_s=5)
    assert time.monotonic() - t0 < 5                  # refused: said at once, not after the timeout
    for address in ("auto", "local", "anyscale://prod"):     # no port to try, or a Ray Client plugin's: Ray's
        ray_run.reach(address)


def test_no_address_is_the_environments_ray_address(monkeypatch):
    """`ray.init()` without an address connects to `RAY_ADDRESS`: that one is checked as a written one is."""
    port = _closed_port()
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{port}")
    with pytest.raises(ray_run.RayUnreachable, match=rf"'127\.0\.0\.1:{port}' cannot be reached"):
        ray_run.reach("")
    monkeypatch.delenv("RAY_ADDRESS")
    ray_run.reach("")                                 # a local Ray started for the run: nothing to reach


def test_fleet_on_an_unreachable_address_never_starts_ray(tmp_path, capsys, monkeypatch):
    """With or without Ray installed: a stand-in `ray` whose `init` would hang as Ray's retries do."""
    import types

    def init(**_):
        raise AssertionError("ray.init was called on an address nothing answers at")
    stand_in = types.SimpleNamespace(is_initialized=lambda: False, init=init)
    monkeypatch.setitem(sys.modules, "ray", stand_in)
    path = write(tmp_path, SMALL)
    port = _closed_port()
    assert main(["fleet", str(path), "-o", str(tmp_path / "out"), "--ray", f"127.0.0.1:{port}"]) == 2
    err = capsys.readouterr().err.rsplit("\n\n", 1)[-1]      # after the plan's warnings (W521: 20 requests)
    assert err.count("\n") == 1 and err.startswith(f"error: the Ray cluster at '127.0.0.1:{port}' cannot be reached (")


@pytest.mark.skipif(not HAVE_RAY, reason="Ray is not installed (the optional extra: pip install -e '.[ray]')")
def test_fleet_on_a_ray_address_nothing_answers_at_exits_2_with_one_line(tmp_path, capsys):
    path = write(tmp_path, SMALL)
    port = _closed_port()
    assert main(["fleet", str(path), "-o", str(tmp_path / "out"), "--ray", f"ray://127.0.0.1:{port}"]) == 2
    err = capsys.readouterr().err
    assert f"error: the Ray cluster at 'ray://127.0.0.1:{port}' cannot be reached (" in err
    assert "Traceback" not in err
