"""Expert parallelism over slots (SPEC 3.5, 6.2, 6.5; docs/cost-model.md "EP over slots"): an ep that
divides the routed experts plus the redundant slots but not the experts alone — DeepSeek-V3's EP72 and
EP144 with 32 redundant slots on H200 nodes, EP48 with 32 on a GB200 NVL72 rack, as EPLB deployments
run them — is laid out, costed and launched: slot arithmetic and placement by hand, memory per rank by
hand, the all-to-all's expected destinations by hand (at most ep, at most top-k), finite figures with
and without measured loads, `dagc search`, `dagc compile` and `dagc launch` without a traceback; and
the plans whose ep divides the experts keep their formulas."""

from __future__ import annotations

import json
import math

import pytest

from dagc.cli.main import main
from dagc.export.placement import placement_svg
from dagc.export.result_json import metrics_json
from dagc.ir.dag import OpKind, Phase
from dagc.lang.load import load_plan
from dagc.launch.engines import launch_result
from dagc.layout.eplb import ExpertSplit
from dagc.layout.routing import busiest_rank_factor, expected_distinct_nodes, expected_distinct_ranks, routing_slots
from dagc.verdict.check import check

EXPERTS, TOP_K, MOE_LAYERS, HIDDEN = 256, 8, 58, 7168     # DeepSeek-V3: 61 layers, the first 3 dense
EXPERT_BYTES = 3 * HIDDEN * 2048 * 1                      # one routed expert: gate, up, down of 7168 × 2048, fp8
PLAN = """model preset "deepseek-v3"
cluster {{ gpus = {gpus}  {node} gpu preset "{gpu}" }}
workload {{ batch = {batch}  prompt = 2048  generate = 256  {routing} }}
strategy tp 1 ; ep {ep}{redundant}
"""
H200_NODES = "gpus_per_node = 8"
# (name, gpus, node, gpu, ep, redundant, slots a GPU): the published shapes
SHAPES = [("ep72", 72, H200_NODES, "h200", 72, 32, 4),
          ("ep144", 144, H200_NODES, "h200", 144, 32, 2),
          ("ep48-gb200", 72, "", "gb200", 48, 32, 6)]


def _write(tmp_path, gpus, node, gpu, ep, redundant, measured=False, batch=288):
    routing = ""
    if measured:       # a skewed load: the first 16 experts of every layer hot
        (tmp_path / "load.json").write_text(json.dumps(
            {"layers": [[(90 if e < 16 else 10) + (e * 7 + layer) % 11 for e in range(EXPERTS)]
                        for layer in range(MOE_LAYERS)]}))
        routing = 'routing from "load.json"'
    path = tmp_path / "plan.moe"
    path.write_text(PLAN.format(gpus=gpus, node=node, gpu=gpu, batch=batch, routing=routing, ep=ep,
                                redundant=f" with redundant {redundant}" if redundant is not None else ""))
    return path


def _result(tmp_path, *shape, measured=False, batch=288):
    (r,) = check(load_plan(_write(tmp_path, *shape, measured=measured, batch=batch)))
    return r


