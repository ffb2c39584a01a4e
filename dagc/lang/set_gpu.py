"""`--set cluster.gpu.FIELD=…` where the plan's GPU is a preset, and `--set cluster.gpu=preset "h200"` (or
`model=preset …`), the plan's keyword written into the value (`dagc.lang.overrides`).

Input: the option (its dotted path and its source) and the plan's `gpu …` item, if any. Output: the E104 that
says a preset's figures are not fields: `cluster.gpu.memory` sets a field of a GPU written out (`gpu "name"
{ … }`). Without it, the override was written into the plan as `gpu { memory = 40 GiB }`, a GPU with neither
a preset nor a name, and the user read an E001 about a `{` they never wrote.
"""

from __future__ import annotations

import re
import shlex

from lark import Token, Tree

from ..diagnostics import Diagnostic, PlanError, Severity
from ..source import SourceFile

__all__ = ["preset_gpu_field", "preset_keyword"]

# `preset "h200"` or `preset h200`: the plan's keyword before the preset's name, as the plan writes `gpu preset "h200"`
_PRESET_WORD = re.compile(r'preset[ \t]+"?([^"\n]*?)"?[ \t]*$')


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


def preset_keyword(path: tuple[str, ...], value: str, src: SourceFile, start: int) -> PlanError | None:
    """E001 at the word `preset` of a preset's `--set` written as the plan writes it (`cluster.gpu=preset "h200"`),
    whose hint is the option that sets it, `--set cluster.gpu=h200`; None for any other value. Until 2026-11-30
    the quoted form was told "a number with its unit, a name or a quoted string …" and the bare form "unknown GPU
    preset `preset h200`", neither saying to leave the keyword out.

    Example:
        >>> option = 'model=preset "qwen3-30b-a3b"'
        >>> preset_keyword(("model",), option[6:], SourceFile("--set", option), 6).diagnostics[0].hint
        'name the preset alone: --set model=qwen3-30b-a3b'
        >>> preset_keyword(("cluster", "gpu"), "h200", SourceFile("--set", "cluster.gpu=h200"), 12) is None
        True
    """
    m = _PRESET_WORD.match(value)
    if path not in (("model",), ("cluster", "gpu")) or m is None or not m.group(1).strip():
        return None
    dotted, name = ".".join(path), m.group(1).strip()
    message = f"`preset` is the plan's keyword (`{path[-1]} preset \"{name}\"`), not part of `{dotted}`'s value"
    return PlanError([Diagnostic("E001", Severity.ERROR, message, src.span(start, start + len("preset")),
                                 f"name the preset alone: --set {shlex.quote(f'{dotted}={name}')}")])
