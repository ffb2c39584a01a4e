"""The base of every model of the plan: a frozen pydantic model that forbids unknown fields.

Input: nothing (a type). Output: `Frozen`, which `Model`, `Cluster`, `Workload`, `Strategy`
and `Plan` derive from: what `dagc.lang.lower` builds cannot be changed afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

__all__ = ["Frozen", "FrozenMap", "FrozenMapping"]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


class FrozenMap(dict[str, int]):
    """A mapping a frozen model holds that cannot be changed either: a dict (pydantic, `json`, `==` read it as one)
    whose every mutator raises, and which pickles by value (a worker process's copy). Until 2026-12-03 an engine's
    glue map was a plain dict shared by every plan of the process: one plan's `terms.glue["rope"] = 100` priced every
    later plan with it.

    Example:
        >>> m = FrozenMap({"rope": 1})
        >>> m["rope"], m == {"rope": 1}
        (1, True)
        >>> try:
        ...     m["rope"] = 100
        ... except TypeError as exc:
        ...     print(exc)
        a frozen mapping cannot be changed
    """

    def _refuse(self, *args: object, **kwargs: object) -> None:
        raise TypeError("a frozen mapping cannot be changed")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = __ior__ = _refuse  # type: ignore[assignment]

    def __reduce__(self) -> tuple[type[FrozenMap], tuple[dict[str, int]]]:
        return FrozenMap, (dict(self),)

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items())))


# a model's field of such a map: any mapping given, held as a `FrozenMap`
FrozenMapping = Annotated[Mapping[str, int], AfterValidator(lambda m: m if isinstance(m, FrozenMap) else FrozenMap(m))]
