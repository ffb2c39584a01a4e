"""The objectives a plan may optimise (`objective = …`, `--objective`): one registry of objects.

Input: nothing (these are data). Output: `OBJECTIVES`, each objective's `Objective` by its name as the plan
writes it — its score (higher is better), what the search's bounds and order read of it, its error band's
ledger quantity, the column `dagc search` ranks by, and what its words need (`FigureKind`, labels, units).
The sentences are made where words are made (`dagc.export.optimal_words`, `dagc.cli.print_search`); a
plan, report.json and the IR keep the objective's name, a string.

This module loads neither numpy nor pydantic: the CLI's parser reads the names from it, and `dagc --help`
starts without the compiler (tests/test_startup.py).

Example:
    >>> from types import SimpleNamespace
    >>> OBJECTIVES["ttft"].score(SimpleNamespace(ttft_s=0.25), 8)
    -0.25
    >>> [o.name for o in OBJECTIVES.values() if o.reads_ttft]
    ['ttft', 'throughput', 'cost']
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeAlias, TypedDict

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["DEFAULT_OBJECTIVE", "Figure", "FigureKind", "OBJECTIVES", "Objective", "Rated", "StrategyFigures",
           "objective"]

# One figure of one deployment, or numpy columns of that figure over many (the search weighs many
# disaggregated pairs at once, `dagc.search.pairs`).
Figure: TypeAlias = "float | npt.NDArray[np.float64]"


class Rated(Protocol):
    """What an objective's score reads of a deployment's steady state (`dagc.verdict.steady.SteadyMetrics`,
    or `dagc.search.pairs.PairColumns` of many)."""

    @property
    def ttft_s(self) -> Figure: ...
    @property
    def tpot_s(self) -> Figure: ...
    @property
    def prefill_tokens_per_s(self) -> Figure: ...
    @property
    def decode_tokens_per_s(self) -> Figure: ...
    @property
    def throughput_tokens_per_s(self) -> Figure: ...
    @property
    def prefill_tokens_per_s_per_gpu(self) -> Figure: ...
    @property
    def decode_tokens_per_s_per_gpu(self) -> Figure: ...
    @property
    def throughput_tokens_per_s_per_gpu(self) -> Figure: ...


class StrategyFigures(TypedDict):
    """The figures a reader compares two strategies by (`dagc.verdict.optimal.figures`; report.json's
    `best_figures`, `own_figures`)."""

    gpus: int
    ttft_s: float
    tpot_s: float
    decode_tokens_per_s_per_gpu: float
    throughput_tokens_per_s: float
    memory_fraction: float | None


class FigureKind(enum.Enum):
    """What an objective's figure is, which says how it is written and which way is better."""

    LATENCY = "latency"      # seconds, the shorter the better (TTFT, TPOT)
    RATE = "rate"            # tokens/s, the more the better
    GPUS = "gpus"            # a count of GPUs, the fewer the better (then decode tokens/s per GPU)
    GPU_TIME = "gpu-time"    # GPU-seconds per token, the less the better


@dataclass(frozen=True)
class Objective:
    """One objective. `score(metrics, gpus)`: higher is better, of one candidate's figures (`Rated`) or
    elementwise of numpy columns of them (the search weighs many disaggregated pairs at once).
    `figure(figures)`: the figure it is judged by, of a strategy's figures (`dagc.verdict.optimal.figures`)."""

    name: str                                   # as the plan writes it; report.json's `objective`
    means: str                                  # what its best is, in words
    score: Callable[[Rated, Figure], Figure]
    figure: Callable[[StrategyFigures], float]
    kind: FigureKind
    label: str                                  # what the figure is: "TTFT", "end-to-end throughput", …
    unit: str = ""                              # written after a figure of kind RATE or GPU_TIME
    unit_note: str = ""                         # … and after that, where the figure alone is written
    reads_ttft: bool = False                    # its score reads TTFT (its exact figure is worth a prefill schedule)
    reads_tpot: bool = True                     # its score reads TPOT (else the TTFT bounds come first)
    most_gpus_first: bool = False               # its best strategies tend to use the most GPUs: visited first
    quantity: str | None = None                 # the ledger quantity of its figure's error band (None: no error)
    column: str = ""                            # the `dagc search` column it ranks by ("": one the table lacks)
    digits: int = 1                             # the digits that column is shown to, to tell the rows apart
    priced: bool = False                        # with `price`, its figure is money: a fleet's GPU types need theirs
    own_column: str = ""                        # the column `dagc search` adds for its figure ("": `column` shows it)
    own_column_priced: str = ""                 # … with the plan's `price` (its figure in money)

    def score_of(self, metrics: Rated, gpus: float) -> float:
        """`score` of one deployment's figures on `gpus` GPUs."""
        return float(self.score(metrics, gpus))

    @property
    def lower_is_better(self) -> bool:
        """Whether the smaller figure is the better (its score is the figure negated)."""
        return self.kind is not FigureKind.RATE


