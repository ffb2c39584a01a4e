"""`tp N ; ep N` over nodes: dagc prices the experts inside the TP group (no all-to-all, SPEC 6.5), so
its N603 note, its DAG and every engine's command describe that one deployment (docs/launch.md)."""

from __future__ import annotations

from dagc.diagnostics import render
from dagc.ir.dag import OpKind
from dagc.lang.load import load_plan_text
from dagc.launch.engines import launch_result
from dagc.verdict.check import check
from conftest import plan_text

DSV3 = 'model preset "deepseek-v3"'
C16 = 'cluster { gpus = 16  gpus_per_node = 8  gpu preset "h200" }'
A2A = {OpKind.ALL_TO_ALL_DISPATCH, OpKind.ALL_TO_ALL_COMBINE}


def _checked(strategy: str):
    (result,) = check(load_plan_text(plan_text(model=DSV3, cluster=C16, strategy=f"strategy {strategy}")))
    assert result.valid, [render(d) for d in result.diagnostics if d.is_error]
    return result


def _argv(result, engine: str) -> tuple[str, ...]:
    (x,) = [x for x in launch_result(result) if x.engine == engine]
    assert not x.refusals, [render(d) for d in x.refusals]
    return tuple(a for c in x.commands for a in c.argv)


def test_tp_ep_over_nodes_is_priced_noted_and_launched_without_an_all_to_all():
    r = _checked("tp 16 ; ep 16")
    assert not A2A & set(r.dag.kind)
    (note,) = [d.message for d in r.diagnostics if d.code == "N603"]
    assert note == ("every EP group of 16 GPUs spans nodes of 8 GPUs: its experts run inside the tp 16 group "
                    "without an all-to-all, and the TP all-reduce that sums their outputs uses the inter-node network")
    sglang = _argv(r, "sglang")
    assert "--ep-size" in sglang and "--moe-a2a-backend" not in sglang
    vllm = _argv(r, "vllm")
    assert "--enable-expert-parallel" in vllm and "--all2all-backend" not in vllm


def test_attention_dp_over_nodes_keeps_its_all_to_all():
    r = _checked("tp 1 ; ep 16")
    assert A2A <= set(r.dag.kind)
    (note,) = [d.message for d in r.diagnostics if d.code == "N603"]
    assert note == "every EP group of 16 GPUs spans nodes of 8 GPUs: its all-to-all uses the inter-node network"
    sglang = _argv(r, "sglang")
    assert sglang[sglang.index("--moe-a2a-backend") + 1] == "deepep"
    vllm = _argv(r, "vllm")
    assert vllm[vllm.index("--all2all-backend") + 1] == "deepep_low_latency"


def test_sglang_refuses_two_batch_overlap_with_experts_inside_tp():
    r = _checked("tp 8 ; ep 8 with overlap microbatch")
    (x,) = [x for x in launch_result(r) if x.engine == "sglang"]
    assert [d.code for d in x.refusals] == ["E715"]
    assert "dagc prices without an all-to-all" in x.refusals[0].message
