"""Every rule: documented, unique, triggered by a bad plan and silent on a good one."""

from __future__ import annotations

import json
import re

import pytest

from dagc.diagnostics import PlanError, render
from dagc.lang.load import load_plan, load_plan_text
from dagc.rules import RULES, explain
from dagc.verdict.check import check
from conftest import ROOT, plan_text
from hf_configs import MIXTRAL_8X7B

SPEC_CODES = {"E101", "E102", "E103", "E201", "E202", "E203", "E204", "E301", "E302", "E303", "E304", "E305",
              "E401", "E402", "W501", "W502", "W503", "W504", "W505", "W506", "N601", "N602", "N603"}

QWEN = 'model preset "qwen3-30b-a3b"'
DENSE = 'model "dense" { layers = 32  hidden = 4096  heads = 32  kv_heads = 8  vocab = 32000  ffn = 14336 }'
C16 = 'cluster { gpus = 16  gpus_per_node = 8  gpu preset "h100-sxm" }'
C24 = 'cluster { gpus = 24  gpus_per_node = 8  gpu preset "h100-sxm" }'
A100 = 'cluster { gpus = 8  gpus_per_node = 8  gpu preset "a100-80g" }'

ENGINE = 'cluster { gpus = 8  gpus_per_node = 8  gpu preset "h100-sxm"  kernels from "engine.json" }'


def engine_profile(etp: int, ep: int) -> str:
    """The built-in H100 profile with an engine's fused MoE layer of Mixtral-8x7B measured at one split."""
    doc = json.loads((ROOT / "dagc" / "data" / "kernels" / "h100-sxm.json").read_text())
    doc["tables"]["fused_moe"] = [dict(dtype="bf16", tokens=n, hidden=4096, inter=14336, topk=2, experts=8, tp=etp,
                                       ep=ep, seconds=1e-4 * n ** 0.5) for n in (1, 64, 4096)]
    return json.dumps(doc)


def sglang_profile() -> str:
    """The built-in H100 profile as if imported from SGLang's tables (its provenance names the engine)."""
    doc = json.loads((ROOT / "dagc" / "data" / "kernels" / "h100-sxm.json").read_text())
    doc["provenance"]["source"] = "aiconfigurator-core 0.12.0: h100_sxm / sglang 0.5.14"
    return json.dumps(doc)


# A request log (the first lines of the Azure LLM inference trace 2023, code) replayed as the traffic.
AZURE_LOG = ("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.9799600,4808,10\n"
             "2023-11-16 18:17:04.0319600,3180,8\n2023-11-16 18:17:04.0781490,110,27\n")
LOGGED = 'workload { batch = 8  prompt = 2048  generate = 64  serving = inflight  requests from "trace.csv" }'

def calibration(**changes) -> str:
    """A calibration file (`dagc calibrate`'s format) of the base plan's deployment, with `changes`."""
    run = {"id": "r.json", "file": "r.json", "tool": "vllm", "requests": 100, "prompt": 2048.0, "generate": 256.0,
           "rate": 4.0, "concurrency": None, "measured": {"tpot_ms": 10.0}, "dagc": {"tpot_ms": 10.0},
           "cross_validated": {"tpot_ms": 10.0}}
    doc = {"format": 1, "engine": "pytorch", "release": None, "gpu": "h100-sxm", "gpus": 8, "model": "mixtral-8x7b",
           "terms": {"step_s": 0.001, "frontend_s": 0.01}, "runs": [run],
           "range": {"prompt": [2048.0, 2048.0], "generate": [256.0, 256.0], "rate": [4.0, 4.0]},
           "residuals": {"tpot": [0.0]}}
    return json.dumps(doc | changes)


CALIBRATED = 'calibration from "cal.json"'

INFLIGHT = ("workload {{ batch = {batch}  prompt = {prompt}  generate = {generate}  "
            "serving = inflight  chunk = {chunk} }}")

H100_ON = 'cluster {{ gpus = 8  gpu preset "h100-sxm"  engine = {engine} }}'

TRAFFIC = "workload {{ batch = 64  prompt = 2048  generate = 256  rate = 4 requests/s  requests = {requests} }}"

