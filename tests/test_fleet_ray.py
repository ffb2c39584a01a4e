"""`dagc fleet --ray`: the clusters searched as Ray Core tasks on a local Ray of two CPUs give the answers the
search gives in this process. Ray is the optional extra `dagc[ray]`: without it these tests are skipped,
saying so, and `--ray` says how to install it."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest
from test_fleet import SMALL, write

from dagc.cli.main import main
from dagc.fleet import ray_run
from dagc.fleet.run import run_fleet
from dagc.lang.fleet import fleet_plans, load_fleet

HAVE_RAY = importlib.util.find_spec("ray") is not None


def _dies(plan, rate, top):
    """On H200s its worker always dies; on H100s it dies once, then answers (a made-up answer)."""
    marker = Path(os.environ["DAGC_TEST_MARKER"]) / plan.cluster.gpu.name
    if plan.cluster.gpu.name == "h200" or not marker.exists():
        marker.write_text("died")
        os._exit(9)
    return {"cluster": {"gpu": plan.cluster.gpu.name}, "meets_requirements": True, "pick": {"score": 1.0}}


@pytest.mark.skipif(not HAVE_RAY, reason="Ray is not installed (the optional extra: pip install 'dagc[ray]')")
def test_ray_tasks_give_the_answers_of_this_process_and_retry_a_dead_worker_once(tmp_path, monkeypatch):
    import ray
    path = write(tmp_path, SMALL)
    _, fleet = load_fleet(path)
    items = fleet_plans(path, fleet)
    here = run_fleet(items)
    monkeypatch.setenv("DAGC_TEST_MARKER", str(tmp_path))     # before Ray starts: its workers inherit it,
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, (str(Path(__file__).parent),  # and import _dies
                                                                  os.environ.get("PYTHONPATH")))))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        seen: list[int] = []
        got = run_fleet(items, ray="", progress=lambda done, total: seen.append(done))
        monkeypatch.setattr(ray_run, "answer_cluster", _dies)
        dying = {p.gpu: a for p, a in run_fleet(items, ray="")}
    finally:
        ray.shutdown()
    assert got == here
    assert seen == [0, 1, 2]            # streamed back one cluster at a time
    assert dying["h100-sxm"]["pick"] == {"score": 1.0}                     # died once, run again
    assert "failed twice" in dying["h200"]["failed"] and not dying["h200"]["meets_requirements"]


def test_ray_without_ray_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)        # `import ray` fails, as where it is not installed
    path = write(tmp_path, SMALL)
    assert main(["fleet", str(path), "-o", str(tmp_path / "out"), "--ray"]) == 2
    assert "pip install 'dagc[ray]'" in capsys.readouterr().err
