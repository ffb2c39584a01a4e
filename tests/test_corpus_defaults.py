"""The corpus's engine settings that a source left at the engine's default, against that engine's own rule at the
run's release (bench/corpus/README.md: `batch`, `chunk` and the memory share are the engine's default where the
source leaves them). The rules, as each release's source has them:

- SGLang 0.3.0 (its wheel on PyPI, sglang/srt/server_args.py `ServerArgs.__post_init__`): mem_fraction_static by TP
  size alone — 0.79 from TP 16, 0.83 from 8, 0.85 from 4, 0.87 from 2, else 0.88.
- SGLang 0.5.3rc0 (the same file, `__post_init__`): mem_fraction_static = (memory − reserve) / memory, the reserve
  (2.8 + tp × pp / 10) GiB below 35 GiB, (9.5 + tp × pp / 2) GiB below 90 GiB, (12 + tp × pp / 2) GiB below
  160 GiB, 32 GiB above.
- SGLang 0.3.0: chunked_prefill_size 8192, the dataclass default, on every GPU. SGLang 0.5.3rc0 to 0.5.8.post1
  (`_handle_gpu_memory_settings` from 0.5.3, `__post_init__` in 0.5.3rc0): 8192 on a GPU of 60 to 160 × 1024 MiB
  (A100-80G, H100, H200), 16384 from 160 × 1024 MiB (B200, B300, GB200, GB300), divided by dp_size only with
  --enable-dp-attention and a --dp-size above 1.
- vLLM 0.10.2 and 0.11.0 (vllm/engine/arg_utils.py, `_set_default_args`): the OpenAI API server's
  max_num_batched_tokens 8192 and max_num_seqs 1024 on a GPU of 70 GiB or more whose name has no "a100", else 2048
  and 256.
- `vllm bench serve` (vllm/benchmarks/serve.py in the 0.11.0 wheel): `--request-rate` defaults to inf, at which
  `get_request` waits 0 s before each request and `benchmark` starts every request's task at once behind an
  `asyncio.Semaphore(max_concurrency)`: the first `--max-concurrency` requests are sent together (`ramp = 0 s`).

The memory of a GPU is what nvidia-smi reports as memory.total, dagc's preset (`dagc presets`), in MiB."""

from __future__ import annotations

import re
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import fidelity_corpus as fc  # noqa: E402, I001

MIB = 1 << 20


@pytest.fixture(scope="module")
def runs():
    return [r for f in fc.load_corpus() for r in f.runs]


def _mib(run) -> float:
    return fc.lowered(run).cluster.gpu.memory_bytes / MIB


def _flags(run) -> str:
    """Every setting the source states, as one string (the server command, the flags)."""
    return " ".join(str(v) for v in run.settings.values())


def _workload(run, key: str) -> int | None:
    m = re.search(rf"\b{key} = (\d+)", run.plan)
    return int(m.group(1)) if m else None


def _tp(run) -> int:
    return int(run.settings.get("tp", run.settings.get("tensor_parallel", 1)))


def sglang_030_fraction(tp: int) -> float:
    """SGLang 0.3.0's default mem_fraction_static (module docstring).

    Example:
        >>> sglang_030_fraction(1), sglang_030_fraction(4), sglang_030_fraction(8)
        (0.88, 0.85, 0.83)
    """
    return 0.79 if tp >= 16 else 0.83 if tp >= 8 else 0.85 if tp >= 4 else 0.87 if tp >= 2 else 0.88


def sglang_053rc0_fraction(mib: float, tp: int) -> float:
    """SGLang 0.5.3rc0's default mem_fraction_static (module docstring).

    Example:
        >>> sglang_053rc0_fraction(81559, 1)     # an H100: (81,559 − 10,240) / 81,559
        0.874
    """
    gib = 2.8 + tp / 10 if mib < 35 * 1024 else 9.5 + tp / 2 if mib < 90 * 1024 else 12 + tp / 2 \
        if mib < 160 * 1024 else 32
    return round((mib - gib * 1024) / mib, 3)


