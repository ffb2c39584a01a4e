"""`dagc search`'s `meets requirements` column and `--rate`'s conclusion name a per-GPU throughput missed as the plan
writes it, `decode_throughput` (its `/gpu` in the unit), where they said report.json's `decode_throughput_per_gpu`,
a name no plan writes (`dagc.plan.workload.Requirement.written_name`)."""

from __future__ import annotations

from pathlib import Path

from dagc.cli.print_search import meets_text, written_names
from dagc.lang.load import load_plan_text
from dagc.search.result import Candidate

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 8  gpu preset "h100-sxm" }
workload { batch = 64  prompt = 2000  generate = 300  serving = inflight  rate = 2 requests/s  requests = 200 }
require { decode_throughput >= 3 tokens/ms/gpu  ttft_p99 <= 300 ms }
strategy a = tp 8
"""


def test_the_names_a_row_misses_are_the_plans() -> None:
    plan = load_plan_text(PLAN)
    per_gpu, ttft = plan.requirements
    assert (per_gpu.name, per_gpu.written_name) == ("decode_throughput_per_gpu", "decode_throughput")
    assert (ttft.name, ttft.written_name) == ("ttft_p99", "ttft_p99")
    names = written_names(plan)
    assert names == {per_gpu.text: "decode_throughput", "decode_throughput_per_gpu": "decode_throughput",
                     ttft.text: "ttft_p99", "ttft_p99": "ttft_p99"}
    row = Candidate.__new__(Candidate)          # only the fields `meets_text` reads
    object.__setattr__(row, "meets_requirements", False)
    object.__setattr__(row, "load_missed", (ttft.text,))
    object.__setattr__(row, "others_missed", ("decode_throughput_per_gpu",))
    object.__setattr__(row, "short_of_traffic", False)
    assert meets_text(row, names) == "no: ttft_p99, decode_throughput"


def test_search_at_a_rate_says_the_plans_name(tmp_path: Path, capsys) -> None:
    from dagc.cli.main import main
    path = tmp_path / "p.moe"
    # on 2 of the 8 GPUs: what the table and the conclusion call the line missed does not depend on the cluster's size
    # (a search of 2 GPUs' strategies, each short of 3 tokens/ms per GPU, at a tenth of the 8 GPUs' CPU seconds)
    path.write_text(PLAN.replace("  ttft_p99 <= 300 ms", "").replace("  rate = 2 requests/s  requests = 200", "")
                    .replace("gpus = 8", "gpus = 2"))
    assert main(["search", str(path), "--rate", "2", "--top", "2", "-o", str(tmp_path / "out")]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "misses decode_throughput >= 3 tokens/ms/gpu)" in out and "no: decode_throughput" in out     # as written
    assert "a lower rate would not help: decode_throughput >= 3 tokens/ms/gpu is a steady-state figure" in out
    assert "decode_throughput_per_gpu" not in out
