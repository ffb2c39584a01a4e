"""The fidelity corpus with MLA decode priced as a fused kernel: an experiment, not dagc's model.

Usage:
    python bench/fidelity_mla.py --json /tmp/mla.json --jobs 2      # bench/fidelity_corpus.py's options, all of them

The built-in H200 profile's `mla_decode` table is the calibration's reference implementation — absorbed MLA as two
batched GEMMs and an fp32 softmax over the latent cache (`g_mla_decode`, bench/calibration/measure_ops.py), 16 % of
the H200's 16-bit peak at 128 heads —, where vLLM, SGLang and TensorRT-LLM run a fused MLA kernel. The H100 profile
has no such table and prices MLA as a fused kernel already: the decode-attention efficiencies on the MLA roofline
(`KernelProfile.mla_decode_s`). This script runs bench/fidelity_corpus.py with every profile priced that way
(`fused_mla`), at most FlashMLA's published compute-bound rate, "580 TFLOPS in computation-bound configuration on
H800 SXM5" (https://github.com/deepseek-ai/FlashMLA), of that GPU's 989 TFLOPS 16-bit peak
(`FLASHMLA_PEAK_SHARE`), for every engine alike. docs/cost-model.md ("The 1.2 MoE table's three systematic
residuals, examined") gives its figures and why dagc does not ship it.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
for p in (ROOT, ROOT / "bench"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import fidelity_corpus as fc  # noqa: E402  (bench/, on the path above)

from dagc.kernels import profile as kp  # noqa: E402
from dagc.kernels.tables import evaluate, roofline_s  # noqa: E402

# FlashMLA's compute-bound rate on an H800 SXM5 (580 TFLOPS) over that GPU's dense 16-bit peak (989 TFLOPS).
FLASHMLA_PEAK_SHARE = 580e12 / 989e12


def fused_mla_decode_s(self, batch, ctx, heads, kv_lora=512, rope=64, kv_bytes=2.0, *, lower=False):
    """MLA decode as a profile without an `mla_decode` table prices it — its decode-attention efficiencies on the
    MLA roofline (`KernelProfile.mla_decode_s`) —, and at least its FLOPs at `FLASHMLA_PEAK_SHARE` of the 16-bit
    peak."""
    shape, (b, c, h, lat, rp, kvb) = kp._flat(batch, ctx, heads, kv_lora, rope, kv_bytes)
    h3, lat3, rp3, kvb3 = (x[:, None, None] for x in (h, lat, rp, kvb))
    peak, hbm = self.bf16_flops_per_s, self.hbm_bytes_per_s

    def roof(bb, cc):
        return roofline_s(2.0 * bb * h3 * cc * (2 * lat3 + rp3), kvb3 * bb * cc * (lat3 + rp3), peak, hbm)
    coords = kp._logs(np.stack([h, np.ones_like(h), lat + rp], axis=1))
    t = self._by_kv("attn_decode", kvb, lambda table: evaluate(table, coords, b, c, roof, self.floor_s, lower=lower))
    return kp._out(shape, np.maximum(t, 2.0 * b * h * c * (2 * lat + rp) / (peak * FLASHMLA_PEAK_SHARE)))


@contextlib.contextmanager
def fused_mla() -> Iterator[None]:
    """Every kernel profile prices MLA decode with `fused_mla_decode_s` while the context lasts (the processes a
    corpus run forks inherit it)."""
    reference = kp.KernelProfile.mla_decode_s
    kp.KernelProfile.mla_decode_s = fused_mla_decode_s      # type: ignore[method-assign]
    try:
        yield
    finally:
        kp.KernelProfile.mla_decode_s = reference            # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    with fused_mla():
        return fc.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
