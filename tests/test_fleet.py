"""`dagc fleet`: the `fleet` statement, the sweep's clusters, their ranking, and the runs in-process, in worker
processes and resumed from a results file."""

from __future__ import annotations

import json
import os
import shlex
import shutil
from pathlib import Path

import pytest
from fleet_answers import ranked, row_of, stored

from dagc.cli.main import main
from dagc.diagnostics import PlanError
from dagc.export.fleet_json import FLEET_ASK, answer_json, fleet_json, row_json
from dagc.export.fleet_out import fleet_md
from dagc.export.fleet_words import CLOSE_WORDS, close_text
from dagc.export.report import report_json
from dagc.export.result_json import load_json
from dagc.fleet import run as fleet_run
from dagc.fleet.cluster import answer_cluster, judged_batch, pick_capacity, queues
from dagc.fleet.rank import rank_fleet
from dagc.fleet.run import run_fleet
from dagc.lang.fleet import MAX_FLEET_CLUSTERS, Fleet, FleetPoint, fleet_plans, fleet_rate, load_fleet
from dagc.lang.load import load_plan, parse_strategy
from dagc.search.at_rate import plan_at_rate
from dagc.units import count_text, format_figure
from dagc.verdict.check import check_strategy

HEAD = """model preset "qwen3-30b-a3b"
cluster { gpus = 1  gpu preset "h100-sxm" }
workload { batch = 16  prompt = 512  generate = 64  serving = inflight  rate = 4 requests/s  requests = 20 }
require { ttft_p99 <= 1 s  tpot_p90 <= 50 ms }
strategy tp 1
"""
SMALL = HEAD + """fleet {
  gpu preset "h100-sxm" { price = 2.5 $/h }
  gpu preset "h200" { price = 3.5 $/h }
}
"""


def write(tmp_path: Path, text: str, name: str = "fleet.moe") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def fleet_error(tmp_path: Path, fleet: str, head: str = HEAD) -> list:
    path = write(tmp_path, head + fleet)
    with pytest.raises(PlanError) as exc:
        _, f = load_fleet(path)
        fleet_plans(path, f)
    return [(d.code, d.span.line, d.span.column) for d in exc.value.diagnostics]


# ------------------------------------------------------------------ the statement


def test_the_sweep_runs_gpu_types_outermost_then_each_field_as_written(tmp_path):
    path = write(tmp_path, HEAD + 'fleet { gpu preset "h200" { price = 3.5 $/h }  gpu preset "b200" '
                 "{ price = 6 $/h }  gpus = [8, 16]  engine = [vllm, sglang] }")
    plan, fleet = load_fleet(path)
    assert fleet.size == 2 * 2 * 2 and fleet.priced and fleet_rate(fleet, plan) == 4.0
    points = fleet.points()
    assert [p.label for p in points[:3]] == ["h200, gpus 8, engine vllm", "h200, gpus 8, engine sglang",
                                            "h200, gpus 16, engine vllm"]
    assert points[4].options == ("cluster.gpu=b200", "cluster.price=6 $/h", "cluster.gpus=8", "cluster.engine=vllm")
    plans = fleet_plans(path, fleet)
    c = plans[7][1].cluster           # the last: b200, 16 GPUs, SGLang, at its price
    assert (c.gpu.name, c.gpus, c.engine.name, c.price_per_gpu_hour) == ("b200", 16, "sglang", 6.0)
    # the plan itself is the plan as written: `dagc check` reads past the fleet
    assert load_plan(path).cluster.gpus == 1


def test_an_ellipsis_continues_the_step_of_the_two_values_before_it(tmp_path):
    _, fleet = load_fleet(write(tmp_path, HEAD + 'fleet { gpu preset "h200"  gpus = [4, 8, 16, ..., 40, 64] }'))
    assert fleet.sweeps[0].values == ("4", "8", "16", "24", "32", "40", "64")     # 16 - 8: steps of 8
    assert fleet_error(tmp_path, 'fleet { gpu preset "h200"  gpus = [8, 16, ..., 60] }') == [("E104", 6, 43)]
    assert fleet_error(tmp_path, 'fleet { gpu preset "h200"  gpus = [8, ..., 64] }') == [("E104", 6, 39)]


def test_an_ellipsis_listing_more_values_than_a_fleet_searches_is_e002_not_a_wrong_step(tmp_path):
    # it read "`1, 2, ..., 1003` does not reach 1003 in steps of 1" (E104), where the list is too long (E002)
    for values, count in (("1, 2, ..., 1003", "1,003"), ("2, 4, ..., 100000", "50,000"),
                          ("1, 8, 16, ..., 8008", "1,002")):
        text = HEAD + f'fleet {{ gpu preset "h200"  gpus = [{values}] }}'
        with pytest.raises(PlanError) as e:
            load_fleet(write(tmp_path, text))
        (d,) = e.value.diagnostics
        assert (d.code, d.span.line, d.span.column) == ("E002", 6, text.splitlines()[5].index("...") + 1)
        assert f"lists {count} values of the fleet's `gpus`" in d.message
    _, fleet = load_fleet(write(tmp_path, HEAD + 'fleet { gpu preset "h200"  gpus = [1, 2, ..., 1000] }'))
    assert len(fleet.sweeps[0].values) == 1000


def test_the_fleets_rate_wins_over_the_workloads(tmp_path):
    plan, fleet = load_fleet(write(tmp_path, HEAD + 'fleet { gpu preset "h200"  rate = 7 requests/s }'))
    assert fleet_rate(fleet, plan) == 7.0 and not fleet.priced


def test_an_empty_sweep_is_located(tmp_path):
    assert fleet_error(tmp_path, 'fleet { gpu preset "h200"  gpus = [] }') == [("E104", 6, 28)]
    assert fleet_error(tmp_path, "fleet { }") == [("E103", 6, 1)]


def test_a_fleets_errors_are_said_with_its_rate_applied_not_behind_a_workload_without_one(tmp_path):
    # `requests = 20` alone is read at the fleet's rate (no E104 of the workload), though the fleet has errors: each
    # is said, at its place — the unknown preset with the name meant, the empty list, the value listed twice
    head = HEAD.replace("rate = 4 requests/s  ", "")
    fleet = """fleet {
  gpu preset "h100" { price = 2.49 $/h }
  gpu preset "a100-80g" { }
  gpus = []
  rate = 4 requests/s
  engine = [vllm, vllm]
}
"""
    path = write(tmp_path, head + fleet)
    with pytest.raises(PlanError) as exc:
        load_fleet(path)
    found = [(d.code, d.span.line, d.span.column) for d in exc.value.diagnostics]
    assert found == [("E101", 7, 14), ("E104", 9, 3), ("E104", 11, 19)]
    assert "did you mean `h100-sxm`?" in (exc.value.diagnostics[0].hint or "")
    # the plan's own errors beside the fleet's, each at its place
    bad = head.replace("batch = 16", "batch = 0")
    assert fleet_error(tmp_path, fleet, bad) == [("E104", 3, 20), ("E101", 7, 14), ("E104", 9, 3), ("E104", 11, 19)]


def test_an_unknown_gpu_preset_in_a_fleet_is_not_told_to_write_the_gpu_out(tmp_path):
    # a fleet sweeps presets: the hint names them, and not the `gpu "x" { … }` form a cluster takes and a fleet refuses
    path = write(tmp_path, HEAD + 'fleet { gpu preset "h20O" }')
    with pytest.raises(PlanError) as exc:
        load_fleet(path)
    (d,) = exc.value.diagnostics
    assert d.code == "E101" and d.hint is not None
    assert "`h200`" in d.hint and "describe it" not in d.hint
    assert "a fleet's `gpu preset` names a built-in GPU" in d.hint


