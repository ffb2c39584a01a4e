"""The KV cache the engine held: a calibration's share of dagc's, fitted from the runs' offline bursts.

Input: the measured runs and dagc's figures of each at the engine's own terms. Output: `KvShare` — the median, over
the offline bursts (`dagc.calibrate.match.queued_by_design`: every request sent at once, the runs that fill the
KV cache), of the requests the engine decoded at once over dagc's, how many bursts it is of, and whether the
calibration takes it as the engine's `kv_cache_share` (`EngineTerms`, `dagc.memory.memory.kv_room`).

The requests a run decodes at once are Little's law's: output tokens/s × the mean time per output token (a
request emits one token a TPOT while it decodes). Where an engine's KV cache (or its cap on sequences) holds fewer
requests than dagc's, its bursts decode fewer at once, and no multiplier of the step's time follows that: it moves
the figures only where the cache binds. So the share is fitted first, on its own, and the other terms are fitted
on the plans with it (`dagc.calibrate.calibrate`). It is taken when at least `MIN_BURSTS` bursts measured both
figures and at least `AGREE` of them read below `TAKEN_BELOW` (so their median does too): a smaller KV cache
holds fewer requests in every burst that fills it, and bursts that split — short prompts decoding three times
dagc's requests at once, long ones half — say the difference is not the cache (docs/calibrate.md, "The KV cache
the engine held": SGLang 0.5.3's DeepSeek-R1 on the public corpus, whose share taken lost it throughput). A
share is at most 1: dagc's KV cache is all the memory leaves.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from ..jsontypes import JSONObject
from .match import queued_by_design
from .measured import MeasuredRun

__all__ = ["AGREE", "BINDS", "MIN_BURSTS", "TAKEN_BELOW", "KvShare", "binding", "decoding", "kv_share"]

MIN_BURSTS = 2          # offline bursts with TPOT and output tokens/s measured: one burst's share is its own shape
TAKEN_BELOW = 0.8       # the share a burst reads under which it says the engine held fewer…
AGREE = Fraction(2, 3)  # …and the bursts' share that must, for the calibration to take the median
BINDS = 0.02            # a share that moves no burst's requests decoded at once by this much holds them all: not taken


@dataclass(frozen=True)
class KvShare:
    """The requests the engine decoded at once in its offline bursts, over dagc's: their median (1 without a
    burst), how many bursts, how many read below `TAKEN_BELOW`, and whether the calibration takes it."""

    median: float
    bursts: int
    taken: bool
    below: int = 0
    binds: bool = True      # False: a KV cache of the median's share holds every request dagc's bursts ran (`binding`)

    @property
    def share(self) -> float:
        """The engine's `kv_cache_share`: the median when taken, else 1."""
        return self.median if self.taken else 1.0

    def document(self) -> JSONObject:
        """The calibration file's `fit.kv_cache_share`."""
        return {"median": self.median, "bursts": self.bursts, "below": self.below, "taken": self.taken,
                "binds": self.binds, "min_bursts": MIN_BURSTS, "taken_below": TAKEN_BELOW, "agree": float(AGREE)}


def decoding(figures: Mapping[str, float]) -> float | None:
    """The requests a run decoded at once on average, by Little's law: output tokens/s × the mean TPOT; None without
    both.

    Example:
        >>> decoding({"output_tokens_per_s": 2000.0, "tpot_ms": 40.0}), decoding({"tpot_ms": 40.0})
        (80.0, None)
    """
    if "output_tokens_per_s" not in figures or "tpot_ms" not in figures:
        return None
    return figures["output_tokens_per_s"] * figures["tpot_ms"] / 1e3


def kv_share(runs: Sequence[MeasuredRun], figures: Sequence[Mapping[str, float]]) -> KvShare:
    """The share of dagc's KV cache the engine held (module docstring), from the `runs` and dagc's `figures` of
    each at the engine's own terms.

    Example:
        >>> from dagc.source import SourceFile
        >>> def burst(decoded: float) -> MeasuredRun:
        ...     return MeasuredRun(id="b", path="b.json", tool="vllm", src=SourceFile("b.json", "{}"), requests=100,
        ...                        prompt=2000.0, generate=200.0,
        ...                        measured={"output_tokens_per_s": decoded * 25, "tpot_ms": 40.0})
        >>> dagc = {"output_tokens_per_s": 2000.0, "tpot_ms": 40.0}            # 80 at once
        >>> kv_share([burst(20), burst(30), burst(24)], [dagc] * 3)             # 0.25, 0.375, 0.3
        KvShare(median=0.3, bursts=3, taken=True, below=3, binds=True)
        >>> kv_share([burst(20)], [dagc]).share                                 # one burst: not taken
        1.0
        >>> kv_share([burst(20), burst(30), burst(240)], [dagc] * 3).taken      # 2 of 3 agree
        True
        >>> kv_share([burst(20), burst(240), burst(240), burst(24)], [dagc] * 4)   # 2 of 4 below: they split
        KvShare(median=1.65, bursts=4, taken=False, below=2, binds=True)
    """
    shares = []
    for run, figs in zip(runs, figures, strict=True):
        m, d = decoding(run.measured), decoding(figs)
        if queued_by_design(run) and m and d:
            shares.append(m / d)
    if not shares:
        return KvShare(1.0, 0, False)
    below = sum(x < TAKEN_BELOW for x in shares)
    return KvShare(statistics.median(shares), len(shares), len(shares) >= MIN_BURSTS and below >= AGREE * len(shares),
                   below)


def binding(kv: KvShare, runs: Sequence[MeasuredRun], before: Sequence[Mapping[str, float]],
            at_share: Sequence[Mapping[str, float]]) -> KvShare:
    """`kv`, not taken when its share binds none of the bursts: dagc's figures of them at the share (`at_share`)
    decode as many requests at once as at the whole KV cache (`before`), within `BINDS` — what held the engine's
    requests below dagc's was not its KV cache but, likelier, its cap on requests in flight below the plan's `batch`
    (vLLM's `--max-num-seqs`), which a share of the KV cache does not express. Until 2026-11-30 such a share was
    taken: the calibration's figures were the uncalibrated ones, and a plan of a larger `batch` got a smaller KV cache.

    Example:
        >>> from dagc.source import SourceFile
        >>> run = MeasuredRun(id="b", path="b.json", tool="vllm", src=SourceFile("b.json", "{}"), requests=1000,
        ...                   measured={"output_tokens_per_s": 3750.0, "tpot_ms": 40.0})   # 150 at once
        >>> kv = kv_share([run, run], [{"output_tokens_per_s": 5250.0, "tpot_ms": 40.0}] * 2)    # dagc's 210
        >>> kv.taken, binding(kv, [run, run], [{"output_tokens_per_s": 5250.0, "tpot_ms": 40.0}] * 2,
        ...                   [{"output_tokens_per_s": 5250.0, "tpot_ms": 40.1}] * 2)
        (True, KvShare(median=0.7142857142857143, bursts=2, taken=False, below=2, binds=False))
    """
    if not kv.taken:
        return kv
    for run, was, now in zip(runs, before, at_share, strict=True):
        d0, d1 = decoding(was), decoding(now)
        if queued_by_design(run) and d0 and d1 and abs(d1 / d0 - 1) >= BINDS:
            return kv
    return KvShare(kv.median, kv.bursts, False, kv.below, binds=False)
