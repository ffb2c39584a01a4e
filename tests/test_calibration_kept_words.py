"""The engine sentence of a plan that reads a calibration (`dagc check`, report.md) says why each term it kept is the
engine's own as `dagc calibrate` said it — the file's `fit.kept_because` —, not "the runs cannot tell them apart"
for every kept term: a new user's calibration of six vLLM runs dropped both multipliers by cross-validation, which
the command said, while the check's sentence said the runs could not tell them apart."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from dagc.cost.cost_model import calibrated_by, engine_text
from dagc.lang.load import load_plan

FIXTURE = Path(__file__).parent / "fixtures" / "trial12" / "cal"


def _plan(tmp_path: Path, kept: list[str], because: dict[str, str] | None):
    shutil.copy(FIXTURE / "plan.moe", tmp_path / "plan.moe")
    cal = json.loads((FIXTURE / "cal.json").read_text())
    cal["fit"]["kept"] = kept
    if because is None:
        del cal["fit"]["kept_because"]
    else:
        cal["fit"]["kept_because"] = because
    (tmp_path / "cal.json").write_text(json.dumps(cal))
    plan = load_plan(tmp_path / "plan.moe", needs_strategy=False)
    return engine_text(plan.cluster, calibrated_by(plan))


def test_terms_dropped_by_cross_validation_are_said_so(tmp_path):
    said = _plan(tmp_path, ["compute_time_scale", "memory_time_scale"], {"compute_time_scale": "cv",
                                                                          "memory_time_scale": "cv"})
    assert said.endswith("`step_s`, `frontend_s` and `step_request_s` fitted on 3 measured runs, `compute_time_scale` "
                         "and `memory_time_scale` the engine's own (the terms without them predicted the runs left "
                         'out best: cross-validation) (calibration from "cal.json", docs/calibrate.md).')


def test_each_reason_is_said_of_its_terms(tmp_path):
    said = _plan(tmp_path, ["compute_time_scale", "memory_time_scale", "step_request_s"],
                 {"compute_time_scale": "few", "memory_time_scale": "room", "step_request_s": "bound"})
    assert said.endswith("`step_s` and `frontend_s` fitted on 3 measured runs, `compute_time_scale` the engine's own "
                         "(it moves the figures of too few runs), `memory_time_scale` the engine's own (too few runs "
                         "to fit it beside the others: no quantity's fit took it), `step_request_s` the engine's own "
                         "(fitted on its quantity alone it went to a bound of its range, which no engine's is) "
                         "(calibration from "
                         '"cal.json", docs/calibrate.md).')


def test_a_file_without_reasons_keeps_the_words_before(tmp_path):
    said = _plan(tmp_path, ["compute_time_scale"], None)
    assert "`compute_time_scale` the engine's own (the runs cannot tell it apart)" in said
