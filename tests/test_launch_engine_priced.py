"""`dagc launch --engine X` prices the plan for X, as `--set cluster.engine=X` does: the figures above the
commands are those of the engine whose commands they are (a plan naming trtllm, launched on vLLM)."""

from __future__ import annotations

from pathlib import Path

from dagc.cli.main import main
from dagc.lang.load import strategy_option
from dagc.lang.overrides import load_plan_with
from dagc.launch.engine_check import figures_text
from dagc.verdict.check import check

GPTOSS = str(Path(__file__).parent / "fixtures" / "trial12" / "gptoss-h100-trtllm.moe")


def _figures_line(capsys, *argv: str) -> str:
    code = main(["launch", GPTOSS, "--strategy", "two", *argv])
    out = capsys.readouterr().out
    assert code == 0
    return next(line for line in out.splitlines() if line.startswith("dagc's figures"))


def _checked(*options: str) -> str:
    plan = load_plan_with(GPTOSS, options)
    (result,) = check(plan, strategy_option("two", plan))
    assert result.metrics is not None
    return figures_text(result.metrics)


def test_engine_option_prices_for_that_engine(capsys):
    line = _figures_line(capsys, "--engine", "vllm")
    vllm = _checked("cluster.engine=vllm")
    # not trtllm's TPOT 22.57 ms; vLLM's Triton MoE pads each of the two ranks' expert ffn 1,440 to 1,472 (2.2 %
    # more expert GEMM work, 2026-11-28): TTFT 70.59 → 70.99 ms, TPOT 15.08 → 15.21 ms
    assert vllm.startswith("TTFT 70.99 ms, TPOT 15.21 ms")
    assert line == ("dagc's figures for it, served by vllm 0.33.0 (--engine vllm: the launch uses vllm's "
                    f"flags, and these figures are the plan's priced with `--set cluster.engine=vllm`): {vllm}")


def test_engine_option_of_the_plans_engine_keeps_its_figures(capsys):
    line = _figures_line(capsys, "--engine", "trtllm")
    assert "served by trtllm 1.2.0" in line and line.endswith(_checked())
    # TensorRT-LLM's per-layer time (main, 2026-11-26): 16.52 ms before it, 14.6 ms with it; its routed experts at
    # TRTLLM_HOPPER_EXPERT_TIME_SCALE on this H100 (2026-11-28): 23.4 ms at 2.16, 23.85 ms at its refit 2.22, 22.57 ms
    # at its refit 2.05 (the grouped GEMMs' 7.5 ms a unit of scale, from the two before: 23.85 − 0.17 × 7.5 = 22.575),
    # 25.37 ms at its refit 2.42 (2026-12-01: 22.575 + 0.37 × 7.5 = 25.35)
    assert "TPOT 25.37 ms" in line


def test_a_set_engine_is_kept_and_the_line_says_whose_figures(capsys):
    line = _figures_line(capsys, "--engine", "vllm", "--set", "cluster.engine=sglang")
    assert line.startswith("dagc's figures for it, served by sglang 0.5.23 (the engine a --set names, not "
                           "--engine vllm: vllm's with `--set cluster.engine=vllm`)")
    assert line.endswith(_checked("cluster.engine=sglang"))
