"""report.md's "Times:" line shows the GPU's name and a kernel profile's provenance as text: until 2026-11-30 they
sat unfenced in a sentence that `md_prose` reads for code spans, so a custom GPU named ``a`<b>`c`` (or a profile
measured on such a GPU) made `<b>` a code span of report.md and report.html — a name turned into markup, where
every other line escapes it (docs/security.md, "Injection"). A plan can no longer name its GPU so
(tests/test_gpu_name_backtick.py), but a profile's provenance can, and so can a Plan built in Python."""

from __future__ import annotations

from markdown_it import MarkdownIt

from dagc.export.assumptions_md import _cost_basis_md, assumptions_md
from dagc.verdict.check import check, load_plan_text

GPU = 'gpu "{name}" {{ memory = 64 GB  flops = 400 TFLOPS  hbm = 1.8 TB/s  intra_node = 300 GB/s }}'
PLAN = ('model "m" {{ layers = 4  hidden = 1024  heads = 8  kv_heads = 8  vocab = 32000\n'
        '  moe {{ experts = 8  top_k = 2  ffn = 1024 }} }}\n'
        'cluster {{ gpus = 4  engine = pytorch  {gpu} }}\n'
        'workload {{ batch = 8  prompt = 512  generate = 32 }}\nstrategy tp 4\n')


def _times_line(name: str) -> str:
    (r,) = check(load_plan_text(PLAN.format(gpu=GPU.format(name=name)), "p.moe"))
    return next(line for line in assumptions_md(r) if line.startswith("- Times:"))


def test_a_gpu_name_with_backticks_is_text_in_the_times_line():
    cluster = load_plan_text(PLAN.format(gpu=GPU.format(name="g")), "p.moe").cluster
    cluster = cluster.model_copy(update={"gpu": cluster.gpu.model_copy(update={"name": "a`<b>`c"})})
    line = f"- {_cost_basis_md(cluster)} Network efficiency 0.8. How: dagc's docs/cost-model.md."
    assert line == ("- Times: kernel profile ``h100-sxm@a`<b>`c``, measured on NVIDIA H100 80GB HBM3 with PyTorch "
                    "2.11.0+cu130 (2026-11-22); applied at the a\\`\\<b\\>\\`c's peaks (the a\\`\\<b\\>\\`c has no "
                    "profile of its own). Network efficiency 0.8. How: dagc's docs/cost-model.md.")
    html = MarkdownIt("commonmark").render(line)
    # one code span, the profile's name; the GPU's name twice as plain text
    assert html.count("<code>") == 1 and html.count("a`&lt;b&gt;`c's peaks") == 1


def test_a_plain_gpu_name_reads_as_before():
    assert _times_line("gpu64") == ("- Times: kernel profile `h100-sxm@gpu64`, measured on NVIDIA H100 80GB HBM3 with "
                                    "PyTorch 2.11.0+cu130 (2026-11-22); applied at the gpu64's peaks (the gpu64 has "
                                    "no profile of its own). Network efficiency 0.8. How: dagc's docs/cost-model.md.")
