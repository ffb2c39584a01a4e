"""An op's price made directly where it carries the engine's host time (`dagc.cost.op_price.OpPrice.carrying`, in
place of `dataclasses.replace`, which the load simulation's exact step prices called thousands of times): an
embedding's price carries its step's requests, a QKV projection's the engine's time per layer — seconds worked out
by hand — and the catalogue's embedding is made with its requests (`Shapes.compute`)."""

from __future__ import annotations

import dataclasses

import numpy as np

from dagc.cost.cost_model import CostModel
from dagc.cost.op_price import OpPrice, op_price
from dagc.ir.dag import Phase, StagePass
from dagc.ir.ops import Op, OpShapes
from dagc.lang.load import load_plan_text
from dagc.plan.cluster import Cluster
from dagc.plan.model import DType
from dagc.plan.presets import GPU_PRESETS
from dagc.verdict.check import check


def _cm() -> CostModel:
    cm = CostModel.from_cluster(Cluster(gpus=8, gpu=GPU_PRESETS["h100-sxm"], intra_node_bytes_per_s=450e9))
    return dataclasses.replace(cm, step_s=1e-3, step_request_s=50e-6, layer_s=30e-6)


def test_an_embeddings_price_carries_its_steps_requests():
    price = OpPrice(alike=((2e-3, 0.5, 0),), totals=(0.0, 1e9, DType.BF16), embed=True)
    carried = price.carrying(4.0, False)
    # 2 ms at an efficiency of 0.5 is 4 ms; a step of 4 requests adds 1 ms + 4 × 50 µs = 1.2 ms of host time
    assert carried.requests == 4.0 and not carried.layer
    assert round(carried.seconds(_cm()), 12) == 5.2e-3
    assert price.requests == 0.0                   # the price carried from is left as it was


def test_a_projections_price_carries_the_time_per_layer():
    price = OpPrice(alike=((2e-3, 0.5, 0), (1e-3, 1.0, 0)), totals=(1e12, 0.0, DType.BF16))
    # 4 ms + 1 ms of kernels and 30 µs for the layer
    assert round(price.carrying(0.0, True).seconds(_cm()), 12) == 5.03e-3
    assert round(price.seconds(_cm()), 12) == 5e-3


def test_the_catalogues_embedding_carries_the_requests_one_engine_process_schedules():
    plan = load_plan_text('model preset "qwen3-30b-a3b" cluster { gpus = 4 gpu preset "h200" } '
                          "workload { batch = 8 prompt = 700 generate = 60 serving = inflight } strategy tp 4")
    r = check(plan)[0]
    assert r.layout is not None
    w = plan.workload
    # 3 requests decoding beside a chunk of 256 prompt tokens of a fourth: 4 requests in the step
    shapes = OpShapes(plan.model, w, r.layout, r.layout.dims, StagePass(Phase.MIXED, np.array([3.0]), 0, 256),
                      plan.cluster.engine.terms)
    tpl = shapes.make(Op.EMBED)
    assert tpl.requests == 4.0
    assert op_price(tpl, CostModel.from_cluster(plan.cluster)).requests == 4.0
    assert shapes.make(Op.NORM).requests == 0.0
