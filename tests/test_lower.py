"""Lowering (`dagc.lang.lower`): every statement form of SPEC 3 into the exact `Plan` fields,
the defaults, and the E101–E104 diagnostics with their spans."""

from __future__ import annotations

import json

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.lower import lower, lower_strategy, model_from_preset, strategy_text
from dagc.lang.parse import parse
from dagc.plan.cluster import Cluster, Efficiency, Latency
from dagc.plan.model import AttentionKind, DType, Mla, Model, Moe
from dagc.plan.presets import GPU_PRESETS, MODEL_PRESETS
from dagc.plan.workload import Overlap, RequirementKind, Workload
from dagc.source import SourceFile
from conftest import plan_text

GiB = 2**30


def lowered(text: str, path: str = "plan.moe", **kw):
    src = SourceFile(path, text)
    return lower(parse(src), src, **kw)


def problems(text: str, **kw) -> list[tuple[str, int, int, str, str]]:
    """(code, line, column, spanned text, message) of every diagnostic, in order."""
    with pytest.raises(PlanError) as exc:
        lowered(text, **kw)
    return [(d.code, d.span.line, d.span.column, d.span.text, d.message) for d in exc.value.diagnostics]


# ---------------------------------------------------------------------------------------------- model


def test_model_written_in_full():
    text = plan_text(model='''model "my-moe" {
  layers = 16  hidden = 4096  heads = 32  kv_heads = 8  head_dim = 128  vocab = 32000
  tied = true  weights = fp8  kv_cache = fp16  attention = gqa
  moe { experts = 16  top_k = 2  ffn = 16384  shared = 2  shared_ffn = 4096  dense_layers = 1  dense_ffn = 8192
        gated = false }
}''')
    assert lowered(text).model == Model(
        name="my-moe", layers=16, hidden=4096, heads=32, kv_heads=8, head_dim=128, vocab=32000, tied=True,
        weights=DType.FP8, kv_cache=DType.FP16, attention=AttentionKind.GQA, mla=None,
        moe=Moe(experts=16, top_k=2, ffn=16384, shared=2, shared_ffn=4096, dense_layers=1, dense_ffn=8192,
                gated=False))


def test_model_defaults():
    # kv_heads = heads (MHA), head_dim = hidden / heads, bf16 weights and cache, untied, GQA.
    text = plan_text(model='model "m" { layers = 4  hidden = 1024  heads = 8  vocab = 1000 '
                           'moe { experts = 4  top_k = 2  ffn = 512 } }')
    assert lowered(text).model == Model(
        name="m", layers=4, hidden=1024, heads=8, kv_heads=8, head_dim=128, vocab=1000, tied=False,
        weights=DType.BF16, kv_cache=DType.BF16, attention=AttentionKind.GQA,
        moe=Moe(experts=4, top_k=2, ffn=512, shared=0, shared_ffn=0, dense_layers=0, dense_ffn=0, gated=True))


def test_dense_model_sugar_and_experts_zero():
    # `ffn = …` without a moe block: every layer dense.
    dense = lowered(plan_text(model='model "d" { layers = 32  hidden = 4096  heads = 32  kv_heads = 8  vocab = 32000 '
                                    'ffn = 14336  gated = false }')).model
    assert dense.moe == Moe(experts=0, dense_layers=32, dense_ffn=14336, gated=False)
    assert dense.dense_layer_count == 32 and dense.moe_layer_count == 0
    # `experts = 0` in a moe block: the dense layers become all the layers, whatever was written.
    zero = lowered(plan_text(model='model "z" { layers = 12  hidden = 768  heads = 12  vocab = 50257 '
                                   'moe { experts = 0  dense_ffn = 3072 } }')).model
    assert zero.moe == Moe(experts=0, dense_layers=12, dense_ffn=3072) and zero.head_dim == 64


