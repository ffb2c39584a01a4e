"""The kernel profile file format (docs/kernels.md) and its E105 diagnostics.

Input: the JSON text of a kernel profile, or the path of a profile file. Output: the validated
file (`ProfileFile`, frozen pydantic models, extra fields forbidden) and its content digest, or a
`PlanError` carrying one E105 diagnostic that never echoes the file's content. `dagc.kernels.kernels`
turns the file into a `KernelProfile` (`dagc.kernels.profile`).
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field as PydField, ValidationError

from ..diagnostics import Diagnostic, PlanError, Severity, quote
from ..source import Span, Unreadable, read_regular

__all__ = ["AllReduceRow", "FusedMoeRow", "FORMAT", "GLUE_STEPS", "KERNELS_CODE", "MAX_PROFILE_BYTES", "MEMORY_OPS",
           "VERSION", "MemoryOp", "ProfileFile", "Provenance", "read_profile_file", "validate_profile"]

FORMAT = "dagc-kernel-profile"
VERSION = 1
KERNELS_CODE = "E105"              # a kernel profile file that cannot be read or is not a valid profile
MAX_PROFILE_BYTES = 16 * 2**20     # the built-in profiles are ~80 KB


class MemoryOp(enum.Enum):
    """The memory-bound glue of an MoE layer, and a plain copy."""

    RMS_NORM = "rms_norm"
    SILU_MUL = "silu_mul"
    ROUTER_TOPK = "router_topk"
    PERMUTE = "permute"
    UNPERMUTE = "unpermute"
    COPY = "copy"


MEMORY_OPS = tuple(op.value for op in MemoryOp)

# dagc's glue steps around the measured kernels that a serving engine fuses or runs as one kernel: the
# rotary embedding, the attention output's layout, the KV cache write, the residual add, the router's
# softmax and top-k, and the routed experts' bookkeeping — the routing index, the zeroed buffers, the
# permutation, the routing weights' scaling and the un-permutation (`dagc.ir.op_shapes.REFERENCE` has their
# unfused launches; `dagc.plan.engines.ENGINE_GLUE` how each engine runs them).
GLUE_STEPS = ("rope", "o_layout", "kv_write", "residual_add", "softmax_topk", "routing_index", "zero_fill", "permute",
              "combine_weights", "unpermute")


# ---------------------------------------------------------------- the file format (docs/kernels.md)

# Bounds of what a measurement can be (docs/limits.md, "Kernel profiles"): a kernel from 1 ns to 1 hour, a
# table's figures up to 1e30, peaks two orders of magnitude around every datasheet, a floor under 10 ms.
_Pos = Annotated[float, PydField(gt=0, le=1e30, allow_inf_nan=False)]
_NonNeg = Annotated[float, PydField(ge=0, le=1e30, allow_inf_nan=False)]
_Seconds = Annotated[float, PydField(ge=1e-9, le=3600.0, allow_inf_nan=False)]
_FloorSeconds = Annotated[float, PydField(ge=1e-9, le=1e-2, allow_inf_nan=False)]
_Flops = Annotated[float, PydField(ge=1e12, le=1e18, allow_inf_nan=False)]
_Bandwidth = Annotated[float, PydField(ge=1e9, le=1e16, allow_inf_nan=False)]
_Tokens = Annotated[float, PydField(ge=1e-6, le=2**40, allow_inf_nan=False)]
_Dim = Annotated[int, PydField(ge=1, le=2**40)]
_Text = Annotated[str, PydField(max_length=2000)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class _Row(_Strict):
    seconds: _Seconds
    flops: _NonNeg = 0.0
    bytes: _NonNeg = 0.0


class _GemmRow(_Row):
    dtype: Literal["bf16", "fp8"]
    M: _Dim
    N: _Dim
    K: _Dim


class _GroupedRow(_Row):
    dtype: Literal["bf16", "fp8"]
    E: _Dim
    tokens_per_expert: _Tokens
    K: _Dim
    N: _Dim


class _PrefillRow(_Row):
    B: _Dim
    S: _Dim
    H: _Dim
    Hkv: _Dim
    D: _Dim


_KvDtype = Literal["bf16", "fp8"]     # the KV cache a decode-attention row read (absent: bf16)


class _DecodeRow(_Row):
    B: _Dim
    ctx: _Dim
    H: _Dim
    Hkv: _Dim
    D: _Dim
    kv: _KvDtype = "bf16"


class _MlaRow(_Row):
    B: _Dim
    ctx: _Dim
    heads: _Dim
    kv_lora: _Dim = 512
    rope: Annotated[int, PydField(ge=0, le=2**20)] = 64
    kv: _KvDtype = "bf16"


class FusedMoeRow(_Strict):
    """An engine's whole fused MoE layer on one rank of an EP group (`dagc kernels import`): `tokens`
    tokens enter the group, routed evenly over its `experts` experts; the rank holds experts / ep of
    them, each split `tp` ways. `kernel`: the engine's fused MoE kernel (Triton, CUTLASS: `fused`, the
    default), or its wide-EP experts behind DeepEP's all-to-all — DeepGEMM's masked grouped GEMM under
    DeepEP's low-latency mode (`deepep_ll`) or its contiguous one under the normal mode (`deepep_normal`)."""

    kernel: Literal["fused", "deepep_ll", "deepep_normal"] = "fused"
    dtype: Literal["bf16", "fp8", "nvfp4", "mxfp4"]
    tokens: _Dim
    hidden: _Dim
    inter: _Dim
    topk: _Dim
    experts: _Dim
    tp: _Dim
    ep: _Dim
    seconds: _Seconds


class _MemoryRow(_Strict):
    op: Literal["rms_norm", "silu_mul", "router_topk", "permute", "unpermute", "copy"]
    bytes: _Pos
    seconds: _Seconds


