"""The pools table's words (`dagc.cli.print_figures.print_pools`, `dagc.export.serving_md.pooled_summary`): a decode
instance's time is its TPOT, which with speculative decoding is not its step."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from dagc.cli.print_figures import print_pools
from dagc.export.serving_md import pooled_summary
from dagc.lang.load import load_plan_text
from dagc.units import Dimension, format_si
from dagc.verdict.check import check

TEXT = """model preset "qwen3-30b-a3b"
cluster { gpus = 16  gpus_per_node = 8  gpu preset "h100-sxm" }
workload { batch = 64  prompt = 2000  generate = 200  serving = inflight
  speculative { method = eagle  tokens = 2  acceptance = 0.6 } }
strategy prefill 1 < tp 2 > decode 1 < tp 4 >
"""


def test_the_decode_pools_time_is_its_tpot_not_its_step():
    (r,) = check(load_plan_text(TEXT))
    d = r.pooled.decode
    tpot = d.analysis.metrics.tpot_s
    # eagle drafting 2 at acceptance 0.6 emits 1 + 0.6 + 0.36 = 1.96 tokens a step: the step is 1.96 TPOT
    assert r.plan.workload.tokens_per_step == pytest.approx(1.96)
    out = io.StringIO()
    print_pools(Console(file=out, width=200), r)
    row = next(line for line in out.getvalue().splitlines() if line.startswith("│ decode"))
    assert [c.strip() for c in row.split("│")][6] == f"TPOT {format_si(tpot, Dimension.TIME)}"
    md = next(line for line in pooled_summary(r) if line.startswith("| decode"))
    assert f"| TPOT {format_si(tpot, Dimension.TIME)} |" in md and "| step " not in md
