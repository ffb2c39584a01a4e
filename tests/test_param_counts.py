"""Parameter counts keep their figures at every size: `dagc check`'s first line wrote a 0.13 B custom model's
43.9 M active parameters as "0.0 B active" (`/ 1e9:.1f`). The terminal's header, report.md and `dagc presets`
share one rule, `dagc.units.format_params`: one decimal in the largest unit (B, M, K) of which the count is 1.0."""

from __future__ import annotations

import pytest

from dagc.lang.load import load_plan_text
from dagc.plan.params import active_params, total_params
from dagc.units import format_params
from conftest import run_dagc

# 4 layers of hidden 1,024, GQA 16/4 heads of 64, 8 experts of ffn 1,024 (top 2), a vocabulary of 8,000
PLAN = """model "small" {
  layers = 4  hidden = 1024  heads = 16  kv_heads = 4  head_dim = 64  vocab = 8000
  moe { experts = 8  top_k = 2  ffn = 1024 }
}
cluster { gpus = 1  gpu preset "h100-sxm" }
workload { batch = 8  prompt = 128  generate = 8 }
strategy tp 1
"""
# a layer: attention q and o 2 × 1,024 × 1,024 + k and v 2 × 1,024 × 256 = 2,621,440; norms 2 × 1,024; router
# 1,024 × 8 = 8,192; an expert 3 × 1,024 × 1,024 = 3,145,728 (gated)
ATTENTION, NORMS, ROUTER, EXPERT = 2_621_440, 2_048, 8_192, 3_145_728
TABLE = 8_000 * 1_024                  # the embedding, and the LM head (untied)
TOTAL = 4 * (ATTENTION + NORMS + ROUTER + 8 * EXPERT) + 1_024 + 2 * TABLE          # 127,575,040
ACTIVE = 4 * (ATTENTION + NORMS + ROUTER + 2 * EXPERT) + 1_024 + TABLE             # 43,885,568: no input lookup


@pytest.mark.parametrize(("n", "text"), [
    (671.03e9, "671.0 B"), (1_026.4e9, "1026.4 B"), (1e9, "1.0 B"), (999.96e6, "1.0 B"), (999.9e6, "999.9 M"),
    (960e6, "960.0 M"), (127_575_040, "127.6 M"), (43_885_568, "43.9 M"), (9.0e6, "9.0 M"), (950_000, "950.0 K"),
    (999.96e3, "1.0 M"), (1_000, "1.0 K"), (999, "999"), (0, "0"),
])
def test_format_params(n, text):
    assert format_params(n) == text


def test_the_hand_counted_model():
    plan = load_plan_text(PLAN)
    assert (total_params(plan.model), active_params(plan.model)) == (TOTAL, ACTIVE) == (127_575_040, 43_885_568)


def test_the_header_and_report_md_show_a_small_models_counts(tmp_path):
    path = tmp_path / "small.moe"
    path.write_text(PLAN)
    done = run_dagc("check", str(path), "--no-search")
    first = done.stdout.splitlines()[0]
    assert "· model small (127.6 M params, 43.9 M active, bf16) ·" in first          # was 0.1 B and 0.0 B
    from dagc.export.markdown import report_md
    from dagc.verdict.check import check
    [r] = check(load_plan_text(PLAN))
    assert "Model **small** (127.6 M parameters, 43.9 M active, " in report_md(r)


def test_presets_keep_their_billions():
    done = run_dagc("presets")
    row = next(line for line in done.stdout.splitlines() if "deepseek-v3" in line)
    assert "671.0 B" in row and "36.6 B" in row
