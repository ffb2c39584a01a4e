"""bench/fit_triton_frontend.py: TensorRT-LLM's front end behind Triton (the releases before 1.0) is fitted on the
calibration half's served runs of those releases only — never a held-out run, an in-process benchmark, an offline
burst or a release of 1.0 on (`trtllm-serve`, `TRTLLM_FRONTEND_S`)."""

from __future__ import annotations

import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import fidelity_corpus as fc  # noqa: E402, I001
import fit_triton_frontend as ft  # noqa: E402, I001

PLAN = ('model preset "mixtral-8x7b"\ncluster { gpus = 2  gpu preset "h100-sxm" }\n'
        "workload { batch = 4  prompt = 256  generate = 65  TRAFFIC }\nstrategy tp 2\n")
LOOP = "concurrency = 4  requests = 32  ramp = 0 s"
BURST = "concurrency = 32  requests = 32  ramp = 0 s"


def _run(rid: str, release: str | None, traffic: str = LOOP, client: str = "http", engine: str = "trtllm"):
    return fc.Run.model_validate({
        "id": rid, "quote": "q", "engine": engine, "release": release, "gpu": "h100-sxm", "gpus": 2,
        "mode": "inflight", "settings": {"tp": 2}, "plan": PLAN.replace("TRAFFIC", traffic),
        "measured": {"ttft_ms_median": 20.0}, "client": client})


def _file(sid: str, *runs) -> fc.CorpusFile:
    return fc.CorpusFile.model_validate({"source": {"id": sid, "title": "t", "url": "https://e.org", "kind": "blog",
                                                    "accessed": "2026-11-30"}, "runs": list(runs)})


@pytest.mark.parametrize(("release", "triton"), [
    ("0.5.0", True), ("0.14.0", True), ("0.20.0", True), ("0.21.0rc1", True),
    ("1.0.0", False), ("1.2.0rc1", False), (None, False),
])
def test_the_releases_dagc_prices_behind_triton_are_those_before_1_0(release, triton):
    assert ft.served_by_triton(release) is triton


def test_only_the_calibration_halfs_served_runs_of_those_releases_are_fitted():
    cal = _file("cal", _run("served-0.20", "0.20.0"), _run("served-1.2", "1.2.0"),
                _run("in-process-0.20", "0.20.0", client="in-process"), _run("burst-0.20", "0.20.0", BURST),
                _run("vllm-0.6", "0.6.0", engine="vllm"))
    held = _file("held", _run("held-0.14", "0.14.0"))
    jobs = ft.triton_jobs([cal, held], {"cal": "calibration", "held": "held-out"})
    assert [(sid, r.id) for sid, r in jobs] == [("cal", "served-0.20")]


def test_the_corpus_calibration_half_measures_tritons_front_end_in_six_runs():
    """trtllm-triton-serving-ensemble: Llama-3.1-8B on 2 H100 behind Triton's ensemble, 1 to 128 clients — at least
    the three runs a fitted term needs (`MIN_RUNS`); the held-out v0.17 page's Triton runs are not among them."""
    jobs = ft.triton_jobs(fc.load_corpus(), fc.halves())
    assert sorted(r.id for _, r in jobs) == sorted(
        f"llama-3.1-8b-h100-sxm-tp2-bf16-triton-ensemble-c{c}" for c in (1, 4, 16, 32, 64, 128))
    assert {sid for sid, _ in jobs} == {"trtllm-triton-serving-ensemble"} and len(jobs) >= ft.MIN_RUNS
