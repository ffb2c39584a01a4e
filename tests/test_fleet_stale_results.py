"""A results file of another sweep — the plan edited, a file it reads changed, or dagc itself — is not resumed, and
`dagc fleet` now says so (dagc.fleet.results_file.read_results, dagc.cli.fleet_cmd): the same command run again
after an interruption used to search every cluster again without a word, as if the answers it had saved were
lost."""

from __future__ import annotations

import json

import pytest

from dagc.cli.main import main
from dagc.export.output_dir import plot_dir
from dagc.fleet import run as fleet_run
from dagc.fleet.results_file import RESULTS_NAME, read_results

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 1  gpu preset "h100-sxm" }
workload { batch = 16  prompt = 512  generate = 64  serving = inflight  rate = 4 requests/s  requests = 20 }
require { ttft_p99 <= 1 s  tpot_p90 <= 50 ms }
strategy tp 1
fleet { gpu preset "h100-sxm" { price = 2.5 $/h } }
"""


def _stale_file(path, answers: int) -> None:
    lines = [json.dumps({"dagc_fleet_results": 1, "signature": "0" * 64})]
    lines += [json.dumps({"key": f"cluster.gpus={i} --rate 4.0", "answer": {}}) for i in range(answers)]
    path.write_text("\n".join(lines) + '\n{"key": "cut sho')           # a last line cut short is no answer


def test_a_file_of_another_sweep_counts_its_answers(tmp_path):
    path = tmp_path / RESULTS_NAME
    _stale_file(path, 3)
    resumed = read_results(path, "1" * 64)
    assert (resumed.answers, resumed.stale) == ({}, 3)
    assert read_results(tmp_path / "none.jsonl", "1" * 64).stale == 0        # no file: nothing to say


def _refuse(plan, rate, top):
    raise AssertionError("searched")


def test_the_command_says_why_nothing_resumes(tmp_path, capsys, monkeypatch):
    plan = tmp_path / "fleet.moe"
    plan.write_text(PLAN)
    out = tmp_path / "out"
    _stale_file(plot_dir(out, RESULTS_NAME), 2)        # the directory as dagc fleet leaves it, its marker written
    monkeypatch.setattr(fleet_run, "answer_cluster", _refuse)       # the note comes before any search
    with pytest.raises(AssertionError, match="searched"):
        main(["fleet", str(plan), "-o", str(out)])
    err = capsys.readouterr().err.replace("\n", " ")
    assert (f"note: {out / RESULTS_NAME} held 2 answers of another sweep (the plan's text, a file it reads or dagc "
            "itself changed since): every cluster is searched again") in err
    assert "resumed from" not in err


def test_the_files_written_name_the_results_file(tmp_path, capsys, monkeypatch):
    """The terminal's `wrote …` line named fleet.json and the pages but not fleet-results.jsonl, the file an
    interrupted run resumes from: a user looking for it read that the command had not written it."""
    monkeypatch.setenv("COLUMNS", "2000")                 # the line whole, not wrapped at the terminal's width
    plan = tmp_path / "fleet.moe"
    plan.write_text(PLAN)
    out = tmp_path / "out"
    assert main(["fleet", str(plan), "-o", str(out)]) == 0
    wrote = [line for line in capsys.readouterr().out.splitlines() if line.startswith("wrote ")]
    assert wrote == [f"wrote {out / 'fleet.json'}, fleet.md, fleet.html, fleet.svg, {RESULTS_NAME} (each cluster's "
                     "answer: the same command resumes from it)"]
