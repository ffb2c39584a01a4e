"""E101's hint for a model preset dagc does not know, where the name is a family's or another model of a family
dagc has presets of: `qwen3` names three presets, `glm-4` is not `glm-4.5`.

Input: the name as written. Output: the hint's words, or None when neither holds (`dagc.lang.model.preset_hint`
then gives `did_you_mean`'s). Until 2026-12-02 `glm-4` was told "did you mean `glm-4.5`?" — a 9-billion-parameter
dense model pointed at a 355-billion-parameter MoE — and `qwen3` was given every preset, Mixtral's first.
"""

from __future__ import annotations

import os
import re

from ..plan.presets import MODEL_PRESETS
from .fields import nearest

__all__ = ["family_hint"]

_VERSION = re.compile(r"\d+(?:\.\d+)*")
# what a plan does with a model dagc has no preset of (docs/language.md, "model")
_YOURS = ("write your model out (`model \"{name}\" {{ … }}`, docs/language.md) or import its config.json "
          "(`model from \"config.json\"`)")


def family_hint(name: str) -> str | None:
    """The hint for `name`, an unknown preset: the presets of the family it names (`qwen3`, `llama-4`: the presets
    whose names go on from it after a `-`), else those of its family at another version or size (`glm-4`,
    `deepseek-v2`, `kimi-k2.5`, a later checkpoint of a preset's model: `_other_models`), each said to be another
    model; None when it is neither, or when the name is a slip of a preset's (`dagc.lang.fields.nearest`:
    `qwen3-235b`, `gpt-oss-120`).

    Example:
        >>> family_hint("qwen3")
        '`qwen3` names a family: its presets are `qwen3-30b-a3b`, `qwen3-235b-a22b` and `qwen3-coder-480b-a35b`'
        >>> family_hint("glm-4")[:95]
        'dagc has no preset of `glm-4`; `glm-4.5` is another model of its family (use it only for a mode'
        >>> family_hint("gpt-oss-120") is None, family_hint("qwen3-235b") is None
        (True, True)
    """
    low = name.rsplit("/", 1)[-1].strip().lower()
    family = [p for p in MODEL_PRESETS if p.startswith(low + "-")] if len(low) >= 3 else []
    if len(family) >= 2:
        return f"`{low}` names a family: its presets are {_listed(family)}"
    others = _other_models(low)
    best = low if low in MODEL_PRESETS else nearest(low, MODEL_PRESETS)     # a preset with its organisation: not here
    if not others or best is not None and best not in others:     # a slip of a preset's name: `did_you_mean`'s
        return None
    shown = _listed(others)
    one = len(others) == 1
    return (f"dagc has no preset of `{low}`; {shown} {'is another model' if one else 'are other models'} of its family "
            f"(use {'it' if one else 'one'} only for a model of {'its' if one else 'that'} architecture, "
            f"`model preset \"{others[0]}\" {{ … }}` with your fields); else " + _YOURS.format(name=low))


def _other_models(low: str) -> list[str]:
    """The presets of `low`'s family that are other models: those whose name `low` goes on from after a `-` (another
    checkpoint of that model: `qwen3-235b-a22b-instruct-2507`, `kimi-k2-instruct-0905`), else those that share its
    longest stem (three characters or more, a letter among them) and go on from it with another version or size —
    the two names' first numbers after the stem differ (`glm-4` and `glm-4.5`, `llama-3` and `llama-4-scout`) — or,
    past a stem that ends at a `-`, with another name (`deepseek-r1` and `deepseek-v3`, `llama-4-behemoth` and
    `llama-4-scout`: until 2026-12-03 those were given every preset, though `deepseek-v2` was told its family).

    Example:
        >>> _other_models("glm-4.7"), _other_models("deepseek-v2"), _other_models("kimi-k2-instruct-0905")
        (['glm-4.5'], ['deepseek-v3'], ['kimi-k2'])
        >>> _other_models("deepseek-r1-0528"), _other_models("llama-4-behemoth")
        (['deepseek-v3'], ['llama-4-maverick', 'llama-4-scout'])
    """
    checkpoints = [p for p in MODEL_PRESETS if low.startswith(p + "-")]
    if checkpoints:
        return checkpoints
    found: dict[int, list[str]] = {}
    for p in MODEL_PRESETS:
        k = len(os.path.commonprefix([low, p]))
        while k and (low[k - 1].isdigit() or low[k - 1] == "."):      # back to where the number began
            k -= 1
        stem, mine, theirs = low[:k], _VERSION.match(low, k), _VERSION.match(p, k)
        if len(stem) >= 3 and re.search(r"[a-z]", stem) and mine and theirs and mine.group() != theirs.group():
            found.setdefault(k, []).append(p)
        elif len(stem) >= 4 and stem.endswith("-") and low[k:k + 1].isalpha() and p[k:k + 1].isalpha():
            found.setdefault(k, []).append(p)      # another model's name after the family's `-`: `deepseek-r1`'s
    return found[max(found)] if found else []


def _listed(names: list[str]) -> str:
    quoted = [f"`{n}`" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]
