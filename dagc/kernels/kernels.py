"""Measured kernel profiles: the time of a GPU kernel at a shape (SPEC 6.4).

Input: a kernel profile (a built-in one from `dagc/data/kernels/`, or a JSON file in the same
format, see docs/kernels.md) and op shapes as floats or numpy arrays. Output: seconds (float64,
the shape of the broadcast inputs).

Method. Each measured point gives an efficiency `roofline / seconds`, where the roofline is
`max(flops / peak, bytes / hbm)` with the profile's datasheet peaks. The log efficiency is
interpolated piecewise-linearly in the log of the token coordinate (M, tokens per expert,
sequence, context, bytes; for decode attention also the batch), per measured shape; the
shapes nearest the query in log space (the two nearest, inverse-square-distance weighted; an
exact match alone) are blended. The time is `roofline(query) / efficiency`, never below the
profile's per-kernel floor. Outside the measured range the efficiency of the nearest measured
point is kept (clamped), so the time follows the roofline there at the last measured efficiency
(never a line through the last point); MLA decode past its largest measured batch grows by the
last measured per-request slope (`dagc.kernels.tables.past_batch`).

Monotone in tokens. Measured series are not always monotone (a kernel for more rows may pick a
faster tile). A kernel for fewer tokens can always run the larger one padded, so the profile's
series is first replaced by its monotone envelope (each point takes the least time measured at
that point or any larger one in every token coordinate); the interpolation is exact at every
point of the envelope. Between points, the time is also raised to the largest time at the
smaller breakpoints of the query's own curve: inside a segment the log time is convex in the
log tokens (roofline convex, efficiency linear), so this keeps it non-decreasing everywhere.

Caveats: efficiencies are those of the PyTorch kernels measured (cuBLAS, CUTLASS grouped GEMM,
flash attention); production engines fuse more. `for_gpu` applies one GPU's efficiencies to
another GPU's peaks, which is an assumption, not a measurement.

The file format and its E105 diagnostics are `dagc.kernels.format`, the interpolation tables
`dagc.kernels.tables`, the profile's time functions `dagc.kernels.profile`; this module reads
profiles (built-in or from a file) and keeps the public names.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path

from ..plan.cluster import Gpu
from ..source import Span
from .format import (
    FORMAT,
    KERNELS_CODE,
    MAX_PROFILE_BYTES,
    MEMORY_OPS,
    VERSION,
    MemoryOp,
    Provenance,
    read_profile_file,
    validate_profile,
)
from .profile import KernelProfile, build_profile, for_gpu

__all__ = ["BUILTIN_PROFILES", "FORMAT", "KERNELS_CODE", "MAX_PROFILE_BYTES", "MEMORY_OPS", "VERSION",
           "KernelProfile", "MemoryOp", "Provenance", "builtin_profile", "for_gpu", "load_profile_file",
           "nearest_profile", "parse_profile", "profile_names"]


def parse_profile(text: str, shown: str = "profile", at: Span | None = None) -> KernelProfile:
    """A profile from its JSON text; `shown` names it in messages, `at` locates them.

    Raises:
        PlanError: E105 when the text is not JSON or not a valid profile (never echoing its content).
    """
    return build_profile(*validate_profile(text, shown, at))


def load_profile_file(path: str | os.PathLike[str], at: Span | None = None) -> KernelProfile:
    """Read a kernel profile file: a regular file of at most `MAX_PROFILE_BYTES`, valid UTF-8 JSON.

    `at` is where the plan names it (`kernels from "…"`); every problem is reported there.

    Raises:
        PlanError: E105 for a missing, unreadable, special, oversized, broken or foreign file.
    """
    return parse_profile(read_profile_file(path, at), Path(path).name, at)


@functools.cache
def profile_names() -> tuple[str, ...]:
    """The built-in profiles' names, sorted.

    Example:
        >>> profile_names()
        ('h100-sxm', 'h200')
    """
    folder = resources.files("dagc").joinpath("data", "kernels")
    return tuple(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json")))


@functools.cache
def builtin_profile(name: str) -> KernelProfile:
    """A shipped profile, loaded on first use and cached.

    Raises:
        KeyError: `name` is not a built-in profile.
    """
    if name not in profile_names():
        raise KeyError(f"unknown kernel profile {name!r}; built-in: {', '.join(profile_names())}")
    text = resources.files("dagc").joinpath("data", "kernels", f"{name}.json").read_text(encoding="utf-8")
    return parse_profile(text, f"{name}.json")


class _Builtins(Mapping[str, KernelProfile]):
    """The shipped profiles by name, each loaded when first looked up."""

    def __getitem__(self, name: str) -> KernelProfile:
        return builtin_profile(name)

    def __iter__(self) -> Iterator[str]:
        return iter(profile_names())

    def __len__(self) -> int:
        return len(profile_names())

    def __contains__(self, name: object) -> bool:
        return name in profile_names()


BUILTIN_PROFILES: Mapping[str, KernelProfile] = _Builtins()


def nearest_profile(gpu: Gpu) -> KernelProfile:
    """The built-in profile for `gpu`: its own when there is one by name, else the profile whose
    datasheet HBM bandwidth is nearest in ratio (most MoE kernels are memory-bound).

    Example:
        >>> from dagc.plan.presets import GPU_PRESETS
        >>> [nearest_profile(GPU_PRESETS[g]).name for g in ("h200", "h800", "b200", "mi300x")]
        ['h200', 'h100-sxm', 'h200', 'h200']
    """
    if gpu.name in profile_names():
        return builtin_profile(gpu.name)
    return min((builtin_profile(n) for n in profile_names()),
               key=lambda p: abs(math.log(p.hbm_bytes_per_s / float(gpu.hbm_bytes_per_s))))
