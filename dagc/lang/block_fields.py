"""Each block's fields by name, typed: what `dagc.lang.blocks.read_block` reads, narrowed once per block.

Input: a block's values as read (a `FieldValue` by field name, BAD where one did not read), or a built-in
model's fields (`dagc.plan.presets.PresetField`). Output: the block's `TypedDict` — `ModelFields` (with its
`MoeFields`, `MlaFields`, `WindowFields`), `ClusterFields` (`GpuFields`, `EfficiencyFields`,
`LatencyFields`), `WorkloadFields` (and `TrafficFields`, the part of it the traffic is read from),
`SpeculativeFields` — so that every read of a field (`fields["gpus"]`) is typed.

The narrowing is checked, not assumed: every name is one of the block's `Field` table (`dagc.lang.fields`)
and every value of the type its field's kind reads as (`reads_as`); `BLOCKS` pairs each `TypedDict` with its
table, and tests/test_block_fields.py holds the one to the other. A value that did not read (BAD) is left
out: its error is said, and a caller that stops on one looks at what `read_block` returned.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypedDict, TypeVar, cast

from ..plan.presets import PresetField
from ..units import Dimension
from .blocks import Bad
from .fields import (
    CLUSTER_BLOCK_FIELDS,
    EFFICIENCY_FIELDS,
    GPU_FIELDS,
    LATENCY_FIELDS,
    MIX_FIELDS,
    MLA_FIELDS,
    MODEL_FIELDS,
    MOE_FIELDS,
    SPECULATIVE_FIELDS,
    TRAFFIC_FIELDS,
    WINDOW_FIELDS,
    WORKLOAD_FIELDS,
    Field,
    FieldValue,
)

__all__ = ["BLOCKS", "ClusterFields", "EfficiencyFields", "GpuFields", "LatencyFields", "MixFields", "MlaFields",
           "ModelFields", "MoeFields", "SpeculativeFields", "TrafficFields", "WindowFields", "WorkloadFields",
           "cluster_fields", "efficiency_fields", "gpu_fields", "latency_fields", "mix_fields", "mla_fields",
           "model_fields", "moe_fields", "preset_model_fields", "reads_as", "speculative_fields", "traffic_fields",
           "window_fields", "workload_fields"]


class MoeFields(TypedDict, total=False):
    experts: int
    top_k: int
    ffn: int | None            # None: a config.json's `moe_intermediate_size` is null (`dagc.lang.hf`): unstated
    shared: int
    shared_ffn: int | None     # None: the same, taken for the shared experts
    dense_layers: int
    dense_ffn: int
    gated: bool
    every: int
    weights: str
    groups: int


class MlaFields(TypedDict, total=False):
    q_lora: int
    kv_lora: int
    qk_nope: int
    qk_rope: int
    v_head: int


class WindowFields(TypedDict, total=False):
    size: int
    kind: str
    full_every: int


class ModelFields(TypedDict, total=False):
    """The model's fields, from a preset, a config.json or a block, with its sub-blocks' beside them."""

    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int | None       # None: a config.json that states none, its hidden below its heads (`dagc.lang.hf`)
    vocab: int
    tied: bool
    weights: str
    kv_cache: str
    attention: str
    ffn: int
    gated: bool
    context_length: int
    moe: MoeFields
    mla: MlaFields
    window: WindowFields


class ClusterFields(TypedDict, total=False):
    gpus: int
    gpus_per_node: int
    intra_node: float
    inter_node: float
    kernels: str
    engine: str
    reserve: float
    price: float


class GpuFields(TypedDict, total=False):
    memory: float
    flops: float
    fp8_flops: float
    fp4_flops: float
    hbm: float
    intra_node: float


class EfficiencyFields(TypedDict, total=False):
    compute: float
    hbm: float
    network: float


class LatencyFields(TypedDict, total=False):
    intra: float
    inter: float


class TrafficFields(TypedDict, total=False):
    """The workload's traffic fields (`TRAFFIC_FIELDS`) and the prompt, which a shared prefix is checked against."""

    rate: float
    requests: int
    arrival: str
    seed: int
    concurrency: int
    ramp: float
    lengths: str
    length_cv: float
    prefix: int
    warm: int
    prompt: int


class WorkloadFields(TrafficFields, total=False):
    batch: int | str           # str: `max`, the largest batch each strategy serves
    generate: int
    microbatches: int
    routing: float | None      # None: `random`
    overlap: str
    dispatch: str
    serving: str
    chunk: int
    chunked_prefill: str
    prefill_batch: int
    kv_transfer: str


class MixFields(WorkloadFields, total=False):
    """A fleet's traffic mix: the workload's fields it sets, and its weight."""

    weight: float


class SpeculativeFields(TypedDict, total=False):
    method: str
    tokens: int
    acceptance: float
    accept_length: float


_TRAFFIC = {k: WORKLOAD_FIELDS[k] for k in (*TRAFFIC_FIELDS, "prompt")}
# Each block's TypedDict and the table its fields are read with (a model's sub-blocks are keys of its own).
BLOCKS: tuple[tuple[type[Mapping[str, object]], Mapping[str, Field]], ...] = (
    (ModelFields, MODEL_FIELDS), (MoeFields, MOE_FIELDS), (MlaFields, MLA_FIELDS), (WindowFields, WINDOW_FIELDS),
    (ClusterFields, CLUSTER_BLOCK_FIELDS), (GpuFields, GPU_FIELDS), (EfficiencyFields, EFFICIENCY_FIELDS),
    (LatencyFields, LATENCY_FIELDS), (TrafficFields, _TRAFFIC), (WorkloadFields, WORKLOAD_FIELDS),
    (MixFields, MIX_FIELDS), (SpeculativeFields, SPECULATIVE_FIELDS))

