"""dagc calibrate: known terms recovered from runs dagc made with them, the fit's arithmetic, the calibration file
read back by `calibration from`, its bands, W540 and E109, and the command."""

from __future__ import annotations

import json
import math
import re
import subprocess

import numpy as np
import pytest

from dagc.calibrate.calibrate import calibrate
from dagc.calibrate.figures import dagc_figures
from dagc.calibrate.fit import Start, fit_term, left_out
from dagc.calibrate.manifest import jobs_of, jobs_of_manifest
from dagc.diagnostics import PlanError, render
from dagc.lang.calibration import CalibrationFile
from dagc.lang.load import load_plan, load_plan_text
from dagc.plan.engines import VLLM_FRONTEND_S, VLLM_STEP_REQUEST_S, VLLM_STEP_S
from dagc.verdict.bands import bands_of
from dagc.verdict.check import check
from conftest import ROOT, run_dagc

PLAN = ('model preset "mixtral-8x7b"\ncluster {{ gpus = 8  gpu preset "h100-sxm"  engine = vllm }}\n'
        "workload {{ batch = 256  prompt = {p}  generate = {g}  serving = inflight  rate = {r} requests/s  "
        "requests = 100 }}\nstrategy {s}\n")
TRUE = {"step_s": 3e-3, "frontend_s": 40e-3, "compute_time_scale": 1.3, "memory_time_scale": 0.8,
        "step_request_s": 100e-6}
# (prompt, generate, rate, strategy) of each synthetic run: long prefills and high loads move compute-bound time,
# and tp 8, tp 4 and tp 2 (each GPU reading 1, 2 or 4 eighths of the weights a step) tell a decode step's
# memory-bound time from its host time, and tp 4 at 16 requests/s (steps of tens of requests, against a few at the
# lower loads) the host time per request of a step from the one per step
RUNS = [(4096, 64, 12, "tp 8"), (512, 128, 4, "tp 8"), (512, 128, 8, "tp 8"), (8192, 256, 2, "tp 8"),
        (1024, 256, 16, "tp 4"), (4096, 64, 3, "tp 4"), (512, 256, 2, "tp 2"), (2048, 64, 1, "tp 2")]


def vllm_result(p: int, g: int, r: float, terms: dict, s: str = "tp 8") -> dict:
    """What `vllm bench serve --save-result` would write of a run whose figures are dagc's with `terms`."""
    f, why = dagc_figures(load_plan_text(PLAN.format(p=p, g=g, r=r, s=s)), terms)
    assert why is None
    doc = {"date": "20261125-000000", "endpoint_type": "vllm", "backend": "vllm", "num_prompts": 100,
           "request_rate": r, "burstiness": 1.0, "max_concurrency": None, "completed": 100,
           "total_input_tokens": p * 100, "total_output_tokens": g * 100, "request_throughput": f["requests_per_s"],
           "output_throughput": f["output_tokens_per_s"], "total_token_throughput": f["total_tokens_per_s"]}
    for k, name in (("ttft", "ttft"), ("tpot", "tpot"), ("itl", "itl"), ("e2e", "e2el")):
        for suf, pre in (("", "mean"), ("_median", "median"), ("_p99", "p99")):
            doc[f"{pre}_{name}_ms"] = f[f"{k}_ms{suf}"]
    return doc


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """Eight runs dagc made with known terms (`TRUE`), a manifest of them, and their calibration."""
    d = tmp_path_factory.mktemp("calibrate")
    (d / "plan.moe").write_text(PLAN.format(p=512, g=128, r=4, s="tp 8"))
    entries = []
    for i, (p, g, r, st) in enumerate(RUNS):
        (d / f"run{i}.json").write_text(json.dumps(vllm_result(p, g, r, TRUE, st)))
        entries.append(f'[[run]]\nfile = "run{i}.json"\nstrategy = "{st}"\nset = ["workload.prompt={p}", '
                       f'"workload.generate={g}", "workload.rate={r} requests/s"]\n')
    (d / "runs.toml").write_text('plan = "plan.moe"\n' + "\n".join(entries))
    cal = calibrate(jobs_of_manifest(d / "runs.toml"))
    (d / "cal.json").write_text(json.dumps(cal.document()))
    return d, cal


def test_known_terms_are_recovered_within_two_percent(synthetic):
    _, cal = synthetic
    for name, value in TRUE.items():
        assert cal.terms[name] == pytest.approx(value, rel=0.02), name
    assert cal.start == {"step_s": VLLM_STEP_S, "frontend_s": VLLM_FRONTEND_S, "compute_time_scale": 1.0,
                         "memory_time_scale": 1.0, "step_request_s": VLLM_STEP_REQUEST_S}   # vLLM's own: the start
    # each term moves the fitted figures of 7 or 8 of the 8 runs by 0.5 % or more at its probe: all fitted
    assert min(cal.fit.moved.values()) >= 7 and cal.kept == ()
    before, cross = cal.errors("before"), cal.errors("cross_validated")
    # vLLM's own terms miss these runs' TTFT by a fifth or more; the cross-validated fit by a few % at most: the
    # figures it reads (means and medians) within 3 %, a p99 of a run's 100 requests, which it does not read, within
    # 10 % (a loaded run's p99 TTFT moves by several % between terms within 1 % of each other)
    assert statistics_median_abs(before["ttft"]) > 0.2 and statistics_median_abs(before["tpot"]) > 0.05
    assert max(abs(e) for e in cross["ttft"]) < 0.1 and max(abs(e) for e in cross["tpot"]) < 0.1
    read = [abs(c[k] / j.run.measured[k] - 1) for j, c in zip(cal.jobs, cal.cross_validated, strict=True)
            for k in j.run.measured if k in c and k.startswith(("ttft", "tpot", "itl")) and not k.endswith("_p99")]
    # (3.5 %: a loaded run's TTFT holds the front end's queue, which moves it a little more between nearby terms)
    assert len(read) == 48 and max(read) < 0.035


