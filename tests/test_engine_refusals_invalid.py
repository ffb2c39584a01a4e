"""The engine's refusals (E7xx) of a strategy dagc already finds invalid are said beside its errors: they read
the strategy's degrees only, never its memory (a trial's Mixtral 8x22B on A100s: E402 hid vLLM's E702 until
the model was made to fit, then E702 appeared alone)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagc.cli.main import main
from dagc.lang.load import load_plan_text
from dagc.lang.overrides import load_plan_with
from dagc.launch.engine_check import check, engine_refuses
from dagc.search.search import search

PLAN = """# Mixtral 8x22B on 16 A100-80G (2 nodes), vLLM, offline batch
model preset "mixtral-8x22b"
cluster { gpus = 16  gpu preset "a100-80g"  engine = vllm  inter_node = 25 GB/s }
workload { batch = 32  prompt = 4096  generate = 512 }
require { ttft <= 10 s  tpot <= 100 ms  memory <= 90 % }
strategy a = pp 2 < tp 8 >
strategy b = tp 4 ; ep 2 etp 2
strategy c = tp 8 cp 2
"""


@pytest.fixture()
def plan_file(tmp_path: Path) -> str:
    path = tmp_path / "mixtral-a100.moe"
    path.write_text(PLAN)
    return str(path)


def _errors(plan_file: str, *options: str) -> list[tuple[str, int | None]]:
    plan = load_plan_with(plan_file, options)
    (b,) = [r for r in check(plan) if r.label == "b"]
    return [(d.code, d.span.column if d.span else None) for d in b.diagnostics if d.is_error]


def test_memory_error_and_engine_refusal_together(plan_file):
    # vLLM runs EP over attention DP × TP = 1 × 4 GPUs, or none; `ep 2 etp 2` is neither: E702 at `ep 2`, column
    # 21 of `strategy b = tp 4 ; ep 2 etp 2`. The 56 layers need more than the A100's 80 GiB a rank: E402.
    assert 1 * 4 != 2 and len("strategy b = tp 4 ; ") + 1 == 21
    assert _errors(plan_file) == [("E402", 1), ("E702", 21)]


def test_the_refusal_is_the_same_once_the_model_fits(plan_file):
    assert _errors(plan_file, "model.layers=28") == [("E702", 21)]


def test_a_rule_error_and_the_refusal_together_but_not_beside_unformed_degrees():
    text = ('model preset "mixtral-8x7b" cluster {{ gpus = 8 gpu preset "h100-sxm" engine = vllm }} '
            'workload {{ batch = 8 prompt = 512 generate = 64 }} strategy {}')
    # 32 heads over tp 6: E302; an expert's 14,336 FFN over etp 3: E305; the group is tp 6 = 6 GPUs and vLLM's EP
    # is 6 or 1, not 2 × 3: E702, said beside them
    assert 32 % 6 and 14336 % 3 and 2 * 3 == 6 and 2 != 6
    (r,) = check(load_plan_text(text.format("tp 6 ; ep 2 etp 3")))
    assert [d.code for d in r.diagnostics if d.is_error] == ["E302", "E305", "E702"]
    # 32 heads over tp 3 (E302) and tp 3 not dividing the group of 4 (E203): no degrees to refuse
    (r,) = check(load_plan_text(text.format("tp 3 ; ep 2 etp 2")))
    assert r.layout is not None and [d.code for d in r.diagnostics if d.is_error] == ["E203", "E302"]


def test_launch_says_both_before_refusing(plan_file, capsys):
    code = main(["launch", plan_file, "--strategy", "b"])
    err = capsys.readouterr().err
    assert code == 3
    assert "error[E402]" in err and "error[E702]" in err
    assert err.index("error[E402]") < err.index("error[E702]") < err.index("nothing to launch")


def test_search_still_leaves_out_what_the_engine_refuses(plan_file):
    plan = load_plan_with(plan_file, ("model.layers=28", "cluster.gpus=4"))
    found = search(plan, top=5)
    assert found.ranked
    for c in found.ranked:
        from dagc.layout.layout import resolve
        lay = resolve(plan.model, plan.cluster, plan.workload, c.strategy)
        assert engine_refuses(plan, c.strategy, lay) == ()


POOLED = """model preset "mixtral-8x22b"
cluster { gpus = 8 gpu preset "a100-80g" engine = vllm }
workload { batch = 32 prompt = 4096 generate = 512 serving = inflight }
strategy other = prefill 1 < tp 4 ; ep 2 etp 2 > decode 1 < tp 2 >
strategy same = prefill 1 < tp 2 ; ep 2 > decode 1 < tp 4 ; ep 2 etp 2 >
"""


def test_a_pool_over_memory_and_a_pool_the_engine_refuses_are_said_together():
    # Mixtral 8x22B's 140.6 B bf16 parameters over tp 2: 130.98 GiB of weights a rank, over an A100's 80 GiB: E402 on
    # that pool. vLLM's EP over a 4-GPU pool is 4 or 1, not ep 2 × etp 2: E702 at that pool's `ep 2`, whichever
    # pool is over memory (the other one, then the same one's partner).
    assert 2 * 2 == 4 and 2 != 4
    line_other = "strategy other = prefill 1 < tp 4 ; ep 2 etp 2 > decode 1 < tp 2 >"
    line_same = "strategy same = prefill 1 < tp 2 ; ep 2 > decode 1 < tp 4 ; ep 2 etp 2 >"
    other, same = check(load_plan_text(POOLED))
    found = [(d.code, d.span.column if d.span else None, d.message.split(":")[0])
             for d in other.diagnostics if d.is_error]
    # E402 points at the pool (`decode 1`), E702 at the degree the engine cannot say
    assert found == [("E402", line_other.index("decode 1") + 1, "decode pool"),
                     ("E702", line_other.index("ep 2") + 1, "prefill pool")]
    found = [(d.code, d.span.column if d.span else None, d.message.split(":")[0])
             for d in same.diagnostics if d.is_error]
    assert found == [("E402", line_same.index("prefill 1") + 1, "prefill pool"),
                     ("E702", line_same.index("ep 2 etp") + 1, "decode pool")]
    assert not other.verdict.correct and not same.verdict.correct


def test_launch_says_a_pools_refusal_beside_the_other_pools_memory(tmp_path, capsys):
    path = tmp_path / "pd.moe"
    path.write_text(POOLED)
    assert main(["launch", str(path), "--strategy", "other", "--engine", "vllm"]) == 3
    err = capsys.readouterr().err
    assert err.index("error[E402]: decode pool") < err.index("error[E702]: prefill pool") < \
        err.index("nothing to launch")
