"""The model a plan serves: its layers, attention and experts, and the number types it stores.

Input: nothing (these are the types). Output: `Model` with its parts `Moe` and `Mla`, and the
enums its fields take (`DType`, `AttentionKind`), produced by `dagc.lang.model`.
"""

from __future__ import annotations

from ..enums import FastEnum
from .base import Frozen

__all__ = ["DType", "AttentionKind", "Mla", "Moe", "Model"]


class DType(FastEnum):
    FP32 = "fp32"
    BF16 = "bf16"
    FP16 = "fp16"
    FP8 = "fp8"
    INT8 = "int8"
    INT4 = "int4"
    NVFP4 = "nvfp4"         # 4-bit values (e2m1) in blocks of 16, one fp8 (e4m3) scale per block
    MXFP4 = "mxfp4"         # 4-bit values (e2m1) in blocks of 32, one e8m0 scale per block (OCP MX)

    @property
    def bytes(self) -> float:
        """Bytes per value, block scales included: nvfp4 0.5 + 1/16, mxfp4 0.5 + 1/32 (a tensor's own
        fp32 scale of nvfp4, 4 bytes per tensor, is left out).

        Example:
            >>> DType.NVFP4.bytes, DType.MXFP4.bytes, DType.INT4.bytes
            (0.5625, 0.53125, 0.5)
        """
        return _BYTES[self.value]

    @property
    def is_8bit_or_less(self) -> bool:
        return self.bytes <= 1.0

    @property
    def is_fp4(self) -> bool:
        """A 4-bit float with block scales, which Blackwell's fp4 tensor cores run."""
        return self in (DType.NVFP4, DType.MXFP4)


_BYTES = {"fp32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5,
          "nvfp4": 0.5 + 1 / 16, "mxfp4": 0.5 + 1 / 32}


class AttentionKind(FastEnum):
    GQA = "gqa"
    MLA = "mla"



class Mla(Frozen):
    """Multi-head latent attention dimensions (DeepSeek-V2/V3). q_lora = 0: no query LoRA."""

    q_lora: int = 0
    kv_lora: int
    qk_nope: int
    qk_rope: int
    v_head: int


class Moe(Frozen):
    """The feed-forward part of the model. experts = 0: a dense model (every layer dense)."""

    experts: int = 0
    top_k: int = 0
    ffn: int = 0
    shared: int = 0
    shared_ffn: int = 0
    dense_layers: int = 0
    dense_ffn: int = 0
    gated: bool = True
    every: int = 1                  # after the dense layers, every k-th layer is MoE, the others dense (Llama 4: 2)
    weights: DType | None = None    # the experts' weights (routed and shared), when not the model's (gpt-oss: mxfp4)
    groups: int = 1                 # expert groups of group-limited routing (DeepSeek-V3: 8), for EPLB's placement

    @property
    def shared_ffn_size(self) -> int:
        return self.shared_ffn or self.ffn


class Window(Frozen):
    """Attention over a window of recent tokens on some layers (`model { window { … } }`): `sliding` —
    each token attends to the `size` tokens before it (gpt-oss: 128) — or `chunked` — to the tokens of
    its own chunk of `size` (Llama 4: 8192). Every `full_every`-th layer (the `full_every`-th, the
    2·`full_every`-th, …) keeps full attention; 0: every layer is windowed."""

    size: int
    kind: str = "sliding"            # "sliding" | "chunked"
    full_every: int = 0


class Model(Frozen):
    name: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int
    tied: bool = False
    weights: DType = DType.BF16
    kv_cache: DType = DType.BF16
    attention: AttentionKind = AttentionKind.GQA
    mla: Mla | None = None
    moe: Moe = Moe()
    window: Window | None = None      # windowed attention on some layers; None: full attention everywhere
    context_length: int | None = None  # the longest sequence (prompt + output) it takes; None: not known, not checked

    @property
    def has_experts(self) -> bool:
        return self.moe.experts > 0

    def is_moe_layer(self, layer: int) -> bool:
        """Whether `layer` is an MoE layer: after the `dense_layers` first ones, every `every`-th
        (the `every`-th, the 2·`every`-th, …; all of them with `every = 1`)."""
        d = self.moe.dense_layers
        return self.has_experts and layer >= d and (layer - d + 1) % self.moe.every == 0

    def moe_layers_below(self, end: int) -> int:
        """How many of the layers [0, end) are MoE layers (`is_moe_layer`), in O(1).

        Example:
            >>> m = Model(name="m", layers=8, hidden=8, heads=1, kv_heads=1, head_dim=8, vocab=8,
            ...           moe=Moe(experts=4, top_k=1, ffn=8, dense_layers=2, dense_ffn=8, every=2))
            >>> [m.is_moe_layer(i) for i in range(8)], m.moe_layers_below(8), m.moe_layers_below(5)
            ([False, False, False, True, False, True, False, True], 3, 1)
        """
        if not self.has_experts:
            return 0
        return max(0, min(end, self.layers) - self.moe.dense_layers) // self.moe.every

    @property
    def dense_layer_count(self) -> int:
        return self.layers - self.moe_layer_count

    @property
    def moe_layer_count(self) -> int:
        return self.moe_layers_below(self.layers)

    def is_windowed(self, layer: int) -> bool:
        """Whether `layer` attends over a window (`Window`) rather than its whole context."""
        w = self.window
        return w is not None and not (w.full_every and (layer + 1) % w.full_every == 0)

    def windowed_layers_below(self, end: int) -> int:
        """How many of the layers [0, end) are windowed (`is_windowed`), in O(1)."""
        w, end = self.window, max(0, min(end, self.layers))
        if w is None:
            return 0
        return end - (end // w.full_every if w.full_every else 0)

    @property
    def window_share(self) -> float:
        """The share of the model's layers that are windowed."""
        return self.windowed_layers_below(self.layers) / self.layers

    @property
    def structure_text(self) -> str:
        """What sets the model apart beside its size, for a report's model line ('' for a plain one):
        the experts' own dtype, MoE on some layers only, windowed attention."""
        parts = []
        if self.moe.weights is not None and self.moe.weights != self.weights:
            parts.append(f"{self.moe.weights.value} experts")
        if self.has_experts and self.moe.every > 1:
            parts.append(f"MoE on 1 layer in {self.moe.every}")
        if self.window is not None:
            parts.append(f"{self.window.kind} window of {self.window.size:,} tokens on "
                         f"{self.windowed_layers_below(self.layers)} of {self.layers} layers")
        return "; ".join(parts)

    @property
    def expert_weights(self) -> DType:
        """The dtype of the experts' weights (routed and shared): `moe { weights = … }`, else the model's."""
        return self.moe.weights or self.weights

    @property
    def layer_kinds(self) -> tuple[bool, ...]:
        """The kinds of layer the model has, dense (True) and MoE (False): what is worth timing."""
        return tuple(dense for dense, n in ((True, self.dense_layer_count), (False, self.moe_layer_count)) if n)
