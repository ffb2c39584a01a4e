"""Which rules rejected a search's candidates: counts per code, and the first candidate of each.

Input: the candidates the evaluation rejects (`dagc.search.chunks`: a rule's code from the fast check, E402 for
those the memory screen sets aside, E732 for those the plan's engine would not start for want of KV cache, W510 for
a `batch = max` candidate whose largest batch leaves micro-batches empty) and those the plan's engine cannot start
(`dagc.search.space.engine_rejections`, E7xx). Output: `Rejections`, a tally small enough for a worker process
to hand back with its chunk (one count and one search item per code, whatever the chunk's size), and the search's
`RejectedBy` rows (`Rejections.by_code`), most candidates first; in words, `legal_line`, `rejections_summary`
and `example_lines` (of a search the time budget stopped before it found a legal one, `budget_stopped_line`).

Each rejected candidate is counted once, under the first error its check finds (`dagc.verdict.fastcheck`), so
the counts add up to the search's `rejected` (`SearchResult.rejected`: examined, neither pruned nor legal).
The example of a code is the first candidate of it in the order the search visits them (chunk by chunk, in
order, in one process as in many): the same with any `--jobs`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from ..launch.engine_check import PLAN_CODES
from ..plan.workload import Overlap
from ..rules import rule
from ..units import count_text
from ..verdict.searched import Rejection
from .result import RejectedBy, SearchResult, text_of
from .space import Item, item_strategy

__all__ = ["Rejections", "budget_stopped_line", "example_lines", "legal_line", "own_rows", "rejections_summary",
           "rule_title", "summed"]


@dataclass
class Rejections:
    """Candidates rejected, by code: how many (`counts`) and the first met (`firsts`, a search item)."""

    counts: dict[str, int] = field(default_factory=dict)
    firsts: dict[str, Item] = field(default_factory=dict)

    def add(self, code: str, item: Item) -> None:
        """One more candidate (`item`) that the rule `code` rejects."""
        self.counts[code] = self.counts.get(code, 0) + 1
        self.firsts.setdefault(code, item)

    def merge(self, later: Rejections) -> None:
        """Add the counts of candidates met after these (a later chunk): the examples met first stay."""
        for code, n in later.counts.items():
            self.counts[code] = self.counts.get(code, 0) + n
            self.firsts.setdefault(code, later.firsts[code])

    def add_all(self, later: Iterable[tuple[str, Item]]) -> int:
        """Add candidates met after these, each with its code: how many."""
        n = 0
        for code, item in later:
            self.add(code, item)
            n += 1
        return n

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def by_code(self) -> tuple[RejectedBy, ...]:
        """The search's rows: each code with its count and its first candidate's text, most candidates first
        (ties in code order)."""
        return tuple(RejectedBy(code, n, _item_text(self.firsts[code])) for code, n in _most_first(self.counts))


def summed(searches: Iterable[Iterable[RejectedBy]]) -> tuple[RejectedBy, ...]:
    """Several searches' rows summed by code (`dagc.search.speculative`), each code's example the first search's,
    most candidates first."""
    counts: dict[str, int] = {}
    firsts: dict[str, RejectedBy] = {}
    for rows in searches:
        for r in rows:
            counts[r.code] = counts.get(r.code, 0) + r.candidates
            firsts.setdefault(r.code, r)
    return tuple(replace(firsts[code], candidates=n) for code, n in _most_first(counts))


def _most_first(counts: dict[str, int]) -> list[tuple[str, int]]:
    """Codes and their counts, most candidates first, ties in code order."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def _item_text(item: Item) -> str:
    """A search item as `Candidate.text` writes it: its strategy with its micro-batches and overlap."""
    return text_of(item_strategy(item), item[7], Overlap(item[8]))


def rule_title(code: str) -> str:
    """The rule's title (`dagc explain CODE`'s first line), or the code alone for a code no rule registers."""
    r = rule(code)
    return r.title if r is not None else code


def rejections_summary(rows: Iterable[Rejection]) -> str:
    """The rules that rejected a search's candidates, most first, each with its title and count: "E402 (a rank's
    memory exceeds the GPU's memory) 16, E712 (…) 9"."""
    return ", ".join(f"{r.code} ({rule_title(r.code)}) {r.candidates:,}" for r in rows)


def legal_line(rows: Iterable[Rejection], legal: int, examined: int, complete: bool = True) -> str:
    """"0 of 43 strategies are legal: E402 (…) 16, …" (of a partial search: "of the 43 strategies examined")."""
    of = count_text(examined, "strategy", "strategies") if complete else \
        f"the {count_text(examined, 'strategy', 'strategies')} examined"
    return f"{legal:,} of {of} {'is' if legal == 1 and examined == 1 else 'are'} legal: {rejections_summary(rows)}"


def budget_stopped_line(found: SearchResult) -> str:
    """'' unless the time budget (`--search-budget`) stopped the search before it found a legal strategy; then that
    the budget stopped it, what it examined, and the larger budget that examines more — not that none is legal
    (until 2026-11-30 "0 of the 743 strategies examined are legal" with the rules' hints, "more GPUs" among them, or
    an empty table "best 0", of a space the whole search finds legal strategies in), and that the command without
    `--search-budget` examines every candidate (until 2026-11-30 "and none examines every candidate", which read as
    `--search-budget none`, an option value dagc refuses)."""
    if found.ranked or found.complete or found.stopped != "budget":
        return ""
    seen = f" (the rules rejected them: {rejections_summary(found.rejected_by)})" if found.rejected_by else ""
    return (f"no legal strategy found yet: the time budget stopped the search after {found.evaluated:,} of "
            f"{found.total:,} strategies ({found.order}){seen}, which does not say that none is legal: a larger "
            "`--search-budget S` examines more, and without `--search-budget` the search examines every candidate")


def own_rows(rows: Iterable[Rejection]) -> list[Rejection]:
    """The rows of rules of a candidate's own: not the engine's refusal of the plan whatever the strategy (E706, E728,
    …: `dagc.launch.engine_check.PLAN_CODES`), which the plan's strategies' own diagnostics say, with its hint."""
    return [r for r in rows if r.code not in PLAN_CODES]


def example_lines(rows: Iterable[Rejection], indent: str = "  ") -> list[str]:
    """Each rule's first candidate (`own_rows`), with the rule's message and hint for it once checked
    (`dagc.search.reasons`): "E402, e.g. `tp 1 with microbatches 1 overlap none`: every rank needs …", then
    "  help: …"."""
    lines = []
    for r in own_rows(rows):
        lines.append(f"{indent}{r.code}, e.g. `{r.example}`" + (f": {r.message}" if r.message else ""))
        if r.hint:
            lines.append(f"{indent}  help: {r.hint}")
    return lines