# code: (bad plan parts, good plan parts)
FIXTURES = {
    "E001": (dict(cluster="cluster { gpus: 8 }"), {}),
    "E002": (dict(model='model from "missing.json"'), {}),
    "E111": (dict(workload="workload { batch = 64  prompt = 100000  generate = 256 }"), {}),
    "E101": (dict(strategy="strategy tq 8"), {}),
    "E102": (dict(cluster='cluster { gpus = 8  gpu preset "h100-sxm"  inter_node = 50 ms }'), {}),
    "E103": (dict(workload="workload { batch = 64 }"), {}),
    "E104": (dict(workload="workload { batch = 0  prompt = 2048  generate = 256 }"), {}),
    "E105": (dict(cluster='cluster { gpus = 8  gpu preset "h100-sxm"  kernels from "missing.json" }'), {}),
    "E107": (dict(cluster='cluster { gpus = 8  gpu "x" { memory = 80 GB  flops = 1 PFLOPS  hbm = 3 MB/s } }'),
             dict(cluster='cluster { gpus = 8  gpu "x" { memory = 80 GB  flops = 1 PFLOPS  hbm = 3 TB/s } }')),
    "E106": (dict(workload='workload { batch = 64  prompt = 2048  generate = 256  routing from "missing.json" }'), {}),
    "E108": (dict(workload=LOGGED, files=lambda: {"trace.csv": AZURE_LOG.replace(",4808,", ",48.5,")}),
             dict(workload=LOGGED, files=lambda: {"trace.csv": AZURE_LOG})),
    "E201": (dict(strategy="strategy pp 2 < dp 2 < tp 2 > >"), dict(strategy="strategy dp 2 < pp 2 < tp 2 > >")),
    "E202": (dict(strategy="strategy tp 2 ep 4"), dict(strategy="strategy tp 2 ; ep 4")),
    "E203": (dict(model=QWEN, cluster=C16, strategy="strategy tp 8 ; ep 4 etp 3"),
             dict(model=QWEN, cluster=C16, strategy="strategy tp 4 ; ep 4 etp 3")),
    "E204": (dict(strategy="strategy tp 2 tp 4"), dict(strategy="strategy tp 8")),
    "E301": (dict(cluster=C16, strategy="strategy ep 16"), dict(strategy="strategy ep 8")),
    "E302": (dict(strategy="strategy tp 3"), dict(strategy="strategy tp 4")),
    "E303": (dict(strategy="strategy pp 4 [8, 8, 8, 6] < tp 2 >"),
             dict(strategy="strategy pp 4 [8, 8, 8, 8] < tp 2 >")),
    "E304": (dict(model=DENSE, strategy="strategy tp 2 ; ep 4"), dict(model=DENSE, strategy="strategy tp 8")),
    "E305": (dict(cluster=C16, strategy="strategy tp 4 ; ep 4 etp 3"), dict(strategy="strategy tp 4 ; ep 4 etp 2")),
    "E306": (dict(strategy="strategy tp 2 cp 4", workload="workload { batch = 64  prompt = 2  generate = 256 }"),
             dict(strategy="strategy tp 2 cp 4", workload="workload { batch = 64  prompt = 4  generate = 256 }")),
    "E401": (dict(strategy="strategy dp 2 < tp 8 >"), dict(cluster=C16, strategy="strategy dp 2 < tp 8 >")),
    "E402": (dict(model='model preset "deepseek-v3"'), {}),
    "W501": (dict(cluster=C24, strategy="strategy pp 3 < tp 8 >"),
             dict(cluster=C24, strategy="strategy pp 2 < tp 8 >")),
    "W502": (dict(cluster=C16, strategy="strategy tp 16"), dict(cluster=C16, strategy="strategy pp 2 < tp 8 >")),
    "W503": (dict(strategy="strategy tp 2 ; ep 8", workload="workload { batch = 63  prompt = 2048  generate = 256 }"),
             dict(strategy="strategy tp 2 ; ep 8")),
    "W504": (dict(cluster=C16, strategy="strategy pp 2 < tp 8 >",
                  workload="workload { batch = 64  prompt = 2048  generate = 256  microbatches = 1 }"),
             dict(cluster=C16, strategy="strategy pp 2 < tp 8 >")),
    "W505": (dict(cluster=C16), {}),
    "W506": (dict(require="require { ttft <= 1 ms }"), dict(require="require { ttft <= 10 s }")),
    "W507": (dict(workload="workload { batch = 4096  prompt = 64  generate = 8  microbatches = 4096 }"), {}),
    "W508": (dict(strategy="strategy tp 1 sp ; ep 8"), dict(strategy="strategy tp 8 sp")),
    "W509": (dict(model='model preset "mixtral-8x7b" { weights = fp8 }', cluster=A100),
             dict(model='model preset "mixtral-8x7b" { weights = fp8 }')),
    "W510": (dict(workload="workload { batch = 8  prompt = 2048  generate = 256  microbatches = 64 }"),
             dict(workload="workload { batch = 8  prompt = 2048  generate = 256  microbatches = 8 }")),
    "W512": (dict(workload="workload { batch = 32  prompt = 512  generate = 64  microbatches = 1  "
                           "overlap = microbatch }"),
             dict(workload="workload { batch = 32  prompt = 512  generate = 64  microbatches = 2  "
                           "overlap = microbatch }")),
    # the bad and fixed examples of the serving rules' documentation
    "E307": (dict(workload=INFLIGHT.format(batch=256, prompt=4000, generate=500, chunk=256)),
             dict(workload=INFLIGHT.format(batch=256, prompt=4000, generate=500, chunk=8192))),
    "W513": (dict(workload=INFLIGHT.format(batch=512, prompt=8000, generate=100, chunk=2048)),
             dict(workload=INFLIGHT.format(batch=24, prompt=8000, generate=100, chunk=2048))),
    "E205": (dict(strategy="strategy dp 2 < prefill 1 < tp 2 > decode 1 < tp 2 > >"),
             dict(workload=INFLIGHT.format(batch=16, prompt=1000, generate=100, chunk=8192),
                  strategy="strategy prefill 1 < tp 2 > decode 1 < tp 4 ; ep 4 >")),
    "E308": (dict(workload=INFLIGHT.format(batch=16, prompt=1000, generate=100, chunk=8192),
                  strategy="strategy prefill 2 < tp 4 > decode 1 < tp 4 ; ep 4 >"),
             dict(workload=INFLIGHT.format(batch=16, prompt=1000, generate=100, chunk=8192),
                  strategy="strategy prefill 1 < tp 4 > decode 1 < tp 4 ; ep 4 >")),
    "E309": (dict(strategy="strategy prefill 1 < tp 2 > decode 1 < tp 4 ; ep 4 >"),
             dict(workload=INFLIGHT.format(batch=16, prompt=1000, generate=100, chunk=8192),
                  strategy="strategy prefill 1 < tp 2 > decode 1 < tp 4 ; ep 4 >")),
    "W514": (dict(workload="workload { batch = 64  prompt = 4000  generate = 500  chunk = 8192 }"),
             dict(workload=INFLIGHT.format(batch=64, prompt=4000, generate=500, chunk=8192))),
    "W516": (dict(strategy="strategy tp 2 ; ep 8 with redundant 8"), dict(strategy="strategy tp 2 ; ep 8")),
    "W515": (dict(model='model preset "mixtral-8x7b" { window { size = 8192 } }'),
             dict(model='model preset "mixtral-8x7b" { window { size = 128 } }')),
    "W511": (dict(model='model preset "mixtral-8x7b" { layers = 5000 }', strategy="strategy pp 5000",
                  cluster='cluster { gpus = 5000  gpu preset "h100-sxm" }'), {}),
    "N001": (dict(strategy="strategy" + " tp 2" * 60), dict(strategy="strategy tp 8")),
    "W517": (dict(cluster=ENGINE, files=lambda: {"engine.json": engine_profile(1, 8)}),
             dict(cluster=ENGINE, files=lambda: {"engine.json": engine_profile(8, 1)})),
    "W530": (dict(cluster=ENGINE.replace(" }", "  engine = vllm }"), files=lambda: {"engine.json": sglang_profile()}),
             dict(cluster=ENGINE, files=lambda: {"engine.json": sglang_profile()})),
    "W531": (dict(cluster=H100_ON.format(engine="sglang"), require="require { ttft <= 100 ms }",
                  workload=INFLIGHT.format(batch=8, prompt=256, generate=128, chunk=8192), strategy="strategy tp 8"),
             dict(cluster=H100_ON.format(engine="vllm"), require="require { ttft <= 100 ms }",
                  workload=INFLIGHT.format(batch=8, prompt=256, generate=128, chunk=8192), strategy="strategy tp 8")),
    "W532": (dict(cluster=H100_ON.format(engine="trtllm"),
                  workload=INFLIGHT.format(batch=40, prompt=256, generate=128, chunk=8192), strategy="strategy tp 8"),
             dict(cluster=H100_ON.format(engine="trtllm"),
                  workload=INFLIGHT.format(batch=32, prompt=256, generate=128, chunk=8192), strategy="strategy tp 8")),
    "W518": (dict(workload=TRAFFIC.format(requests="1e7")), dict(workload=TRAFFIC.format(requests=100))),
    "W521": (dict(workload=TRAFFIC.format(requests=20), require="require { ttft_p99 <= 2 s }"),
             dict(workload=TRAFFIC.format(requests=1000), require="require { ttft_p99 <= 2 s }")),
    "W522": (dict(require="require { ttft >= 1 s }"), dict(require="require { ttft <= 1 s }")),
    "W525": (dict(workload="workload { batch = 64  prompt = 2048  generate = 256\n"
                           "  speculative { method = eagle  tokens = 4  acceptance = 0.95 } }"),
             dict(workload="workload { batch = 64  prompt = 2048  generate = 256\n"
                           "  speculative { method = eagle  tokens = 4  acceptance = 0.7 } }")),
    "W523": (dict(require="require { throughput <= 1000 tokens/s }"),
             dict(require="require { throughput >= 1000 tokens/s }")),
    "W524": (dict(require="require { memory <= 200 GB }"), dict(require="require { memory <= 60 GB }")),
    "W527": (dict(require="require { memory <= 3 GB }"), dict(require="require { memory <= 90 %  }")),
    "E109": (dict(calibration=CALIBRATED, files=lambda: {"cal.json": calibration(gpu="h200")}),
             dict(calibration=CALIBRATED, files=lambda: {"cal.json": calibration()})),
    "W540": (dict(calibration=CALIBRATED, files=lambda: {"cal.json": calibration(range={
                  "prompt": [256.0, 512.0], "generate": [256.0, 256.0]})}),
             dict(calibration=CALIBRATED, files=lambda: {"cal.json": calibration()})),
    "W541": (dict(calibration=CALIBRATED, files=lambda: {"cal.json": calibration(terms={
                  "step_s": 0.001, "frontend_s": 0.01, "compute_time_scale": 5.0})}),
             dict(calibration=CALIBRATED, files=lambda: {"cal.json": calibration(terms={
                  "step_s": 0.001, "frontend_s": 0.01, "compute_time_scale": 4.9})})),
    # a model written out without `context_length` (its context not known): a 30,000,000-token request is within
    # it, and larger than a rank's KV cache (Mixtral's context, 32,768 tokens, would refuse it first: E111)
    "W519": (dict(model=DENSE, workload=LOGGED, files=lambda: {"trace.csv": AZURE_LOG.replace(",4808,", ",30000000,")}),
             dict(model=DENSE, workload=LOGGED, files=lambda: {"trace.csv": AZURE_LOG})),
    # the lognormal draws of 200 requests of a 4,000-token mean send some prompts past 8,192 tokens
    "W526": (dict(workload="workload { batch = 64  prompt = 4000  generate = 256  serving = inflight  chunk = 8192  "
                           "chunked_prefill = off  rate = 4 requests/s  requests = 200  lengths = lognormal }"),
             dict(workload="workload { batch = 64  prompt = 4000  generate = 256  serving = inflight  chunk = 8192  "
                           "rate = 4 requests/s  requests = 200  lengths = lognormal }")),
    # exponential draws of 200 requests around 12,000 + 500 tokens send 5 past qwen3-30b-a3b's 40,960-token context;
    # uniform ones stay within twice the means
    "W528": (dict(model=QWEN, workload="workload { batch = 64  prompt = 12000  generate = 500  serving = inflight  "
                                       "rate = 2 requests/s  requests = 200  lengths = exponential }"),
             dict(model=QWEN, workload="workload { batch = 64  prompt = 12000  generate = 500  serving = inflight  "
                                       "rate = 2 requests/s  requests = 200  lengths = uniform }")),
    # a named engine's traffic served statically: simulated as batches the engine does not run
    "W534": (dict(cluster=H100_ON.format(engine="sglang"),
                  workload="workload { batch = 16  prompt = 512  generate = 64  rate = 2 requests/s  requests = 100 }"),
             dict(cluster=H100_ON.format(engine="sglang"), workload="workload { batch = 16  prompt = 512  "
                  "generate = 64  serving = inflight  rate = 2 requests/s  requests = 100 }")),
    # a log of 2,699 + 15 tokens a request on average ((4,808 + 3,180 + 110) / 3, (10 + 8 + 27) / 3) under a workload
    # of 2,048 + 64: the steady state priced at lengths the log does not send
    "W536": (dict(model=DENSE, workload=LOGGED, files=lambda: {"trace.csv": AZURE_LOG}),
             dict(model=DENSE, workload=LOGGED.replace("prompt = 2048  generate = 64", "prompt = 2699  generate = 15"),
                  files=lambda: {"trace.csv": AZURE_LOG})),
    # a node of 16 H100s: one HGX board's NVLink domain holds 8
    "W535": (dict(cluster='cluster { gpus = 16  gpus_per_node = 16  gpu preset "h100-sxm" }'),
             dict(cluster='cluster { gpus = 16  gpus_per_node = 8  gpu preset "h100-sxm" }')),
    "W520": (dict(workload=INFLIGHT.format(batch=256, prompt=30000, generate=2000, chunk=8192)),
             dict(workload=INFLIGHT.format(batch=16, prompt=30000, generate=2000, chunk=8192))),
    "N601": (dict(model=QWEN), dict(model=QWEN, strategy="strategy tp 4")),
    "N602": (dict(strategy="strategy tp 2 ; ep 8"), dict(model=DENSE)),
    "N604": (dict(require="require { decode_throughput >= 100 tokens/ms/gpu }"),
             dict(require="require { decode_throughput >= 100 tokens/s/gpu }")),
    "N603": (dict(model=QWEN, cluster=C16, strategy="strategy tp 2 ; ep 16"),
             dict(model=QWEN, cluster=C16, strategy="strategy dp 2 < tp 2 ; ep 8 >")),
    "N605": (dict(workload="workload { batch = max  prompt = 2048  generate = 256 }"), {}),
    # mxfp4 beyond the routed experts: MXFP4 checkpoints keep the rest in bf16
    "W545": (dict(model='model preset "mixtral-8x7b" { weights = mxfp4 }'),
             dict(model='model preset "mixtral-8x7b" { moe { weights = mxfp4 } }')),
    # replicas of 4 GPUs on nodes of 6: replica 0's tp 4 group (ranks 0–3) inside a node, replica 1's (4–7) across two
    "W544": (dict(cluster='cluster { gpus = 12  gpus_per_node = 6  gpu preset "h100-sxm" }',
                  strategy="strategy dp 3 < tp 4 >"),
             dict(cluster='cluster { gpus = 12  gpus_per_node = 6  gpu preset "h100-sxm" }',
                  strategy="strategy dp 6 < tp 2 >")),
    # a config.json whose layers are 3 in 4 linear attention (Qwen3-Next's key): costed as full attention, said
    "W543": (dict(model='model from "config.json"',
                  files=lambda: {"config.json": json.dumps({**MIXTRAL_8X7B, "full_attention_interval": 4})}),
             dict(model='model from "config.json"', files=lambda: {"config.json": json.dumps(MIXTRAL_8X7B)})),
    # 29,443 tokens/s end to end, of which 5,140 generated in decode
    "N606": (dict(require="require { throughput >= 20000 tokens/s }"),
             dict(require="require { throughput >= 5000 tokens/s }")),
}


