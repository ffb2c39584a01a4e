"""`--ray [ADDRESS]` may be written without its address, so `dagc fleet --ray plan.moe` reads the plan as the
address and then misses the plan: the refusal says which word `--ray` took and how to write the line."""

from __future__ import annotations

import pytest

from dagc.cli.main import main


@pytest.mark.parametrize("argv", [["fleet", "--ray", "plan.moe"], ["fleet", "-o", "out", "--ray", "plan.moe", "-q"]])
def test_the_plan_after_ray_is_named_as_the_address_it_was_taken_for(capsys, argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.startswith("usage: dagc fleet ")
    assert err.rstrip().endswith("the following arguments are required: plan: `--ray` took `plan.moe` for its "
                                 "ADDRESS: write the plan first, `dagc fleet plan.moe --ray`, or `--ray=ADDRESS`")


def test_a_missing_plan_without_ray_is_said_as_argparse_says_it(capsys):
    with pytest.raises(SystemExit):
        main(["fleet", "--ray"])
    assert capsys.readouterr().err.rstrip().endswith("the following arguments are required: plan")
