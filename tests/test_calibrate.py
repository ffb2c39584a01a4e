"""dagc calibrate: known terms recovered from runs dagc made with them, the fit's arithmetic, the calibration file
read back by `calibration from`, its bands, W540 and E109, and the command."""

from __future__ import annotations

import json
import math
import subprocess

import pytest

from dagc.calibrate.calibrate import calibrate
from dagc.calibrate.figures import dagc_figures
from dagc.calibrate.fit import fit_term, left_out
from dagc.calibrate.manifest import jobs_of, jobs_of_manifest
from dagc.diagnostics import PlanError
from dagc.lang.calibration import CalibrationFile
from dagc.lang.load import load_plan, load_plan_text
from dagc.plan.engines import VLLM_FRONTEND_S, VLLM_STEP_S
from dagc.verdict.bands import bands_of
from dagc.verdict.check import check
from conftest import ROOT, run_dagc

PLAN = ('model preset "mixtral-8x7b"\ncluster {{ gpus = 8  gpu preset "h100-sxm"  engine = vllm }}\n'
        "workload {{ batch = 256  prompt = {p}  generate = {g}  serving = inflight  rate = {r} requests/s  "
        "requests = 100 }}\nstrategy tp 8\n")
TRUE = {"step_s": 3e-3, "frontend_s": 40e-3}
# (prompt, generate, rate) of each synthetic run
RUNS = [(512, 128, 2), (512, 128, 4), (512, 128, 8), (1024, 128, 4), (256, 256, 4), (512, 64, 6)]


def vllm_result(p: int, g: int, r: float, terms: dict) -> dict:
    """What `vllm bench serve --save-result` would write of a run whose figures are dagc's with `terms`."""
    f, why = dagc_figures(load_plan_text(PLAN.format(p=p, g=g, r=r)), terms)
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
    """Six runs dagc made with step_s = 3 ms and frontend_s = 40 ms, a manifest of them, and their calibration."""
    d = tmp_path_factory.mktemp("calibrate")
    (d / "plan.moe").write_text(PLAN.format(p=512, g=128, r=4))
    entries = []
    for i, (p, g, r) in enumerate(RUNS):
        (d / f"run{i}.json").write_text(json.dumps(vllm_result(p, g, r, TRUE)))
        entries.append(f'[[run]]\nfile = "run{i}.json"\nset = ["workload.prompt={p}", "workload.generate={g}", '
                       f'"workload.rate={r} requests/s"]\n')
    (d / "runs.toml").write_text('plan = "plan.moe"\n' + "\n".join(entries))
    cal = calibrate(jobs_of_manifest(d / "runs.toml"))
    (d / "cal.json").write_text(json.dumps(cal.document()))
    return d, cal


def test_known_terms_are_recovered_within_two_percent(synthetic):
    _, cal = synthetic
    assert cal.terms["step_s"] == pytest.approx(3e-3, rel=0.02)
    assert cal.terms["frontend_s"] == pytest.approx(40e-3, rel=0.02)
    assert cal.start == {"step_s": VLLM_STEP_S, "frontend_s": VLLM_FRONTEND_S}    # vLLM's own, where the fit began
    assert (cal.step.moved, cal.frontend.moved) == (6, 6) and not cal.step.kept
    before, cross = cal.errors("before"), cal.errors("cross_validated")
    # vLLM's own terms miss these runs' TTFT by a third; the cross-validated fit by under 5 % each
    assert statistics_median_abs(before["ttft"]) > 0.25
    assert max(abs(e) for e in cross["ttft"]) < 0.05 and max(abs(e) for e in cross["tpot"]) < 0.01


