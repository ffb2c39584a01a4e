"""When a disaggregated strategy's decode pool binds, dagc no longer says how many decode instances would balance
the pools: its instances share the deployment's batch (each ceil(batch / M)), so M of them serve far less than M
times one (Qwen3-30B-A3B, 128 requests: one `tp 2` instance 9.31 requests/s, three 13.36, not 27.9), and the count
said from one instance's capacity left the gap wider when followed (a user's trial). A binding prefill pool keeps
its count: each prefill instance adds its own capacity."""

from __future__ import annotations

import pytest

from dagc.export.serving_md import DECODE_BINDS, balance_text
from dagc.lang.load import load_plan_text
from dagc.verdict.check import check

PLAN = """model preset "qwen3-30b-a3b"
cluster {{ gpus = 8  gpu preset "h100-sxm" }}
workload {{ batch = 128  prompt = 2000  generate = 500  serving = inflight }}
strategy pd = prefill 2 < tp 1 > decode {m} < tp 2 >
"""


def _figures(m: int):
    (r,) = check(load_plan_text(PLAN.format(m=m)))
    assert r.pooled is not None and r.pooled.figures is not None
    return r.pooled.figures


def test_decode_instances_share_the_batch_so_their_capacity_is_no_multiple_of_one():
    one, three = _figures(1), _figures(3)
    assert one.binding_pool == three.binding_pool == "decode"
    # by hand: 128 requests each `generate` steps of the instance's step, 43 a step on each of three instances
    assert one.capacity["decode"] == pytest.approx(128 / (500 * one.tpot_s), rel=1e-9)
    assert three.capacity["decode"] == pytest.approx(3 * 43 / (500 * three.tpot_s), rel=1e-9)
    assert three.capacity["decode"] < 0.6 * 3 * one.capacity["decode"]


def test_a_binding_decode_pool_gets_no_instance_count_in_the_terminal_or_report(tmp_path):
    from conftest import run_dagc

    assert balance_text((15, 43), 2, 1, "decode") == ("at their present shares of the batch the pools' capacities "
                                                       "balance at 15:43 (prefill:decode instances, `serving.balance`)"
                                                       ", but " + DECODE_BINDS)
    assert balance_text((5, 1), 1, 1, "prefill").endswith("the prefill pool needs 5 instances")
    (tmp_path / "pd.moe").write_text(PLAN.format(m=1))
    proc = run_dagc("check", "pd.moe", "--no-search", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "the decode pool binds: it serves 9.31 requests/s; at their present shares of the batch" in proc.stdout
    assert DECODE_BINDS in proc.stdout
    assert "pool needs" not in proc.stdout
    assert run_dagc("compile", "pd.moe", "--no-search", "-q", "-o", str(tmp_path / "out"), cwd=tmp_path).returncode == 0
    (page,) = (tmp_path / "out").rglob("report.md")
    md = " ".join(page.read_text().split())
    assert "the **decode pool binds** (9.31 requests/s); at their present shares of the batch the pools' capacities " \
        "balance at" in md and "pool needs" not in md
    assert "more decode instances (each holding fewer requests, so stepping faster)" in md
