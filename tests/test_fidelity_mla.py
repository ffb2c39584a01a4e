"""bench/fidelity_mla.py: the corpus with MLA decode priced as a fused kernel (an experiment, docs/cost-model.md)."""

from __future__ import annotations

import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import fidelity_mla as fm  # noqa: E402, I001

from dagc.kernels.kernels import builtin_profile  # noqa: E402


def test_fused_mla_is_flashmlas_rate_where_compute_binds_and_the_reference_outside():
    """256 requests of 4,096 tokens at 128 heads on the H200: 2 · 256 · 128 · 4,096 · (2 · 512 + 64) FLOPs at 580 of
    989 TFLOPS (the decode-attention efficiencies would be faster), and the measured reference (1.790 ms) once
    the context ends."""
    h200 = builtin_profile("h200")
    flops = 2 * 256 * 128 * 4096 * (2 * 512 + 64)
    with fm.fused_mla():
        assert float(h200.mla_decode_s(256, 4096, 128)) == pytest.approx(flops / 580e12)
    assert float(h200.mla_decode_s(256, 4096, 128)) == pytest.approx(1.7903e-3, rel=1e-3)
