"""What lifts a cap on requests in flight: a larger batch, unless a TPOT or ITL percentile already misses — more
requests in flight lengthen every step, so the hint a new user followed (batch 64 → 128 → 256, TPOT p90 34 → 42
→ 43 ms against 30 ms) must not be given then."""

from __future__ import annotations

from dataclasses import replace

from dagc.export.binding_text import binding_text
from dagc.export.result_json import binding_json
from dagc.fleet.cluster import cap_binds
from dagc.lang.load import load_plan_text
from dagc.serve.binding import Limit
from dagc.verdict.check import check

BASE = ('model preset "qwen3-30b-a3b"\ncluster { gpus = 1  gpu preset "h100-sxm" }\n'
        'workload { batch = 128  prompt = 1000  generate = 300  serving = inflight  rate = 10 requests/s  '
        'requests = 1000 }\n{require}strategy tp 1\n')


def _binding(require: str):
    (r,) = check(load_plan_text(BASE.replace("{require}", require)))
    assert r.load is not None
    return r.load.binding


def test_a_missed_tpot_percentile_is_not_lifted_by_a_larger_batch():
    b = _binding("require { ttft_p99 <= 1 s  tpot_p90 <= 30 ms }\n")
    assert b.limit is Limit.REQUESTS_IN_FLIGHT
    assert b.missed == ("tpot", "ttft") and b.per_token_missed
    words = binding_text(binding_json(b))
    assert words is not None and "a larger batch lifts it" not in words
    assert "lengthens every step, and TPOT already misses its target" in words
    fleet = cap_binds(b, 10.0)
    assert "`batch = max`" not in fleet and "its TPOT already misses: a larger batch alone cannot meet it" in fleet
    both = replace(b, missed=("itl", "tpot", "ttft"))       # two per-token latencies: the verb agrees
    assert "its ITL and TPOT already miss: " in cap_binds(both, 10.0)
    assert "ITL and TPOT already miss their targets" in (binding_text(binding_json(both)) or "")


def test_a_cap_that_binds_with_every_per_token_target_met_is_lifted_by_a_larger_batch():
    b = _binding("require { ttft_p99 <= 1 s  tpot_p90 <= 200 ms }\n")
    assert b.limit is Limit.REQUESTS_IN_FLIGHT
    assert b.missed == ("ttft",) and not b.per_token_missed
    assert binding_json(b)["missed_latencies"] == ["ttft"]
    words = binding_text(binding_json(b))
    assert words is not None and words.endswith("a larger batch lifts it.")
    assert cap_binds(b, 10.0).endswith("a larger batch, or `batch = max`, lifts it")


def test_a_larger_batch_for_a_run_whose_tpot_already_misses_is_tried_with_8_bit_weights_first():
    """The larger batch's first try at 16-bit weights cannot meet a TPOT the run already misses (more requests
    in flight only lengthen each step): it is tried with 8-bit weights from the first (it was tried without,
    then again with them at the same batch)."""
    from dagc.plan.model import DType
    from dagc.verdict.next_steps import next_steps

    (r,) = check(load_plan_text(BASE.replace("{require}", "require { ttft_p99 <= 1 s  tpot_p90 <= 30 ms }\n")))
    assert r.plan.model.weights is DType.BF16 and r.load.binding.per_token_missed
    tried: list[tuple[int, DType]] = []

    def judge(x):
        tried.append((x.plan.workload.batch, x.plan.model.weights))
        return x

    first = next_steps(r, judge=judge)[0]
    assert first.kind == "batch" and first.meets
    assert first.options == ("--set workload.batch=136", "--set model.weights=fp8")
    assert tried[0] == (136, DType.FP8) and (136, DType.BF16) not in tried


FLEET = ('model preset "qwen3-30b-a3b"\ncluster { gpus = 2  gpu preset "h100-sxm" }\n'
         'workload { batch = 8  prompt = 1000  generate = 200  serving = inflight  rate = 15 requests/s  '
         'requests = 400 }\nrequire { ttft_p99 <= 2 s  tpot_p90 <= 50 ms }\n'
         'fleet {\n  gpu preset "h100-sxm" { price = 2.49 $/h }\n  gpus = [2]\n}\n')


def test_the_cap_of_a_clusters_replicas_is_not_called_the_plans_batch(tmp_path):
    """A fleet's cluster judged as k replicas of a strategy has a cap of k × the plan's batch: 2 H100s, each a copy
    of `tp 1` at the plan's batch of 8, hold 16 in flight. The line read `its cap of 16 requests in flight (the
    plan's batch)` of a plan whose batch is 8 (and 384 of a batch of 64 on 6 replicas)."""
    from conftest import run_dagc
    (tmp_path / "fleet.moe").write_text(FLEET)
    done = run_dagc("fleet", str(tmp_path / "fleet.moe"), "-o", str(tmp_path / "out"))
    assert done.returncode == 1, done.stderr
    assert "`dp 2 < tp 1 > with microbatches 1 overlap none` on 2 GPUs" in done.stdout
    assert "bound by its cap of 16 requests in flight (2 replicas of 8 each), where ≈ 43.85 are needed" in done.stdout
    assert "(the plan's batch)" not in done.stdout


