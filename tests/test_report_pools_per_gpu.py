"""report.md's Metrics table gives a disaggregated deployment's throughputs per GPU over every GPU it uses (both
pools), as `dagc check`, report.json and the report's own summary do — not over the one decode instance its
layout sections describe; and its TTFT and TPOT rows say what they are for two pools (no mixed steps)."""

from __future__ import annotations

import re

import pytest

from dagc.export.markdown import report_md
from dagc.lang.load import load_plan_text
from dagc.units import Dimension, format_si
from dagc.verdict.check import check

PLAN = ('model preset "qwen3-30b-a3b"\ncluster { gpus = 16  gpus_per_node = 8  gpu preset "h100-sxm" }\n'
        "workload { batch = 64  prompt = 2000  generate = 200  serving = inflight }\n"
        "strategy prefill 2 < tp 2 > decode 1 < tp 4 ; ep 4 >\n")    # 2 × 2 + 1 × 4 = 8 GPUs; one instance: 4


@pytest.fixture(scope="module")
def result():
    (r,) = check(load_plan_text(PLAN))
    return r


def _row(md: str, name: str) -> tuple[float, float]:
    (line,) = [x for x in md.splitlines() if x.startswith(f"| {name} |")]
    value, per_gpu = (float(re.sub(r"[^0-9.]", "", cell)) for cell in line.split("|")[2:4])
    return value, per_gpu


@pytest.mark.parametrize("name, field", [("prefill throughput", "prefill_tokens_per_s"),
                                         ("decode throughput", "decode_tokens_per_s"),
                                         ("end-to-end throughput", "throughput_tokens_per_s")])
def test_the_metrics_per_gpu_are_over_both_pools(result, name, field):
    assert result.gpus_used == 8 and result.layout.gpus_used == 4
    value, per_gpu = _row(report_md(result), name)
    total = getattr(result.metrics, field)
    assert value == pytest.approx(total, rel=2e-3)
    assert per_gpu == pytest.approx(total / 8, rel=2e-3)          # was total / 4: twice the figure
    assert per_gpu == pytest.approx(getattr(result.metrics, f"{field}_per_gpu"), rel=2e-3)


def test_the_metrics_say_what_a_disaggregated_ttft_and_tpot_are(result):
    md = report_md(result)
    metrics = md[md.index("## Metrics"):md.index("## Critical path")]
    assert "mixed step" not in metrics       # it was "mixed steps to a first token": a decode instance runs none
    assert "| TTFT at the server (a prefill instance's prefill + the KV transfer's visible part) |" in metrics
    assert "| TPOT (the decode instance's decode step) |" in metrics


def test_the_binding_decode_pools_step_is_the_tpot_as_the_report_states_it(result):
    """Until 2026-11-29 the summary said the step to one decimal of a millisecond (`83.3 ms`) beside the TPOT of
    the pools' table and the metrics (`83.34 ms`): one figure, two texts."""
    md = report_md(result)
    said = format_si(result.metrics.tpot_s, Dimension.TIME)       # 13.97 ms: four figures
    assert result.pooled.figures.binding_pool == "decode" and said.endswith(" ms") and len(said) == 8
    assert f"| decode | 1 | `tp 4 ; ep 4` | 1 × 4 | 64 | TPOT {said} |" in md
    assert f"its 1 instance takes {said} a step for 64 requests" in md          # was `14.0 ms`