def test_preset_with_overrides_merges_key_by_key():
    m = lowered(plan_text(model='model preset "mixtral-8x7b" { layers = 16  kv_cache = fp8  moe { top_k = 1 } }')).model
    assert (m.name, m.layers, m.hidden, m.kv_heads, m.kv_cache) == ("mixtral-8x7b", 16, 4096, 8, DType.FP8)
    assert m.moe == Moe(experts=8, top_k=1, ffn=14336, gated=True)
    # The preset itself is untouched by the override.
    assert MODEL_PRESETS["mixtral-8x7b"]["moe"]["top_k"] == 2 and model_from_preset("mixtral-8x7b").layers == 32


def test_preset_mla_block():
    text = plan_text(model='model preset "deepseek-v3" { attention = mla '
                           'mla { q_lora = 1024  kv_lora = 256  qk_nope = 64  qk_rope = 32  v_head = 64 } }')
    m = lowered(text).model
    assert m.attention is AttentionKind.MLA and m.weights is DType.FP8
    assert m.mla == Mla(q_lora=1024, kv_lora=256, qk_nope=64, qk_rope=32, v_head=64)
    assert m.moe == Moe(experts=256, top_k=8, ffn=2048, shared=1, shared_ffn=2048, dense_layers=3, dense_ffn=18432,
                        groups=8)


@pytest.mark.parametrize("name", sorted(MODEL_PRESETS))
def test_every_preset_lowers_to_model_from_preset(name):
    assert lowered(plan_text(model=f'model preset "{name}"')).model == model_from_preset(name)


def test_model_from_is_named_after_its_directory_or_file(tmp_path):
    cfg = {"num_hidden_layers": 4, "hidden_size": 1024, "num_attention_heads": 8, "vocab_size": 1000,
           "intermediate_size": 512, "num_local_experts": 4, "num_experts_per_tok": 2}
    (tmp_path / "tiny-moe").mkdir()
    (tmp_path / "tiny-moe" / "config.json").write_text(json.dumps(cfg))
    (tmp_path / "other.json").write_text(json.dumps(cfg))
    m = lowered(plan_text(model='model from "tiny-moe/config.json"'), base_dir=tmp_path).model
    assert m == Model(name="tiny-moe", layers=4, hidden=1024, heads=8, kv_heads=8, head_dim=128, vocab=1000,
                      moe=Moe(experts=4, top_k=2, ffn=512, gated=True))
    assert lowered(plan_text(model='model from "other.json"'), base_dir=tmp_path).model.name == "other"


def test_model_from_outside_or_without_a_directory_is_e002(tmp_path):
    (tmp_path / "c.json").write_text("{}")
    inside = tmp_path / "plans"
    inside.mkdir()
    assert problems(plan_text(model='model from "../c.json"'), base_dir=inside) == [
        ("E002", 1, 12, '"../c.json"', "cannot import `../c.json`: it is outside the plan's directory")]
    assert problems(plan_text(model=f'model from "{tmp_path / "c.json"}"'))[0][4].endswith(
        "a plan given as text reads no files unless a directory is allowed")


# ---------------------------------------------------------------------------------------------- cluster


def test_cluster_spec_form():
    c = lowered(plan_text(cluster='''cluster {
  gpus = 16  gpus_per_node = 4  gpu preset "h800"
  intra_node = 300 GB/s  inter_node = 25 GB/s
  efficiency { compute = 0.5  hbm = 0.7  network = 0.9 }
  latency { intra = 5 us  inter = 2 ms }
}''')).cluster
    assert c == Cluster(gpus=16, gpus_per_node=4, gpu=GPU_PRESETS["h800"], intra_node_bytes_per_s=300e9,
                        inter_node_bytes_per_s=25e9, efficiency=Efficiency(compute=0.5, hbm=0.7, network=0.9),
                        latency=c.latency)
    assert (c.latency.intra_s, c.latency.inter_s) == (pytest.approx(5e-6), pytest.approx(2e-3))


