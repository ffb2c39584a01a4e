"""The figures of attention and the dense ops of a layer, a stage's ends and a stage boundary (SPEC 5, 6).

Input: the `Shapes` of one (phase, micro-batch shape, stage placement) and the op's `Recipe`.
Output: the op's `OpTemplate` — per-rank tokens, FLOPs, HBM bytes, bytes sent, working set and
the kernels it launches (the unfused reference, `REFERENCE`). `dagc.ir.ops` lists them in `RECIPES`.
Covered: embedding, norms, the TP and CP collectives, the QKV and O projections, attention
(prefill and decode, rope and layout glue), the dense FFN, the LM head and the pipeline send.
Beside each figure function, its `_reads`: what it reads of the shapes (the model and workload
aside), the key under which `dagc.schedule.timer.Timer` prices it once.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import replace

from ..layout.shards import kv_heads_per_rank
from ..layout.window import decode_context_mean, prefill_factor
from ..plan.model import AttentionKind
from ..plan.params import ffn_params
from .dag import Kernel, KernelClass, OpKind, OpTemplate, Phase
from .op_shapes import AB, REFERENCE, Projection, Recipe, Shapes, Work

__all__ = ["attention", "attention_context_kernels", "attention_fixed_kernels", "cp_gather",
           "dense_ffn", "embed", "final_norm", "lm_head", "norm", "o_proj", "qkv", "send",
           "tp_gather", "tp_reduce", "attention_reads", "cp_gather_reads", "dense_ffn_reads", "embed_reads",
           "final_norm_reads", "lm_head_reads", "norm_reads", "o_proj_reads", "qkv_reads", "send_reads",
           "tp_gather_reads", "tp_reduce_reads", "kv_reads", "dense_ffn_distinct", "embed_distinct",
           "final_norm_distinct", "lm_head_distinct", "norm_distinct", "o_proj_distinct", "qkv_distinct"]


def embed(s: Shapes, r: Recipe) -> OpTemplate:
    d, t = s.d, s.t
    count, per = embed_distinct(s)
    return s.compute(r, Work(t, s.zero, t * d.h * (d.wb + AB), t * d.h * AB, count, per * count, t * d.h * AB),
                     (s.memory_pass("gather", 2 * t * d.h * AB, "copy"),), s.host_requests)



def embed_reads(s: Shapes) -> Hashable:
    return s.t_key, s.host_requests


def embed_distinct(s: Shapes) -> tuple[float, float]:
    return s.T, 0.0             # a look-up: no FLOPs

def norm(s: Shapes, r: Recipe) -> OpTemplate:
    d = s.d
    t = s.t / d.tp if d.sp else s.t
    act = 2 * t * d.h * AB
    count, per = norm_distinct(s)
    return s.compute(r, Work(t, 2 * d.h * t, act + d.h * d.wb, act, count, per * count, act / 2),
                     (s.memory_pass("rms_norm", 2 * t * d.h * AB, "rms_norm"),))



def norm_reads(s: Shapes) -> Hashable:
    return s.t_key, s.d.tp if s.d.sp else 1


def norm_distinct(s: Shapes) -> tuple[float, float]:
    return s.T, 2 * s.d.h

def qkv(s: Shapes, r: Recipe) -> OpTemplate:
    return s.matmul(r, _qkv_projection(s), s.t, s.T)


def _qkv_projection(s: Shapes) -> Projection:
    d = s.d
    # MLA's several projections are costed as one GEMM of the same weights (N = params / hidden).
    return Projection(d.qkv_params_r, d.qkv_params_full, d.h, d.q_out + d.kv_out)



def qkv_reads(s: Shapes) -> Hashable:
    return s.t_key, s.d.tp, s.m.heads, s.m.kv_heads, s.m.attention       # the model's, or an EAGLE draft's


def qkv_distinct(s: Shapes) -> tuple[float, float]:
    return s.T, _qkv_projection(s).flops_per_row

def attention(s: Shapes, r: Recipe) -> OpTemplate:
    """A layer's attention; with windowed layers (`model.window`), the model's mean over its full and
    windowed layers (`dagc.layout.window`): a prefill does `prefill_factor` of a full causal prefill's
    work (costed as that share of its sequences), a decode step attends to `decode_context_mean`."""
    d, w, m = s.d, s.w, s.m
    share = prefill_factor(m, w.prompt)               # 1.0 without a window
    if s.phase is Phase.PREFILL:
        flops = s.n_seq * w.prompt ** 2 * d.heads_r * (d.dk + d.dv) / d.cp * share
        total = s.R * w.prompt ** 2 * m.heads * (d.dk + d.dv) * share
        act = s.t * (d.q_out + d.kv_out + d.o_in) * AB
        hbm = act + s.t * d.kvb_token                         # writes this layer's KV cache
        out = s.t * d.o_in * AB
    else:
        ctx = decode_context_mean(m, w)
        q = w.step_positions                              # speculative decoding verifies k + 1 positions
        flops = 2 * s.n_seq * q * ctx * d.heads_r * (d.dk + d.dv) / d.cp
        total = 2 * s.R * q * ctx * m.heads * (d.dk + d.dv)
        act = s.n_seq * q * (d.q_out + d.o_in) * AB
        hbm = act + s.n_seq * ctx / d.cp * d.kvb_token * kv_reads(s)   # reads the KV cache
        out = s.n_seq * q * d.o_in * AB
    if s.phase is Phase.MIXED:
        # The chunk's tokens attend to their prompt's prefix and to each other. Over a prompt's chunks
        # the mean chunk of c tokens meets c·prompt/2 query-key pairs, the work of c/prompt causal
        # prefills of the whole prompt: costed as those.
        c = s.c
        flops = flops + c * w.prompt * d.heads_r * (d.dk + d.dv) * share
        total += s.chunk * s.chunk_groups * w.prompt * m.heads * (d.dk + d.dv) * share
        chunk_act = c * (d.q_out + d.kv_out + d.o_in) * AB
        act = act + chunk_act
        hbm = hbm + chunk_act + 2 * c * d.kvb_token           # writes the chunk's KV, reads its prefix's
        out = out + c * d.o_in * AB
    before, after = attention_fixed_kernels(s)
    return s.compute(r, Work(s.t, flops, hbm, act, s.T, total, out), (*before, *attention_context_kernels(s), *after))


def attention_context_kernels(s: Shapes) -> tuple[Kernel, ...]:
    """The kernels of `attention` that read the context (the workload's prompt and generate): the attention
    proper — a prefill's over its prompt, a decode step's over `decode_context_mean` — and a mixed step's
    chunk's over its prompt's prefix. Its others (`attention_fixed_kernels`) read the tokens alone, so
    `dagc.schedule.timer_base` prices an attention at another context by these alone."""
    d, w, m = s.d, s.w, s.m
    share = prefill_factor(m, w.prompt)               # 1.0 without a window
    if s.phase is Phase.PREFILL:
        # cp: each rank computes 1/cp of every sequence's attention
        return (s.kernel("flash_prefill", KernelClass.ATTN_PREFILL,
                         (s.n_seq / d.cp * share, s.vec(w.prompt), s.vec(d.heads_r), s.vec(_kv_heads_attn(s)),
                          s.vec((d.dk + d.dv) / 2))),)
    kernels: tuple[Kernel, ...] = (_decode_kernel(s, decode_context_mean(m, w) / d.cp, w.step_positions),)
    if s.phase is Phase.MIXED:
        kernels += (s.kernel("flash_prefill", KernelClass.ATTN_PREFILL,
                             (s.c / w.prompt * share, s.vec(w.prompt), s.vec(d.heads_r), s.vec(_kv_heads_attn(s)),
                              s.vec((d.dk + d.dv) / 2))),)
    return kernels


def attention_fixed_kernels(s: Shapes) -> tuple[tuple[Kernel, ...], tuple[Kernel, ...]]:
    """The kernels of `attention` before and after its `attention_context_kernels`: the rotary embedding,
    and the output's layout and the KV cache's write (a decode or mixed step's read no context)."""
    return _rope_kernels(s), _attention_glue(s)



def attention_reads(s: Shapes) -> Hashable:
    return s.t_key, s.seq_key, s.T, s.R, s.d.tp, s.d.cp, s.m.heads, s.m.kv_heads, s.m.attention

def _rope_kernels(s: Shapes) -> tuple[Kernel, ...]:
    """Rotary embedding of q and k, unfused (REFERENCE): per element 9 bf16 reads and writes, 13
    launches per tensor (one fused kernel reads and writes each element once: 2 of the 9); MLA rotates
    only its rope dimensions."""
    m, d = s.m, s.d
    if m.attention is AttentionKind.MLA and m.mla is not None:
        width = (d.heads_r + 1) * m.mla.qk_rope
    else:
        width = d.q_out + d.kv_out / 2
    return (s.memory_pass("rope", 9 * AB * s.t * width, "copy", REFERENCE["rope"], one_pass=2 / 9),)


def _attention_glue(s: Shapes) -> tuple[Kernel, ...]:
    """The attention output made contiguous for the O projection and, in decode, the new token's K
    and V written into the cache (REFERENCE); a mixed step writes its chunk's too."""
    d = s.d
    glue = [s.memory_pass("o_layout", 2 * AB * s.t * d.o_in, "copy", REFERENCE["o_layout"])]
    if s.phase is not Phase.PREFILL:
        glue.append(s.memory_pass("kv_write", 2 * AB * s.t * d.kv_out, "copy", REFERENCE["kv_write"]))
    return tuple(glue)


def _kv_heads_attn(s: Shapes) -> float:
    """KV heads a rank's attention reads per query head group (MLA prefill runs as multi-head)."""
    m = s.m
    if m.attention is AttentionKind.MLA:
        return s.d.heads_r
    return float(kv_heads_per_rank(m, s.d.tp))


def _decode_kernel(s: Shapes, ctx: float, q: int = 1) -> Kernel:
    """Decode attention over `ctx` cached tokens per request, the cache's bytes an element last: an 8-bit
    cache reads half the bytes of a bf16 one but the kernel computes over the whole context in bf16 (the
    profile prices it so). `q` positions per request (speculative decoding's verification) read the cache
    once: costed as `q` times the query heads."""
    m, d = s.m, s.d
    kvb = s.vec(m.kv_cache.bytes)
    if m.attention is AttentionKind.MLA and m.mla is not None:
        return s.kernel("mla_decode", KernelClass.MLA_DECODE, (s.n_seq, s.vec(ctx), s.vec(d.heads_r * q),
                                                               s.vec(m.mla.kv_lora), s.vec(m.mla.qk_rope), kvb))
    return s.kernel("decode_attention", KernelClass.ATTN_DECODE,
                    (s.n_seq, s.vec(ctx), s.vec(d.heads_r * q), s.vec(_kv_heads_attn(s) * kv_reads(s)), s.vec(d.dk),
                     kvb))


def kv_reads(s: Shapes) -> float:
    """How many times a decode step's attention reads each KV head's cache on a rank: once — a kernel that runs a
    KV head's group of query heads together (FlashAttention, FlashInfer, TensorRT-LLM's XQA) —, or once per query
    head of its group where the engine runs grouped-query decode as multi-head attention, one thread block per query
    head each reading its group's KV head (`EngineTerms.kv_read_per_query_head`: TensorRT-LLM's masked multi-head
    attention kernel before 0.8; docs/cost-model.md, "The engine"). MLA's latent cache is read once.

    Example: Llama 2 70B (64 query heads, 8 KV heads) at tp 2 reads each of a rank's 4 KV heads 32 / 4 = 8 times.
    """
    m, d = s.m, s.d
    if s.engine is None or not s.engine.kv_read_per_query_head or m.attention is AttentionKind.MLA:
        return 1.0
    return d.heads_r / kv_heads_per_rank(m, d.tp)


def o_proj(s: Shapes, r: Recipe) -> OpTemplate:
    d = s.d
    kernels = (s.gemm("o_proj", s.t, d.h, d.o_in), s.residual_add(s.t))
    return s.matmul(r, _o_projection(s), s.t, s.T, kernels)


def _o_projection(s: Shapes) -> Projection:
    d = s.d
    return Projection(d.o_params_r, d.o_params_full, d.o_in, d.h)



def o_proj_reads(s: Shapes) -> Hashable:
    return s.t_key, s.d.tp, s.m.heads, s.m.attention


def o_proj_distinct(s: Shapes) -> tuple[float, float]:
    return s.T, _o_projection(s).flops_per_row

def tp_reduce(s: Shapes, r: Recipe) -> OpTemplate:
    d = s.d
    kind = OpKind.REDUCE_SCATTER if d.sp else OpKind.ALL_REDUCE
    return s.comm(replace(r, kind=kind), d.tp, s.t, s.t * d.h * AB, s.crosses(d.tp), s.nodes(d.tp))



def tp_reduce_reads(s: Shapes) -> Hashable:
    return s.t_key, s.d.tp, s.d.sp, s.placement_key(s.d.tp)

def tp_gather(s: Shapes, r: Recipe) -> OpTemplate:
    d = s.d
    return s.comm(r, d.tp, s.t, s.t * d.h * AB, s.crosses(d.tp), s.nodes(d.tp))



def tp_gather_reads(s: Shapes) -> Hashable:
    return s.t_key, s.d.tp, s.placement_key(s.d.tp)

def cp_gather(s: Shapes, r: Recipe) -> OpTemplate:
    d = s.d
    return s.comm(r, d.cp, s.t, s.t * d.kv_out * AB, s.crosses(d.cp, d.tp * d.cp), s.nodes(d.cp, d.tp * d.cp))



def cp_gather_reads(s: Shapes) -> Hashable:
    return s.t_key, s.d.tp, s.d.cp, s.placement_key(s.d.cp, s.d.tp * s.d.cp)

def dense_ffn(s: Shapes, r: Recipe) -> OpTemplate:
    p, ffn_r = _dense_ffn_projection(s)
    return s.matmul(r, p, s.t, s.T, (*s.ffn_kernels(s.t, ffn_r), s.residual_add(s.t)))


def _dense_ffn_projection(s: Shapes) -> tuple[Projection, float]:
    """The dense FFN's weights and its intermediate columns per rank."""
    m, d = s.m, s.d
    full = ffn_params(m, m.moe.dense_ffn)
    ffn_r = m.moe.dense_ffn / d.tp
    return Projection(full / d.tp, full, d.h, d.gate * ffn_r), ffn_r



def dense_ffn_reads(s: Shapes) -> Hashable:
    return s.t_key, s.d.tp, s.m.moe.dense_ffn        # the FFN: the model's, or an EAGLE draft's own


def dense_ffn_distinct(s: Shapes) -> tuple[float, float]:
    return s.T, _dense_ffn_projection(s)[0].flops_per_row

def final_norm(s: Shapes, r: Recipe) -> OpTemplate:
    d = s.d
    n = s.n_seq / d.cp
    act = 2 * n * d.h * AB
    count, per = final_norm_distinct(s)
    return s.compute(r, Work(n, 2 * d.h * n, act + d.h * d.wb, act, count, per * count, act / 2),
                     (s.memory_pass("rms_norm", 2 * n * d.h * AB, "rms_norm"),))



def final_norm_reads(s: Shapes) -> Hashable:
    return s.rows_key, s.d.cp


def final_norm_distinct(s: Shapes) -> tuple[float, float]:
    return s.R, 2 * s.d.h

def lm_head(s: Shapes, r: Recipe) -> OpTemplate:
    return s.matmul(r, _lm_head_projection(s), s.n_seq / s.d.cp, s.R)


def _lm_head_projection(s: Shapes) -> Projection:
    m, d = s.m, s.d
    full = m.vocab * d.h
    return Projection(full / d.tp, full, d.h, m.vocab / d.tp)



def lm_head_reads(s: Shapes) -> Hashable:
    return s.rows_key, s.d.tp, s.d.cp, s.m.vocab            # the model's vocabulary, or an EAGLE draft's


def lm_head_distinct(s: Shapes) -> tuple[float, float]:
    return s.R, _lm_head_projection(s).flops_per_row

def send(s: Shapes, r: Recipe) -> OpTemplate:
    t = s.t / s.d.tp if s.d.sp else s.t
    return s.comm(r, 2, t, t * s.d.h * AB, s.lay.send_crosses_nodes(s.stage))


def send_reads(s: Shapes) -> Hashable:
    return s.t_key, s.d.tp if s.d.sp else 1, s.lay.send_crosses_nodes(s.stage)
