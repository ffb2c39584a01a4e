"""A custom GPU's name in a diagnostic is a code span fenced as `dagc.diagnostics.code` fences a model's name: until
2026-11-30 W509, W524, W527, W535 (and the launch's and calibration's sentences on the GPU) wrote it raw, so a GPU
named ``a`<b>`c`` — which a plan can no longer write (E104) but a Plan built in Python can hold — made `<b>` a
code span of report.md, and the name's own backticks markup."""

from __future__ import annotations

from markdown_it import MarkdownIt

from dagc.export.md_escape import md_prose
from dagc.verdict.check import check, load_plan_text

GPU = 'gpu "g" { memory = 64 GB  flops = 400 TFLOPS  hbm = 1.8 TB/s  intra_node = 300 GB/s }'
PLAN = ('model "m" { layers = 4  hidden = 1024  heads = 8  kv_heads = 8  vocab = 32000  weights = fp8\n'
        '  moe { experts = 8  top_k = 2  ffn = 1024 } }\n'
        'cluster { gpus = 4  engine = pytorch  ' + GPU + ' }\n'
        'workload { batch = 8  prompt = 512  generate = 32 }\nrequire { memory <= 100 GB }\nstrategy tp 4\n')


def _messages(name: str) -> dict[str, str]:
    plan = load_plan_text(PLAN, "p.moe")
    cluster = plan.cluster.model_copy(update={"gpu": plan.cluster.gpu.model_copy(update={"name": name})})
    (r,) = check(plan.model_copy(update={"cluster": cluster}))
    return {d.code: d.message for d in r.diagnostics}


def test_a_gpu_name_with_backticks_is_one_code_span_in_a_diagnostic():
    said = _messages("a`<b>`c")
    assert said["W509"].startswith("fp8 weights on ``a`<b>`c``, which has no fp8 compute: ")
    assert said["W524"].startswith("`memory <= 100 GB` is above the memory of one ``a`<b>`c``, 59.60 GiB (61,035 MiB)")
    html = MarkdownIt("commonmark").render(md_prose(said["W509"]))
    assert "<code>a`&lt;b&gt;`c</code>" in html and html.count("<code>") == 1


def test_a_plain_gpu_name_is_a_code_span_too():
    assert _messages("gpu64")["W509"].startswith("fp8 weights on `gpu64`, which has no fp8 compute: ")
