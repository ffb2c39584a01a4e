"""N604 and W506 bound a requirement at the plan's precision and say so, since the next steps try 8-bit and fp4
weights, which can pass the bound; and W505's help, which proposes replicas for idle GPUs, agrees with the next
steps when they found no number of replicas helps (docs/decisions.md, "Physical bounds")."""

from __future__ import annotations

from dagc.cli.main import main
from conftest import EXAMPLES


def test_the_bound_is_said_at_the_plans_precision_and_w505_agrees_with_the_replicas_step(capsys):
    """examples/10b-moe-tp4-ep16-64gpu.moe: the bf16 bound is 0.627 tokens/ms/gpu and the next step just below reaches
    0.6509 with fp8 weights and KV cache; until 2026-12-02 N604 said "no strategy on this cluster" could pass 0.627,
    and W505's "dp 4 would use 64" came right after "No number of replicas helps"."""
    main(["check", str(EXAMPLES / "10b-moe-tp4-ep16-64gpu.moe"), "--strategy", "as_written", "--no-search"])
    out = capsys.readouterr().out
    n604 = next(line for line in out.splitlines() if "note[N604]" in line)
    assert "cannot be met by any strategy on this cluster at the plan's bf16 weights and KV cache: " in n604
    w506 = next(line for line in out.splitlines() if "warning[W506]" in line)
    assert "even at 100 % efficiency at the plan's bf16 weights and KV cache, it is at most 0.627" in w506
    assert "no strategy on these GPUs can meet it either at the plan's bf16 weights and KV cache: " in out
    assert "fp8" in out and "No number of replicas helps" in out
    assert "= help: dp 4 would use 64, though no number of replicas brings the missed requirements nearer" in out