LAUNCH_CODES = {"E701", "E702", "E703", "E704", "E705", "E706", "E707", "E711", "E712", "E713", "E714", "E721",
                "E722", "E723", "E724", "E725", "E726"}
LAUNCH_CODES |= {"E708", "E709", "E710", "E715", "E727", "E728", "E729", "E730", "E731", "E732", "E733", "E734"}
# W533: no engine starts the strategy of a plan that names none — from the launch mapping, which `dagc.check` runs
# (dagc.launch.engine_check) and this module's `check` does not (tests/test_mtp_any_engine.py)
LAUNCH_CODES |= {"W533", "N607"}      # N607: the default engine refuses, another starts (tests/test_default_refuses.py)
# E110: a measured run `dagc calibrate` cannot fit on; W542: a calibration that predicts a quantity of its runs worse
# than the engine's own — emitted by that command only (tests/test_calibrate*.py)
CALIBRATE_CODES = {"E110", "W542"}


def codes(tmp_path, parts) -> set[str]:
    parts = dict(parts)
    for name, text in parts.pop("files", dict)().items():     # files the plan reads, beside it
        (tmp_path / name).write_text(text)
    path = tmp_path / "plan.moe"
    path.write_text(plan_text(**parts))
    try:
        results = check(load_plan(path))
    except PlanError as exc:
        return {d.code for d in exc.diagnostics}
    return {d.code for r in results for d in r.diagnostics}


