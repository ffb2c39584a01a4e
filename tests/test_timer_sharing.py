"""What the search's timer shares between candidates (`dagc.schedule.timer.Timer`) and what it sets aside
early (`MemoryScreen.surely_illegal` and `overflows`) changes no figure: a timer that has priced every
other candidate first gives each candidate's passes exactly as a fresh timer does, the ops shared
by attention split are the very templates the catalogue makes, and a candidate set aside is one the
full check rejects."""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings

from dagc.cost.compute import kernel_raw_s, kernel_seconds, priced_kernels
from dagc.cost.cost import template_lower_s, template_max_s, template_time_s
from dagc.cost.cost_model import CostModel
from dagc.ir.dag import Phase, StagePass
from dagc.ir.ops import (
    ATTENTION_SPLIT_OPS,
    RECIPES,
    Op,
    OpShapes,
    attention_split_key,
    attention_split_peak_key,
    layer_ops,
    rank_dims,
)
from dagc.lang.load import load_plan, load_plan_text
from dagc.layout.layout import resolve
from dagc.memory.activations import template_activation_peak
from dagc.memory.memory import memory
from dagc.schedule.recurrence import Recurrence
from dagc.schedule.timer import Timer
from dagc.search.bound import Pruner
from dagc.search.space import candidates
from dagc.verdict.fastcheck import MEMORY, Refused, fast_check
from conftest import templates_made
from plans import plan_texts

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PLANS = ["mixtral-8x7b-1node.moe", "30b-moe-dp2-pp2-tp2-ep4-16gpu.moe", "deepseek-v3-prefill-32xh800.moe"]


def layouts(plan, step: int, most: int = 400):
    """(workload, layout) of every `step`-th candidate that has stages to run, of the first `most`."""
    for s, mb, ov in itertools.islice(candidates(plan), 0, most * step, step):
        workload = plan.workload.model_copy(update={"microbatches": mb, "overlap": ov})
        lay = resolve(plan.model, plan.cluster, workload, s)
        if lay.pp <= plan.model.layers:
            yield workload, lay


def stage_shapes(plan, step: int, most: int):
    """(workload, layout, phase, requests, `OpShapes` of stage 0) of `layouts`, every phase and
    distinct row of requests."""
    for workload, lay in layouts(plan, step, most):
        d = rank_dims(plan.model, lay)
        for phase in Phase:
            for req in lay.distinct_request_rows():
                at = StagePass(phase, np.array(req), 0)
                yield workload, lay, phase, req, OpShapes(plan.model, workload, lay, d, at)


def plan_named(name: str):
    """An example plan by file name, or the "large prefill" plan."""
    return load_plan_text(LARGE_PREFILL) if name == "large prefill" else load_plan(EXAMPLES / name)


def passes(timer: Timer, workload, lay) -> list:
    return [timer.stage_passes(workload, lay, phase, req) for phase in Phase for req in lay.distinct_request_rows()]


def figures(plan, timer: Timer, workload, lay) -> tuple:
    rec = Recurrence(plan, lay, workload, timer)
    return rec.tpot_floor(), rec.tpot(), rec.prefill(), rec.tpot_op_floor()


def shared_equals_fresh(plan, step: int, most: int = 400) -> int:
    shared = Timer(plan)
    seen = list(layouts(plan, step, most))
    for workload, lay in seen:                       # every pass priced once, sharing what it can
        passes(shared, workload, lay)
        figures(plan, shared, workload, lay)
    for workload, lay in seen:
        fresh = Timer(plan)
        assert passes(shared, workload, lay) == passes(fresh, workload, lay), lay.strategy.text
        assert figures(plan, shared, workload, lay) == figures(plan, fresh, workload, lay), lay.strategy.text
    return len(seen)


@pytest.mark.parametrize("name", PLANS)
def test_a_timer_shared_by_every_candidate_gives_the_figures_of_a_fresh_one(name):
    assert shared_equals_fresh(load_plan(EXAMPLES / name), 7) >= 20


