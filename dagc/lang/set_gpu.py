"""`--set cluster.gpu.FIELD=…` where the plan's GPU is a preset (`dagc.lang.overrides`).

Input: the option (its dotted path and its source) and the plan's `gpu …` item, if any. Output: the E104 that
says a preset's figures are not fields: `cluster.gpu.memory` sets a field of a GPU written out (`gpu "name"
{ … }`). Without it, the override was written into the plan as `gpu { memory = 40 GiB }`, a GPU with neither
a preset nor a name, and the user read an E001 about a `{` they never wrote.
"""

from __future__ import annotations

from lark import Token, Tree

from ..diagnostics import Diagnostic, PlanError, Severity
from ..source import SourceFile

__all__ = ["preset_gpu_field"]


def preset_gpu_field(path: tuple[str, ...], src: SourceFile, gpu: Tree[Token] | None) -> PlanError:
    """E104 at `cluster.gpu.FIELD` in the option, naming the plan's GPU preset (or saying it names none).

    Example:
        >>> from dagc.source import SourceFile
        >>> e = preset_gpu_field(("cluster", "gpu", "memory"), SourceFile("--set", "cluster.gpu.memory=40 GiB"), None)
        >>> e.diagnostics[0].message
        '`cluster.gpu.memory` sets a field of a GPU written out (`gpu "NAME" { … }`); the plan\\'s cluster names no GPU'
    """
    name = next((str(c) for c in gpu.children if isinstance(c, Token)), None) if gpu is not None else None
    said = f"the plan's GPU is the preset {name}" if name is not None else "the plan's cluster names no GPU"
    dotted = ".".join(path)
    return PlanError([Diagnostic(
        "E104", Severity.ERROR, f'`{dotted}` sets a field of a GPU written out (`gpu "NAME" {{ … }}`); {said}',
        src.span(0, len(dotted)),
        "another preset: --set cluster.gpu=h200 (`dagc presets` lists them); other figures: write the GPU out in "
        f'the plan\'s cluster, `gpu "my-gpu" {{ {path[-1]} = … }}` with its other fields (docs/language.md, "GPUs")')])