def test_a_near_miss_preset_in_a_fleet_reads_as_one_sentence(tmp_path):
    # before: "did you mean `h100-sxm`?; a fleet sweeps built-in GPUs only" — a "?;" and "only", though a fleet
    # sweeps the cluster's own GPU too (docs/fleet.md)
    with pytest.raises(PlanError) as exc:
        load_fleet(write(tmp_path, HEAD + 'fleet { gpu preset "h100sxm" { price = 2 $/h } }'))
    (d,) = exc.value.diagnostics
    assert (d.code, d.hint) == ("E101", "did you mean `h100-sxm`? (a fleet's `gpu preset` names a built-in GPU)")


def test_a_gpu_type_listed_twice_is_located_at_the_second(tmp_path):
    # two prices of one GPU would be two clusters of the same name in the ranking: refused, as a value listed twice
    fleet = 'fleet { gpu preset "h200" { price = 3.49 $/h }  gpu preset "h200" { price = 3.99 $/h } }'
    assert fleet_error(tmp_path, fleet) == [("E104", 6, 49)]


def test_a_gpu_type_without_a_price_under_the_cost_objective_is_located(tmp_path):
    found = fleet_error(tmp_path, 'fleet {\n  gpu preset "h200" { price = 3.5 $/h }\n  gpu preset "b200"\n}',
                        HEAD + "objective = cost\n")
    assert found == [("E103", 9, 3)]


def test_a_sweep_past_the_bound_is_located(tmp_path):
    counts = ", ".join(str(n) for n in range(1, 41))
    assert 40 * 40 > MAX_FLEET_CLUSTERS
    assert fleet_error(tmp_path, f'fleet {{ gpu preset "h200"  gpus = [{counts}]  gpus_per_node = [{counts}] }}') \
        == [("E002", 6, 1)]


def test_a_clusters_bad_value_is_located_in_the_fleet_not_in_a_set_option(tmp_path):
    # `foo` is read by the cluster's own lowering, through `--set cluster.engine=foo`
    assert fleet_error(tmp_path, 'fleet { gpu preset "h200"  engine = [vllm, foo] }') == [("E101", 6, 44)]
    assert fleet_error(tmp_path, 'fleet { gpu preset "h300" }') == [("E101", 6, 20)]


def test_mixes_search_each_cluster_under_each_with_its_own_rate(tmp_path):
    path = write(tmp_path, HEAD + 'fleet { gpu preset "h200"  gpus = [1, 2]  rate = 3 requests/s\n'
                 '  mix "chat" { weight = 0.7  prompt = 1024 }\n  mix "rag" { weight = 30 %  rate = 1 requests/s  '
                 'prompt = 8192  generate = 128 } }')
    plan, fleet = load_fleet(path)
    assert fleet.clusters == 2 and fleet.size == 4
    items = fleet_plans(path, fleet)
    assert [(p.cluster, p.mix, p.weight, p.rate) for p, _ in items] == [
        (0, "chat", 0.7, 3.0), (0, "rag", 0.3, 1.0), (1, "chat", 0.7, 3.0), (1, "rag", 0.3, 1.0)]
    rag = items[3]
    assert rag[0].options == ("cluster.gpu=h200", "cluster.gpus=2", "workload.rate=1 requests/s",
                              "workload.prompt=8192", "workload.generate=128")
    w = rag[1].workload
    assert (w.prompt, w.generate, w.traffic.rate, rag[1].cluster.gpus) == (8192, 128, 1.0, 2)


def test_a_mixs_bad_field_is_located(tmp_path):
    found = fleet_error(tmp_path, 'fleet { gpu preset "h200"\n  mix "a" { weight = 1  promt = 9 } }')
    assert found == [("E101", 7, 25)]
    assert fleet_error(tmp_path, 'fleet { gpu preset "h200"\n  mix "a" { }  mix "a" { } }') == [("E104", 7, 20)]
    assert fleet_error(tmp_path, 'fleet { gpu preset "h200"\n  mix "a" { prompt = 0 } }') == [("E104", 7, 22)]


# ------------------------------------------------------------------ the ranking


def test_a_clusters_mixes_meet_together_and_cost_their_weighted_mean():
    fleet = Fleet((), (), None, None)
    def point(i, cluster, mix, weight):
        return FleetPoint(i, "h200", None, (("gpus", str(8 * (cluster + 1))),), cluster, mix, weight, rate=2.0)
    answers = [(point(0, 0, "chat", 3.0), _answer(True, None, 0.10, 5.0, 0.0)),
               (point(1, 0, "rag", 1.0), _answer(True, None, 0.30, 1.0, 0.0)),
               (point(2, 1, "chat", 3.0), _answer(True, None, 0.05, 5.0, 0.0)),
               (point(3, 1, "rag", 1.0), {**_answer(False, None, 0.01, 1.0, 0.0), "binding": "ttft_p99 <= 1 s"})]
    r = ranked(fleet, answers, "tokens-per-gpu")
    assert r.by == "gpu-hours" and len(r.ranked) == 1 and len(r.missed) == 1
    best = row_json(r.ranked[0])
    # (3 x 0.10 + 1 x 0.30) / 4 GPU-hours a million tokens; the pick shown is the heaviest mix's
    assert best["gpu_hours_per_million_tokens"] == pytest.approx(0.15) and best["pick"] == {"score": 5.0}
    assert [m["mix"] for m in best["mixes"]] == ["chat", "rag"]
    assert r.missed[0].answer.binding == 'mix "rag": ttft_p99 <= 1 s'
    assert fleet_json(r)["mixes"] == [] and fleet_json(r)["rate_requests_per_s"] == 2.0



def _answer(meets: bool, money: float | None, hours: float, score: float, rent: float) -> dict:
    return {"meets_requirements": meets, "per_million_tokens": money, "gpu_hours_per_million_tokens": hours,
            "rent_per_hour": rent, "pick": {"score": score}}


def test_clusters_meeting_every_requirement_rank_by_money_then_score_then_rent():
    points = [FleetPoint(i, "h200", "3 $/h", (("gpus", str(n)),), i, rate=4.0) for i, n in enumerate((8, 16, 32, 64))]
    answers = [_answer(True, 0.30, 0.1, 10.0, 24.0), _answer(True, 0.20, 0.1, 10.0, 48.0),
               _answer(False, 0.05, 0.1, 99.0, 96.0), _answer(True, 0.20, 0.1, 10.0, 192.0)]
    from dagc.lang.fleet import FleetGpu
    fleet = Fleet((FleetGpu("h200", "3 $/h", 3.0, None),), (), 4.0, None)
    r = ranked(fleet, list(zip(points, answers, strict=True)), "tokens-per-gpu")
    # 16 and 64 GPUs cost the same per token: the smaller rent first; 8 GPUs after; 32 misses
    assert [x.index for x in r.ranked] == [1, 3, 0] and [x.index for x in r.missed] == [2]
    assert fleet_json(r)["best"]["options"] == ["cluster.gpu=h200", "cluster.price=3 $/h", "cluster.gpus=16"]


# ------------------------------------------------------------------ correct by construction


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """The small fleet's plans and their answers, run in this process."""
    path = write(tmp_path_factory.mktemp("fleet"), SMALL)
    plan, fleet = load_fleet(path)
    items = fleet_plans(path, fleet)
    return path, plan, fleet, items, run_fleet(items, FLEET_ASK)


