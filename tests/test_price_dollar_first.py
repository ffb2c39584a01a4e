"""A price written as money is written, `$` before the number (`price = $2.49/h`), is told to put the unit after the
number: the hint said "names of presets and files are quoted: preset "h100-sxm"", which leads nowhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagc.cli.main import main
from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 1  gpu preset "h100-sxm" }
workload { batch = 8  prompt = 512  generate = 64  serving = inflight  rate = 1 requests/s  requests = 20 }
fleet {
  gpu preset "h100-sxm" { price = $2.49/h }
}
"""


def test_a_fleet_price_with_its_dollar_first(tmp_path: Path, capsys) -> None:
    path = tmp_path / "f.moe"
    path.write_text(PLAN)
    assert main(["fleet", str(path), "-o", str(tmp_path / "out")]) == 4
    err = capsys.readouterr().err
    assert f"{path}:5:35: error[E001]: unexpected character `$`" in err
    assert "= help: the unit follows the number: write `price = 2.49 $/h` (a price per GPU-hour, `$/h` or `$/hour`)" \
        in err
    assert "presets and files are quoted" not in err


def test_a_clusters_price_and_a_set_of_it(tmp_path: Path, capsys) -> None:
    path = tmp_path / "c.moe"
    path.write_text(PLAN.split("fleet")[0].replace('"h100-sxm" }', '"h100-sxm"  price = $3 }') + "strategy tp 1\n")
    assert main(["check", str(path), "--no-search"]) == 4
    assert "= help: the unit follows the number: write `price = 3 $/h`" in capsys.readouterr().err
    path.write_text(PLAN.split("fleet")[0] + "strategy tp 1\n")
    assert main(["check", str(path), "--no-search", "--set", "cluster.price=$2.49/h"]) == 4
    assert "= help: the unit follows the number: write `--set 'cluster.price=2.49 $/h'`" in capsys.readouterr().err
    # a `$` before a number of another field is not called a price
    path.write_text(PLAN.split("fleet")[0].replace("gpus = 1", "gpus = $1") + "strategy tp 1\n")
    assert main(["check", str(path), "--no-search"]) == 4
    assert "the unit follows the number" not in capsys.readouterr().err


# a cluster's price as a price tag is written (`$2/h`, `$2.49`, `$ 2.49/hour`): the same hint at the `$`, and the
# price it names reads
TAGGED = """model preset "mixtral-8x7b"
cluster { gpus = 8  gpu preset "h100-sxm"  price = %s }
workload { batch = 8  prompt = 512  generate = 64 }
strategy tp 8
"""


@pytest.mark.parametrize("written, meant", [("$2/h", "2"), ("$2.49", "2.49"), ("$ 2.49/hour", "2.49")])
def test_a_price_tag_is_told_its_number_then_its_unit(written, meant):
    with pytest.raises(PlanError) as exc:
        load_plan_text(TAGGED % written)
    (d,) = exc.value.diagnostics
    assert d.code == "E001" and (d.span.line, d.span.column) == (2, 52)       # at the `$`
    assert d.hint == (f"the unit follows the number: write `price = {meant} $/h` (a price per GPU-hour, `$/h` or "
                      "`$/hour`)")
    assert load_plan_text(TAGGED % f"{meant} $/h").cluster.price_per_gpu_hour == float(meant)
