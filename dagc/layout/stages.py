"""Stage layers (SPEC 3.5): which layers each pipeline stage holds.

Input: the model's layers and pp, or an explicit split. Output: the layers per stage
(`default_split`) and `StageBounds`, the [first, last+1) layers of each stage, read like a tuple
of pairs.
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Iterator, Sequence
from typing import overload

__all__ = ["StageBounds", "default_split"]


def default_split(layers: int, pp: int) -> tuple[int, ...]:
    """Layers per stage, as even as possible, the first (L mod pp) stages one more.

    Example:
        >>> default_split(61, 4)
        (16, 15, 15, 15)
    """
    base, extra = divmod(layers, pp)
    return (base + 1,) * extra + (base,) * (pp - extra)


class StageBounds(Sequence[tuple[int, int]]):
    """The [first, last+1) layers of each stage, read like a tuple of pairs and compared equal
    to one, but held in O(1) memory for the default split (and as the prefix sums of an
    explicit one, which the plan writes out anyway): a layout with 100,000 stages costs no
    100,000 Python tuples, and indexing is O(1).

    Example:
        >>> b = StageBounds.even(61, 4)
        >>> b == ((0, 16), (16, 31), (31, 46), (46, 61)), b[-1], len(b), b.counts()
        (True, (46, 61), 4, (16, 15, 15, 15))
        >>> StageBounds.explicit((10, 8, 8, 6))[3]
        (26, 32)
    """

    __slots__ = ("_n", "_base", "_extra", "_ends", "_hash")

    def __init__(self, n: int, base: int = 0, extra: int = 0, ends: tuple[int, ...] | None = None) -> None:
        self._n, self._base, self._extra, self._ends = n, base, extra, ends
        self._hash: int | None = None

    @classmethod
    def even(cls, layers: int, pp: int) -> StageBounds:
        """`default_split(layers, pp)`: the first (layers mod pp) stages one layer more (one object per
        (layers, pp), so its hash is computed once however many layouts share it)."""
        return _even_bounds(cls, layers, pp)

    @classmethod
    def explicit(cls, counts: Sequence[int]) -> StageBounds:
        return cls(len(counts), ends=tuple(itertools.accumulate(counts)))

    def _start(self, i: int) -> int:
        if self._ends is not None:
            return self._ends[i - 1] if i else 0
        return i * self._base + min(i, self._extra)

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, i: int) -> tuple[int, int]: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[tuple[int, int], ...]: ...

    def __getitem__(self, i: int | slice) -> tuple[int, int] | tuple[tuple[int, int], ...]:
        if isinstance(i, slice):
            return tuple(self[j] for j in range(*i.indices(self._n)))
        i = operator.index(i)
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError("stage index out of range")
        return self._start(i), self._start(i + 1)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        start = 0
        for n in self.counts():
            yield start, start + n
            start += n

    def counts(self) -> tuple[int, ...]:
        """Layers per stage."""
        if self._ends is not None:
            return tuple(b - a for a, b in zip((0,) + self._ends, self._ends, strict=False))
        return (self._base + 1,) * self._extra + (self._base,) * (self._n - self._extra)

    @property
    def layers(self) -> int:
        """Layers of all the stages (the end of the last one)."""
        return self._start(self._n)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, StageBounds):
            return self._n == other._n and self.counts() == other.counts()
        if isinstance(other, Sequence) and not isinstance(other, str):
            return len(other) == self._n and all(tuple(o) == s for o, s in zip(other, self, strict=False))
        return NotImplemented

    def __hash__(self) -> int:
        if self._hash is None:               # the tuple of pairs' hash (they compare equal), once
            self._hash = hash(tuple(self))
        return self._hash

    def __repr__(self) -> str:
        if self._n <= 8:
            return repr(tuple(self))
        return f"StageBounds({self._n} stages: {', '.join(map(str, self[:3]))}, …, {self[-1]})"


@functools.lru_cache(maxsize=4096)
def _even_bounds(cls: type[StageBounds], layers: int, pp: int) -> StageBounds:
    base, extra = divmod(layers, pp)
    return cls(pp, base, extra)

