"""W542 fires on a quantity a calibration leaves further off by 1 percentage point and a tenth of its uncalibrated
median |error|, or more (dagc.calibrate.worse): until 2026-12-02 any change the summary showed fired it, and a new
user's three gpt-oss-120b runs, throughput 0.1 % → 0.4 % off while TPOT went 26.4 % → 20.9 %, were told to leave the
calibration out of throughput verdicts."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from dagc.calibrate.worse import worse_warnings
from dagc.source import SourceFile

SRC = SourceFile("run.json", '{"tpot_ms": 1, "output_tokens_per_s": 1}')


class Stub:
    """A calibration of one run as `worse_warnings` reads it: the median |error| of each quantity before and after
    the fit (one figure each), not cross-validated."""

    cross_validates = False

    def __init__(self, before: dict[str, float], after: dict[str, float]) -> None:
        keys = {"tpot": "tpot_ms", "throughput": "output_tokens_per_s"}
        measured = {keys[q]: 100.0 for q in before}
        run = SimpleNamespace(measured=measured, id="run.json", fields={}, span=lambda key: SRC.span(1, 9))
        self.jobs = [SimpleNamespace(run=run)]
        self.before = [{keys[q]: 100.0 * (1 + e) for q, e in before.items()}]
        self.after = [{keys[q]: 100.0 * (1 + e) for q, e in after.items()}]
        self.fit = SimpleNamespace(fitted=("memory_time_scale",))
        self._errors = {"before": before, "after": after, "cross_validated": after}

    def errors(self, which: str) -> dict[str, list[float]]:
        return {q: [e] for q, e in self._errors[which].items()}


@pytest.mark.parametrize("before, after", [
    (0.001, 0.004),          # the new user's throughput: 0.3 points
    (0.547, 0.553),          # tests/fixtures/trial72's TTFT: 0.6 points, 1 % of it
    (0.300, 0.315),          # 1.5 points, 5 % of it
    (0.050, 0.059),          # 0.9 points, 18 % of it
])
def test_a_trivial_change_is_no_warning(before, after):
    cal = Stub({"tpot": 0.264, "throughput": before}, {"tpot": 0.209, "throughput": after})
    assert worse_warnings(cal) == []     # type: ignore[arg-type]


@pytest.mark.parametrize("before, after", [(0.02, 0.03), (0.326, 0.385), (0.001, 0.020)])
def test_a_quantity_further_off_by_the_threshold_warns(before, after):
    cal = Stub({"tpot": 0.264, "throughput": before}, {"tpot": 0.209, "throughput": after})
    (d,) = worse_warnings(cal)           # type: ignore[arg-type]
    assert d.code == "W542" and "throughput is further off its runs than uncalibrated" in d.message
    assert d.hint.startswith("the fit's `memory_time_scale` buys TPOT with throughput: ")
