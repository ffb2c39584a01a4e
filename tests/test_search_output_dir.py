"""`dagc search -o DIR`: the Pareto plot into DIR with compile's output-directory safety (the `.dagc-output`
marker and its manifest, docs/security.md): nothing written outside DIR, no non-regular file replaced."""

from __future__ import annotations

import os

from conftest import run_dagc

PLAN = ('model preset "qwen3-30b-a3b"\ncluster { gpus = 1  gpu preset "h200" }\n'
        "workload { batch = 8  prompt = 512  generate = 64 }\nstrategy tp 1\n")


def _plan(tmp_path):
    path = tmp_path / "p.moe"
    path.write_text(PLAN)
    return path


def test_search_writes_its_plot_into_dir_with_a_marker_listing_it(tmp_path):
    path = _plan(tmp_path)
    run = run_dagc("search", str(path), "-o", "res", "-q", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert sorted(os.listdir(tmp_path / "res")) == [".dagc-output", "pareto.svg"]
    assert (tmp_path / "res" / ".dagc-output").read_text().splitlines()[-1] == "pareto.svg"
    assert (tmp_path / "res" / "pareto.svg").read_text().startswith("<")
    assert not (tmp_path / "out").exists()                         # not the default out/<plan> as well
    # compile's directory takes it in beside its own files, and search's plot beside compile's
    assert run_dagc("compile", str(path), "-o", "res", "-q", cwd=tmp_path).returncode == 0
    assert run_dagc("search", str(path), "-o", "res", "-q", cwd=tmp_path).returncode == 0
    assert {"pareto.svg", "report.md"} <= set(os.listdir(tmp_path / "res"))


def test_search_refuses_a_directory_it_did_not_write_and_a_link_in_its_place(tmp_path):
    path = _plan(tmp_path)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    run = run_dagc("search", str(path), "-o", "mine", "-q", cwd=tmp_path)
    assert run.returncode == 5 and "not a dagc output directory" in run.stderr
    assert os.listdir(tmp_path / "mine") == ["notes.txt"]
    # a marked directory whose pareto.svg is a link: never replaced, even with --force; its target untouched
    (tmp_path / "target.txt").write_text("target")
    (tmp_path / "linked").mkdir()
    (tmp_path / "linked" / "pareto.svg").symlink_to(tmp_path / "target.txt")
    run = run_dagc("search", str(path), "-o", "linked", "-q", "--force", cwd=tmp_path)
    assert run.returncode == 5 and "symbolic link" in run.stderr
    assert (tmp_path / "target.txt").read_text() == "target" and (tmp_path / "linked" / "pareto.svg").is_symlink()
    # a link as DIR itself is refused
    os.symlink(tmp_path / "mine", tmp_path / "alias")
    run = run_dagc("search", str(path), "-o", "alias", "-q", cwd=tmp_path)
    assert run.returncode == 5 and os.listdir(tmp_path / "mine") == ["notes.txt"]


def test_output_dir_and_svg_are_one_or_the_other(tmp_path):
    run = run_dagc("search", str(_plan(tmp_path)), "-o", "res", "--svg", "a.svg", cwd=tmp_path)
    assert run.returncode == 2 and "not allowed with" in run.stderr
    assert not (tmp_path / "res").exists() and not (tmp_path / "a.svg").exists()


def test_a_directory_given_to_svg_is_told_the_options_that_write_into_it(tmp_path):
    """`--svg DIR` was refused "it is a directory; dagc only replaces regular files", which named no option that
    writes the plot there (until 2026-11-30); the first option it names does."""
    path = _plan(tmp_path)
    (tmp_path / "plots").mkdir()
    run = run_dagc("search", str(path), "--svg", "plots", "-q", cwd=tmp_path)
    assert run.returncode == 5 and os.listdir(tmp_path / "plots") == []
    assert run.stderr == ("error: cannot write plots: it is a directory: `--svg plots/pareto.svg` names the plot's "
                          "file, or `-o plots` writes pareto.svg in it\n")
    assert run_dagc("search", str(path), "--svg", "plots/pareto.svg", "-q", cwd=tmp_path).returncode == 0
    assert os.listdir(tmp_path / "plots") == ["pareto.svg"]


def test_a_compile_without_a_search_keeps_searchs_plot_not_a_compiles_own(tmp_path):
    """`dagc compile --no-search` carries over a pareto.svg `dagc search` wrote into the directory, not the one an
    earlier compile wrote (it plots that compile's search: until 2026-12-03 it stayed beside reports of another
    batch)."""
    path = _plan(tmp_path)
    assert run_dagc("compile", str(path), "-o", "res", "-q", cwd=tmp_path).returncode == 0
    assert "pareto.svg" in os.listdir(tmp_path / "res")
    again = run_dagc("compile", str(path), "-o", "res", "-q", "--no-search", "--set", "workload.batch=4", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "pareto.svg" not in os.listdir(tmp_path / "res")
    assert run_dagc("search", str(path), "-o", "res", "-q", cwd=tmp_path).returncode == 0
    plot = (tmp_path / "res" / "pareto.svg").read_text()
    assert run_dagc("compile", str(path), "-o", "res", "-q", "--no-search", cwd=tmp_path).returncode == 0
    assert (tmp_path / "res" / "pareto.svg").read_text() == plot          # the search's, carried over


def test_search_replaces_the_plot_a_compile_wrote(tmp_path):
    """A compile's own plot starts as a search's (its root element, then the signature): `dagc search --svg` onto it
    replaces it, as onto its own."""
    path = _plan(tmp_path)
    assert run_dagc("compile", str(path), "-o", "res", "-q", cwd=tmp_path).returncode == 0
    run = run_dagc("search", str(path), "--svg", str(tmp_path / "res" / "pareto.svg"), "-q", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "dagc compile:" not in (tmp_path / "res" / "pareto.svg").read_text()


def test_a_plot_onto_another_of_dagcs_outputs_is_refused_as_that(tmp_path):
    """`--svg` onto a compile's report is refused (exit 5), and the refusal says it is dagc's output, listed in the
    set's manifest, not "dagc did not write it" (until 2026-12-03)."""
    path = _plan(tmp_path)
    assert run_dagc("compile", str(path), "-o", "res", "-q", "--no-search", cwd=tmp_path).returncode == 0
    report = (tmp_path / "res" / "report.md").read_text()
    run = run_dagc("search", str(path), "--svg", "res/report.md", "-q", cwd=tmp_path)
    assert run.returncode == 5 and (tmp_path / "res" / "report.md").read_text() == report
    assert "it is another of dagc's outputs (listed in res/.dagc-output)" in run.stderr
    assert "did not write it" not in run.stderr
