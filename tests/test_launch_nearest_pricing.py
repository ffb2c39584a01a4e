"""A nearest strategy's figures under an engine's heading say whose pricing they are when they are not that engine's:
`dagc launch` without `--engine` prints every engine's commands under the figures of the plan's engine (docs/launch.md).
"""

from __future__ import annotations

from conftest import run_dagc

PLAN = """model preset "deepseek-v3"
cluster { gpus = 16  gpus_per_node = 8  gpu preset "h200" }
workload { batch = 256  prompt = 4000  generate = 500  serving = inflight }
require { ttft <= 2 s  tpot <= 60 ms }
strategy wide = tp 1 ; ep 16
"""


def _trtllm_hint(out: str) -> str:
    heading = out.split("## TensorRT-LLM", 1)[1]
    return next(line for line in heading.splitlines() if "= help: the nearest strategy TensorRT-LLM can run" in line)


def test_the_nearest_strategy_under_another_engines_heading_says_whose_figures_they_are(tmp_path):
    """Until 2026-12-02 TensorRT-LLM's E721 hint quoted `tp 1 ; ep 16` at vLLM's TTFT 360 ms, TPOT 157.5 ms without
    saying so; `--engine trtllm` gives TensorRT-LLM's own, 426.1 ms and 201.4 ms, and says nothing more."""
    (tmp_path / "p.moe").write_text(PLAN)
    every = run_dagc("launch", "p.moe", "--strategy", "tp 2 ; ep 16", cwd=tmp_path)
    hint = _trtllm_hint(every.stdout)
    assert ("`tp 1 ; ep 16` (TTFT 360 ms, TPOT 157.5 ms, 101.6 tokens/s/GPU, priced as vLLM serves it, as the "
            "header's figures are: `--engine trtllm` prices it as TensorRT-LLM serves it); it misses") in hint
    own = _trtllm_hint(run_dagc("launch", "p.moe", "--strategy", "tp 2 ; ep 16", "--engine", "trtllm",
                                cwd=tmp_path).stdout)
    assert "`tp 1 ; ep 16` (TTFT 426.1 ms, TPOT 201.4 ms, 79.46 tokens/s/GPU); it misses" in own
