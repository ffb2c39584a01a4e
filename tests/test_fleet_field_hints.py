"""A field the fleet does not have, written as a buyer writes it, is told where what it means is written: a budget
(`budget = 50 $/h`: the fleet has none, it ranks by cost and shows each cluster's rent), a cap on GPUs (`max_gpus
= 16`: the `gpus` list, or `require { gpus <= 16 }`), a price outside its GPU type, a workload field to sweep
(`prompt = [1024, 4096]`: traffic mixes). Each got `expected one of: gpus, …, rate, gpu` — a list without `mix`,
which the fleet has, and saying nothing of where a budget or a prompt length goes."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.fleet import fleet_plans, load_fleet

HEAD = """model preset "qwen3-30b-a3b"
cluster { gpus = 8  gpu preset "h100-sxm" }
workload { batch = 64  prompt = 1024  generate = 300  serving = inflight  rate = 5 requests/s  requests = 500 }
require { ttft_p99 <= 1 s  tpot_p90 <= 40 ms }
"""


def _hint(tmp_path, line: str) -> tuple[str, str, int, int, str | None]:
    path = tmp_path / "fleet.moe"
    fleet = 'fleet {\n  gpu preset "h100-sxm" { price = 2.49 $/h }\n  gpus = [1, 2]\n  ' + line + "\n}\n"
    path.write_text(HEAD + fleet)
    with pytest.raises(PlanError) as exc:
        _, fleet = load_fleet(path)
        fleet_plans(path, fleet)
    [d] = exc.value.diagnostics
    return d.code, d.message, d.span.line, d.span.column, d.hint


@pytest.mark.parametrize("line", ["budget = 50 $/h", "max_cost = 50 $/h", "max-rent = 100 $/h"])
def test_a_budget_is_told_the_fleet_ranks_by_cost_and_shows_the_rent(tmp_path, line):
    name = line.split(" =")[0]
    assert _hint(tmp_path, line) == (
        "E101", f"unknown field `{name}` in the fleet", 8, 3,
        "the fleet has no budget: it ranks every cluster by what a million tokens cost on it, and its table's `rent` "
        "column gives each cluster's $/h (its GPU type's price × its count); to keep within a budget, list only the "
        "GPU counts it rents: `gpus = [8, 16]`")


def test_a_cap_on_gpus_is_told_the_gpus_list_or_the_requirement(tmp_path):
    assert _hint(tmp_path, "max_gpus = 16")[4] == (
        "the GPU counts the fleet rents are its list `gpus = [8, 16]`; a cap on the GPUs a strategy uses is a "
        "requirement: `require { gpus <= 16 }`")


def test_a_price_outside_its_gpu_type_is_told_where_it_goes(tmp_path):
    assert _hint(tmp_path, "price = 2.49 $/h")[4] == (
        'a price is a GPU type\'s, one GPU\'s rent per hour: `gpu preset "h100-sxm" { price = 2.49 $/h }` (a fleet '
        "that names no GPU type rents the cluster's own GPU at the cluster's `price`)")


def test_a_workload_field_to_sweep_is_told_the_traffic_mixes(tmp_path):
    assert _hint(tmp_path, "prompt = [1024, 4096]")[4] == (
        "the fleet sweeps the cluster's fields; the workload's `prompt` is changed by traffic mixes, one value each, "
        'each cluster searched under every mix: `mix "a" { prompt = … }  mix "b" { prompt = … }` (docs/fleet.md)')


def test_another_unknown_field_names_every_field_the_fleet_has_mix_included(tmp_path):
    hint = _hint(tmp_path, "colour = 1")[4]
    assert hint is not None and hint.startswith("expected one of: `gpus`, `gpus_per_node`")
    assert hint.endswith("`rate`, `gpu`, `mix`")
    assert _hint(tmp_path, "enigne = [vllm]")[4] == "did you mean `engine`?"
