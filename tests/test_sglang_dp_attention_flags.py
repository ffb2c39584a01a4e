"""SGLang's data-parallel attention pasted as its flags — `--tp-size 16 --attn-dp-size 4 --ep-size 16`, as `dagc launch
--engine sglang` writes `tp 4 ; ep 16`, or `--dp-size 4 --enable-dp-attention` — is told the strategy in dagc's axes
(`dagc.lang.dp_attention`). Until 2026-11-30 it got "remove it; docs/language.md describes what may stand here": dagc's
own SGLang command, pasted back as a strategy, led nowhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text
from conftest import run_dagc

PLAN = """model "seed-moe-10b" {
  layers = 16  hidden = 4096  heads = 32  vocab = 32000
  moe { experts = 16  top_k = 2  ffn = 4096  gated = false }
}
cluster { gpus = 16  gpu preset "h100-sxm" }
workload { batch = 64  prompt = 1024  generate = 128 }
"""


def _hint(strategy: str) -> str:
    with pytest.raises(PlanError) as exc:
        load_plan_text(PLAN + f"strategy {strategy}\n")
    (d,) = exc.value.diagnostics
    assert d.code in ("E001", "E101"), d
    return d.hint or ""


@pytest.mark.parametrize("flags, meant", [
    ("--tp-size 16 --attn-dp-size 4 --ep-size 16", "tp 4 ; ep 16"),
    ("--tp-size 16 --ep-size 16 --dp-size 4 --enable-dp-attention", "tp 4 ; ep 16"),
    ("--tp 16 --ep 16 --dp 4 --enable-dp-attention", "tp 4 ; ep 16"),
    ("--tp-size 16 --attn-dp-size 4 --ep-size 8", "tp 4 ; ep 8 etp 2"),    # SGLang's MoE TP: tp-size / ep-size
    ("--tp-size 16 --dp-size 4 --enable-dp-attention", "tp 4 ; etp 16"),  # no EP: the MoE split over all 16
    ("fast = --tp 16 --attn-dp-size 16 --ep 16 with overlap none", "fast = tp 1 ; ep 16 with overlap none"),
])
def test_sglang_dp_attention_flags_are_written_as_dagc_reads_them(flags, meant):
    assert _hint(flags).startswith(f"did you mean `{meant}`?")
    load_plan_text(PLAN + f"strategy {meant}\n")                             # the rewrite reads


@pytest.mark.parametrize("flags", [
    "--tp-size 16 --attn-dp-size 3 --ep-size 16",          # 3 does not divide 16: no reading
    "--tp-size 16 --dp-size 4 --attn-dp-size 4",           # both: which counts is unsaid
])
def test_sizes_that_do_not_read_are_not_rewritten(flags):
    assert "did you mean `tp" not in _hint(flags)


@pytest.mark.parametrize("strategy", ["tp 4 ; ep 16", "tp 4 ; ep 8 etp 2", "tp 2 ; ep 8"])
def test_dagc_launchs_own_sglang_flags_read_back_as_the_strategy(tmp_path: Path, strategy):
    """The round trip: `dagc launch --engine sglang` of a strategy, its parallel flags pasted back as a strategy."""
    (tmp_path / "plan.moe").write_text(PLAN + f"strategy {strategy}\n")
    out = run_dagc("launch", str(tmp_path / "plan.moe"), "--engine", "sglang", "-o", str(tmp_path / "out"))
    assert out.returncode == 0, out.stderr
    m = re.search(r"--tp-size \d+(?: --attn-dp-size \d+)?(?: --ep-size \d+)?", out.stdout)
    assert m is not None, out.stdout
    assert _hint(m[0]).startswith(f"did you mean `{strategy}`?"), (m[0], _hint(m[0]))
