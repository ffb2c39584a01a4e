"""A new user's first `dagc calibrate` and `dagc fleet` (trial48, 2026-11-30): each mistake they made, or figure they
were shown, that dagc answered wrongly or without saying what to do, checked as they met it."""

from __future__ import annotations

import json

import pytest

from dagc.cli.main import main

# a calibration fitted on runs of one vLLM engine on 4 H100s (`instance_gpus` [4, 4]), as `dagc calibrate` writes it
CALIBRATION = {"format": 1, "engine": "vllm", "release": "0.33.0", "gpu": "h100-sxm", "gpus": 4,
               "instance_gpus": [4, 4], "model": "qwen3-30b-a3b", "terms": {"step_s": 0.003, "frontend_s": 0.04},
               "runs": [{"id": "r0", "file": "r0.json", "tool": "vllm", "requests": 200, "prompt": 512, "generate": 64,
                         "rate": 4, "measured": {"ttft_ms": 50}, "dagc": {"ttft_ms": 50},
                         "cross_validated": {"ttft_ms": 50}}],
               "range": {"prompt": [512, 512], "generate": [64, 64], "rate": [4, 4]}, "residuals": {"ttft": [0.0]}}

FLEET_PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 4  gpu preset "h100-sxm"  engine = vllm }
workload { batch = 16  prompt = 512  generate = 64  serving = inflight  rate = 4 requests/s  requests = 200 }
require { tpot_p90 <= 50 ms }
calibration from "cal.json"
fleet {
  gpu preset "h100-sxm" { price = 2.49 $/h }
  gpus = [1]
}
"""


def _fleet(tmp_path, calibration: dict) -> tuple[str, dict]:
    (tmp_path / "cal.json").write_text(json.dumps(calibration))
    plan = tmp_path / "fleet.moe"
    plan.write_text(FLEET_PLAN)
    out = tmp_path / "out"
    assert main(["fleet", str(plan), "-o", str(out)]) == 0
    return str(out), json.loads((out / "fleet.json").read_text())["fleet"]


def test_a_calibrated_fleet_says_which_picks_run_instances_its_runs_never_had(tmp_path, capsys):
    # the runs were of 4-GPU engines; the fleet's one cluster of 1 H100 picks `tp 1`: its figures are the
    # calibration's terms carried to another instance, which `dagc search` of the same cluster says under its table
    # and `dagc check --strategy` says as W540 — until 2026-11-30 the fleet recommended it without a word
    out, fleet = _fleet(tmp_path, CALIBRATION)
    said = ("outside the runs of calibration `cal.json` (engine instances of 4 GPUs): #1 runs instances of 1 GPU — "
            "their figures and bands are extrapolated (W540 in `dagc check --strategy`)")
    assert fleet["best"]["pick"]["strategy"].startswith("tp 1")
    assert fleet["outside_calibration"] == said
    assert said in capsys.readouterr().out
    assert "outside the runs of calibration \\`cal.json\\`" in (tmp_path / "out" / "fleet.md").read_text()


def test_a_calibration_of_the_picks_own_instances_says_nothing_of_them(tmp_path, capsys):
    out, fleet = _fleet(tmp_path, {**CALIBRATION, "gpus": 1, "instance_gpus": [1, 1]})
    assert fleet["outside_calibration"] is None
    assert "outside the runs" not in capsys.readouterr().out


PRICED = """model preset "qwen3-30b-a3b"
cluster { gpus = 4  gpu preset "h100-sxm" }
workload { batch = 8  prompt = 512  generate = 64  serving = inflight  rate = 4 requests/s  requests = 50 }
fleet {
  gpu preset "h100-sxm" { price = PRICE }
}
"""


def _price_hint(tmp_path, capsys, price: str) -> str:
    plan = tmp_path / "fleet.moe"
    plan.write_text(PRICED.replace("PRICE", price))
    assert main(["fleet", str(plan), "-o", str(tmp_path / "out")]) == 4
    return capsys.readouterr().err


def test_a_price_in_cents_is_hinted_in_dollars_not_as_a_hundred_times_the_rent(tmp_path, capsys):
    # until 2026-11-30: "`price` takes a price per GPU-hour in `$/h`, `$/hour`, e.g. `price = 249 $/h`"
    err = _price_hint(tmp_path, capsys, "249 cents/h")
    assert "fleet.moe:5:39: error[E101]: unknown unit `cents/h`" in err
    assert "help: `cents/h` is cents per hour: 249 cents/h = 2.49 $/h; write `price = 2.49 $/h`" in err
    assert "249 $/h" not in err


def test_a_nodes_price_is_hinted_per_gpu_not_as_one_gpus(tmp_path, capsys):
    # until 2026-11-30 `$/h/node` was hinted `price = 19.92 $/hour` and `$/node-hour` `price = 19.92 $/h`: a node of
    # 8 GPUs' rent charged for each GPU, 8 times the cost of every cluster
    err = _price_hint(tmp_path, capsys, "19.92 $/h/node")
    assert ("help: `price` is one GPU's rent per hour, a node's divided by its GPUs: 19.92 $/h/node for a node of 8 "
            "GPUs is `price = 2.49 $/h`") in err
    err = _price_hint(tmp_path, capsys, "19.92 $/node-hour")
    assert ("help: a price is one GPU's rent per hour, a node's divided by its GPUs: 19.92 $/node-hour for a node of 8 "
            "GPUs is `price = 2.49 $/h`") in err
    assert "19.92 $/h`" not in err and "19.92 $/hour" not in err


CALIBRATED = """model preset "qwen3-30b-a3b"
cluster { gpus = 1  gpu preset "h100-sxm"  engine = vllm }
workload { batch = 64  prompt = 512  generate = 128  serving = inflight  rate = 4 requests/s  requests = 200 }
calibration from "NAMED"
strategy tp 1
"""


def _e109(tmp_path, named: str):
    from dagc.diagnostics import PlanError
    from dagc.lang.load import load_plan_text
    try:
        load_plan_text(CALIBRATED.replace("NAMED", named), base_dir=tmp_path)
    except PlanError as exc:
        (d,) = exc.diagnostics
        assert d.code == "E109" and d.span is not None and d.span.text == f'"{named}"'
        return d
    raise AssertionError("no E109")


def test_a_plan_named_as_the_calibration_is_told_it_is_a_plan_and_how_to_fit_one(tmp_path):
    # until 2026-11-30 "calibration `qwen.moe` is not valid JSON", hinted "make the file with `dagc calibrate`"
    (tmp_path / "qwen.moe").write_text(CALIBRATED.replace('calibration from "NAMED"\n', ""))
    d = _e109(tmp_path, "qwen.moe")
    assert d.hint == ("`qwen.moe` is a plan, not a calibration: fit one on your benchmark runs of it with `dagc "
                      'calibrate RUN… --plan qwen.moe -o cal.json` and name that file, `calibration from "cal.json"` '
                      "(docs/calibrate.md)")


def test_a_run_in_a_folder_named_as_the_calibration_is_hinted_by_its_path(tmp_path):
    # the plan's `runs/rate4.json` was hinted `dagc calibrate rate4.json …`, which the plan's directory has not
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "rate4.json").write_text(json.dumps({"mean_ttft_ms": 90.0, "request_rate": 4.0}))
    d = _e109(tmp_path, "runs/rate4.json")
    assert d.hint is not None and "`dagc calibrate runs/rate4.json --plan PLAN -o cal.json`" in d.hint


def test_a_manifests_path_written_from_the_directory_dagc_runs_in_is_hinted_as_the_manifest_means_it(
        tmp_path, capsys, monkeypatch):
    # `u/runs.toml` naming `u/runs/rate1.json`, as the user saw the file from `u`'s parent, where they ran dagc
    (tmp_path / "u" / "runs").mkdir(parents=True)
    (tmp_path / "u" / "runs" / "rate1.json").write_text("{}")
    (tmp_path / "u" / "p.moe").write_text(CALIBRATED.replace('calibration from "NAMED"\n', ""))
    (tmp_path / "u" / "runs.toml").write_text('plan = "p.moe"\n[[run]]\nfile = "u/runs/rate1.json"\n')
    (tmp_path / "elsewhere.json").write_text("{}")         # outside the manifest's directory: never told of
    (tmp_path / "u" / "far.toml").write_text('plan = "p.moe"\n[[run]]\nfile = "elsewhere.json"\n')
    monkeypatch.chdir(tmp_path)
    assert main(["calibrate", "u/runs.toml", "-o", "u/cal.json"]) == 4
    err = capsys.readouterr().err
    assert "u/runs.toml:3:8: error[E110]: run entry 1: `file` names a file that does not exist, `u/runs/rate1.json`" \
        in err
    assert ("help: check the path: it is relative to the manifest's directory, not the one dagc runs in: the file "
            "`u/runs/rate1.json` of this directory is `runs/rate1.json` from the manifest's") in err
    assert main(["calibrate", "u/far.toml", "-o", "u/cal.json"]) == 4
    err = capsys.readouterr().err
    assert "help: check the path: it is relative to the manifest's directory\n" in err


def test_a_run_file_that_is_a_directory_is_told_so_and_given_the_files_in_it(tmp_path, capsys, monkeypatch):
    # until 2026-11-30 "the run file is not a regular file", hinted "give the path of the run file"
    (tmp_path / "runs").mkdir()
    (tmp_path / "p.moe").write_text(CALIBRATED.replace('calibration from "NAMED"\n', ""))
    monkeypatch.chdir(tmp_path)
    assert main(["calibrate", "runs", "--plan", "p.moe", "-o", "cal.json"]) == 4
    err = capsys.readouterr().err
    assert "runs:1:1: error[E110]: the run file is a directory, not a regular file" in err
    assert ("help: give the run files in it, each a benchmark's result (`runs/*.json`), or a manifest that lists them "
            'with their traffic (docs/calibrate.md, "The manifest")') in err


# a run as `vllm bench serve --save-result` writes it (the fields docs/calibrate.md lists), of the plan's traffic
VLLM_RUN = {"backend": "vllm", "model_id": "Qwen/Qwen3-30B-A3B", "num_prompts": 200, "request_rate": 4.0,
            "burstiness": 1.0, "max_concurrency": None, "duration": 52.5, "completed": 200, "failed": 0,
            "total_input_tokens": 102400, "total_output_tokens": 25600, "request_throughput": 3.81,
            "output_throughput": 487.6, "total_token_throughput": 2438.1, "mean_ttft_ms": 90.0, "median_ttft_ms": 85.5,
            "p99_ttft_ms": 144.0, "mean_tpot_ms": 20.5, "median_tpot_ms": 20.1, "p99_tpot_ms": 26.7,
            "mean_itl_ms": 20.5, "median_itl_ms": 18.5, "p99_itl_ms": 51.3}


def _calibrate_one(tmp_path, capsys, monkeypatch, run: dict) -> tuple[int, str]:
    (tmp_path / "p.moe").write_text(CALIBRATED.replace('calibration from "NAMED"\n', ""))
    (tmp_path / "rate4.json").write_text(json.dumps(run, indent=2))
    monkeypatch.chdir(tmp_path)
    code = main(["calibrate", "rate4.json", "--plan", "p.moe", "-o", "cal.json"])
    return code, capsys.readouterr().err


def test_a_run_written_with_dagcs_own_keys_is_told_the_tools_name_of_each(tmp_path, capsys, monkeypatch):
    # docs/calibrate.md lists dagc's key of each figure (`ttft_ms`, …); a file written with them was "none of the
    # fields of vLLM's, SGLang's or AIPerf's results", at 1:1, until 2026-11-30
    own = {"ttft_ms": 90.0, "tpot_ms": 20.5, "output_tokens_per_s": 487.6, "request_rate": 4.0, "num_prompts": 200}
    code, err = _calibrate_one(tmp_path, capsys, monkeypatch, own)
    assert code == 4
    assert ("rate4.json:2:3: error[E110]: field `ttft_ms` is not a field of vLLM's, SGLang's or AIPerf's results: its "
            "figure would not be read") in err
    assert 'help: the tools write it `mean_ttft_ms` (docs/calibrate.md, "What it reads")' in err


@pytest.mark.parametrize("name", ["ttft_mean_ms", "mean_ttft"])
def test_a_figure_under_the_tools_words_in_another_order_is_not_dropped_unsaid(tmp_path, capsys, monkeypatch, name):
    # `ttft_mean_ms` beside the tool's own fields: its mean TTFT was left out of the fit without a word; so was
    # `mean_ttft`, the field with its unit cut off by hand (until 2026-12-01)
    run = {(name if k == "mean_ttft_ms" else k): v for k, v in VLLM_RUN.items()}
    code, err = _calibrate_one(tmp_path, capsys, monkeypatch, run)
    line = 1 + list(run).index(name) + 1
    assert code == 4
    assert f"rate4.json:{line}:3: error[E110]: field `{name}` is not a field of vLLM's" in err
    assert "the tools write it `mean_ttft_ms`" in err
    assert not (tmp_path / "cal.json").exists()


def test_a_results_file_of_another_sweep_holding_one_answer_says_one_answer(tmp_path, capsys, monkeypatch):
    # until 2026-11-30 "note: …/fleet-results.jsonl held 1 answers of another sweep"
    from test_fleet_stale_results import PLAN, _refuse, _stale_file

    from dagc.export.output_dir import plot_dir
    from dagc.fleet import run as fleet_run
    from dagc.fleet.results_file import RESULTS_NAME
    plan = tmp_path / "fleet.moe"
    plan.write_text(PLAN)
    out = tmp_path / "out"
    _stale_file(plot_dir(out, RESULTS_NAME), 1)
    monkeypatch.setattr(fleet_run, "answer_cluster", _refuse)
    try:
        main(["fleet", str(plan), "-o", str(out)])
    except AssertionError as exc:
        assert "searched" in str(exc)
    err = capsys.readouterr().err.replace("\n", " ")
    assert f"note: {out / RESULTS_NAME} held 1 answer of another sweep (the plan's text, a file it reads" in err


def test_a_calibration_file_missing_fields_names_each(tmp_path):
    # a hand-made file of the terms alone read "runs: Field required (and 2 more)" until 2026-11-30: which two, unsaid
    (tmp_path / "hand.json").write_text(json.dumps({k: v for k, v in CALIBRATION.items()
                                                    if k not in ("runs", "range", "residuals")}))
    d = _e109(tmp_path, "hand.json")
    # pydantic's words ("runs: Field required; …") until 2026-12-03
    assert d.message == "calibration `hand.json`: runs is missing; range is missing; residuals is missing"


def test_a_run_file_past_the_limit_is_told_what_makes_a_run_large(tmp_path, capsys, monkeypatch):
    # a vLLM result saved with `--save-detailed` holds every generated text (vllm/benchmarks/serve.py pops
    # `generated_texts` without it); until 2026-11-30 the hint was "is this the right file?" alone
    from dagc.calibrate import runs as runs_mod
    monkeypatch.setattr(runs_mod, "MAX_RUN_BYTES", 2000)
    code, err = _calibrate_one(tmp_path, capsys, monkeypatch, VLLM_RUN | {"generated_texts": ["x" * 100] * 30})
    assert code == 4
    assert "rate4.json:1:1: error[E110]: the run file is larger than 2,000 bytes, the limit for a run file" in err
    assert ("help: is this the right file? A benchmark's summary is a few kB: a vLLM result saved with "
            "`--save-detailed` (SGLang's `--output-details`) also holds every request's generated text — benchmark "
            "again without it, dagc reads the summary") in err


def test_the_summary_names_the_engine_instances_the_runs_measured_beside_the_cluster(tmp_path, capsys, monkeypatch):
    # runs of one `tp 1` engine given with a plan of 2 GPUs: until 2026-11-30 "calibrated vllm@0.33.0 on 2 × h100-sxm"
    # alone, which read as a calibration of 2-GPU engines; the file's `instance_gpus` and W540 are of 1
    plan = CALIBRATED.replace('calibration from "NAMED"\n', "").replace("gpus = 1", "gpus = 2")
    (tmp_path / "p.moe").write_text(plan)
    (tmp_path / "rate4.json").write_text(json.dumps(VLLM_RUN))
    monkeypatch.chdir(tmp_path)
    assert main(["calibrate", "rate4.json", "--plan", "p.moe", "-o", "cal.json"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first == "calibrated vllm@0.33.0 on 2 × h100-sxm (engine instances of 1 GPU), qwen3-30b-a3b: 1 run"
    assert json.loads((tmp_path / "cal.json").read_text())["instance_gpus"] == [1, 1]
