"""The KV cache the engine held (docs/calibrate.md): a calibration file's `kv_cache_share` gives the engine's KV
cache that share of what the weights, activations and reserve leave — the steady state's admission, W520 and the
load simulation's blocks alike —, `dagc calibrate` fits it from its runs' offline bursts, and a file without it
reads as 1."""

from __future__ import annotations

import json
import math

import pytest

from dagc.calibrate.calibrate import Job, calibrate
from dagc.calibrate.figures import dagc_figures
from dagc.calibrate.kv_share import MIN_BURSTS, TAKEN_BELOW, decoding
from dagc.calibrate.measured import MeasuredRun
from dagc.cost.cost_model import engine_text
from dagc.diagnostics import PlanError
from dagc.export.report import report_json
from dagc.lang.load import load_plan_text
from dagc.memory.admission import admission
from dagc.plan.engines import engine_of
from dagc.serve.kv_blocks import kv_capacity_tokens
from dagc.source import SourceFile
from dagc.verdict.check import check

# tests/test_admission.py's Qwen2.5-14B on one 48 GB GPU: its weights and one token's KV cache by hand
QWEN14B = """model "qwen2.5-14b" {
  layers = 48  hidden = 5120  heads = 40  kv_heads = 8  head_dim = 128  vocab = 152064  tied = false
  ffn = 13824
}
"""
L40S = 'cluster { gpus = 1  gpu "l40s" { memory = 48 GB  flops = 362 TFLOPS  hbm = 864 GB/s }  engine = pytorch }\n'
H, LAYERS, VOCAB, FFN = 5120, 48, 152064, 13824
WEIGHTS_BYTES = 2 * (LAYERS * (H * 40 * 128 * 2 + H * 8 * 128 * 2 + 3 * H * FFN + 2 * H) + 2 * VOCAB * H + H)
KV_BYTES_PER_TOKEN = LAYERS * 2 * 8 * 128 * 2          # K and V, 8 heads of 128, bf16: 196,608 B
RESERVE_BYTES = 4 * 2**30
GPU_BYTES = 48e9


def plan_text(workload: str = "batch = 128  prompt = 2000  generate = 500  serving = inflight") -> str:
    return QWEN14B + L40S + f"workload {{ {workload} }}\nstrategy tp 1\n"


def calibration(**terms: float) -> str:
    """A calibration file of the plan's deployment (`dagc calibrate`'s format), the engine's own step and front
    end (pytorch's: none), with `terms`."""
    run = {"id": "r.json", "file": "r.json", "tool": "vllm", "requests": 100, "prompt": 2000.0, "generate": 500.0,
           "rate": None, "concurrency": 100, "measured": {"tpot_ms": 10.0}, "dagc": {"tpot_ms": 10.0},
           "cross_validated": {"tpot_ms": 10.0}}
    return json.dumps({"format": 1, "engine": "pytorch", "release": None, "gpu": "l40s", "gpus": 1,
                       "model": "qwen2.5-14b", "terms": {"step_s": 0.0, "frontend_s": 0.0} | terms, "runs": [run],
                       "range": {"prompt": [2000.0, 2000.0], "generate": [500.0, 500.0]},
                       "residuals": {"tpot": [0.0]}})


def calibrated(tmp_path, text: str, **terms: float):
    (tmp_path / "cal.json").write_text(calibration(**terms))
    return load_plan_text(text + 'calibration from "cal.json"\n', base_dir=tmp_path)


def test_a_share_of_one_half_gives_the_engine_half_the_kv_tokens_and_the_requests_they_admit(tmp_path):
    plan = calibrated(tmp_path, plan_text(), kv_cache_share=0.5)
    assert plan.cluster.engine.terms.kv_cache_share == 0.5
    r = check(plan)[0]
    stage = r.memory.worst
    assert stage.weights_bytes == WEIGHTS_BYTES == 29_539_379_200
    # the KV cache: half of what the weights, the activations and the reserve leave of the 48 GB
    free = GPU_BYTES - WEIGHTS_BYTES - stage.activation_bytes - RESERVE_BYTES
    assert stage.kv_cache_bytes == 0.5 * free
    tokens = math.floor(0.5 * free / KV_BYTES_PER_TOKEN)
    full, running = tokens // 2500, math.floor(tokens / 2250)      # at full length; at the mean context
    assert (full, running) == (14, 15)                              # uncalibrated: 28 and 31 (test_admission.py)
    a = admission(plan.workload, r.layout, r.memory)
    assert a.kv_tokens == tokens and a.effective == running
    assert r.metrics.concurrency_effective == running               # the steady state runs 15 at once
    (w,) = [d for d in r.diagnostics if d.code == "W520"]
    assert (f"the KV cache, the calibration's 50 % of what the rest leaves (`kv_cache_share`), holds {full} of the "
            f"128 requests of `batch` at full length (2,500 tokens; {tokens:,} tokens a rank); in flight the engine "
            f"runs ≈ {running} at their mean context") in w.message
    # the memory to run all 128: of each byte added, the KV cache holds half
    lift = GPU_BYTES + (128 * 2250 - tokens) * KV_BYTES_PER_TOKEN / 0.5
    assert f"GPUs of {lift / 2**30:.2f} GiB would run all 128" in w.hint
    # the load simulation's blocks: the same tokens
    assert kv_capacity_tokens(plan, r.strategy, r.layout) == tokens
    # the report and the terminal say it where the engine's terms are
    assert report_json(r)["assumptions"]["engine"]["kv_cache_share"] == 0.5
    vllm = engine_of("vllm")            # (pytorch's sentence is the plain reference's, no terms in it)
    vllm = vllm.model_copy(update={"terms": vllm.terms.model_copy(update={"kv_cache_share": 0.5})})
    assert "in flight its KV cache 0.5 of what the weights, activations and reserve leave (`kv_cache_share`)" in \
        engine_text(plan.cluster.model_copy(update={"engine": vllm}))


