"""`dagc calibrate`: the engine's terms fitted on the user's own benchmark runs (docs/calibrate.md).

Input: measured runs as vLLM, SGLang and AIPerf / genai-perf write them (`runs`), each with the plan it measured
(`manifest`). Output: a calibration (`calibrate.calibrate`) and its file's document, which a plan names with
`calibration from "FILE"` (`dagc.lang.calibration`): its engine's `step_s`, `frontend_s`, `step_request_s` and
kernel-time multipliers, and its bands from
the calibration's cross-validated residuals (`dagc.verdict.bands`).

Modules, in the order data flows: `measured` (the run type), `run_fields` and `runs` (run files), `match` (a run
against its plan), `figures` (dagc's figures of a run), `fit` (one term's robust fit, bench/fit_engine_terms.py's),
`select` (which terms the runs tell apart), `sets` and `stages` (a fit of all the candidates at once, or of runs
too few for them in stages), `solve` (the five terms' fit), `crossval` (which of the fitted terms, and how far, the
runs left out call for), `calibrate` (the fit, the choice and the cross-validation),
`manifest` (what the command reads).
"""
