"""Measured expert loads (`routing from "…"`) and EPLB (`with redundant R`), SPEC 12: the file read and
refused with located diagnostics, placements and factors worked by hand, the factor reaching the cost
model, the slots reaching memory, the rules and the report."""

from __future__ import annotations

import json
import os

import pytest

from dagc.export.report import report_json
from dagc.export.result_json import metrics_json
from dagc.lang.load import PlanError, load_plan
from dagc.layout.eplb import ExpertSplit, contiguous_factor, measured_factor, place
from dagc.layout.routing import busiest_rank_factor
from dagc.plan.workload import ExpertLoad
from dagc.verdict.check import check

# Mixtral-8x7b: 32 MoE layers of 8 experts; expert 0 hot
HOT = [40, 1, 1, 1, 1, 1, 1, 1]
PLAN = ('model preset "mixtral-8x7b"\ncluster {{ gpus = 4  gpu preset "h100-sxm" }}\n'
        'workload {{ batch = 8  prompt = 2048  generate = 64  {routing} }}\n{strategies}\n')
EXPERT_BYTES = 3 * 4096 * 14336 * 2          # one Mixtral expert: gate, up and down, bf16


def write(tmp_path, routing: str = 'routing from "load.json"', strategies: str = "strategy tp 4 ; ep 4",
          layers=None, raw: str | None = None):
    (tmp_path / "load.json").write_text(raw if raw is not None else json.dumps({"layers": layers or [HOT] * 32}))
    path = tmp_path / "plan.moe"
    path.write_text(PLAN.format(routing=routing, strategies=strategies))
    return path


def results(tmp_path, **kw):
    return check(load_plan(write(tmp_path, **kw)))


# ---------------------------------------------------------------- placements by hand

def test_eplb_places_the_hot_expert_in_five_copies_worked_by_hand():
    """12 slots on 4 ranks (8 experts + 4 redundant, 3 a rank). Replicate: expert 0's 40 tokens have the
    most per copy each time — 40, 20, 13.3, 10 — so all four slots copy it: 5 copies of 8. Pack heaviest
    first to the least loaded rank with room: the 8s go to ranks 0–3, the fifth to rank 0 (all 8, the
    first); the seven 1s to ranks 1, 2, 3, 1, 2, 3 (filling them) and the last to rank 0, the only one
    with room: 17, 10, 10, 10 tokens, the busiest 17 / 11.75 of the mean. Contiguously rank 0 holds
    experts 0 and 1: 41 / 11.75."""
    assert place(HOT, ep=4, redundant=4).loads == (17.0, 10.0, 10.0, 10.0)
    load = ExpertLoad(file="l.json", layers=(tuple(HOT),) * 2, digest="hot")
    assert measured_factor(load, 4, 4, 1) == pytest.approx(17 / 11.75, rel=1e-15)
    assert measured_factor(load, 4, 0, 1, eplb=False) == contiguous_factor(HOT, 4) == pytest.approx(41 / 11.75)


def test_the_cost_model_takes_the_larger_of_the_measured_and_the_random_factor():
    load = ExpertLoad(file="l.json", layers=((1,) * 8,), digest="flat")
    # a flat measured load: the random assignment's expected maximum, as `routing = random`
    even, eplb = ExpertSplit(8, 4), ExpertSplit(8, 4, redundant=4, eplb=True)
    for tokens in (1, 16, 4096):
        assert busiest_rank_factor(load, tokens, 2, even) == busiest_rank_factor(None, tokens, 2, even)
    hot = ExpertLoad(file="l.json", layers=(tuple(HOT),), digest="hot1")
    assert busiest_rank_factor(hot, 4096, 2, even) == pytest.approx(41 / 11.75)
    assert busiest_rank_factor(hot, 4096, 2, eplb) == pytest.approx(17 / 11.75)
    assert busiest_rank_factor(hot, 1, 2, eplb) == busiest_rank_factor(None, 1, 2, even)


# ---------------------------------------------------------------- through the compiler