def test_a_burst_of_the_load_simulation_holds_what_the_smaller_cache_holds(tmp_path):
    burst = "batch = 128  prompt = 2000  generate = 100  serving = inflight  concurrency = 60  requests = 60"
    own = check(load_plan_text(plan_text(burst)))[0]
    half = check(calibrated(tmp_path, plan_text(burst), kv_cache_share=0.5))[0]
    assert half.load is not None and own.load is not None
    # the blocks the simulation admits by: half of what the rest leaves, by hand
    free = GPU_BYTES - WEIGHTS_BYTES - half.memory.worst.activation_bytes - RESERVE_BYTES
    assert half.load.load.kv_tokens == math.floor(0.5 * free / KV_BYTES_PER_TOKEN)
    assert own.load.load.kv_tokens == math.floor(free / KV_BYTES_PER_TOKEN)
    # 2,100 tokens a request at most: ≈ 34 at once where ≈ 17 fit, and the burst of 60 decodes fewer at once
    said = [decoding(dagc_figures(r.plan)[0]) for r in (own, half)]
    assert said[1] < 0.7 * said[0]
    assert half.load.figures.duration_s > own.load.figures.duration_s


def test_a_file_without_the_share_reads_as_one_and_changes_no_figure(tmp_path):
    own = check(load_plan_text(plan_text()))[0]
    old = calibrated(tmp_path, plan_text())                 # a file written before `kv_cache_share`
    assert old.cluster.engine.terms.kv_cache_share == 1.0 and old.calibration.kv_cache_share == 1.0
    r = check(old)[0]
    assert r.memory.worst.kv_cache_bytes == own.memory.worst.kv_cache_bytes
    assert r.metrics.concurrency_effective == own.metrics.concurrency_effective == 31
    assert "(`kv_cache_share`)" not in engine_text(old.cluster.model_copy(update={"engine": engine_of("vllm")}))


@pytest.mark.parametrize(("share", "said"), [(0.0, "must be above 0"), (-0.5, "must be above 0"),
                                             (1.5, "is above 1: the most it may be")])
def test_a_share_outside_zero_to_one_is_e109_located_at_the_statement(tmp_path, share, said):
    with pytest.raises(PlanError) as exc:
        calibrated(tmp_path, plan_text(), kv_cache_share=share)
    (e,) = exc.value.diagnostics
    assert e.code == "E109" and f"terms.kv_cache_share {said}" in e.message    # pydantic's words until 2026-12-03
    assert e.span.source.text[e.span.start:e.span.end] == '"cal.json"'


def _burst(p: int, g: int, n: int) -> Job:
    """An offline burst of `n` requests that dagc made with an engine whose KV cache holds half of dagc's."""
    plan = load_plan_text(plan_text(f"batch = 128  prompt = {p}  generate = {g}  serving = inflight  "
                                    f"concurrency = {n}  requests = {n}"))
    f, why = dagc_figures(plan, {"kv_cache_share": 0.5})
    assert why is None
    run = MeasuredRun(id=f"burst{p}", path=f"burst{p}.json", tool="vllm", src=SourceFile(f"burst{p}.json", "{}"),
                      requests=n, concurrency=n, prompt=float(p), generate=float(g),
                      measured={k: f[k] for k in ("tpot_ms", "output_tokens_per_s", "ttft_ms")})
    return Job(run, plan, "plan.moe")


