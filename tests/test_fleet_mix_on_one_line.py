"""A fleet's `mix "NAME" { … }` may follow a field's value on the same line, as every statement may: spaces and
newlines are free in a plan (docs/language.md). Until 2026-11-30 `fleet { gpus = 8  mix "long" { … } }` was E001
("unexpected `"long"` after `gpus = 8 mix`"): the grammar read `mix` as the unit of `8`, while the same fleet with a
newline before `mix`, or with `gpus = [8]`, read."""

from __future__ import annotations

import pytest

from dagc.lang.fleet import load_fleet

PLAN = """model preset "mixtral-8x7b"
cluster { gpus = 8  gpu preset "h100-sxm"  price = 2 $/h }
workload { batch = 8  prompt = 512  generate = 64  serving = inflight  rate = 1 requests/s  requests = 100 }
fleet { FLEET }
"""


@pytest.mark.parametrize("sweep", ["gpus = 8", "gpus = 8\n", "gpus = [8]", "reserve = 4 GiB", "intra_node = 450 GB/s"])
def test_a_mix_after_a_value_on_the_same_line_reads(tmp_path, sweep):
    plan = tmp_path / "plan.moe"
    mixes = 'mix "long" { weight = 0.5  prompt = 2048 }  mix "short" { }'
    plan.write_text(PLAN.replace("FLEET", f"{sweep} {mixes}"))
    _, fleet = load_fleet(plan)
    field, value = sweep.split(" = ")
    assert [(s.field, s.values) for s in fleet.sweeps] == [(field, (value.strip("[]\n"),))]
    assert [(m.name, m.weight, [(k, v) for k, v, _ in m.settings]) for m in fleet.mixes] == [
        ("long", 0.5, [("prompt", "2048")]), ("short", 1.0, [])]

