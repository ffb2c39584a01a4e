"""A price in a unit dagc does not read — per month, day, year or minute, in euros or pounds, per GPU said aloud — is
told the price it names in `$/h`, one GPU's rent per hour (a month of 730 hours and a year of 8,760, as cloud price
lists count them), and that hint's text reads. Before, `2000 $/month` was told "e.g. `price = 2000 $/h`" (730× the
price meant), `2.5 €/h` was an unexpected character to "remove", `$/GPU-hour` was told a generic `2.49 $/h`, and
`$/h/gpu` was a traceback. `gpus = 2x8` (2 nodes of 8) is told `gpus = 16`, the GPUs in all."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagc.cli.main import main
from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text

PLAN = """model preset "mixtral-8x7b"
cluster { gpus = 8  gpu preset "h100-sxm"  price = %s }
workload { batch = 8  prompt = 512  generate = 64 }
strategy tp 8
"""


def _hint(written: str) -> tuple[str, str]:
    with pytest.raises(PlanError) as exc:
        load_plan_text(PLAN % written)
    (d,) = exc.value.diagnostics
    assert d.hint is not None
    return d.code, d.hint


@pytest.mark.parametrize("written, code, hint", [
    # 2000 / 730 = 2.7397…; 60 / 24 = 2.5; 20000 / 8760 = 2.2831…; 0.05 × 60 = 3
    ("2000 $/month", "E101", "`$/month` is dollars per month (730 hours): 2000 $/month = 2.74 $/h; write "
                             "`price = 2.74 $/h`"),
    ("60 $/day", "E101", "`$/day` is dollars per day: 60 $/day = 2.5 $/h; write `price = 2.5 $/h`"),
    ("20000 $/year", "E101", "`$/year` is dollars per year (8,760 hours): 20000 $/year = 2.283 $/h; write "
                             "`price = 2.283 $/h`"),
    ("0.05 $/min", "E101", "`$/min` is dollars per minute: 0.05 $/min = 3 $/h; write `price = 3 $/h`"),
    ("2.5 €/h", "E101", "did you mean `$/h`? (`€/h` is euros per hour — dagc writes any currency `$`: "
                        "`price = 2.5 $/h`)"),
    ("2.5 EUR/hr", "E101", "did you mean `$/h`? (`EUR/hr` is euros per hour — dagc writes any currency `$`: "
                           "`price = 2.5 $/h`)"),
    ("2.49 USD/h", "E101", "did you mean `$/h`? (`USD/h` is dollars per hour: `price = 2.49 $/h`)"),
    ("2.49 $/h/gpu", "E101", "did you mean `$/h`? (`$/h/gpu` is dollars per hour: `price = 2.49 $/h`)"),
    ("2.49 $/gpu/h", "E101", "did you mean `$/h`? (`$/gpu/h` is dollars per hour: `price = 2.49 $/h`)"),
    ("2.49 $/GPU-hour", "E001", "`$/GPU-hour` is dollars per hour: write `price = 2.49 $/h`"),
    ("2000 $ / month", "E001", "`$ / month` is dollars per month (730 hours): write `price = 2.74 $/h`"),
    ("1.9 £/GPU-hour", "E001", "`£/GPU-hour` is pounds per hour — dagc writes any currency `$`: write "
                               "`price = 1.9 $/h`"),
])
def test_a_price_in_another_unit_is_told_its_price_per_gpu_hour(written, code, hint):
    assert _hint(written) == (code, hint)
    meant = hint.rsplit("price = ", 1)[1].split(" ")[0]
    assert load_plan_text(PLAN % f"{meant} $/h").cluster.price_per_gpu_hour == float(meant)


def test_a_set_price_in_euros_and_per_month(tmp_path: Path, capsys) -> None:
    path = tmp_path / "p.moe"
    path.write_text(PLAN % "2 $/h")
    assert main(["check", str(path), "--no-search", "--set", "cluster.price=3€/h"]) == 4
    assert "`€/h` is euros per hour — dagc writes any currency `$`: `--set 'cluster.price=3 $/h'`" \
        in capsys.readouterr().err
    assert main(["check", str(path), "--no-search", "--set", "cluster.price=1460 $/month"]) == 4
    assert "1460 $/month = 2 $/h; write `--set 'cluster.price=2 $/h'`" in capsys.readouterr().err


def test_gpus_as_nodes_times_gpus_is_told_the_gpus_in_all(tmp_path: Path, capsys) -> None:
    with pytest.raises(PlanError) as exc:
        load_plan_text((PLAN % "2 $/h").replace("gpus = 8", "gpus = 2x8"))
    (d,) = exc.value.diagnostics
    assert (d.code, d.hint) == ("E101", "`2x8` is not read as a number: write `gpus = 16` (2 × 8), the GPUs in all; "
                                        "`gpus_per_node = 8` says a node's")
    path = tmp_path / "p.moe"
    path.write_text(PLAN % "2 $/h")
    assert main(["check", str(path), "--no-search", "--set", "workload.prompt=4x1024"]) == 4
    assert "`4x1024` is not read as a number: write `--set workload.prompt=4096` (4 × 1024)" in capsys.readouterr().err
