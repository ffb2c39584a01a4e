"""A plan's file named with a slip of the name of a file beside it — a request log (`requests from`), a kernel profile
(`kernels from`), a calibration (`calibration from`, tests/test_calibration_not_fitted.py) — is told that file's name
(`dagc.lang.near_file`), never its contents. Until 2026-12-01 the log and the profile were told "check the path
(relative to the plan)" alone; until 2026-12-02 the plan and the run files of the command line were told "check the
path".
"""

from __future__ import annotations

import pytest

from dagc import PlanError, load_plan
from conftest import plan_text

SECRET = "98765.4321"     # in the file beside the path: no message or hint may show it


def _one(tmp_path, **parts: str):
    plan = tmp_path / "plan.moe"
    plan.write_text(plan_text(**parts))
    with pytest.raises(PlanError) as exc:
        load_plan(plan)
    (d,) = exc.value.diagnostics
    assert SECRET not in d.message and SECRET not in (d.hint or "")
    return d


def _log(path: str) -> str:
    return f'workload {{ batch = 8  prompt = 2048  generate = 64  serving = inflight  requests from "{path}" }}'


def _kernels(path: str) -> str:
    return f'cluster {{ gpus = 8  gpus_per_node = 8  gpu preset "h100-sxm"  engine = pytorch  kernels from "{path}" }}'


@pytest.mark.parametrize(("written", "meant"), [("trace.cvs", "trace.csv"), ("logs/Trace.csv", "logs/trace.csv")])
def test_a_missing_request_log_is_told_the_log_beside_it(tmp_path, written, meant):
    (tmp_path / "logs").mkdir()
    (tmp_path / meant).write_text(f"TIMESTAMP,ContextTokens,GeneratedTokens\n{SECRET},1,1\n")
    d = _one(tmp_path, workload=_log(written))
    assert (d.code, d.message) == ("E108", f"request log `{written}`: the file does not exist")
    assert d.hint == f'did you mean `requests from "{meant}"`? (`trace.csv` is beside the path written)'


def test_a_missing_request_log_like_no_file_beside_it_keeps_the_hint_to_check_the_path(tmp_path):
    (tmp_path / "other.csv").write_text(SECRET)
    d = _one(tmp_path, workload=_log("trace.csv"))
    assert (d.code, d.hint) == ("E108", "check the path (relative to the plan)")


@pytest.mark.parametrize(("written", "meant"), [("my-h100.jsn", "my-h100.json"),
                                                ("prof/my_h100.json", "prof/my-h100.json")])
def test_a_missing_kernel_profile_is_told_the_profile_beside_it(tmp_path, written, meant):
    (tmp_path / "prof").mkdir()
    (tmp_path / meant).write_text(f'{{"secret": {SECRET}}}')
    d = _one(tmp_path, cluster=_kernels(written))
    assert (d.code, d.message) == ("E105", f"kernel profile `{written.rsplit('/', 1)[-1]}` does not exist")
    assert d.hint == f'did you mean `kernels from "{meant}"`? (`my-h100.json` is beside the path written)'


def test_a_missing_kernel_profile_like_no_file_beside_it_keeps_the_hint_to_check_the_path(tmp_path):
    (tmp_path / "b200.json").write_text(SECRET)
    d = _one(tmp_path, cluster=_kernels("h100.json"))
    assert (d.code, d.hint) == ("E105", "check the path (relative to the plan)")


def test_a_missing_plan_or_run_file_on_the_command_line_is_told_the_file_beside_it(tmp_path, capsys, monkeypatch):
    """`dagc check qwn.moe` beside qwen.moe, and `dagc calibrate rate4.jsn` beside rate4.json, were told "check the
    path" alone (until 2026-12-02); a path like none there still is."""
    from dagc.cli.main import main
    monkeypatch.chdir(tmp_path)
    (tmp_path / "qwen.moe").write_text(plan_text())
    (tmp_path / "rate4.json").write_text(f'{{"mean_ttft_ms": {SECRET}}}')
    assert main(["check", "qwn.moe"]) == 4
    assert "help: did you mean `qwen.moe`? (`qwen.moe` is beside the path given)" in capsys.readouterr().err
    assert main(["calibrate", "rate4.jsn", "--plan", "qwen.moe", "-o", "cal.json"]) == 4
    err = capsys.readouterr().err
    assert "help: did you mean `rate4.json`? (`rate4.json` is beside the path given)" in err and SECRET not in err
    assert main(["check", "mixtral.moe"]) == 4
    assert "help: check the path" in capsys.readouterr().err
