"""A fleet whose every cluster is answered in its results file has nothing for Ray to run: `dagc fleet PLAN --ray`
run again after a finished sweep started a local Ray (seconds, and Ray's own messages) to run no task, and `--ray
ADDRESS` of a cluster since stopped refused the resumed sweep with exit 2, though nothing was left to search."""

from __future__ import annotations

from dagc.fleet.run import run_fleet
from dagc.fleet.stored import parse_answer
from dagc.lang.fleet_ir import FleetPoint


def test_a_sweep_answered_in_full_runs_nothing_on_ray():
    answer = parse_answer({"cluster": {"gpu": "h200", "gpus": 8, "gpus_per_node": 8, "engine": "vllm"},
                           "meets_requirements": True, "per_million_tokens": 1.515})
    points = [FleetPoint(k, "h200", "3.49 $/h", (("gpus", str(n)),), k, rate=4.0) for k, n in enumerate((8, 16))]
    known = {p.key: answer for p in points}
    seen: list[tuple[int, int]] = []
    # port 1 on this host answers nothing: reaching it was refused (exit 2 from the CLI) before
    got = run_fleet([(p, None) for p in points], ask=None, ray="127.0.0.1:1", known=known,
                    progress=lambda done, total: seen.append((done, total)))
    assert [(p.index, a.per_million_tokens) for p, a in got] == [(0, 1.515), (1, 1.515)]
    assert seen == [(2, 2)]