def test_cluster_defaults_come_from_the_gpu_then_dagc():
    c = lowered(plan_text(cluster='cluster { gpus = 4  gpu preset "h800" }')).cluster
    assert (c.gpus_per_node, c.intra_node_bytes_per_s, c.inter_node_bytes_per_s) == (8, 200e9, 50e9)
    assert c.efficiency == Efficiency(compute=None, hbm=None, network=0.8)     # the kernel profile's speed
    assert c.latency == Latency(intra_s=10e-6, inter_s=20e-6)
    # a partial block sets only what it names; generic-400t keeps its efficiencies on the GPU
    c = lowered(plan_text(cluster='cluster { gpus = 4  gpu preset "generic-400t"  efficiency { network = 0.5 } }'))
    assert c.cluster.efficiency == Efficiency(compute=None, hbm=None, network=0.5)
    assert (c.cluster.gpu.compute_efficiency, c.cluster.gpu.hbm_efficiency) == (0.6, 0.8)


def test_custom_gpu():
    g = lowered(plan_text(cluster='cluster { gpus = 2  gpu "my-gpu" { memory = 80 GiB  flops = 400 TFLOPS '
                                  'fp8_flops = 0.8 PFLOPS  hbm = 1.8 TB/s  intra_node = 100 GB/s } }')).cluster.gpu
    assert (g.name, g.memory_bytes, g.flops_16bit, g.flops_8bit, g.hbm_bytes_per_s, g.intra_node_bytes_per_s) == \
        ("my-gpu", 80 * GiB, 400e12, 800e12, 1.8e12, 100e9)
    bare = lowered(plan_text(cluster='cluster { gpus = 2  gpu "g" { memory = 64 GB  flops = 400 TFLOPS '
                                     'hbm = 1.8 TB/s } }')).cluster
    assert (bare.gpu.flops_8bit, bare.gpu.intra_node_bytes_per_s, bare.intra_node_bytes_per_s) == (None, 450e9, 450e9)
    assert problems(plan_text(cluster='cluster { gpus = 2  gpu "g" { memory = 64 GB  flops = 400 TFLOPS } }')) == [
        ("E103", 2, 21, 'gpu "g" { memory = 64 GB  flops = 400 TFLOPS }', 'gpu "g" has no `hbm`')]


# ---------------------------------------------------------------------------------------------- workload, require


def test_workload_fields_and_defaults():
    w = lowered(plan_text(workload="workload { batch = 128  prompt = 10240  generate = 256 }")).workload
    assert w == Workload(batch=128, prompt=10240, generate=256, microbatches=None, routing_imbalance=None,
                         overlap=Overlap.NONE, dispatch=None)
    w = lowered(plan_text(workload="workload { batch = 1_024  prompt = 8  generate = 8  microbatches = 4 "
                                   "routing = imbalance 1.3  overlap = microbatch }")).workload
    assert w == Workload(batch=1024, prompt=8, generate=8, microbatches=4, routing_imbalance=1.3,
                         overlap=Overlap.MICROBATCH)
    w = lowered(plan_text(workload="workload { batch = 8  prompt = 8  generate = 8  routing = uniform "
                                   "dispatch = fp8 }")).workload
    assert (w.routing_imbalance, w.dispatch) == (1.0, DType.FP8)
    w = lowered(plan_text(workload="workload { batch = 8  prompt = 8  generate = 8  routing = random }")).workload
    assert w.routing_imbalance is None


def test_requirements_in_si_with_their_text():
    reqs = lowered(plan_text(require='''require {
  ttft <= 2.5 s   tpot < 40 ms
  decode_throughput >= 100 tokens/ms/gpu   prefill_throughput >= 20000 tokens/s
  throughput >= 1000 tokens/s/gpu
  memory <= 90 %   memory < 70 GiB   gpus == 64
}''')).requirements
    got = [(r.kind, r.op, r.target, r.per_gpu, r.memory_is_fraction, r.text) for r in reqs]
    assert got == [
        (RequirementKind.TTFT, "<=", 2.5, False, True, "ttft <= 2.5 s"),
        (RequirementKind.TPOT, "<", pytest.approx(0.04), False, True, "tpot < 40 ms"),
        (RequirementKind.DECODE_THROUGHPUT, ">=", 100_000.0, True, True, "decode_throughput >= 100 tokens/ms/gpu"),
        (RequirementKind.PREFILL_THROUGHPUT, ">=", 20_000.0, False, True, "prefill_throughput >= 20000 tokens/s"),
        (RequirementKind.THROUGHPUT, ">=", 1000.0, True, True, "throughput >= 1000 tokens/s/gpu"),
        (RequirementKind.MEMORY, "<=", pytest.approx(0.9), False, True, "memory <= 90 %"),
        (RequirementKind.MEMORY, "<", 70.0 * GiB, False, False, "memory < 70 GiB"),
        (RequirementKind.GPUS, "==", 64.0, False, True, "gpus == 64"),
    ]
    assert reqs[1].span.text == "tpot < 40 ms" and reqs[1].span.line == 5


