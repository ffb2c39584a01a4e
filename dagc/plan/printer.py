"""Strategies built as values and printed by one printer: the canonical text of a `Strategy`.

Input: a `Strategy` (its degrees, layer split, sequence-parallel flag, expert domain, execution
options and pools). Output: the text dagc prints for it and `--strategy` or a plan's `strategy`
line accepts back as the same strategy (`strategy_source`), and the constructors that make a
strategy from another without writing text (`aggregated`, `replicated`, `pooled`, `with_options`,
`with_split`, `with_instances`).

The canonical form (docs/language.md, "How dagc prints a strategy"): `dp N < pp M [split] < tp T cp C
sp ; ep E etp X > >`, each scope opened only by an axis above 1 (or a `pp` with a written split),
`cp`, `sp` and `etp` only when they are not 1, the expert domain only when one is given; a
disaggregated strategy is `prefill N < A > decode M < B >`. The execution options follow the
outermost `>`, once for the whole strategy: `with microbatches N overlap none|microbatch redundant
R`, each only when set. It is a fixed point of the parser's canonical text (`dagc.lang.scope`).
"""

from __future__ import annotations

from typing import TypedDict, Unpack

from .strategy import Pool, Strategy
from .workload import Overlap, PoolRole

__all__ = ["aggregated", "copies", "options_source", "pooled", "replicated", "scope_source", "strategy_source",
           "with_instances", "with_options", "with_split"]


def scope_source(s: Strategy) -> str:
    """The strategy's scope without its execution options.

    Example:
        >>> scope_source(with_split(aggregated(dp=2, pp=2, tp=4, sp=True, ep=8, etp=2), (17, 15)))
        'dp 2 < pp 2 [17, 15] < tp 4 sp ; ep 8 etp 2 > >'
    """
    if s.pools:
        return " ".join(f"{p.role} {p.instances} < {scope_source(p.strategy)} >" for p in s.pools)
    inner = f"tp {s.tp}" + (f" cp {s.cp}" if s.cp > 1 else "") + (" sp" if s.sp else "")
    if s.ep is not None or s.etp is not None:
        inner += f" ; ep {s.ep or 1}" + (f" etp {s.etp}" if s.etp is not None and s.etp > 1 else "")
    if s.pp > 1 or s.pp_split is not None:
        split = "" if s.pp_split is None else " [" + ", ".join(str(n) for n in s.pp_split) + "]"
        inner = f"pp {s.pp}{split} < {inner} >"
    if s.dp > 1:
        inner = f"dp {s.dp} < {inner} >"
    return inner


def options_source(microbatches: int | None = None, overlap: Overlap | None = None,
                   redundant: int | None = None) -> str:
    """The `with …` clause of these execution options ('' when none is set), with its leading space.

    Example:
        >>> options_source(2, Overlap.MICROBATCH)
        ' with microbatches 2 overlap microbatch'
    """
    said = [f"{name} {value}" for name, value in (("microbatches", microbatches),
                                                  ("overlap", None if overlap is None else overlap.value),
                                                  ("redundant", redundant)) if value is not None]
    return " with " + " ".join(said) if said else ""


def strategy_source(s: Strategy, named: bool = False) -> str:
    """The text of the whole strategy, its options after the outermost `>`; `named`: as `name = …` when
    it has a name (what `--strategy` and a plan's `strategy` line accept).

    Example:
        >>> strategy_source(replicated(with_options(aggregated(tp=4, ep=4), overlap=Overlap.NONE), 2))
        'dp 2 < tp 4 ; ep 4 > with overlap none'
    """
    text = scope_source(s) + options_source(s.microbatches, s.overlap, s.redundant)
    return f"{s.name} = {text}" if named and s.name else text


class StrategyFields(TypedDict, total=False):
    """What a strategy is, without its name, text and spans: `Strategy`'s fields of these names."""

    dp: int
    pp: int
    pp_split: tuple[int, ...] | None
    tp: int
    cp: int
    sp: bool
    ep: int | None
    etp: int | None
    microbatches: int | None
    overlap: Overlap | None
    redundant: int | None
    pools: tuple[Pool, ...]


class _Options(TypedDict, total=False):
    microbatches: int | None
    overlap: Overlap | None
    redundant: int | None


def _made(**fields: Unpack[StrategyFields]) -> Strategy:
    """A strategy from its fields, its `text` the printed scope (as the search's strategies carry it)."""
    draft = Strategy(text="", **fields)
    return draft.model_copy(update={"text": scope_source(draft)})


