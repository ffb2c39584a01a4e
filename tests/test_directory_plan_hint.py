"""A directory given where a plan goes is E002 whose hint names the plans in it (dagc.lang.parse._plans_in): names
only, bounded, never live markup."""

from __future__ import annotations

from conftest import run_dagc


def test_a_directory_of_plans_names_them(tmp_path):
    plans = tmp_path / "plans"
    plans.mkdir()
    for name in ("b.moe", "a.moe", "notes.txt"):
        (plans / name).write_text("model preset \"mixtral-8x7b\"\n")
    (plans / "sub.moe").mkdir()                       # a directory named like a plan is none
    out = run_dagc("check", "plans", cwd=tmp_path)
    assert out.returncode == 4
    assert "plans:1:1: error[E002]: the path is a directory, not a plan file" in out.stderr
    assert "help: give the path of a .moe file: plans holds a.moe and b.moe (`plans/a.moe`)" in out.stderr


def test_many_plans_the_first_five_and_how_many_more(tmp_path):
    for i in range(8):
        (tmp_path / f"p{i}.moe").write_text("")
    out = run_dagc("search", ".", cwd=tmp_path)
    assert "holds p0.moe, p1.moe, p2.moe, p3.moe, p4.moe and 3 more (`./p0.moe`)" in out.stderr


def test_none_and_a_name_that_looks_like_markup(tmp_path):
    (tmp_path / "empty").mkdir()
    assert "give the path of a .moe file: empty holds none" in run_dagc("check", "empty", cwd=tmp_path).stderr
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "[red]x.moe").write_text("")
    assert "odd holds [red]x.moe (`odd/[red]x.moe`)" in run_dagc("check", "odd", cwd=tmp_path).stderr