def _ranks_hit_by_hand(ep: int, places: int) -> float:
    """ep·(1 − C(places − places/ep, k)/C(places, k)): the EP ranks holding one of a token's k picks."""
    return ep * (1 - math.comb(places - places // ep, TOP_K) / math.comb(places, TOP_K))


def _dispatch_ranks_hit(r) -> float:
    """Expected destinations per token of the first prefill dispatch: its bytes over tokens × hidden × 1 (fp8)."""
    tokens = next(n for n in r.dag.nodes() if n.kind is OpKind.EMBED and n.phase is Phase.PREFILL).template.tokens_total
    dispatch = next(n for n in r.dag.nodes() if n.kind is OpKind.ALL_TO_ALL_DISPATCH and n.phase is Phase.PREFILL)
    return dispatch.template.comm_bytes_total / (tokens * HIDDEN * 1)


# ---------------------------------------------------------------- slot arithmetic and placement

def test_routing_slots_are_the_experts_when_ep_divides_them_else_experts_and_redundant_slots():
    assert routing_slots(256, 32, 72) == routing_slots(256, 32, 144) == routing_slots(256, 32, 48) == 288
    assert routing_slots(256, 32, 32) == routing_slots(256, 0, 8) == 256


@pytest.mark.parametrize("name, gpus, node, gpu, ep, redundant, per_gpu", SHAPES)
def test_each_rank_holds_experts_plus_redundant_over_ep_slots_placed_contiguously(
        tmp_path, name, gpus, node, gpu, ep, redundant, per_gpu):
    lay = _result(tmp_path, gpus, node, gpu, ep, redundant).layout
    assert lay.experts_per_ep_rank == per_gpu == (EXPERTS + redundant) // ep
    assert [list(lay.slots_of(i)) for i in (0, ep - 1)] == [list(range(per_gpu)),
                                                            list(range(288 - per_gpu, 288))]
    # slot s holds expert s mod 256: every expert once, experts 0–31 twice (the redundant slots' copies)
    held = [e for i in range(ep) for e in lay.experts_of(i)]
    assert len(held) == 288 and sorted(set(held)) == list(range(EXPERTS))
    assert [held.count(e) for e in (0, 31, 32, 255)] == [2, 2, 1, 1]


def test_a_rank_straddling_the_last_expert_holds_its_tail_and_the_first_copies(tmp_path):
    lay = _result(tmp_path, 72, "", "gb200", 48, 32).layout
    assert lay.experts_of(42) == (252, 253, 254, 255, 0, 1)         # slots 252–257
    assert lay.experts_of(47) == (26, 27, 28, 29, 30, 31)           # slots 282–287: copies only
    (r,) = check(load_plan(_write(tmp_path, 72, "", "gb200", 48, 32)))
    svg = placement_svg(r)
    assert "252–255, 0–1 (+copies)" in svg and "experts 246–251<" in svg


# ---------------------------------------------------------------- costed: memory, all-to-all, figures

@pytest.mark.parametrize("measured", [False, True])
@pytest.mark.parametrize("name, gpus, node, gpu, ep, redundant, per_gpu", SHAPES)
def test_published_shapes_check_valid_with_finite_figures(tmp_path, name, gpus, node, gpu, ep, redundant,
                                                          per_gpu, measured):
    r = _result(tmp_path, gpus, node, gpu, ep, redundant, measured=measured)
    assert r.valid and r.dag is not None
    for key in ("ttft_s", "tpot_s"):
        assert math.isfinite(metrics_json(r.metrics)[key]) and 0 < metrics_json(r.metrics)[key] < 60
    worst = r.memory.worst
    assert math.isfinite(worst.activation_bytes) and worst.activation_bytes > 0
    # the slots by hand: slots a GPU × one expert's fp8 bytes × 58 MoE layers
    assert worst.routed_expert_bytes == per_gpu * EXPERT_BYTES * MOE_LAYERS
    assert worst.total_bytes < worst.capacity_bytes


def test_memory_per_rank_is_the_slots_plus_what_every_rank_holds_anyway(tmp_path):
    """tp 1: attention, shared experts, dense layers, routers, embedding and head are the same on every
    rank of EP8 (32 experts a GPU, ep divides them), EP72 + 32 (4 slots) and EP144 + 32 (2 slots): the
    weights differ by the slots alone."""
    rest = []
    for gpus, ep, redundant, slots in ((8, 8, None, 32), (72, 72, 32, 4), (144, 144, 32, 2)):
        worst = _result(tmp_path, gpus, H200_NODES, "h200", ep, redundant).memory.worst
        assert worst.routed_expert_bytes == slots * EXPERT_BYTES * MOE_LAYERS
        rest.append(worst.weights_bytes - worst.routed_expert_bytes)
    assert rest[0] > 0 and rest == [rest[0]] * 3
    # 4 − 2 slots × 44,040,192 bytes × 58 layers = 5,108,662,272 bytes between EP72 and EP144
    assert 2 * EXPERT_BYTES * MOE_LAYERS == 5_108_662_272


@pytest.mark.parametrize("gpus, node, gpu, ep", [(72, H200_NODES, "h200", 72), (144, H200_NODES, "h200", 144),
                                                 (72, "", "gb200", 48)])
def test_dispatch_reaches_the_expected_distinct_ranks_over_288_slots(tmp_path, gpus, node, gpu, ep):
    r = _result(tmp_path, gpus, node, gpu, ep, 32)
    hit = _dispatch_ranks_hit(r)
    assert hit == pytest.approx(_ranks_hit_by_hand(ep, 288), rel=1e-9)
    assert hit == pytest.approx(expected_distinct_ranks(TOP_K, 288, ep), rel=1e-12)
    assert min(TOP_K, ep) >= hit > 1
    dispatch = next(n for n in r.dag.nodes() if n.kind is OpKind.ALL_TO_ALL_DISPATCH)
    if gpu == "gb200":                     # the EP group inside one NVL72 domain: no network
        assert dispatch.template.network_bytes is None
    else:                                  # 8 EP ranks a node: the nodes a token reaches, at most top-k
        nodes = expected_distinct_nodes(TOP_K, 288, ep, 8)
        assert 1 < nodes <= min(TOP_K, ep // 8) and nodes < hit
        assert dispatch.template.network_bytes.sum() == pytest.approx(
            dispatch.template.comm_bytes_total * nodes / hit, rel=1e-9)


def test_ep72_by_hand_reaches_about_7_7_of_its_72_ranks():
    # 72·(1 − C(284, 8)/C(288, 8)) = 72·(1 − 280·279·278·277 / (288·287·286·285)) = 7.7114: four slots
    # a rank, eight picks — rarely two on one rank
    miss = 280 * 279 * 278 * 277 / (288 * 287 * 286 * 285)
    assert expected_distinct_ranks(TOP_K, 288, 72) == pytest.approx(72 * (1 - miss), rel=1e-12)
    assert 72 * (1 - miss) == pytest.approx(7.7114, abs=1e-4)


def test_the_busiest_rank_is_random_routing_over_the_slots(tmp_path):
    """With no loads measured the busiest of 72 ranks takes the expected maximum of 288 equally likely
    slots, four a rank: above the mean, finite, at most ep."""
    for tokens in (1, 64, 4096):
        x = busiest_rank_factor(None, tokens, TOP_K, ExpertSplit(EXPERTS, 72, 32))
        assert 1 < x < 72 and math.isfinite(x)


# ---------------------------------------------------------------- the divisible plans keep their formulas

@pytest.mark.parametrize("gpus, ep, redundant", [(32, 32, None), (32, 32, 32), (8, 8, None)])
def test_an_ep_that_divides_the_experts_routes_over_the_experts(tmp_path, gpus, ep, redundant):
    """ep 32 + 32 redundant (9 slots a GPU): the dispatch statistics stay over the 256 experts, as before
    slots were costed; only the memory holds the slots."""
    r = _result(tmp_path, gpus, H200_NODES, "h200", ep, redundant, batch=256)
    assert _dispatch_ranks_hit(r) == pytest.approx(_ranks_hit_by_hand(ep, EXPERTS), rel=1e-9)
    assert r.memory.worst.routed_expert_bytes == (EXPERTS + (redundant or 0)) // ep * EXPERT_BYTES * MOE_LAYERS
    per_gpu = (EXPERTS + (redundant or 0)) // ep
    assert r.layout.experts_of(1) == tuple(range(per_gpu, 2 * per_gpu))      # contiguous, as SPEC 3.5 places them


# ---------------------------------------------------------------- the commands, end to end

def test_search_compile_and_launch_run_such_plans(tmp_path, capsys):
    path = _write(tmp_path, 72, H200_NODES, "h200", 72, 32, measured=True)
    assert main(["check", str(path)]) == 0
    assert main(["search", str(path), "--top", "3", "--svg", str(tmp_path / "pareto.svg")]) == 0
    assert main(["compile", str(path), "-o", str(tmp_path / "out")]) == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["eplb"]["slots_per_gpu"] == 4
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    (r,) = check(load_plan(path))
    launches = {x.engine: x for x in launch_result(r)}
    for engine in ("vllm", "sglang", "trtllm"):
        x = launches[engine]
        assert x.ok, [d.message for d in x.refusals]
        assert any("288 expert slots" in n and "4 per EP rank" in n for n in x.notes)
    assert "num_slots: 288" in launches["trtllm"].files[0].text
