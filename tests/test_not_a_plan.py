"""Another of dagc's inputs or outputs given where the plan goes — a model's config.json, a `vllm bench serve
--save-result` file, a request log, a kernel profile, a calibration, a report.json — is E002 naming what it is and
where dagc takes it, and no line of it is printed. Until 2026-12-02 it was E001 at its first character, its first line
(a config's whole JSON object, a token in it included) printed under the caret, hinted "`{ … }` opens the blocks"."""

from __future__ import annotations

import json

import pytest

from dagc.cli.main import main

SECRET = "hf_SeCrEt0123456789"          # what a config or a run's JSON may carry: never printed

FILES = {
    "config.json": (json.dumps({"model_type": "mixtral", "num_hidden_layers": 32, "token": SECRET}),
                    "a model's config.json (Hugging Face)", '`model from "config.json"`'),
    "rate4.json": (json.dumps({"backend": "vllm", "num_prompts": 200, "completed": 200, "request_rate": 4.0,
                               "mean_ttft_ms": 95.2, "output_throughput": 496.6, "tokenizer_id": SECRET}),
                   "a serving benchmark's results", "`dagc calibrate rate4.json --plan PLAN -o cal.json`"),
    "runs.jsonl": ("\n".join(json.dumps({"mean_ttft_ms": 90 + i, "request_throughput": 3.9, "x": SECRET})
                             for i in range(3)), "a serving benchmark's results", "`dagc calibrate runs.jsonl"),
    "log.csv": (f"TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.68,374,44\n{SECRET},1,1\n",
                "an Azure request log", '`requests from "log.csv"`'),
    "trace.jsonl": ("\n".join(json.dumps({"timestamp": 10 * i, "input_length": 512, "output_length": 64,
                                          "hash_ids": [i], "note": SECRET}) for i in range(2)),
                    "a Mooncake request log", '`requests from "trace.jsonl"`'),
    "cal.json": (json.dumps({"format": 1, "terms": {"step_s": 0.001}, "fit": {}, "about": SECRET}),
                 "a calibration `dagc calibrate` wrote", '`calibration from "cal.json"`'),
    "report.json": (json.dumps({"version": 1, "plan": SECRET, "strategy": "tp 8", "verdict": {}}),
                    "an output of `dagc compile`", "give the plan it was compiled from"),
    "other.json": (json.dumps([{"key": SECRET}]), "JSON", "not JSON: `model preset"),
}


@pytest.mark.parametrize("name", sorted(FILES))
@pytest.mark.parametrize("command", ["check", "launch"])
def test_a_file_that_is_no_plan_is_told_what_it_is(name, command, tmp_path, capsys):
    text, what, hint = FILES[name]
    path = tmp_path / name
    path.write_text(text)
    assert main([command, str(path)]) == 4
    out = capsys.readouterr()
    err = out.err + out.out
    assert f"{path}:1:1: error[E002]: the file is {what}, not a plan" in err
    assert hint in err
    assert SECRET not in err and "|" not in err                      # no line of the file, no caret under one


@pytest.mark.parametrize("text", ['{ model preset "mixtral-8x7b" }\n', "model: mixtral\ntp: 8\n"])
def test_a_plan_written_wrongly_is_still_located_by_the_parser(text, tmp_path, capsys):
    """Neither reads as JSON nor a log: the parser's E001 shows where the plan goes wrong."""
    path = tmp_path / "p.moe"
    path.write_text(text)
    assert main(["check", str(path)]) == 4
    assert "error[E001]" in capsys.readouterr().err
