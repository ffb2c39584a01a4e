"""The serving engine a plan runs on (`cluster { engine = vllm }`, docs/language.md) and its terms.

Input: nothing (these are the types and the table of known engines). Output: `Engine` (which
engine, which release, and the `EngineTerms` dagc prices it with), `EngineTerms`, `ENGINE_NAMES`,
`DEFAULT_ENGINE` and `engine_of`, the one place an engine name and release become an `Engine`.

`pytorch` is the plain, unfused reference the calibration in bench/calibration measured: no
scheduler, no front end, graph-captured decode at any batch, dagc's own glue kernels.
Every term of the other engines is a named constant with its source in docs/cost-model.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from .base import Frozen

__all__ = ["DEFAULT_ENGINE", "ENGINE_NAMES", "Engine", "EngineName", "EngineTerms", "engine_of"]

EngineName = Literal["vllm", "sglang", "trtllm", "pytorch"]
ENGINE_NAMES: tuple[EngineName, ...] = ("vllm", "sglang", "trtllm", "pytorch")
DEFAULT_ENGINE: EngineName = "pytorch"    # the default of a plan that names no engine (docs/language.md)


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
    release: str | None = None            # None: the newest release dagc knows
    terms: EngineTerms = EngineTerms()


def engine_of(name: EngineName, release: str | None = None) -> Engine:
    """The engine `name` at `release` (None: its newest known) with its terms."""
    return Engine(name=name, release=release, terms=EngineTerms())
