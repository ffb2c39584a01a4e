"""A traffic mix's weight is its share of the tokens served: above 0 and at most 100 %, else E104 at the value
(`weight = 150 %` was read as it stood); weights that do not add to 100 % are proportions of their sum."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError, render
from dagc.lang.fleet import load_fleet

HEAD = """model preset "qwen3-30b-a3b"
cluster { gpus = 1  gpu preset "h100-sxm" }
workload { batch = 16  prompt = 512  generate = 64  serving = inflight  rate = 4 requests/s  requests = 20 }
strategy tp 1
fleet { gpu preset "h100-sxm"
  mix "chat" { weight = """


@pytest.mark.parametrize(("weight", "hint"), [
    ("150 %", "dagc accepts at most 100 %"),
    ("3", "did you mean `weight = 3 %`? (or the fraction `weight = 0.03`)"),
    ("0 %", "write a value above 0, e.g. `weight = 90 %`"),
])
def test_a_weight_out_of_0_to_100_percent_is_e104_at_the_value(tmp_path, weight, hint):
    path = tmp_path / "plan.moe"
    path.write_text(HEAD + weight + " }\n}\n")
    with pytest.raises(PlanError) as exc:
        load_fleet(path)
    [d] = exc.value.diagnostics
    # line 6, `  mix "chat" { weight = ` is 24 characters: the value starts at column 25
    assert (d.code, d.span.line, d.span.column, d.span.text, d.hint) == ("E104", 6, 25, weight, hint)
    assert f"plan.moe:6:25: error[E104]: `weight` = {weight} is out of range" in render(d)
    assert "^" * len(weight) in render(d)


def test_weights_at_most_100_percent_are_read_and_need_not_add_up(tmp_path):
    path = tmp_path / "plan.moe"
    path.write_text(HEAD + '100 % }\n  mix "long" { weight = 0.3  prompt = 2048 }\n}\n')
    _, fleet = load_fleet(path)
    assert [(m.name, m.weight) for m in fleet.mixes] == [("chat", 1.0), ("long", 0.3)]
