"""A static deployment's short run of a request log (seed 001's layout: 64 GPUs in static batches of 128, the first
300 and 1,000 requests of the Azure conversation log): the queue waiting at its last arrival says whether it keeps
pace (`dagc.serve.load_result.Load._waiting_growth`, `whole`), and a log too short for a capacity trial to show
its pace gets no capacity (`dagc.verdict.under_load.capacity_min_requests`) — until 2026-12-03 the 300 requests
"kept pace" at 250 requests/s with "250 requests/s served" and a capacity of 268.7, where at 100 requests/s the
same deployment served 25.5 and was behind."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import ROOT, run_dagc

LOG = ROOT / "examples" / "traces" / "azure-llm-conv-2023-first1000.csv"
PLAN = """model "seed-10b" {{
  layers = 16  hidden = 4096  heads = 32  kv_heads = 32  head_dim = 128  vocab = 32000  weights = bf16
  moe {{ experts = 16  top_k = 2  ffn = 4096 }}
}}
cluster {{ gpus = 64  gpu preset "generic-400t" }}
workload {{ batch = 128  prompt = 10240  generate = 256  requests from "{log}" }}
strategy pp 1 < tp 4 ; ep 16 etp 4 >
"""


def _load(tmp_path: Path, lines: int, rate: float) -> dict:
    name = f"first{lines}.csv"
    (tmp_path / name).write_text("".join(LOG.read_text().splitlines(keepends=True)[: lines + 1]))
    (tmp_path / "plan.moe").write_text(PLAN.format(log=name))
    out = run_dagc("check", "plan.moe", "--format", "json", "--set", f"workload.rate={rate} requests/s",
                   cwd=tmp_path)
    assert out.returncode in (0, 1), out.stderr
    return json.loads(out.stdout)["load"]


def test_a_burst_onto_static_batches_is_behind_and_served_over_its_run(tmp_path):
    load = _load(tmp_path, 300, 250.0)
    growth = load["queue_growth"]
    # counted from the first arrival: the 300 requests arrive in 1.2 s; 146 have a first token by the last
    assert growth["whole"] and growth["first_token"] and (growth["arrived"], growth["ended"]) == (300, 146)
    # 154 waiting at the end of the arrivals: more than 3 % of them and the static batch of 128 allow
    assert growth["grown"] == 154 > 0.03 * 300 + 128 and growth["behind"]
    assert not load["keeps_pace"] and not load["carries_traffic"]
    # served over the whole run, as a benchmark client counts it: the deployment's ~25 requests/s, not the 250 sent
    assert 10 < load["served_requests_per_s"] < 30


def test_a_log_of_too_few_requests_for_its_static_batch_gets_no_capacity(tmp_path):
    load = _load(tmp_path, 300, 100.0)
    assert load["capacity_min_requests"] == 4 * 128 and load["capacity_judged"] is False
    assert load["capacity_requests_per_s"] is None and not load["carries_traffic"]
    text = run_dagc("check", "plan.moe", "--set", "workload.rate=100 requests/s", cwd=tmp_path).stdout
    assert ("capacity not judged: the log's 300 requests are too few for a capacity run (at least 512: 4 times its "
            "static batch of 128, for a run's queue to show before its arrivals end)") in text


def test_enough_of_the_same_log_is_bisected_near_what_the_short_run_serves(tmp_path):
    load = _load(tmp_path, 1000, 100.0)
    assert load["capacity_judged"] is True and load["capacity_min_requests"] == 512
    # the 1,000 requests' capacity lies where the 300 requests' run was served, far below the 268.7 it was given
    assert 20 < load["capacity_requests_per_s"] < 30
    assert load["overloaded"] and not load["queue_growth"]["whole"]    # long enough for the stretch
