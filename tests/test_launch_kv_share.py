"""`dagc launch` judges whether vLLM starts (E732) on the KV cache a calibration's `kv_cache_share` gives it, as
`dagc check` sizes that cache (`dagc.memory.memory.kv_room`): a share of 0.5 halves the tokens the launch's
--gpu-memory-utilization leaves, and the hint's least memory is the room whose half holds one request."""

from __future__ import annotations

import json
import math

import pytest
from test_calibrate_kv_share import KV_BYTES_PER_TOKEN, QWEN14B, RESERVE_BYTES, WEIGHTS_BYTES

from dagc.cli.main import main
from dagc.lang.load import load_plan_text
from dagc.verdict.check import check

L40S = 'cluster { gpus = 1  gpu "l40s" { memory = 48 GB  flops = 362 TFLOPS  hbm = 864 GB/s }  engine = vllm }\n'
# no `chunk`: vLLM's own on a GPU under 70 GiB, 2,048 tokens a step (dagc.plan.step_budget), sizes the activations
PLAN = QWEN14B + L40S + ("workload { batch = 1  prompt = 40000  generate = 500  serving = inflight }\n"
                         'strategy tp 1\ncalibration from "cal.json"\n')
GPU_BYTES = 48e9
UTILIZATION = 0.910          # --gpu-memory-utilization: (48 GB - 4 GiB) / 48 GB = 0.9105, written down to 0.001


def calibration(share: float) -> str:
    """A calibration of vLLM 0.33.0 on this GPU and model (tests/test_calibrate_kv_share.py's, vLLM's), its share."""
    run = {"id": "r.json", "file": "r.json", "tool": "vllm", "requests": 100, "prompt": 2000.0, "generate": 500.0,
           "rate": None, "concurrency": 100, "measured": {"tpot_ms": 10.0}, "dagc": {"tpot_ms": 10.0},
           "cross_validated": {"tpot_ms": 10.0}}
    return json.dumps({"format": 1, "engine": "vllm", "release": "0.33.0", "gpu": "l40s", "gpus": 1,
                       "model": "qwen2.5-14b", "terms": {"step_s": 0.0, "frontend_s": 0.0, "kv_cache_share": share},
                       "runs": [run], "range": {"prompt": [2000.0, 2000.0], "generate": [500.0, 500.0]},
                       "residuals": {"tpot": [0.0]}})


@pytest.mark.parametrize("share", [1.0, 0.5])
def test_launch_judges_e732_on_the_calibrations_share_of_the_kv_room(tmp_path, capsys, share):
    (tmp_path / "cal.json").write_text(calibration(share))
    (tmp_path / "p.moe").write_text(PLAN)
    activation_bytes = check(load_plan_text(PLAN, base_dir=tmp_path))[0].memory.worst.activation_bytes
    room = UTILIZATION * GPU_BYTES - WEIGHTS_BYTES - activation_bytes      # 13,949,779,968 B
    tokens = math.floor(share * room / KV_BYTES_PER_TOKEN)                 # 70,952 at 1; 35,476 at 0.5
    assert tokens == {1.0: 70_952, 0.5: 35_476}[share]
    code = main(["launch", str(tmp_path / "p.moe")])
    said = capsys.readouterr()
    if share == 1.0:          # 70,952 tokens hold one request of 40,500: vLLM starts
        assert code == 0 and "E732" not in said.err + said.out
        return
    assert code == 3
    assert (f"error[E732]: vLLM does not start: one rank's KV cache holds {tokens:,} tokens under "
            "--gpu-memory-utilization 0.910") in said.out
    # one request's KV cache, 40,500 x 196,608 B, is half the room it needs: 15.93 GB with the weights and activations,
    # 45.66 GB, is 0.952 of the GPU written up as the flag is, + the reserve: more than the 48 GB
    need = math.ceil(1000 * (40_500 * KV_BYTES_PER_TOKEN / share + WEIGHTS_BYTES + activation_bytes) / GPU_BYTES)
    assert need == 952
    assert f"a GPU of more than {(need / 1000 * GPU_BYTES + RESERVE_BYTES) / 2**30:.2f} GiB" in said.out
    assert "a GPU of more than 46.56 GiB" in said.out