def test_the_best_is_the_cheapest_of_dagc_search_rate_run_on_each_cluster(small, capsys):
    path, plan, fleet, items, answers = small
    best = None
    for point, _ in items:          # `dagc search PLAN --rate 4 --set …` one cluster at a time
        argv = ["search", str(path), "--rate", "4", "--format", "json", "--svg", str(path.parent / "p.svg")]
        for option in point.options:
            argv += ["--set", option]
        main(argv)
        at_rate = json.loads(capsys.readouterr().out)["at_rate"]
        row = next(r for r in at_rate["ranked"] if r["meets_requirements"])
        price = {"h100-sxm": 2.5, "h200": 3.5}[point.gpu]
        # a million tokens: the pick's GPUs for the hours its goodput (requests/s x 576 tokens) takes
        per_million = row["gpus"] * price / 3600 / (row["load"]["goodput_requests_per_s"] * (512 + 64)) * 1e6
        if best is None or per_million < best[0]:
            best = (per_million, point.label, row["strategy"])
    result = rank_fleet(fleet, answers, plan.objective)
    assert result.best is not None and result.best.answer.pick is not None
    assert (result.best.label, result.best.answer.pick.strategy) == best[1:]
    assert result.best.answer.per_million_tokens == pytest.approx(best[0], rel=1e-12)


def test_worker_processes_give_the_same_answers(small):
    path, plan, fleet, items, answers = small
    assert run_fleet(items, FLEET_ASK, jobs=2) == answers


def test_a_fleet_whose_work_is_one_lanes_runs_in_this_process(tmp_path, monkeypatch):
    """One GPU type at two counts: the second lane would start without a cluster (too few to help with, `HELP_LEFT`),
    so `--jobs 2` answers in this process, as `--jobs 1` does, without starting a worker to run them all."""
    path = write(tmp_path, HEAD + 'fleet {\n  gpu preset "h200" { price = 3.5 $/h }\n  gpus = [4, 8]\n}\n')
    items = fleet_plans(path, load_fleet(path)[1])
    assert [pl.cluster.gpus for _, pl in items] == [4, 8]
    monkeypatch.setattr(fleet_run, "answer_cluster", _fake)
    monkeypatch.setattr(fleet_run, "_in_processes", lambda *a: pytest.fail("a worker process was started"))
    assert [a.per_million_tokens for _, a in run_fleet(items, FLEET_ASK, jobs=2)] == [3.5, 3.5]


# ------------------------------------------------------------------ workers that die, resuming


def _fake(plan, rate, top):
    return stored({"cluster": {"gpu": plan.cluster.gpu.name}, "meets_requirements": True, "pick": {"score": 1.0},
                   "per_million_tokens": plan.cluster.price_per_gpu_hour, "gpu_hours_per_million_tokens": 1.0,
                   "rent_per_hour": 1.0})


def _dies_on_h200(plan, rate, top):
    if plan.cluster.gpu.name == "h200":
        os._exit(9)                 # as a worker killed by the kernel
    return _fake(plan, rate, top)


def _dies_once(plan, rate, top):
    # h200's worker dies on its first run only; h100's never does (had both died, a cluster still pending when
    # the other's worker died would first run in the retry, die there and be reported as dying twice)
    marker = Path(os.environ["DAGC_TEST_MARKER"]) / plan.cluster.gpu.name
    if plan.cluster.gpu.name == "h200" and not marker.exists():
        marker.write_text("died")
        os._exit(9)
    return _fake(plan, rate, top)


def test_a_worker_that_dies_twice_is_reported_and_the_rest_answered(small, monkeypatch):
    _, _, _, items, _ = small
    monkeypatch.setattr(fleet_run, "answer_cluster", _dies_on_h200)
    got = dict((p.gpu, a) for p, a in run_fleet(items, FLEET_ASK, jobs=2))
    assert got["h100-sxm"].per_million_tokens == 2.5
    assert "died twice" in (got["h200"].failed or "") and got["h200"].meets_requirements is False


def test_a_worker_that_dies_once_is_retried(small, monkeypatch, tmp_path):
    _, _, _, items, _ = small
    monkeypatch.setenv("DAGC_TEST_MARKER", str(tmp_path))
    monkeypatch.setattr(fleet_run, "answer_cluster", _dies_once)
    got = dict((p.gpu, a) for p, a in run_fleet(items, FLEET_ASK, jobs=2))
    assert got["h200"].per_million_tokens == 3.5 and "failed" not in got["h200"].model_fields_set


