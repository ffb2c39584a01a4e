"""E303's hints name only what passes the other rules: a split that sums wrong gets the most even split of the
model's layers (not "+1 layers"), and no W501 of the default split beside it (the plan's split is not that one);
more stages than layers gets the most stages the cluster's GPUs also hold (not `pp 48`, which E401 refuses on 8)."""

from __future__ import annotations

from dagc.lang.load import load_plan_text
from dagc.verdict.check import check_strategy

DSV3 = """model preset "deepseek-v3"
cluster { gpus = 16  gpus_per_node = 8  gpu preset "h200" }
workload { batch = 32  prompt = 2000  generate = 400 }
strategy STRATEGY
"""
QWEN = """model preset "qwen3-30b-a3b"
cluster { gpus = 8  gpu preset "h100-sxm" }
workload { batch = 8  prompt = 512  generate = 64 }
strategy STRATEGY
"""


def _diags(text: str, strategy: str):
    plan = load_plan_text(text.replace("STRATEGY", strategy))
    return check_strategy(plan, plan.strategies[0]).diagnostics


def test_a_split_one_layer_short_names_the_most_even_split_and_no_w501():
    found = _diags(DSV3, "pp 2 [30, 30] < tp 8 >")
    (e,) = [d for d in found if d.code == "E303"]
    assert e.message == "the split sums to 60 layers; the model has 61"
    assert e.hint == "add 1 layer to the counts: `[31, 30]` is the most even split of 61 layers over 2 stages"
    assert "W501" not in {d.code for d in found}
    (e,) = [d for d in _diags(DSV3, "pp 2 [40, 30] < tp 8 >") if d.code == "E303"]
    assert e.hint.startswith("take 9 layers from the counts: `[31, 30]`")


def test_more_stages_than_layers_suggests_what_the_gpus_hold():
    found = _diags(QWEN, "pp 64")
    (e,) = [d for d in found if d.code == "E303"]
    assert e.hint == "use pp 8 at most: the 8 GPUs hold 8 stages of 1 GPU (the model has 48 layers)"
    # the suggestion itself passes E303 and E401
    assert not {"E303", "E401"} & {d.code for d in _diags(QWEN, "pp 8")}
    (e,) = [d for d in _diags(QWEN.replace("gpus = 8 ", "gpus = 64 "), "pp 64") if d.code == "E303"]
    assert e.hint == "use pp 48 at most"


def test_the_memory_table_says_whose_split_it_shows(tmp_path):
    from conftest import run_dagc

    (tmp_path / "p.moe").write_text(DSV3.replace("STRATEGY", "pp 2 [30, 30] < tp 8 >"))
    out = run_dagc("check", "p.moe", "--no-search", cwd=tmp_path).stdout
    assert ("per-rank memory by stage (GPU h200, 140.40 GiB (143,771 MiB); dagc's split [31, 30], the written "
            "[30, 30] being none (E303))") in out
