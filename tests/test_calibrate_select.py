"""Which terms a calibration of few runs fits: the runs decide, not the order alone (a front end and a memory-bound
multiplier recovered from 3 and 4 runs dagc made with them), and a term at its bound names its likelier cause."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_calibrate import PLAN, START, _linear_runs

from dagc.calibrate.calibrate import Job, calibrate
from dagc.calibrate.figures import dagc_figures
from dagc.calibrate.manifest import jobs_of_manifest
from dagc.calibrate.measured import MeasuredRun
from dagc.calibrate.solve import TERMS, JointFit, fit_terms
from dagc.lang.load import load_plan_text
from dagc.plan.engines import VLLM_FRONTEND_S, VLLM_STEP_REQUEST_S, VLLM_STEP_S
from dagc.source import SourceFile

# the user's runs: TTFT 40 ms above vLLM's own figure in each (a front end), decode's memory-bound time 1.3 times
# the profile's; the step's host time and the compute-bound kernels the engine's own
KNOWN = {"step_s": VLLM_STEP_S, "frontend_s": VLLM_FRONTEND_S + 40e-3, "compute_time_scale": 1.0,
         "memory_time_scale": 1.3}


def _jobs(rates: list[float]) -> list[Job]:
    """Runs of 100 requests of 512 + 128 tokens at each rate, whose figures are dagc's at `KNOWN`."""
    jobs = []
    for r in rates:
        plan = load_plan_text(PLAN.format(p=512, g=128, r=r, s="tp 8"))
        f, why = dagc_figures(plan, KNOWN)
        assert why is None
        run = MeasuredRun(f"rate{r:g}.json", f"rate{r:g}.json", "vllm", SourceFile(f"rate{r:g}.json", "", echo=False),
                          0, 0, 100, r, None, 512.0, 128.0, {k: v for k, v in f.items() if not k.startswith("input")})
        jobs.append(Job(run, plan, "plan.moe"))
    return jobs


@pytest.mark.parametrize("rates", [[2.0, 4.0, 8.0], [2.0, 4.0, 8.0, 16.0]])
def test_few_runs_recover_a_front_end_and_a_memory_multiplier_within_two_percent(rates):
    """3 runs fit 2 terms at once, 4 runs 3: too few for the 5, so each term is fitted first on the quantity that
    identifies it — the decode step's on TPOT, the front end on TTFT — and then all together. The front end the
    runs' TTFT shows is the front end's, not the compute multiplier's (which, fitted with the memory multiplier on
    every quantity at once, stopped at its bound, 5×, the front end's 40 ms unexplained)."""
    cal = calibrate(_jobs(rates))
    for name, value in KNOWN.items():
        assert cal.terms[name] == pytest.approx(value, rel=0.02), name
    # the engine's own host time per request, fitted too: 1 µs of it moves a TPOT of ~10 ms by at most the ~20
    # requests of a step, 0.2 %; the runs tell it within 3 % (4 runs: 48.6 µs for 49.7 µs)
    assert cal.terms["step_request_s"] == pytest.approx(VLLM_STEP_REQUEST_S, rel=0.03)
    # 3 runs are not cross-validated (a fold leaves 2): the fit is taken. Of 4, each left out is predicted as well
    # without the host time per request as with it: the cross-validation keeps the engine's own, the runs' value
    dropped = ("step_request_s",) if len(rates) > 3 else ()
    assert cal.fit.fitted == tuple(t for t in ("frontend_s", "memory_time_scale", "step_request_s")
                                   if t not in dropped) and not cal.fit.at_bound()
    # runs at a few requests/s keep up: their throughput is the arrivals', no term moves it, no stage of it
    assert [(g.quantity, g.fitted) for g in cal.fit.stages] == [
        ("tpot", ("memory_time_scale", "step_request_s")), ("ttft", ("frontend_s",))]
    assert all(g.after < 0.01 * g.before for g in cal.fit.stages)
    assert cal.fit.why_kept == {"step_s": "room", "compute_time_scale": "room", **{t: "cv" for t in dropped}}
    before, after = cal.errors("before"), cal.errors("after")
    assert max(abs(e) for e in after["ttft"]) < 0.02 < min(abs(e) for e in before["ttft"])


