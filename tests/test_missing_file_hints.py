"""A plan's file named with a slip of the name of a file beside it — a request log (`requests from`), a kernel profile
(`kernels from`), a calibration (`calibration from`, tests/test_calibration_not_fitted.py) — is told that file's name
(`dagc.lang.near_file`), never its contents. Until 2026-12-01 the log and the profile were told "check the path
(relative to the plan)" alone.
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
