"""E706 whatever the engine: MTP drafting from a checkpoint without MTP layers is refused on a plan that names no
engine (or names `pytorch`, which has no launcher) exactly as on one that names vLLM — the same code, located at
`method`, with the same hint — by `check`, `dagc search` and the optimal verdict; dagc no longer prices a draft
MoE layer the checkpoint does not have."""

from __future__ import annotations

from dagc.diagnostics import render
from dagc.lang.load import load_plan_text
from dagc.launch.engine_check import E706_HINT, check, plan_refusals

GPT_OSS = """model preset "gpt-oss-120b"
cluster { gpus = 4  gpu preset "h100-sxm" ENGINE }
workload { batch = 64  prompt = 2048  generate = 1024  serving = inflight
  speculative { method = mtp  tokens = 3  acceptance = 0.7 } }
require { ttft <= 1 s  tpot <= 20 ms }
strategy one = tp 1
"""


def _e706(engine: str):
    (r,) = check(load_plan_text(GPT_OSS.replace("ENGINE", engine), "p.moe"))
    found = [d for d in r.diagnostics if d.code == "E706"]
    return r, found


def test_e706_on_every_engine_and_none():
    for engine in ("", "engine = vllm", "engine = sglang", "engine = trtllm", "engine = pytorch"):
        r, found = _e706(engine)
        assert len(found) == 1, engine
        (e,) = found
        assert e.hint == E706_HINT and e.span.text.startswith("method = mtp"), engine
        assert render(e).startswith("p.moe:4:17: error[E706]: "), engine
        assert not r.verdict.correct and not r.verdict.meets_requirements, engine
    _, (e,) = _e706("")
    assert e.message.startswith("gpt-oss-120b: `method = mtp` drafts with the model's own MTP module, which its "
                                "checkpoint does not ship (every engine dagc launches")


def test_a_checkpoint_with_mtp_layers_is_not_refused_without_an_engine():
    plan = GPT_OSS.replace('"gpt-oss-120b"', '"deepseek-v3"').replace("gpus = 4 ", "gpus = 16 ") \
        .replace('"h100-sxm"', '"h200"').replace("ENGINE", "").replace("tp 1", "tp 8 ; ep 8")
    assert plan_refusals(load_plan_text(plan)) == ()
    (r,) = check(load_plan_text(plan))
    assert not [d for d in r.diagnostics if d.code == "E706"]


def test_cli_check_and_search_without_an_engine(tmp_path):
    from conftest import run_dagc

    (tmp_path / "p.moe").write_text(GPT_OSS.replace("ENGINE", ""))
    proc = run_dagc("check", "p.moe", cwd=tmp_path)
    assert proc.returncode != 0
    assert "p.moe:4:17: error[E706]: " in proc.stdout and "help: " + E706_HINT in proc.stdout
    assert "verdict: correct: no" in proc.stdout
    assert ("candidates evaluated): no engine dagc starts any of them (E706)") in proc.stdout
    proc = run_dagc("search", "p.moe", cwd=tmp_path)
    assert proc.returncode == 3 and proc.stdout == ""
    assert proc.stderr.rstrip().endswith("error: p.moe: 1 error; no engine dagc launches starts any of its "
                                         "strategies: nothing was searched")


DSV3_SP = """model preset "deepseek-v3"
cluster { gpus = 16  gpu preset "h200"  gpus_per_node = 8  inter_node = 50 GB/s ENGINE }
workload { batch = 128  prompt = 2000  generate = 400  serving = inflight }
strategy tp 8 sp ; ep 16
strategy tp 8 ; ep 16
"""


def test_w533_when_no_engine_starts_the_strategy_on_a_plan_that_names_none():
    sp, plain = check(load_plan_text(DSV3_SP.replace("ENGINE", ""), "p.moe"))
    (w,) = [d for d in sp.diagnostics if d.code == "W533"]
    assert not w.is_error and sp.verdict.correct       # a warning: the plan chose no engine to refuse it
    assert render(w).startswith("p.moe:4:15: warning[W533]: no engine dagc launches starts this strategy (vLLM "
                                "E709; SGLang E709; TensorRT-LLM E721, E709: `dagc launch`)")
    assert w.hint.startswith("the nearest strategy vLLM can run: `tp 8 ; ep 16` (")
    assert not [d for d in plain.diagnostics if d.code == "W533"]
    # a named engine says its own refusal, as an error; pytorch, which has no launcher, says nothing
    (named, _) = check(load_plan_text(DSV3_SP.replace("ENGINE", "engine = sglang")))
    assert [d.code for d in named.diagnostics if d.code in ("W533", "E709")] == ["E709"]
    (ref, _) = check(load_plan_text(DSV3_SP.replace("ENGINE", "engine = pytorch")))
    assert not [d for d in ref.diagnostics if d.code in ("W533", "E709")]
