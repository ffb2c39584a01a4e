"""`dagc search --rate`'s conclusion names a steady-state requirement's figure as the steady state's: at 8 requests/s
of 2,304 tokens (18,432 tokens/s arriving) it quoted `throughput >= 20000 tokens/s` at 21,736 tokens/s unsaid until
2026-12-02, a figure the run at that rate cannot reach. The odds of a load requirement, and of memory, stay as they
were; so does every other sentence that uses the caveat (report.md's Summary)."""

from __future__ import annotations

from dagc.export.bands_words import met_caveat
from dagc.plan.workload import Requirement, RequirementKind
from dagc.verdict.bands import Band, Odds
from dagc.verdict.verdict import RequirementResult

THROUGHPUT = RequirementResult(Requirement(kind=RequirementKind.THROUGHPUT, op=">=", target=2e4,
                                           text="throughput >= 20000 tokens/s"), 21736.0)
P99 = RequirementResult(Requirement(kind=RequirementKind.TTFT, op="<=", target=1.0, percentile=99,
                                    text="ttft_p99 <= 1 s"), 0.95)
MEMORY = RequirementResult(Requirement(kind=RequirementKind.MEMORY, op="<=", target=0.9, text="memory <= 90 %"), 0.89)
UNSURE = Odds(0.66, "uncertain", Band(21736.0, 18163.0, 23724.0, 0.8, "quantity=throughput", 125))


def test_the_rate_conclusion_says_a_steady_state_figure_is_one() -> None:
    said = met_caveat([THROUGHPUT], [UNSURE], steady=True)
    assert said == ("within dagc's error, uncertain: `throughput >= 20000 tokens/s` 21,736 tokens/s (prompt + "
                    "generated tokens) [18,163–23,724] in the steady state → uncertain (p ≈ 0.66)")


def test_load_and_memory_requirements_and_other_sentences_are_unchanged() -> None:
    p99 = Odds(0.6, "uncertain", Band(0.95, 0.8, 1.1, 0.8, "quantity=ttft", 24))
    memory = Odds(0.7, "uncertain", None)
    said = met_caveat([P99, MEMORY], [p99, memory], steady=True) or ""
    assert "steady state" not in said and "`ttft_p99 <= 1 s`" in said and "`memory <= 90 %`" in said
    assert "steady state" not in (met_caveat([THROUGHPUT], [UNSURE]) or "x")


PLAN = """model "moe-30b" {
  layers = 16  hidden = 6144  heads = 48  kv_heads = 8  head_dim = 128  vocab = 32000  weights = bf16
  moe { experts = 64  top_k = 2  ffn = 2048 }
}
cluster { gpus = 16  gpu preset "generic-400t" }
workload { batch = 128  prompt = 2048  generate = 256 }
require { tpot <= 50 ms  throughput >= 20000 tokens/s  memory <= 64 GB }
"""


def test_search_at_a_rate_says_it(tmp_path, capsys) -> None:
    from dagc.cli.main import main
    plan = tmp_path / "s004.moe"
    plan.write_text(PLAN)
    main(["search", str(plan), "--rate", "8", "--svg", str(tmp_path / "p.svg")])
    [line] = [x for x in capsys.readouterr().out.splitlines() if x.startswith("conclusion:")]
    assert "keeps up with 8 requests/s and meets every requirement" in line
    assert "`throughput >= 20000 tokens/s` 21,736 tokens/s (prompt + generated tokens) [18,163–23,724] in the " \
           "steady state → uncertain (p ≈ 0.66)" in line
