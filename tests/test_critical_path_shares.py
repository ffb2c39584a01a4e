"""report.md's critical-path table writes a part's share as `dagc check` does: a part that is there but rounds to
no whole per cent is "< 1 %", never "0 %" beside a figure of its own — seed 004's `dp 2 < pp 2 < tp 2 ; ep 4 > >`
showed "pipeline send/receive | 1.511 ms (0 %)" in report.md where the terminal said "PP comm 1.511 ms (< 1 %)"."""

from __future__ import annotations

from dagc.export.markdown import report_md
from dagc.units import share_text
from dagc.verdict.check import check, load_plan_text

PLAN = """model preset "mixtral-8x7b"
cluster { gpus = 16  gpus_per_node = 8  gpu preset "h100-sxm"  engine = pytorch }
workload { batch = 64  prompt = 2048  generate = 256 }
strategy pp 2 < tp 8 >
"""


def test_share_text_says_a_part_below_half_a_per_cent_is_there():
    assert [share_text(f) for f in (0.0, 0.0035, 0.005, 0.0051, 0.42, 1.0)] == ["0 %", "< 1 %", "< 1 %", "1 %",
                                                                                "42 %", "100 %"]


def test_report_md_writes_the_critical_paths_small_parts_as_the_terminal_does():
    (r,) = check(load_plan_text(PLAN))
    md = report_md(r)
    table = md[md.index("## Critical path"):].split("\n\n")[1].splitlines()
    decode = next(line for line in table if line.startswith("| decode"))
    (phase,) = [p for k, p in r.metrics.critical_path.items() if k.value == "decode"]
    share = phase.pp_comm_s / phase.makespan_s
    assert 0 < share < 0.005, share                     # the send/receive of 2 stages: a sliver of two decode steps
    cell = decode.split("|")[6]                         # phase, makespan, compute, TP, EP, pipeline send/receive
    assert cell.strip().endswith("(< 1 %)"), decode
