"""Rules about the model's structure and the workload against the strategy: E301–E306."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator

from ..diagnostics import Diagnostic, Severity, code
from ..layout.shards import kv_heads_fit
from ..layout.stages import default_split
from ..plan.model import Model
from ..units import count_text
from .base import RuleContext, diag, largest_divisor, make_rule

__all__ = ["RULES", "tp_values"]


def check_ep(ctx: RuleContext) -> Iterator[Diagnostic]:
    """ep must not exceed the routed experts of a layer and must divide them (with `with redundant R`,
    the experts and the R redundant slots).

    Expert parallelism places the routed experts of every MoE layer contiguously: ep index e
    holds experts [e·E/ep, (e+1)·E/ep). With more ep ranks than experts, or a remainder, some
    ranks hold no expert or a fraction of one. To use more GPUs, add expert DP (a larger
    attention domain), pp or dp instead. Redundant slots (EPLB) count as experts here: each rank
    holds (E + R)/ep slots, so R must make E + R a multiple of ep; an ep below the experts that does not divide
    them is told the least such R too (`ep 72` over 384 experts: `with redundant 48`, 6 slots a GPU).

    Bad:
        strategy pp 16 < ep 256 >       # 16 experts per layer
    Fixed:
        strategy pp 16 < ep 16 >
    """
    m, lay = ctx.plan.model, ctx.layout
    if not m.has_experts or not lay.expert_domain_written:
        return
    e, ep, r = m.moe.experts, lay.ep, lay.redundant
    if r and (ep > e + r or (e + r) % ep):
        yield diag("E301", Severity.ERROR, f"ep {ep}: {e} experts and {r} redundant slots do not split evenly",
                   ctx.strategy.span_of("redundant"),
                   f"the nearest redundant count that does is {nearest_redundant(e, r, ep)} "
                   f"(each GPU then holds (experts + redundant) / ep slots)")
    elif not r and (ep > e or e % ep):
        best = largest_divisor(e, ep)
        why = f"more than the {e} routed experts of a layer" if ep > e else f"{e} experts do not split evenly"
        # below the experts, EPLB's redundant slots keep the ep written (a GB200 rack's ep 72 over 384 experts)
        slots = "" if ep > e else (f", or keep ep {ep} with EPLB's redundant slots: `with redundant "
                                   f"{nearest_redundant(e, 0, ep)}` ({-(-e // ep)} slots per GPU)")
        yield diag("E301", Severity.ERROR, f"ep {ep}: {why}", ctx.strategy.span_of("ep"),
                   f"the largest ep up to {ep} that divides the {e} experts is {best} "
                   f"({e // best} expert{'s' if e // best > 1 else ''} per GPU); use dp or pp for more GPUs{slots}")


def nearest_redundant(experts: int, redundant: int, ep: int) -> int:
    """The redundant slot count nearest `redundant` (the larger on a tie) with experts + it a positive
    multiple of ep.

    Example:
        >>> nearest_redundant(256, 30, 32), nearest_redundant(256, 17, 32), nearest_redundant(8, 1, 16)
        (32, 32, 8)
    """
    below = (experts + redundant) // ep * ep - experts          # negative when no multiple above 0 fits
    above = below + ep
    return below if 0 <= below and (experts + redundant) // ep and redundant - below < above - redundant else above


def tp_values(m: Model) -> list[int]:
    """The tp values that split both the heads and the KV heads evenly (1 always does): √heads
    trial divisions."""
    root = math.isqrt(m.heads)
    small = [d for d in range(1, root + 1) if m.heads % d == 0]
    divisors = sorted(set(small) | {m.heads // d for d in small})
    return [t for t in divisors if kv_heads_fit(m, t)]


def _kv_layout(kv: int, tp: int) -> str:
    """What tp does to the KV heads, for a hint: `2 KV heads per rank`, `each KV head on 2 ranks`."""
    if tp <= kv:
        return f"{kv // tp} KV head{'s' if kv // tp > 1 else ''} per rank"
    return f"each KV head on {tp // kv} ranks"


def _held(ctx: RuleContext, tp: int, etp: int) -> bool:
    """Whether the strategy with these degrees, the rest as written, uses at most the cluster's GPUs (E401): a hint
    suggests no degree E401 then refuses."""
    lay = ctx.layout
    ep = lay.ep if lay.expert_domain_written else 1
    return lay.dp * lay.pp * max(tp * lay.cp, ep * etp) <= ctx.plan.cluster.gpus


def check_tp_heads(ctx: RuleContext) -> Iterator[Diagnostic]:
    """Attention heads, and KV heads, must split evenly over tp.

    Tensor parallelism gives each rank whole heads; a remainder would split a head. The KV
    heads of grouped-query attention must split evenly too: tp divides them (each rank holds
    kv/tp of them) or they divide tp (each KV head is held by tp/kv ranks). Otherwise ranks would
    hold different numbers of KV heads, which serving engines refuse (vLLM asserts one of the
    two). The hint names the nearest tp below and above that satisfy both and that the cluster's GPUs
    hold (no tp that E401 then refuses).

    Bad:
        strategy tp 3                  # 32 heads
        strategy tp 12                 # 48 heads, 8 KV heads: 12 neither divides 8 nor is a multiple of it
    Fixed:
        strategy tp 4
        strategy tp 8                  # or tp 16: each KV head on 2 ranks
    """
    m, tp, lay = ctx.plan.model, ctx.layout.tp, ctx.layout
    # the tp values the cluster holds, the rest of the strategy as written (E401 refuses the others)
    fits = [t for t in tp_values(m) if _held(ctx, t, lay.etp if lay.expert_domain_written else t)]
    near = [t for t in (max((t for t in fits if t < tp), default=None), min((t for t in fits if t > tp),
                                                                            default=None)) if t is not None]
    if m.heads % tp:
        yield diag("E302", Severity.ERROR, f"{m.heads} attention heads are not divisible by tp {tp}",
                   ctx.strategy.span_of("tp"), "use " + " or ".join(f"tp {t}" for t in near))
    elif not kv_heads_fit(m, tp):
        kv = m.kv_heads
        yield diag("E302", Severity.ERROR,
                   f"{kv} KV heads do not split evenly over tp {tp}: tp must divide the KV heads or be a multiple "
                   "of them",
                   ctx.strategy.span_of("tp"),
                   "use " + " or ".join(f"tp {t} ({_kv_layout(kv, t)})" for t in near))


def check_pp(ctx: RuleContext) -> Iterator[Diagnostic]:
    """pp must not exceed the layers; an explicit split must sum to them with no empty stage.

    The hints suggest only what passes the other rules: the most stages that both the layers allow and the
    cluster's GPUs hold beside the strategy's replicas and stage group (E401), and for a split that sums wrong,
    the layers to add or take and the most even split (W501 then says nothing of the default split dagc lays
    out in its place).

    Bad:
        strategy pp 4 [8, 8, 8, 6] < tp 2 >     # 32 layers, the split sums to 30
        strategy pp 64                          # 32 layers
    Fixed:
        strategy pp 4 [8, 8, 8, 8] < tp 2 >
    """
    m, s = ctx.plan.model, ctx.strategy
    if s.pp > m.layers:
        yield diag("E303", Severity.ERROR, f"pp {s.pp} is more stages than the {m.layers} layers",
                   s.span_of("pp"), _fewer_stages(ctx))
    split = s.pp_split
    if split is None:
        return
    span = s.span_of("split")
    if len(split) != s.pp:
        yield diag("E303", Severity.ERROR, f"the split names {len(split)} stages but pp is {s.pp}", span,
                   "give one layer count per stage")
    elif min(split) < 1:        # a negative count is no count of layers, not an empty stage (until 2026-12-03)
        what = "an empty stage" if min(split) == 0 else f"a stage of {min(split)} layers"
        yield diag("E303", Severity.ERROR, f"the split has {what} (every stage needs at least one layer)",
                   span, "give every stage at least one layer, or use fewer stages")
    elif sum(split) != m.layers:
        short, even = m.layers - sum(split), ", ".join(map(str, default_split(m.layers, s.pp)))
        yield diag("E303", Severity.ERROR, f"the split sums to {sum(split)} layers; the model has {m.layers}",
                   span, f"{'add' if short > 0 else 'take'} {count_text(abs(short), 'layer')} "
                   f"{'to' if short > 0 else 'from'} the counts: `[{even}]` is the most even split of {m.layers} "
                   f"layers over {s.pp} stages")


def _fewer_stages(ctx: RuleContext) -> str:
    """E303's hint for more stages than layers: the most stages that both the layers allow and the cluster's GPUs
    hold beside the strategy's replicas and stage group (E401), so that the hint passes both.

    Example:
        >>> from types import SimpleNamespace as N
        >>> ctx = N(plan=N(model=N(layers=48), cluster=N(gpus=8)), layout=N(dp=1, group_size=1))
        >>> _fewer_stages(ctx)
        'use pp 8 at most: the 8 GPUs hold 8 stages of 1 GPU (the model has 48 layers)'
    """
    layers, gpus, lay = ctx.plan.model.layers, ctx.plan.cluster.gpus, ctx.layout
    held = gpus // (lay.dp * lay.group_size)
    if held >= layers:
        return f"use pp {layers} at most"
    if held < 1:
        return "use fewer stages, and a smaller stage group or fewer replicas: the strategy does not fit the GPUs"
    return (f"use pp {held} at most: the {gpus:,} GPUs hold {held:,} stage{'s' if held > 1 else ''} of "
            f"{count_text(lay.group_size, 'GPU')}{f' in each of {lay.dp} replicas' if lay.dp > 1 else ''} "
            f"(the model has {layers} layers)")


def check_experts_exist(ctx: RuleContext) -> Iterator[Diagnostic]:
    """ep/etp (or redundant expert slots) on a model without experts.

    A dense model has no routed experts to distribute; its FFNs are split by tp.

    Bad:
        model "dense" { layers = 32  hidden = 4096  heads = 32  vocab = 32000  ffn = 14336 }
        strategy tp 2 ; ep 4
    Fixed:
        strategy tp 8
    """
    if not ctx.plan.model.has_experts and ctx.layout.expert_domain_written:
        yield diag("E304", Severity.ERROR,
                   f"model {code(ctx.plan.model.name)} has no routed experts to place with ep/etp",
                   ctx.strategy.span_of("ep") or ctx.strategy.span_of("etp"), "remove the expert domain; use tp")
    elif not ctx.plan.model.has_experts and ctx.layout.eplb:
        yield diag("E304", Severity.ERROR, f"model {code(ctx.plan.model.name)} has no routed experts to replicate in "
                   "redundant slots", ctx.strategy.span_of("redundant"), "remove `redundant` from the options")


def check_ffn_split(ctx: RuleContext) -> Iterator[Diagnostic]:
    """Expert FFNs must divide by etp, dense and shared FFNs by tp.

    etp (or tp, when experts follow the attention domain) splits each expert's intermediate
    dimension; a remainder would leave ranks with unequal shards.

    Bad:
        strategy ep 8 etp 3               # expert ffn 14336
    Fixed:
        strategy ep 8 etp 2
    """
    m, lay, s = ctx.plan.model, ctx.layout, ctx.strategy
    if m.has_experts and m.moe.ffn % lay.etp:
        if lay.expert_domain_written:
            yield diag("E305", Severity.ERROR, f"expert ffn {m.moe.ffn} is not divisible by etp {lay.etp}",
                       s.span_of("etp"), _ffn_hint("etp", lay.etp, m.moe.ffn, range(1, 2 * lay.etp + 1),
                                                   lambda d: _held(ctx, lay.tp, d)))
        else:
            yield diag("E305", Severity.ERROR, f"expert ffn {m.moe.ffn} is not divisible by tp {lay.etp}",
                       s.span_of("tp"), _ffn_hint("tp", lay.etp, m.moe.ffn, tp_values(m), lambda d: _held(ctx, d, d)))
    for label, size, present in (("dense ffn", m.moe.dense_ffn, m.dense_layer_count > 0),
                                 ("shared expert ffn", m.moe.shared_ffn_size, m.has_experts and m.moe.shared > 0)):
        if present and size % lay.tp:
            yield diag("E305", Severity.ERROR, f"{label} {size} is not divisible by tp {lay.tp}",
                       s.span_of("tp"), _ffn_hint("tp", lay.tp, size, tp_values(m),
                                                  lambda d: _held(ctx, d, lay.etp if lay.expert_domain_written else d)))


def _ffn_hint(key: str, degree: int, size: int, values: Iterable[int], fits: Callable[[int], bool]) -> str:
    """`use tp 4 or tp 8`: the nearest of `values` below and above `degree` that divide `size` — and
    that keep the strategy on the cluster (`fits(d)`) where some do — as E302's hint names them (for
    tp the values split the heads and KV heads)."""
    ok = [d for d in values if size % d == 0]
    ok = [d for d in ok if fits(d)] or ok
    near = [d for d in (max((d for d in ok if d < degree), default=None), min((d for d in ok if d > degree),
                                                                             default=None)) if d is not None]
    return "use " + " or ".join(f"{key} {d}" for d in near) if near else f"use {key} 1"


def check_cp_prompt(ctx: RuleContext) -> Iterator[Diagnostic]:
    """Context parallelism must give every cp rank at least one prompt token.

    cp splits each prompt's tokens over the cp ranks of an attention group; with more ranks
    than prompt tokens some ranks would hold no token (and a fraction of one on the others).

    Bad:
        workload { batch = 64  prompt = 2  generate = 256 }
        strategy tp 2 cp 4
    Fixed:
        strategy tp 8                   # cp pays off on long prompts only
    """
    cp, prompt = ctx.layout.cp, ctx.plan.workload.prompt
    if cp > prompt:
        yield diag("E306", Severity.ERROR,
                   f"cp {cp} splits a {prompt}-token prompt: {cp - prompt} of the {cp} cp ranks would hold no token",
                   ctx.strategy.span_of("cp"),
                   f"use cp {prompt} at most (cp 1 for short prompts), and tp or dp for the GPUs")


RULES = (
    make_rule("E301", Severity.ERROR, "ep larger than the routed experts, or not dividing them", check_ep),
    make_rule("E302", Severity.ERROR, "attention heads or KV heads not divisible by tp", check_tp_heads),
    make_rule("E303", Severity.ERROR, "pp larger than the layers, or a bad explicit split", check_pp),
    make_rule("E304", Severity.ERROR, "ep/etp on a model without experts", check_experts_exist),
    make_rule("E305", Severity.ERROR, "expert ffn not divisible by etp (dense ffn by tp)", check_ffn_split),
    make_rule("E306", Severity.ERROR, "cp larger than the prompt's tokens", check_cp_prompt),
)