# ---------------------------------------------------------------------------------------------- strategies


def test_strategy_axes_as_written_with_spans():
    plan = lowered(plan_text(strategy="strategy fast = pp 4 [5, 4, 4, 3] < tp 4 sp ; ep 8 etp 2 >  # c"))
    (decl,) = plan.strategies
    assert (decl.name, decl.text) == ("fast", "pp 4 [5, 4, 4, 3] < tp 4 sp ; ep 8 etp 2 >")
    assert decl.span.text == "strategy fast = pp 4 [5, 4, 4, 3] < tp 4 sp ; ep 8 etp 2 >"
    ((pp,),) = decl.scope
    assert (pp.name, pp.degree, pp.split) == ("pp", 4.0, (5.0, 4.0, 4.0, 3.0))
    assert (pp.span.text, pp.degree_span.text, pp.split_span.text) == ("pp", "4", "[5, 4, 4, 3]")
    attention, expert = pp.body
    assert [(a.name, a.degree, a.body) for a in attention] == [("tp", 4.0, None), ("sp", None, None)]
    assert [(a.name, a.degree) for a in expert] == [("ep", 8.0), ("etp", 2.0)]
    assert attention[1].degree_span is None and expert[1].degree_span.text == "2"


def test_strategy_degrees_are_kept_for_flatten_to_judge():
    plan = lowered(plan_text(strategy="strategy tp 0 cp 1.5 etp 1_6 tp"))
    assert [(a.name, a.degree) for a in plan.strategies[0].scope[0]] == \
        [("tp", 0.0), ("cp", 1.5), ("etp", 16.0), ("tp", None)]
    assert plan.strategies[0].text == "tp 0 cp 1.5 etp 1_6 tp"


def test_an_unknown_axis_or_option_in_a_plan_strategy_refuses_the_plan():
    # a misspelt axis or option is a typo like a misspelt field: the plan is not read, nothing is checked
    for strategy, code, at, message in (("tp 0 cp 1.5 xx 1_6 tp", "E101", "xx", "unknown axis `xx`"),
                                        ("tp 8 with overlap microbtach", "E101", "overlap microbtach",
                                         "unknown overlap `microbtach`"),
                                        ("tp 8 with microbatches 0", "E104", "microbatches 0",
                                         "microbatches must be a whole number from 1 to 100,000")):
        text = plan_text(strategy=f"strategy ok = tp 8\nstrategy {strategy}")
        with pytest.raises(PlanError) as exc:
            lowered(text)
        (d,) = exc.value.diagnostics        # the E2xx of `tp 0` and the repeated `tp` wait for the plan to load
        assert (d.code, d.message, d.span.text, d.span.line) == (code, message, at, 5)


def test_several_strategies_keep_their_order_and_names():
    plan = lowered(plan_text(strategy="strategy a = tp 8\nstrategy ep 8\nstrategy b = dp 2 < tp 4 >"))
    assert [(s.name, s.text) for s in plan.strategies] == [("a", "tp 8"), (None, "ep 8"), ("b", "dp 2 < tp 4 >")]