def _min_gpus(metrics: Rated, gpus: Figure) -> Figure:
    # Fewer GPUs first; among equals, more decode tokens/s per GPU. numpy is imported here, not above: the
    # CLI's parser reads this module and must start without it. np.minimum takes arrays too.
    import numpy as np
    score: Figure = -gpus + np.minimum(0.999, metrics.decode_tokens_per_s / gpus / 1e9)
    return score


_ALL = (
    Objective("tokens-per-gpu", "the most decode tokens/s per GPU",
              score=lambda m, gpus: m.decode_tokens_per_s / gpus,
              figure=lambda f: f["decode_tokens_per_s_per_gpu"], kind=FigureKind.RATE,
              label="decode throughput per GPU", unit="tokens/s per GPU", quantity="throughput",
              column="decode (tokens/s/GPU)"),
    Objective("min-gpus", "the fewest GPUs, then the most decode tokens/s per GPU", score=_min_gpus,
              figure=lambda f: f["gpus"], kind=FigureKind.GPUS, label="GPUs", column="GPUs"),
    Objective("ttft", "the shortest TTFT", score=lambda m, gpus: -m.ttft_s, figure=lambda f: f["ttft_s"],
              kind=FigureKind.LATENCY, label="TTFT", reads_ttft=True, reads_tpot=False, most_gpus_first=True,
              quantity="ttft", column="TTFT", digits=3),
    Objective("tpot", "the shortest TPOT", score=lambda m, gpus: -m.tpot_s, figure=lambda f: f["tpot_s"],
              kind=FigureKind.LATENCY, label="TPOT", most_gpus_first=True, quantity="tpot", column="TPOT",
              digits=3),
    Objective("throughput", "the most end-to-end tokens/s (all GPUs together)",
              score=lambda m, gpus: m.throughput_tokens_per_s, figure=lambda f: f["throughput_tokens_per_s"],
              kind=FigureKind.RATE, label="end-to-end throughput", unit="tokens/s", unit_note=" end to end",
              reads_ttft=True, most_gpus_first=True, quantity="throughput", own_column="throughput (tokens/s)"),
    # GPU-seconds per token, negated: the price per GPU-hour scales it, never reorders (arrays too)
    Objective("cost", "the least GPU time per token, input and output (with `price`, the fewest $ per million "
              "tokens)", score=lambda m, gpus: -gpus / m.throughput_tokens_per_s,
              figure=lambda f: f["gpus"] / f["throughput_tokens_per_s"], kind=FigureKind.GPU_TIME,
              label="GPU time per token", unit="GPU-hours per million tokens", reads_ttft=True,
              quantity="throughput", priced=True, own_column="GPU-hours per M tokens",
              own_column_priced="$ per M tokens"),
)

OBJECTIVES: dict[str, Objective] = {o.name: o for o in _ALL}     # in the order the docs and reports list them
DEFAULT_OBJECTIVE = "tokens-per-gpu"


def objective(name: str) -> Objective:
    """The objective called `name`.

    Raises:
        ValueError: no objective has that name.

    Example:
        >>> objective("cost").quantity
        'throughput'
    """
    found = OBJECTIVES.get(name) if isinstance(name, str) else None
    if found is None:
        raise ValueError(f"unknown objective {name!r}; one of {', '.join(OBJECTIVES)}")
    return found
