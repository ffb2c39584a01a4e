"""A run's mean lengths from the summary's totals over its completed requests, as the tool counts them; the
per-request arrays where the summary has none (docs/calibrate.md): a vLLM `--save-detailed` run whose
`output_lens` held 0 for half its requests, with no `errors` to say which, gave a mean output of 64 where its
summary counts 128."""

from __future__ import annotations

import json
from pathlib import Path

from test_calibrate_manifest_sets import RUN

from dagc.calibrate.runs import read_runs


def _run(tmp_path: Path, **change: object) -> Path:
    doc = json.loads(RUN) | change
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc))
    return path


def test_the_summary_totals_give_the_mean_lengths_before_the_arrays(tmp_path: Path) -> None:
    # 200 completed, 128 tokens each in the summary; an array holding 0 for half of them (no `errors` to say why)
    path = _run(tmp_path, input_lens=[1024] * 200, output_lens=[128] * 100 + [0] * 100)
    (run,) = read_runs(path)
    assert (run.prompt, run.generate) == (1024.0, 128.0)
    assert (run.fields["prompt"], run.fields["generate"]) == ("total_input_tokens", "total_output_tokens")


def test_the_arrays_give_them_where_the_summary_has_none(tmp_path: Path) -> None:
    doc = json.loads(RUN)
    del doc["total_output_tokens"]
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc | {"output_lens": [100, 156] * 100}))
    (run,) = read_runs(path)
    assert run.generate == 128.0 and run.fields["generate"] == "output_lens"
