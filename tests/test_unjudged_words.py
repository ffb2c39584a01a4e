"""A requirement on the load without a figure says why (dagc.export.unjudged_words; trial 46): a traffic whose every
request emits one output token — a prefill-only service — has no TPOT and no gap between tokens, so `tpot_pNN` and
`itl_pNN` cannot be judged. Until 2026-11-30 `dagc check` printed "meets requirements: not judged" and no reason, and
report.md "could not be computed"."""

from __future__ import annotations

from dagc.cli.print_verdict import traffic_reason
from dagc.export.summary import summary_md
from dagc.lang.load import load_plan
from dagc.verdict.check import check
from conftest import plan_text

REASON = ("every simulated request emits a single output token, so there is no time per output token nor a gap "
          "between tokens to take a percentile of")


def checked(tmp_path, output: int):
    lines = "".join(f"2026-01-01 00:00:{i:02d},500,{output}\n" for i in range(20))
    (tmp_path / "log.csv").write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n" + lines)
    (tmp_path / "plan.moe").write_text(plan_text(
        model='model "t" { layers = 1  hidden = 256  heads = 2  kv_heads = 2  head_dim = 128  vocab = 1000 '
              'moe { experts = 2  top_k = 1  ffn = 512 } }',
        cluster='cluster { gpus = 2  gpus_per_node = 2  gpu preset "h100-sxm" }',
        workload=f'workload {{ batch = 8  prompt = 500  generate = {output}  serving = inflight  '
                 'requests from "log.csv" }',
        require="require { ttft_p99 <= 1 s  tpot_p90 <= 40 ms }", strategy="strategy tp 2"))
    (r,) = check(load_plan(tmp_path / "plan.moe"))
    return r


def test_a_tpot_percentile_of_single_token_requests_says_why_it_is_not_judged(tmp_path):
    r = checked(tmp_path, 1)
    assert r.verdict.meets_requirements is None
    assert traffic_reason(r) == f"meets? not judged: `tpot_p90 <= 40 ms` could not be computed: {REASON} (a " \
        "prefill-only traffic is judged on `ttft_pNN`, `e2e_pNN` and `goodput`)"
    assert any(REASON in line for line in summary_md(r))


def test_a_traffic_of_longer_outputs_is_judged_and_says_no_such_thing(tmp_path):
    r = checked(tmp_path, 2)
    assert r.verdict.meets_requirements is True and traffic_reason(r) is None
    assert not any(REASON in line for line in summary_md(r))


def test_a_percentile_without_a_figure_is_not_missed_so_nothing_binds(tmp_path):
    # until 2026-11-30 the missing TPOT counted as missed: the capacity of such a traffic was "none — not even a
    # trickle", and the Load line said it was bound by the step time at 0 requests in flight
    from dagc.export.report import report_json
    r = checked(tmp_path, 1)
    assert r.load is not None and not r.load.figures.misses.latencies
    assert report_json(r)["load"]["binding"]["limit"] == "none"
