"""`dagc check`'s in-flight line says what f_g is, as report.md does: the share of the steps of a group of
attention-DP ranks that meet in every all-to-all, by which TPOT mixes the two steps — the terminal printed
"f 4.0 %, f_g 27.9 % (group of 8)" and left f_g to docs/cost-model.md."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

import dagc
from dagc.cli.print_check import print_result
from dagc.lang.load import load_plan_text

PLAN = """model preset "qwen3-30b-a3b"
cluster {{ gpus = 8  gpu preset "h200" }}
workload {{ batch = 128  prompt = 3000  generate = 400  serving = inflight }}
strategy {strategy}
"""


def _line(strategy: str) -> tuple[str, object]:
    [r] = dagc.check(load_plan_text(PLAN.format(strategy=strategy)), search=False)
    out = io.StringIO()
    print_result(Console(file=out, width=400, color_system=None), r)
    [line] = [s for s in out.getvalue().splitlines() if s.startswith("in flight (chunk")]
    return line, r


def test_f_g_is_said_and_tpot_mixes_the_steps_by_it():
    line, r = _line("tp 1 ; ep 8")
    serving = r.compiled.metrics.rates
    # f, a rank's share of steps with a chunk, as printed; 8 ranks meet in every all-to-all: f_g = 1 − (1 − f)^8
    f = float(line.split("steps with a chunk f ")[1].split(" %")[0]) / 100
    f_g = float(line.split("f_g ")[1].split(" %")[0]) / 100
    assert f_g == pytest.approx(1 - (1 - f) ** 8, abs=0.002)
    # by hand: 16 requests a rank, each one mixed step for its prompt (3,000 tokens in a chunk of 8,192) over its 400
    # decode steps: f = 16 / 400 = 4.0 %, f_g = 1 − 0.96^8 = 27.9 %
    assert (f, f_g) == (pytest.approx(0.040), pytest.approx(0.279))
    assert "of its group's (8 attention-DP ranks, which meet in every all-to-all: TPOT mixes the two steps by f_g)" \
        in line
    assert r.metrics.tpot_s == pytest.approx(f_g * serving.mixed_step_s + (1 - f_g) * serving.decode_step_s,
                                             rel=0.01)


def test_a_group_of_one_rank_says_f_alone():
    line, _ = _line("tp 8")
    assert "f_g" not in line and "(TPOT mixes the two steps by f)" in line
