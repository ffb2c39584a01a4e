"""A disaggregated strategy's pools are analysed one instance each; what both instances say in the same words at the
same place — of the plan's drafts (W525) or its cluster (W535), not of either pool — is said once, unprefixed, where
`dagc check` said it twice ("prefill pool: …" then "decode pool: …"). What a pool says of itself keeps its prefix."""

from __future__ import annotations

from dagc.lang.load import load_plan_text
from dagc.verdict.check import check

PLAN = """model preset "deepseek-v3"
cluster {{ gpus = 64  gpus_per_node = {node}  gpu preset "h200" }}
workload {{
  batch = 256  prompt = 4000  generate = 500  serving = inflight
  speculative {{ method = mtp  tokens = 3  acceptance = {acceptance} }}
}}
strategy pd = prefill 3 < tp 8 > decode 1 < dp 4 < tp 2 ; ep 8 > >
"""


def _messages(node: int, acceptance: float) -> list[tuple[str, str]]:
    (r,) = check(load_plan_text(PLAN.format(node=node, acceptance=acceptance)))
    return [(d.code, d.message) for d in r.diagnostics]


def test_what_both_pools_say_alike_is_said_once_unprefixed():
    said = _messages(16, 0.97)
    w525 = [m for c, m in said if c == "W525"]
    w535 = [m for c, m in said if c == "W535"]
    # 1 + 0.97 + 0.97² + 0.97³ = 3.82 tokens a step, above the 0.92-per-draft ceiling's 1 + 0.92 + 0.92² + 0.92³ = 3.55
    assert len(w525) == 1 and w525[0].startswith("speculative decoding emits 3.82 tokens a step (3 drafted tokens")
    assert len(w535) == 1 and w535[0].startswith("a node of 16 GPUs: one `h200`'s NVLink domain holds 8")
    # each pool's own layout keeps its pool's name: the prefill pool's tp 8 splits every expert, the decode's does not
    n602 = [m for c, m in said if c == "N602"]
    assert [m.split(":")[0] for m in n602] == ["prefill pool", "decode pool"]
    assert n602[0] != n602[1].replace("decode pool", "prefill pool")


def test_a_plan_whose_pools_say_nothing_alike_reads_as_before():
    said = _messages(8, 0.8)          # 2.95 tokens a step: within what drafts are accepted for; nodes of 8
    assert not [c for c, _ in said if c in ("W525", "W535")]
    assert [m.split(":")[0] for c, m in said if c == "N602"] == ["prefill pool", "decode pool"]
