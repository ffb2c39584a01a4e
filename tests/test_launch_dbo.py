"""vLLM's dual-batch overlap (`overlap microbatch`, `--enable-dbo`) where it overlaps anything: vLLM's
design notes (docs/design/dbo.md) say it "only targets DP+EP deployments", its yield points inside the MoE
all-to-all. Without attention DP and EP there is no all-to-all: `check` and `launch` refuse it (E710, as
SGLang's E715) and the search on a plan that chose vLLM leaves it out (docs/launch.md)."""

from __future__ import annotations

from dagc.lang.load import load_plan_text
from dagc.launch.engine_check import check
from dagc.launch.engines import launch_result
from dagc.search.space import candidates

MIXTRAL = """model preset "mixtral-8x7b"
cluster { gpus = 8  gpu preset "h100-sxm"  ENGINE }
workload { batch = 64 prompt = 2048 generate = 256 serving = inflight }
require { ttft <= 2 s  tpot <= 50 ms }
strategy tp 8
"""
VLLM = MIXTRAL.replace("ENGINE", "engine = vllm")
WHY = ("vLLM: dual-batch overlap (--enable-dbo) overlaps the MoE layers' all-to-all with the other micro-batch's "
       "compute, and only targets DP+EP deployments (docs/design/dbo.md: its yield points are in the all-to-all's "
       "kernel); here ")


def _e710(strategy: str):
    (r,) = check(load_plan_text(VLLM), strategy)
    found = [d for d in r.diagnostics if d.code == "E710"]
    return r, (found[0] if found else None)


def test_overlap_without_experts_over_ep_is_refused_with_the_overlap_off_as_nearest():
    r, d = _e710("tp 8 with microbatches 2 overlap microbatch")
    assert d is not None and not r.verdict.correct
    assert d.message == WHY + "the experts are tensor-sharded over the stage's 8 GPUs (ep 1), so nothing would overlap"
    assert d.hint.startswith("the nearest strategy vLLM can run: `tp 8 with microbatches 2 overlap none` (")
    r, d = _e710("pp 2 < tp 4 > with overlap microbatch")
    assert d is not None and "tensor-sharded over the stage's 4 GPUs (ep 1)" in d.message


def test_overlap_with_ep_inside_the_tp_group_is_refused():
    """`tp 8 ; ep 8`: no attention DP, the experts inside the TP group, no all-to-all."""
    _, d = _e710("tp 8 ; ep 8 with microbatches 2 overlap microbatch")
    assert d is not None and d.message == WHY + (
        "attention is tensor-parallel over the stage (no attention DP): the experts of `tp 8 ; ep 8` run on the tokens "
        "every TP rank holds, summed by the TP all-reduce, so nothing would overlap")


def test_overlap_with_dp_and_ep_is_launched_with_dbo():
    r, d = _e710("tp 1 ; ep 8 with microbatches 2 overlap microbatch")      # DP 8 × EP 8
    assert d is None and r.verdict.correct
    (x,) = launch_result(r, ("vllm",))
    argv = x.commands[0].argv
    assert x.ok and "--enable-dbo" in argv and argv[argv.index("--all2all-backend") + 1] == "deepep_low_latency"
    assert argv[argv.index("--data-parallel-size") + 1] == "8" and "--enable-expert-parallel" in argv


def test_the_search_on_vllm_offers_overlap_only_with_dp_and_ep():
    unchosen = [(s, o) for s, _, o in candidates(load_plan_text(MIXTRAL.replace("ENGINE", "")))]
    offered = [s for s, _, o in candidates(load_plan_text(VLLM)) if o.value == "microbatch"]
    assert any(o.value == "microbatch" and (s.ep or 1) == 1 for s, o in unchosen)
    # DP+EP: EP above 1 and attention (tp × cp) smaller than the stage (ep × etp), the rest attention DP
    assert offered and all((s.ep or 1) > 1 and s.tp * s.cp < s.ep * (s.etp or 1) for s in offered)


def test_a_refusal_of_the_degrees_that_dbo_needs_names_the_nearest_strategy_without_the_overlap():
    """`pp 2 < tp 1 ; ep 4 >` over 2 nodes of 4 is E704 (each DP engine's pipeline placed together), and every
    strategy vLLM places as dagc does has no attention DP, where `--enable-dbo` overlaps nothing (E710): the
    nearest keeps the GPUs and drops the overlap too. Until 2026-11-30 the overlap was kept on every candidate, so
    none was expressible and the hint said none "checks without errors"."""
    plan = load_plan_text(VLLM.replace('"mixtral-8x7b"', '"qwen3-30b-a3b"').replace(
        "gpus = 8", "gpus = 8  gpus_per_node = 4"))
    (r,) = check(plan, "pp 2 < tp 1 ; ep 4 > with microbatches 4 overlap microbatch")
    (d,) = [d for d in r.diagnostics if d.code == "E704"]
    assert d.hint.startswith("the nearest strategy vLLM can run: "
                             "`pp 2 < tp 4 ; ep 4 > with microbatches 4 overlap none` ("), d.hint


def test_dbo_is_told_to_split_decode_steps_as_small_as_dagc_priced_split():
    """vLLM microbatches a decode-only step only from `--dbo-decode-token-threshold` tokens on (32 by default,
    vllm/v1/worker/ubatch_utils.py): 64 requests over 8 attention-DP ranks decode 8 tokens a rank, which vLLM would run
    whole while dagc prices them split; the launch writes the threshold down to 8. At 512 requests (64 a rank) the
    default splits them and nothing is written. Until 2026-11-30 `--enable-dbo` was written alone."""
    for batch, want in ((64, ["--dbo-decode-token-threshold", "8"]), (512, [])):
        (r,) = check(load_plan_text(VLLM.replace("batch = 64", f"batch = {batch}")),
                     "tp 1 ; ep 8 with microbatches 2 overlap microbatch")
        (x,) = launch_result(r, ("vllm",))
        argv = list(x.commands[0].argv)
        assert [a for a in argv if a.startswith("--dbo-")] == want[:1]
        if want:
            assert argv[argv.index(want[0]) + 1] == want[1]
            assert any(n.startswith("--dbo-decode-token-threshold 8: vLLM splits a step for dual-batch overlap only")
                       for n in x.notes)