class AllReduceRow(_Strict):
    """An engine's all-reduce of a `bytes`-byte bf16 buffer over `gpus` GPUs of one node (its own custom
    kernel or NCCL, whichever it runs at that size)."""

    gpus: Annotated[int, PydField(ge=2, le=2**20)]
    bytes: _Pos
    seconds: _Seconds


class _Tables(_Strict):
    gemm: list[_GemmRow] = PydField(min_length=1)
    grouped_gemm: list[_GroupedRow] = PydField(min_length=1)
    attn_prefill: list[_PrefillRow] = PydField(min_length=1)
    attn_decode: list[_DecodeRow] = PydField(min_length=1)
    memory: list[_MemoryRow] = PydField(min_length=1)
    mla_decode: list[_MlaRow] | None = None
    fused_moe: list[FusedMoeRow] | None = None
    all_reduce: list[AllReduceRow] | None = None


class Provenance(_Strict):
    """Where a profile's numbers come from."""

    gpu: _Text
    software: _Text
    date: _Text
    method: _Text
    source: _Text
    timing: dict[str, _Text] = {}


class _Peaks(_Strict):
    bf16_flops_per_s: _Flops
    fp8_flops_per_s: _Flops | None = None
    fp4_flops_per_s: _Flops | None = None       # a GPU with fp4 units (Blackwell): its datasheet dense fp4 peak
    hbm_bytes_per_s: _Bandwidth


class _Floor(_Strict):
    kernel_s: _FloorSeconds
    tiny_kernel_s: _FloorSeconds | None = None
    eager_kernel_s: _FloorSeconds | None = None     # one launch outside a CUDA graph (host-bound): eager prefill
    method: _Text = ""


_Launches = Annotated[int, PydField(ge=0, le=64)]


class _Glue(_Strict):
    """Launches the measured engine spends on each of dagc's glue steps (absent: the unfused reference's);
    0: fused into a kernel the tables measured, so priced nothing."""

    rope: _Launches | None = None
    o_layout: _Launches | None = None
    kv_write: _Launches | None = None
    residual_add: _Launches | None = None
    softmax_topk: _Launches | None = None
    routing_index: _Launches | None = None
    zero_fill: _Launches | None = None
    permute: _Launches | None = None
    combine_weights: _Launches | None = None
    unpermute: _Launches | None = None


class ProfileFile(_Strict):
    format: Literal["dagc-kernel-profile"]
    version: Literal[1]
    name: Annotated[str, PydField(min_length=1, max_length=64)]
    provenance: Provenance
    peaks: _Peaks
    floor: _Floor
    tables: _Tables
    glue: _Glue | None = None

    @property
    def glue_launches(self) -> dict[str, int]:
        """The glue steps the profile's engine runs its own way: step → launches."""
        return {k: v for k, v in (self.glue.model_dump() if self.glue else {}).items() if v is not None}


def _fail(message: str, at: Span | None, hint: str | None = None) -> PlanError:
    return PlanError([Diagnostic(KERNELS_CODE, Severity.ERROR, message, at, hint)])


_HINT = "a kernel profile is the JSON bench/make_profiles.py writes (docs/kernels.md)"


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the top level"


def validate_profile(text: str, shown: str = "profile", at: Span | None = None) -> tuple[ProfileFile, str]:
    """The profile file in `text` and its content digest; `shown` names it in messages, `at` locates them.

    Raises:
        PlanError: E105 when the text is not JSON or not a valid profile (never echoing its content).
    """
    shown = quote(shown)
    try:
        raw = json.loads(text)
    except RecursionError:
        raise _fail(f"kernel profile `{shown}` nests too deeply", at, _HINT) from None
    except ValueError as exc:
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "a number cannot be read"
        raise _fail(f"kernel profile `{shown}` is not valid JSON: {msg}", at, _HINT) from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise _fail(f"`{shown}` is not a dagc kernel profile (its \"format\" is not \"{FORMAT}\")", at, _HINT)
    if raw.get("version") != VERSION:
        raise _fail(f"kernel profile `{shown}` has a version this dagc does not read (it reads version {VERSION})",
                    at, "convert the measurements again with this dagc's bench/make_profiles.py")
    try:
        f = ProfileFile.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors(include_url=False, include_input=False)[0]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise _fail(f"kernel profile `{shown}`: {_where(err['loc'])}: {err['msg']}{more}", at, _HINT) from None
    digest = hashlib.sha256(json.dumps(f.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()
    return f, digest


def read_profile_file(path: str | os.PathLike[str], at: Span | None = None) -> str:
    """The text of a kernel profile file: a regular file of at most `MAX_PROFILE_BYTES`, valid UTF-8.

    `at` is where the plan names it (`kernels from "…"`); every problem is reported there.

    Raises:
        PlanError: E105 for a missing, unreadable, special, oversized or non-UTF-8 file.
    """
    shown = quote(Path(path).name or os.fspath(path))
    try:
        data = read_regular(path, MAX_PROFILE_BYTES + 1)
    except Unreadable as exc:
        if exc.missing:
            message, hint = "does not exist", "check the path (relative to the plan)"
        elif exc.kind is not None:
            message, hint = "is not a regular file", "give the path of a .json file"
        else:
            message, hint = f"cannot be read: {exc.reason}", None
        raise _fail(f"kernel profile `{shown}` {message}", at, hint) from None
    if len(data) > MAX_PROFILE_BYTES:
        raise _fail(f"kernel profile `{shown}` is larger than {MAX_PROFILE_BYTES:,} bytes", at,
                    "is this the right file?")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _fail(f"kernel profile `{shown}` is not UTF-8 text", at, _HINT) from None
