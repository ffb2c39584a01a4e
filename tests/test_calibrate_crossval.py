"""`dagc calibrate` chooses the terms it takes by cross-validation on its own runs (dagc.calibrate.crossval,
docs/calibrate.md "Chosen by cross-validation"): terms fitted on noise, which predict the runs left out worse than
the engine's own terms, are not taken; a term the runs really have is."""

from __future__ import annotations

import numpy as np
import pytest
from test_calibrate import START, _linear_runs

from dagc.calibrate.crossval import choose_by_cv, folds
from dagc.calibrate.solve import TERMS, JointFit, fit_terms

# three terms, each run's one figure (TPOT, weight 1) moved by them in probe units (1 ms of step_s, 10 % of a
# multiplier): run 0 by the first, run 1 by the second, run 2 by the third, run 3 by all three
NAMES = ("step_s", "compute_time_scale", "memory_time_scale")
SLOPES = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 1.0, 1.0]])
OWN = {"step_s": 2e-3, "frontend_s": 10e-3, "compute_time_scale": 1.0, "memory_time_scale": 1.0,
       "step_request_s": 50e-6}


def _linear_fit(r0: list[float], names: tuple[str, ...], slopes: np.ndarray) -> JointFit:
    """The least-squares fit (every residual within Huber's 0.05: squared) of a linear engine whose residuals
    ln(dagc / measured) are r0 + slopes · x, x the terms' moves from the engine's own in probe units."""
    r0_ = np.array(r0)
    x, *_ = np.linalg.lstsq(slopes, -r0_, rcond=None)
    jac = np.zeros((len(r0), len(TERMS)))
    for j, t in enumerate(names):
        jac[:, TERMS.index(t)] = slopes[:, j]
    terms = dict(OWN)
    probe = {"step_s": 1e-3, "compute_time_scale": 0.1, "memory_time_scale": 0.1}
    for t, move in zip(names, x, strict=True):
        terms[t] = OWN[t] + move * probe[t] if t == "step_s" else OWN[t] * float(np.exp(move * probe[t]))
    rows = tuple((i, "tpot_ms", 1.0) for i in range(len(r0)))
    return JointFit(terms, dict(OWN), names, {t: len(r0) for t in TERMS}, ({},) * len(r0), rows,
                    r0_ + slopes @ x, jac, ())


def test_terms_fitted_on_noise_keep_the_engines_own_values():
    """The runs are the engine's own terms but for noise, TPOT 1 % above dagc's in runs 0-2 and exact in run 3:
    r0 = (0.01, 0.01, 0.01, 0). Three terms fitted on four runs: by symmetry each moves x, the residuals 0.01 + x
    (three) and 3x, least squares 3 (0.01 + x) + 3 · 3x = 0: x = −0.0025, every residual ±0.0075 — the fit halves
    the loss in sample (½ · 4 · 0.0075² = 0.0001125 against ½ · 3 · 0.01² = 0.00015). Out of sample each left-out run
    is an extrapolation: without run 3 the terms meet runs 0-2 exactly (each −0.01) and predict run 3 at
    0 − 0.03 = −0.03; without run 0, step_s = −(r3 + … ) meets run 3 with the other two: run 0 predicted at
    0.01 + 0.01 + 0.01 − 0 = 0.03, and so runs 1 and 2. The fit's cross-validated loss is ½ · 4 · 0.03² = 0.0018,
    twelve times the engine's own (0.00015, fitted on nothing): the calibration takes no term."""
    fit = _linear_fit([0.01, 0.01, 0.01, 0.0], NAMES, SLOPES)
    assert fit.r == pytest.approx([0.0075, 0.0075, 0.0075, -0.0075])
    cv = choose_by_cv(fit, np.array([0.01, 0.01, 0.01, 0.0]))
    assert cv.tried[0].names == NAMES and cv.tried[0].loss == pytest.approx(0.0018)
    assert cv.uncalibrated == pytest.approx(0.00015)
    assert cv.names == () and cv.terms == pytest.approx(OWN)
    assert cv.residuals == pytest.approx([0.01, 0.01, 0.01, 0.0])       # the engine's own, exact
    assert cv.loss == pytest.approx(0.00015)


