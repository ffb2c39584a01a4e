"""`dagc calibrate RUN --plan PLAN --strategy S` reads a plan without a `strategy` line, the option naming the
strategy the runs measured, as `dagc check --strategy S` does; its calibration is the one of the plan that writes
`strategy S`. Without `--strategy` (nor a manifest's `strategy`) such a plan is still E103."""

from __future__ import annotations

import json

from dagc.cli.main import main

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 1  gpu preset "h100-sxm"  engine = vllm@0.10.1.1 }
workload { batch = 64  prompt = 512  generate = 128  serving = inflight  rate = 4 requests/s  requests = 200 }
"""
# `vllm bench serve --save-result` of 200 requests at 4 a second, 512 + 128 tokens each
RUN = {"backend": "vllm", "model_id": "Qwen/Qwen3-30B-A3B", "num_prompts": 200, "request_rate": 4.0,
       "burstiness": 1.0, "max_concurrency": None, "duration": 52.1, "completed": 200, "total_input_tokens": 102400,
       "total_output_tokens": 25600, "request_throughput": 3.84, "output_throughput": 491.5,
       "total_token_throughput": 2457.5, "mean_ttft_ms": 61.2, "median_ttft_ms": 55.0, "p99_ttft_ms": 120.4,
       "mean_tpot_ms": 11.3, "median_tpot_ms": 11.1, "p99_tpot_ms": 14.2, "mean_itl_ms": 11.2,
       "median_itl_ms": 10.9, "p99_itl_ms": 22.0}


def test_the_strategy_option_supplies_the_plans_missing_strategy(tmp_path, capsys):
    (tmp_path / "rate4.json").write_text(json.dumps(RUN))
    (tmp_path / "bare.moe").write_text(PLAN)
    (tmp_path / "written.moe").write_text(PLAN + "strategy tp 1\n")
    run = str(tmp_path / "rate4.json")
    assert main(["calibrate", run, "--plan", str(tmp_path / "bare.moe"), "-o", str(tmp_path / "no.json")]) == 4
    assert "error[E103]: the plan has no `strategy` statement" in capsys.readouterr().err
    assert main(["calibrate", run, "--plan", str(tmp_path / "bare.moe"), "--strategy", "tp 1",
                 "-o", str(tmp_path / "bare.json")]) == 0                  # was E103, the option unread
    assert main(["calibrate", run, "--plan", str(tmp_path / "written.moe"), "-o", str(tmp_path / "written.json")]) == 0
    capsys.readouterr()
    bare, written = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("bare", "written"))
    assert bare["terms"] == written["terms"] and bare["instance_gpus"] == written["instance_gpus"] == [1, 1]
    assert bare["runs"][0]["dagc"] == written["runs"][0]["dagc"]
