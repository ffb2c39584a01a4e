"""SGLang's own memory share: the `mem_fraction_static` its server picks when it is not told one.

Input: the GPU's memory and the flags a server runs with. Output: the share of each GPU SGLang gives the weights and
the KV pool, the rest left for its activations, CUDA graphs and communication buffers. SGLang sizes that rest by a
rule of its own rather than by a dummy run (python/sglang/srt/server_args.py `_handle_gpu_memory_settings`, from
0.5.3; python/sglang/srt/arg_groups/memory_hook.py in later releases), a step of `--chunked-prefill-size` tokens its
activations' measure. `dagc launch` writes dagc's own share and says so where it is above this one
(`dagc.launch.serving.Serving.static_notes`); bench/fidelity_corpus.py gives a benchmark run that left the share to
SGLang this one.
"""

from __future__ import annotations

__all__ = ["sglang_fraction"]

MIB = 2.0**20


def sglang_fraction(capacity_bytes: float, chunk: int, gpus: int, pp: int, attention_dp: int,
                    speculative: bool, graph_bs: int | None = None) -> float:
    """SGLang's default `mem_fraction_static` (python/sglang/srt/server_args.py, `_handle_gpu_memory_settings`):
    (memory − reserved) / memory, reserved (MB) = 512 + 1.5 · max(chunk, 2048) + 2 · cuda_graph_max_bs +
    1024 · tp · pp / 8 (+ 3 · cuda_graph_max_bs · dp with DP attention, + 1.5 · … past 300), at least 10 GiB
    on a GPU of more than 60 GB, + 2 GiB with a draft model; cuda_graph_max_bs `graph_bs` where the server is told
    one (`--cuda-graph-max-bs-decode`), else 256 below tp 4 and 512 from it on an 60–160 GB GPU, 512 above.
    `chunk`: the server's --chunked-prefill-size (over its attention-DP ranks); `gpus`: its --tp-size.

    Example:
        >>> GIB = 2.0**30
        >>> sglang_fraction(80 * GIB, 8192, 8, 1, 1, False)    # 1 − (512 + 1.5·8192 + 2·512 + 1024) / 81920
        0.819
        >>> sglang_fraction(80 * GIB, 2048, 1, 1, 1, False)    # 6,016 MB, raised to 10 GiB
        0.875
        >>> sglang_fraction(80 * GIB, 8192, 8, 1, 1, False, graph_bs=64)    # the decode graphs told: 2 · 64 MB
        0.83
    """
    mem = capacity_bytes / MIB
    if graph_bs is None:
        graph_bs = 512 if mem >= 160 * 1024 or gpus >= 4 else 256
    reserved = 512 + max(chunk, 2048) * 1.5 + graph_bs * 2 + gpus * pp / 8 * 1024
    if attention_dp > 1:
        reserved += graph_bs * attention_dp * 3 + (graph_bs * attention_dp * 1.5 if graph_bs > 300 else 0)
    if mem > 60 * 1024:
        reserved = max(reserved, 10 * 1024)
    if speculative:
        reserved += 2 * 1024
    return round((mem - reserved) / mem, 3)
