"""A search's best judged as `dagc check` judges it, its capacity bisected, before the search concludes.

Input: a ranking (best first) whose rows were judged on a run of the plan's open-loop traffic without the capacity's
bisection, which `dagc check` adds and by which a run that keeps pace at a rate above its capacity does not carry it
(docs/load.md, "Carrying the traffic"). Output: the ranking with its first row that meets every requirement judged
again with its capacity (`verify_first`), one row a call; a caller goes on while the row judged so falls short, up to
`RATE_VERIFIED` rows in `dagc search --rate R` (`dagc.search.at_rate._verified`, whose pick `dagc fleet` takes too)
and `VERIFIED` in the plain search's walk under open-loop traffic (`dagc.search.under_traffic`, which `dagc check`'s
optimal verdict runs), so that the best either prints is one its `dagc check --strategy` says meets every
requirement, or says why not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

__all__ = ["RATE_VERIFIED", "VERIFIED", "verify_first"]

VERIFIED = 3      # the ranking's firsts (meeting every requirement, else its first) judged with their capacity, at most
# … in `dagc search --rate` and `dagc fleet`, whose rows at the rate often tie on goodput (every one serving the rate,
# ranked by its margins on a run shorter than the capacity's trials): Mixtral 8x22B on 8 H200 at 6 requests/s had its
# first five fall short by their capacities, and with 3 its conclusion named an unjudged `tp 8 ; ep 4 etp 2` whose
# check read capacity 5.545 (since 2026-12-03; docs/search.md). A bisection is spent only while rows fall short.
RATE_VERIFIED = 8

T = TypeVar("T")


Rank = Callable[[list[T]], Sequence[T]]


def verify_first(ranked: Sequence[T], holds: Callable[[T], bool], done: Callable[[T], bool],
                 again: Callable[[T], T | None], rank: Rank[T],
                 may_fall: Callable[[T], bool] | None = None) -> tuple[Sequence[T], T | None]:
    """The ranking with its first row that `holds` (meets every requirement and keeps up) judged `again` — its
    capacity bisected — and ranked again (`rank`), and that row as judged; when none holds, its first row, when it
    `may_fall` (`dagc search --rate`: it keeps up on its run, missing a requirement; its capacity may lie below the
    rate, as those of the rows that held and fell did — until 2026-12-03 Qwen3-235B's `tp 8 ; ep 8` at 4.7
    requests/s, capacity 4.611, ranked below `tp 4 ; ep 8`, capacity 4.338, which kept up on its run and which its own
    check says does not carry the rate). `ranked` as it is and None
    when that row is `done` (judged so already, or not to be judged), when there is none, or when `again` gives None
    (its check rejects it). The row judged so holds (keeps its place), or falls below those that do.

    Example:
        >>> runs = [("a", True), ("b", True)]        # a row: its name, and whether it holds
        >>> again = lambda r: (r[0].upper(), r[0] != "a")       # judged again: "A" falls short
        >>> rank = lambda rs: sorted(rs, key=lambda r: not r[1])
        >>> verify_first(runs, lambda r: r[1], lambda r: r[0].isupper(), again, rank)
        ([('b', True), ('A', False)], ('A', False))
    """
    first = next((r for r in ranked if holds(r)), None)
    if first is None and may_fall is not None and ranked and may_fall(ranked[0]):
        first = ranked[0]
    if first is None or done(first):
        return ranked, None
    judged = again(first)
    if judged is None:
        return ranked, None
    return rank([judged if r is first else r for r in ranked]), judged
