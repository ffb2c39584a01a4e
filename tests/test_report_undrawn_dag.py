"""When Graphviz is stopped (`--dot-timeout`) or cannot run, report.md says the DAG has no picture, why, and where its
source is (`dagc.export.pictures_md`); until 2026-12-01 only the terminal warned, and report.md had no DAG section
and no link to dag.dot."""

from __future__ import annotations

from dagc.export.compile import CompileOptions, compile_results
from dagc.export.markdown import report_md
from dagc.lang.load import load_plan_text
from dagc.verdict.check import check
from conftest import ROOT

SMALL = ROOT / "tests" / "fixtures" / "small.moe"


def test_a_dag_graphviz_was_stopped_on_is_said_in_report_md(tmp_path):
    plan = load_plan_text(SMALL.read_text(), name="small.moe")
    results = check(plan)
    out = tmp_path / "out"
    compile_results(plan, results, out, CompileOptions(dot_timeout_s=0.001))
    d = out                                             # one strategy: its files are the output's own
    assert (d / "dag.dot").is_file() and not (d / "dag.svg").exists()
    md = (d / "report.md").read_text()
    [line] = [x for x in md.splitlines() if x.startswith("No picture of the DAG: ")]
    assert "took longer than 0.001 s and was stopped (`--dot-timeout`). Its source is [dag.dot](dag.dot): " in line
    assert "![DAG](dag.svg)" not in md
    assert 'href="dag.dot"' in (d / "report.html").read_text()


def test_a_dag_drawn_is_shown_and_none_is_said_missing():
    r = check(load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" } '
                             "workload { batch = 8 prompt = 512 generate = 64 } strategy tp 8"))[0]
    md = report_md(r, links={"dag.svg": "dag.svg"})
    assert "![DAG](dag.svg)" in md and "No picture of the DAG" not in md
    assert "No picture of the DAG: dot took longer than 1 s and was stopped (`--dot-timeout`)." in report_md(
        r, links={"placement.svg": "placement.svg"}, undrawn="dot took longer than 1 s and was stopped; dag.dot "
                                                               "written, no SVG")
