"""One rounding rule per quantity across every output: a figure reads the same in the terminal, report.md,
report.html and the SVGs (report.json keeps full precision). Times have four significant digits, memory is
in GiB (as engines and nvidia-smi count it), a GPU's memory also in MiB."""

from __future__ import annotations

import html
import json
import re

import pytest

from dagc.units import Dimension, format_bytes, format_gpu_memory, format_si
from conftest import EXAMPLES, run_dagc

PLAN, STRATEGY = EXAMPLES / "qwen3-30b-a3b-4gpu.moe", "tp 1 ; ep 4"


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    out = tmp_path_factory.mktemp("rounding")
    text = run_dagc("check", str(PLAN), "--strategy", STRATEGY, "--no-search", env={"COLUMNS": "200"}).stdout
    done = run_dagc("compile", str(PLAN), "--strategy", STRATEGY, "--no-search", "-o", str(out))
    assert done.returncode == 0, done.stderr
    report = json.loads((out / "report.json").read_text())
    return report, {"text": text, "report.md": (out / "report.md").read_text(),
                    "report.html": html.unescape((out / "report.html").read_text()),
                    "placement.svg": html.unescape((out / "placement.svg").read_text())}


def test_times_read_the_same_everywhere(outputs):
    report, shown = outputs
    for key in ("ttft_s", "tpot_s"):
        seconds = report["metrics"][key]
        figure = format_si(seconds, Dimension.TIME)                    # 982.4 ms, 17.85 ms
        assert len(figure.split()[0].replace(".", "").lstrip("0")) <= 4
        for name in ("text", "report.md", "report.html"):
            assert figure in shown[name], (name, figure)
            # no other rounding of the same figure: one decimal in ms, or in s
            for other in (f"{seconds * 1e3:.1f} ms", f"{seconds:.1f} s", f"{seconds * 1e3:.0f} ms"):
                if other != figure and not figure.startswith(other.split()[0] + "."):
                    assert f" {other}" not in shown[name], (name, other)


def test_memory_reads_the_same_everywhere(outputs):
    report, shown = outputs
    rank = report["memory"]["max_rank"]["total_bytes"]
    capacity = report["memory"]["capacity_bytes"]
    for name in ("text", "report.md", "report.html", "placement.svg"):
        assert format_bytes(rank) in shown[name], (name, format_bytes(rank))        # 25.87 GiB
        assert f"{rank / 1e9:.2f} GB" not in shown[name] and f"{rank / 1e9:.1f} GB" not in shown[name]
    for name in ("text", "report.md", "report.html"):
        assert format_gpu_memory(capacity) in shown[name]                            # 79.65 GiB (81,559 MiB)
    assert format_bytes(capacity) in shown["placement.svg"]


# ------------------------------------------------------------------ one form per figure in one output

LOAD_PLAN = """
model preset "qwen3-30b-a3b"
cluster {
  gpus = 4
  gpu preset "h200"
}
workload {
  batch = 32
  prompt = 2000
  generate = 200
  serving = inflight
  chunk = 8192
  rate = 2 requests/s
  requests = 60
}
require {
  ttft_p99 <= 20 s
  tpot_p90 <= 900 ms
  goodput >= 0.5 requests/s
  memory <= 90 %
}
strategy dep = tp 1 ; ep 4
"""


@pytest.fixture(scope="module")
def checked_text(tmp_path_factory):
    """`dagc check`'s text of one strategy simulated under its traffic, and its report.json."""
    import io

    from rich.console import Console

    from dagc import check, load_plan
    from dagc.cli.print_check import print_result
    from dagc.export.report import report_json
    path = tmp_path_factory.mktemp("one-form") / "plan.moe"
    path.write_text(LOAD_PLAN)
    (r,) = check(load_plan(str(path)))
    buf = io.StringIO()
    print_result(Console(file=buf, width=200, no_color=True, soft_wrap=True), r)
    return buf.getvalue(), report_json(r)


def _requirement_cells(text: str) -> dict[str, list[str]]:
    """The requirements table's rows by requirement: value (the band of its error aside), margin, met."""
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("│").split("│")]
        if line.startswith("│") and len(cells) >= 4 and re.match(r"[a-z_0-9]+ (<=|>=)", cells[0]):
            rows[cells[0]] = [cells[1].split(" [")[0], *cells[2:]]     # the value, without its error band
    return rows


def test_a_load_percentile_reads_the_same_in_the_requirements_table_and_the_load_line(checked_text):
    """p99 TTFT under a requirement written in seconds (`ttft_p99 <= 20 s`) is shown in the unit every time has
    (four significant digits, `format_si`), in the table as on the Load line: not `0.2525 s` beside `252.5 ms`."""
    text, report = checked_text
    p99, p90 = report["load"]["ttft_s"]["p99"], report["load"]["tpot_s"]["p90"]
    rows = _requirement_cells(text)
    assert rows["ttft_p99 <= 20 s"][0] == format_si(p99, Dimension.TIME)
    assert rows["tpot_p90 <= 900 ms"][0] == format_si(p90, Dimension.TIME)
    (load,) = [line for line in text.splitlines() if line.startswith("Load: ")]
    assert f"/{format_si(p99, Dimension.TIME)}, p50/p90 TPOT" in load      # the percentiles the requirements bound
    assert f"/{format_si(p90, Dimension.TIME)}; " in load


def test_goodput_carries_its_unit_wherever_it_is_shown(checked_text):
    text, report = checked_text
    goodput = report["load"]["goodput_requests_per_s"]
    (load,) = [line for line in text.splitlines() if line.startswith("Load: ")]
    assert re.search(r"goodput [\d.,]+ requests/s;", load)
    assert _requirement_cells(text)["goodput >= 0.5 requests/s"][0].endswith(" requests/s")
    assert abs(float(re.search(r"goodput ([\d.,]+) requests/s", load)[1].replace(",", "")) - goodput) <= 5e-4 * goodput


def test_memory_use_reads_the_same_in_the_memory_and_requirements_tables(checked_text):
    """The worst rank's share of its GPU: `48.9 %` in both tables, not `48.94 %` in one of them."""
    text, report = checked_text
    share = report["memory"]["max_rank"]["total_bytes"] / report["memory"]["capacity_bytes"]
    shown = f"{share * 100:.1f} %"
    assert _requirement_cells(text)["memory <= 90 %"][0] == shown
    (stage,) = [line for line in text.splitlines() if re.match(r"│ 0 +│", line)]
    assert stage.rstrip("│ ").endswith(shown)


def test_a_margin_past_a_hundred_percent_reads_as_a_multiple():
    """`ttft_p99 <= 100 ms` at 5.32 s is 53.2× over (not `-5220.0 %`); a throughput at 2.5× its target says so;
    within ±100 % the margin stays a percentage."""
    from dagc.plan.workload import Requirement, RequirementKind
    from dagc.verdict.verdict import RequirementResult
    ttft = Requirement(kind=RequirementKind.TTFT, op="<=", target=0.1, text="ttft_p99 <= 100 ms")
    assert RequirementResult(ttft, 5.32).margin_percent() == "53.2× over"
    assert RequirementResult(ttft, 0.19).margin_percent() == "-90.0 %"
    tput = Requirement(kind=RequirementKind.DECODE_THROUGHPUT, op=">=", target=100.0,
                       text="decode_throughput >= 100 tokens/s")
    assert RequirementResult(tput, 250.0).margin_percent() == "2.5× the target"
    assert RequirementResult(tput, 150.0).margin_percent() == "+50.0 %"
