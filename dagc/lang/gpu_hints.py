"""The hint for a GPU preset dagc does not know: the preset that is the same GPU (family, form and memory), else why
the preset of that model is another GPU, else the presets — a name that is a size alone (`"64GB"`) the presets of that
memory — and how to describe the GPU (`gpu "…" { memory = …  flops = …  hbm = … }`). Never a GPU that is merely near.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..plan.cluster import Gpu
from .fields import nearest
from .lookalikes import fold, lookalike_note

__all__ = ["GpuName", "gpu_hint"]

# Forms of a GPU: the SXM module (HGX and DGX boards hold SXM modules), a PCIe card, the NVL card
# pair, a rack of one NVLink domain, AMD's OAM module.
_FORMS = {"sxm": "sxm", "sxm4": "sxm", "sxm5": "sxm", "sxm6": "sxm", "hgx": "sxm", "dgx": "sxm",
          "pcie": "pcie", "nvl": "nvl", "nvl72": "nvl72", "nvl36": "nvl36", "oam": "oam"}
_FORM_WORDS = {"sxm": "the SXM module", "pcie": "the PCIe card", "nvl": "the NVL card",
               "nvl72": "the NVL72 rack's GPU", "nvl36": "the NVL36 rack's GPU", "oam": "the OAM module"}
_VENDORS = ("nvidia", "amd", "instinct", "tesla")
_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)(gb|g|gib)$")
_MODEL = re.compile(r"^(?:gb|mi|[a-z])\d{2,3}[a-z]?$")

@dataclass(frozen=True)
class GpuName:
    """What a GPU's name says: its model (`h200`), its form (`sxm`) and memory in GB, when written."""

    model: str | None
    form: str | None
    memory_gb: float | None

    @classmethod
    def parse(cls, name: str) -> GpuName:
        """The parts of a written GPU name.

        Example:
            >>> GpuName.parse("H200-SXM-141GB"), GpuName.parse("a100_40g").memory_gb
            (GpuName(model='h200', form='sxm', memory_gb=141.0), 40.0)
        """
        model = form = memory = None
        for part in re.split(r"[-_.\s/]+", name.lower()):
            if part in _VENDORS or not part:
                continue
            if part in _FORMS:
                form = _FORMS[part]
            elif m := _MEMORY.match(part):
                memory = float(m.group(1))
            elif _MODEL.match(part) and model is None:
                model = part
            else:
                return cls(None, form, memory)         # a word dagc cannot place: no claim about the GPU
        return cls(model, form, memory)

    @classmethod
    def of_preset(cls, gpu: Gpu) -> GpuName:
        """A preset's parts: every built-in NVIDIA GPU is the SXM module but the NVL72 racks'."""
        written = cls.parse(gpu.name)
        form = written.form or ("oam" if (written.model or "").startswith("mi") else
                                f"nvl{gpu.nvlink_domain}" if gpu.nvlink_domain else "sxm")
        return cls(written.model, form, None)


def _same_memory(memory_gb: float, memory_bytes: float) -> bool:
    """Whether a datasheet's GB figure is this memory: vendors write GiB as GB (H100's 80 GB)."""
    return any(abs(memory_gb * unit - memory_bytes) <= 0.03 * memory_bytes for unit in (1e9, 2.0**30))


_FLEET_PRESET = "a fleet's `gpu preset` names a built-in GPU"
"""What a fleet's `gpu preset` line takes; a GPU of one's own is the plan's cluster's (`_fleet_own`)."""


