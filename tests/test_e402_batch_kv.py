"""E402 when the cluster cannot hold the weights and a static batch's KV cache whatever the strategy: the hint says how
many GPUs of the kind they need, as it does when the weights alone do not fit. Seed 002's "Required GPUs: ~1-2"
(a 10 B-parameter model's 20 GB of weights): on 2 GPUs of 64 GB, 128 requests of 10,240 + 256 tokens hold a KV cache of
128 × 10,496 × 16 layers × 2 × 32 heads × 128 × 2 B = 352.2 GB = 328.00 GiB beside 18.49 GiB of weights; each GPU
holds 64 GB = 59.6046 GiB less its 4.00 GiB reserve, 55.6046 GiB (2 GPUs: 111.21 GiB): ⌈346.49 / 55.60⌉ = 7 GPUs at
least (by hand). Before, the hint was only "spread the weights …, shard the KV cache …, serve fewer requests per
replica (more dp) or use a larger GPU", which no strategy on 2 GPUs can follow."""

from __future__ import annotations

from tests.conftest import run_dagc

PLAN = """model "moe-10b" {{
  layers = 16  hidden = 4096  heads = 32  vocab = 32000
  moe {{ experts = 16  top_k = 2  ffn = 4096  gated = false }}
}}
cluster {{ gpus = {gpus}  gpu "gpu64" {{ memory = 64 GB  flops = 400 TFLOPS  hbm = 1.8 TB/s }} }}
workload {{ batch = 128  prompt = 10240  generate = 256{serving} }}
strategy two = ep 2
"""


def _said(tmp_path, gpus: int = 2, serving: str = "") -> str:
    (tmp_path / "p.moe").write_text(PLAN.format(gpus=gpus, serving=serving))
    r = run_dagc("check", "p.moe", "--no-search", cwd=tmp_path)
    return " ".join((r.stdout + r.stderr).split())


def test_e402_says_the_gpus_the_weights_and_the_batchs_kv_cache_need(tmp_path):
    said = _said(tmp_path)
    assert ("help: the weights and the batch's KV cache, 346.49 GiB (18.49 GiB + 328.00 GiB), exceed what the "
            "cluster's 2 GPUs hold (111.21 GiB: 59.60 GiB each, less the reserve), whatever the strategy: they need at "
            "least about 7 GPUs of this kind; or fewer requests in the batch, or serve in flight (`serving = "
            "inflight`: the engine admits what the KV cache holds)") in said


def test_where_the_cluster_could_hold_them_the_hint_is_the_strategys(tmp_path):
    said = _said(tmp_path, gpus=8)
    assert "help: spread the weights (more pp or ep), shard the KV cache (tp, cp)" in said
    assert "whatever the strategy" not in said
