"""Which clusters of a fleet are priced by another GPU's kernel profile, for the fleet's table and fleet.md.

Input: a cluster's kernel profile as the fleet's rows give it (`cluster.kernel_profile`,
`dagc.fleet.cluster.cluster_json`), with its GPU type. Output: the GPU whose profile a row borrows
(`borrowed_profile`) and the note under a table that marks such rows (`borrowed_note`).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["borrowed_note", "borrowed_profile"]


def borrowed_profile(kernel_profile: object) -> str | None:
    """The GPU whose kernel profile a cluster's times borrow (`cluster.kernel_profile` `h200@mi300x`: the h200's
    measured efficiencies at the mi300x's peaks), None when the GPU has its own, when none prices it (the
    constant-efficiency roofline) or when the row does not say (a fleet file written before dagc recorded it).

    Example:
        >>> borrowed_profile("h200@mi300x"), borrowed_profile("h200"), borrowed_profile(None)
        ('h200', None, None)
    """
    p = kernel_profile
    return p.partition("@")[0] if isinstance(p, str) and "@" in p else None


def borrowed_note(clusters: Iterable[tuple[str, object]]) -> str | None:
    """The note under a table of clusters (each its GPU type and kernel profile) some of whose rows say
    `, h200's profile`, None when none does.

    Example:
        >>> borrowed_note([("mi300x", "h200@mi300x"), ("h200", "h200")]).split(": ")[:2]
        ["h200's profile", 'mi300x has no kernel profile of its own']
    """
    lent: dict[str, list[str]] = {}
    for gpu, profile in clusters:
        if (whose := borrowed_profile(profile)) is not None and gpu not in lent.setdefault(whose, []):
            lent[whose].append(gpu)
    if not lent:
        return None
    parts = [f"{whose}'s profile: {' and '.join(gpus)} {'has' if len(gpus) == 1 else 'have'} no kernel profile of "
             f"{'its' if len(gpus) == 1 else 'their'} own: {'its' if len(gpus) == 1 else 'their'} times are the "
             f"{whose}'s measured efficiencies at {'its' if len(gpus) == 1 else 'their'} peaks"
             for whose, gpus in lent.items()]
    return ("; ".join(parts) + ", with the engines' terms fitted on NVIDIA runs — an assumption, not a measurement: "
            "the ranking between such a cluster and a measured one is less sure than the bands say (docs/fleet.md)")
