"""E733: vLLM told to take a GPU's whole memory never starts. `--gpu-memory-utilization` is a share of the GPU's
total memory, and vLLM's worker stops at start unless that much is free when it measures; its own CUDA context is
there by then. dagc writes floor₃((capacity − reserve) / capacity). By hand, on one H100 SXM (81,559 MiB =
85,520,809,984 B):

- `reserve = 0 GB`: floor₃(1) = 1.000 — every byte of the GPU: refused;
- `reserve = 100 MB` (100,000,000 B): floor₃(1 − 0.0011693) = floor₃(0.99883) = 0.998: written, not refused;
- the default reserve, 4 GiB (4,294,967,296 B): floor₃(0.94978) = 0.949.

No strategy changes the share, so `dagc search` says the refusal instead of a ranking; other engines are told other
shares (SGLang's `--mem-fraction-static` keeps the activations out of it) and are not refused for it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dagc.lang.load import load_plan_text
from dagc.launch.engine_check import check
from conftest import run_dagc

PLAN = """model preset "qwen3-30b-a3b"
cluster {{ gpus = 1  gpu preset "h100-sxm"  engine = {engine}{reserve} }}
workload {{ batch = 16  prompt = 1000  generate = 200  serving = inflight }}
strategy tp 1
"""
CAPACITY = 81_559 * 2 ** 20


def _plan(tmp_path: Path, engine: str = "vllm", reserve: str = "  reserve = 0 GB") -> Path:
    path = tmp_path / "p.moe"
    path.write_text(PLAN.format(engine=engine, reserve=reserve), encoding="utf-8")
    return path


def test_the_hand_figures() -> None:
    assert CAPACITY == 85_520_809_984
    assert (CAPACITY - 100_000_000) / CAPACITY == pytest.approx(0.99883, abs=1e-5)
    assert (CAPACITY - 4 * 2 ** 30) / CAPACITY == pytest.approx(0.94978, abs=1e-5)


def test_launch_refuses_a_share_of_the_whole_gpu(tmp_path: Path) -> None:
    r = run_dagc("launch", str(_plan(tmp_path)), cwd=tmp_path)
    assert r.returncode == 3
    assert "p.moe:2:59: error[E733]" in r.stdout and "--gpu-memory-utilization 1.000" in r.stdout   # at `reserve`
    assert "dagc's default reserve (4 GiB" in r.stdout          # the hint
    assert "vllm serve" not in r.stdout                         # no command vLLM would refuse


def test_check_of_a_plan_that_names_vllm_says_it() -> None:
    r = check(load_plan_text(PLAN.format(engine="vllm", reserve="  reserve = 0 GB"), "p.moe"))[0]
    e = next(d for d in r.diagnostics if d.code == "E733")
    assert e.span is not None and (e.span.line, e.span.column, e.span.text) == (2, 59, "reserve = 0 GB")
    assert (r.verdict.correct, r.verdict.meets_requirements) == (False, False)


@pytest.mark.parametrize(("reserve", "flag"), [("  reserve = 100 MB", "0.998"), ("", "0.949")])
def test_a_share_below_the_whole_gpu_is_written(tmp_path: Path, reserve: str, flag: str) -> None:
    r = run_dagc("launch", str(_plan(tmp_path, reserve=reserve)), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert f"--gpu-memory-utilization {flag} " in r.stdout and "E733" not in r.stderr


def test_search_says_the_refusal_instead_of_a_ranking(tmp_path: Path) -> None:
    r = run_dagc("search", str(_plan(tmp_path)), cwd=tmp_path)
    assert not (tmp_path / "out").exists()
    assert "error[E733]" in r.stderr and "starts none of its strategies: nothing was searched" in r.stderr


def test_other_engines_are_not_refused_for_it() -> None:
    for engine in ("sglang", "trtllm"):
        r = check(load_plan_text(PLAN.format(engine=engine, reserve="  reserve = 0 GB"), "p.moe"))[0]
        assert "E733" not in {d.code for d in r.diagnostics}, engine


def test_a_disaggregated_strategy_is_told_once_not_once_a_pool(tmp_path: Path) -> None:
    """A refusal both pools get in the same words is the plan's (its memory share here): one E733, no pool's name."""
    text = (PLAN.format(engine="vllm", reserve="  reserve = 0 GB").replace("gpus = 1 ", "gpus = 2 ")
            .replace("strategy tp 1", "strategy prefill 1 < tp 1 > decode 1 < tp 1 >"))
    (r,) = check(load_plan_text(text, "p.moe"))
    told = [d for d in r.diagnostics if d.code == "E733"]
    assert len(told) == 1 and told[0].message.startswith("vLLM does not start")