def test_lower_strategy_expression():
    src = SourceFile("--strategy", "fast = pp 2 < tp 4 ; ep 8 >")
    decl = lower_strategy(parse(src, start="named_scope"), src)
    assert (decl.name, decl.text, decl.span.text) == ("fast", "pp 2 < tp 4 ; ep 8 >", "pp 2 < tp 4 ; ep 8 >")
    assert lower_strategy(parse(src, start="named_scope"), src, "mine").name == "mine"
    src = SourceFile("--strategy", "tp 8")
    assert lower_strategy(parse(src, start="named_scope"), src).name is None
    assert strategy_text(parse(SourceFile("s", "dp 2<pp 2 [1,1,]<tp 2>>"), start="scope")) == \
        "dp 2 < pp 2 [1, 1] < tp 2 > >"


# ---------------------------------------------------------------------------------------------- the plan


def test_plan_name_statement_order_and_spans():
    text = "\n".join(["strategy tp 8", "workload { batch = 8  prompt = 8  generate = 8 }",
                      'cluster { gpus = 8  gpu preset "h100-sxm" }', 'model preset "mixtral-8x7b" { layers = 4 }'])
    plan = lowered(text, path="dir/my plan.v2.moe")
    assert plan.name == "my plan.v2" and plan.requirements == ()
    assert {k: (s.line, s.text) for k, s in plan.spans.items()} == {
        "workload": (2, "workload { batch = 8  prompt = 8  generate = 8 }"),
        "workload.batch": (2, "batch = 8"), "workload.prompt": (2, "prompt = 8"),
        "workload.generate": (2, "generate = 8"),
        "cluster": (3, 'cluster { gpus = 8  gpu preset "h100-sxm" }'), "cluster.gpus": (3, "gpus = 8"),
        "cluster.gpu": (3, 'gpu preset "h100-sxm"'),
        "model": (4, 'model preset "mixtral-8x7b" { layers = 4 }'), "model.layers": (4, "layers = 4"),
    }
    assert plan.span_of("model.moe.top_k").text.startswith("model preset")


# ---------------------------------------------------------------------------------------------- diagnostics


@pytest.mark.parametrize("parts, expected", [
    (dict(model='model preset "mixtral-8x7"'),
     ("E101", 1, 14, '"mixtral-8x7"', "unknown model preset `mixtral-8x7`")),
    (dict(model='model preset "mixtral-8x7b" { layer = 4 }'),
     ("E101", 1, 31, "layer", "unknown field `layer` in model")),
    (dict(model='model preset "mixtral-8x7b" { tied = maybe }'),
     ("E101", 1, 38, "maybe", "`tied` is true or false, not `maybe`")),
    (dict(model='model preset "mixtral-8x7b" { weights = bf17 }'),
     ("E101", 1, 41, "bf17", "unknown weights `bf17`")),
    (dict(cluster='cluster { gpus = 8  gpu preset "h100" }'), ("E101", 2, 32, '"h100"', "unknown GPU preset `h100`")),
    (dict(cluster='cluster { gpus = 8  gpu preset "h100-sxm"  inter_node = 50 GX }'),
     ("E101", 2, 60, "GX", "unknown unit `GX`")),
    (dict(cluster='cluster { gpus = 8  gpu preset "h100-sxm"  eficiency { compute = 0.5 } }'),
     ("E101", 2, 44, "eficiency", "unknown block `eficiency` in cluster")),
    (dict(workload='workload { batch = 8  prompt = 8  generate = 8  gpu preset "h100-sxm" }'),
     ("E101", 3, 49, 'gpu preset "h100-sxm"', "unknown block `gpu` in workload")),
    (dict(model='model preset "mixtral-8x7b" { gpu "mine" { memory = 80 GB } }'),
     ("E101", 1, 31, 'gpu "mine" { memory = 80 GB }', "unknown block `gpu` in model")),
    (dict(workload="workload { batch = 8  prompt = 8  generate = 8  routing = skewed }"),
     ("E101", 3, 59, "skewed", "unknown routing `skewed`")),
    (dict(require="require { latency <= 3 s }"), ("E101", 4, 11, "latency", "unknown requirement `latency`")),
])
def test_e101_unknown_names(parts, expected):
    assert problems(plan_text(**parts)) == [expected]