def test_measured_contiguous_loads_cost_as_the_imbalance_they_measure(tmp_path):
    """Without EPLB, loads whose contiguous busiest rank is 41/11.75 of the mean give the figures of
    `routing = imbalance 41/11.75` (at these token counts the measured skew exceeds random routing's)."""
    (measured,) = results(tmp_path)
    (written,) = results(tmp_path, routing=f"routing = imbalance {41 / 11.75!r}")
    for key in ("ttft_s", "tpot_s"):
        assert metrics_json(measured.metrics)[key] == pytest.approx(metrics_json(written.metrics)[key], rel=1e-12)
    assert measured.memory.worst.activation_bytes == pytest.approx(written.memory.worst.activation_bytes)


def test_eplb_shortens_the_prefill_and_costs_a_third_more_expert_memory(tmp_path):
    plain, balanced = results(tmp_path, strategies="strategy tp 4 ; ep 4\nstrategy tp 4 ; ep 4 with redundant 4")
    assert balanced.metrics.ttft_s < 0.8 * plain.metrics.ttft_s
    # 32 layers × 2 experts a GPU, and × 3 slots with EPLB, each a whole expert
    assert plain.memory.worst.routed_expert_bytes == 32 * 2 * EXPERT_BYTES
    assert balanced.memory.worst.routed_expert_bytes == 32 * 3 * EXPERT_BYTES
    assert balanced.layout.experts_per_ep_rank == 3
    eplb = report_json(balanced)["eplb"]
    assert eplb["busiest_factor"] == pytest.approx(17 / 11.75) and eplb["slots_per_gpu"] == 3
    assert eplb["busiest_factor_contiguous"] == pytest.approx(41 / 11.75) and eplb["eplb"] is True
    assert report_json(plain)["eplb"]["busiest_factor"] == pytest.approx(41 / 11.75)
    assert report_json(plain)["assumptions"]["routing"] == "measured"


def test_different_loads_never_share_the_timers_tables(tmp_path):
    (hot,) = results(tmp_path)
    (flat,) = results(tmp_path, layers=[[5] * 8] * 32)
    assert flat.metrics.ttft_s < hot.metrics.ttft_s


def test_eplb_without_loads_costs_memory_and_weight_reads_and_says_so(tmp_path):
    plain, spare = results(tmp_path, routing="",
                           strategies="strategy tp 4 ; ep 4\nstrategy tp 4 ; ep 4 with redundant 4")
    assert spare.metrics.tpot_s >= plain.metrics.tpot_s
    assert spare.memory.worst.routed_expert_bytes == 1.5 * plain.memory.worst.routed_expert_bytes
    (w516,) = [d for d in spare.diagnostics if d.code == "W516"]
    assert "routing = random" in w516.message and w516.span.text == "redundant 4"
    assert not any(d.code == "W516" for d in plain.diagnostics)
    assert report_json(spare)["eplb"]["busiest_factor"] is None


@pytest.mark.parametrize("redundant, nearest", [(3, 4), (5, 4), (6, 8), (2, 4)])
def test_slots_that_do_not_split_name_the_nearest_redundant_count(tmp_path, redundant, nearest):
    (r,) = results(tmp_path, strategies=f"strategy tp 4 ; ep 4 with redundant {redundant}")
    (e301,) = [d for d in r.diagnostics if d.code == "E301"]
    assert e301.span.text == f"redundant {redundant}" and f"nearest redundant count that does is {nearest}" in e301.hint


def test_redundant_slots_on_a_dense_model_are_an_error(tmp_path):
    path = tmp_path / "plan.moe"
    path.write_text('model "d" { layers = 4  hidden = 512  heads = 8  vocab = 1000  ffn = 2048 }\n'
                    'cluster { gpus = 1  gpu preset "h100-sxm" }\nworkload { batch = 1  prompt = 8  generate = 8 }\n'
                    "strategy tp 1 with redundant 2\n")
    (r,) = check(load_plan(path))
    assert [d.code for d in r.diagnostics if d.is_error] == ["E304"]


