"""Hints and figures a new user's round through the plan language found wrong (2026-12-03): each applied, the plan
was still wrong, or the figure was another stage's."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.export.markdown import stage_experts
from dagc.lang.load import load_plan_text
from dagc.verdict.check import check
from conftest import plan_text


def _diagnostic(text: str, code: str):
    try:
        results = check(load_plan_text(text))
    except PlanError as exc:
        return next(d for d in exc.diagnostics if d.code == code)
    return next(d for r in results for d in r.diagnostics if d.code == code)


def test_a_repeated_sp_is_told_to_be_written_once_without_a_degree():
    d = _diagnostic(plan_text(strategy="strategy tp 4 sp sp ; ep 8"), "E204")
    assert d.hint == "write `sp` once: it is a flag on tp and takes no degree (`tp 4 sp ; ep 8`)"   # was `sp 2 sp 4`
    assert check(load_plan_text(plan_text(strategy="strategy tp 4 sp ; ep 8")))[0].valid


def test_w502_names_the_tp_that_stay_inside_a_node_of_6():
    text = plan_text(strategy="strategy dp 3 < tp 4 >", cluster='cluster { gpus = 12  gpus_per_node = 6  '
                     'gpu preset "h100-sxm" }')
    d = _diagnostic(text, "W502")
    assert d.hint == "use a tp that divides the 6 GPUs of a node (1, 2, 3 or 6) and pp or ep across nodes"   # "≤ 6"
    fixed = check(load_plan_text(text.replace("dp 3 < tp 4 >", "dp 6 < tp 2 >")))[0]
    assert "W502" not in {x.code for x in fixed.diagnostics}


@pytest.mark.parametrize("written", ["0x40", "0X10"])
def test_a_hex_looking_number_is_not_hinted_as_a_product_of_zero(written):
    d = _diagnostic(plan_text(workload=f"workload {{ batch = {written}  prompt = 512  generate = 64 }}"), "E101")
    assert "(0 ×" not in (d.hint or "") and "batch = 0`" not in (d.hint or "")


def test_a_stage_of_dense_layers_alone_holds_no_experts():
    text = ('model "m" { layers = 28  hidden = 4096  heads = 32  vocab = 32000  moe { experts = 32  top_k = 4  '
            "ffn = 2048  dense_layers = 4  dense_ffn = 11008  every = 3  shared = 1  shared_ffn = 4096 } }\n"
            'cluster { gpus = 16  gpu preset "h100-sxm" }\n'
            "workload { batch = 64  prompt = 2048  generate = 256 }\nstrategy pp 4 [4, 8, 8, 8] < tp 2 ; ep 4 >\n")
    r = check(load_plan_text(text))[0]
    m, lay = r.plan.model, r.layout
    # stage 0 holds layers 0–3, dense: no routed expert (its weights none), where the table said 8 until 2026-12-03
    assert r.memory.stages[0].routed_expert_bytes == 0
    assert [stage_experts(m, lay, *s.layers) for s in r.memory.stages] == [0, 8, 8, 8]


@pytest.mark.parametrize(("strategy", "hint"), [("tp 4 etp 2 ; ep 4", "write `tp 4 ; etp 2 ep 4`"),
                                                ("tp 4 ; cp 2 ep 4", "write `tp 4 cp 2 ; ep 4`")])
def test_e202_beside_the_other_domain_joins_each_axis_to_its_own(strategy, hint):
    """Until 2026-12-03 `tp 4 etp 2 ; ep 4` was hinted `tp 4 ; etp 2`, a third domain (E201 when applied), and the E202
    of `tp 4 ; cp 2 ep 4` said `cp 2 ; ep 4` beside E201's `tp 4 cp 2 ; ep 4`."""
    d = _diagnostic(plan_text(strategy=f"strategy {strategy}"), "E202")
    assert d.hint == hint
    fixed = check(load_plan_text(plan_text(strategy=f"strategy {hint[7:-1]}")))[0]
    assert fixed.valid, [x.code for x in fixed.diagnostics]