@pytest.mark.parametrize("parts, expected", [
    (dict(cluster='cluster { gpus = 8  gpu preset "h100-sxm"  inter_node = 50 ms }'),
     ("E102", 2, 60, "ms", "`inter_node` takes a bandwidth, but `50 ms` is a time")),
    (dict(cluster='cluster { gpus = 8  gpu preset "h100-sxm"  inter_node = 50 }'),
     ("E102", 2, 57, "50", "`inter_node` takes a bandwidth: `50` has no unit")),
    (dict(cluster='cluster { gpus = 8 GB  gpu preset "h100-sxm" }'),
     ("E102", 2, 20, "GB", "`gpus` takes a plain number, but `8 GB` is a size")),
    (dict(cluster='cluster { gpus = eight  gpu preset "h100-sxm" }'),
     ("E102", 2, 18, "eight", "`gpus` takes a plain number, not `eight`")),
    (dict(model='model preset "mixtral-8x7b" { weights = 8 }'),
     ("E102", 1, 41, "8", "`weights` takes a name, not a number")),
    (dict(require="require { ttft <= 10 }"), ("E102", 4, 19, "10", "`ttft` takes a time: `10` has no unit")),
])
def test_e102_wrong_dimensions(parts, expected):
    assert problems(plan_text(**parts)) == [expected]


@pytest.mark.parametrize("parts, expected", [
    (dict(workload="workload { batch = 64  prompt = 8 }"),
     [("E103", 3, 1, "workload { batch = 64  prompt = 8 }", "the workload has no `generate`")]),
    (dict(cluster='cluster { gpu preset "h100-sxm" }'),
     [("E103", 2, 1, 'cluster { gpu preset "h100-sxm" }', "the cluster has no `gpus`")]),
    (dict(cluster="cluster { gpus = 8 }"), [("E103", 2, 1, "cluster { gpus = 8 }", "the cluster has no `gpu`")]),
    (dict(model='model "m"'), [("E103", 1, 1, 'model "m"', 'model "m" has no fields')]),
    (dict(model='model "m" { layers = 2  hidden = 64  heads = 3  vocab = 10  ffn = 8 }'),
     [("E103", 1, 1, 'model "m" { layers = 2  hidden = 64  heads = 3  vocab = 10  ffn = 8 }',
       "the model has no `head_dim` and hidden is not a multiple of heads")]),
    (dict(model='model "m" { layers = 2  hidden = 64  heads = 4  vocab = 10 }'),
     [("E103", 1, 1, 'model "m" { layers = 2  hidden = 64  heads = 4  vocab = 10 }',
       "the model has neither a `moe { … }` block nor a dense `ffn`")]),
    (dict(model='model preset "mixtral-8x7b" { attention = mla }'),
     [("E103", 1, 31, "attention = mla", "attention = mla needs an `mla { … }` block")]),
    (dict(model='model "m" { layers = 2  hidden = 64  heads = 4  vocab = 10  moe { experts = 4  top_k = 2 } }'),
     [("E103", 1, 61, "moe { experts = 4  top_k = 2 }", "the moe block has no `ffn`")]),
    (dict(model='model preset "mixtral-8x7b" { attention = mla  mla { kv_lora = 8  qk_nope = 8  v_head = 8 } }'),
     [("E103", 1, 48, "mla { kv_lora = 8  qk_nope = 8  v_head = 8 }", "the mla block has no `qk_rope`")]),
])
def test_e103_missing(parts, expected):
    assert problems(plan_text(**parts)) == expected


def test_e103_missing_statements_point_at_the_end():
    assert problems("# nothing but\nstrategy tp 8\n") == [
        ("E103", 2, 13, "8", "the plan has no `model` statement"),
        ("E103", 2, 13, "8", "the plan has no `cluster` statement"),
        ("E103", 2, 13, "8", "the plan has no `workload` statement"),
    ]
    # an empty plan is one E103 saying what a plan is (until 2026-11-30 four: tests/test_first_plan_hints.py)
    assert [(c, line, col, t) for c, line, col, t, _ in problems("")] == [("E103", 1, 1, "")]