def test_a_term_the_runs_have_is_taken():
    """The runs made with step_s 0.02 ms below the engine's own: a step's time moves the four runs' TPOT by
    (0.5, 1, 1.5, 2) per ms, so r0 = (0.01, 0.02, 0.03, 0.04). The fit meets every run (x = −0.02), and so does
    each fit without one run: every run predicted exactly, cross-validated loss 0, against the engine's own
    ½ (0.01² + 0.02² + 0.03² + 0.04²) = 0.0015. step_s is taken, all the way, at 1.98 ms."""
    fit = _linear_fit([0.01, 0.02, 0.03, 0.04], ("step_s",), np.array([[0.5], [1.0], [1.5], [2.0]]))
    cv = choose_by_cv(fit, np.array([0.01, 0.02, 0.03, 0.04]))
    assert cv.names == ("step_s",) and cv.share == 1.0
    assert cv.terms["step_s"] == pytest.approx(1.98e-3) and cv.uncalibrated == pytest.approx(0.0015)
    assert cv.loss == pytest.approx(0.0, abs=1e-12) and cv.residuals == pytest.approx([0.0] * 4, abs=1e-9)
    # a share of the way leaves a share of r0: ¾ of the way ½ · 0.25² · 0.003 = 0.00009375
    assert next(c.loss for c in cv.tried if c.share == 0.75) == pytest.approx(0.00009375)


def test_the_linear_engines_runs_keep_a_real_front_end():
    """End to end through the fit (`fit_terms`): the linear engine's 4 runs (TPOT = step_s + c·a_i + m·b_i,
    TTFT = frontend_s + c·p_i ms) made with a front end 40 ms above the engine's own: the fit and the choice take
    it (50 ms)."""
    figures = _linear_runs([4.0, 8.0, 2.0, 6.0], [6.0, 3.0, 10.0, 2.0], [30.0, 80.0, 20.0, 60.0])
    measured = figures({**START, "frontend_s": 50e-3})
    fit = fit_terms(figures, measured, [True] * 4, START)
    r0 = np.array([np.log(x[k] / m[k]) for (i, k, _), x, m in
                   ((row, figures(START)[row[0]], measured[row[0]]) for row in fit.rows)])
    cv = choose_by_cv(fit, r0)
    assert "frontend_s" in cv.names and cv.terms["frontend_s"] == pytest.approx(50e-3, rel=0.02)


def test_folds():
    assert folds(4) == [[0], [1], [2], [3]]
    assert folds(25)[4] == [4, 14, 24] and len(folds(25)) == 10


def test_the_file_records_the_choice_and_the_summary_says_a_term_it_dropped():
    """Four runs dagc made with a front end 40 ms above vLLM's and a memory multiplier of 1.3
    (tests/test_calibrate_select.py): the fit predicts each run left out within 2 %, the engine's own terms 40 ms
    of TTFT off — the choice takes the fit, all the way, and the file says so; its residuals are the choice's."""
    from test_calibrate_select import _jobs

    from dagc.calibrate.calibrate import calibrate
    from dagc.cli.calibrate_cmd import Kept, _how
    cal = calibrate(_jobs([2.0, 4.0, 8.0, 16.0]))
    chosen = cal.document()["fit"]["chosen"]
    assert chosen["terms"] == list(cal.fit.fitted) and chosen["share"] == 1.0 and chosen["folds"] == 4
    assert chosen["loss"] < 0.5 * chosen["loss_uncalibrated"]
    assert chosen["candidates"][0] == {"terms": list(cal.fit.fitted), "share": 1.0, "loss": chosen["loss"]}
    assert cal.cross_validates and max(abs(e) for e in cal.errors("cross_validated")["ttft"]) < 0.02
    assert _how("memory_time_scale", 1.0, 4, True, Kept("cv", 4, ())).startswith(
        "kept (the engine's own value): the fit with it predicted the runs left out clearly worse")


def test_the_terms_the_choice_drops_are_kept_and_its_terms_simulated():
    """The noise of the first test: the calibration takes the engine's own terms — simulated there once more (a
    TPOT of 10 ms a run, measured 10 / e^r0 ms: residuals r0 again) — and says each fitted term kept by `cv`."""
    from dagc.calibrate.calibrate import _taken
    r0 = [0.01, 0.01, 0.01, 0.0]
    fit = _linear_fit(r0, NAMES, SLOPES)
    cv = choose_by_cv(fit, np.array(r0))
    asked = []

    def evaluate(terms):
        asked.append(dict(terms))
        return [{"tpot_ms": 10.0}] * 4
    measured = [{"tpot_ms": 10.0 / float(np.exp(r))} for r in r0]
    taken = _taken(fit, cv, evaluate, measured)
    assert asked == [OWN] and taken.terms == OWN and taken.fitted == ()
    assert taken.why_kept == {t: "cv" for t in NAMES} and taken.r == pytest.approx(r0)
    # the fit taken whole is the fit itself: nothing simulated again
    real = _linear_fit([0.01, 0.02, 0.03, 0.04], ("step_s",), np.array([[0.5], [1.0], [1.5], [2.0]]))
    assert _taken(real, choose_by_cv(real, np.array([0.01, 0.02, 0.03, 0.04])), evaluate, measured) is real
    assert len(asked) == 1