def test_codes_unique_documented_and_complete():
    all_codes = [r.code for r in RULES]
    assert len(all_codes) == len(set(all_codes))
    assert SPEC_CODES <= set(all_codes)
    # E7xx: what a serving engine cannot express, emitted by `dagc launch` only (tests/test_launch.py)
    assert set(all_codes) - LAUNCH_CODES - CALIBRATE_CODES == set(FIXTURES)
    for r in RULES:
        doc = explain(r.code)
        assert doc.startswith(f"{r.code} ({r.severity.value}): ")
        assert len(r.doc.strip()) > 60, r.code
        assert re.search(r"^(Bad|Example):", doc, re.M), f"{r.code} has no example"
        if r.severity.value == "error":
            assert re.search(r"^Fixed:", doc, re.M), f"{r.code} has no fixed example"


@pytest.mark.parametrize("code", sorted(FIXTURES))
def test_rule_triggers(bad_plan_diagnostics, code):
    assert code in {d.code for d in bad_plan_diagnostics(code)}


@pytest.mark.parametrize("code", sorted(FIXTURES))
def test_rule_silent_on_good_plan(tmp_path, code):
    found = codes(tmp_path, FIXTURES[code][1])
    assert code not in found
    assert not {c for c in found if c.startswith("E")}, found