def aggregated(dp: int = 1, pp: int = 1, tp: int = 1, cp: int = 1, sp: bool = False, ep: int | None = None,
               etp: int | None = None) -> Strategy:
    """An aggregated strategy from its degrees, its layers split evenly and no execution options (`with_split`
    and `with_options` give it theirs). One expert axis given, the other is 1 (as the parser reads `ep 8` alone).

    Example:
        >>> aggregated(pp=4, tp=2, ep=8).text
        'pp 4 < tp 2 ; ep 8 >'
    """
    if (ep is None) != (etp is None):
        ep, etp = ep or 1, etp or 1
    return _made(dp=dp, pp=pp, pp_split=None, tp=tp, cp=cp, sp=sp, ep=ep, etp=etp, microbatches=None, overlap=None,
                 redundant=None)


def replicated(s: Strategy, k: int) -> Strategy:
    """`k` replicas of an aggregated strategy without data parallelism (`dp k < s >`), its options kept
    outside the brackets; the name is dropped (it is another strategy).

    Example:
        >>> strategy_source(replicated(with_options(aggregated(tp=8, ep=8), 1, Overlap.NONE), 4))
        'dp 4 < tp 8 ; ep 8 > with microbatches 1 overlap none'
    """
    if s.pools or s.dp != 1:
        raise ValueError("only an aggregated strategy without dp is replicated by `dp k < … >`")
    return _with(s, dp=k)


def copies(s: Strategy, k: int) -> Strategy:
    """`k` copies of any strategy side by side: one without data parallelism as `dp k < s >` (`replicated`); one
    of `dp d` as `dp k·d`; a disaggregated one with `k` times the instances in each pool. The name is dropped.

    Example:
        >>> strategy_source(copies(aggregated(tp=4), 2)), strategy_source(copies(aggregated(dp=2, tp=4), 2))
        ('dp 2 < tp 4 >', 'dp 4 < tp 4 >')
        >>> strategy_source(copies(pooled(aggregated(tp=4), 1, aggregated(tp=4), 2), 2))
        'prefill 2 < tp 4 > decode 4 < tp 4 >'
    """
    if k < 1:
        raise ValueError(f"copies: {k}, at least 1")
    if s.pools:
        pools = tuple(p.model_copy(update={"instances": p.instances * k}) for p in s.pools)
        return _with(s, pools=pools)
    return _with(s, dp=s.dp * k)


def pooled(prefill: Strategy, n: int, decode: Strategy, m: int, microbatches: int | None = None,
           overlap: Overlap | None = None, redundant: int | None = None) -> Strategy:
    """A disaggregated strategy: `n` prefill instances of `prefill`, `m` decode instances of `decode`; the
    options are the whole strategy's and each pool runs them as the parser gives them (`redundant` only to the
    pools with ep > 1 when one has it, `Strategy.with_pooled_eplb`).

    Example:
        >>> strategy_source(pooled(aggregated(tp=8), 3, aggregated(tp=8, ep=8), 1, overlap=Overlap.NONE))
        'prefill 3 < tp 8 > decode 1 < tp 8 ; ep 8 > with overlap none'
    """
    options: _Options = {"microbatches": microbatches, "overlap": overlap, "redundant": redundant}
    pools = tuple(Pool(role=role, instances=count, strategy=_with(inner, **options))
                  for role, count, inner in ((PoolRole.PREFILL, n, prefill), (PoolRole.DECODE, m, decode)))
    return _made(pools=pools, **options).with_pooled_eplb()


def with_instances(s: Strategy, role: str, count: int) -> Strategy:
    """A disaggregated strategy with `count` instances in its `role` pool, all else kept."""
    pools = tuple(p.model_copy(update={"instances": count}) if p.role == role else p for p in s.pools)
    return _with(s, pools=pools)


def with_options(s: Strategy, microbatches: int | None = None, overlap: Overlap | None = None,
                 redundant: int | None = None) -> Strategy:
    """`s` with these execution options (each None keeps the strategy's own), for its pools too."""
    update: _Options = {}
    if microbatches is not None:
        update["microbatches"] = microbatches
    if overlap is not None:
        update["overlap"] = overlap
    if redundant is not None:
        update["redundant"] = redundant
    if s.pools:
        pools = tuple(p.model_copy(update={"strategy": p.strategy.model_copy(update=update)}) for p in s.pools)
        return _with(s, **update, pools=pools).with_pooled_eplb()
    return _with(s, **update)


def with_split(s: Strategy, split: tuple[int, ...] | None) -> Strategy:
    """An aggregated strategy with this explicit layer split of its `pp` stages (None: the default)."""
    return _with(s, pp_split=split)


def _with(s: Strategy, **changes: Unpack[StrategyFields]) -> Strategy:
    """`s` with these fields changed, its text printed anew."""
    fields = _fields(s)
    fields.update(changes)
    return _made(**fields)


def _fields(s: Strategy) -> StrategyFields:
    """What a strategy is, without its name, text and spans."""
    return StrategyFields(dp=s.dp, pp=s.pp, pp_split=s.pp_split, tp=s.tp, cp=s.cp, sp=s.sp, ep=s.ep, etp=s.etp,
                          microbatches=s.microbatches, overlap=s.overlap, redundant=s.redundant, pools=s.pools)
