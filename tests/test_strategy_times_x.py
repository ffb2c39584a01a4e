"""A strategy written with an `x` glued between degrees, as reports and slides write "EP16xTP4xPP1" or "EP-16xTP-4"
(the spaced "EP16 x TP4 x PP1" was rewritten already): the hint writes it as dagc reads it, where it was "unknown
axis `EP16xTP4xPP1`" and the list of axes; and the rewrite, pasted, reads."""

from __future__ import annotations

import pytest

from tests.conftest import run_dagc

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 16  gpu preset "h100-sxm" }
workload { batch = 64  prompt = 2048  generate = 256 }
"""


@pytest.mark.parametrize(("written", "meant"), [("EP16xTP4xPP1", "pp 1 < tp 4 ; ep 16 >"),
                                                ("EP-16xTP-4", "tp 4 ; ep 16"), ("tp8Xep8", "tp 8 ; ep 8")])
def test_an_x_glued_between_degrees_is_rewritten(tmp_path, written, meant):
    (tmp_path / "p.moe").write_text(PLAN)
    r = run_dagc("check", "p.moe", "--no-search", "--strategy", written, cwd=tmp_path)
    said = " ".join(r.stderr.split())
    assert r.returncode == 4 and f"help: did you mean `{meant}`?" in said
    r = run_dagc("check", "p.moe", "--no-search", "--strategy", meant, cwd=tmp_path)
    assert "error[" not in r.stdout + r.stderr


def test_an_x_inside_a_word_is_not_a_separator(tmp_path):
    (tmp_path / "p.moe").write_text(PLAN)
    r = run_dagc("check", "p.moe", "--no-search", "--strategy", "expert 8", cwd=tmp_path)
    assert "did you mean `ep`?" in r.stderr
