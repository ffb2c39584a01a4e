"""Whether a run's model (its Hugging Face id, as vLLM's `model_id` or AIPerf's model names write it) is a plan's
preset, and which preset it is (`dagc.calibrate.match`).

Input: a model id. Output: its family and size marks (`name_parts`), whether it is another model than a preset
(`other_model`), the preset it names (`preset_of`). A name is judged only where it names a known family: a local path
or a fine-tune's name says nothing.

The size marks of a name are its parameter counts — `30b`, `235b`, and a Mixtral's experts × size, `8x7b`, `8x22b`
— and its experts, `16e`, `128e` (Llama 4 Scout and Maverick, both 17B active), and its variant words `air` and
`lite` (GLM-4.5-Air, DeepSeek-V2-Lite: other models than their families' full ones). Until 2026-11-30 a mark was
a plain `NNb` alone: Mixtral's `8x22B` and `8x7B` had none, nor Llama 4's `16E` and `128E`, and a run of
Mixtral-8x22B was fitted on a plan of `mixtral-8x7b`, a run of Maverick on one of Scout.
"""

from __future__ import annotations

import re

from ..launch.launch import HF_IDS

__all__ = ["FAMILIES", "name_parts", "other_model", "preset_of"]

# a parameter count (`30b`, `1.5b`, Mixtral's `8x7b`) or an expert count (`128e`), a part of its own (not `a3b`,
# Qwen's active parameters)
_SIZE = re.compile(r"(?<![a-z0-9.])((?:\d+x)?\d+(?:\.\d+)?[be])(?![a-z0-9])")
# the words that name a smaller model of a family (`GLM-4.5-Air`, `DeepSeek-V2-Lite`), each a part of its own
_VARIANTS = frozenset({"air", "lite"})


def name_parts(model_id: str) -> tuple[str, frozenset[str]]:
    """A model id's family (the letters its last path part starts with: `qwen`, `llama`, `deepseek`) and its size
    marks (module doc).

    Example:
        >>> name_parts("mistralai/Mixtral-8x22B-Instruct-v0.1"), name_parts("Qwen/Qwen3-30B-A3B")
        (('mixtral', frozenset({'8x22b'})), ('qwen', frozenset({'30b'})))
        >>> sorted(name_parts("meta-llama/Llama-4-Scout-17B-16E-Instruct")[1]), name_parts("zai-org/GLM-4.5-Air")
        (['16e', '17b'], ('glm', frozenset({'air'})))
    """
    base = model_id.strip().rstrip("/").rsplit("/", 1)[-1].lower().replace("_", "-")
    family = re.match(r"[a-z]*", base)
    marks = {m.group(1) for m in _SIZE.finditer(base)} | {p for p in re.split(r"[-.]", base) if p in _VARIANTS}
    return (family.group(0) if family else ""), frozenset(marks)


# the families of the models dagc has presets for, and of other open models a run may name
FAMILIES = frozenset({name_parts(i)[0] for i in HF_IDS.values()} | {"mistral", "gemma", "phi", "falcon"})


def _kinds(marks: frozenset[str]) -> dict[str, frozenset[str]]:
    """A name's marks by kind: parameter counts, expert counts, variant words."""
    return {"b": frozenset(m for m in marks if m.endswith("b") and m[0].isdigit()),
            "e": frozenset(m for m in marks if m.endswith("e") and m[0].isdigit()),
            "variant": frozenset(m for m in marks if m in _VARIANTS)}


def other_model(model_id: str, preset: str) -> bool:
    """Whether `model_id` is another model than `preset`'s (a preset of `HF_IDS`): judged where it names a known
    family — another family, a parameter or expert count of the same kind that the preset's name does not have, or
    a variant word the preset's has not (`DeepSeek-R1`, no size, for `deepseek-v3` is the same).

    Example:
        >>> other_model("mistralai/Mixtral-8x22B", "mixtral-8x7b"), other_model("DeepSeek-R1", "deepseek-v3")
        (True, False)
        >>> other_model("meta-llama/Llama-4-Maverick-17B-128E", "llama-4-scout"), other_model("my-finetune", "glm-4.5")
        (True, False)
    """
    (family, marks), (ours, our_marks) = name_parts(model_id), name_parts(HF_IDS[preset])
    if family not in FAMILIES or not family:
        return False
    if family != ours:
        return True
    theirs, mine = _kinds(marks), _kinds(our_marks)
    return theirs["variant"] != mine["variant"] or any(theirs[k] and mine[k] and not theirs[k] & mine[k]
                                                       for k in ("b", "e"))


def preset_of(model_id: str) -> str | None:
    """The one preset whose model `model_id` names — of its family, with a parameter count in common, and not another
    model by `other_model` —, None when none or several do (`DeepSeek-R1` names no size).

    Example:
        >>> preset_of("mistralai/Mixtral-8x22B-Instruct-v0.1"), preset_of("Qwen/Qwen3-30B-A3B-FP8"), preset_of("x")
        ('mixtral-8x22b', 'qwen3-30b-a3b', None)
    """
    family, marks = name_parts(model_id)
    found = [p for p, hf in HF_IDS.items() if name_parts(hf)[0] == family and not other_model(model_id, p)
             and _kinds(marks)["b"] & _kinds(name_parts(hf)[1])["b"]]
    return found[0] if len(found) == 1 else None
