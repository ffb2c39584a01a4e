"""A fleet without a rate over a request log replayed at its own times: E103 at the fleet, its hint giving the log's
own pace to write ((n − 1) gaps over its last time, as `rate` scales a log): it said `rate = 12 requests/s` whatever
the log, and a user of a log of 4.6 requests/s had to work its rate out to replay it as logged."""

from __future__ import annotations

from pathlib import Path

from dagc.cli.main import main

LOG = ("TIMESTAMP,ContextTokens,GeneratedTokens\n"
       "2023-11-16 18:00:00.0,300,40\n2023-11-16 18:00:00.5,200,30\n2023-11-16 18:00:01.0,250,20\n"
       "2023-11-16 18:00:02.0,100,10\n2023-11-16 18:00:08.0,120,50\n")
PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 1  gpu preset "h100-sxm" }
workload { batch = 8  prompt = 194  generate = 30  serving = inflight  requests from "log.csv"{requests} }
fleet {
  gpu preset "h100-sxm" { price = 2.49 $/h }
}
"""


def _fleet(tmp_path: Path, capsys, requests: str = "") -> str:
    (tmp_path / "log.csv").write_text(LOG)
    (tmp_path / "f.moe").write_text(PLAN.replace("{requests}", requests))
    assert main(["fleet", str(tmp_path / "f.moe"), "-o", str(tmp_path / "out")]) == 4
    return capsys.readouterr().err


def test_the_hint_gives_the_logs_own_pace(tmp_path: Path, capsys) -> None:
    err = _fleet(tmp_path, capsys)
    assert "f.moe:4:1: error[E103]: the fleet has no arrival rate to compare the clusters at" in err
    # 5 requests, 4 gaps over 8 s: 0.5 requests/s
    assert ("= help: write the rate to compare the clusters at in the fleet: `rate = 0.5 requests/s` is the request "
            "log's own pace (5 requests over 8 s), which replays it as logged") in err
    # `requests = 4` replays the first 4: 3 gaps over 2 s
    assert "`rate = 1.5 requests/s` is the request log's own pace (4 requests over 2 s)" in \
        _fleet(tmp_path, capsys, "  requests = 4")


def test_a_plan_without_a_fleet_is_hinted_one_it_takes(tmp_path: Path, capsys) -> None:
    # the fleet the hint writes carries the rate the plan lacks, its log's own pace or 12 requests/s, and reads; until
    # 2026-12-01 it had none, and the plan refused the hinted line (E103, "the fleet has no arrival rate")
    from dagc.lang.fleet import load_fleet

    (tmp_path / "log.csv").write_text(LOG)
    for workload, rate in (('requests from "log.csv"', 0.5), ("rate = 3 requests/s", None), ("", 12.0)):
        plan = tmp_path / "p.moe"
        plan.write_text(PLAN.replace('requests from "log.csv"{requests}', workload).split("fleet {")[0])
        assert main(["fleet", str(plan), "-o", str(tmp_path / "out")]) == 4
        err = capsys.readouterr().err
        line = err.split("add one, e.g. `", 1)[1].split("` (docs/fleet.md)", 1)[0]
        said = "" if rate is None else f"  rate = {rate:g} requests/s"
        assert line == f'fleet {{ gpu preset "h100-sxm" {{ price = 2.5 $/h }}  gpus = [8, 16]{said} }}', err
        plan.write_text(plan.read_text() + line + "\n")
        assert load_fleet(plan)[1].rate_requests_per_s == rate


def test_a_rate_written_but_refused_is_not_also_told_missing(tmp_path: Path, capsys) -> None:
    # `rate = 0 requests/s` is its own E104; until 2026-12-01 an E103 "the fleet has no arrival rate" stood beside it,
    # of a fleet that wrote one
    (tmp_path / "log.csv").write_text(LOG)
    (tmp_path / "f.moe").write_text(PLAN.replace("{requests}", "").replace("fleet {", "fleet {  rate = 0 requests/s"))
    assert main(["fleet", str(tmp_path / "f.moe"), "-o", str(tmp_path / "out")]) == 4
    err = capsys.readouterr().err
    assert "error[E104]: `rate` = 0 requests/s is out of range" in err
    assert "E103" not in err and "no arrival rate" not in err