# 8 generated plans a run (15 until 2026-11-28), new ones on each run, and the two below that CI's runs found; a shared
# timer is compared with fresh ones on three examples too, 20 layouts or more each
# (test_a_timer_shared_by_every_candidate_gives_the_figures_of_a_fresh_one).
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(plan_texts())
# found by CI runs: a mixed chunk's attention-split floor, shared by candidates whose chunks round down alike
# (`chunk_floor_tokens`), was priced on a sketch at the candidate's own chunk, which an engine's CUDA graph pads
# to another size
@example(text='model "gen" { layers = 3  hidden = 256  heads = 8  vocab = 1000  kv_heads = 1  head_dim = 32\n'
              '  moe { experts = 4  top_k = 1  ffn = 256  shared = 0  dense_layers = 0  dense_ffn = 1024  '
              'every = 1 } }\ncluster { gpus = 1024  gpus_per_node = 8  gpu "big" { memory = 10 TB  '
              'flops = 400 TFLOPS  hbm = 2 TB/s }\n'
              '  inter_node = 50 GB/s }\nworkload { batch = 17  prompt = 36  generate = 2  microbatches = 1  '
              'routing = uniform  overlap = none  serving = inflight  chunk = 200 }\nstrategy tp 1')
@example(text='model "gen" { layers = 2  hidden = 256  heads = 8  vocab = 1000  kv_heads = 1  head_dim = 32\n'
              '  moe { experts = 4  top_k = 1  ffn = 256  shared = 0  dense_layers = 1  dense_ffn = 1024  '
              'every = 1 } }\ncluster { gpus = 1024  gpus_per_node = 8  gpu "big" { memory = 10 TB  '
              'flops = 400 TFLOPS  hbm = 2 TB/s }\n'
              '  inter_node = 50 GB/s }\nworkload { batch = 3  prompt = 33  generate = 2  microbatches = 1  '
              'routing = uniform  overlap = none  serving = inflight  chunk = 64 }\nstrategy tp 1')
def test_sharing_changes_no_figure_on_generated_plans(text):
    shared_equals_fresh(load_plan_text(text), 5, most=30)


@functools.cache
def field_names(cls: type) -> tuple[str, ...]:
    """The names of a dataclass's fields (`dataclasses.fields`, looked up once per class: it took a tenth of these
    comparisons' time)."""
    return tuple(f.name for f in fields(cls))


def same_template(a, b) -> bool:
    for name in field_names(type(a)):
        x, y = getattr(a, name), getattr(b, name)
        if name == "kernels":
            if len(x) != len(y) or any(not same_kernel(k, q) for k, q in zip(x, y, strict=True)):
                return False
        elif name == "fused":
            if (x is None) != (y is None) or (x is not None and not same_kernel(x, y)):
                return False
        elif isinstance(x, np.ndarray) and isinstance(y, np.ndarray):
            if not same_array(x, y):
                return False
        elif isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            if not np.array_equal(np.asarray(x), np.asarray(y)):
                return False
        elif x != y:
            return False
    return True


def same_kernel(a, b) -> bool:
    """Every field of two kernels the same (a field added later too), the shape's vectors as broadcast."""
    for name in field_names(type(a)):
        if name != "shape" and not getattr(a, name) == getattr(b, name):
            return False
    x_shape, y_shape = np.shape(a.shape[0]), np.shape(b.shape[0])
    return all(same_broadcast(x, y, x_shape, y_shape) for x, y in zip(a.shape, b.shape, strict=True))


def same_array(x: np.ndarray, y: np.ndarray) -> bool:
    """`np.array_equal(x, y)` of two arrays: the same shape and every element equal (NaN equal to nothing), compared
    as Python numbers — the vectors compared here hold a few elements each, where numpy's comparison and its
    `all()` cost several times more than the elements' own comparisons."""
    return x.shape == y.shape and x.tolist() == y.tolist()


def same_broadcast(x, y, x_shape: tuple, y_shape: tuple) -> bool:
    """`np.array_equal(np.broadcast_to(x, x_shape), np.broadcast_to(y, y_shape))`, without making the broadcast
    views where the answer needs none (two scalars, or two arrays of those shapes already), which took most of
    these comparisons' time: the same answer, and the same error where a shape does not broadcast."""
    if x_shape == y_shape:
        if not isinstance(x, np.ndarray) and not isinstance(y, np.ndarray):
            return bool(x == y) or math.prod(x_shape) == 0
        if isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and x.shape == y.shape == x_shape:
            return same_array(x, y)
    return bool(np.array_equal(np.broadcast_to(x, x_shape), np.broadcast_to(y, y_shape)))


