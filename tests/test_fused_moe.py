"""An engine's fused MoE layer in a kernel profile (`tables.fused_moe`): looked up by hand, priced instead of
dagc's own decomposition only at a measured shape, never across GPUs."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest

from dagc.cost.compute import priced_kernels
from dagc.ir.dag import KernelClass, OpKind
from dagc.kernels.kernels import load_profile_file
from dagc.kernels.profile import for_gpu
from dagc.lang.load import load_plan
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
    args = (bf16, 4096, 14336, 2, 8, 1, 1)
    assert p.fused_moe_covers(*args) and not p.fused_moe_covers(bf16, 4096, 14336, 2, 8, 1, 2)
    at = lambda n: float(p.fused_moe_s(n, *args))                       # noqa: E731
    assert at(64) == pytest.approx(8e-4, rel=1e-12)
    # log-log between 1 and 64 tokens: 8 tokens is half-way in log, so the geometric mean
    assert at(8) == pytest.approx(math.sqrt(2e-4 * 8e-4), rel=1e-12)
    assert at(0.5) == pytest.approx(2e-4)                              # below the least measured: its time
    assert at(8192) == pytest.approx(3.2e-2 * 2, rel=1e-12)            # above: linear in the tokens
    assert np.all(np.diff(p.fused_moe_s(np.geomspace(1, 1e5, 50), *args)) >= 0)


def test_a_measured_dip_is_made_monotone(tmp_path):
    p = load_profile_file(profile_file(tmp_path, points=[(1, 3e-4), (2, 2e-4), (4, 5e-4)]))
    assert float(p.fused_moe_s(2, DType.BF16, 4096, 14336, 2, 8, 1, 1)) == pytest.approx(3e-4)


def test_a_fused_measurement_belongs_to_its_gpu(tmp_path):
    p = load_profile_file(profile_file(tmp_path))
    assert not for_gpu(p, GPU_PRESETS["a100-80g"]).fused_moe_covers(DType.BF16, 4096, 14336, 2, 8, 1, 1)


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
    assert engine.metrics["tpot_s"] != builtin.metrics["tpot_s"]
    costs = engine.compiled.costs
    decode = [i for i in range(len(dag)) if dag.template[i].kind is OpKind.EXPERT_FFN
              and dag.phase[i].value == "decode"]
    # a decode step of 8 requests: 8 tokens enter the experts, the table's 8-token time (log-log from 1 and 64)
    assert decode and all(costs.node_s[i] == pytest.approx(math.sqrt(2e-4 * 8e-4), rel=1e-9) for i in decode)
    # another shape (ep 2 rows only): the profile does not cover Mixtral at ep 1, dagc's kernels price it
    profile_file(tmp_path, ep=2)
    (other,) = plan(tmp_path, 'kernels from "engine.json"')
    assert other.metrics["tpot_s"] == pytest.approx(builtin.metrics["tpot_s"], rel=1e-12)
    assert all(priced_kernels(t, other.plan.cluster.kernels) == t.kernels
               for t in other.compiled.dag.templates if t.kind is OpKind.EXPERT_FFN)
