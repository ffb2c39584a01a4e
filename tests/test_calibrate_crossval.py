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
    (tests/test_calibrate_select.py): the fit — those two terms and vLLM's host time per request, which the runs
    were made with — predicts each run left out within 2 %, the engine's own terms 40 ms of TTFT off. The choice
    takes the two terms the runs were made with, all the way: the host time per request fitted too (48.6 µs for
    vLLM's 49.7) predicts the runs left out no better, and keeps the engine's own value. The file says so, and its
    residuals are the choice's."""
    from test_calibrate_select import _jobs

    from dagc.calibrate.calibrate import calibrate
    from dagc.cli.calibrate_cmd import Kept, _how
    cal = calibrate(_jobs([2.0, 4.0, 8.0, 16.0]))
    chosen = cal.document()["fit"]["chosen"]
    assert chosen["terms"] == ["frontend_s", "memory_time_scale"] == list(cal.fit.fitted) and chosen["share"] == 1.0
    assert chosen["folds"] == 4 and chosen["margin"] == 0.8 and chosen["median_ratio"] < 0.01
    assert chosen["loss"] < 0.5 * chosen["loss_uncalibrated"]
    assert chosen["candidates"][0]["terms"] == ["frontend_s", "memory_time_scale", "step_request_s"]
    assert chosen["candidates"][-1] == {"terms": [], "share": 1.0, "loss": chosen["loss_uncalibrated"],
                                        "median_ratio": 1.0}
    assert cal.fit.why_kept["step_request_s"] == "cv"
    assert cal.cross_validates and max(abs(e) for e in cal.errors("cross_validated")["ttft"]) < 0.02
    assert _how("step_request_s", 1.0, 4, True, Kept("cv", 4, ())).startswith(
        "kept (the engine's own value): the terms without it predicted the runs left out best")


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


def test_a_term_fitted_on_one_runs_error_is_not_taken():
    """One run of four 2 % slow, the others exact, r0 = (0.02, 0, 0, 0), and a step's time moving each run's TPOT
    by 1 per ms: the fit takes step_s 0.005 ms down (x = −mean(r0)), which leaves the three exact runs 0.5 % off. Out
    of sample: without run 0 the others say x = 0 and run 0 is predicted at 0.02; without any other run, x =
    −0.02 / 3 and that run is predicted at −0.00667 — worse than the engine's own 0. The fit's cross-validated loss
    ½ (0.02² + 3 · 0.00667²) = 0.00026667 is above the engine's own terms' ½ · 0.02² = 0.0002, and so is every share
    of the way (run 0 stays at 0.02, the others at −0.00667 · share). The fit used to stand unless another candidate
    predicted the runs left out twice as well; now the engine's own terms are kept: no left-out run is worse."""
    r0 = [0.02, 0.0, 0.0, 0.0]
    fit = _linear_fit(r0, ("step_s",), np.ones((4, 1)))
    assert fit.terms["step_s"] == pytest.approx(2e-3 - 0.005e-3)
    cv = choose_by_cv(fit, np.array(r0))
    assert cv.tried[0].names == ("step_s",) and cv.tried[0].loss == pytest.approx(0.00026667, rel=1e-4)
    assert cv.uncalibrated == pytest.approx(0.0002)
    assert cv.names == () and cv.terms == pytest.approx(OWN) and cv.residuals == pytest.approx(r0)


def test_the_choice_keeps_the_term_the_runs_left_out_need_and_drops_the_one_they_do_not():
    """A step's time moves every run's TPOT by 1 per ms, the memory multiplier by (1, −1, 1, −1) per 10 %; the runs
    are 2 % slow (a step's time) and run 0 1 % more (noise): r0 = (0.03, 0.02, 0.02, 0.02), whose losses at the
    engine's own terms are ½ r0² = (0.00045, 0.0002, 0.0002, 0.0002). The fit of both: step_s x = −mean(r0) =
    −0.0225, memory y = −Σ m·r0 / 4 = −0.0025 (the columns are orthogonal). Each run left out, by hand:

    - both terms: run 0 from runs 1-3 (exact at x = −0.02, y = 0): 0.01; run 1 from 0, 2, 3 (x + y = −0.025,
      x − y = −0.02): 0; run 2 from 0, 1, 3 (x + y = −0.03): −0.01; run 3: 0 — loss ½ (0.01² + 0.01²) = 0.0001,
      ratios to the engine's own (0.111, 0, 0.25, 0), median 0.0556;
    - step_s alone: run 0 at 0.03 − 0.02 = 0.01, the others at 0.02 − 0.07 / 3 = −0.00333 — loss ½ (0.0001 + 3 ·
      0.00333²) = 0.00006667, ratios (0.111, 0.0278, 0.0278, 0.0278), median 0.0278; ¾ of the way: run 0 at
      0.015, the others at 0.02 − 0.0175 = 0.0025, ratios (0.25, 0.015625 three times), median 0.015625, the least;
    - the memory multiplier alone predicts every run further off than the engine's own terms (run 0 at 0.0367,
      the others 0.03, 0.0233, 0.03): ratios above 1 at every share.

    step_s is taken ¾ of the way (2 ms − ¾ · 0.0225 ms = 1.983125 ms), the memory multiplier kept: the typical run
    left out is predicted 64 times better than without a calibration. The fit of both used to stand (the step alone
    did not halve its loss of 0.0001)."""
    r0 = [0.03, 0.02, 0.02, 0.02]
    fit = _linear_fit(r0, ("step_s", "memory_time_scale"), np.array([[1.0, 1.0], [1.0, -1.0], [1.0, 1.0],
                                                                    [1.0, -1.0]]))
    cv = choose_by_cv(fit, np.array(r0))
    assert (cv.names, cv.share) == (("step_s",), 0.75)
    got = {(c.names, c.share): (c.loss, c.ratio) for c in cv.tried}
    assert got[(("step_s", "memory_time_scale"), 1.0)] == pytest.approx((0.0001, 0.05556), rel=1e-3)
    assert got[(("step_s",), 1.0)] == pytest.approx((0.00006667, 0.02778), rel=1e-3)
    assert got[(("step_s",), 0.75)][1] == pytest.approx(0.015625)
    assert all(got[(("memory_time_scale",), s)][1] > 1 for s in (0.25, 0.5, 0.75, 1.0))
    assert got[((), 1.0)] == (pytest.approx(0.00105), 1.0) and cv.uncalibrated == pytest.approx(0.00105)
    assert cv.ratio == pytest.approx(0.015625)
    assert cv.terms["step_s"] == pytest.approx(1.983125e-3) and cv.terms["memory_time_scale"] == 1.0
    assert cv.residuals == pytest.approx([0.015, 0.0025, 0.0025, 0.0025])
