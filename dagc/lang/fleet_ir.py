"""What a `fleet` statement says (`dagc.lang.fleet` reads it): GPU types, swept cluster fields, traffic mixes,
and the sweep's points — each a cluster under one mix, as the `--set` options that make the plan its own.

Input: the values as the plan writes them. Output: frozen `Fleet`, `FleetPoint` (docs/fleet.md).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from ..source import Span

__all__ = ["Fleet", "FleetGpu", "FleetMix", "FleetPoint", "FleetSweep", "typed"]

# a name in quotes that the grammar reads unquoted too (its NAME, RELEASED): `"vllm"`, `"sglang@0.5.2"`
_QUOTED_NAME = re.compile(r'"([A-Za-z_][A-Za-z0-9_\-]*(?:@[A-Za-z0-9][A-Za-z0-9_.+\-]*)?)"')


def typed(text: str, kind: str) -> str:
    """A value as the fleet's `--set` options give it: a name written in quotes (`engine = ["vllm"]`) without them,
    as a user types it (`--set cluster.engine=vllm`), where the field reads a name either way (`kind`: its
    `Field.kind`, a `name`, a `choice` or a `bool`); any other text as written.

    Example:
        >>> typed('"vllm"', "name"), typed('"vllm@0.33.0"', "name"), typed("16", "int")
        ('vllm', 'vllm@0.33.0', '16')
    """
    m = _QUOTED_NAME.fullmatch(text)
    return m.group(1) if m is not None and kind in ("name", "choice", "bool") else text


@dataclass(frozen=True)
class FleetGpu:
    """One GPU type of the fleet: a preset, its price per GPU-hour (as written, and in $/h) or None; or, in a fleet
    that names none, the plan's cluster's own GPU (`own`: a preset or one written out, at the cluster's price, which
    the cluster sets — no `--set cluster.gpu`)."""

    name: str
    price_text: str | None
    price_per_gpu_hour: float | None
    span: Span | None
    own: bool = False


@dataclass(frozen=True)
class FleetSweep:
    """One cluster field and the values the fleet tries, as written (`engine = [vllm, sglang]`)."""

    field: str
    values: tuple[str, ...]
    spans: tuple[Span, ...]


@dataclass(frozen=True)
class FleetMix:
    """One traffic mix (`mix "chat" { weight = 0.7  rate = 10 requests/s  prompt = 1024 }`): its name, its
    weight, and the workload fields it sets, as written (field, text, span)."""

    name: str
    weight: float
    settings: tuple[tuple[str, str, Span], ...]
    span: Span | None = None


@dataclass(frozen=True)
class FleetPoint:
    """One cluster of the sweep under one mix: its GPU type and a value of each swept field (`index`: its place
    in the sweep's order, the GPU types outermost, then the fields as written, then the mixes; `cluster`: the
    cluster's place, shared by its mixes)."""

    index: int
    gpu: str
    price_text: str | None
    settings: tuple[tuple[str, str], ...]
    cluster: int = 0
    mix: str | None = None
    weight: float = 1.0
    workload: tuple[tuple[str, str], ...] = ()      # the workload fields the mix sets
    rate: float | None = None                         # requests/s it is searched at (`dagc.lang.fleet.fleet_plans`)
    own_gpu: bool = False                             # the cluster's own GPU (`FleetGpu.own`): not set

    @property
    def cluster_options(self) -> tuple[str, ...]:
        """The `--set` options that make the plan this cluster's."""
        gpu = () if self.own_gpu else (f"cluster.gpu={self.gpu}",)
        price = (f"cluster.price={self.price_text}",) if self.price_text is not None else ()
        return (*gpu, *price, *(f"cluster.{k}={v}" for k, v in self.settings))

    @property
    def options(self) -> tuple[str, ...]:
        """The `--set` options of the plan this point searches (`dagc search PLAN --set …` reads it): the
        cluster's, then the mix's workload fields."""
        return (*self.cluster_options, *(f"workload.{k}={v}" for k, v in self.workload))

    @property
    def key(self) -> str:
        """What names the point in a results file: its options and rate, which say everything it is."""
        return " ".join((*self.options, f"--rate {self.rate!r}"))

    @property
    def label(self) -> str:
        """The cluster in words: `h200, gpus 16, engine sglang`."""
        return ", ".join([self.gpu, *(f"{k} {v}" for k, v in self.settings)])


@dataclass(frozen=True)
class Fleet:
    """The `fleet` statement: the GPU types, the swept fields, the mixes (none: the workload as written) and
    the arrival rate (None: each mix's, else the workload's)."""

    gpus: tuple[FleetGpu, ...]
    sweeps: tuple[FleetSweep, ...]
    rate_requests_per_s: float | None
    span: Span | None
    mixes: tuple[FleetMix, ...] = ()

    @property
    def clusters(self) -> int:
        """The clusters of the sweep."""
        n = len(self.gpus)
        for s in self.sweeps:
            n *= len(s.values)
        return n

    @property
    def size(self) -> int:
        """The searches of the sweep: each cluster under each mix."""
        return self.clusters * max(1, len(self.mixes))

    @property
    def priced(self) -> bool:
        """Whether every GPU type has a price (then clusters are ranked by money, else by GPU-hours)."""
        return all(g.price_per_gpu_hour is not None for g in self.gpus)

    def points(self) -> list[FleetPoint]:
        """Every cluster of the sweep under every mix, in a fixed order (the GPU types, then each field, as
        written, then the mixes)."""
        mixes: tuple[FleetMix | None, ...] = self.mixes or (None,)
        out: list[FleetPoint] = []
        cluster = 0
        for g in self.gpus:
            for values in itertools.product(*(s.values for s in self.sweeps)):
                settings = tuple((s.field, v) for s, v in zip(self.sweeps, values, strict=True))
                for m in mixes:
                    workload = tuple((k, v) for k, v, _ in m.settings) if m is not None else ()
                    out.append(FleetPoint(len(out), g.name, g.price_text, settings, cluster,
                                          m.name if m else None, m.weight if m else 1.0, workload,
                                          own_gpu=g.own))
                cluster += 1
        return out