@pytest.mark.parametrize("option", ["redundant -1", "redundant 1.5", "redundant 99999999", "redundant lots"])
def test_a_bad_redundant_count_is_located(tmp_path, option):
    # a bad option value refuses the plan, as a bad field value does (nothing is checked)
    with pytest.raises(PlanError) as exc:
        results(tmp_path, routing="", strategies=f"strategy tp 4 ; ep 4 with {option}")
    d = exc.value.diagnostics[0]
    assert d.code in ("E104", "E001") and d.span is not None and d.span.text.startswith("redundant")


# ---------------------------------------------------------------- the file refused, located

@pytest.mark.parametrize("raw, said", [
    ("not json", "not valid JSON"),
    ("[1, 2]", 'no "layers" list'),
    ('{"layers": []}', 'no "layers" list'),
    ('{"layers": [[1, 2, 3, 4, 5, 6, 7, 8], [1, 2]]}', "MoE layer 1 (counting from 0) has 2 counts, layer 0 has 8"),
    ('{"layers": [[1, 2, 3, 4, 5, 6, 7, -8]]}', "expert 7: a count must be from 0"),
    ('{"layers": [[1, 2, 3, 4, 5, 6, 7, NaN]]}', "expert 7: a count must be from 0"),
    ('{"layers": [[1, 2, 3, 4, 5, 6, 7, true]]}', "expert 7: not a number"),
    ('{"layers": [[1, 2, 3, 4, 5, 6, 7, "8"]]}', "expert 7: not a number"),
    ('{"layers": [[1, 2, 3, 4, 5, 6, 7, 1' + "0" * 40 + "]]}", "expert 7: a count must be from 0"),
    ('{"layers": [5]}', "MoE layer 0 (counting from 0) is not a list"),
    ('{"layers": [[0, 0, 0, 0, 0, 0, 0, 0]]}', "routes no token"),
    ('{"layers": [[1, 2, 3, 4, 5, 6, 7, 8]]}', "has 1 layer of loads; the model has 32 MoE layers"),
    ('{"layers": [' + ", ".join(["[1, 2, 3]"] * 32) + "]}", "has 3 experts per layer; the model routes to 8"),
    ('{"layers": [' + "[" * 100_000 + "]" * 100_000 + "]}", "not valid JSON"),
])
def test_a_file_that_cannot_be_used_is_e106_at_its_name(tmp_path, raw, said):
    with pytest.raises(PlanError) as exc:
        load_plan(write(tmp_path, raw=raw))
    (d,) = exc.value.diagnostics
    assert d.code == "E106" and said in d.message and d.span.text == '"load.json"' and d.span.line == 3
    assert "40" not in d.message or "0 to" in d.message        # the counts are never echoed


def test_a_missing_or_oversized_or_special_file_is_e106(tmp_path):
    write(tmp_path)
    plan = tmp_path / "plan.moe"
    plan.write_text(plan.read_text().replace("load.json", "gone.json"))
    with pytest.raises(PlanError) as exc:
        load_plan(plan)
    assert exc.value.diagnostics[0].code == "E106" and "does not exist" in exc.value.diagnostics[0].message
    (tmp_path / "gone.json").write_text(" " * (1024 * 1024 + 1))
    with pytest.raises(PlanError) as exc:
        load_plan(plan)
    assert exc.value.diagnostics[0].code == "E106" and "larger than" in exc.value.diagnostics[0].message
    (tmp_path / "gone.json").unlink()
    os.mkfifo(tmp_path / "gone.json")
    with pytest.raises(PlanError) as exc:
        load_plan(plan)
    assert exc.value.diagnostics[0].code == "E106"


def test_routing_given_twice_is_refused(tmp_path):
    with pytest.raises(PlanError) as exc:
        load_plan(write(tmp_path, routing='routing = uniform  routing from "load.json"'))
    assert [d.code for d in exc.value.diagnostics] == ["E104"]


def test_a_plan_on_a_dense_model_cannot_take_loads(tmp_path):
    path = write(tmp_path)
    dense = 'model "d" { layers = 32  hidden = 512  heads = 8  vocab = 1000  ffn = 2048 }'
    path.write_text(path.read_text().replace('model preset "mixtral-8x7b"', dense))
    with pytest.raises(PlanError) as exc:
        load_plan(path)
    assert exc.value.diagnostics[0].code == "E106" and "no routed experts" in exc.value.diagnostics[0].message