def test_a_model_of_dense_layers_alone_is_told_no_experts_per_gpu():
    """`moe { … dense_layers = 16 }` on 16 layers: no MoE layer, no routed expert held (its weights none); until
    2026-12-03 N602 said "each GPU holds 1 routed expert of every MoE layer"."""
    text = plan_text(model='model "m" { layers = 16  hidden = 4096  heads = 32  vocab = 32000  moe { experts = 8  '
                     "top_k = 2  ffn = 4096  dense_layers = 16  dense_ffn = 8192 } }", strategy="strategy tp 2 ; ep 8")
    r = check(load_plan_text(text))[0]
    assert "N602" not in {d.code for d in r.diagnostics}
    assert all(s.routed_expert_bytes == 0 for s in r.memory.stages)


def test_w504_points_at_the_strategy_s_micro_batches_when_they_set_the_count():
    """`with microbatches 2` on the strategy overrides the workload's 3: until 2026-12-03 the caret stood under the
    workload's `microbatches = 3`, a field that already says 3."""
    text = ('model preset "mixtral-8x7b"\ncluster { gpus = 24  gpu preset "h100-sxm" }\n'
            "workload { batch = 96  prompt = 2048  generate = 256  microbatches = 3 }\n"
            "strategy c = pp 3 < tp 8 > with microbatches 2\n")
    d = _diagnostic(text, "W504")
    line = text.splitlines()[d.span.line - 1]
    assert d.span.line == 4 and line[d.span.column - 1:].startswith("microbatches 2")


def test_a_prefill_pool_s_w503_points_at_prefill_batch():
    """The prefill instance runs `prefill_batch` (3), not `batch` (64): until 2026-12-03 its W503 stood under `batch`
    and said "use a batch that is a multiple of 2"."""
    text = ('model preset "qwen3-30b-a3b"\ncluster { gpus = 8  gpu preset "h100-sxm" }\n'
            "workload { batch = 64  prompt = 4000  generate = 300  serving = inflight  prefill_batch = 3 }\n"
            "strategy pd = prefill 2 < pp 2 < tp 1 > > decode 1 < tp 4 ; ep 4 >\n")
    d = _diagnostic(text, "W503")
    line = text.splitlines()[d.span.line - 1]
    assert line[d.span.column - 1:].startswith("prefill_batch = 3")
    assert d.hint == "use a `prefill_batch` that is a multiple of 2"
    fixed = check(load_plan_text(text.replace("prefill_batch = 3", "prefill_batch = 4")))[0]
    assert "W503" not in {x.code for x in fixed.diagnostics}


def test_a_two_word_form_joined_by_an_underscore_is_hinted_apart():
    """`gpu_preset "h100-sxm"` after `gpus = 8`: until 2026-12-03 "remove it", which leaves the cluster no GPU."""
    text = plan_text(cluster='cluster { gpus = 8  gpu_preset "h100-sxm" }')
    with pytest.raises(PlanError) as exc:
        load_plan_text(text)
    (d,) = exc.value.diagnostics
    assert d.code == "E001" and d.hint == 'write `gpu preset "h100-sxm"`: two words'
    fixed = text.replace('gpu_preset "h100-sxm"', 'gpu preset "h100-sxm"')
    assert check(load_plan_text(fixed))[0].valid


@pytest.mark.parametrize(("strategy", "hint"), [("tp 4 ; ep 8 sp", "write `tp 4 sp ; ep 8`"),
                                                ("tp 2 ; sp ep 8", "write `tp 2 sp ; ep 8`")])
def test_sp_in_the_expert_domain_is_e202(strategy, hint):
    """`sp` is a flag on tp (docs/language.md): written in the expert domain it was read as the attention domain's until
    2026-12-03, silently."""
    d = _diagnostic(plan_text(strategy=f"strategy {strategy}"), "E202")
    assert d.hint == hint and d.message.startswith("`sp` and `ep 8` are written in one domain")
    assert check(load_plan_text(plan_text(strategy=f"strategy {hint[7:-1]}")))[0].valid