_KIND_TYPES: dict[str, tuple[type, ...]] = {"bool": (bool,), "choice": (str,), "name": (str,), "int": (int,),
                                            "tokens": (int,), "batch": (int, str), "routing": (float, type(None))}


def reads_as(spec: Field) -> tuple[type, ...]:
    """The Python types `dagc.lang.blocks.read_value` reads a value of `spec` as: by its kind, and a quantity's by
    its dimension (a count an `int`, a throughput a `(value, per_gpu)` tuple, anything else a `float`).

    Example:
        >>> reads_as(MODEL_FIELDS["layers"]), reads_as(WORKLOAD_FIELDS["routing"]), reads_as(GPU_FIELDS["hbm"])
        ((<class 'int'>,), (<class 'float'>, <class 'NoneType'>), (<class 'float'>,))
    """
    if spec.kind in _KIND_TYPES:
        return _KIND_TYPES[spec.kind]
    if spec.dimension is Dimension.COUNT:
        return (int,)
    return (tuple,) if spec.dimension is Dimension.THROUGHPUT else (float,)


_Shape = TypeVar("_Shape", bound=Mapping[str, object])


def _narrowed(shape: type[_Shape], table: Mapping[str, Field], values: Mapping[str, FieldValue | Bad]) -> _Shape:
    """`values` as `shape`, the `TypedDict` of the block `table` reads; BAD values left out (said already)."""
    kept: dict[str, FieldValue] = {}
    for name, value in values.items():
        if isinstance(value, Bad):
            continue
        assert name in table and type(value) in reads_as(table[name]), f"`{name}` does not read as {value!r}"
        kept[name] = value
    # every name is the table's and every value the type its kind reads as, which `shape` declares (`BLOCKS`)
    return cast(_Shape, kept)


def model_fields(values: Mapping[str, FieldValue | Bad]) -> ModelFields:
    return _narrowed(ModelFields, MODEL_FIELDS, values)


def moe_fields(values: Mapping[str, FieldValue | Bad]) -> MoeFields:
    return _narrowed(MoeFields, MOE_FIELDS, values)


def mla_fields(values: Mapping[str, FieldValue | Bad]) -> MlaFields:
    return _narrowed(MlaFields, MLA_FIELDS, values)


def window_fields(values: Mapping[str, FieldValue | Bad]) -> WindowFields:
    return _narrowed(WindowFields, WINDOW_FIELDS, values)


def cluster_fields(values: Mapping[str, FieldValue | Bad]) -> ClusterFields:
    return _narrowed(ClusterFields, CLUSTER_BLOCK_FIELDS, values)


def gpu_fields(values: Mapping[str, FieldValue | Bad]) -> GpuFields:
    return _narrowed(GpuFields, GPU_FIELDS, values)


def efficiency_fields(values: Mapping[str, FieldValue | Bad]) -> EfficiencyFields:
    return _narrowed(EfficiencyFields, EFFICIENCY_FIELDS, values)


def latency_fields(values: Mapping[str, FieldValue | Bad]) -> LatencyFields:
    return _narrowed(LatencyFields, LATENCY_FIELDS, values)


def workload_fields(values: Mapping[str, FieldValue | Bad]) -> WorkloadFields:
    return _narrowed(WorkloadFields, WORKLOAD_FIELDS, values)


def traffic_fields(values: Mapping[str, FieldValue | Bad]) -> TrafficFields:
    """The traffic's part of the workload's values (`TRAFFIC_FIELDS` and `prompt`)."""
    return _narrowed(TrafficFields, _TRAFFIC, {k: v for k, v in values.items() if k in _TRAFFIC})


def mix_fields(values: Mapping[str, FieldValue | Bad]) -> MixFields:
    return _narrowed(MixFields, MIX_FIELDS, values)


def speculative_fields(values: Mapping[str, FieldValue | Bad]) -> SpeculativeFields:
    return _narrowed(SpeculativeFields, SPECULATIVE_FIELDS, values)


def preset_model_fields(preset: Mapping[str, PresetField]) -> ModelFields:
    """A built-in model's fields (`dagc.plan.presets.MODEL_PRESETS`), each checked as if written in a block.

    Example:
        >>> from dagc.plan.presets import MODEL_PRESETS
        >>> f = preset_model_fields(MODEL_PRESETS["mixtral-8x7b"])
        >>> f["layers"], f["weights"], f["moe"]["experts"], "mla" in f
        (32, 'bf16', 8, False)
    """
    fields = model_fields({k: v for k, v in preset.items() if not isinstance(v, dict)})
    for key, sub in preset.items():
        if not isinstance(sub, dict):
            continue
        if key == "moe":
            fields["moe"] = moe_fields(sub)
        elif key == "mla":
            fields["mla"] = mla_fields(sub)
        else:
            assert key == "window", f"a preset's block `{key}` is none of the model's"
            fields["window"] = window_fields(sub)
    return fields