def diagnostics_of(tmp_path, parts) -> list:
    parts = dict(parts)
    for name, text in parts.pop("files", dict)().items():
        (tmp_path / name).write_text(text)
    path = tmp_path / "plan.moe"
    path.write_text(plan_text(**parts))
    try:
        return [d for r in check(load_plan(path)) for d in r.diagnostics]
    except PlanError as exc:
        return list(exc.diagnostics)


@pytest.fixture(scope="module")
def bad_plan_diagnostics(tmp_path_factory):
    """Every diagnostic dagc gives a rule's bad plan (`FIXTURES[code][0]`, its check's or its `PlanError`'s), the plan
    written in a directory of its own and checked once in this module: read by the test that the rule triggers
    and by the test that each error and warning is located with a hint (some bad plans simulate their traffic)."""
    done: dict[str, list] = {}

    def diagnostics(code: str) -> list:
        if code not in done:
            done[code] = diagnostics_of(tmp_path_factory.mktemp(code), FIXTURES[code][0])
        return done[code]
    return diagnostics


@pytest.mark.parametrize("code", sorted(FIXTURES))
def test_every_error_and_warning_of_a_bad_plan_has_a_span_and_a_hint(bad_plan_diagnostics, code):
    """Whatever a bad plan triggers — its own rule and any other — each error and warning is located and says what
    to do (`= help:`); E204 of `tp 8 ; ep 8 ; ep 2` and W505 of a cluster a strategy does not fill by a whole dp."""
    for d in bad_plan_diagnostics(code):
        if d.severity.value != "note":
            assert d.span is not None and d.hint, (d.code, d.message)


@pytest.mark.parametrize("strategy", ["tp 8 ; ep 8 ; ep 2", "tp 2 tp 4", "tp 2 < ep 4 >", "tp 8 ep 8", "tp 0",
                                      "dp 2 < tp 3 ; ep 2 >", "pp 2 < pp 2 < tp 2 > >"])
def test_every_e2xx_has_a_hint(strategy):
    found = [d for d in check(load_plan_text(plan_text(strategy=f"strategy {strategy}")))[0].diagnostics
             if d.code.startswith("E2")]
    assert found and all(d.span is not None and d.hint for d in found), [(d.code, d.hint) for d in found]


def test_w505_has_a_hint_when_no_whole_dp_fills_the_cluster(tmp_path):
    d = next(d for d in diagnostics_of(tmp_path, dict(cluster=C16, strategy="strategy pp 3 < tp 4 >"))
             if d.code == "W505")
    assert d.hint == "a strategy of 16 GPUs would use them all, or `gpus = 12` rents only what this one uses"
    # `tp 4 ; ep 12` breaks E301 (8 experts): no replica or count of it is suggested
    d = next(d for d in diagnostics_of(tmp_path, dict(cluster=C16, strategy="strategy tp 4 ; ep 12"))
             if d.code == "W505")
    assert d.hint == "a legal strategy of 16 GPUs would use them all: `dagc search` ranks those that are"


def test_all_diagnostics_reported_together():
    text = plan_text(cluster='cluster { gpus = 4  gpu preset "h100-sxm" }', strategy="strategy pp 64 < tp 3 ; ep 16 >")
    found = {d.code for d in check(load_plan_text(text))[0].diagnostics}
    assert {"E301", "E302", "E303", "E401"} <= found


def test_e202_hint_shows_semicolon_form():
    d = next(d for d in check(load_plan_text(plan_text(strategy="strategy pp 2 < tp 2 ep 4 >")))[0].diagnostics)
    assert d.code == "E202" and "`tp 2 ; ep 4`" in d.hint and "max(2, 4) = 4" in d.hint
    assert (d.span.line, d.span.column) == (4, 17)
    assert "^^^^^^^^" in render(d)


def test_e301_suggests_largest_legal_ep():
    text = plan_text(model='model preset "qwen3-30b-a3b"', cluster=C16, strategy="strategy ep 12")
    d = next(d for d in check(load_plan_text(text))[0].diagnostics if d.code == "E301")
    assert "the largest ep up to 12 that divides the 128 experts is 8" in d.hint


def test_e101_suggests_nearest_name():
    with pytest.raises(PlanError) as exc:
        load_plan_text(plan_text(model='model preset "mixtral-8x22" { hiden = 2 }'))
    assert "`mixtral-8x22b`" in exc.value.diagnostics[0].hint
    with pytest.raises(PlanError) as exc:
        load_plan_text(plan_text(model='model preset "mixtral-8x7b" { hiden = 2 }'))
    assert "`hidden`" in exc.value.diagnostics[0].hint
    with pytest.raises(PlanError) as exc:          # a misspelt axis refuses the plan, as a misspelt field does
        load_plan_text(plan_text(strategy="strategy ttp 8"))
    d = exc.value.diagnostics[0]
    assert d.code == "E101" and "`tp`" in d.hint


def test_w504_names_bubble_fraction():
    text = plan_text(cluster=C16, strategy="strategy pp 4 < tp 4 >",
                     workload="workload { batch = 64  prompt = 2048  generate = 256  microbatches = 2 }")
    d = next(d for d in check(load_plan_text(text))[0].diagnostics if d.code == "W504")
    assert "60 %" in d.message   # (4-1)/(2+4-1)


def test_w504_hint_says_where_the_micro_batches_came_from():
    """A trial's W504 said "16 micro-batches are asked for" of a plan that never wrote `microbatches`: the count
    was the default, one per pipeline stage, and the hint now says so."""
    def w504(microbatches: str):
        text = plan_text(cluster=C16, strategy="strategy pp 4 < tp 4 >",
                         workload=f"workload {{ batch = 2  prompt = 2048  generate = 256 {microbatches} }}")
        return next(d for d in check(load_plan_text(text))[0].diagnostics if d.code == "W504")

    default = w504("")
    assert default.hint.startswith("the plan sets no `microbatches`, so the default of one per stage asks for 4, "
                                   "but the requests fill only 2 (W510): raise the batch to ")
    assert "are asked for" not in default.hint
    written = w504("microbatches = 4")
    assert written.hint.startswith("4 micro-batches are asked for, but the requests fill only 2 (W510)")