def statistics_median_abs(xs: list[float]) -> float:
    s = sorted(abs(x) for x in xs)
    return s[len(s) // 2]


def test_the_document_is_a_valid_calibration_file(synthetic):
    d, cal = synthetic
    doc = json.loads((d / "cal.json").read_text())
    f = CalibrationFile.model_validate(doc)
    assert (f.format, f.engine, f.release, f.gpu, f.gpus, f.model) == (1, "vllm", "0.33.0", "h100-sxm", 8,
                                                                        "mixtral-8x7b")
    assert [r.id for r in f.runs] == [f"run{i}.json" for i in range(8)]
    assert f.range.prompt == (512.0, 8192.0) and f.range.rate == (1.0, 16.0) and f.range.concurrency is None
    # each run's 3 TPOT and 3 ITL figures are the tpot quantity's: 48 residuals, each ln(dagc / measured)
    assert len(f.residuals["tpot"]) == 48 and len(f.residuals["ttft"]) == 24
    assert f.terms.compute_time_scale == cal.terms["compute_time_scale"] and doc["fit"]["kept"] == []
    r0 = f.runs[0]
    assert f.residuals["ttft"][0] == pytest.approx(math.log(r0.cross_validated["ttft_ms"] / r0.measured["ttft_ms"]),
                                                   abs=1e-6)


def test_fit_of_an_exactly_linear_figure_and_its_left_out_values():
    # figure = 10 ms + 2 ms per ms of the term; measured at a term of 5 ms for runs 0–3, 50 ms for run 4
    truth = [5e-3, 5e-3, 5e-3, 5e-3, 50e-3]
    measured = [{"ttft_ms": 10.0 + 2e3 * t} for t in truth]

    def runs(n: int):
        return lambda terms: [{"ttft_ms": 10.0 + 2e3 * terms["frontend_s"]}] * n

    fit = fit_term(runs(5), measured, Start({"step_s": 0.0, "frontend_s": 0.0}), "frontend_s")
    assert fit.value == pytest.approx(5e-3) and fit.moved == 5       # the outlier has no pull on a median
    assert left_out(fit, measured, [True] * 5, 4) == pytest.approx(5e-3)
    below = fit_term(runs(3), [{"ttft_ms": 1.0}] * 3, Start({"step_s": 0.0, "frontend_s": 0.02}), "frontend_s")
    assert below.value == 0.0                                         # never negative
    kept = fit_term(runs(2), measured[:2], Start({"step_s": 0.0, "frontend_s": 0.02}), "frontend_s")
    assert kept.kept and kept.value == 0.02                          # two runs do not move a term


def test_the_plan_statement_sets_the_terms_and_the_bands(synthetic):
    d, cal = synthetic
    plan = load_plan_text(PLAN.format(p=512, g=128, r=4, s="tp 8") + 'calibration from "cal.json"\n'
                          "require { tpot <= 50 ms }\n", base_dir=d)
    for name in TRUE:
        assert getattr(plan.cluster.engine.terms, name) == cal.terms[name]
    assert plan.calibration is not None and plan.calibration.runs == tuple(f"run{i}.json" for i in range(8))
    assert plan.cluster.engine.terms.graph_sizes == load_plan_text(PLAN.format(p=1, g=1, r=1, s="tp 8")).cluster \
        .engine.terms \
        .graph_sizes                                                  # the other terms are the engine's
    result = check(plan)[0]
    b = bands_of(result)
    assert b.figures["tpot_s"].regime == "calibration=cal.json quantity=tpot"
    assert b.figures["load.ttft_s.p99"].regime == "calibration=cal.json quantity=ttft"
    assert b.figures["tpot_s"].runs == 8
    assert not [x for x in result.diagnostics if x.code == "W540"]
    from dagc.export.report import assumptions
    engine = assumptions(plan, None)["engine"]
    assert (engine["calibration"], engine["step_s"], engine["frontend_s"]) == ("cal.json", cal.terms["step_s"],
                                                                             cal.terms["frontend_s"])
    assert (engine["compute_time_scale"], engine["memory_time_scale"]) == (cal.terms["compute_time_scale"],
                                                                           cal.terms["memory_time_scale"])
    plain = bands_of(check(load_plan_text(PLAN.format(p=512, g=128, r=4, s="tp 8")))[0])
    assert plain.figures["tpot_s"].regime.startswith("engine=vllm") or "quantity=tpot" in plain.figures["tpot_s"].regime
    assert not plain.figures["tpot_s"].regime.startswith("calibration")


def test_w540_when_the_plan_is_far_outside_the_runs(synthetic):
    d, _ = synthetic
    far = load_plan_text(PLAN.format(p=20000, g=128, r=40, s="tp 8") + 'calibration from "cal.json"\n', base_dir=d)
    (w,) = [x for x in check(far)[0].diagnostics if x.code == "W540"]
    # each figure with its unit: it read `prompt 20,000 (runs 512–8,192); rate 40 (runs 1–16)`
    assert w.message == ("the plan is far outside the runs calibration `cal.json` was fitted on: prompt 20,000 "
                         "tokens (runs 512–8,192); rate 40 requests/s (runs 1–16)")
    assert w.span.text == '"cal.json"'


def test_w540_when_the_plan_is_a_closed_loop_and_the_runs_open_ones(synthetic):
    # the runs arrived at 1–16 requests/s: 32 clients in a closed loop are a traffic kind they never had (no W540)
    d, _ = synthetic
    text = PLAN.format(p=512, g=128, r=4, s="tp 8").replace("rate = 4 requests/s", "concurrency = 32")
    closed = load_plan_text(text + 'calibration from "cal.json"\n', base_dir=d)
    (w,) = [x for x in check(closed)[0].diagnostics if x.code == "W540"]
    assert w.message.endswith("fitted on: a closed loop of 32 clients (runs: open loops at 1–16 requests/s)")
    from dagc.plan.workload import Traffic
    from dagc.rules.calibration import _other_loop
    assert _other_loop(Traffic(requests=100, rate=1000.0), None, (4.0, 32.0)) == \
        ["an open loop at 1,000 requests/s (runs: closed loops of 4–32 clients)"]
    assert _other_loop(Traffic(requests=100, rate=8.0), (1.0, 16.0), (4.0, 32.0)) == []
    # runs all of one traffic are said as one value, as the fields' ranges are: it read `closed loops of 4–4 clients`
    assert _other_loop(Traffic(requests=100, rate=4.0), None, (4.0, 4.0)) == \
        ["an open loop at 4 requests/s (runs: closed loops of 4 clients)"]
    assert _other_loop(Traffic(requests=100, concurrency=8), (2.0, 2.0), None) == \
        ["a closed loop of 8 clients (runs: open loops at 2 requests/s)"]


def test_w542_says_cross_validated_when_only_the_cross_validated_error_is_worse():
    from dagc.rules.calibration import calibration_worse
    from dagc.source import SourceFile

    src = SourceFile("rate12.json", '{"total_token_throughput": 1}')
    better = calibration_worse("e2e", (31.1, 29.6, 45.3), "`r.json`'s `x`", src.span(1, 2), ["step_s"])
    assert better.message.startswith("cross-validated, E2E is further off its runs than uncalibrated: median "
                                     "|error| 31.1 % uncalibrated, 29.6 % calibrated, 45.3 % cross-validated")
    worse = calibration_worse("e2e", (31.1, 33.0, 45.3), "`r.json`'s `x`", src.span(1, 2), ["step_s"])
    assert worse.message.startswith("calibrated, E2E is further off")


def _e109(d, text: str) -> str:
    with pytest.raises(PlanError) as exc:
        load_plan_text(text + 'calibration from "cal.json"\n', base_dir=d)
    (e,) = [x for x in exc.value.diagnostics if x.code == "E109"]
    assert e.span is not None and e.span.text == '"cal.json"'
    return e.message


@pytest.mark.parametrize("edit, said", [
    (lambda doc: doc | {"gpu": "h200"}, "its GPU is `h200`, the plan's `h100-sxm`"),
    (lambda doc: doc | {"format": 2}, "has a format this dagc does not read"),
    (lambda doc: doc | {"terms": {"step_s": -1.0, "frontend_s": 0.01}}, "terms.step_s is below 0: the least it may be"),
    (lambda doc: doc | {"residuals": {"tpot": [99.0]}}, "residuals is not valid: tpot: a residual is a finite"),
    (lambda doc: {k: v for k, v in doc.items() if k != "format"}, 'is not a dagc calibration (it has no "format")'),
    # a number written as a string was read as the number
    (lambda doc: doc | {"terms": doc["terms"] | {"frontend_s": "0.04"}}, "terms.frontend_s is not a number"),
    (lambda doc: doc | {"gpus": "8"}, "gpus is not a whole number"),
])
def test_e109_names_the_field_or_what_differs(synthetic, tmp_path, edit, said):
    d, _ = synthetic
    (tmp_path / "cal.json").write_text(json.dumps(edit(json.loads((d / "cal.json").read_text()))))
    assert said in _e109(tmp_path, PLAN.format(p=512, g=128, r=4, s="tp 8"))


def test_e109_unreadable_files_never_echoed(tmp_path):
    text = PLAN.format(p=512, g=128, r=4, s="tp 8")
    (tmp_path / "cal.json").write_text('{"format": 1, "secret": ')
    assert _e109(tmp_path, text) == "calibration `cal.json` is not valid JSON"
    (tmp_path / "cal.json").write_bytes(b" " * (1024 * 1024 + 1))
    assert "larger than 1,048,576 bytes" in _e109(tmp_path, text)
    (tmp_path / "cal.json").unlink()
    assert "does not exist" in _e109(tmp_path, text)
    (tmp_path / "cal.json").mkdir()
    assert "a directory" in _e109(tmp_path, text)


def test_the_statement_is_written_once(tmp_path):
    text = PLAN.format(p=512, g=128, r=4, s="tp 8") + 'calibration from "a.json"\ncalibration from "b.json"\n'
    with pytest.raises(PlanError) as exc:
        load_plan(_write(tmp_path / "p.moe", text))
    assert any(x.code == "E104" and "one `calibration` statement" in x.message for x in exc.value.diagnostics)


def _write(path, text: str):
    path.write_text(text)
    return path


def dagc(*args: str, cwd) -> subprocess.CompletedProcess:
    return run_dagc(*args, cwd=cwd)


def test_the_command(synthetic, tmp_path):
    d, _ = synthetic
    proc = dagc("calibrate", "run1.json", "--plan", "plan.moe", "-o", str(tmp_path / "one.json"), cwd=d)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr
    own = f"{VLLM_STEP_S * 1e3:.3f} ms"
    assert f"step_s = {own} (was {own}; kept: it moves the figures of 1 run, fewer than 3)" in proc.stdout
    proc = dagc("calibrate", "runs.toml", "-o", str(tmp_path / "cal.json"), cwd=d)
    assert proc.returncode == 0, proc.stderr
    said = {name: float(x) / {"ms": 1e3, "µs": 1e6, "×": 1.0}[unit] for name, x, unit in re.findall(
        r"^  (\w+) = ([\d.]+) ?(ms|µs|×) \(was [^;]+; fitted on [78] runs\)$", proc.stdout, re.M)}
    assert set(said) == set(TRUE), proc.stdout                       # each term on its line, fitted
    for name, value in TRUE.items():
        assert said[name] == pytest.approx(value, rel=0.02), name
    assert "  memory_time_scale = " in proc.stdout and "× (was 1.000×; fitted on " in proc.stdout
    assert json.loads((tmp_path / "cal.json").read_text())["format"] == 1
    again = dagc("calibrate", "runs.toml", "-o", str(tmp_path / "cal.json"), cwd=d)
    assert again.returncode == 5 and "cal.json: it exists; pass --force to replace it" in again.stderr
    folder = dagc("calibrate", "runs.toml", "-o", str(tmp_path), "--force", cwd=d)
    assert folder.returncode == 5 and "it exists and is not a regular file" in folder.stderr
    assert dagc("calibrate", "run0.json", "run1.json", "-o", "x.json", cwd=d).returncode == 2
    proc = dagc("calibrate", "run1.json", "run2.json", "--plan", "plan.moe", "-o", str(tmp_path / "x.json"), cwd=d)
    assert proc.returncode == 4 and "run2.json:1:" in proc.stderr and '"workload.rate=8 requests/s"' in proc.stderr
    assert not (tmp_path / "x.json").exists()


def test_jobs_of_several_files_and_runs_of_one_plan(synthetic):
    d, _ = synthetic
    jobs = jobs_of([d / "run1.json", ROOT / "tests" / "fixtures" / "calibrate" / "vllm.json"], d / "plan.moe")
    assert [j.run.id for j in jobs] == ["run1.json", "vllm.json"] and jobs[0].plan is jobs[1].plan


def test_two_processes_give_the_same_calibration(synthetic):
    d, cal = synthetic
    two = calibrate(jobs_of_manifest(d / "runs.toml"), workers=2)
    assert two.terms == cal.terms and two.residuals == cal.residuals


def test_the_search_reads_indistinguishable_within_the_calibrations_band(synthetic):
    from dagc.verdict.ledger import band_ratio
    d, _ = synthetic
    text = PLAN.format(p=512, g=128, r=4, s="tp 8")
    calibrated = band_ratio(load_plan_text(text + 'calibration from "cal.json"\n', base_dir=d), "tpot")
    shipped = band_ratio(load_plan_text(text), "tpot")
    assert calibrated is not None and shipped is not None
    assert calibrated < 1.05 < 1.1 < shipped          # runs the fit recovers: a band of a few %


@pytest.mark.parametrize("manifest, said", [
    ('[[run]]\nplan = "plan.moe"\n', "run entry 1: `file` is missing or not a path"),
    ('plan = "plan.moe"\n[[run]]\nfile = "run1.json"\nset = "workload.rate=4"\n',
     "run entry 1: `set` is a string, not a list"),
    ('plan = "plan.moe"\n[[run]]\nfile = "run1.json"\nrun = 3\n', "`run` is not a run of `run1.json` (it holds 1)"),
    ('[run]\nfile = 1\n', "the manifest has no `[[run]]` entries"),
    ('{"run": [{"file": "run1.json"}]}', "run entry 1: `plan` is missing or not a path"),
    ("[[run]\n", "the manifest is not valid TOML or JSON"),
    ('plan = "plan.moe"\n[[run]]\nfile = "run1.json"\nstratgy = "tp 8"\n',
     "run entry 1: no key `stratgy` (did you mean `strategy`?)"),
    ('plann = "plan.moe"\n[[run]]\nfile = "run1.json"\n', "the manifest has no key `plann` (did you mean `plan`?)"),
])
def test_a_bad_manifest_is_located_in_it(synthetic, tmp_path, manifest, said):
    d, _ = synthetic
    path = d / "bad.toml"
    path.write_text(manifest)
    with pytest.raises(PlanError) as exc:
        jobs_of_manifest(path)
    (e,) = exc.value.diagnostics
    assert e.code == "E110" and said in e.message and e.span.source.path.endswith("bad.toml")


@pytest.mark.parametrize("manifest, line, column", [
    ('plan = "plan.moe"\n[[run]\n', 2, 6),                     # TOML: the parser's "line 2, column 6"
    ('{"run": [{"file": "run1.json",}]}', 1, 31),             # JSON: its offset
])
def test_a_manifest_that_does_not_parse_is_located_where_the_parser_stopped(tmp_path, manifest, line, column):
    (tmp_path / "m.toml").write_text(manifest)
    with pytest.raises(PlanError) as exc:
        jobs_of_manifest(tmp_path / "m.toml")
    (e,) = exc.value.diagnostics
    assert e.code == "E110" and (e.span.line, e.span.column) == (line, column), (e.message, e.span)


def test_the_manifest_is_read_as_a_run_file_is(tmp_path):
    (tmp_path / "m.toml").write_bytes(b'plan = "caf\xe9.moe"\n')
    with pytest.raises(PlanError) as exc:
        jobs_of_manifest(tmp_path / "m.toml")
    (e,) = exc.value.diagnostics
    assert e.message == "the manifest is not valid UTF-8 text" and not e.span.source.echo
    with pytest.raises(PlanError) as exc:
        jobs_of_manifest(tmp_path)
    (e,) = exc.value.diagnostics        # a directory: its manifest, or its runs with their plan
    assert e.message == "the manifest is a directory, not a regular file"
    assert e.hint.endswith(f"`dagc calibrate {tmp_path}/*.json --plan PLAN`")


def test_a_manifest_reads_only_beside_itself(synthetic, tmp_path):
    """A manifest naming a plan or a run file outside its directory is refused before that file is read, so
    nothing of it is ever echoed; `--allow-path` (allow_paths) lets one in."""
    d, _ = synthetic
    secret = tmp_path / "elsewhere" / "secret.moe"
    secret.parent.mkdir()
    secret.write_text("root:x:0:0:do-not-show\n")
    for entry, name in ((f'plan = "{secret}"\nfile = "run1.json"', "plan"),
                        (f'plan = "plan.moe"\nfile = "../{tmp_path.name}/elsewhere/secret.moe"', "file")):
        path = d / "m.toml"
        path.write_text(f"[[run]]\n{entry}\n")
        with pytest.raises(PlanError) as exc:
            jobs_of_manifest(path)
        (e,) = exc.value.diagnostics
        assert e.code == "E110" and f"run entry 1: `{name}` names a file outside the manifest's directory" in e.message
        assert "do-not-show" not in render(e)
    (d / "m.toml").write_text(f'[[run]]\nplan = "{secret}"\nfile = "run1.json"\n')
    with pytest.raises(PlanError) as exc:             # allowed: read as a plan, refused as one (not a plan)
        jobs_of_manifest(d / "m.toml", allow_paths=(secret.parent,))
    assert exc.value.diagnostics[0].code != "E110"
    # a link beside the manifest leading out: said as a link, the hint the directory it leads to (until 2026-12-03
    # `--allow-path` of the manifest's own directory, which changed nothing)
    (d / "linked.moe").symlink_to(secret)
    (d / "m.toml").write_text('[[run]]\nplan = "linked.moe"\nfile = "run1.json"\n')
    with pytest.raises(PlanError) as exc:
        jobs_of_manifest(d / "m.toml", allow_paths=(d,))
    (e,) = exc.value.diagnostics
    assert e.message == ("run entry 1: `plan` names `linked.moe`, which leads outside the manifest's directory through "
                         "a symbolic link") and "directory the link leads to" in (e.hint or "")
    assert "do-not-show" not in render(e)
    (d / "linked.moe").unlink()


def test_the_engine_line_says_the_terms_are_calibrated(synthetic):
    """The terminal's and report.md's engine sentence names the calibration its two terms come from."""
    from dagc.cost.cost_model import calibrated_by, engine_text
    from dagc.export.assumptions_md import assumptions_md
    d, cal = synthetic
    plan = load_plan_text(PLAN.format(p=512, g=128, r=4, s="tp 8") + 'calibration from "cal.json"\n', base_dir=d)
    assert calibrated_by(plan) == ("cal.json", 8, (), ())
    said = engine_text(plan.cluster, calibrated_by(plan))
    assert f"{cal.terms['step_s'] * 1e3:.4g} ms of host time per step" in said
    assert (f"its kernels {cal.terms['compute_time_scale']:.3g}× the profile's time where compute-bound and "
            f"{cal.terms['memory_time_scale']:.3g}× where memory-bound") in said
    assert said.endswith('its 5 terms fitted on 8 measured runs (calibration from "cal.json", docs/calibrate.md).')
    assert any("fitted on 8 measured runs" in line for line in assumptions_md(check(plan)[0]))
    own = load_plan_text(PLAN.format(p=512, g=128, r=4, s="tp 8"))
    assert calibrated_by(own) is None and "fitted on" not in engine_text(own.cluster, calibrated_by(own))
    assert "where compute-bound" not in engine_text(own.cluster)                # the profile's own times
    # a calibration whose runs moved no term (one run, say) does not claim a fit
    kept = plan.model_copy(update={"calibration": plan.calibration.model_copy(
        update={"runs": ("one",), "kept": tuple(TRUE)})})
    assert "no term fitted: its 1 measured run moves too few figures, and the engine's own stand" in \
        engine_text(kept.cluster, calibrated_by(kept))
    some = plan.model_copy(update={"calibration": plan.calibration.model_copy(update={"kept": ("step_s",)})})
    assert "the engine's own (the runs cannot tell it apart)" in engine_text(some.cluster, calibrated_by(some))


def test_a_file_written_before_the_time_scales_is_read_with_them_at_one(synthetic, tmp_path):
    """A calibration file of two terms (no `compute_time_scale`, `memory_time_scale`) is still read: its kernels
    at the profile's times, the scales said to be the engine's own."""
    from dagc.cost.cost_model import calibrated_by, engine_text
    d, _ = synthetic
    doc = json.loads((d / "cal.json").read_text())
    for name in ("compute_time_scale", "memory_time_scale"):
        del doc["terms"][name]
    doc["fit"]["kept"] = []
    (tmp_path / "old.json").write_text(json.dumps(doc))
    plan = load_plan_text(PLAN.format(p=512, g=128, r=4, s="tp 8") + 'calibration from "old.json"\n',
                          base_dir=tmp_path)
    t = plan.cluster.engine.terms
    assert (t.step_s, t.compute_time_scale, t.memory_time_scale) == (doc["terms"]["step_s"], 1.0, 1.0)
    assert calibrated_by(plan) == ("old.json", 8, ("compute_time_scale", "memory_time_scale"), ("older", "older"))
    assert engine_text(plan.cluster, calibrated_by(plan)).endswith(
        "`compute_time_scale` and `memory_time_scale` the engine's own (the file was written before them) "
        '(calibration from "old.json", docs/calibrate.md).')


@pytest.mark.parametrize("scale", [0.1, 6.0])
def test_a_time_scale_out_of_bounds_is_e109(synthetic, tmp_path, scale):
    d, _ = synthetic
    doc = json.loads((d / "cal.json").read_text())
    doc["terms"]["memory_time_scale"] = scale
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(PlanError) as exc:
        load_plan_text(PLAN.format(p=512, g=128, r=4, s="tp 8") + 'calibration from "bad.json"\n', base_dir=tmp_path)
    (e,) = exc.value.diagnostics
    assert e.code == "E109" and "terms.memory_time_scale" in e.message


def _linear_runs(a: list[float], b: list[float], p: list[float]):
    """An engine whose run i has TPOT = step_s + c·a_i + m·b_i and TTFT = frontend_s + c·p_i (ms): `evaluate` of
    the fit, and the runs' figures at given terms."""
    def figures(t: dict) -> list[dict]:
        c, m = t["compute_time_scale"], t["memory_time_scale"]
        out = []
        for ai, bi, pi in zip(a, b, p, strict=True):
            tpot = t["step_s"] * 1e3 + c * ai + m * bi
            out.append({"tpot_ms": tpot, "ttft_ms": t["frontend_s"] * 1e3 + c * pi, "output_tokens_per_s": 1e4 / tpot})
        return out
    return figures


START = {"step_s": 2e-3, "frontend_s": 10e-3, "compute_time_scale": 1.0, "memory_time_scale": 1.0,
         "step_request_s": 0.0}                  # the linear engine has no host time per request: it moves nothing


def test_the_joint_fit_recovers_known_terms_of_a_linear_engine_and_leaves_each_run_out():
    from dagc.calibrate.solve import fit_terms
    figures = _linear_runs([4.0, 8.0, 2.0, 6.0, 1.0, 9.0], [6.0, 3.0, 10.0, 2.0, 12.0, 5.0],
                           [30.0, 80.0, 20.0, 60.0, 120.0, 40.0])
    truth = {"step_s": 3e-3, "frontend_s": 40e-3, "compute_time_scale": 1.3, "memory_time_scale": 0.8}
    measured = figures(truth)
    fit = fit_terms(figures, measured, [True] * 6, START)
    # within the fit's tolerance: it stops when no term would move more than 5 µs of step_s (0.17 % of 3 ms)
    # the linear engine has no host time per request: it moves no run, and keeps its start
    assert fit.kept == ("step_request_s",) and fit.why_kept == {"step_request_s": "few"}
    assert all(fit.terms[k] == pytest.approx(v, rel=2e-3) for k, v in truth.items())
    # a run far off (its TTFT 3× the others' law) pulls a term little (Huber: its pull is bounded), and each
    # left-out run is predicted by the others' fit
    off = [dict(m) for m in measured]
    off[5]["ttft_ms"] *= 3
    fit = fit_terms(figures, off, [True] * 6, START)
    assert fit.terms["frontend_s"] == pytest.approx(40e-3, rel=0.05)
    assert fit.left_out(5)["ttft_ms"] == pytest.approx(measured[5]["ttft_ms"], rel=0.02)    # the law, not 3×
    assert fit.left_out(0)["tpot_ms"] == pytest.approx(measured[0]["tpot_ms"], rel=0.01)


def test_a_term_the_runs_cannot_tell_apart_keeps_the_engine_s_value():
    from dagc.calibrate.solve import fit_terms
    # every run's decode reads the same share of compute and memory: the two scales move TPOT alike, and no TTFT
    # is fitted (offline bursts): frontend_s moves no fitted figure
    figures = _linear_runs([4.0, 8.0, 2.0, 6.0], [4.0, 8.0, 2.0, 6.0], [0.0, 0.0, 0.0, 0.0])
    measured = figures({**START, "compute_time_scale": 1.5, "memory_time_scale": 1.5})
    fit = fit_terms(figures, measured, [False] * 4, START)
    assert set(fit.kept) == {"frontend_s", "memory_time_scale", "step_request_s"} and fit.moved["frontend_s"] == 0
    assert fit.terms["frontend_s"] == START["frontend_s"] and fit.terms["memory_time_scale"] == 1.0
    # the identified terms still meet the runs: TPOT as measured
    assert all(x["tpot_ms"] == pytest.approx(m["tpot_ms"], rel=1e-3) for x, m in zip(fit.at, measured, strict=True))
    # two runs move no term (one run more than terms, three runs at least)
    two = fit_terms(figures, measured[:2], [True] * 2, START)
    assert two.kept == ("step_s", "frontend_s", "compute_time_scale", "memory_time_scale", "step_request_s")
    assert dict(two.terms) == START


def test_the_terms_stay_within_their_bounds():
    from dagc.calibrate.solve import BOUNDS, fit_terms
    figures = _linear_runs([4.0, 8.0, 2.0, 6.0, 3.0], [6.0, 3.0, 10.0, 2.0, 7.0], [30.0, 80.0, 20.0, 60.0, 50.0])
    measured = [{k: v * 20 if k != "output_tokens_per_s" else v / 20 for k, v in m.items()} for m in figures(START)]
    fit = fit_terms(figures, measured, [True] * 5, START)
    for name, (low, high) in BOUNDS.items():
        assert low <= fit.terms[name] <= high, name
    assert fit.terms["compute_time_scale"] == 5.0           # 20× slower than profiled: the scale stops at 5


def test_the_time_scales_multiply_each_compute_op_by_how_bound_it_is():
    """`compute_time_scale` multiplies a compute-bound op's time, `memory_time_scale` a memory-bound one's, blended
    by the op's roofline share of compute; a collective is not scaled; at 1 and 1 every time is the profile's."""
    import dataclasses

    import numpy as np

    from dagc.cost.cost import template_time_s
    from dagc.cost.cost_model import CostModel
    from dagc.ir.dag import Kernel, KernelClass, OpKind, OpTemplate
    from dagc.plan.model import DType
    plan = load_plan_text(PLAN.format(p=512, g=128, r=4, s="tp 8"))
    plain = CostModel.from_cluster(plan.cluster)
    terms = plan.cluster.engine.terms.model_copy(update={"compute_time_scale": 2.0, "memory_time_scale": 0.5})
    scaled = CostModel.from_cluster(plan.cluster.model_copy(update={"engine": plan.cluster.engine.model_copy(
        update={"terms": terms})}))
    assert (scaled.compute_time_scale, scaled.memory_time_scale) == (2.0, 0.5)
    one = np.ones(2)

    def op(flops: float, hbm: float) -> OpTemplate:
        k = Kernel("norm", KernelClass.MEMORY, (np.full(2, 4096.0),))
        return OpTemplate(OpKind.NORM, None, 1, one, one * flops, one * hbm, 0 * one, one, 2, 2 * flops, 2 * hbm, 0,
                          kernels=(k,))
    compute_bound, memory_bound = op(1e15, 1.0), op(1.0, 1e12)
    assert template_time_s(compute_bound, scaled) == pytest.approx(2.0 * template_time_s(compute_bound, plain))
    assert template_time_s(memory_bound, scaled) == pytest.approx(0.5 * template_time_s(memory_bound, plain))
    # half its roofline time compute, half memory: the mean of the two
    tc = plain.peak_flops(DType.BF16) * 1e-3
    half = op(tc, plain.hbm_bytes_per_s * 1e-3)
    assert template_time_s(half, scaled) == pytest.approx(1.25 * template_time_s(half, plain))
    collective = dataclasses.replace(compute_bound, kind=OpKind.ALL_REDUCE, group_size=2, comm_bytes=one * 1e6,
                                     comm_bytes_total=2e6, kernels=())
    assert template_time_s(collective, scaled) == pytest.approx(template_time_s(collective, plain))


def test_slopes_carried_to_a_step_are_the_slopes_there_where_figures_are_sums_of_times():
    from dagc.calibrate.solve import PROBE, TERMS, _carried, to_terms, to_v
    figures = _linear_runs([4.0, 8.0, 2.0], [6.0, 3.0, 10.0], [30.0, 80.0, 20.0])
    rows = tuple((i, k, 1.0) for i in range(3) for k in ("tpot_ms", "ttft_ms", "output_tokens_per_s"))

    def slopes(v):       # d ln figure / d v, by central differences of a millionth of a probe
        out = []
        for j in range(len(TERMS)):
            up, down = v.copy(), v.copy()
            up[j] += 1e-6
            down[j] -= 1e-6
            hi, lo = figures(to_terms(up)), figures(to_terms(down))
            out.append([math.log(hi[i][k] / lo[i][k]) / 2e-6 for i, k, _ in rows])
        return np.array(out).T

    truth = {"step_s": 3e-3, "frontend_s": 40e-3, "compute_time_scale": 1.3, "memory_time_scale": 0.8,
             "step_request_s": 0.0}
    v0, v1 = to_v(START), to_v(truth)
    carried = _carried(slopes(v0), rows, figures(START), figures(truth), v1 - v0)
    assert carried == pytest.approx(slopes(v1), rel=1e-6, abs=1e-9)
    assert PROBE["step_s"] == 1e-3 and carried[0, 0] == pytest.approx(1.0 / figures(truth)[0]["tpot_ms"], rel=1e-6)


def test_the_summary_says_a_term_stopped_at_its_bound():
    """A multiplier the fit pinned at its bound is not read as an ordinary fit: the summary says the runs would
    take it further; one run is "1 run"."""
    from dagc.calibrate.solve import BOUNDS
    from dagc.cli.calibrate_cmd import _how
    low, high = BOUNDS["compute_time_scale"]
    assert _how("compute_time_scale", low, 6, False).startswith(
        "fitted on 6 runs; at its lower bound, 0.200×: the runs would take it further")
    assert "upper bound, 5.000×" in _how("compute_time_scale", high, 6, False)
    assert _how("compute_time_scale", 1.3, 6, False) == "fitted on 6 runs"
    assert _how("step_s", 0.003, 1, True) == "kept: it moves the figures of 1 run, fewer than 3"


def test_bands_need_the_ledger_s_runs_not_figures(synthetic, tmp_path):
    """A calibration's own band needs 8 runs with a figure of the quantity (the ledger's minimum), not 8 figures:
    3 runs with 24 TTFT residuals keep the ledger's band, widened to the calibration's errors, and say so."""
    from dagc.verdict.ledger import ledger, regime_of
    d, _ = synthetic
    doc = json.loads((d / "cal.json").read_text())
    plan_text = PLAN.format(p=512, g=128, r=4, s="tp 8") + 'calibration from "cal.json"\n'
    eight = load_plan_text(plan_text, base_dir=d)
    assert eight.calibration.quantity_runs == {"ttft": 8, "tpot": 8, "e2e": 8, "throughput": 8}
    assert ledger().min_runs == 8
    doc["runs"] = doc["runs"][:3]                        # 3 runs, every residual kept: 24 of TTFT, 48 of TPOT
    (tmp_path / "cal.json").write_text(json.dumps(doc))
    three = load_plan_text(plan_text, base_dir=tmp_path)
    assert three.calibration.quantity_runs["ttft"] == 3 and len(three.calibration.residuals["ttft"]) == 24
    own = bands_of(check(eight)[0]).figures["ttft_s"]
    b = bands_of(check(three)[0]).figures["ttft_s"]
    assert own.regime == "calibration=cal.json quantity=ttft" and own.runs == 8
    book = ledger().errors(regime_of(three), "ttft")
    assert b.regime == book.regime and b.runs == book.runs
    assert b.note.startswith("calibration `cal.json` has 3 runs with a ttft figure, fewer than 8: the ledger's band, "
                             "widened to the calibration's errors")
    low, high = book.band(b.value)
    ratio = own.high / own.low                          # the calibration's own band, about the same figure
    assert b.low <= low and b.high >= high and b.high / b.low >= ratio


def test_w541_names_the_run_a_term_at_its_bound_leaves_furthest_off(synthetic):
    """`dagc calibrate`'s W541: a fitted term at its bound, located at the run's figure it leaves furthest off."""
    import dataclasses

    from dagc.calibrate.bound import at_bound_warnings
    _, cal = synthetic
    pinned = dataclasses.replace(cal.fit, terms={**cal.fit.terms, "compute_time_scale": 5.0})
    (w,) = at_bound_warnings(cal.jobs, pinned)
    at = pinned.at_bound()["compute_time_scale"]
    run = cal.jobs[at.run].run
    assert w.code == "W541" and w.severity.value == "warning"
    assert w.message.startswith("`compute_time_scale` stopped at its upper bound, 5.000×: the runs would take it "
                                f"further, which dagc does not follow; run `{run.id}`'s `")
    assert w.span.source.path == run.src.path                           # at the figure's field in the run file
    assert w.span.text == f'"{run.fields.get(at.key, at.key)}"' and w.span.text.startswith(('"mean_', '"median_'))
    assert w.hint.startswith("likelier than such an engine: a run that differs from its plan")
    assert not at_bound_warnings(cal.jobs, cal.fit)
    # how far off, as the summary's errors are: |dagc − measured| / measured, not the fit's log residual
    m, x = run.measured[at.key], pinned.at[at.run][at.key]
    assert f"is still {abs(x / m - 1):,.0%} from dagc's there".replace("%", " %") in w.message, w.message
    # a run 70.4 times dagc's figure (a user's TPOT of 0.1 ms against dagc's 7.04): 6,940 %, not ln 70.4 = 425 %
    figures = list(pinned.at)
    figures[at.run] = {**figures[at.run], at.key: 70.4 * m}
    (far,) = at_bound_warnings(cal.jobs, dataclasses.replace(pinned, at=type(pinned.at)(figures)))
    assert "is still 6,940 % from dagc's there" in far.message, far.message


def test_w542_hint_is_whole_and_lists_its_terms_as_a_sentence():
    """Five fitted terms: the hint names them `a`, `b` … and `e` and ends with the quantity, never cut short."""
    from dagc.rules.calibration import calibration_worse
    from dagc.source import SourceFile

    src = SourceFile("rate12.json", '{"total_token_throughput": 1}')
    terms = ["step_s", "frontend_s", "compute_time_scale", "memory_time_scale", "step_request_s"]
    d = calibration_worse("throughput", (7.7, 9.2, 9.1), "`rate12.json`'s `total_token_throughput`", src.span(1, 2),
                          terms)
    assert d.code == "W542" and "…" not in d.hint and d.hint.endswith("whose verdict rests on throughput")
    assert ("the fit's `step_s`, `frontend_s`, `compute_time_scale`, `memory_time_scale` and `step_request_s` leave "
            "throughput further off and no quantity closer: ") in d.hint
    assert " and ".join(f"`{t}`" for t in terms[:2]) not in d.hint
    assert "…" not in render(d)
