"""The serving engine a plan runs on (`cluster { engine = vllm }`, docs/language.md) and its terms.

Input: nothing (these are the types and the table of known engines). Output: `Engine` (which
engine, which release, and the `EngineTerms` dagc prices it with), `EngineTerms`, `ENGINE_NAMES`,
`DEFAULT_ENGINE` and `engine_of`, the one place an engine name and release become an `Engine`.

`pytorch` is the plain, unfused reference the calibration in bench/calibration measured: no
scheduler, no front end, graph-captured decode at any batch, dagc's own glue kernels.
Every term of the other engines is a named constant with its source in docs/cost-model.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from .base import Frozen

__all__ = ["DEFAULT_ENGINE", "ENGINE_NAMES", "NEWEST", "SERIES", "Engine", "EngineName", "EngineTerms", "engine_of",
           "known_release"]

EngineName = Literal["vllm", "sglang", "trtllm", "pytorch"]
ENGINE_NAMES: tuple[EngineName, ...] = ("vllm", "sglang", "trtllm", "pytorch")
DEFAULT_ENGINE: EngineName = "pytorch"    # the default of a plan that names no engine (docs/language.md)

# The release each engine's launch was checked against (dagc.rules.launch): `engine = vllm` is this one.
NEWEST: Mapping[EngineName, str | None] = {"vllm": "0.33.0", "sglang": "0.5.23", "trtllm": "1.2.0", "pytorch": None}
# The release series (major.minor) dagc knows of each engine, newest first: `engine = vllm@0.8.5` names one of
# vLLM's 0.8 series. Every 0.x minor release of vLLM from 0.6 (September 2024, the first that public MoE serving
# benchmarks name) to 0.33; SGLang's 0.4 and 0.5; TensorRT-LLM's 0.17–0.21 and 1.0–1.3 (1.3 as the release
# candidates aiconfigurator-core measured its tables in). `pytorch` (dagc's own reference) has no releases.
SERIES: Mapping[EngineName, tuple[str, ...]] = {
    "vllm": tuple(f"0.{minor}" for minor in range(33, 5, -1)),
    "sglang": ("0.5", "0.4"),
    "trtllm": ("1.3", "1.2", "1.1", "1.0", "0.21", "0.20", "0.19", "0.18", "0.17"),
    "pytorch": (),
}
_RELEASE = re.compile(r"(\d+\.\d+)(?:\.\d+)*(?:[.\-]?(?:rc|post|dev)\d*)?")


def known_release(name: EngineName, release: str) -> bool:
    """Whether `release` (`0.33.0`, `0.10.1.1`, `1.3.0rc20`, `0.5`) is of a series dagc knows of engine `name`.

    Example:
        >>> known_release("vllm", "0.10.1.1"), known_release("trtllm", "1.3.0rc20"), known_release("sglang", "0.3.6")
        (True, True, False)
    """
    found = _RELEASE.fullmatch(release)
    return found is not None and found.group(1) in SERIES[name]


class EngineTerms(Frozen):
    """What dagc prices an engine's serving with, beyond the kernels: each a named constant
    (docs/cost-model.md, "The engine")."""

    step_s: float = 0.0                   # host time per engine step on the critical path (scheduler, inputs)
    frontend_s: float = 0.0               # per request, before its first token reaches the client (HTTP,
    #                                       tokenisation, first streamed chunk): client TTFT = server TTFT + this
    graph_sizes: tuple[int, ...] = ()     # decode batch sizes captured in CUDA graphs (padded up to the next);
    #                                       empty: every decode batch graph-captured at its own size
    glue: Mapping[str, int] = {}          # launches per glue step (dagc.kernels.format.GLUE_STEPS); absent: dagc's


class Engine(Frozen):
    name: EngineName = DEFAULT_ENGINE
    release: str | None = None            # as the plan writes it, else the newest dagc knows (None: pytorch)
    terms: EngineTerms = EngineTerms()


def engine_of(name: EngineName, release: str | None = None) -> Engine:
    """The engine `name` at `release` (None: its newest known, `NEWEST`) with its terms.

    Raises:
        ValueError: a release of a series dagc does not know (`known_release`; the plan's lowering says so first).

    Example:
        >>> engine_of("vllm").release, engine_of("sglang", "0.5.6").release, engine_of("pytorch").release
        ('0.33.0', '0.5.6', None)
    """
    if release is not None and not known_release(name, release):
        raise ValueError(f"{name} has no release {release!r} dagc knows")
    return Engine(name=name, release=release or NEWEST[name], terms=EngineTerms())
