"""Numbers are ASCII digits: another script's digits (`٨`, `८`, fullwidth `８`) are refused with a located E001
that says which number was meant, in a plan and on the command line, never read as a number."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text
from conftest import plan_text, run_dagc


@pytest.mark.parametrize("digit", ["٨", "८", "８"])
@pytest.mark.parametrize("key, where", [("cluster", 'cluster { gpus = D  gpu preset "h100-sxm" }'),
                                        ("strategy", "strategy tp D")])
def test_a_plan_digit_of_another_script_is_e001_with_its_value(digit, key, where):
    text = plan_text(**{key: where.replace("D", digit)})
    with pytest.raises(PlanError) as exc:
        load_plan_text(text)
    d = exc.value.diagnostics[0]
    assert d.code == "E001" and d.span.text == digit and "write `8`" in d.hint


def test_the_command_line_refuses_them_too(tmp_path):
    (tmp_path / "p.moe").write_text(plan_text())
    r = run_dagc("check", "p.moe", "--jobs", "٣", cwd=tmp_path)      # in this process, as `python -m dagc` gives it
    assert r.returncode == 2 and "is not a whole number" in r.stderr and "Traceback" not in r.stderr