def test_sglang_runs_before_0_5_3_carry_their_releases_memory_share(runs):
    """Before 0.5.3 SGLang's default share is not the one `sglang_fraction` follows: such a run names its release's
    (or the --mem-frac its source sets)."""
    checked = []
    for r in runs:
        if r.engine != "sglang" or r.release not in ("0.3.0", "0.5.3rc0"):
            continue
        m = re.search(r"--mem-frac(?:tion-static)? ([0-9.]+)", _flags(r))
        want = float(m.group(1)) if m else (sglang_030_fraction(_tp(r)) if r.release == "0.3.0"
                                            else sglang_053rc0_fraction(_mib(r), _tp(r)))
        assert r.memory_fraction == want, r.id
        checked.append(r.id)
    assert len(checked) == 7


def test_vllm_api_server_defaults_by_gpu(runs):
    """A vLLM 0.10.2 / 0.11.0 `vllm serve` run that sets no budget states the OpenAI API server's by its GPU."""
    checked = 0
    for r in runs:
        if r.engine != "vllm" or r.release not in ("0.10.2", "0.11.0") or "vllm serve" not in _flags(r):
            continue
        big = _mib(r) >= 70 * 1024 and "a100" not in r.gpu
        if "--max-num-batched-tokens" not in _flags(r):
            assert _workload(r, "chunk") == (8192 if big else 2048), r.id
        if "--max-num-seqs" not in _flags(r):
            assert _workload(r, "batch") == (1024 if big else 256), r.id
        checked += 1
    assert checked >= 30


def sglang_default_chunk(release: str, mib: float) -> int:
    """SGLang's default chunked_prefill_size at a release on a GPU of `mib` MiB (module docstring).

    Example:
        >>> sglang_default_chunk("0.5.6", 183359), sglang_default_chunk("0.5.6", 143771)   # a B200, an H200
        (16384, 8192)
    """
    if release == "0.3.0":
        return 8192
    assert 60 * 1024 <= mib, "below 60 GiB the rule has more branches than these runs need"
    return 16384 if mib >= 160 * 1024 else 8192


def test_sglang_default_chunk_is_its_releases_by_gpu_memory(runs):
    """An SGLang run whose source sets no chunked-prefill size states its release's default for its GPU: 16384 on
    a B200 (SGLang's cookbook), 8192 on an H100 or H200."""
    checked = []
    for r in runs:
        chunk = _workload(r, "chunk")
        stated = "--chunked-prefill-size" in _flags(r) or isinstance(r.settings.get("chunked-prefill-size"), int)
        if r.engine != "sglang" or r.release is None or chunk is None or stated:
            continue
        assert "--dp-size" not in _flags(r), r.id
        assert chunk == sglang_default_chunk(r.release, _mib(r)), r.id
        checked.append(r.id)
    assert len(checked) == 27
    assert {r for r in checked if "b200" in r} == {
        "qwen3-235b-b200-tp8-chat-c16", "qwen3-235b-b200-tp8-chat-c100", "qwen3-235b-b200-tp8-summarize-c16",
        "qwen3-235b-b200-tp8-summarize-c64", "dsr1-b200-tp8-chat-c16", "dsr1-b200-tp8-chat-c100"}


def test_a_closed_loop_sent_at_once_states_ramp_0(runs):
    """A `vllm bench serve --max-concurrency N` run at the default request rate (inf) sends its first N requests
    together (module docstring): its plan says `ramp = 0 s`, not dagc's default spread of first starts over one
    request's life. GPUStack's 11 closed loops of 1 to 8 clients are such runs."""
    checked = []
    for r in runs:
        flags = _flags(r)
        if "vllm bench serve" not in flags or "--max-concurrency" not in flags or "--request-rate" in flags:
            continue
        if _workload(r, "concurrency") == _workload(r, "requests"):
            continue                                    # an offline burst: every request at once
        assert re.search(r"\bramp = 0 s\b", r.plan), r.id
        checked.append(r.id)
    assert len(checked) == 11
