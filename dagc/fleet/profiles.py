"""Which clusters of a fleet are priced by another GPU's kernel profile, or by another engine release's terms, for
the fleet's table and fleet.md.

Input: a cluster's kernel profile as the fleet's rows give it (`cluster.kernel_profile`,
`dagc.fleet.cluster.cluster_json`), with its GPU type; a cluster's engine as they give it (`vllm@0.8.5`). Output:
the GPU whose profile a row borrows (`borrowed_profile`), the note under a table that marks such rows
(`borrowed_note`), and the note naming the engines priced with another release's terms (`engines_note`).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..cost.engine_release import release_priced_as
from ..plan.engines import ENGINE_NAMES, EngineName, engine_of

__all__ = ["borrowed_note", "borrowed_profile", "engines_note"]

_NAMES: dict[str, EngineName] = {n: n for n in ENGINE_NAMES}


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


def engines_note(engines: Iterable[str]) -> str | None:
    """The note under a table of clusters some of whose engines are of a release dagc prices with another's terms
    (`dagc.cost.engine_release.release_priced_as`, as `dagc check`'s engine line says it), None when none is: a
    fleet sweeping `engine = [vllm@0.8.5, vllm]` gave both the same figures and said nothing (until 2026-12-01).

    Example:
        >>> print(engines_note(["vllm@0.8.5", "vllm@0.33.0", "vllm@0.8.5"]))
        vllm@0.8.5: its terms here are vLLM 0.33.0's: dagc has none of 0.8.5's own (docs/language.md, "engine")
        >>> engines_note(["vllm@0.33.0", "sglang@0.5.23", "pytorch"]) is None
        True
    """
    said = []
    for text in dict.fromkeys(engines):
        name, _, release = text.partition("@")
        known = _NAMES.get(name)
        if known is None or not release:
            continue
        try:
            clause = release_priced_as(engine_of(known, release))
        except ValueError:         # a release of no series dagc knows: the plan's lowering refused it
            continue
        if clause:
            said.append(f"{text}: {clause}")
    return "; ".join(said) + ' (docs/language.md, "engine")' if said else None
