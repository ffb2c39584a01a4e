"""An arrival rate in requests per minute written `rpm` (as load testers and API quotas write it): the hint converts
it, 1200 rpm = 20 requests/s. Before, `rpm` was no spelling dagc knew, and the hint kept the number beside dagc's unit
— "e.g. `rate = 1200 requests/s`" —, sixty times the rate meant."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagc.cli.main import main
from dagc.lang.hints import unit_hint
from dagc.lang.unit_words import requests_per_second
from dagc.units import Dimension

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 1  gpu preset "h100-sxm" }
workload { batch = 8  prompt = 512  generate = 64  serving = inflight  rate = {rate}  requests = 20 }
strategy tp 1
"""


@pytest.mark.parametrize(("written", "hint"), [
    ("rpm", "`rpm` is requests per minute: 1200 rpm = 20 requests/s; write `rate = 20 requests/s`"),
    ("RPM", "`RPM` is requests per minute: 1200 RPM = 20 requests/s; write `rate = 20 requests/s`"),
    ("qpm", "`qpm` is requests per minute: 1200 qpm = 20 requests/s; write `rate = 20 requests/s`"),
    ("rph", "`rph` is requests per hour: 1200 rph = 0.3333 requests/s; write `rate = 0.3333 requests/s`"),
    # a day's requests, as capacity plans state them: 1200 a day is not 1200 a second
    ("requests/day", "`requests/day` is requests per day: 1200 requests/day = 0.01389 requests/s; write `rate = "
                     "0.01389 requests/s`"),
    ("req/hr", "`req/hr` is requests per hour: 1200 req/hr = 0.3333 requests/s; write `rate = 0.3333 requests/s`"),
])
def test_requests_per_minute_and_hour_are_converted(written, hint):
    assert unit_hint("1200", written, Dimension.RATE, "rate", "rate =") == hint


def test_per_second_spellings_are_kept():
    assert requests_per_second("rps") == requests_per_second("qps") == 1.0
    assert requests_per_second("rpm") == pytest.approx(1 / 60)


def test_a_plan_and_the_command_line(tmp_path: Path, capsys):
    path = tmp_path / "p.moe"
    path.write_text(PLAN.replace("{rate}", "1200 rpm"))
    assert main(["check", str(path), "--no-search"]) == 4
    assert "write `rate = 20 requests/s`" in capsys.readouterr().err
    path.write_text(PLAN.replace("{rate}", "20 requests/s"))
    with pytest.raises(SystemExit):
        main(["search", str(path), "--rate", "1200 rpm"])
    assert "`1200 rpm`: dagc reads a rate in requests/s: write `--rate 20`" in capsys.readouterr().err


def test_a_rate_written_per_minute_with_a_slash(tmp_path: Path, capsys):
    """`rate = 1200/min` was E001 "remove it" and `--rate 1200/min` "not an arrival rate"; both now convert it."""
    path = tmp_path / "p.moe"
    path.write_text(PLAN.replace("{rate}", "1200/min"))
    assert main(["check", str(path), "--no-search"]) == 4
    assert "= help: 1200/min is requests per minute, 20 requests/s: write `rate = 20 requests/s`" \
        in capsys.readouterr().err
    path.write_text(PLAN.replace("{rate}", "72000/h"))
    assert main(["check", str(path), "--no-search"]) == 4
    assert "72000/h is requests per hour, 20 requests/s: write `rate = 20 requests/s`" in capsys.readouterr().err
    path.write_text(PLAN.replace("{rate}", "1728000/day"))
    assert main(["check", str(path), "--no-search"]) == 4
    assert "1728000/day is requests per day, 20 requests/s: write `rate = 20 requests/s`" in capsys.readouterr().err
    path.write_text(PLAN.replace("{rate}", "20 requests/s"))
    assert main(["check", str(path), "--no-search", "--set", "workload.rate=1000/min"]) == 4
    assert "1000/min is requests per minute, 16.67 requests/s: write `--set 'workload.rate=16.67 requests/s'`" \
        in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["search", str(path), "--rate", "1200/min"])
    assert "`1200/min`: dagc reads a rate in requests/s: write `--rate 20`" in capsys.readouterr().err
