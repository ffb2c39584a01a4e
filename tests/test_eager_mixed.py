"""An engine's mixed step above its largest CUDA graph runs eagerly: each op at least its kernel launches at the
kernel profile's eager launch time, the host's — a B200 (priced by the h200 profile at its peaks) takes the H200
host's 23.136 µs a launch, an H100 its own host's 16.64 µs (docs/cost-model.md's table of constants), whatever
the GPU's peaks; `dagc check` says so under the in-flight line, since the mixed step then need not shorten on a
faster GPU."""

from __future__ import annotations

import pytest

from dagc.cost.cost import cost
from dagc.ir.build import build
from dagc.ir.dag import OpKind, Phase
from dagc.lang.flatten import flatten
from dagc.lang.load import load_plan_text
from dagc.layout.layout import resolve
from conftest import run_dagc

PLAN = ('model preset "mixtral-8x7b" {{ layers = 2 }}\ncluster {{ gpus = 8  gpu preset "{gpu}"  engine = {engine} }}\n'
        "workload {{ batch = 16  prompt = 2000  generate = 100  serving = inflight }}\nstrategy tp 8\n")


def _mixed_norm_s(gpu: str, engine: str = "vllm") -> float:
    """The mixed step's first RMSNorm (one kernel, 2,016 tokens × 4,096 × 2 bytes read and written: a few µs of
    HBM time on either GPU, so its launch floor binds)."""
    p = load_plan_text(PLAN.format(gpu=gpu, engine=engine))
    lay = resolve(p.model, p.cluster, p.workload, flatten(p.strategies[0])[0])
    dag = build(p.model, p.workload, lay, engine=p.cluster.engine.terms)
    c = cost(dag, p.cluster)
    i = next(i for i in range(len(dag)) if dag.phase[i] is Phase.MIXED and dag.kind[i] is OpKind.NORM)
    return float(c.node_s[i])


def test_an_eager_mixed_step_s_ops_take_the_profile_host_s_launch_time():
    # 16 requests + a chunk of 2,000 prompt tokens: 2,016 tokens a rank, above vLLM's largest graph (512)
    assert _mixed_norm_s("b200") == pytest.approx(23.136e-6, rel=1e-4)        # the h200 profile's host
    assert _mixed_norm_s("h100-sxm") == pytest.approx(16.64e-6, rel=1e-4)     # the h100-sxm profile's host
    assert _mixed_norm_s("b200", "pytorch") < 10e-6       # graphed (the plain reference): the kernel's own time


def test_check_says_an_eager_mixed_step_is_bound_by_the_host_s_launch_time(tmp_path):
    path = tmp_path / "plan.moe"
    path.write_text(PLAN.format(gpu="b200", engine="vllm"))
    out = run_dagc("check", str(path), "--no-search").stdout
    assert ("The mixed step runs eagerly (2,016 tokens a rank, above vLLM's largest CUDA graph, 512 tokens): each op "
            "takes at least its kernel launches at the h200 profile's eager launch time, 23.14 us (its host's), which "
            "the GPU's peaks do not shorten") in out
    path.write_text(PLAN.format(gpu="b200", engine="sglang"))
    assert "(2,016 tokens a rank, SGLang graphs no mixed step)" in run_dagc("check", str(path), "--no-search").stdout
    path.write_text(PLAN.format(gpu="b200", engine="pytorch"))
    assert "runs eagerly" not in run_dagc("check", str(path), "--no-search").stdout


def test_report_md_says_it_among_the_assumptions_as_check_does():
    """report.md (and report.html) say what `dagc check` says under its in-flight line — before, only the terminal
    told the team why the mixed step (here 2,016 tokens a rank on a B200) does not shorten on a faster GPU."""
    from dagc.export.markdown import report_md
    from dagc.verdict.check import check
    (r,) = check(load_plan_text(PLAN.format(gpu="b200", engine="vllm")))
    md = report_md(r)
    assumptions = md.split("## Assumptions")[1].split("\n## ")[0]
    assert ("The mixed step runs eagerly (2,016 tokens a rank, above vLLM's largest CUDA graph, 512 tokens): each op "
            "takes at least its kernel launches at the h200 profile's eager launch time, 23.14 us (its host's), which "
            "the GPU's peaks do not shorten (docs/cost-model.md, \"The engine\").") in assumptions
    (r,) = check(load_plan_text(PLAN.format(gpu="b200", engine="pytorch")))
    assert "runs eagerly" not in report_md(r)