@pytest.mark.parametrize("parts, expected", [
    (dict(workload="workload { batch = 0  prompt = 8  generate = 8 }"),
     [("E104", 3, 20, "0", "`batch` = 0 is out of range: it must be at least 1")]),
    (dict(workload="workload { batch = 8  prompt = 1.5  generate = 8 }"),
     [("E104", 3, 32, "1.5", "`prompt` must be a whole number, not 1.5")]),
    (dict(workload="workload { batch = 8  prompt = 8  generate = 8  routing = imbalance 0.5 }"),
     [("E104", 3, 59, "imbalance 0.5", "imbalance 0.5 is below 1: the busiest rank carries at least the mean")]),
    (dict(cluster='cluster { gpus = 8  gpu preset "h100-sxm"  efficiency { compute = 120 % } }'),
     [("E104", 2, 67, "120 %", "`compute` = 120 % is out of range (too large)")]),
    (dict(cluster='cluster { gpus = 8  gpus = 4  gpu preset "h100-sxm" }'),
     [("E104", 2, 21, "gpus", "`gpus` is given twice in cluster")]),
    (dict(cluster='cluster { gpus = 8  efficiency = 3  gpu preset "h100-sxm" }'),
     [("E104", 2, 21, "efficiency", "`efficiency` is a block: write `efficiency { … }`")]),
    (dict(model='model preset "mixtral-8x7b" { kv_heads = 64 }'),
     [("E104", 1, 31, "kv_heads = 64", "kv_heads (64) exceeds heads (32)")]),
    (dict(model='model preset "mixtral-8x7b" { kv_heads = 5 }'),
     [("E104", 1, 31, "kv_heads = 5", "heads (32) is not a multiple of kv_heads (5)")]),
    (dict(model='model preset "mixtral-8x7b" { moe { top_k = 9 } }'),
     [("E104", 1, 37, "top_k = 9", "top_k (9) exceeds experts (8)")]),
    (dict(model='model preset "mixtral-8x7b" { mla { kv_lora = 8  qk_nope = 8  v_head = 8 } }'),
     [("E104", 1, 31, "mla { kv_lora = 8  qk_nope = 8  v_head = 8 }", "an `mla` block needs `attention = mla`")]),
    (dict(require="require { ttft <= 1 s  ttft <= 2 s  ttft >= 1 ms }"),
     [("E104", 4, 24, "ttft <= 2 s", "`ttft <=` is required twice")]),
    (dict(strategy="strategy a = tp 8\nstrategy a = tp 4"),
     [("E104", 5, 1, "strategy a = tp 4", "two strategies are named `a`")]),
])
def test_e104_invalid_values(parts, expected):
    assert problems(plan_text(**parts)) == expected


def test_duplicate_statement_is_one_e104_at_its_keyword():
    # The second model is not lowered: its unknown field is not reported.
    text = plan_text() + 'model "again" { nonsense = 1 }\n'
    with pytest.raises(PlanError) as exc:
        lowered(text)
    (d,) = exc.value.diagnostics
    assert (d.code, d.span.line, d.span.column, d.span.text) == ("E104", 5, 1, "model")
    assert d.message == "a plan has one `model` statement; this is another" and d.hint == "the first is at line 1"


def test_every_problem_at_once_in_source_order():
    text = "\n".join(['cluster { gpus = 0  gpu preset "h100" }',
                      'model preset "mixtral-8x7b" { layers = 2.5  vocab = 10 ms }',
                      "workload { batch = 8  prompt = 8  generate = 8  batch = 9 }", "strategy tp 8"])
    assert [(c, line, col) for c, line, col, _, _ in problems(text)] == [
        ("E104", 1, 18), ("E101", 1, 32), ("E104", 2, 40), ("E102", 2, 56), ("E104", 3, 49)]
    with pytest.raises(PlanError) as exc:
        lowered(text)
    hints = [d.hint for d in exc.value.diagnostics]
    assert hints[1] == "did you mean `h100-sxm`? (the SXM module)" and hints[4] == "the first is at line 3; keep one"