def gpu_hint(name: str, presets: Mapping[str, Gpu], *, describe: bool = True) -> str:
    """The hint for a GPU preset dagc does not know: the preset that is the same GPU, else why the preset of the
    same model is another GPU, else the presets; with `describe`, how to write it out (a cluster's, not a fleet's).

    Example:
        >>> from dagc.plan.presets import GPU_PRESETS
        >>> gpu_hint("H200-SXM", GPU_PRESETS)
        'did you mean `h200`? (the SXM module)'
        >>> gpu_hint("a100-40gb", GPU_PRESETS)
        'no built-in GPU is that one: `a100-80g` is an A100 with 80 GiB (the SXM module); describe it as \
`gpu "a100-40gb" { memory = …  flops = …  hbm = … }`'
    """
    if fold(name) != name:              # `"h100–sxm"` with an en dash, `"Н100-sxm"` with a Cyrillic `Н`
        plain = fold(name).lower() if fold(name).lower() in presets else None
        said = _meant(plain, describe) if plain else gpu_hint(fold(name), presets, describe=describe)
        return f"{said}; {lookalike_note(name)}" if said.startswith("did you mean") else said
    if (meant := nearest(re.sub(r"(?<=\d)[oO]|[oO](?=\d)", "0", name), presets)) not in (None, nearest(name, presets)):
        return _meant(meant, describe, "the digit 0 written as the letter O")
    written = GpuName.parse(name)
    same_model = {key: GpuName.of_preset(gpu) for key, gpu in presets.items()
                  if written.model is not None and GpuName.of_preset(gpu).model == written.model}
    same = [key for key, p in same_model.items()
            if written.form in (None, p.form)
            and (written.memory_gb is None or _same_memory(written.memory_gb, presets[key].memory_bytes))]
    if len(same) == 1:
        return f"did you mean `{same[0]}`? ({_form_words(same_model[same[0]].form)})"
    if not same_model and (near := [k for k in presets if re.sub(r"[-_.\s]+", "", name.lower()) == k.replace("-", "")]):
        return _meant(near[0], describe)
    custom = f'describe it as `gpu "{name}" {{ memory = …  flops = …  hbm = … }}`' if describe else \
        _FLEET_PRESET + _fleet_own(name)
    if same_model:
        others = ", ".join(f"`{key}` is {_a(p.model)} with {presets[key].memory_bytes / 2**30:.0f} GiB "
                           f"({_form_words(p.form)})" for key, p in same_model.items())
        return f"no built-in GPU is that one: {others}; {custom}"
    if written.model is None and written.memory_gb is not None and written.form is None:
        return _by_memory(name, written.memory_gb, presets, describe)
    return "built-in GPUs: " + ", ".join(f"`{key}`" for key in presets) + f"; {'or ' if describe else ''}{custom}"


def _meant(preset: str, describe: bool, why: str = "") -> str:
    """`did you mean` the preset, with `why` and, in a fleet (not `describe`), what a fleet's `gpu preset` names, in one
    parenthesis: until 2026-11-30 a fleet's read "did you mean `h100-sxm`?; a fleet sweeps built-in GPUs only", though a
    fleet sweeps the cluster's own GPU too (docs/fleet.md).

    Example:
        >>> _meant("h200", False, "the digit 0 written as the letter O")
        "did you mean `h200`? (the digit 0 written as the letter O; a fleet's `gpu preset` names a built-in GPU)"
        >>> _meant("h100-sxm", True)
        'did you mean `h100-sxm`?'
    """
    said = "; ".join(w for w in (why, "" if describe else _FLEET_PRESET) if w)
    return f"did you mean `{preset}`?" + (f" ({said})" if said else "")


def _fleet_own(name: str) -> str:
    """How a fleet compares a GPU no preset is (docs/fleet.md): until 2026-11-30 an unknown preset in a fleet was told
    "built-in GPUs: …; or a fleet sweeps built-in GPUs only", an "or" that offered nothing.

    Example:
        >>> print(_fleet_own("a100-40gb"))
         (a GPU of your own: write it out in the plan's `cluster`, \
`gpu "a100-40gb" { memory = …  flops = …  hbm = … }` with its `price`, and leave out the fleet's `gpu` lines: \
the fleet sweeps its counts)
    """
    return (f" (a GPU of your own: write it out in the plan's `cluster`, `gpu \"{name}\" {{ memory = …  flops = …  "
            "hbm = … }` with its `price`, and leave out the fleet's `gpu` lines: the fleet sweeps its counts)")


def _by_memory(name: str, memory_gb: float, presets: Mapping[str, Gpu], describe: bool) -> str:
    """A GPU named by its memory alone (`"64GB"`, seed 004's "64GB VRAM"): the presets of that memory, and the custom
    GPU with it written."""
    sized = [f"`{key}`" for key, gpu in presets.items() if _same_memory(memory_gb, gpu.memory_bytes)]
    listed = ", ".join(sized[:-1]) + f" and {sized[-1]}" if len(sized) > 1 else "".join(sized)
    held = (f"of the built-in GPUs, {listed} {'has' if len(sized) == 1 else 'have'} {memory_gb:g} GB" if sized
            else f"no built-in GPU has {memory_gb:g} GB")
    if not describe:
        return f"a GPU preset is named by its model, not its memory: {held}; {_FLEET_PRESET}"
    custom = f'describe yours as `gpu "{name}" {{ memory = {memory_gb:g} GB  flops = …  hbm = … }}`'
    return f"a GPU preset is named by its model, not its memory: {held}; {'or ' if sized else ''}{custom}"


def _a(model: str | None) -> str:
    """`an H200`, `a B200`: the article as the model's first letter is spoken."""
    shown = (model or "").upper()
    return f"{'an' if shown[:1] in tuple('AEFHILMNORSX') else 'a'} {shown}"


def _form_words(form: str | None) -> str:
    return _FORM_WORDS.get(form or "sxm", f"the {form} GPU")


