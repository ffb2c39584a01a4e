"""A fleet's count of GPUs too small to hold the model's weights, whatever the strategy: the cluster's line says so,
with how many GPUs of its kind would, as `dagc search` and `dagc check` say it in E402's hint. Before, the line
counted the rejections alone — `no legal strategy on 2 GPUs: 0 of 34 strategies are legal: E402 (a rank's memory
exceeds the GPU's memory) 34 (`dagc search` gives an example of each, with its hint)` — and a buyer sweeping
`gpus = [1, 2, 4, 8]` was not told the least count worth listing."""

from __future__ import annotations

import json
from pathlib import Path

from dagc.cli.main import main

# GLM-4.5-Air, from its Hugging Face config.json (zai-org/GLM-4.5-Air): 106.9 B parameters, bf16
PLAN = """model "glm-4.5-air" {
  layers = 46  hidden = 4096  heads = 96  kv_heads = 8  head_dim = 128  vocab = 151552
  moe { experts = 128  top_k = 8  ffn = 1408  shared = 1  shared_ffn = 1408  dense_layers = 1  dense_ffn = 10944 }
}
cluster { gpus = 8  gpu preset "h100-sxm" }
workload { batch = 64  prompt = 2000  generate = 400  serving = inflight  requests = 400 }
require { ttft_p99 <= 2 s  tpot_p90 <= 40 ms }
fleet {
  gpu preset "h100-sxm" { price = 2.49 $/h }
  gpus = [1, 2]
  rate = 6 requests/s
}
"""

# 106.9 B parameters × 2 bytes = 199.03 GiB; an H100 holds 79.65 GiB less dagc's 4 GiB reserve, 75.65 GiB:
# 199.03 / 75.65 = 2.63, at least 3 GPUs; 8-bit weights, 99.51 GiB, 1.32: at least 2
TWO = ("no legal strategy on 2 GPUs: 0 of 34 strategies are legal: E402 (a rank's memory exceeds the GPU's memory) "
       "34 — the weights alone, 199.03 GiB, exceed what the cluster's 2 GPUs hold (151.29 GiB: 79.65 GiB each, less "
       "the reserve), whatever the strategy: they need at least about 3 GPUs of this kind, more with the KV cache; or "
       "8-bit weights (`weights = fp8`: 99.51 GiB, at least about 2 GPUs, which these 2 hold); or a GPU with more "
       "memory")
ONE = ("no legal strategy on 1 GPU: 0 of 3 strategies are legal: E402 (a rank's memory exceeds the GPU's memory) 3 — "
       "the weights alone, 199.03 GiB, exceed what the cluster's 1 GPU holds (75.65 GiB: 79.65 GiB each, less the "
       "reserve), whatever the strategy: they need at least about 3 GPUs of this kind")


def test_a_count_too_small_for_the_weights_says_how_many_would_hold_them(tmp_path: Path, capsys):
    (tmp_path / "plan.moe").write_text(PLAN)
    assert main(["fleet", str(tmp_path / "plan.moe"), "-o", str(tmp_path / "out")]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert f"not meeting: h100-sxm, gpus 2: {TWO}" in out
    assert f"not meeting: h100-sxm, gpus 1: {ONE}" in out
    notes = {row["label"]: row["note"]
             for row in json.loads((tmp_path / "out" / "fleet.json").read_text())["fleet"]["not_meeting"]}
    assert notes["h100-sxm, gpus 2"] == TWO
    assert notes["h100-sxm, gpus 1"].startswith(ONE)
    assert f"- h100-sxm, gpus 2: {TWO}" in (tmp_path / "out" / "fleet.md").read_text()
