"""Directory names dagc makes from a plan never start with `-`: a trial's plan `--help.moe` got `out/--help`,
which a user's shell script reads as a flag wherever it names it from `out` (`cd "$name"`, `ls *`). Leading `-`
become `_`, as every other unsafe character does (docs/limits.md)."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from dagc.export.output_dir import MAX_DIR_NAME, default_output_dir, safe_dir_name
from dagc.export.requests_out import check_requests_name
from dagc.export.write import OutputError
from dagc.lang.load import load_plan
from conftest import plan_text


@pytest.mark.parametrize("name, made", [("--help", "__help"), ("-", "_"), ("-x-", "_x-"), (".-v", "_v"),
                                        ("a-b", "a-b"), ("my plan/v2", "my_plan_v2"), ("..", "plan")])
def test_a_name_never_starts_with_a_dash(name, made):
    assert safe_dir_name(name, "plan") == made


@given(st.text(max_size=80))
def test_every_made_name_is_one_harmless_component(name):
    made = safe_dir_name(name, "plan")
    assert made and not made.startswith(("-", ".")) and len(made) <= MAX_DIR_NAME and "/" not in made


def test_the_default_output_directory_of_a_plan_named_like_a_flag(tmp_path):
    plan = tmp_path / "--help.moe"
    plan.write_text(plan_text())
    out = default_output_dir(load_plan(plan).name, tmp_path / "out")
    assert out == tmp_path / "out" / "__help"


def test_requests_out_refuses_a_name_starting_with_a_dash():
    with pytest.raises(OutputError, match="not starting with `-`"):
        check_requests_name("-requests.jsonl")
    check_requests_name("requests-1.jsonl")