def test_dagc_fleet_writes_its_answers_and_resumes_from_them(small, tmp_path, capsys, monkeypatch):
    path, plan, fleet, items, answers = small
    out = tmp_path / "out"
    assert main(["fleet", str(path), "-o", str(out), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc == json.loads((out / "fleet.json").read_text())
    best = dict(doc["fleet"]["best"])
    capacity = best.pop("capacity_requests_per_s")          # the best pick's capacity, bisected as check does
    assert best == fleet_json(rank_fleet(fleet, answers, plan.objective))["best"]
    point_plan = next(pl for p, pl in items if p.cluster == best["index"])
    own = check_strategy(point_plan, parse_strategy(best["pick"]["strategy"]))
    assert capacity == load_json(own.load)["capacity_requests_per_s"] and capacity >= 4.0     # it carries 4 requests/s
    # check prices the pick as the fleet does: on its goodput at the rate, not on the steady state
    cost = report_json(own)["cost"]
    assert cost["basis"] == "goodput"
    assert cost["goodput_requests_per_s"] == best["pick"]["load"]["goodput_requests_per_s"]
    assert cost["per_million_tokens"] == best["per_million_tokens"] and cost["tokens_per_s"] == best["tokens_per_s"]
    lines = (out / "fleet-results.jsonl").read_text().splitlines()
    assert len(lines) == 1 + len(items)
    # fleet.md names the best and its cost; fleet.svg draws each cluster's pick, filled when it meets them all
    best = doc["fleet"]["best"]
    md = (out / "fleet.md").read_text()
    assert f"**Rent 1 x {best['cluster']['gpu']} served by" in md and f"${best['per_million_tokens']:.4g}" in md
    assert " on 1 GPU (1 instance in the cluster), " in md and "(s)" not in md     # counts worded, one singular
    svg = (out / "fleet.svg").read_text()
    html = (out / "fleet.html").read_text()
    assert "<strong>Rent 1 x" in html and "cost per million tokens vs p90 TPOT, by GPU type" in html   # the SVG inline
    # a point a GPU type (its clusters' picks are the same strategy at the same figures), and the legend's
    assert svg.count("<circle cx") == 2 * len({p.gpu for p, _ in items})
    # run again: every cluster is read back, none searched (a search would raise here)
    monkeypatch.setattr(fleet_run, "answer_cluster", _refuse)
    assert main(["fleet", str(path), "-o", str(out), "--format", "json"]) == 0
    resumed = capsys.readouterr()
    assert json.loads(resumed.out) == doc
    # the note says where the answers came from and that they were not searched again (docs/security.md)
    assert (f"note: {len(items)} of {len(items)} searches resumed from {out / 'fleet-results.jsonl'}: their answers "
            "are read back as that file holds them, not searched again (--fresh") in resumed.err
    # the terminal's best line gives the search that picks it on the plan as the user named it, pasteable
    assert main(["fleet", str(path), "-o", str(out)]) == 0
    said = capsys.readouterr().out.replace("\n", " ")
    assert f"(dagc search {shlex.quote(str(path))} --rate " in said
    goodput = format_figure(best["pick"]["load"]["goodput_requests_per_s"])
    assert f"per million tokens on its goodput of {goodput} requests/s, capacity {format_figure(capacity)} requests/s" \
        in said
    # --launch: the best cluster's pick started on its engine, its plan read with the best's --set options
    assert main(["fleet", str(path), "-o", str(out), "--quiet", "--launch"]) == 0
    printed = capsys.readouterr().out
    tp = best["pick"]["strategy"].split()[1]
    assert f"vllm serve Qwen/Qwen3-30B-A3B --tensor-parallel-size {tp} " in printed
    assert f"# dagc launch: fleet · strategy `{best['pick']['strategy']}`" in printed
    # a changed plan is another sweep: nothing is resumed
    path2 = write(tmp_path, SMALL.replace("requests = 20", "requests = 21"), "other.moe")
    with pytest.raises(AssertionError, match="searched"):
        main(["fleet", str(path2), "-o", str(out)])


def _refuse(plan, rate, top):
    raise AssertionError("searched")


def test_bad_input_exits_4_with_a_located_diagnostic(tmp_path, capsys):
    path = write(tmp_path, HEAD + 'fleet { gpu preset "h200"  gpus = [] }')
    assert main(["fleet", str(path), "-o", str(tmp_path / "out")]) == 4
    err = capsys.readouterr().err
    assert f"{path}:6:28: error[E104]" in err and "lists no value" in err


def test_the_answer_of_one_cluster_is_what_the_search_at_the_rate_gives(small):
    _, _, _, items, answers = small
    point, plan = items[0]
    again = answer_cluster(plan, 4.0, FLEET_ASK)
    assert again == answers[0][1] and again.pick is not None and again.instances == 1 // again.pick.gpus


def test_a_cluster_too_small_for_the_model_is_listed_as_missing_and_exits_1(tmp_path, capsys):
    # Qwen3-235B-A22B's bf16 weights (470 GB) fit on no single H100 (80 GB): no legal strategy
    path = write(tmp_path, HEAD.replace("qwen3-30b-a3b", "qwen3-235b-a22b")
                 + 'fleet { gpu preset "h100-sxm" { price = 2 $/h } }')
    assert main(["fleet", str(path), "-o", str(tmp_path / "out"), "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)["fleet"]
    assert doc["best"] is None and doc["meeting"] == 0
    assert doc["not_meeting"][0]["note"].startswith("no legal strategy on 1 GPU: ")


# ------------------------------------------------------------------ a cluster that cannot carry the rate

FEW = """model preset "qwen3-30b-a3b"
cluster { gpus = 1  gpu preset "h100-sxm" }
workload { batch = 64  prompt = 512  generate = 64  serving = inflight  rate = 60 requests/s  requests = 48 }
require { ttft_p99 <= 2 s  tpot_p90 <= 200 ms }
strategy tp 1
fleet {
  gpu preset "h100-sxm" { price = 2.5 $/h }
  gpus = [1, 4]
}
"""


def test_a_cluster_whose_capacity_is_below_the_rate_is_not_recommended_though_its_short_run_meets(tmp_path):
    # 48 requests for a batch of 64: the engine admits each as it arrives, no queue forms, and one H100 — whose
    # capacity is below the 60 requests/s arriving — meets every percentile target on that run
    path = write(tmp_path, FEW)
    plan, fleet = load_fleet(path)
    items = fleet_plans(path, fleet)
    answers = run_fleet(items, FLEET_ASK)
    one, four = (answer_json(a) for _, a in answers)
    row = one["pick"]
    assert row["strategy"].startswith("tp 1 ") and not row["load"]["overloaded"]
    # on the short run alone it was the cheapest: the ranking's old rule recommended it
    assert one["per_million_tokens"] < four["per_million_tokens"]
    # judged as `dagc check` judges it (its capacity bisected, `search --rate` before it concludes), it does not
    # carry the rate, though its run's percentiles hold …
    assert not row["meets_requirements"] and not row["load"]["carries_traffic"]
    assert not one["meets_requirements"]
    # the run arrives faster than the deployment serves (its steady state's ceiling): counted by what it completed,
    # its requests in flight by Little's law at 60 requests/s are more than its cap of 64 (it said "it keeps pace in
    # this 48-request run, but its capacity, …", counting every request as served at the rate they arrived)
    assert one["binding"].startswith("does not carry 60 requests/s: it needs ≈ ")
    assert "requests in flight at this rate (Little's law: the arrival rate × a request's time in flight), more " \
           "than its cap of 64" in one["binding"]
    # its capacity, bisected from a run that can queue (a capacity bisected beside the 48-request run takes that
    # run's verdict for every rate at or below 60/s, and would say 60)
    trial = items[0][1].model_copy(update={"workload": items[0][1].workload.model_copy(
        update={"traffic": items[0][1].workload.traffic.at_rate(60.0).model_copy(update={"requests": 2000})})})
    capacity = load_json(check_strategy(trial, parse_strategy(row["strategy"])).load)["capacity_requests_per_s"]
    assert 20 < capacity < 60
    # … so four H100s are recommended, their pick one that carries 60 requests/s
    result = rank_fleet(fleet, answers, plan.objective)
    assert result.best is not None and result.best.label == "h100-sxm, gpus 4"
    assert [r.label for r in result.ranked] == ["h100-sxm, gpus 4"]
    assert four["meets_requirements"] and four["carry_check_requests"] == 2000
    # its capacity as `dagc fleet` states it: the pick's own batch — replicas of a search's strategy run theirs
    # together (the same text at the plan's batch of 64 is another deployment, with half the requests in flight
    # on each instance: tests/test_fleet_pick_capacity.py)
    trial4 = items[1][1].model_copy(update={"workload": trial.workload})
    assert pick_capacity(trial4, four["pick"]["strategy"], judged_batch(four["pick"])) >= 60


def test_a_run_of_more_than_two_batches_is_judged_as_it_is(small):
    # the small fleet's 20 requests for a batch of 16 are judged again; a run of 33 would not be
    _, _, _, items, answers = small
    assert all(a.carry_check_requests == 2000 for _, a in answers)
    _, plan = items[0]
    longer = plan.model_copy(update={"workload": plan.workload.model_copy(
        update={"traffic": plan.workload.traffic.model_copy(update={"requests": 33})})})
    assert queues(longer) and not queues(plan) and not queues(longer, 17)


def test_an_output_directory_that_is_a_file_exits_5_before_any_search(tmp_path, capsys, monkeypatch):
    path = write(tmp_path, SMALL)
    (tmp_path / "taken").write_text("not a directory")
    monkeypatch.setattr(fleet_run, "answer_cluster", _refuse)
    assert main(["fleet", str(path), "-o", str(tmp_path / "taken")]) == 5
    err = capsys.readouterr().err.rsplit("\n\n", 1)[-1]      # after the plan's warnings (W521: 20 requests)
    assert err.startswith(f"error: cannot write {tmp_path / 'taken'}: ") and "cannot write to" not in err


def test_a_cluster_that_misses_says_with_what_figures(tmp_path, capsys):
    """Every cluster misses `ttft_p99 <= 1 ms`: each line under the table names the requirement missed and its
    best strategy's figures (report.json's `not_meeting[].pick.load`), not the requirement alone."""
    path = write(tmp_path, SMALL.replace("ttft_p99 <= 1 s", "ttft_p99 <= 1 ms"))
    assert main(["fleet", str(path), "-o", str(tmp_path / "out"), "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)["fleet"]
    assert doc["meeting"] == 0 and len(doc["not_meeting"]) == 2
    assert main(["fleet", str(path), "-o", str(tmp_path / "out")]) == 1
    text = " ".join(capsys.readouterr().out.split())
    for row in doc["not_meeting"]:
        pick = row["pick"]
        on = count_text(pick["gpus"], "GPU")
        assert f"misses ttft_p99 <= 1 ms — its best, `{pick['strategy']}` on {on}: p99 TTFT " in text, text


def test_runners_up_within_dagcs_error_of_the_best_are_named():
    """Costs 0.10, 0.12 and 0.20 $/Mtok with a band ratio of 1.5: 0.12 / 0.10 = 1.2 lies within it (their bands
    overlap), 0.20 / 0.10 = 2 does not; without a ratio none is named."""
    rows = [{"meets_requirements": True, "per_million_tokens": x, "gpu_hours_per_million_tokens": x / 3,
             "rent_per_hour": 20.0, "pick": {"score": 5.0}} for x in (0.12, 0.20, 0.10)]
    points = [FleetPoint(k, g, None, (), k, rate=4.0) for k, g in enumerate(("h100-sxm", "h200", "b200"))]
    fleet = Fleet((), (), 4.0, None)          # no GPU type read: no price, GPU-hours rank (the same order)
    result = ranked(fleet, list(zip(points, rows, strict=True)), "cost", 1.5)
    assert [r.label for r in result.ranked] == ["b200", "h100-sxm", "h200"]
    assert [r.label for r in result.within_error] == ["h100-sxm"]
    doc = fleet_json(result)
    assert doc["error_band_ratio"] == 1.5 and doc["within_error_of_best"] == ["h100-sxm"]
    assert fleet_json(ranked(fleet, list(zip(points, rows, strict=True)), "cost"))["within_error_of_best"] == []


def test_clusters_rank_by_what_renting_them_costs_a_token_every_gpu_charged():
    """The `batch = max` fleet of Qwen3-235B-A22B at 6 requests/s: 8 H200s ($3.49/h) whose pick uses 4 of them at
    $0.2585 per million tokens rent for $27.92/h; 8 H100s ($2.49/h) whose pick uses all 8 at $0.3689 rent for
    $19.92/h. Renting the H200s costs 0.2585 × 8 / 4 = $0.517 a million tokens: the H100s ($0.3689) rank first, and
    the H200s' figure on the GPUs its pick uses stays beside its rented one."""
    from dagc.export.fleet_out import fleet_md
    from dagc.fleet.rank import rented_cost
    from dagc.lang.fleet import FleetGpu

    def row(gpu: str, price: float, used: int, cost: float) -> dict:
        return {"meets_requirements": True, "per_million_tokens": cost, "gpu_hours_per_million_tokens": cost / price,
                "rent_per_hour": price * 8, "instances": 8 // used, "binding": None, "tokens_per_s": 15000.0,
                "cluster": {"gpu": gpu, "gpus": 8, "gpus_per_node": 8, "engine": "vllm@0.33.0"},
                "pick": {"score": 1.0, "strategy": "tp 2 ; ep 1 etp 4", "gpus": used,
                         "load": {"goodput_requests_per_s": 6.0, "ttft_s": {"p99": 0.2}, "tpot_s": {"p90": 0.03}}}}
    points = [FleetPoint(k, g, p, (("gpus", "8"),), k, rate=6.0)
              for k, (g, p) in enumerate((("h100-sxm", "2.49 $/h"), ("h200", "3.49 $/h")))]
    fleet = Fleet((FleetGpu("h100-sxm", "2.49 $/h", 2.49, None), FleetGpu("h200", "3.49 $/h", 3.49, None)), (),
                  6.0, None)
    rows = [row("h100-sxm", 2.49, 8, 0.3689), row("h200", 3.49, 4, 0.2585)]
    result = ranked(fleet, list(zip(points, rows, strict=True)), "tokens-per-gpu")
    assert [r.label for r in result.ranked] == ["h100-sxm, gpus 8", "h200, gpus 8"]
    assert [round(rented_cost(r), 4) for r in result.ranked] == [0.3689, 0.517]
    doc = fleet_json(result)
    assert doc["ranked"][1]["rented_per_million_tokens"] == pytest.approx(0.517)
    assert doc["ranked"][1]["per_million_tokens"] == 0.2585
    md = fleet_md(doc, "fleet.moe")
    assert "| \\$0.517 | \\$0.2585 | \\$27.92/h |" in md and "| \\$0.3689 | \\$0.3689 | \\$19.92/h |" in md


def test_a_larger_cluster_holding_the_best_s_own_pick_is_not_called_within_dagc_s_error():
    """4, 8 and 16 H200s at 4 requests/s all pick `tp 4 ; ep 4` on 4 GPUs at $0.5438 per million tokens: the 8
    and 16 hold the same pick with 2 and 4 instances, not a pick dagc cannot tell from the best — they are named
    as the same pick, with what they cost with every GPU they rent charged at this traffic ($1.088 and $2.175)."""
    def row(gpus: int) -> dict:
        return {"meets_requirements": True, "per_million_tokens": 0.5438, "gpu_hours_per_million_tokens": 0.1554,
                "rent_per_hour": 3.5 * gpus, "instances": gpus // 4,
                "cluster": {"gpu": "h200", "gpus": gpus, "gpus_per_node": 8, "engine": "vllm@0.33.0"},
                "pick": {"score": 5.0, "strategy": "tp 4 ; ep 4 with microbatches 1 overlap none", "gpus": 4}}
    from dagc.fleet.rank import rented_cost
    from dagc.lang.fleet import FleetGpu
    points = [FleetPoint(k, "h200", "3.5 $/h", (("gpus", str(n)),), k, rate=4.0) for k, n in enumerate((16, 4, 8))]
    fleet = Fleet((FleetGpu("h200", "3.5 $/h", 3.5, None),), (), 4.0, None)
    result = ranked(fleet, list(zip(points, [row(16), row(4), row(8)], strict=True)), "cost", 1.54)
    assert [r.answer.cluster.gpus for r in result.ranked] == [4, 8, 16]
    assert result.within_error == () and [r.answer.cluster.gpus for r in result.same_pick] == [8, 16]
    assert [round(rented_cost(r), 3) for r in result.same_pick] == [1.088, 2.175]
    doc = fleet_json(result)
    assert doc["within_error_of_best"] == [] and len(doc["same_pick_as_best"]) == 2
    # another GPU type's pick at a close cost (its 8 GPUs all in use: $0.6 rented) is still within the error
    other = {**row(8), "per_million_tokens": 0.6, "cluster": {**row(8)["cluster"], "gpu": "b200"},
             "pick": {**row(8)["pick"], "gpus": 8}}
    mixed = ranked(fleet, list(zip(points, [row(16), row(4), other], strict=True)), "cost", 1.54)
    assert [r.answer.cluster.gpu for r in mixed.within_error] == ["b200"]


def test_a_runner_up_s_own_pick_on_more_gpus_is_not_named_twice_within_the_error():
    """4 and 8 H100s hold the same pick, close to the best's cost on another GPU type: the 4 is within dagc's
    error of the best, the 8 — the 4's pick on more GPUs — is not named again."""
    def row(gpu: str, gpus: int, cost: float) -> dict:
        return {"meets_requirements": True, "per_million_tokens": cost, "gpu_hours_per_million_tokens": cost / 3,
                "rent_per_hour": 2.5 * gpus, "instances": gpus // 3,
                "cluster": {"gpu": gpu, "gpus": gpus, "gpus_per_node": 8, "engine": "vllm@0.33.0"},
                "pick": {"score": 5.0, "strategy": "tp 1 ; ep 3", "gpus": 3}}
    from dagc.lang.fleet import FleetGpu
    points = [FleetPoint(k, g, "2.5 $/h", (("gpus", str(n)),), k, rate=10.0)
              for k, (g, n) in enumerate((("h200", 4), ("h100-sxm", 4), ("h100-sxm", 8)))]
    fleet = Fleet((FleetGpu("h200", "2.5 $/h", 2.5, None), FleetGpu("h100-sxm", "2.5 $/h", 2.5, None)), (), 10.0, None)
    rows = [row("h200", 4, 0.10), row("h100-sxm", 4, 0.117), row("h100-sxm", 8, 0.117)]
    result = ranked(fleet, list(zip(points, rows, strict=True)), "cost", 1.54)
    assert [(r.answer.cluster.gpu, r.answer.cluster.gpus) for r in result.within_error] == [("h100-sxm", 4)]


def test_a_cluster_that_does_not_carry_the_rate_says_so_in_one_sentence():
    """A miss reads `misses ttft_p99 <= 2 s` for a requirement, but a pick that does not carry the rate says that
    sentence as it stands (not `misses does not carry …`); a failure or a note is said as it is."""
    from dagc.export.fleet_words import missed_text
    assert missed_text({"binding": "ttft_p99 <= 2 s"}) == "misses ttft_p99 <= 2 s"
    carry = "does not carry 10 requests/s: it needs ≈ 66 requests in flight at this rate"
    assert missed_text({"binding": carry}) == carry
    assert missed_text({"failed": "the worker died twice", "binding": "x"}) == "the worker died twice"
    assert missed_text({}) == "misses"


def test_a_pick_on_fewer_gpus_than_its_cluster_rents_says_what_all_of_them_cost():
    from dagc.export.fleet_words import rented_text
    row = {"cluster": {"gpus": 16}, "pick": {"gpus": 12}, "per_million_tokens": 0.8319,
           "gpu_hours_per_million_tokens": 0.2}
    # 0.8319 × 16 / 12 = 1.1092: what the traffic's tokens cost with the 4 idle GPUs paid for too — the figure the
    # fleet ranks by, said first; the pick's GPUs' beside it
    from dagc.fleet.rank import rented_cost
    assert rented_cost(row_of(row)) == pytest.approx(1.1092) and \
        rented_cost(row_of(row), "gpu_hours_per_million_tokens") == pytest.approx(0.2 * 16 / 12)
    assert rented_text(row, "money") == (" with all 16 GPUs it rents charged; $0.8319 on the 12 its pick uses (4 idle "
                                         "at this traffic)")
    assert rented_text(row, "gpu-hours") == (" with all 16 GPUs it rents charged; 0.2 GPU-h on the 12 its pick uses (4 "
                                             "idle at this traffic)")
    assert rented_text({**row, "cluster": {"gpus": 12}}, "money") == ""


def test_clusters_within_dagcs_error_are_told_apart_by_their_engine():
    """16 H200s served by vLLM and by SGLang, and 8 B200s by each, all within the band of the best's cost: the
    list names each with its engine (it read `16 x h200 (8 a node) ($0.6732), 16 x h200 (8 a node) ($0.6732)`),
    in the terminal and in fleet.md alike, and fleet.json's indices say which rows they are."""
    import io

    from rich.console import Console

    from dagc.cli.print_fleet import print_fleet
    from dagc.export.fleet_out import fleet_md
    from dagc.lang.fleet import FleetGpu

    def row(gpu: str, gpus: int, engine: str, cost: float) -> dict:
        return {"meets_requirements": True, "per_million_tokens": cost, "gpu_hours_per_million_tokens": cost / 3,
                "rent_per_hour": 3.5 * gpus, "instances": 1, "binding": None, "tokens_per_s": 1.0,
                "cluster": {"gpu": gpu, "gpus": gpus, "gpus_per_node": 8, "engine": engine},
                "pick": {"score": 5.0, "strategy": f"tp 8 ; ep 8 on {engine}", "gpus": gpus,    # all in use
                         "load": {"goodput_requests_per_s": 6.0, "ttft_s": {"p99": 0.5}, "tpot_s": {"p90": 0.03}}}}
    clusters = [("h100-sxm", 16, "sglang@0.5.23", 0.5764), ("h200", 16, "sglang@0.5.23", 0.6732),
                ("h200", 16, "vllm@0.33.0", 0.6732), ("b200", 8, "vllm@0.33.0", 0.6933),
                ("b200", 8, "sglang@0.5.23", 0.6933)]
    points = [FleetPoint(k, g, "3.5 $/h", (("gpus", str(n)), ("engine", e.split("@")[0])), k, rate=6.0)
              for k, (g, n, e, _) in enumerate(clusters)]
    fleet = Fleet(tuple(FleetGpu(g, "3.5 $/h", 3.5, None) for g in ("h100-sxm", "h200", "b200")), (), 6.0, None)
    result = ranked(fleet, [(p, row(*c)) for p, c in zip(points, clusters, strict=True)], "cost", 1.54)
    listed = ("16 x h200 (8 a node) on sglang@0.5.23 ($0.6732); 16 x h200 (8 a node) on vllm@0.33.0 ($0.6732); "
              "8 x b200 on vllm@0.33.0 ($0.6933); 8 x b200 on sglang@0.5.23 ($0.6933)")
    buf = io.StringIO()
    print_fleet(Console(file=buf, width=1000), result, 10)
    said = buf.getvalue()
    assert f"within dagc's error of the best ({CLOSE_WORDS}): {listed} — " in said
    assert "on its goodput of 6 requests/s" in said.split("best: ")[1].splitlines()[0]
    doc = fleet_json(result)
    assert doc["within_error_of_best_index"] == [1, 2, 3, 4] and len(doc["within_error_of_best"]) == 4
    md = fleet_md(doc, "fleet.moe")
    assert f"the pick could change within the bands: {listed.replace('$', chr(92) + '$')}." in md   # \$: no math
    assert "$0.5764 per million tokens on its goodput of 6 requests/s" in md


def test_clusters_within_dagcs_error_show_the_cost_the_table_ranks_by():
    """A runner-up whose pick uses 6 of its 8 H200s costs $0.3878 per million tokens on those 6 and
    $0.3878 × 8 / 6 = $0.5171 with all 8 it rents charged — the table's figure and the ranking's; the line of
    clusters within dagc's error said $0.3878."""
    row = {"cluster": {"gpu": "h200", "gpus": 8, "gpus_per_node": 8, "engine": "vllm@0.33.0"},
           "pick": {"gpus": 6}, "per_million_tokens": 0.3878, "gpu_hours_per_million_tokens": 0.3}
    assert close_text([row_json(row_of(row))], "money") == "8 x h200 on vllm@0.33.0 ($0.5171)"
    assert close_text([row_json(row_of(row))], "gpu-hours") == "8 x h200 on vllm@0.33.0 (0.4 GPU-h)"   # 0.3 × 8 / 6
    assert close_text([row_json(row_of({**row, "pick": {"gpus": 8}}))], "money") == "8 x h200 on vllm@0.33.0 ($0.3878)"


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """The small fleet's plan, its points and an output directory of its finished sweep."""
    d = tmp_path_factory.mktemp("finished")
    path = write(d, SMALL)
    assert main(["fleet", str(path), "-o", str(d / "out"), "--format", "json"]) == 0
    return path, fleet_plans(path, load_fleet(path)[1]), d / "out"


@pytest.mark.parametrize(("field", "value", "said"), [
    ("per_million_tokens", "x", "answer.per_million_tokens: Input should be a valid number"),
    ("pick", [1, 2], "answer.pick: Input should be a JSON object"),
    ("pick.gpus", 0, "answer.pick.gpus: Input should be greater than or equal to 1"),
    ("pick.load.tpot_s", None, "answer.pick.load.tpot_s: Input should be a JSON object"),
    ("meets_requirements", 1, "answer.meets_requirements: Input should be a valid boolean"),
    ("cluster.gpus", "8", "answer.cluster.gpus: Input should be a valid integer"),
    ("index", 3, "answer.index: Extra inputs are not permitted"),     # would overwrite the row's own index
    # a figure past 1e100 could make what the ranking computes infinite, which JSON cannot hold
    ("per_million_tokens", 1e300, "answer.per_million_tokens: Input should be at most 1e+100"),
    ("cluster.gpus", 2**30, "answer.cluster.gpus: Input should be at most 1,048,576"),
])
def test_a_stored_answer_not_of_dagcs_shape_is_searched_again_with_a_note(finished, tmp_path, capsys, monkeypatch,
                                                                          field, value, said):
    path, items, done = finished
    out = tmp_path / "out"
    shutil.copytree(done, out)
    doc = json.loads((out / "fleet.json").read_text())
    results = out / "fleet-results.jsonl"
    lines = results.read_text().splitlines()
    row = json.loads(lines[1])                   # the first cluster's answer, one field changed by hand
    *parents, last = ["answer", *field.split(".")]
    inner = row
    for part in parents:
        inner = inner[part]
    inner[last] = value
    results.write_text("\n".join([lines[0], json.dumps(row), *lines[2:]]) + "\n")
    searched = []

    def answer(plan, rate, top):
        searched.append(plan.cluster.gpu.name)
        return answer_cluster(plan, rate, top)

    monkeypatch.setattr(fleet_run, "answer_cluster", answer)
    assert main(["fleet", str(path), "-o", str(out), "--format", "json"]) == 0     # no traceback
    captured = capsys.readouterr()
    assert searched == [items[0][0].gpu]                  # that cluster searched again, the other resumed
    got = json.loads(captured.out)
    assert got == doc                # and its answer what it was
    assert f"the stored answer of {items[0][0].label} is not of the shape dagc writes ({said}); that cluster " \
           "is searched again" in " ".join(captured.err.split())
    # the file holds the answer searched again, as first written
    stored = [json.loads(line) for line in results.read_text().splitlines()[1:]]
    assert [r["answer"] for r in stored if r["key"] == items[0][0].key] == [json.loads(lines[1])["answer"]]


CALIBRATION = {"format": 1, "engine": "vllm", "release": "0.33.0", "gpu": "h100-sxm", "gpus": 1,
               "model": "qwen3-30b-a3b", "terms": {"step_s": 0.004, "frontend_s": 0.02},
               "runs": [{"id": "r0", "file": "r0.json", "tool": "vllm", "requests": 100, "prompt": 512, "generate": 64,
                         "rate": 4, "measured": {"ttft_ms": 50}, "dagc": {"ttft_ms": 50},
                         "cross_validated": {"ttft_ms": 50}}],
               "range": {"prompt": [512, 512], "generate": [64, 64], "rate": [4, 4]}, "residuals": {"ttft": [0.0]}}


def test_a_changed_file_the_plan_reads_is_searched_again_not_resumed(tmp_path, capsys, monkeypatch):
    cal = tmp_path / "calx.json"
    cal.write_text(json.dumps(CALIBRATION))
    fleet = 'fleet { gpu preset "h100-sxm" { price = 2.49 $/h } }\n'
    path = write(tmp_path, HEAD + 'calibration from "calx.json"\n' + fleet)
    assert load_plan(path).files == (str(cal.resolve()),)          # the lowering records what it read
    out = tmp_path / "out"
    assert main(["fleet", str(path), "-o", str(out), "-q"]) == 0
    capsys.readouterr()
    monkeypatch.setattr(fleet_run, "answer_cluster", _refuse)
    assert main(["fleet", str(path), "-o", str(out), "-q"]) == 0     # the same file: resumed, not searched
    # the plan's text is the same, its calibration's terms are not: another sweep
    cal.write_text(json.dumps({**CALIBRATION, "terms": {"step_s": 0.04, "frontend_s": 0.02}}))
    with pytest.raises(AssertionError, match="searched"):
        main(["fleet", str(path), "-o", str(out), "-q"])


def test_a_calibration_of_another_gpu_is_said_at_each_fleet_value_at_once(tmp_path, capsys):
    """A calibration fitted on H100s in a fleet of H100s, H200s and B200s: E109 at the fleet's `h200` and `b200`
    entries, both in one run (not at the calibration line, one GPU per run); the H100 clusters are not in error."""
    (tmp_path / "calx.json").write_text(json.dumps(CALIBRATION))
    fleet = ('fleet {\n  gpu preset "h100-sxm" { price = 2.5 $/h }\n  gpu preset "h200" { price = 3.5 $/h }\n'
             '  gpus = [1, 2]\n  gpu preset "b200" { price = 5 $/h }\n}\n')
    path = write(tmp_path, HEAD.replace('gpu preset "h100-sxm" }', 'gpu preset "h100-sxm"  engine = vllm }')
                 + 'calibration from "calx.json"\n' + fleet)
    assert main(["fleet", str(path), "-o", str(tmp_path / "out"), "-q"]) == 4     # the plan refused
    err = capsys.readouterr().err
    lines = path.read_text().splitlines()
    h200 = next(i for i, x in enumerate(lines) if '"h200"' in x) + 1
    b200 = next(i for i, x in enumerate(lines) if '"b200"' in x) + 1
    assert err.count("error[E109]") == 2, err
    assert f"fleet.moe:{h200}:3: error[E109]" in err and "its GPU is `h100-sxm`, the fleet's `h200`" in err
    assert f"fleet.moe:{b200}:3: error[E109]" in err and "the fleet's `b200`" in err
    assert "drop `h200` from the fleet" in err


def test_the_files_a_plan_reads_are_keyed_by_their_content():
    from dagc.fleet.results_file import signature
    assert signature("p", 10) != signature("p", 10, [("/d/log.csv", "0" * 64)])
    assert signature("p", 10, [("/d/log.csv", "0" * 64)]) != signature("p", 10, [("/d/log.csv", "1" * 64)])


def test_answers_of_another_dagc_are_not_resumed(monkeypatch):
    """dagc's version stays 0.1.0 between changes of its cost model: the sweep's signature holds the digest of its
    installed code and data instead, which changes with any of its files."""
    from dagc.fleet import results_file
    digest = results_file.code_digest()
    assert len(digest) == 64 and digest == results_file.code_digest()
    before = results_file.signature("p", 10)
    monkeypatch.setattr(results_file, "code_digest", lambda: "0" * 64)
    assert results_file.signature("p", 10) != before


def _mix_answer(gpus: int, strategy: str, used: int, tokens: int, tpot_s: float, meets: bool,
                goodput: float = 2.0) -> dict:
    """One mix's answer on `gpus` H100s at $2.49/h: its pick `strategy` on `used` GPUs serving `goodput` requests/s
    of `tokens` tokens each."""
    per_million = used * 2.49 / 3600 / (goodput * tokens) * 1e6
    load = {"goodput_requests_per_s": goodput, "ttft_s": {"p99": 0.0919}, "tpot_s": {"p90": tpot_s}}
    return {"cluster": {"gpu": "h100-sxm", "gpus": gpus, "gpus_per_node": 8, "engine": "vllm@0.33.0",
                        "price_per_gpu_hour": 2.49},
            "meets_requirements": meets, "pick": {"strategy": strategy, "gpus": used, "score": 1.0, "load": load},
            "instances": gpus // used, "per_million_tokens": per_million,
            "gpu_hours_per_million_tokens": per_million / 2.49, "rent_per_hour": 2.49 * gpus,
            "binding": "tpot_p90 <= 20 ms"}


def test_with_mixes_the_words_say_each_mixs_pick_its_gpus_and_the_figures_of_the_mix_it_misses():
    """gpt-oss-120b under a "chat" mix (weight 0.8, 1,000 + 500 tokens a request) and a "long" one (0.3, 8,000 +
    500): on 2 H100s chat picks `tp 1` on 1 GPU and long `tp 2` on both; on 1 H100 long misses with a p90 TPOT of
    34.09 ms where chat's is 18.21 ms. The best's line read `on 1 GPU … $0.1899 on the 1 its pick uses (1 idle)`, and
    the miss quoted chat's 18.21 ms."""
    from rich.console import Console

    from dagc.cli.print_fleet import print_fleet
    from dagc.lang.fleet import FleetGpu
    fleet = Fleet((FleetGpu("h100-sxm", "2.49 $/h", 2.49, None),), (), 2.0, None)

    def point(i, cluster, mix, weight):
        return FleetPoint(i, "h100-sxm", "2.49 $/h", (("gpus", str(cluster + 1)),), cluster, mix, weight, rate=2.0)
    answers = [(point(0, 0, "chat", 0.8), _mix_answer(1, "tp 1", 1, 1500, 0.01821, True)),
               (point(1, 0, "long", 0.3), _mix_answer(1, "tp 1", 1, 8500, 0.03409, False, 0.144)),
               (point(2, 1, "chat", 0.8), _mix_answer(2, "tp 1", 1, 1500, 0.01821, True)),
               (point(3, 1, "long", 0.3), _mix_answer(2, "tp 2", 2, 8500, 0.01380, True))]
    r = ranked(fleet, answers, "tokens-per-gpu")
    assert [x.index for x in r.ranked] == [1] and [x.index for x in r.missed] == [0]
    # by hand: chat on 1 GPU, 2 requests/s x 1,500 tokens = 3,000 tokens/s: 2.49 $/h x 1e6 / (3600 x 3000)
    # = $0.230556 a million tokens; long on 2 GPUs, 2 x 8,500 = 17,000 tokens/s: 2 x 2.49 x 1e6 / (3600 x 17000)
    # = $0.0813725. On the GPUs each pick uses: (0.8 x 0.230556 + 0.3 x 0.0813725) / 1.1 = $0.189869; every GPU of
    # the 2 charged, chat's pick leaving one idle: (0.8 x 0.230556 x 2/1 + 0.3 x 0.0813725 x 2/2) / 1.1 = $0.357546
    best = row_json(r.ranked[0])
    assert best["per_million_tokens"] == pytest.approx(0.189869, abs=1e-6)
    assert best["rented_per_million_tokens"] == pytest.approx(0.357546, abs=1e-6)
    console = Console(width=1000, record=True)
    print_fleet(console, r, 10)
    text = " ".join(console.export_text().split())
    assert ('best: 2 x h100-sxm, vllm@0.33.0: tp 1 on 1 GPU under mix "chat", tp 2 on 2 GPUs under mix "long", '
            "$0.3575 per million tokens on its goodput under each mix with all 2 GPUs it rents charged; $0.1899 on "
            'the GPUs each mix\'s pick uses (mix "chat": 1, 1 idle at its traffic; mix "long": 2) (dagc search PLAN '
            "--rate 2 --set cluster.gpu=h100-sxm") in text and 'gives mix "chat"\'s pick)' in text
    assert ('not meeting: h100-sxm, gpus 1: misses mix "long": tpot_p90 <= 20 ms — its best under mix "long", `tp 1` '
            "on 1 GPU: p99 TTFT 91.9 ms, p90 TPOT 34.09 ms, goodput 0.144 requests/s") in text
    md = fleet_md(fleet_json(r), "mix")
    assert ('`tp 1` on 1 GPU under mix "chat", `tp 2` on 2 GPUs under mix "long", \\$0.3575 per million tokens') in md
    # fleet.md's list of the clusters that miss says what the terminal says, figures and all (until 2026-11-30 the
    # requirement alone), escaped as every plan-borne text of fleet.md is (`md_text`, `md_prose`: no markup of it goes
    # live), its pick's strategy a code span as in the table (until 2026-11-30 its backticks were escaped)
    from dagc.export.md_escape import md_text
    why = ('misses mix "long": tpot_p90 <= 20 ms — its best under mix "long", `tp 1` on 1 GPU: p99 TTFT 91.9 ms, '
           "p90 TPOT 34.09 ms, goodput 0.144 requests/s")
    assert f"not meeting: h100-sxm, gpus 1: {why}" in text
    missed = ('misses mix "long": tpot\\_p90 \\<= 20 ms — its best under mix "long", `tp 1` on 1 GPU: p99 TTFT 91.9 '
              "ms, p90 TPOT 34.09 ms, goodput 0.144 requests/s")
    assert f"- {md_text('h100-sxm, gpus 1')}: {missed}" in md.splitlines(), md
    # the tables' strategy cell: the heaviest mix's pick (whose figures the row shows) and the other mix's
    assert '│ tp 1 (mix "chat"; tp 2 under mix "long") │' in text
    assert '| `tp 1` (mix "chat"; `tp 2` under mix "long") | 1 |' in md


def test_a_cluster_whose_engine_refuses_its_gpu_says_why():
    """TensorRT-LLM on MI300X: every strategy is left out, and the row says E728's reason as `dagc search` does,
    not `the search found none (dagc search says why)`."""
    from dagc.lang.load import load_plan_text
    plan = load_plan_text(HEAD.replace('gpu preset "h100-sxm"', 'gpu preset "mi300x"  engine = trtllm'))
    answer = answer_cluster(plan, 4.0, FLEET_ASK)
    assert answer.pick is None and not answer.meets_requirements
    assert answer.note == ("no legal strategy on 1 GPU: TensorRT-LLM runs on NVIDIA GPUs only; mi300x is an AMD "
                              "GPU (E728)")


def test_clusters_of_one_gpu_count_told_apart_by_the_field_swept():
    """A fleet sweeping `intra_node` on one GPU type: the rows' clusters name the value (they read alike before)."""
    fleet = Fleet((), (), 4.0, None)

    def point(i, value):
        return FleetPoint(i, "h100-sxm", "2.49 $/h", (("intra_node", value),), i, None, 1.0, rate=4.0)
    answers = [(point(0, "900 GB/s"), _mix_answer(1, "tp 1", 1, 1500, 0.02, True)),
               (point(1, "1.8 TB/s"), _mix_answer(1, "tp 1", 1, 1500, 0.02, True))]
    r = ranked(fleet, answers, "tokens-per-gpu")
    md = fleet_md(fleet_json(r), "intra")
    assert "| 1 x h100-sxm, intra\\_node 900 GB/s | vllm@0.33.0 |" in md
    assert "| 1 x h100-sxm, intra\\_node 1.8 TB/s | vllm@0.33.0 |" in md


def test_a_value_listed_twice_does_not_hide_the_other_values_errors(tmp_path):
    # `vllm` twice hid the E101 of `sglng`; the first of two mixes named "a" with an error hid that they share a name
    text = 'fleet { gpu preset "h200"  engine = [vllm, sglng, vllm] }'
    assert fleet_error(tmp_path, text) == [("E101", 6, text.index("sglng") + 1), ("E104", 6, text.rindex("vllm") + 1)]
    text = 'fleet { gpu preset "h200"  mix "a" { weight = -1 }  mix "a" { weight = 0.5 } }'
    assert fleet_error(tmp_path, text) == [("E104", 6, text.index("-1") + 1), ("E104", 6, text.rindex('"a"') + 1)]


def test_the_best_s_capacity_is_bisected_at_the_fleet_s_rate_where_the_workload_writes_none(tmp_path, capsys):
    """The fleet's `rate` alone gives the traffic: the best's capacity is its check's at that rate (`dagc check
    --strategy S --set workload.rate=…`, the search's own traffic), not left out. Until 2026-12-03 the pick was
    checked on the plan without traffic, and the best line had no capacity."""
    text = HEAD.replace("  rate = 4 requests/s  requests = 20", "").replace("require { ttft_p99 <= 1 s  tpot_p90 <= "
                                                                             "50 ms }", "require { ttft <= 1 s }")
    path = write(tmp_path, text + 'fleet {\n  gpu preset "h100-sxm" { price = 2.5 $/h }\n  rate = 4 requests/s\n}\n')
    assert main(["fleet", str(path), "-o", str(tmp_path / "out"), "--format", "json"]) == 0
    best = json.loads(capsys.readouterr().out)["fleet"]["best"]
    plan = load_plan(str(path))
    assert plan.workload.traffic is None
    own = check_strategy(plan_at_rate(plan, 4.0), parse_strategy(best["pick"]["strategy"]))
    assert own.load is not None and best["capacity_requests_per_s"] == own.load.capacity_requests_per_s > 4.0