def test_w501_names_only_the_pipeline_degrees_the_cluster_holds():
    """Mixtral's 32 layers as `pp 3` on 4 A100s: `pp 8` and `pp 16` need 8 and 16 GPUs, which the cluster has not
    (until 2026-12-02 the hint named them); on 3 GPUs `pp 2` alone; and 25 layers on 4 GPUs, whose only even degree is
    5, are told that none up to 4 divides them, not that none above 1 does."""
    def hint(gpus: int, strategy: str, layers: str = "") -> str:
        model = f'model preset "mixtral-8x7b" {{ layers = {layers} }}' if layers else 'model preset "mixtral-8x7b"'
        text = plan_text(model=model, cluster=f'cluster {{ gpus = {gpus}  gpu preset "a100-80g" }}',
                         workload="workload { batch = 12  prompt = 512  generate = 64 }",
                         strategy=f"strategy {strategy}")
        return next(d for d in check(load_plan_text(text))[0].diagnostics if d.code == "W501").hint
    assert hint(4, "pp 3 < tp 1 >") == "pp 2 or pp 4 divides 32 layers evenly; or balance with an explicit split " \
        "`pp 3 [a, b, …]`"
    assert hint(3, "pp 3 < tp 1 >").startswith("pp 2 divides 32 layers evenly;")
    assert hint(4, "pp 3 < tp 1 >", layers="25").startswith(
        "no pipeline degree from 2 to 4, the most stages the cluster holds, divides 25 layers evenly")
    assert hint(8, "dp 2 < pp 3 < tp 1 > >").startswith("pp 2 or pp 4 divides")      # 4 GPUs a replica


def test_w501_names_imbalance():
    text = plan_text(cluster=C24, strategy="strategy pp 3 < tp 8 >")
    d = next(d for d in check(load_plan_text(text))[0].diagnostics if d.code == "W501")
    assert "[11, 11, 10]" in d.message and "10.0 %" in d.message
    assert d.hint == "pp 2 or pp 4 or pp 8 or pp 16 divides 32 layers evenly; or balance with an explicit split " \
        "`pp 3 [a, b, …]`"


def test_w501_hint_says_when_no_pipeline_degree_divides_the_layers():
    """DeepSeek-V3's 61 layers: no pipeline degree the search tries divides them."""
    text = ('model preset "deepseek-v3"\ncluster { gpus = 64  gpus_per_node = 8  gpu preset "h800" }\n'
            "workload { batch = 64  prompt = 1024  generate = 128 }\nstrategy pp 4 < tp 1 ; ep 16 >\n")
    d = next(d for d in check(load_plan_text(text))[0].diagnostics if d.code == "W501")
    assert d.hint == ("no pipeline degree above 1 divides 61 layers evenly: balance the stages with an explicit "
                      "split `pp 4 [a, b, …]`, or accept the imbalance")


def test_w501_hint_names_the_even_split_of_a_written_split():
    """A split the plan writes gets the most even split over the same stages, not other degrees: gpt-oss-120b's
    36 layers as `pp 2 [35, 1]` split 18 + 18 (36 / 2), which `pp 2` itself gives."""
    text = ('model preset "gpt-oss-120b"\ncluster { gpus = 2  gpu preset "h100-sxm" }\n'
            "workload { batch = 8  prompt = 1024  generate = 128 }\nstrategy pp 2 [35, 1] < tp 1 >\n")
    d = next(d for d in check(load_plan_text(text))[0].diagnostics if d.code == "W501")
    assert "[35, 1]" in d.message and "3400.0 %" in d.message       # 35 / 1 − 1
    assert d.hint == "`pp 2 [18, 18]` splits the 36 layers evenly, 18 a stage (what `pp 2` without a split gives)"


def test_w501_hint_names_the_most_even_split_of_a_prime_layer_count():
    """DeepSeek-V3's 61 layers written as `pp 4 [20, 20, 20, 1]`: 61 = 4 × 15 + 1, so the first stage takes one
    layer more, [16, 15, 15, 15] — not a request to write an explicit split, which the plan already did."""
    text = ('model preset "deepseek-v3"\ncluster { gpus = 64  gpus_per_node = 8  gpu preset "h800" }\n'
            "workload { batch = 64  prompt = 1024  generate = 128 }\nstrategy pp 4 [20, 20, 20, 1] < tp 1 ; ep 16 >\n")
    d = next(d for d in check(load_plan_text(text))[0].diagnostics if d.code == "W501")
    assert "1900.0 %" in d.message                                    # 20 / 1 − 1
    assert d.hint == ("`pp 4 [16, 15, 15, 15]` is the most even split of 61 layers over 4 stages (what `pp 4` "
                      "without a split gives)")


def test_w501_hint_asks_for_no_split_when_the_written_one_is_already_the_most_even():
    """The user's `pp 2 [31, 30]` of DeepSeek-V3's 61 layers (dsv3-h200-inflight.moe), and `[30, 31]`, as even as
    any: still an imbalance (W501 names it), but no other split evens it, so the hint asks for none."""
    text = ('model preset "deepseek-v3"\ncluster { gpus = 16  gpus_per_node = 8  gpu preset "h200" }\n'
            "workload { batch = 128  prompt = 2000  generate = 500 }\nstrategy pp 2 [SPLIT] < tp 8 ; ep 8 >\n")
    for split in ("31, 30", "30, 31"):
        d = next(d for d in check(load_plan_text(text.replace("SPLIT", split)))[0].diagnostics if d.code == "W501")
        assert d.message == f"uneven layer split [{split}]: the largest stage has 3.3 % more layers than the smallest"
        assert d.hint == (f"[{split}] is already the most even split of 61 layers over 2 stages, and no pipeline "
                          "degree above 1 divides 61 layers evenly: accept the imbalance (3.3 %)")
        assert "explicit split" not in d.hint
    # 32 layers written `pp 3 [11, 10, 11]`: as even as `pp 3` gives; the degrees that divide 32 are named
    d = next(d for d in check(load_plan_text(plan_text(cluster=C24, strategy="strategy pp 3 [11, 10, 11] < tp 8 >"))
                              )[0].diagnostics if d.code == "W501")
    assert d.hint == ("[11, 10, 11] is already the most even split of 32 layers over 3 stages; pp 2 or pp 4 or pp 8 "
                      "or pp 16 divides 32 layers evenly")