def test_a_calibration_on_bursts_that_decoded_fewer_requests_at_once_fits_the_share():
    jobs = [_burst(2000, 100, 100), _burst(1000, 200, 150), _burst(3000, 50, 80)]
    cal = calibrate(jobs)
    # by hand: each burst's requests at once (Little's law: output tokens/s × TPOT), measured over dagc's at the
    # engine's own terms, and their median
    shares = sorted(decoding(j.run.measured) / decoding(b) for j, b in zip(cal.jobs, cal.before, strict=True))
    assert cal.kv.bursts == 3 and cal.kv.median == shares[1] and cal.kv.taken and shares[1] < TAKEN_BELOW
    assert cal.terms["kv_cache_share"] == shares[1] == pytest.approx(0.5, rel=0.07)    # the engine's 0.5
    doc = cal.document()
    assert doc["terms"]["kv_cache_share"] == shares[1]
    assert doc["fit"]["kv_cache_share"] == {"median": shares[1], "bursts": 3, "below": 3, "taken": True,
                                            "binds": True, "min_bursts": 2, "taken_below": 0.8, "agree": 2 / 3}
    # the terms were fitted with the share: the calibrated TPOT meets the bursts' (uncalibrated 40 % and more off)
    for j, a, b in zip(cal.jobs, cal.after, cal.before, strict=True):
        m = j.run.measured["tpot_ms"]
        assert abs(a["tpot_ms"] / m - 1) < 0.1 < abs(b["tpot_ms"] / m - 1)
    # one burst is too few: the share is not taken
    one = calibrate(jobs[:1])
    assert one.kv.bursts == 1 < MIN_BURSTS and not one.kv.taken and one.terms["kv_cache_share"] == 1.0


def test_the_command_says_the_share_and_why_it_has_its_value():
    from dagc.calibrate.kv_share import KvShare
    from dagc.cli.calibrate_cmd import _kv_text

    class Cal:
        def __init__(self, kv: KvShare) -> None:
            self.kv = kv
    assert _kv_text(Cal(KvShare(0.5569, 6, True, 5))) == (
        "0.557 (was 1; the engine decoded 0.557 of dagc's requests at once, the median of 6 offline bursts: in flight "
        "its KV cache holds that share of what the weights, activations and reserve leave, and the terms above were "
        "fitted with it)")
    assert _kv_text(Cal(KvShare(0.7, 1, False, 1))) == (
        "1 (kept: the engine decoded 0.7 of dagc's requests at once, the median of 1 offline burst; a share is "
        "fitted from 2 bursts or more)")
    assert _kv_text(Cal(KvShare(1.478, 6, False, 3))) == (
        "1 (kept: the engine decoded 1.48 of dagc's requests at once, the median of 6 offline bursts; 3 of them "
        "below 0.8, where 2 in 3 must be)")


def _capped_burst(n: int) -> Job:
    """An offline burst of `n` requests of 1,024 + 256 tokens on a plan of `batch = 16`, which the KV cache holds
    several times over, measured decoding 10 requests at once (an engine whose `--max-num-seqs` is 10)."""
    plan = load_plan_text(plan_text(f"batch = 16  prompt = 1024  generate = 256  serving = inflight  "
                                    f"concurrency = {n}  requests = {n}  ramp = 0 s"))
    f, why = dagc_figures(plan)
    assert why is None
    at_once = 10.0
    run = MeasuredRun(id=f"burst{n}", path=f"burst{n}.json", tool="vllm", src=SourceFile(f"burst{n}.json", "{}"),
                      requests=n, concurrency=n, prompt=1024.0, generate=256.0,
                      measured={"tpot_ms": f["tpot_ms"], "output_tokens_per_s": at_once / f["tpot_ms"] * 1e3,
                                "ttft_ms": f["ttft_ms"]})
    return Job(run, plan, "plan.moe")


def test_a_share_that_binds_no_burst_is_not_taken():
    # dagc's bursts run the plan's 16 requests at once (its `batch`), the engine's 10: a KV cache of 10 / ~15 of
    # dagc's, which holds far more than 16 such requests, holds them still. It was taken: the calibrated figures were
    # the uncalibrated ones, and a plan of a larger `batch` got a KV cache of that share
    from dagc.cli.calibrate_cmd import _kv_text
    cal = calibrate([_capped_burst(300), _capped_burst(200)])
    shares = [decoding(j.run.measured) / decoding(b) for j, b in zip(cal.jobs, cal.before, strict=True)]
    assert all(s < TAKEN_BELOW for s in shares) and cal.kv.bursts == 2 and cal.kv.below == 2
    assert (cal.kv.taken, cal.kv.binds, cal.terms["kv_cache_share"]) == (False, False, 1.0)
    assert cal.document()["fit"]["kv_cache_share"]["binds"] is False
    assert _kv_text(cal).startswith(f"1 (kept: the engine decoded {cal.kv.median:.3g} of dagc's requests at once, the "
                                    "median of 2 offline bursts, but a KV cache of that share changes none of dagc's "
                                    "figures of them")
    assert "below the plan's `batch`: give the plan that cap, `--set workload.batch=N`)" in _kv_text(cal)
