"""`throughput` counts prompt and generated tokens (docs/language.md, `require`): the requirements table and report.md
say so beside its figure, and when the decode throughput — generated tokens alone — misses the same target, N606 says
the verdict rests on it (`dagc.rules.throughput_tokens`). Until 2026-12-01 seed 004's "20,000 tokens/second" written
`throughput >= 20000 tokens/s` was met with nothing said, where examples/30b-moe-dp2-pp2-tp2-ep4-16gpu.moe reads it as
decode throughput, which is missed."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagc.cli.print_requirements import requirement_rows
from dagc.export.markdown import report_md
from dagc.lang.load import load_plan_text
from dagc.lang.overrides import load_plan_with
from dagc.verdict.check import check

SEED_004 = (Path(__file__).resolve().parent.parent / "examples" / "30b-moe-dp2-pp2-tp2-ep4-16gpu.moe").read_text()
DECODE = "decode_throughput >= 20000 tokens/s"
DISAGGREGATED = Path(__file__).resolve().parent.parent / "examples" / "deepseek-v3-disaggregated.moe"


def _checked(text: str):
    (r,) = check(load_plan_text(text, name="seed004.moe"))
    return r


def test_a_throughput_met_only_with_the_prompt_tokens_gets_a_note_naming_decode_throughput():
    r = _checked(SEED_004.replace(DECODE, "throughput >= 20000 tokens/s"))
    assert r.verdict.meets_requirements is True
    [q] = [q for q in r.requirements if q.requirement.text == "throughput >= 20000 tokens/s"]
    assert q.met and q.value == pytest.approx(57_024, rel=1e-3)
    [note] = [d for d in r.diagnostics if d.code == "N606"]
    assert note.severity.value == "note"
    assert note.message == ("`throughput >= 20000 tokens/s` counts prompt and generated tokens (57,024 tokens/s); "
                            "counting generated tokens only — the decode throughput, 6,826 tokens/s — it would be "
                            "missed")
    assert note.hint == "if the target is of generated tokens alone, write `decode_throughput >= 20000 tokens/s`"
    assert note.span is not None and note.span.line == SEED_004.splitlines().index("  " + DECODE) + 1


def test_beside_a_decode_throughput_requirement_the_note_names_it():
    r = _checked(SEED_004.replace(DECODE, DECODE + "\n  throughput >= 20000 tokens/s"))
    [note] = [d for d in r.diagnostics if d.code == "N606"]
    assert note.hint == "the plan's `decode_throughput >= 20000 tokens/s` judges generated tokens alone"


def test_no_note_when_generated_tokens_alone_meet_it_too():
    r = _checked(SEED_004.replace(DECODE, "throughput >= 5000 tokens/s"))
    assert r.verdict.meets_requirements is True
    assert "N606" not in {d.code for d in r.diagnostics}


def test_the_table_and_report_md_name_the_tokens_a_throughput_counts():
    """The band beside the figure is the ledger's (dagc/data/ledger.json, bench/make_ledger.py); its lower edge moved
    44,402 → 45,563 when a GB200's eager launches came to be priced at its Grace host's rate (2026-12-01), the held-out
    GB200 runs' throughput errors smaller, and 45,563 → 46,644 when TensorRT-LLM's routed experts on Blackwell came to
    take 1.68× the profile's grouped-GEMM time (2026-12-01), the held-out B200 and GB200 MoE runs' errors smaller, and
    46,644 → 47,650 when TensorRT-LLM 1.0 and 1.1's came to take 2.18× (2026-12-02), the same runs' errors smaller."""
    r = _checked(SEED_004.replace(DECODE, DECODE + "\n  throughput >= 20000 tokens/s"))
    _, rows = requirement_rows(r, 200)
    [row] = [x for x in rows if x[0] == "throughput >= 20000 tokens/s"]
    assert row[1] == "57,024 tokens/s [47,650–62,239]\n(prompt + generated tokens)"
    [decode] = [x for x in rows if x[0] == DECODE]
    assert "tokens)" not in decode[1]
    md = report_md(r)
    assert "| `throughput >= 20000 tokens/s` | 57,024 tokens/s (prompt + generated tokens) |" in md


@pytest.mark.parametrize(("written", "met", "generated"), [
    ("throughput >= 20000 tokens/s", "58,681 tokens/s", "6,520 tokens/s"),
    ("throughput >= 200 tokens/s/gpu", "1,048 tokens/s/gpu", "116.4 tokens/s/gpu")])
def test_a_disaggregated_strategy_gets_the_note_on_both_pools_figures(written, met, generated):
    """examples/deepseek-v3-disaggregated.moe's `pd` (prefill and decode pools, 56 GPUs): its throughput is the
    deployment's, and so is its decode throughput, per GPU over both pools' GPUs (until 2026-12-01 only an aggregated
    strategy got N606; `pd` met the line with nothing said)."""
    plan = load_plan_with(DISAGGREGATED, [f"require.throughput={written.split('>= ')[1].replace(' ', '')}"])
    (r,) = check(plan, "pd")
    assert r.pooled is not None and r.gpus_used == 56 and r.verdict.meets_requirements is True
    [note] = [d for d in r.diagnostics if d.code == "N606"]
    as_set = written.replace(" tokens", "tokens")           # `--set` writes the target without its space
    assert note.message.startswith(f"`{as_set}` counts prompt and generated tokens ({met}); "
                                   f"counting generated tokens only — the decode throughput, {generated} — it would "
                                   "be missed")


def test_the_notes_figures_are_the_requirements_tables():
    """N606 writes its figures as the requirements table and the metrics write them — four significant digits, in the
    requirement's unit (`dagc.rules.requirement_text`) — where until 2026-12-02 it wrote `57,023.7 tokens/s` beside the
    table's `57,024 tokens/s`, and `11.4 tokens/ms/gpu` beside its `11.37 tokens/ms/gpu`."""
    for target in ("20000 tokens/s", "2 tokens/ms/gpu"):
        r = _checked(SEED_004.replace(DECODE, f"throughput >= {target}"))
        [note] = [d for d in r.diagnostics if d.code == "N606"]
        _, rows = requirement_rows(r, 200)
        [row] = [x for x in rows if x[0] == f"throughput >= {target}"]
        figure = row[1].split(" [")[0]                  # the table's figure, before its band
        assert f"counts prompt and generated tokens ({figure}); " in note.message, (note.message, figure)
