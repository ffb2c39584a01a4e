"""What `dagc search` prints is what `dagc check --strategy` says (issue 52, after its adversarial trial):
every printed row and Pareto point carries the figures check gives its text (the rows under_traffic's walk
brings up, and the front, were estimates), or says it is an estimate; and `search --rate R` judges each row
on its own run at R, as `check --strategy TEXT --set 'workload.rate=R requests/s'` does."""

from __future__ import annotations

import io
import json
from dataclasses import replace

import pytest
from rich.console import Console

from dagc.cli.main import main
from dagc.cli.print_search import print_search
from dagc.export.result_json import load_json, metrics_json
from dagc.lang.load import load_plan, parse_strategy
from dagc.search.result import SKIPPED_RESCORE
from dagc.search.search import search
from dagc.search.shown import exact_shown
from dagc.verdict.check import check_strategy
from conftest import one_computation_per_output

# On 2 H100s `tpot_p90 <= 20 ms` is out of every strategy's reach under the traffic while the steady state's
# best meet it: the walk judges its limit, they fall, and the rows it brings up (`overlap microbatch` among
# them) are ones the search had not re-scored.
PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 2  gpu preset "h100-sxm"  engine = pytorch }
workload {
  batch = 64  prompt = 1000  generate = 100  serving = inflight  chunk = 4096
  TRAFFIC  requests = 40
}
require { ttft_p99 <= 1 s  tpot_p90 <= 20 ms }
strategy tp 1
"""
FIGURES = ("ttft_s", "tpot_s", "decode_tokens_per_s_per_gpu")


@pytest.fixture(autouse=True)
def _wide_tables(monkeypatch):
    """Tables wide enough for every column, a row on a line: these tests read their cells (tables at the
    widths terminals have are tests/test_cli_widths.py's)."""
    monkeypatch.setenv("COLUMNS", "1000")


def _json(capsys, *argv: str) -> dict:
    capsys.readouterr()
    assert main(list(argv)) in (0, 1)            # check: 1 when the strategy misses a requirement
    return json.loads(capsys.readouterr().out)


def _plan(tmp_path, traffic: str, require: str | None = None):
    text = PLAN.replace("TRAFFIC", traffic)
    if require is not None:
        text = text.replace("ttft_p99 <= 1 s  tpot_p90 <= 20 ms", require)
    path = tmp_path / "plan.moe"
    path.write_text(text)
    return path


def _checked(plan, text: str, batch: int | None = None):
    if batch is not None:           # as `--set workload.batch=N` pastes a `--vary batch` row
        plan = plan.model_copy(update={"workload": plan.workload.model_copy(update={"batch": batch,
                                                                                    "batch_max": False})})
    return check_strategy(plan, parse_strategy(text), with_capacity=False)


def test_every_printed_row_and_point_has_the_figures_check_gives_it(capsys, tmp_path):
    # at 8 requests/s every candidate's steady state carries the rate (none is passed over as short of it): the
    # walk simulates, each missing, and brings up rows from deep in the ranking; once it runs out the simulated rank
    # above those judged on the steady state alone (docs/search.md)
    path = _plan(tmp_path, "rate = 8 requests/s")
    doc = _json(capsys, "search", str(path), "--top", "3", "--format", "json", "--svg", str(tmp_path / "p.svg"))
    shown = [*doc["candidates"], *doc["pareto"]]
    assert any("overlap microbatch" in c["strategy"] for c in shown)
    judged = [c["judged"] for c in doc["candidates"]]
    assert judged and judged[0] != "steady-state"                                 # simulated by the walk, first
    assert judged == sorted(judged, key=lambda j: j == "steady-state")
    plan = load_plan(str(path))
    for c in shown:
        r = _checked(plan, c["strategy"])
        assert c["exact"] is True, c["strategy"]
        assert {k: c["metrics"][k] for k in FIGURES} == {k: metrics_json(r.metrics)[k] for k in FIGURES}, c["strategy"]
    capsys.readouterr()
    main(["search", str(path), "--top", "3", "--svg", str(tmp_path / "p.svg")])
    assert "≈" not in capsys.readouterr().out


def test_vary_batch_on_a_closed_loop_prints_the_figures_of_each_batch(capsys, tmp_path):
    path = _plan(tmp_path, "concurrency = 32")
    doc = _json(capsys, "search", str(path), "--vary", "batch", "--top", "3", "--format", "json",
                "--svg", str(tmp_path / "p.svg"))
    plan = load_plan(str(path))
    for c in [*doc["candidates"], *doc["pareto"]]:
        r = _checked(plan, c["strategy"], c["workload"]["batch"])
        assert c["exact"] is True
        assert {k: c["metrics"][k] for k in FIGURES} == {k: metrics_json(r.metrics)[k] for k in FIGURES}, c["strategy"]


def test_rows_not_rescored_say_they_are_estimates(tmp_path):
    """A search whose time budget left no time to re-score its best: nothing is re-scored after it either, and
    the table marks each figure `≈` and says why."""
    path = _plan(tmp_path, "rate = 14 requests/s")
    plan = load_plan(str(path))
    found = replace(search(plan, top=3, rescore=0), skipped=(SKIPPED_RESCORE,))
    assert exact_shown(plan, found, 3) is found
    assert not any(c.exact for c in found.ranked[:3])
    out = Console(file=io.StringIO(), width=200)
    print_search(out, found, 3, tmp_path / "p.svg", plan)
    text = out.file.getvalue()
    assert text.count("≈ ") >= 9 and "≈: an estimate of the search's fast cost model" in text


@pytest.mark.parametrize("rate", ["14"])
def test_search_rate_rows_are_judged_on_their_own_run(capsys, tmp_path, rate):
    # at the plan's 2 requests/s every 2-GPU strategy meets `tpot_p90 <= 30 ms` (and the walk says so); at 14
    # the 1-GPU ones do not: each at-rate row is judged on its run at 14, as check is (twelve rows: those meeting
    # rank first, nine of them)
    path = _plan(tmp_path, "rate = 2 requests/s", "ttft_p99 <= 1 s  tpot_p90 <= 30 ms  goodput >= 1.9 requests/s")
    path.write_text(path.read_text().replace('"h100-sxm"', '"h200"').replace("requests = 40", "requests = 60"))
    with one_computation_per_output():      # the search's JSON and its text: one search, one set of runs
        doc = _json(capsys, "search", str(path), "--rate", rate, "--top", "12", "--format", "json",
                    "--svg", str(tmp_path / "p.svg"))
        rows = doc["at_rate"]["ranked"]
        plan = load_plan(str(path))
        at = plan.model_copy(update={"workload": plan.workload.model_copy(
            update={"traffic": plan.workload.traffic.at_rate(float(rate))})})
        said = []
        for row in rows:
            r = _checked(at, row["strategy"])
            assert row["judged"] == "all"
            assert row["meets_requirements"] == (r.verdict.meets_requirements is True), row["strategy"]
            missed = [q.requirement.text for q in r.requirements if q.requirement.on_load and q.met is not True]
            assert row["load_requirements_missed"] == missed
            assert row["load"]["ttft_s"] == load_json(r.load)["ttft_s"]
            said.append(row["meets_requirements"])
        assert set(said) == {True, False}               # the rate splits the rows: some meet, some miss
        # one of each, as the command line checks it
        for row in (next(x for x in rows if x["meets_requirements"]),
                    next(x for x in rows if not x["meets_requirements"])):
            got = _json(capsys, "check", str(path), "--strategy", row["strategy"], "--set",
                        f"workload.rate={rate} requests/s", "--no-search", "--format", "json")
            assert got["verdict"]["meets_requirements"] == row["meets_requirements"]
        capsys.readouterr()
        main(["search", str(path), "--rate", rate, "--top", "12", "--svg", str(tmp_path / "p.svg")])
        out = capsys.readouterr().out
    assert "meets requirements: at 14 requests/s, every requirement judged" in out
    assert "no: tpot_p90" in out or "no: goodput" in out
