"""`dagc search`'s note under a table judged under the plan's traffic says how `meets requirements` was judged: each
row's run, as `dagc check --strategy` runs it, and — in an open loop — the first row that meets every requirement on
its run with its capacity bisected too, as `dagc check` judges it (`dagc.search.verify`). Until 2026-11-30 the note
said "as `dagc check --strategy` does" alone: Qwen3-235B-A22B in fp8 on 32 H100s under TensorRT-LLM at 5 requests/s,
row #1 `prefill 1 < tp 4 ; ep 4 > decode 1 < tp 1 ; ep 16 >` "yes", its check "meets requirements: no" (capacity
4.411); then, until the search judged its best so, it said that no row's capacity was bisected."""

from __future__ import annotations

from dagc.cli.print_search import judged_note
from dagc.lang.load import load_plan_text

HEAD = ("meets requirements: every requirement judged, the load's by simulating the plan's traffic through each "
        "strategy, as `dagc check --strategy` does (`no:` names every requirement missed)")
PLAN = """model preset "qwen3-30b-a3b"
cluster {{ gpus = 2  gpu preset "h100-sxm" }}
workload {{ batch = 16  prompt = 512  generate = 64  serving = inflight  {traffic}  requests = 200 }}
require {{ ttft_p99 <= 1 s  tpot_p90 <= 50 ms }}
"""


def test_an_open_loop_s_note_says_its_first_that_meets_is_judged_with_its_capacity():
    plan = load_plan_text(PLAN.format(traffic="rate = 16 requests/s"), needs_strategy=False)
    assert judged_note(plan) == HEAD + ("; the first row that meets every requirement on its run is judged with its "
                                        "capacity bisected too, as `dagc check` judges it (`no: past its capacity` "
                                        "when that is more than 1 % below the arrival rate, and then the next is "
                                        "judged so, 3 at most), the rows below it on their runs alone; a row whose run "
                                        "misses a percentile requirement counts every load requirement missed, as its "
                                        "check does (its capacity lies below the rate)")


def test_a_closed_loop_s_note_is_check_s_alone():
    plan = load_plan_text(PLAN.format(traffic="concurrency = 16"), needs_strategy=False)
    assert judged_note(plan) == HEAD


def test_a_steady_state_requirement_missed_is_named_as_the_note_says(tmp_path, capsys, monkeypatch):
    """Seed 001 with a request log, `decode_throughput >= 100 tokens/ms/gpu` missed by every row: the rows read
    `no: decode_throughput`, a steady-state line, which until 2026-12-02 the note called "the load requirements
    missed"."""
    from dagc.cli.main import main
    monkeypatch.setenv("COLUMNS", "200")
    plan = tmp_path / "p.moe"
    plan.write_text(PLAN.format(traffic="rate = 4 requests/s").replace(
        "tpot_p90 <= 50 ms", "tpot_p90 <= 50 ms  decode_throughput >= 100 tokens/ms/gpu"))
    main(["search", str(plan), "--top", "3", "--svg", str(tmp_path / "p.svg")])
    out = capsys.readouterr().out
    assert "no: decode_throughput" in out
    assert "(`no:` names every requirement missed)" in out