@pytest.mark.parametrize("name", PLANS)
def test_the_attention_split_ops_depend_on_their_key_alone(name):
    """Stage shapes with the same `attention_split_key` (other expert domains, other stages) make
    the same templates of `ATTENTION_SPLIT_OPS`, field by field."""
    plan = load_plan(EXAMPLES / name)
    first: dict[tuple, object] = {}
    compared = 0
    for workload, lay in layouts(plan, 3):
        d = rank_dims(plan.model, lay)
        for phase in Phase:
            req = lay.distinct_request_rows()[0]
            for stage in {0, lay.pp - 1}:
                shapes = OpShapes(plan.model, workload, lay, d, StagePass(phase, np.array(req), stage))
                for op in ATTENTION_SPLIT_OPS:
                    key = (op, attention_split_key(lay, workload, phase, req))
                    tpl = shapes.make(op)
                    if key in first:
                        assert same_template(first[key], tpl), (op, lay.strategy.text)
                        compared += 1
                    else:
                        first[key] = tpl
    assert compared > 100


@pytest.mark.parametrize("name", PLANS + ["large prefill"])
def test_the_attention_split_ops_figures_depend_on_their_peak_key_alone(name):
    """What the timer keeps of an op of `ATTENTION_SPLIT_OPS` — its slowest rank's time, whether it is
    a collective, its working set and its floor — is the same, to the bit, for every stage shape with
    the same `attention_split_peak_key`: with the same requests in every attention-DP group, however
    many groups there are."""
    plan = plan_named(name)
    timer = Timer(plan)
    first: dict[tuple, tuple] = {}
    compared = across = 0
    for workload, lay, phase, req, shapes in stage_shapes(plan, 2, 500):
        for op in ATTENTION_SPLIT_OPS:
            key = (op, attention_split_peak_key(lay, workload, phase, req))
            figures = timer.core.op_figures(shapes, op)
            if key in first:
                assert figures == first[key][0], (op, lay.strategy.text, first[key][1])
                compared += 1
                across += first[key][2] != lay.group_size
            else:
                first[key] = (figures, lay.strategy.text, lay.group_size)
    assert compared > 100 and across > 10


def ops_of(plan, lay) -> set[Op]:
    """The ops a stage of `lay` runs: its layers' (`layer_ops`), the ends' and the send."""
    ops = {Op.EMBED, Op.FINAL_NORM, Op.LM_HEAD, Op.SEND, Op.RECV}
    for dense in plan.model.layer_kinds:
        ops.update(lop.op for lop in layer_ops(lay, plan.model, dense)[0])
    return ops