def statistics_median_abs(xs: list[float]) -> float:
    s = sorted(abs(x) for x in xs)
    return s[len(s) // 2]


def test_the_document_is_a_valid_calibration_file(synthetic):
    d, cal = synthetic
    doc = json.loads((d / "cal.json").read_text())
    f = CalibrationFile.model_validate(doc)
    assert (f.format, f.engine, f.release, f.gpu, f.gpus, f.model) == (1, "vllm", "0.33.0", "h100-sxm", 8,
                                                                        "mixtral-8x7b")
    assert [r.id for r in f.runs] == [f"run{i}.json" for i in range(6)]
    assert f.range.prompt == (256.0, 1024.0) and f.range.rate == (2.0, 8.0) and f.range.concurrency is None
    # each run's 3 TPOT and 3 ITL figures are the tpot quantity's: 36 residuals, each ln(dagc / measured)
    assert len(f.residuals["tpot"]) == 36 and len(f.residuals["ttft"]) == 18
    r0 = f.runs[0]
    assert f.residuals["ttft"][0] == pytest.approx(math.log(r0.cross_validated["ttft_ms"] / r0.measured["ttft_ms"]),
                                                   abs=1e-6)


def test_fit_of_an_exactly_linear_figure_and_its_left_out_values():
    # figure = 10 ms + 2 ms per ms of the term; measured at a term of 5 ms for runs 0–3, 50 ms for run 4
    truth = [5e-3, 5e-3, 5e-3, 5e-3, 50e-3]
    measured = [{"ttft_ms": 10.0 + 2e3 * t} for t in truth]

    def runs(n: int):
        return lambda terms: [{"ttft_ms": 10.0 + 2e3 * terms["frontend_s"]}] * n

    fit = fit_term(runs(5), measured, {"step_s": 0.0}, "frontend_s", 0.0)
    assert fit.value == pytest.approx(5e-3) and fit.moved == 5       # the outlier has no pull on a median
    assert left_out(fit, measured, [True] * 5, 4) == pytest.approx(5e-3)
    below = fit_term(runs(3), [{"ttft_ms": 1.0}] * 3, {"step_s": 0.0}, "frontend_s", 0.02)
    assert below.value == 0.0                                         # never negative
    kept = fit_term(runs(2), measured[:2], {"step_s": 0.0}, "frontend_s", 0.02)
    assert kept.kept and kept.value == 0.02                          # two runs do not move a term


def test_the_plan_statement_sets_the_terms_and_the_bands(synthetic):
    d, cal = synthetic
    plan = load_plan_text(PLAN.format(p=512, g=128, r=4) + 'calibration from "cal.json"\n'
                          "require { tpot <= 50 ms }\n", base_dir=d)
    assert plan.cluster.engine.terms.step_s == cal.terms["step_s"]
    assert plan.cluster.engine.terms.frontend_s == cal.terms["frontend_s"]
    assert plan.calibration is not None and plan.calibration.runs == tuple(f"run{i}.json" for i in range(6))
    assert plan.cluster.engine.terms.graph_sizes == load_plan_text(PLAN.format(p=1, g=1, r=1)).cluster.engine.terms \
        .graph_sizes                                                  # the other terms are the engine's
    result = check(plan)[0]
    b = bands_of(result)
    assert b.figures["tpot_s"].regime == "calibration=cal.json quantity=tpot"
    assert b.figures["load.ttft_s.p99"].regime == "calibration=cal.json quantity=ttft"
    assert b.figures["tpot_s"].runs == 6
    assert not [x for x in result.diagnostics if x.code == "W540"]
    from dagc.export.report import assumptions
    engine = assumptions(plan, None)["engine"]
    assert (engine["calibration"], engine["step_s"], engine["frontend_s"]) == ("cal.json", cal.terms["step_s"],
                                                                             cal.terms["frontend_s"])
    plain = bands_of(check(load_plan_text(PLAN.format(p=512, g=128, r=4)))[0])
    assert plain.figures["tpot_s"].regime.startswith("engine=vllm") or "quantity=tpot" in plain.figures["tpot_s"].regime
    assert not plain.figures["tpot_s"].regime.startswith("calibration")


def test_w540_when_the_plan_is_far_outside_the_runs(synthetic):
    d, _ = synthetic
    far = load_plan_text(PLAN.format(p=8192, g=128, r=40) + 'calibration from "cal.json"\n', base_dir=d)
    (w,) = [x for x in check(far)[0].diagnostics if x.code == "W540"]
    assert w.message == ("the plan is far outside the runs calibration `cal.json` was fitted on: prompt 8,192 "
                         "(runs 256–1,024); rate 40 (runs 2–8)")
    assert w.span.text == '"cal.json"'


def _e109(d, text: str) -> str:
    with pytest.raises(PlanError) as exc:
        load_plan_text(text + 'calibration from "cal.json"\n', base_dir=d)
    (e,) = [x for x in exc.value.diagnostics if x.code == "E109"]
    assert e.span is not None and e.span.text == '"cal.json"'
    return e.message


@pytest.mark.parametrize("edit, said", [
    (lambda doc: doc | {"gpu": "h200"}, "its GPU is `h200`, the plan's `h100-sxm`"),
    (lambda doc: doc | {"format": 2}, "has a format this dagc does not read"),
    (lambda doc: doc | {"terms": {"step_s": -1.0, "frontend_s": 0.01}}, "terms.step_s: Input should be greater"),
    (lambda doc: doc | {"residuals": {"tpot": [99.0]}}, "residuals: Value error, tpot: a residual is a finite"),
    (lambda doc: {k: v for k, v in doc.items() if k != "format"}, 'is not a dagc calibration (it has no "format")'),
])
def test_e109_names_the_field_or_what_differs(synthetic, tmp_path, edit, said):
    d, _ = synthetic
    (tmp_path / "cal.json").write_text(json.dumps(edit(json.loads((d / "cal.json").read_text()))))
    assert said in _e109(tmp_path, PLAN.format(p=512, g=128, r=4))


def test_e109_unreadable_files_never_echoed(tmp_path):
    text = PLAN.format(p=512, g=128, r=4)
    (tmp_path / "cal.json").write_text('{"format": 1, "secret": ')
    assert _e109(tmp_path, text) == "calibration `cal.json` is not valid JSON"
    (tmp_path / "cal.json").write_bytes(b" " * (1024 * 1024 + 1))
    assert "larger than 1,048,576 bytes" in _e109(tmp_path, text)
    (tmp_path / "cal.json").unlink()
    assert "does not exist" in _e109(tmp_path, text)
    (tmp_path / "cal.json").mkdir()
    assert "a directory" in _e109(tmp_path, text)


def test_the_statement_is_written_once(tmp_path):
    text = PLAN.format(p=512, g=128, r=4) + 'calibration from "a.json"\ncalibration from "b.json"\n'
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
    assert f"step_s = {own} (was {own}; kept: it moves the figures of 1 runs, fewer than 3)" in proc.stdout
    proc = dagc("calibrate", "runs.toml", "-o", str(tmp_path / "cal.json"), cwd=d)
    assert proc.returncode == 0, proc.stderr
    assert "step_s = 3.00" in proc.stdout and ("frontend_s = 39.9" in proc.stdout or "frontend_s = 40.0" in proc.stdout)
    assert json.loads((tmp_path / "cal.json").read_text())["format"] == 1
    again = dagc("calibrate", "runs.toml", "-o", str(tmp_path / "cal.json"), cwd=d)
    assert again.returncode == 5 and "--force" in again.stderr
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
    text = PLAN.format(p=512, g=128, r=4)
    calibrated = band_ratio(load_plan_text(text + 'calibration from "cal.json"\n', base_dir=d), "tpot")
    shipped = band_ratio(load_plan_text(text), "tpot")
    assert calibrated is not None and shipped is not None
    assert calibrated < 1.01 < 1.1 < shipped          # runs the fit recovers exactly: a band of under 1 %


@pytest.mark.parametrize("manifest, said", [
    ('[[run]]\nplan = "plan.moe"\n', "run entry 1: `file` is missing or not a path"),
    ('plan = "plan.moe"\n[[run]]\nfile = "run1.json"\nset = "workload.rate=4"\n', "`run entry 1: set` is not a list"),
    ('plan = "plan.moe"\n[[run]]\nfile = "run1.json"\nrun = 3\n', "`run` is not a run of `run1.json` (it holds 1)"),
    ('[run]\nfile = 1\n', "the manifest has no `[[run]]` entries"),
    ('{"run": [{"file": "run1.json"}]}', "run entry 1: `plan` is missing or not a path"),
    ("[[run]\n", "the manifest is not valid TOML or JSON"),
])
def test_a_bad_manifest_is_located_in_it(synthetic, tmp_path, manifest, said):
    d, _ = synthetic
    path = d / "bad.toml"
    path.write_text(manifest)
    with pytest.raises(PlanError) as exc:
        jobs_of_manifest(path)
    (e,) = exc.value.diagnostics
    assert e.code == "E110" and said in e.message and e.span.source.path.endswith("bad.toml")


def test_the_manifest_is_read_as_a_run_file_is(tmp_path):
    (tmp_path / "m.toml").write_bytes(b'plan = "caf\xe9.moe"\n')
    with pytest.raises(PlanError) as exc:
        jobs_of_manifest(tmp_path / "m.toml")
    (e,) = exc.value.diagnostics
    assert e.message == "the manifest is not valid UTF-8 text" and not e.span.source.echo
    with pytest.raises(PlanError) as exc:
        jobs_of_manifest(tmp_path)
    assert exc.value.diagnostics[0].message == "the manifest is not a regular file"


def test_the_engine_line_says_the_terms_are_calibrated(synthetic):
    """The terminal's and report.md's engine sentence names the calibration its two terms come from."""
    from dagc.cost.cost_model import calibrated_by, engine_text
    from dagc.export.assumptions_md import assumptions_md
    d, cal = synthetic
    plan = load_plan_text(PLAN.format(p=512, g=128, r=4) + 'calibration from "cal.json"\n', base_dir=d)
    assert calibrated_by(plan) == ("cal.json", 6, ())
    said = engine_text(plan.cluster, calibrated_by(plan))
    assert f"{cal.terms['step_s'] * 1e3:.4g} ms of host time per step" in said
    assert said.endswith('the two terms fitted on 6 measured runs (calibration from "cal.json", docs/calibrate.md).')
    assert any("fitted on 6 measured runs" in line for line in assumptions_md(check(plan)[0]))
    own = load_plan_text(PLAN.format(p=512, g=128, r=4))
    assert calibrated_by(own) is None and "fitted on" not in engine_text(own.cluster, calibrated_by(own))
    # a calibration whose runs moved neither term (one run, say) does not claim a fit
    kept = plan.model_copy(update={"calibration": plan.calibration.model_copy(
        update={"runs": ("one",), "kept": ("step_s", "frontend_s")})})
    assert "no term fitted: its 1 measured run moves too few figures, and the engine's own stand" in \
        engine_text(kept.cluster, calibrated_by(kept))