def test_w505_counts_unused():
    d = next(d for d in check(load_plan_text(plan_text(cluster=C16)))[0].diagnostics if d.code == "W505")
    assert d.message.startswith("8 of 16 GPUs are unused")


def test_explain_unknown_code():
    assert explain("E999") is None
    assert explain("e202").startswith("E202")


M48 = 'model "m48" { layers = 8  hidden = 6144  heads = 48  kv_heads = 8  vocab = 32000  ffn = 16384 }'
C16N = 'cluster { gpus = 16  gpus_per_node = 16  gpu preset "h100-sxm" }'


def _diags(strategy: str, model: str = M48, cluster: str = C16N):
    return check(load_plan_text(plan_text(model=model, cluster=cluster, strategy=strategy)))[0].diagnostics


@pytest.mark.parametrize(("strategy", "hint"), [
    # 48 heads, 8 KV heads: the tp dividing 48 that divide 8 or are multiples of 8 are 1, 2, 4, 8, 16, 24, 48
    ("strategy tp 6", "use tp 4 (2 KV heads per rank) or tp 8 (1 KV head per rank)"),
    ("strategy tp 12", "use tp 8 (1 KV head per rank) or tp 16 (each KV head on 2 ranks)"),
    ("strategy tp 6 ; ep 6", "use tp 4 (2 KV heads per rank) or tp 8 (1 KV head per rank)"),
    ("strategy tp 12 ; ep 12", "use tp 8 (1 KV head per rank) or tp 16 (each KV head on 2 ranks)"),
])
def test_e302_kv_heads_must_split_evenly_over_tp(strategy, hint):
    ds = _diags(strategy)
    (d,) = [d for d in ds if d.code == "E302"]
    tp = strategy.split()[2]
    assert d.message == (f"8 KV heads do not split evenly over tp {tp}: tp must divide the KV heads or be a "
                         "multiple of them")
    assert d.hint == hint
    assert "N601" not in {d.code for d in ds}          # no replication note for a tp that is refused


@pytest.mark.parametrize("tp", [1, 2, 4, 8, 16])
def test_e302_silent_when_tp_and_kv_heads_divide(tp):
    assert "E302" not in {d.code for d in _diags(f"strategy tp {tp}")}


def test_e302_heads_hint_names_the_nearest_tp_below_and_above_that_also_fit_the_kv_heads():
    # 48 heads, 8 KV heads: tp 1, 2, 4, 8, 16, 24, 48 fit both. tp 5: 4 below, 8 above
    (d,) = [d for d in _diags("strategy tp 5") if d.code == "E302"]
    assert d.message == "48 attention heads are not divisible by tp 5" and d.hint == "use tp 4 or tp 8"
    # tp 7: 6 divides 48 but not 8, so 4 below
    (d,) = [d for d in _diags("strategy tp 7") if d.code == "E302"]
    assert d.hint == "use tp 4 or tp 8"
    # tp 100: nothing above, and below it the most the 16 GPUs hold (tp 24 and 48 fit the heads, not the cluster)
    (d,) = [d for d in _diags("strategy tp 100") if d.code == "E302"]
    assert d.hint == "use tp 16"


def test_e302_names_no_tp_the_cluster_cannot_hold():
    """The hint suggests no tp that E401 then refuses: on 8 GPUs tp 12's neighbour above (16) is left out, and on
    16 with two replicas too."""
    c8 = 'cluster { gpus = 8  gpus_per_node = 8  gpu preset "h100-sxm" }'
    (d,) = [d for d in _diags("strategy tp 12", cluster=c8) if d.code == "E302"]
    assert d.hint == "use tp 8 (1 KV head per rank)"
    (d,) = [d for d in _diags("strategy dp 2 < tp 5 >") if d.code == "E302"]
    assert d.hint == "use tp 4 or tp 8"
    (d,) = [d for d in _diags("strategy dp 2 < tp 12 >") if d.code == "E302"]
    assert d.hint == "use tp 8 (1 KV head per rank)"


def test_n601_counts_the_ranks_holding_each_kv_head():
    (d,) = [d for d in _diags("strategy tp 16") if d.code == "N601"]     # 16 / 8 KV heads = 2 ranks each
    assert d.message == "8 KV heads < tp 16: each KV head is replicated on 2 ranks (one KV head per rank)"
    (d,) = [d for d in _diags("strategy tp 8", model=QWEN, cluster=C16N) if d.code == "N601"]   # 4 KV heads
    assert d.message == "4 KV heads < tp 8: each KV head is replicated on 2 ranks (one KV head per rank)"
    assert "N601" not in {d.code for d in _diags("strategy tp 8")}       # tp = kv: one head per rank, none shared


def test_search_space_has_only_tp_that_split_the_kv_heads():
    from dagc.search.space import candidates
    plan = load_plan_text(plan_text(model=M48, cluster=C16N, strategy="strategy tp 8"))
    assert {s.tp for s, _, _ in candidates(plan)} == {1, 2, 4, 8, 16}


DSV3 = 'model preset "deepseek-v3"'


