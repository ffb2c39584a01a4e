"""A throughput written with a multiplier before `tokens` — `12.8Mtokens/s`, `12.8M tokens/s`, `12.8 k tokens/ms` —,
as a report's "12.8M tokens/s" reads. Before: `Mtokens/s` was taken for a slip of `tokens/s` ("did you mean
`tokens/s`? … `decode_throughput >= 12.8 tokens/s`"), a requirement a million times lower than meant, and the
multiplier written apart was an E001 at the `/` whose hint was "remove it". Now the number is converted, the factor
said: 12.8 million tokens/s = 12,800 tokens/ms (12.8e6 / 1e3, by hand)."""

from __future__ import annotations

import pytest

from tests.conftest import run_dagc

PLAN = """model preset "mixtral-8x7b"
cluster {{ gpus = 8  gpu preset "h100-sxm" }}
workload {{ batch = 64  prompt = 2048  generate = 256 }}
require {{ {req} }}
strategy tp 8
"""


def _help(tmp_path, req: str) -> tuple[int, str]:
    (tmp_path / "p.moe").write_text(PLAN.format(req=req))
    r = run_dagc("check", "p.moe", "--no-search", cwd=tmp_path)
    said = " ".join(r.stderr.split())
    return r.returncode, said[said.index("= help: ") + 8:said.index(" error: ")] if "= help: " in said else said


@pytest.mark.parametrize(("req", "hint"), [
    ("decode_throughput >= 12.8Mtokens/s", "`Mtokens/s` is millions of tokens/s: 12.8 Mtokens/s = 12800 tokens/ms; "
                                           "write `decode_throughput >= 12800 tokens/ms`"),
    ("decode_throughput >= 3ktokens/ms", "`ktokens/ms` is thousands of tokens/ms: 3 ktokens/ms = 3000 tokens/ms; "
                                         "write `decode_throughput >= 3000 tokens/ms`"),
    ("decode_throughput >= 2.5ktok/s", "did you mean `tokens/ms`? (`ktok/s` is thousands of tokens/s: "
                                       "`decode_throughput >= 2.5 tokens/ms`)"),
    ("throughput >= 1.5Mtokens/s/gpu", "`Mtokens/s/gpu` is millions of tokens/s/gpu: 1.5 Mtokens/s/gpu = 1500 "
                                       "tokens/ms/gpu; write `throughput >= 1500 tokens/ms/gpu`"),
])
def test_a_multiplier_glued_to_tokens_is_converted(tmp_path, req, hint):
    code, said = _help(tmp_path, req)
    assert code == 4 and said == hint


@pytest.mark.parametrize("req", ["decode_throughput >= 12.8M tokens/s", "decode_throughput >= 12.8 M tokens/s"])
def test_a_multiplier_written_apart_is_converted(tmp_path, req):
    code, said = _help(tmp_path, req)
    assert code == 4 and said == ("`Mtokens/s` is millions of tokens/s: 12.8 Mtokens/s = 12800 tokens/ms; write "
                                  "`decode_throughput >= 12800 tokens/ms`")


def test_the_hint_pasted_reads(tmp_path):
    (tmp_path / "p.moe").write_text(PLAN.format(req="decode_throughput >= 12800 tokens/ms"))
    r = run_dagc("check", "p.moe", "--no-search", cwd=tmp_path)
    assert "`decode_throughput >= 12800 tokens/ms`" in r.stdout + r.stderr and "error[" not in r.stdout + r.stderr
