"""What vLLM does not start for the memory share it is told (E733): `--gpu-memory-utilization` is a share of each
GPU's total memory, and its worker stops at start unless that much is free then (`vllm/v1/worker/gpu_worker.py`,
`init_device`: "Free memory on device … on startup is less than desired GPU memory utilization"). The process's own
CUDA context is already on the GPU when it measures, so a share of 1.000 — dagc writes (capacity − reserve) /
capacity, rounded down to 0.001, and a plan with `reserve = 0 GB` makes it 1.000 — is never free: vLLM never starts
with it. The share is the plan's (its GPU, reserve and memory requirement), the same for every strategy.
"""

from __future__ import annotations

from .degrees import Degrees
from .launch import Refusal

__all__ = ["CODE", "HINT", "refusal"]

CODE = "E733"
HINT = ("leave vLLM's process room on each GPU before it measures the free memory — its CUDA context, and whatever "
        "else runs there: dagc's default reserve (4 GiB: drop `reserve`), or a `reserve` that covers them")


def refusal(d: Degrees) -> list[Refusal]:
    """E733 when the share `dagc launch` writes for vLLM is the GPU's whole memory (`Degrees.whole_gpu`)."""
    if not d.whole_gpu:
        return []
    return [Refusal(CODE, "vLLM does not start: --gpu-memory-utilization 1.000 (the GPU's memory less a reserve under "
                    "0.1 % of it) asks for every byte of each GPU, and its worker stops unless that much is free when "
                    "it starts (\"Free memory on device … on startup is less than desired GPU memory utilization\", "
                    "vllm/v1/worker/gpu_worker.py), which its own CUDA context already is not", "cluster.reserve")]
