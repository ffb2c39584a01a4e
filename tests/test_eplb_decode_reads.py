"""EPLB under measured loads at a decode step of few tokens a slot: report.json's `eplb.decode_tokens_per_slot`
computed by hand, and the sentence that says why balance does not shorten such a step (dagc.verdict.techniques)."""

from __future__ import annotations

import json

from dagc.export.techniques import technique_lines
from dagc.lang.load import load_plan
from dagc.verdict.check import check

PLAN = """model preset "qwen3-30b-a3b"
cluster {{ gpus = 8  gpu preset "h200" }}
workload {{ batch = {batch}  prompt = 1000  generate = 200  serving = inflight  routing from "load.json" }}
strategy eplb = tp 1 ; ep 8 with redundant 8
strategy plain = tp 1 ; ep 8
"""


def _checked(tmp_path, batch):
    # Qwen3-30B-A3B: 48 MoE layers of 128 experts, top 8; the first 16 experts of every layer hot
    (tmp_path / "load.json").write_text(json.dumps(
        {"layers": [[(90 if e < 16 else 10) + (e * 7 + layer) % 11 for e in range(128)] for layer in range(48)]}))
    (tmp_path / "plan.moe").write_text(PLAN.format(batch=batch))
    return check(load_plan(tmp_path / "plan.moe"))


def test_decode_tokens_per_slot_by_hand_and_said(tmp_path):
    eplb, plain = _checked(tmp_path, 16)
    # 16 requests in flight, one replica, one micro-batch, one position each, 8 picks, over 128 + 8 slots
    assert eplb.techniques.eplb["decode_tokens_per_slot"] == 16 * 8 / 136
    assert plain.techniques.eplb["decode_tokens_per_slot"] == 16 * 8 / 128
    (label, said), = [x for x in technique_lines(eplb) if x[0] == "Expert load balance"]
    assert said.endswith("A decode step gives each expert slot 0.941 tokens on average: its time there is reading "
                         "the slots' weights whatever their load, so the balance shortens the steps with prompt "
                         "tokens, and the 8 redundant slots add their weights' reads to each decode step.")
    # the contiguous placement balances nothing: the sentence is EPLB's alone
    (_, plain_said), = [x for x in technique_lines(plain) if x[0] == "Expert load balance"]
    assert "A decode step gives" not in plain_said
    # what it explains: with 17 slots a GPU to read rather than 16, EPLB's TPOT is the longer, its balance aside
    assert eplb.metrics.tpot_s > plain.metrics.tpot_s


def test_not_said_where_a_decode_step_computes(tmp_path):
    eplb, _ = _checked(tmp_path, 1024)
    per_slot = eplb.techniques.eplb["decode_tokens_per_slot"]
    assert per_slot == 1024 * 8 / 136 and per_slot > 32
    (_, said), = [x for x in technique_lines(eplb) if x[0] == "Expert load balance"]
    assert "A decode step gives" not in said
