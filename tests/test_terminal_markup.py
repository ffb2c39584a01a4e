"""A plan's names reach the terminal as text, never as rich's console markup (docs/security.md, "Injection").

Until 2026-11-30 the console parsed `[…]` in every string it printed: a custom GPU named `[/]` ended `dagc check`
with a Python traceback (rich's MarkupError, "closing tag '[/]' … has nothing to close"), and a name such as
`g[bold]x` lost its `[bold]` and styled the rest of the table's title.
"""

from __future__ import annotations

import pytest

from conftest import plan_text, run_dagc

MODEL = ('model "{name}" {{ layers = 4  hidden = 1024  heads = 8  kv_heads = 8  vocab = 32000\n'
         '  moe {{ experts = 8  top_k = 2  ffn = 1024 }} }}')
CLUSTER = ('cluster {{ gpus = 4  engine = pytorch  gpu "{name}" {{ memory = 64 GB  flops = 400 TFLOPS  '
           'hbm = 1.8 TB/s  intra_node = 300 GB/s }} }}')


@pytest.mark.parametrize("gpu", ["[/]", "g[bold]x", "[link=https://evil.example]click[/link]", "[/bold]"])
def test_a_gpu_name_is_shown_as_written(tmp_path, gpu):
    plan = tmp_path / "p.moe"
    plan.write_text(plan_text(model=MODEL.format(name="m"), cluster=CLUSTER.format(name=gpu),
                              workload="workload { batch = 8  prompt = 512  generate = 64 }",
                              strategy="strategy tp 4"))
    proc = run_dagc("check", str(plan), "--no-search")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    # the memory table's title, whole: the name as the plan writes it
    assert f"per-rank memory by stage (GPU {gpu}, 59.60 GiB (61,035 MiB))" in proc.stdout


def test_a_model_name_with_markup_and_the_requirements_caption(tmp_path):
    plan = tmp_path / "p.moe"
    plan.write_text(plan_text(model=MODEL.format(name="[/]m"), cluster=CLUSTER.format(name="[/]"),
                              workload="workload { batch = 8  prompt = 512  generate = 64 }",
                              require="require { tpot <= 40 ms }", strategy="strategy tp 4"))
    proc = run_dagc("check", str(plan), "--no-search")
    assert proc.returncode == 0, proc.stderr
    assert "· model [/]m (183.0 M params" in proc.stdout
    # the requirements table's caption, once escaped for rich's markup, now printed as it reads: no backslash
    assert "\n[low–high]: where the measured figure lies, at 80 %" in proc.stdout