def test_a_replicated_cap_names_its_replicas():
    b = replace(_binding("require { ttft_p99 <= 1 s  tpot_p90 <= 200 ms }\n"), cap=384)
    assert cap_binds(b, 10.0, replicas=6).startswith("; bound by its cap of 384 requests in flight (6 replicas of "
                                                      "64 each), where ≈ ")
    assert "(the plan's batch)" in cap_binds(b, 10.0)


def test_a_cap_and_need_the_reason_gave_are_not_said_again():
    """A fleet row whose run needs more requests in flight than its cap says so in its reason (`NEEDS_LEAD`: "it
    needs ≈ 715 requests in flight … more than its cap of 512"); what follows names whose cap it is and what lifts
    it, not the cap and the need again (it read "; bound by its cap of 512 requests in flight (the plan's batch),
    where ≈ 715.2 are needed at 20 requests/s")."""
    from dagc.serve.load_result import QueueGrowth
    from dagc.verdict.carrying import NEEDS_LEAD, queue_behind

    b = replace(_binding("require { ttft_p99 <= 1 s }\n"), cap=512, little_concurrency=715.2,
                missed=("ttft",))
    assert cap_binds(b, 20.0) == ("; bound by its cap of 512 requests in flight (the plan's batch), where ≈ 715.2 are "
                                  "needed at 20 requests/s: a larger batch, or `batch = max`, lifts it")
    assert cap_binds(b, 20.0, need_said=True) == ("; that cap is the plan's batch: a larger batch, or `batch = max`, "
                                                 "lifts it")
    assert cap_binds(b, 20.0, 8, need_said=True).startswith("; that cap is 8 replicas of 64 each: ")
    # the reason that says the need starts so: the growth past a trial's pace with the cap short of Little's law
    growth = QueueGrowth(arrived=499, ended=460, allowance=56.0, first_token=True)     # 39 grown, past 3 % of 499
    said = queue_behind(False, growth, (715.2, 512))
    assert said is not None and said.startswith(f"{NEEDS_LEAD}715 requests in flight at this rate")


FP8 = ('model preset "qwen3-30b-a3b" { weights = fp8 }\ncluster { gpus = 1  gpu preset "h100-sxm" }\n'
       'workload { batch = 128  prompt = 1000  generate = 300  serving = inflight  rate = 20 requests/s  '
       'requests = 1000 }\nrequire { ttft_p99 <= 1 s  tpot_p90 <= 20 ms }\n'
       'fleet {\n  gpu preset "h100-sxm" { price = 2.49 $/h }\n}\n')


def test_a_fleet_row_offers_no_8_bit_weights_to_a_model_that_has_them(tmp_path, capsys):
    """A cluster whose cap binds while its TPOT misses names the weights that would make its steps faster as `dagc
    check` does (`faster_weights`): none for fp8 weights on an H100, which has no fp4 units. The row read "more
    GPUs, a faster strategy, or faster steps (8-bit weights)" of DeepSeek-V3's fp8 on H100s and H200s."""
    from dagc.cli.main import main
    (tmp_path / "fleet.moe").write_text(FP8)
    assert main(["fleet", str(tmp_path / "fleet.moe"), "-o", str(tmp_path / "out")]) == 1
    out = capsys.readouterr().out
    assert "its TPOT already misses: a larger batch alone cannot meet it — more GPUs or a faster strategy with it" \
        in out
    assert "8-bit weights" not in out
    # 16-bit weights: 8-bit ones would make the steps faster, and are named
    (tmp_path / "fleet.moe").write_text(FP8.replace(" { weights = fp8 }", ""))
    main(["fleet", str(tmp_path / "fleet.moe"), "-o", str(tmp_path / "out16")])
    assert "or faster steps (8-bit weights) with it" in capsys.readouterr().out


def test_cap_binds_names_the_faster_weights_it_is_given():
    b = _binding("require { ttft_p99 <= 1 s  tpot_p90 <= 30 ms }\n")
    assert cap_binds(b, 10.0, faster="fp4 weights").endswith(
        "a larger batch alone cannot meet it — more GPUs, a faster strategy, or faster steps (fp4 weights) with it")
    assert cap_binds(b, 10.0).endswith("a larger batch alone cannot meet it — more GPUs or a faster strategy with it")
