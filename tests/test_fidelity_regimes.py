"""bench/fidelity_regimes.py: the public corpus's residuals grouped by half, quantity, engine, model, traffic and GPU
generation, computed here by hand on three small results."""

from __future__ import annotations

import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import fidelity_corpus as fc  # noqa: E402, I001
import fidelity_regimes as fr  # noqa: E402, I001

DENSE = ('model "tiny" { layers = 2  hidden = 256  heads = 4  kv_heads = 4  head_dim = 64  vocab = 1000  ffn = 512 }\n'
         'cluster { gpus = 1  gpu preset "h100-sxm" }\n')
MOE = 'model preset "mixtral-8x7b"\ncluster { gpus = 2  gpu preset "b200" }\n'


def _run(rid: str, plan: str, gpu: str) -> fc.Run:
    return fc.Run.model_validate({"id": rid, "quote": "q", "engine": "vllm", "release": None, "gpu": gpu, "gpus": 1,
                                  "mode": "inflight", "settings": {}, "plan": plan, "measured": {"ttft_ms": 1.0}})


def _row(source: str, rid: str, errors: dict[str, float]) -> dict:
    return {"source": source, "run": rid, "engine": "vllm", "errors": errors}


@pytest.mark.parametrize("gpu, said", [("h100-sxm", "Hopper"), ("h200", "Hopper"), ("h800", "Hopper"),
                                       ("b200", "Blackwell"), ("gb300", "Blackwell"), ("a100-80g", "Ampere"),
                                       ("l40s", "l40s")])
def test_generation_of_each_preset(gpu, said):
    assert fr.generation(gpu) == said


@pytest.mark.parametrize("workload, said", [
    ("workload { batch = 8  prompt = 9  generate = 9  concurrency = 100  requests = 100  ramp = 0 s }", "burst"),
    ("workload { batch = 8  prompt = 9  generate = 9  concurrency = 16  requests = 80 }", "closed loop"),
    ("workload { batch = 8  prompt = 9  generate = 9  rate = 2.5 requests/s  requests = 80 }", "open rate"),
    ("workload { batch = 8  prompt = 9  generate = 9 }", "none")])
def test_traffic_as_the_plan_writes_it(workload, said):
    assert fr.traffic(workload) == said


def test_regimes_by_hand():
    burst = DENSE + "workload { batch = 8  prompt = 9  generate = 9  concurrency = 8  requests = 8 }\nstrategy tp 1\n"
    loop = MOE + "workload { batch = 8  prompt = 9  generate = 9  concurrency = 4  requests = 8 }\nstrategy tp 2\n"
    runs = {"a": _run("a", burst, "h100-sxm"), "b": _run("b", burst, "h200"), "c": _run("c", loop, "b200")}
    results = {"runs": [_row("s1", "a", {"ttft_ms": -0.5, "tpot_ms": 0.2}), _row("s1", "b", {"ttft_ms": 0.1}),
                        _row("s2", "c", {"ttft_ms": 0.3, "output_tokens_per_s": -0.25})]}
    rows = fr.regime_rows(results, runs, {"s1": "calibration", "s2": "held-out"})
    # a and b: one regime (dense, burst, Hopper), TTFT errors -0.5 and 0.1: median |error| (0.5 + 0.1) / 2 = 0.3,
    # signed median (-0.5 + 0.1) / 2 = -0.2; in the order of the quantities, then the held-out half
    assert rows == [(("calibration", "TPOT/ITL", "vllm", "dense", "burst", "Hopper"), 1, 0.2, 0.2),
                    (("calibration", "TTFT", "vllm", "dense", "burst", "Hopper"), 2, pytest.approx(0.3),
                     pytest.approx(-0.2)),
                    (("held-out", "TTFT", "vllm", "MoE", "closed loop", "Blackwell"), 1, 0.3, 0.3),
                    (("held-out", "throughput", "vllm", "MoE", "closed loop", "Blackwell"), 1, 0.25, -0.25)]
    table = fr.markdown_table(rows, ("TTFT",))
    assert table[2:] == ["| calibration | TTFT | vllm | dense | burst | Hopper | 2 | 30.0 % | -20.0 % |",
                         "| held-out | TTFT | vllm | MoE | closed loop | Blackwell | 1 | 30.0 % | +30.0 % |"]


def test_the_section_holds_the_targeted_quantities_only():
    plan = DENSE + "workload { batch = 8  prompt = 9  generate = 9 }\nstrategy tp 1\n"
    results = {"runs": [_row("s1", "a", {"ttft_ms": -0.5, "e2e_ms": 0.2})]}
    text = "\n".join(fr.markdown_section(results, {"a": _run("a", plan, "a100-80g")}, {"s1": "held-out"}))
    assert text.startswith("### (h) Residuals by regime")
    assert "| held-out | TTFT | vllm | dense | none | Ampere | 1 | 50.0 % | -50.0 % |" in text
    assert "E2E" not in text.split("|---|")[-1]
