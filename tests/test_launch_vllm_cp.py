"""vLLM's `cp` on a model without MLA (E731): vLLM 0.33's `ModelConfig.verify_with_parallel_config` refuses
`--decode-context-parallel-size` above 1 unless attention TP is above the model's KV heads, DCP at most TP // KV
heads and the query heads per KV head divide by it; `dagc launch`, `dagc check` and the search of a plan on vLLM
agree."""

from __future__ import annotations

import dataclasses

from dagc.cli.main import main
from dagc.lang.load import load_plan_text
from dagc.launch.degrees import degrees
from dagc.launch.engine_check import check, engine_refuses
from dagc.launch.engines import launch_result
from dagc.launch.vllm_cp import dcp_refusal
from dagc.layout.layout import resolve
from dagc.plan.printer import aggregated
from dagc.rules import explain
from dagc.search.space import candidates

PLAN = """model preset "MODEL"
cluster { gpus = GPUS  gpu preset "h200"  ENGINE }
workload { batch = 16 prompt = 32000 generate = 1000 serving = inflight }
strategy long = STRATEGY
"""


def _plan(model: str = "qwen3-235b-a22b", strategy: str = "tp 4 cp 2 ; ep 8", gpus: int = 8,
          engine: str = "engine = vllm") -> str:
    return PLAN.replace("MODEL", model).replace("STRATEGY", strategy).replace("GPUS", str(gpus)) \
        .replace("ENGINE", engine)


def test_check_refuses_cp_on_qwen3_235b_with_tp_4_not_above_its_4_kv_heads():
    (r,) = check(load_plan_text(_plan()))
    (e731,) = [d for d in r.diagnostics if d.code == "E731"]
    assert "--tensor-parallel-size 4 is not above the model's 4 KV heads" in e731.message
    assert "ModelConfig.verify_with_parallel_config" in e731.message
    assert not r.verdict.correct
    # the nearest vLLM runs on the 8 GPUs: no cp (cp 2 → 1 and attention DP 1 → 2: distance 2, as `tp 8 ; ep 8`;
    # the TP the plan wrote is kept)
    assert e731.hint.startswith("the nearest strategy vLLM can run: `tp 4 ; ep 8` (")


def test_launch_refuses_it_with_exit_3_and_writes_no_dcp_command(tmp_path, capsys):
    for model, kv in (("qwen3-235b-a22b", 4), ("mixtral-8x22b", 8)):
        plan = tmp_path / f"{model}.moe"
        plan.write_text(_plan(model, engine=""))
        assert main(["launch", str(plan), "--engine", "vllm"]) == 3
        out = capsys.readouterr().out
        assert "error[E731]" in out and f"not above the model's {kv} KV heads" in out
        assert "--decode-context-parallel-size" not in out.replace("needs --decode-context-parallel-size 2", "")
        assert "try: dagc launch" in out


def test_the_search_of_a_plan_on_vllm_leaves_cp_out_where_vllm_refuses_it():
    chosen = load_plan_text(_plan())
    unchosen = load_plan_text(_plan(engine=""))
    assert any(s.cp == 2 for s, _, _ in candidates(unchosen))         # 32,000-token prompts put cp 2 in the space
    assert not any(s.cp > 1 for s, _, _ in candidates(chosen))        # 8 GPUs: tp ≤ 4 with cp 2, never above 4 heads
    s = aggregated(tp=4, cp=2, ep=8)
    assert engine_refuses(chosen, s, resolve(chosen.model, chosen.cluster, chosen.workload, s)) == ("E731",)


def test_cp_vllm_accepts_is_launched_with_dcp_spanning_the_pcp_axis():
    """Qwen3-235B on 16 H200s, tp 8 cp 2: TP 8 > 4 KV heads, DCP 2 ≤ 8 // 4 = 2, 16 query heads per KV head."""
    (r,) = check(load_plan_text(_plan(strategy="tp 8 cp 2 ; ep 16", gpus=16)))
    assert r.verdict.correct and not [d for d in r.diagnostics if d.code == "E731"]
    (x,) = launch_result(r, ("vllm",))
    (serve,) = [c for c in x.commands if c.argv[:2] == ("vllm", "serve")]
    argv = " ".join(serve.argv)
    assert "--tensor-parallel-size 8 --prefill-context-parallel-size 2 --decode-context-parallel-size 2" in argv


def test_each_condition_of_vllm_and_mla_models_not_held_to_it():
    p = load_plan_text(_plan(strategy="tp 8 cp 2 ; ep 16", gpus=16))
    d = degrees(p, check(p)[0].strategy)
    assert (d.heads, d.kv_heads, d.tp, d.cp, d.mla) == (64, 4, 8, 2, False) and dcp_refusal(d) == []
    cases = {
        (64, 8): "--tensor-parallel-size 8 is not above the model's 8 KV heads",
        (64, 2): "",                                                   # 2 ≤ 8 // 2 = 4, 32 per KV head
        (24, 8): "--tensor-parallel-size 8 is not above",
        (40, 4): "",                                                   # 10 per KV head, even
    }
    for (heads, kv), want in cases.items():
        found = dcp_refusal(dataclasses.replace(d, heads=heads, kv_heads=kv))
        assert (want in found[0].message) if want else found == []
    # cp 4 on tp 8 over 4 KV heads: 4 > 8 // 4 = 2
    (cp4,) = dcp_refusal(dataclasses.replace(d, layout=dataclasses.replace(d.layout, cp=4)))
    assert "4 is above --tensor-parallel-size // KV heads = 8 // 4 = 2" in cp4.message
    # 6 query heads over 2 KV heads: 3 per KV head, which 2 does not divide (TP 8 > 2, DCP 2 ≤ 4)
    odd = dcp_refusal(dataclasses.replace(d, heads=6, kv_heads=2))
    assert odd and "the model's 3 query heads per KV head do not divide by 2" in odd[0].message
    assert dcp_refusal(dataclasses.replace(d, mla=True, kv_heads=128)) == []


def test_deepseek_v3_cp_on_vllm_is_launched_as_before():
    (r,) = check(load_plan_text(_plan("deepseek-v3", "tp 4 cp 2 ; ep 8")))
    assert not [d for d in r.diagnostics if d.code == "E731"]


def test_explain_E731():
    text = explain("E731")
    assert text is not None and "verify_with_parallel_config" in text and "Bad:" in text and "Fixed:" in text

