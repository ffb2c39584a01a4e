"""E101's hint for a field the fleet does not have, as a buyer writes one (docs/fleet.md, "The `fleet`
statement"): a budget, a cap on GPUs, a price outside its GPU type, a workload field to sweep — each told where
what it means is written — else `did_you_mean` over the fleet's fields, its `gpu` types and `mix`es.

Input: the field's name and the cluster's fields a fleet sweeps. Output: the hint's text.
"""

from __future__ import annotations

from collections.abc import Collection

from .fields import MIX_FIELDS, did_you_mean, spelling

__all__ = ["unknown_field_hint"]

_BUDGET = {"budget", "maxbudget", "budgetperhour", "cost", "maxcost", "costlimit", "rent", "maxrent", "spend",
           "maxspend", "maxprice", "pricelimit"}
_GPU_CAP = {"maxgpus", "maxgpu", "gpucap", "gpulimit", "gpusmax", "capgpus", "gpusmaximum"}
BUDGET_HINT = ("the fleet has no budget: it ranks every cluster by what a million tokens cost on it, and its table's "
               "`rent` column gives each cluster's $/h (its GPU type's price × its count); to keep within a budget, "
               "list only the GPU counts it rents: `gpus = [8, 16]`")
GPU_CAP_HINT = ("the GPU counts the fleet rents are its list `gpus = [8, 16]`; a cap on the GPUs a strategy uses is a "
                "requirement: `require { gpus <= 16 }`")
PRICE_HINT = ('a price is a GPU type\'s, one GPU\'s rent per hour: `gpu preset "h100-sxm" { price = 2.49 $/h }` (a '
              "fleet that names no GPU type rents the cluster's own GPU at the cluster's `price`)")


def unknown_field_hint(name: str, swept: Collection[str]) -> str:
    """The hint of `name = …` in a fleet, where `name` is none of its fields (`swept`, `rate`).

    Example:
        >>> unknown_field_hint("max_gpus", ["gpus"]) == GPU_CAP_HINT, unknown_field_hint("gpu_s", ["gpus"])
        (True, 'did you mean `gpus`?')
    """
    word = spelling(name)
    if word in _BUDGET:
        return BUDGET_HINT
    if word in _GPU_CAP:
        return GPU_CAP_HINT
    if name == "price":
        return PRICE_HINT
    if name in MIX_FIELDS and name != "weight":
        return (f"the fleet sweeps the cluster's fields; the workload's `{name}` is changed by traffic mixes, one "
                f'value each, each cluster searched under every mix: `mix "a" {{ {name} = … }}  mix "b" {{ {name} = '
                "… }` (docs/fleet.md)")
    return did_you_mean(name, [*swept, "rate", "gpu", "mix"])
