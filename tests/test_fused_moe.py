"""An engine's fused MoE layer in a kernel profile (`tables.fused_moe`): looked up by hand, priced instead of
dagc's own decomposition only at a measured shape, never across GPUs."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest

from dagc.cost.compute import kernel_time_s, priced_kernels
from dagc.diagnostics import PlanError
from dagc.ir.dag import KernelClass, OpKind
from dagc.kernels.kernels import load_profile_file
from dagc.kernels.profile import for_gpu
from dagc.lang.load import load_plan
from dagc.plan.cluster import FusedMoe
from dagc.plan.model import DType
from dagc.plan.presets import GPU_PRESETS
from dagc.verdict.check import check
from conftest import ROOT

# Mixtral-8x7b on one GPU: hidden 4096, ffn 14336, top 2 of 8 experts, tp 1, ep 1
SHAPE = dict(dtype="bf16", hidden=4096, inter=14336, topk=2, experts=8, tp=1, ep=1)
POINTS = [(1, 2e-4), (64, 8e-4), (4096, 3.2e-2)]


def profile_file(tmp_path, points=POINTS, **shape):
    doc = copy.deepcopy(json.loads((ROOT / "dagc" / "data" / "kernels" / "h100-sxm.json").read_text()))
    doc["name"] = "engine"
    doc["tables"]["fused_moe"] = [{**SHAPE, **shape, "tokens": n, "seconds": s} for n, s in points]
    path = tmp_path / "engine.json"
    path.write_text(json.dumps(doc))
    return path


def test_lookup_by_hand(tmp_path):
    p = load_profile_file(profile_file(tmp_path))
    bf16 = DType.BF16
    args = FusedMoe(bf16, 4096, 14336, 2, 8, 1, 1)
    assert p.fused_moe_covers(args) and not p.fused_moe_covers(FusedMoe(bf16, 4096, 14336, 2, 8, 1, 2))
    at = lambda n: float(p.fused_moe_s(n, args))                       # noqa: E731
    assert at(64) == pytest.approx(8e-4, rel=1e-12)
    # log-log between 1 and 64 tokens: 8 tokens is half-way in log, so the geometric mean
    assert at(8) == pytest.approx(math.sqrt(2e-4 * 8e-4), rel=1e-12)
    assert at(0.5) == pytest.approx(2e-4)                              # below the least measured: its time
    assert at(8192) == pytest.approx(3.2e-2 * 2, rel=1e-12)            # above: linear in the tokens
    assert np.all(np.diff(p.fused_moe_s(np.geomspace(1, 1e5, 50), args)) >= 0)


def test_a_measured_dip_is_made_monotone(tmp_path):
    # the monotone envelope: the least time at a count or any larger one (the kernel tables' rule)
    p = load_profile_file(profile_file(tmp_path, points=[(1, 3e-4), (2, 2e-4), (4, 5e-4)]))
    at = lambda n: float(p.fused_moe_s(n, FusedMoe(DType.BF16, 4096, 14336, 2, 8, 1, 1)))     # noqa: E731
    assert at(1) == pytest.approx(2e-4) and at(2) == pytest.approx(2e-4) and at(4) == pytest.approx(5e-4)


def test_a_fused_measurement_belongs_to_its_gpu(tmp_path):
    p = load_profile_file(profile_file(tmp_path))
    assert not for_gpu(p, GPU_PRESETS["a100-80g"]).fused_moe_covers(FusedMoe(DType.BF16, 4096, 14336, 2, 8, 1, 1))


@pytest.mark.parametrize("bad", [{"seconds": 0}, {"tokens": 0}, {"dtype": "int3"}, {"ep": -1}])
def test_a_bad_row_is_e105(tmp_path, bad):
    from dagc.diagnostics import PlanError
    path = profile_file(tmp_path)
    doc = json.loads(path.read_text())
    doc["tables"]["fused_moe"][0].update(bad)
    path.write_text(json.dumps(doc))
    with pytest.raises(PlanError) as exc:
        load_profile_file(path)
    assert exc.value.diagnostics[0].code == "E105" and "fused_moe[0]" in exc.value.diagnostics[0].message


def plan(tmp_path, kernels: str) -> list:
    path = tmp_path / "p.moe"
    path.write_text('model preset "mixtral-8x7b"\n'
                    f'cluster {{ gpus = 1  gpu preset "h100-sxm"  {kernels} }}\n'
                    "workload { batch = 8  prompt = 512  generate = 32 }\nstrategy tp 1\n")
    return check(load_plan(path))


def test_the_engine_kernel_prices_the_experts_only_at_a_measured_shape(tmp_path):
    profile_file(tmp_path)
    (engine,) = plan(tmp_path, 'kernels from "engine.json"')
    (builtin,) = plan(tmp_path, "")
    dag, prof = engine.compiled.dag, engine.plan.cluster.kernels
    experts = [t for t in dag.templates if t.kind is OpKind.EXPERT_FFN]
    assert experts and all(priced_kernels(t, prof)[0].cls is KernelClass.FUSED_MOE for t in experts)
    # the other ops are priced as the built-in profile prices them: only the experts differ
    assert engine.metrics.tpot_s != builtin.metrics.tpot_s
    costs = engine.compiled.costs
    decode = [i for i in range(len(dag)) if dag.template[i].kind is OpKind.EXPERT_FFN
              and dag.phase[i].value == "decode"]
    # a decode step of 8 requests: 8 tokens enter the experts, the table's 8-token time (log-log from 1 and 64)
    assert decode and all(costs.node_s[i] == pytest.approx(math.sqrt(2e-4 * 8e-4), rel=1e-9) for i in decode)
    # another shape (ep 2 rows only): the profile does not cover Mixtral at ep 1, dagc's kernels price it
    profile_file(tmp_path, ep=2)
    (other,) = plan(tmp_path, 'kernels from "engine.json"')
    assert other.metrics.tpot_s == pytest.approx(builtin.metrics.tpot_s, rel=1e-12)
    assert all(priced_kernels(t, other.plan.cluster.kernels) == t.kernels
               for t in other.compiled.dag.templates if t.kind is OpKind.EXPERT_FFN)


# ---------------------------------------------------------------- glue steps as an engine runs them

def glue_profile(tmp_path, glue):
    doc = copy.deepcopy(json.loads((ROOT / "dagc" / "data" / "kernels" / "h100-sxm.json").read_text()))
    doc["name"] = "engine-glue"
    doc["glue"] = glue
    path = tmp_path / "engine.json"
    path.write_text(json.dumps(doc))
    return path


def _kernels(result, kind, phase="decode"):
    dag, prof = result.compiled.dag, result.plan.cluster.kernels
    (tpl,) = {dag.template[i] for i in range(len(dag)) if dag.template[i].kind is kind
              and dag.phase[i].value == phase and dag.template[i].kernels}
    return tpl, {k.name: k for k in priced_kernels(tpl, prof)}


def test_a_fused_glue_step_is_priced_nothing_and_a_single_kernel_one_pass_at_a_copy(tmp_path):
    glue_profile(tmp_path, {"rope": 1, "kv_write": 0, "o_layout": 0, "residual_add": 0, "softmax_topk": 1})
    (engine,) = plan(tmp_path, 'kernels from "engine.json"')
    (builtin,) = plan(tmp_path, "")
    tpl, kernels = _kernels(engine, OpKind.ATTENTION)
    ref = {k.name: k for k in tpl.kernels}
    assert ref["rope"].launches == 26 and ref["kv_write"].launches == 2 and "o_layout" in ref
    assert "kv_write" not in kernels and "o_layout" not in kernels          # fused into a measured kernel
    rope = kernels["rope"]
    # one kernel reading and writing q and k once: 2 of the unfused 9 passes, priced as a copy
    assert rope.launches == 1 and rope.memory_op == "copy"
    assert np.allclose(rope.shape[0], ref["rope"].shape[0] * 2 / 9, rtol=1e-12)
    prof = engine.plan.cluster.kernels
    nbytes = float(np.asarray(rope.shape[0]).flat[0])
    assert float(np.asarray(kernel_time_s(rope, prof)).flat[0]) == pytest.approx(
        max(float(prof.memory_s(nbytes, "copy")), prof.floor_s), rel=1e-12)
    router = _kernels(engine, OpKind.ROUTER)[1]["softmax_topk"]
    assert router.memory_op == "copy" and router.launches == 1
    # the decode attention op: the decode kernel plus one rope pass, nothing else
    per_kernel = engine.compiled.costs.per_kernel[engine.compiled.dag.templates.index(tpl)]
    assert [k.name for k in priced_kernels(tpl, prof)] == ["rope", "decode_attention"] and len(per_kernel) == 2
    assert engine.metrics.tpot_s < builtin.metrics.tpot_s


def test_without_glue_the_reference_kernels_are_priced(tmp_path):
    glue_profile(tmp_path, {})
    (engine,) = plan(tmp_path, 'kernels from "engine.json"')
    (builtin,) = plan(tmp_path, "")
    tpl, kernels = _kernels(engine, OpKind.ATTENTION)
    assert priced_kernels(tpl, engine.plan.cluster.kernels) == tpl.kernels
    assert engine.metrics.tpot_s == pytest.approx(builtin.metrics.tpot_s, rel=1e-12)


def test_glue_is_how_the_engine_runs_it_on_any_gpu(tmp_path):
    p = load_profile_file(glue_profile(tmp_path, {"rope": 0}))
    assert p.glue == {"rope": 0} and for_gpu(p, GPU_PRESETS["a100-80g"]).glue == {"rope": 0}


@pytest.mark.parametrize("bad", [{"rope": -1}, {"rope": 65}, {"rope": 1.5}, {"softmax": 1}, {"rope": True}])
def test_a_bad_glue_entry_is_e105(tmp_path, bad):
    with pytest.raises(PlanError) as err:
        load_profile_file(glue_profile(tmp_path, bad))
    (d,) = err.value.diagnostics
    assert d.code == "E105" and "glue" in d.message


def test_the_glue_steps_are_kernels_dagc_emits_and_every_engine_says_how_it_runs_each(tmp_path):
    from dagc.kernels.format import GLUE_STEPS, ProfileFile
    from dagc.plan.engines import ENGINE_GLUE
    (result,) = plan(tmp_path, "")
    emitted = {k.name for t in result.compiled.dag.templates for k in t.kernels}
    assert set(GLUE_STEPS) <= emitted
    assert tuple(ProfileFile.model_fields["glue"].annotation.__args__[0].model_fields) == GLUE_STEPS
    assert all(tuple(g) == GLUE_STEPS for name, g in ENGINE_GLUE.items() if name != "pytorch")
    assert ENGINE_GLUE["pytorch"] == {}                     # the plain reference runs dagc's own glue


def test_a_blackwell_gpus_own_engine_profile_keeps_its_fused_measurements(tmp_path):
    b200 = GPU_PRESETS["b200"]
    path = profile_file(tmp_path)
    doc = json.loads(path.read_text())
    doc["peaks"] = {"bf16_flops_per_s": b200.flops_16bit, "fp8_flops_per_s": b200.flops_8bit,
                    "hbm_bytes_per_s": b200.hbm_bytes_per_s}
    path.write_text(json.dumps(doc))
    on_b200 = for_gpu(load_profile_file(path), b200)          # a file without an fp4 peak: told by the others
    assert b200.flops_4bit and on_b200.fp4_flops_per_s == b200.flops_4bit    # the fp4 peak is the GPU's
    assert on_b200.name == "engine" and on_b200.fused_moe_covers(FusedMoe(DType.BF16, 4096, 14336, 2, 8, 1, 1))
    # with its fp4 peak (as `dagc kernels import` writes it) it is the B200's alone, not the B300's
    doc["peaks"]["fp4_flops_per_s"] = b200.flops_4bit
    path.write_text(json.dumps(doc))
    own = load_profile_file(path)
    assert for_gpu(own, b200) is own and own.fused_moe_covers(FusedMoe(DType.BF16, 4096, 14336, 2, 8, 1, 1))
    assert not for_gpu(own, GPU_PRESETS["b300"]).fused_moe_covers(FusedMoe(DType.BF16, 4096, 14336, 2, 8, 1, 1))


# ---------------------------------------------------------------- an engine's measured all-reduce

def test_a_nodes_tp_all_reduce_is_priced_from_the_measured_table_and_a_plan_bandwidth_keeps_the_formula(tmp_path):
    from dagc.cost.comm import collective_time_s
    doc = json.loads((ROOT / "dagc" / "data" / "kernels" / "h100-sxm.json").read_text())
    doc["tables"]["all_reduce"] = [{"gpus": 8, "bytes": b, "seconds": s} for b, s in ((1e3, 4e-6), (1e6, 2e-5))]
    (tmp_path / "engine.json").write_text(json.dumps(doc))

    def all_reduces(extra: str):
        path = tmp_path / "p.moe"
        path.write_text('model preset "mixtral-8x7b"\n'
                        f'cluster {{ gpus = 8  gpu preset "h100-sxm"  kernels from "engine.json" {extra} }}\n'
                        "workload { batch = 8  prompt = 512  generate = 32 }\nstrategy tp 8\n")
        (r,) = check(load_plan(path))
        dag = r.compiled.dag
        return [(dag.template[i], r.compiled.costs.node_s[i]) for i in range(len(dag))
                if dag.template[i].kind is OpKind.ALL_REDUCE]
    measured = all_reduces("")
    assert measured
    for tpl, seconds in measured:
        m = float(np.max(tpl.comm_bytes))
        # log-log between the two points, or linear in the bytes above the larger one
        want = 2e-5 * m / 1e6 if m > 1e6 else math.exp(np.interp(math.log(m), [math.log(1e3), math.log(1e6)],
                                                                  [math.log(4e-6), math.log(2e-5)]))
        assert seconds == pytest.approx(want, rel=1e-9)
    # the plan's own NVLink figure is not what was measured: the alpha-beta formula
    for tpl, seconds in all_reduces("intra_node = 900 GB/s"):
        m = float(np.max(tpl.comm_bytes))
        assert seconds == pytest.approx(collective_time_s(OpKind.ALL_REDUCE, 8, m, 900e9 * 0.8, 10e-6), rel=1e-9)
