"""E706 is the plan's, not a strategy's: `method = mtp` on a checkpoint without MTP weights is refused whatever
the strategy (`dagc.launch.engine_check.PLAN_CODES`), so `check` says it with a hint no strategy is needed for,
`dagc search` says it instead of an empty ranking, and the optimal verdict says why no candidate is legal."""

from __future__ import annotations

from dagc.diagnostics import render
from dagc.lang.load import load_plan_text
from dagc.launch.engine_check import E706_HINT, check, plan_refusals

MTP_MIXTRAL = """model preset "mixtral-8x7b"
cluster { gpus = 8  gpu preset "h100-sxm"  engine = vllm }
workload { batch = 8  prompt = 1000  generate = 200  speculative { method = mtp  tokens = 2  acceptance = 0.7 } }
strategy tp 8
strategy tp 2 ; ep 4
"""


def test_mtp_without_weights_is_a_plan_refusal_located_at_the_method():
    (e,) = plan_refusals(load_plan_text(MTP_MIXTRAL, "mtp.moe"))
    assert e.code == "E706" and e.hint == E706_HINT
    assert render(e).startswith("mtp.moe:3:68: error[E706]: vLLM: `method = mtp` drafts with the model's own MTP")
    assert e.span.text.startswith("method = mtp")
    # a checkpoint with MTP layers, a method that needs none: nothing refused
    assert plan_refusals(load_plan_text(MTP_MIXTRAL.replace('"mixtral-8x7b"', '"deepseek-v3"')
                                        .replace("gpus = 8 ", "gpus = 16 ").replace('"h100-sxm"', '"h200"'))) == ()
    assert plan_refusals(load_plan_text(MTP_MIXTRAL.replace("method = mtp", "method = ngram"))) == ()
    # a plan that chose no engine: the same E706, a fact of the checkpoint (tests/test_mtp_any_engine.py)
    assert [d.code for d in plan_refusals(load_plan_text(MTP_MIXTRAL.replace("engine = vllm", "")))] == ["E706"]


def test_check_gives_every_strategy_the_plan_hint_and_says_why_none_is_legal(tmp_path):
    from conftest import run_dagc

    results = check(load_plan_text(MTP_MIXTRAL, "mtp.moe"))
    assert len(results) == 2
    for r in results:
        (e,) = [d for d in r.diagnostics if d.code == "E706"]
        assert e.hint == E706_HINT          # not the nearest strategy the engine starts: none would
        assert not r.verdict.correct
    (tmp_path / "mtp.moe").write_text(MTP_MIXTRAL)
    proc = run_dagc("check", "mtp.moe", cwd=tmp_path)
    notes = [line.strip() for line in proc.stdout.splitlines() if line.strip().startswith("optimal? ")]
    assert len(notes) == 2 and len(set(notes)) == 1
    assert notes[0].startswith("optimal? no legal strategy was found on this cluster (all ")
    assert notes[0].endswith(" candidates evaluated): the plan's engine starts none of them (E706)")
    assert proc.stdout.count("help: " + E706_HINT) == 2


def test_dagc_search_says_e706_and_searches_nothing(tmp_path):
    from conftest import run_dagc

    (tmp_path / "mtp.moe").write_text(MTP_MIXTRAL)
    proc = run_dagc("search", "mtp.moe", "--svg", str(tmp_path / "p.svg"), cwd=tmp_path)
    assert proc.returncode == 3 and proc.stdout == ""
    assert proc.stderr.startswith("mtp.moe:3:68: error[E706]: ")
    assert "help: no strategy changes the checkpoint" in proc.stderr
    assert proc.stderr.rstrip().endswith("error: mtp.moe: 1 error; the plan's engine starts none of its "
                                         "strategies: nothing was searched")
    assert not (tmp_path / "p.svg").exists()
