"""A strategy refused for not fitting (E402) is priced at one request in flight (its KV cache holds none of the
batch): its figures are labelled as that one request's — the terminal's metrics and requirements tables, report.md
and report.json's added `metrics_at_requests` — and the odds column says "not judged (errors)", not "misses",
beside figures well inside their targets."""

from __future__ import annotations

from dagc.export.bands_md import bands_md
from dagc.export.markdown import report_md
from dagc.export.report import report_json
from dagc.lang.load import load_plan_text
from dagc.verdict.check import check_strategy

PLAN = """model preset "deepseek-v3"
cluster { gpus = 8  gpu preset "h100-sxm" }
workload { batch = 32  prompt = 2000  generate = 400  serving = inflight }
require { tpot <= 50 ms }
strategy tp 8
"""


def _result(text: str = PLAN):
    plan = load_plan_text(text, "p.moe")
    return check_strategy(plan, plan.strategies[0])


def test_e402_figures_are_one_requests_and_said_so():
    r = _result()
    assert "E402" in {d.code for d in r.diagnostics}
    assert r.metrics.concurrency_effective == 1 and r.figures_requests == 1
    assert r.figures_requests_text.startswith("one request's figures, not the deployment's: the strategy has "
                                              "errors, so dagc priced 1 request in flight, not the plan's batch of 32")
    j = report_json(r)
    assert j["metrics_at_requests"] == 1 and j["metrics"]["concurrency_effective"] == 1
    assert "**One request's figures, not the deployment's" in report_md(r)
    # the odds: not "misses" beside 8.849 ms against 50 ms; report.json's class stays `misses` (docs/outputs.md)
    table = [line for line in bands_md(r) if line.startswith("| `tpot <= 50 ms`")]
    assert table and table[0].endswith("| not judged (errors) |")
    assert j["requirements"][0]["class"] == "misses"


def test_a_valid_strategy_has_no_such_label():
    r = _result(PLAN.replace("gpus = 8 ", "gpus = 16 ").replace('"h100-sxm"', '"h200"').replace("tp 8", "tp 8 ; ep 8")
                .replace("gpu preset", "gpus_per_node = 8 gpu preset"))
    assert r.valid and r.figures_requests is None and r.figures_requests_text is None
    assert report_json(r)["metrics_at_requests"] is None