@pytest.mark.parametrize("name", PLANS + ["10b-moe-pp16-ep16-256gpu.moe", "large prefill"])
def test_every_op_template_depends_on_what_its_recipe_says_it_reads(name):
    """`OpShapes.reads` (the recipes' `reads`): stage shapes with the same key for an op make the same
    template of it, field by field — across degrees, stages and phases — so the timer may price an
    op once per key. Many keys are met by layouts of other degrees than the first that made them."""
    plan = plan_named(name)
    first: dict[tuple, tuple] = {}
    compared = across = 0
    for workload, lay in layouts(plan, 2, 500):
        d = rank_dims(plan.model, lay)
        ops = ops_of(plan, lay)
        for phase in Phase:
            for req in lay.distinct_request_rows():
                for stage in sorted({0, lay.pp // 2, lay.pp - 1}):
                    shapes = OpShapes(plan.model, workload, lay, d, StagePass(phase, np.array(req), stage))
                    for op in ops:
                        key = (op, shapes.reads(op))
                        assert key[1] is not None, op
                        tpl = shapes.make(op)
                        degrees = (lay.tp, lay.cp, lay.sp, lay.ep, lay.etp, lay.group_size)
                        if key in first:
                            assert same_template(first[key][0], tpl), (op, lay.strategy.text, first[key][1])
                            compared += 1
                            across += first[key][2] != degrees
                        else:
                            first[key] = (tpl, lay.strategy.text, degrees)
    assert compared > 1000 and across > 100, (compared, across)


def test_the_timer_prices_an_op_once_per_key_of_what_it_reads():
    """The search's timer makes and prices each op once per `OpShapes.reads` key: on the
    DeepSeek-V3 prefill example, far fewer templates than the ops it times. An op whose keys differ only in the
    count its totals read (`Recipe.distinct`) is made once for all of them (tests/test_op_distinct.py)."""
    plan = load_plan(EXAMPLES / "deepseek-v3-prefill-32xh800.moe")
    timer = Timer(plan)
    seen = list(layouts(plan, 3, 300))
    with templates_made() as made:
        for workload, lay in seen:
            passes(timer, workload, lay)
    keys = timer.core.tables.made
    templates = {(key[0], key[1][0], *key[2:]) if RECIPES[key[0]].distinct is not None else key for key in keys}
    assert 0 < made[0] == len(templates) < len(keys)
    fresh = Timer(plan)
    for workload, lay in seen[::7]:
        assert passes(timer, workload, lay) == passes(fresh, workload, lay), lay.strategy.text


@pytest.mark.parametrize("name", PLANS + ["10b-moe-pp16-ep16-256gpu.moe"])
def test_a_candidate_set_aside_for_memory_is_one_the_check_rejects(name):
    plan = load_plan(EXAMPLES / name)
    timer = Timer(plan)
    pruner = Pruner(plan, "tokens-per-gpu", timer)
    aside = kept = 0
    for workload, lay in layouts(plan, 3):
        if pruner.memory.surely_illegal(workload, lay):
            assert isinstance(fast_check(plan, lay.strategy, workload, timer), Refused), lay.strategy.text
            aside += 1
        else:
            kept += 1
    assert aside and kept


# Long prompts in micro-batches of many requests: working sets that overflow a GPU by themselves.
LARGE_PREFILL = ('model preset "deepseek-v3"\ncluster { gpus = 256  gpus_per_node = 8  gpu preset "h800" }\n'
                 "workload { batch = 1024  prompt = 4096  generate = 512 }\nstrategy dp 8 < tp 4 ; ep 32 >\n")


@pytest.mark.parametrize("name", PLANS + ["10b-moe-pp16-ep16-256gpu.moe", "10b-moe-1024-vs-64gpu.moe", "large prefill"])
def test_a_candidate_set_aside_by_one_working_set_is_one_the_check_rejects_for_memory(name):
    """`MemoryScreen.overflows`: the weights, KV cache and reserve with the prefill working set of the
    attention or of the routed experts alone. The full check then rejects the candidate for memory,
    and the set-aside working set is at most the stage activations the check computes."""
    plan = plan_named(name)
    timer, fresh = Timer(plan), Timer(plan)
    pruner = Pruner(plan, "tokens-per-gpu", timer)
    aside = {Op.ATTENTION: 0, Op.EXPERT_FFN: 0}
    kept = 0
    for workload, lay in layouts(plan, 5, 600):
        if pruner.memory.surely_illegal(workload, lay):
            continue
        over = [op for op in aside if pruner.memory.overflows(workload, lay, op)]
        if not over:
            kept += 1
            continue
        acts = fresh.activations(workload, lay)
        for op in over:
            aside[op] += 1
            peak = max(timer.floors.working_set_floor(workload, lay, Phase.PREFILL, req, op)
                       for req in lay.distinct_request_rows())
            assert peak <= max(acts.values()), (op, lay.strategy.text)
        rejected = fast_check(plan, lay.strategy, workload, fresh)
        assert isinstance(rejected, Refused), lay.strategy.text
        mem = memory(plan.model, workload, plan.cluster, lay, acts)
        assert rejected.code != MEMORY or not all(st.fits for st in mem.stages)
        assert not all(st.fits for st in mem.stages), lay.strategy.text
    assert kept
    if name == "large prefill":
        assert all(aside.values()), aside


@pytest.fixture(scope="module")
def seventh_shapes():
    """`(plan, stage_shapes(plan, 7, 120))` of a plan by name (`plan_named`), made once in this module, each shape's
    templates kept as they are made (`OpShapes.get`): the working sets' floors and the lower templates are each
    compared with the same shapes' templates, which were made twice, once for each test (two thirds of the time of
    both). A floor or lower template of its own (the routed experts', the ETP reduce's) is made from the shapes,
    never from a kept template; an op without one reads its template, kept or made afresh alike."""
    made: dict[str, tuple] = {}

    def of(name: str) -> tuple:
        if name not in made:
            plan = plan_named(name)
            made[name] = plan, list(stage_shapes(plan, 7, 120))
        return made[name]
    yield of
    made.clear()


@pytest.mark.parametrize("name", PLANS + ["large prefill"])
def test_an_ops_working_set_floor_bounds_its_templates(name, seventh_shapes):
    """`OpShapes.working_set_floor` (what the memory set-aside reads) is `template_activation_peak` of
    the op's whole template, to the bit, but for the routed experts: their mean load, at most their
    peak (equal with one EP rank, where every rank takes the mean)."""
    _, shapes_of = seventh_shapes(name)
    compared, below = set(), 0
    for _, lay, _, _, shapes in shapes_of:
        for op in Op:
            if op in (Op.SEND, Op.RECV) and lay.pp == 1:
                continue
            peak = template_activation_peak(shapes.get(op))
            floor = shapes.working_set_floor(op)
            if op is Op.EXPERT_FFN:
                assert 0 < floor <= peak, (lay.strategy.text, floor, peak)
                assert floor == pytest.approx(peak, rel=1e-12) or lay.ep > 1
                below += floor < peak
            else:
                assert floor == peak, (op, lay.strategy.text)
            compared.add(op)
    assert Op.EXPERT_FFN in compared and Op.ATTENTION in compared and below


@pytest.mark.parametrize("name", PLANS + ["large prefill"])
def test_an_ops_lower_template_bounds_its_time(name, seventh_shapes):
    """`OpShapes.lower_template` priced by `dagc.cost.cost.template_lower_s` (what the search's op floor
    reads, `Timer.floors.lower_times`) is at most the op's time as the schedule prices it, in both phases, for
    every op of a layer and the send: the routed experts and the ETP reduce at their EP group's mean
    rows, no routing statistics (the experts strictly below with more than one EP rank); a compute
    op's kernels at their lower seconds; a collective at its own time."""
    plan, shapes_of = seventh_shapes(name)
    cm = CostModel.from_cluster(plan.cluster)
    compared, below = set(), 0
    for _, lay, _, _, shapes in shapes_of:
        present = {lop.op for dense in plan.model.layer_kinds for lop in layer_ops(lay, plan.model, dense)[0]}
        for op in present | ({Op.SEND} if lay.pp > 1 else set()):
            time_s = float(template_time_s(shapes.get(op), cm).max())
            lower = template_lower_s(shapes.lower_template(op), cm)
            assert 0 < lower <= time_s * (1 + 1e-12), (op, lay.strategy.text, lower, time_s)
            below += op is Op.EXPERT_FFN and lay.ep > 1 and lower < time_s
            compared.add(op)
    assert {Op.EXPERT_FFN, Op.ATTENTION, Op.ROUTER, Op.DISPATCH, Op.TP_REDUCE, Op.SEND} <= compared and below


@pytest.mark.parametrize("name", PLANS + ["10b-moe-pp16-ep16-256gpu.moe"])
def test_the_slowest_rank_priced_in_floats_is_the_per_rank_arrays_figure(name):
    """`dagc.cost.cost.template_max_s` sums a template's kernels as floats when every rank of every kernel
    has the same shape: its figure — exact, and at the kernels' lower seconds for every op's lower
    template — is the per-rank arrays' maximum to the bit, for templates whose ranks are alike and
    for those whose ranks differ."""
    plan = plan_named(name)
    cm = CostModel.from_cluster(plan.cluster)
    alike = differ = 0
    for _, lay, _, _, shapes in stage_shapes(plan, 3, 150):
        for op in ops_of(plan, lay):       # the lower template of an op without one of its own is the template itself
            for tpl in (shapes.get(op), shapes.lower_template(op)):
                assert template_max_s(tpl, cm) == float(template_time_s(tpl, cm).max(initial=0.0)), op
                lower = kernel_seconds(tpl, cm, lower=True)
                assert template_max_s(tpl, cm, lower=True) == float(template_time_s(tpl, cm, lower or None)
                                                                     .max(initial=0.0)), op
                if not tpl.kind.is_comm and cm.profile is not None:
                    same = all(isinstance(kernel_raw_s(k, cm.profile), float)
                               for k in priced_kernels(tpl, cm.profile, cm.glue))
                    alike, differ = alike + same, differ + (not same)
    assert cm.profile is None or (alike > 100 and differ > 10), (alike, differ)
