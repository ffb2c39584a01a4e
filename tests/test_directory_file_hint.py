"""A directory written where a plan names a file — `requests from`, `kernels from`, `calibration from` — is the
statement's diagnostic whose hint names the files in it that could be meant, the first as the statement to write
(dagc.lang.near_file.in_directory): names only, bounded, never a file's content."""

from __future__ import annotations

from conftest import run_dagc

PLAN = """model preset "qwen3-30b-a3b"
cluster {{ gpus = 4  gpu preset "h200" {kernels} }}
workload {{ batch = 8  prompt = 100  generate = 100  serving = inflight {log} }}
{calibration}
strategy tp 4
"""


def _check(tmp_path, kernels="", log="", calibration=""):
    (tmp_path / "plan.moe").write_text(PLAN.format(kernels=kernels, log=log, calibration=calibration))
    out = run_dagc("check", "plan.moe", cwd=tmp_path)
    assert out.returncode == 4, out.stderr
    assert "Traceback" not in out.stderr
    return out.stderr


def test_a_directory_as_the_request_log_names_the_logs_in_it(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    for name in ("b.jsonl", "a.CSV", "notes.txt", "secret.json.bak"):
        (logs / name).write_text("TOP-SECRET\n")
    (logs / "sub.csv").mkdir()                     # a directory named like a log is none
    err = _check(tmp_path, log='requests from "logs"')
    assert "error[E108]: request log `logs`: the path is a directory, not a request log" in err
    assert 'help: name a file in it: `logs` holds a.CSV and b.jsonl (`requests from "logs/a.CSV"`)' in err
    assert "TOP-SECRET" not in err                   # no file of it is read


def test_a_directory_without_logs_says_which_files_would_do(tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "readme.txt").write_text("")
    err = _check(tmp_path, log='requests from "logs"')
    assert "help: name a file: `logs` holds no request logs (files ending .csv, .jsonl or .json)" in err


def test_many_logs_the_first_five_and_how_many_more(tmp_path):
    (tmp_path / "logs").mkdir()
    for i in range(7):
        (tmp_path / "logs" / f"day{i}.csv").write_text("")
    err = _check(tmp_path, log='requests from "logs"')
    assert "holds day0.csv, day1.csv, day2.csv, day3.csv, day4.csv and 2 more (`requests from \"logs/day0.csv\"`)" \
        in err


def test_kernel_profile_and_calibration_directories(tmp_path):
    (tmp_path / "prof").mkdir()
    (tmp_path / "prof" / "h200.json").write_text("{}")
    (tmp_path / "cal").mkdir()
    err = _check(tmp_path, kernels='kernels from "prof"', calibration='calibration from "cal"')
    assert "error[E105]: kernel profile `prof` is not a regular file" in err
    assert 'help: name a file in it: `prof` holds h200.json (`kernels from "prof/h200.json"`)' in err
    assert "error[E109]: cannot read calibration `cal`: the path is a directory, not a calibration file" in err
    # a directory of no calibration: what writes one, as before
    assert 'help: give the path of the file `dagc calibrate … -o FILE` wrote (`calibration from "FILE"`)' in err
    (tmp_path / "cal" / "fit.json").write_text("")
    err = _check(tmp_path, calibration='calibration from "cal"')
    assert 'help: name a file in it: `cal` holds fit.json (`calibration from "cal/fit.json"`)' in err


def test_a_name_that_looks_like_markup_is_printed_as_text(tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "[red]x.csv").write_text("")
    err = _check(tmp_path, log='requests from "logs"')
    assert '`logs` holds [red]x.csv (`requests from "logs/[red]x.csv"`)' in err