def test_few_runs_fit_each_term_on_its_quantity_first():
    """An engine whose figures are linear in the terms, 3 runs: TPOT_i = step_s + c·a_i + m·b_i, TTFT_i =
    frontend_s + c·p_i (ms), output tokens/s 10⁴ / TPOT_i. The first set on TPOT is the two multipliers (both move
    it; 3 runs fit 2 terms): the TPOT stage fits `memory_time_scale`, the throughput stage `compute_time_scale`; on
    TTFT, where the memory multiplier moves nothing, the first set holding the front end is it and the compute
    multiplier: the TTFT stage fits `frontend_s`. `step_s` waits (3 runs fit 2 terms a quantity)."""
    figures = _linear_runs([4.0, 8.0, 2.0], [6.0, 3.0, 10.0], [30.0, 80.0, 20.0])
    # runs made with a front end of 50 ms and a memory multiplier of 1.3: TPOT 2 + 4 + 7.8 = 13.8 ms, 2 + 8 + 3.9
    # = 13.9 ms, 2 + 2 + 13 = 17 ms; TTFT 50 + 30 = 80 ms, 130 ms, 70 ms — every term lands on them
    truth = {**START, "frontend_s": 50e-3, "memory_time_scale": 1.3}
    measured = figures(truth)
    assert [round(m["tpot_ms"], 6) for m in measured] == [13.8, 13.9, 17.0]
    assert [round(m["ttft_ms"], 6) for m in measured] == [80.0, 130.0, 70.0]
    fit = fit_terms(figures, measured, [True] * 3, START)
    assert [(g.quantity, g.fitted) for g in fit.stages] == [("tpot", ("memory_time_scale",)), (
        "throughput", ("compute_time_scale",)), ("ttft", ("frontend_s",))]
    assert fit.fitted == ("frontend_s", "compute_time_scale", "memory_time_scale")
    assert all(fit.terms[k] == pytest.approx(v, rel=0.02) for k, v in truth.items())
    assert fit.why_kept == {"step_s": "room", "step_request_s": "few"}
    # runs made with the two multipliers: the TPOT stage's memory multiplier alone (the compute one held at 1)
    # does not meet them, the refinement of the three terms together does
    scales = {**START, "compute_time_scale": 1.2, "memory_time_scale": 0.9}
    fit = fit_terms(figures, figures(scales), [True] * 3, START)
    assert fit.fitted == ("frontend_s", "compute_time_scale", "memory_time_scale")
    assert fit.stages[0].after > 0 and fit.history[-1] != fit.history[len(fit.history) // 2]
    assert all(fit.terms[k] == pytest.approx(v, rel=0.02) for k, v in scales.items())


def test_a_multiplier_a_stage_takes_to_its_bound_keeps_the_engines_own_value():
    """The linear engine's 3 runs made with a front end of 50 ms and a memory multiplier of 1.3, their throughput 20
    times below the engine's (an admission queue it does not model): the throughput stage would take the compute
    multiplier to its bound, 5× (TPOT 4·5 + … ms is still not 20 times its own), which no engine's kernels are. It
    is dropped from that stage and keeps its value, 1 — not 5 for the refinement to trade the runs' TPOT against —
    and the TPOT and TTFT stages fit theirs."""
    figures = _linear_runs([4.0, 8.0, 2.0], [6.0, 3.0, 10.0], [30.0, 80.0, 20.0])
    truth = {**START, "frontend_s": 50e-3, "memory_time_scale": 1.3}
    measured = [{**m, "output_tokens_per_s": m["output_tokens_per_s"] / 20} for m in figures(truth)]
    fit = fit_terms(figures, measured, [True] * 3, START)
    assert [(g.quantity, g.fitted) for g in fit.stages] == [("tpot", ("memory_time_scale",)), (
        "ttft", ("frontend_s",))]
    assert fit.fitted == ("frontend_s", "memory_time_scale") and fit.terms["compute_time_scale"] == 1.0
    assert fit.why_kept == {"step_s": "room", "compute_time_scale": "bound", "step_request_s": "few"}
    assert not fit.at_bound() and fit.terms["frontend_s"] == pytest.approx(50e-3, rel=0.02)
    # the refinement weighs the throughput, 20 times off, beside TPOT: the memory multiplier goes above the runs'
    # 1.3 (1.58), never to its bound
    assert 1.3 <= fit.terms["memory_time_scale"] < 2.0
    from dagc.cli.calibrate_cmd import Kept, _how
    assert _how("compute_time_scale", 1.0, 3, True, Kept("bound", 3, fit.fitted, staged=True)).startswith(
        "kept (the engine's own value): fitted on its quantity's figures alone it went to a bound of its range")


def test_a_term_at_its_bound_names_the_run_it_leaves_furthest_off():
    figures = _linear_runs([4.0, 8.0, 2.0, 6.0, 3.0], [6.0, 3.0, 10.0, 2.0, 7.0], [30.0, 80.0, 20.0, 60.0, 50.0])
    measured = [{k: v * 20 if k != "output_tokens_per_s" else v / 20 for k, v in m.items()} for m in figures(START)]
    fit = fit_terms(figures, measured, [True] * 5, START)
    at = fit.at_bound()
    assert at["compute_time_scale"].side == "upper" and at["compute_time_scale"].value == 5.0
    # every term that moves the runs was fitted (the linear engine has no host time per request): no term the runs
    # had no room for can take the rest
    assert at["compute_time_scale"].likelier is None and fit.kept == ("step_request_s",)
    w = np.array([x for _, _, x in fit.rows])
    n = next(i for i, (run, key, _) in enumerate(fit.rows) if (run, key) == (at["compute_time_scale"].run,
                                                                            at["compute_time_scale"].key))
    assert w[n] * abs(fit.r[n]) == pytest.approx(max(w * np.abs(fit.r)))


def test_a_term_at_its_bound_names_the_term_the_runs_had_no_room_for():
    """The compute multiplier at 5× leaves every TTFT 0.7 (ln) above: the front end, which 3 runs had no room to fit
    beside it, takes that rest; the step's host time, which moves no TTFT, does not."""
    rows = tuple((i, "ttft_ms", 1.0) for i in range(3))
    jac = np.zeros((3, 4))
    jac[:, TERMS.index("compute_time_scale")] = [0.010, 0.012, 0.011]
    jac[:, TERMS.index("frontend_s")] = [0.1, 0.1, 0.1]
    terms = {**START, "compute_time_scale": 5.0}
    fit = JointFit(terms, START, ("compute_time_scale",), dict.fromkeys(TERMS, 3), ({"ttft_ms": 1.0},) * 3, rows,
                   np.full(3, -0.7), jac, (), {"step_s": "room", "frontend_s": "room", "memory_time_scale": "room"})
    at = fit.at_bound()["compute_time_scale"]
    assert (at.side, at.value, at.likelier) == ("upper", 5.0, "frontend_s")
    alone = JointFit(terms, START, ("compute_time_scale",), dict.fromkeys(TERMS, 3), ({"ttft_ms": 1.0},) * 3, rows,
                     np.full(3, -0.7), jac, (), {"step_s": "room", "frontend_s": "few", "memory_time_scale": "room"})
    assert alone.at_bound()["compute_time_scale"].likelier is None


def test_the_summary_says_why_a_term_was_kept():
    from dagc.cli.calibrate_cmd import Kept, _how
    fitted = ("frontend_s", "memory_time_scale")
    assert _how("compute_time_scale", 1.0, 3, True, Kept("room", 3, fitted, False)) == (
        "kept: 3 runs fit 2 terms, and `frontend_s` and `memory_time_scale` explain them clearly better than the "
        "others")
    assert _how("step_s", 2.7e-3, 3, True, Kept("room", 3, ("compute_time_scale", "memory_time_scale"))).endswith(
        "`compute_time_scale` and `memory_time_scale` first (no other set explains them clearly better)")
    assert _how("step_s", 2.7e-3, 4, True, Kept("idle", 4, fitted)) == (
        "kept: fitting it beside `frontend_s` and `memory_time_scale` explains the runs no better")
    # fitted in stages, each term on its quantity: a term no stage's first set held waits, said so a user can
    # read it (it read "kept: 3 runs fit 2 terms a quantity, and no quantity's first terms held it (fitted: …)")
    assert _how("compute_time_scale", 1.0, 3, True, Kept("room", 3, ("frontend_s", "memory_time_scale"), True,
                                                         staged=True)) == (
        "kept (the engine's own value): the 3 runs were fitted one quantity at a time (TPOT, throughput, TTFT), up "
        "to 2 terms each, and no quantity's fit took it; they took `frontend_s` and `memory_time_scale`")
    assert _how("step_s", 2.7e-3, 8, True, Kept("alike", 8, fitted)) == (
        "kept: these runs cannot tell it apart from the terms fitted")


def test_three_vllm_runs_fit_a_front_end_not_a_compute_multiplier_at_its_bound():
    """3 vLLM runs of Qwen3-235B-A22B at 1, 2 and 3 requests/s (tests/data/calibrate-qwen235): every term on all
    their figures at once put `compute_time_scale` at its bound, 5× (W541), the runs' TTFT still 27 % off. In
    stages the TPOT stage fits the decode step's terms, the TTFT stage the front end (the runs kept up: no term
    moves their throughput), each lowering its quantity's loss, and the refinement of the three together lowers
    the loss of every fitted figure below the stages'."""
    cal = calibrate(jobs_of_manifest(Path(__file__).parent / "data" / "calibrate-qwen235" / "runs.toml"))
    assert [(g.quantity, g.fitted) for g in cal.fit.stages] == [
        ("tpot", ("memory_time_scale", "step_request_s")), ("ttft", ("frontend_s",))]
    assert all(g.after < g.before for g in cal.fit.stages)
    assert cal.fit.fitted == ("frontend_s", "memory_time_scale", "step_request_s")
    assert cal.terms["compute_time_scale"] == 1.0 and set(cal.fit.why_kept.values()) == {"room"}
    # the front end 108 ms (vLLM's own: 20 ms; its 4 ms a request on the front end's server kept beside it), the
    # memory-bound kernels 1.24 times the profile's
    assert cal.terms["frontend_s"] == pytest.approx(0.1081, rel=0.01)
    assert cal.terms["memory_time_scale"] == pytest.approx(1.239, rel=0.01)
    before, after = cal.errors("before"), cal.errors("after")

    def median(xs: list[float]) -> float:
        return float(np.median(np.abs(xs)))
    assert median(after["ttft"]) < 0.2 < 0.5 < median(before["ttft"])     # 55.9 % → 17.7 %
    assert median(after["tpot"]) < 0.06 < 0.15 < median(before["tpot"])   # 16.3 % → 5.0 %


def test_a_term_at_its_bound_names_a_figure_that_would_take_it_further():
    """`step_request_s` at its lower bound, 0 µs: run 0's TPOT is 5 % above the measured one (r = +0.05) and falls as
    the term falls (slope +0.02): it pulls the term down. Run 1's throughput is 7 % above it (r = +0.07) and rises as
    the term falls (slope −0.02): it would take the term up. The warning names run 0's TPOT, the figure that took the
    term to its bound; it named run 1's throughput, the furthest off of all (a new user's vLLM sweep: W541 at a
    throughput 7 % from dagc's, which a lower `step_request_s` moves further off)."""
    rows = ((0, "tpot_ms", 1.0), (1, "output_tokens_per_s", 1.0))
    jac = np.zeros((2, len(TERMS)))
    jac[:, TERMS.index("step_request_s")] = [0.02, -0.02]
    terms = {**START, "step_request_s": 0.0}
    fit = JointFit(terms, START, ("step_request_s",), dict.fromkeys(TERMS, 2), ({"tpot_ms": 1.0},) * 2, rows,
                   np.array([0.05, 0.07]), jac, ())
    at = fit.at_bound()["step_request_s"]
    assert (at.side, at.value, at.run, at.key) == ("lower", 0.0, 0, "tpot_ms")
    # at its upper bound, 5 ms, with both figures below the measured ones (r = −0.05, −0.07): the TPOT rises with the
    # term and would take it up, the throughput would take it down: the TPOT is named, not the throughput further off
    up = JointFit({**terms, "step_request_s": 5e-3}, START, ("step_request_s",), dict.fromkeys(TERMS, 2),
                  ({"tpot_ms": 1.0},) * 2, rows, np.array([-0.05, -0.07]), jac, ())
    at = up.at_bound()["step_request_s"]
    assert (at.side, at.run, at.key) == ("upper", 0, "tpot_ms")
