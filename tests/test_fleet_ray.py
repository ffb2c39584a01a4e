"""`dagc fleet --ray`: the clusters searched as Ray Core tasks on a local Ray of two CPUs give the answers the
search gives in this process. Ray is the optional extra `dagc[ray]`: without it these tests are skipped,
saying so, and `--ray` says how to install it."""

from __future__ import annotations

import importlib.util
import sys

import pytest
from test_fleet import SMALL, write

from dagc.cli.main import main
from dagc.fleet.run import run_fleet
from dagc.lang.fleet import fleet_plans, load_fleet

HAVE_RAY = importlib.util.find_spec("ray") is not None


@pytest.mark.skipif(not HAVE_RAY, reason="Ray is not installed (the optional extra: pip install 'dagc[ray]')")
def test_ray_tasks_give_the_answers_of_this_process(tmp_path):
    import ray
    path = write(tmp_path, SMALL)
    _, fleet = load_fleet(path)
    items = fleet_plans(path, fleet)
    here = run_fleet(items)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        seen: list[int] = []
        got = run_fleet(items, ray="", progress=lambda done, total: seen.append(done))
    finally:
        ray.shutdown()
    assert got == here
    assert seen == [0, 1, 2]            # streamed back one cluster at a time


def test_ray_without_ray_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)        # `import ray` fails, as where it is not installed
    path = write(tmp_path, SMALL)
    assert main(["fleet", str(path), "-o", str(tmp_path / "out"), "--ray"]) == 2
    assert "pip install 'dagc[ray]'" in capsys.readouterr().err