def test_e402_with_several_stages_gives_the_worst_figure_and_its_stage():
    from dagc.units import format_bytes
    text = plan_text(model=DSV3, cluster=C16, strategy="strategy dp 2 < pp 2 < tp 4 > >")
    (r,) = check(load_plan_text(text))
    (d,) = [d for d in r.diagnostics if d.code == "E402"]
    s0, s1 = r.memory.stages                      # stage 1 holds the LM head on top of its layers
    assert s1.total_bytes > s0.total_bytes > s0.capacity_bytes
    capacity = format_bytes(s1.capacity_bytes)
    assert d.message.startswith(f"each rank of both stages needs more than the GPU's {capacity}: "
                                f"up to {format_bytes(s1.total_bytes)} in stage 1 (ranks 4–7, and the same stage of "
                                "the other replica): weights ")
    assert d.message.endswith(f"+ reserve {format_bytes(s1.reserve_bytes)}")
    assert "other stage(s)" not in d.message and "replica(s)" not in d.message


def test_e402_with_one_stage():
    (r,) = check(load_plan_text(plan_text(model=DSV3)))
    (d,) = [d for d in r.diagnostics if d.code == "E402"]
    assert d.message.startswith("every rank needs ") and "+ reserve 4.00 GiB) of the GPU's 79.65 GiB" in d.message


def test_explain_e402_counts_the_reserve():
    text = explain("E402")
    assert "weights + KV cache + activations + reserve" in text
    assert "4 GiB per GPU" in text and "cluster { reserve = … }" in text


def test_crossing_groups_read_as_english():
    c32 = 'cluster { gpus = 32  gpus_per_node = 8  gpu preset "h100-sxm" }'
    c24 = 'cluster { gpus = 24  gpus_per_node = 6  gpu preset "h100-sxm" }'
    ds = _diags("strategy tp 4 ; ep 32", model=QWEN, cluster=c32)
    assert [d.message for d in ds if d.code == "N603"] == [
        "every EP group of 32 GPUs spans nodes of 8 GPUs: its all-to-all uses the inter-node network"]
    ds = _diags("strategy pp 3 < tp 4 ; ep 8 >", model=QWEN, cluster=c24)    # groups of 4 on nodes of 6
    assert [d.message for d in ds if d.code == "W502"] == [
        "some tp 4 groups span nodes of 6 GPUs: their TP all-reduces cross the network"]
    ds = _diags("strategy tp 16", model=QWEN, cluster=C16)
    assert [d.message for d in ds if d.code == "W502"] == [
        "every tp 16 group spans nodes of 8 GPUs: its TP all-reduces cross the network"]


def test_e203_hint_names_the_axes():
    (d,) = [d for d in _diags("strategy tp 4 ; ep 6", model='model preset "mixtral-8x7b"', cluster=C16N)
            if d.code == "E203"]
    # the divisors of 6 either side of 4: the largest below it and the smallest above
    assert d.hint == "make one domain's product a multiple of the other's, e.g. tp·cp = 3 or 6"


def test_w512_hint_speaks_the_syntax_of_where_overlap_was_written(tmp_path):
    def hint(**parts):
        path = tmp_path / "plan.moe"
        path.write_text(plan_text(**parts))
        (d,) = [d for r in check(load_plan(path)) for d in r.diagnostics if d.code == "W512"]
        return d.hint

    assert hint(strategy="strategy tp 2 ; ep 4 with microbatches 1 overlap microbatch") == (
        "use 2 or more micro-batches (`with microbatches 2 overlap microbatch`), or write `overlap none`")
    assert hint(workload="workload { batch = 32  prompt = 512  generate = 64  microbatches = 1  "
                         "overlap = microbatch }") == (
        "use 2 or more micro-batches (`microbatches = 2`), or write `overlap = none`")


@pytest.mark.parametrize(("strategy", "hint"), [
    # Mixtral's expert ffn 14336 = 2^11 · 7; 32 heads, 8 KV heads; the cluster has 16 GPUs (C16N)
    ("strategy ep 4 etp 3", "use etp 2 or etp 4"),
    ("strategy ep 2 etp 5", "use etp 4 or etp 7"),     # 7 divides 14336 too
    ("strategy ep 8 etp 3", "use etp 2"),                 # etp 4 would take 32 GPUs
    ("strategy tp 6", "use tp 4 or tp 8"),                # experts follow tp: heads and ffn both split
])
def test_e305_names_the_nearest_degrees_below_and_above(strategy, hint):
    ds = _diags(strategy, model='model preset "mixtral-8x7b"')
    (d,) = [d for d in ds if d.code == "E305"]
    assert d.hint == hint


def test_no_rules_documentation_says_its_code_and_title_again_under_the_heading():
    """`dagc explain W518` printed "W518 (warning): the load was not simulated: …", then "W518: the load was not
    simulated: …" from its emitter's docstring (N605, W519, E308 and E309 too; until 2026-12-02). docs/rules.md is
    generated from the same documentation."""
    for r in RULES:
        text = explain(r.code)
        assert text is not None
        body = text.split("\n\n", 1)[1]
        assert not re.match(rf"{r.code}\b", body), r.code
    assert explain("W518").count("W518") == 1
    assert explain("N605").split("\n\n")[1].startswith("`batch = max` — the batch chosen for this strategy")


def test_a_negative_stage_is_said_as_such_not_empty():
    """`pp 2 [-4, 52]`: until 2026-12-03 "the split has an empty stage"."""
    from dagc.lang.load import load_plan_text
    from dagc.verdict.check import check

    plan = load_plan_text('model preset "qwen3-30b-a3b" cluster { gpus = 4  gpu preset "h100-sxm" } '
                          "workload { batch = 16  prompt = 512  generate = 64 } strategy pp 2 [-4, 52] < tp 2 >")
    (r,) = check(plan)
    (d,) = [d for d in r.diagnostics if d.code == "E303"]
    assert d.message == "the split has a stage of -4 layers (every stage needs at least one layer)"
