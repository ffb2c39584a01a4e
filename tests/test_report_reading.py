"""What a reader deciding on a deployment finds in report.md and report.json agrees with itself and with the
SPEC: the glossary defines the words as the figures above it use them, the summary's sentences do not contradict
one another, and report.json holds the keys SPEC 11.5 names (a session reading the outputs in depth, 2026-11-30)."""

from __future__ import annotations

import re

import pytest

from dagc.export.markdown import report_md
from dagc.export.report import report_json
from dagc.lang.load import load_plan_text
from dagc.verdict.check import check

QWEN = """model preset "qwen3-30b-a3b"
cluster {{ gpus = 4  gpu preset "h200" }}
workload {{ batch = 64  prompt = 1000  generate = 250  serving = inflight  chunk = 8192 }}
strategy {strategy}
"""

DEEPSEEK_PD = """model preset "deepseek-v3"
cluster { gpus = 64  gpus_per_node = 8  gpu preset "h200" }
workload { batch = 256  prompt = 4000  generate = 500  serving = inflight }
strategy prefill 2 < tp 8 > decode 1 < tp 1 ; ep 32 >
"""


def _glossary(md: str) -> dict[str, str]:
    section = md.split("## Glossary", 1)[1]
    return dict(re.findall(r"^- \*\*(.+?)\*\*: (.+)$", section, flags=re.M))


def test_the_glossary_s_tpot_is_the_in_flight_mix_the_metrics_table_reports():
    """In flight, TPOT is not the gap between two decode steps: it mixes the decode step and the mixed step by the
    share of steps that carry a prompt's chunk (SPEC 11.2). The glossary said only "the gap between two steady
    decode steps" under a Metrics row "TPOT (decode and mixed steps mixed)" of 14.04 ms, where the decode step
    alone takes 11.04 ms."""
    (r,) = check(load_plan_text(QWEN.format(strategy="tp 1 ; ep 4"), name="q.moe"))
    md, js = report_md(r), report_json(r)
    path = js["metrics"]["critical_path"]             # each phase: two consecutive steps of its kind
    decode, mixed = path["decode"]["makespan_s"] / 2, path["mixed"]["makespan_s"] / 2
    f_g = js["serving"]["mixed_step_share_group"]
    # by hand: d = 64 / 4 attention-DP ranks = 16, f = 16 / 250 (one 1,000-token prompt a chunk), f_g = 1 - (1 - f)^4
    assert f_g == pytest.approx(1 - (1 - 16 / 250) ** 4, rel=1e-12)
    assert r.metrics.tpot_s == pytest.approx(f_g * mixed + (1 - f_g) * decode, rel=1e-9)
    assert r.metrics.tpot_s > 1.2 * decode
    assert "| TPOT (decode and mixed steps mixed) |" in md
    tpot = _glossary(md)["TPOT"]
    assert "in flight" in tpot and "mixed step" in tpot and "f_g" in tpot
    assert "gap between two steady decode steps" not in tpot


def test_the_glossary_s_tpot_of_a_static_and_a_disaggregated_report_is_their_decode_step():
    static = QWEN.format(strategy="tp 1 ; ep 4").replace("serving = inflight  chunk = 8192", "")
    (r,) = check(load_plan_text(static, name="s.moe"))
    assert _glossary(report_md(r))["TPOT"] == "time per output token: the gap between two steady decode steps."
    (r,) = check(load_plan_text(DEEPSEEK_PD, name="pd.moe"))
    md = report_md(r)
    assert "| TPOT (the decode instance's decode step) |" in md
    tpot = _glossary(md)["TPOT"]
    assert "decode instance" in tpot and "mixed" not in tpot


MIXTRAL = """model preset "mixtral-8x7b"
cluster {{ gpus = 8  gpus_per_node = 8  gpu preset "h100-sxm" }}
workload {{ batch = 64  prompt = 2048  generate = 256 }}
require {{ {require} }}
strategy tp 8
"""


def test_the_glossary_s_margin_reads_the_multiples_the_requirements_table_shows():
    """Past ±100 % a margin is written as a multiple of the target (`5.989× over`, `3.684× the target`) and a floor
    missed by 2× or more adds how many times off; the glossary said only "as a share of the target (positive:
    met)", which those cells are not."""
    (r,) = check(load_plan_text(MIXTRAL.format(
        require="ttft <= 200 ms  decode_throughput >= 100 tokens/ms/gpu  prefill_throughput >= 1 tokens/ms/gpu"),
        name="m.moe"))
    md = report_md(r)
    ttft, floor, met = r.requirements
    # by hand: the value over the target, and the target over the value for the floor it misses
    assert f"| `ttft <= 200 ms` | 1.198 s | 200 ms | {ttft.value / 0.2:.4g}× over | **no** |" in md
    assert f"-99.3 %; {100 / (floor.value * 1e-3):.4g}× off" in md
    assert f"| {met.value * 1e-3 / 1:.4g}× the target | yes |" in md
    margin = _glossary(md)["margin"]
    assert "× over" in margin and "× the target" in margin and "× off" in margin


def test_a_binding_prefill_pool_is_never_said_to_need_the_instances_it_has():
    """Two `tp 8` prefill instances serve 19.13 requests/s against the decode instance's 19.25: the prefill pool
    binds, and 19.25 / (19.13 / 2) = 2.01 instances balance them — 3 whole ones, as the next line of the summary
    says. The balance line rounded the ratio to the nearest fraction of at most 64 instances first (2:1) and said
    "the pools balance at 2 prefill instances to 1 decode instance (2:1): beside its 1 decode instance, the
    prefill pool needs 2 instances" — the 2 it has, which bind."""
    (r,) = check(load_plan_text(DEEPSEEK_PD, name="pd.moe"))
    f = r.pooled.figures
    assert f.binding_pool == "prefill" and f.balance == (2, 1)
    per_prefill = f.capacity["prefill"] / 2
    ratio = f.capacity["decode"] / per_prefill          # prefill instances that serve the one decode instance
    assert 2 < ratio < 2.02
    md = " ".join(report_md(r).split())
    assert "**To serve the decode pool's 19.25 requests/s**: 3 prefill instances" in md
    assert (f"the pools balance at {ratio:.3g} prefill instances to 1 decode instance: beside its 1 decode instance, "
            f"the prefill pool needs 3 instances ({ratio:.3g}, rounded up to whole instances)") in md
    assert "needs 2 instances" not in md and "(2:1)" not in md


def test_each_pool_s_memory_in_report_json_holds_section_8_s_keys():
    """SPEC 11.5: `serving.pools[].memory{…as section 8}` — the GPU's capacity and the fullest rank's breakdown
    (`capacity_bytes`, `max_rank{rank, weights_bytes, kv_cache_bytes, activation_bytes, total_bytes}`). A pool's
    memory held only `max_rank_bytes`, `fraction` and `stages`, so report.json told the prefill pool's fullest GPU,
    the one a `memory` requirement is judged on here, only as a total."""
    (r,) = check(load_plan_text(DEEPSEEK_PD.replace("strategy", "require { memory <= 55 % }\nstrategy"),
                                name="pd.moe"))
    js = report_json(r)
    prefill, decode = js["serving"]["pools"]
    (memory,) = [q for q in js["requirements"] if q["name"] == "memory"]
    for pool in (prefill, decode):
        m = pool["memory"]
        assert m["capacity_bytes"] == js["memory"]["capacity_bytes"] == 150_754_820_096      # 143,771 MiB
        top = m["max_rank"]
        assert set(top) >= {"rank", "weights_bytes", "kv_cache_bytes", "activation_bytes", "total_bytes"}
        assert top["total_bytes"] == m["max_rank_bytes"]
        assert top["total_bytes"] == pytest.approx(top["weights_bytes"] + top["kv_cache_bytes"]
                                                   + top["activation_bytes"] + top["reserve_bytes"], rel=1e-12)
        assert top["total_bytes"] / m["capacity_bytes"] == pytest.approx(m["fraction"], rel=1e-12)
    # by hand: a `tp 8` prefill instance holds its 2 requests' KV cache at prompt + 1 tokens on every rank (MLA's
    # latent is not split by TP): 2 × 4,001 × (512 + 64) × 61 layers × 2 bytes
    assert prefill["memory"]["max_rank"]["kv_cache_bytes"] == 2 * 4001 * 576 * 61 * 2
    # the decode pool's fullest rank is the strategy's own (`memory.max_rank`); the prefill pool's is the fuller,
    # the one the requirement is judged on
    assert decode["memory"]["max_rank"] == js["memory"]["max_rank"]
    assert memory["value"] == pytest.approx(prefill["memory"]["fraction"], rel=1e-12)
    assert memory["value"] > 0.55 > decode["memory"]["fraction"] and memory["met"] is False


def test_the_hints_under_what_to_change_say_which_lines_they_answer():
    """Two requirements no strategy can meet give two N604 notes with one hint, and two W506 warnings whose hints
    begin "no strategy on these GPUs can meet it either". "What to change" repeated them with their codes alone
    — "… the workload (N604); no strategy on these GPUs can meet it either: … 427 ms (N604); relax the
    requirement or change the cluster (W506); …" — so neither "it" nor the shared hint said which requirement."""
    plan = MIXTRAL.format(require="ttft <= 200 ms\n  tpot <= 5 ms\n  decode_throughput >= 100 tokens/ms/gpu")
    (r,) = check(load_plan_text(plan, name="m.moe"))
    lines = {d.code: sorted(x.span.line for x in r.diagnostics if x.code == d.code) for d in r.diagnostics}
    assert lines["N604"] == lines["W506"] == [4, 6]          # the `ttft` and `decode_throughput` lines
    md = report_md(r)
    change = md.split("**What to change:**", 1)[1].split("\n- **", 1)[0].splitlines()
    assert change[1:] == [
        "  - relax the requirement, or change the cluster (GPU type or count), the workload or the precision (N604, "
        "lines 4 and 6)",
        "  - no strategy on these GPUs can meet it either at the plan's bf16 weights and KV cache: the bound of the "
        "whole cluster (8 GPUs, one replica) is 427 ms (N604); relax the requirement or change the cluster or the "
        "precision (W506, line 4)",
        "  - no strategy on these GPUs can meet it either at the plan's bf16 weights and KV cache: the bound of the "
        "whole cluster (8 GPUs, one replica) is 1.92 tokens/ms/gpu (N604); relax the requirement or change the "
        "cluster or the precision (W506, line 6)"]


def test_the_hints_under_what_to_change_are_a_list_not_one_run_on_sentence():
    """Hints have `;`s of their own ("… (N604); relax the requirement …"): joined by `; ` into one sentence, a reader
    could not tell where one hint ended and the next began. Each is an item of a list nested in "What to change",
    in report.md and in report.html."""
    from dagc.export.html import report_html

    plan = MIXTRAL.format(require="ttft <= 200 ms\n  tpot <= 5 ms\n  decode_throughput >= 100 tokens/ms/gpu")
    (r,) = check(load_plan_text(plan, name="m.moe"))
    md = report_md(r)
    (head,) = [line for line in md.splitlines() if line.startswith("- **What to change:**")]
    assert head.endswith(" The diagnostics suggest:")
    page = report_html(md, {})
    change = page.split("<strong>What to change:</strong>", 1)[1].split("</ul>", 1)[0]
    assert "The diagnostics suggest:\n<ul>\n<li>" in change
    items = re.findall(r"<li>(.*?)</li>", change, re.S)
    assert [item.rsplit("(", 1)[1] for item in items] == ["N604, lines 4 and 6)", "W506, line 4)", "W506, line 6)"]


def test_a_hint_repeated_under_what_to_change_is_text_never_markup():
    from dagc.diagnostics import Diagnostic, Severity
    from dagc.export.hints_md import hints_md

    hint = "see [the docs](https://e.example) *now* for `a_b` <b>"
    said = hints_md([Diagnostic("W999", Severity.WARNING, "m", None, hint=hint)] * 2, 3)
    assert said == [r"see \[the docs\](https://e.example) \*now\* for `a_b` \<b\> (W999)"]


def test_the_summary_s_cost_line_is_a_sentence_as_the_lines_beside_it():
    """The Cost bullet ended mid-air ("… 0.278 $ per million input tokens, every rented GPU charged"), the one bullet
    of the summary without its full stop; the figures are the price over the tokens a GPU-hour serves."""
    plan = MIXTRAL.format(require="ttft <= 2 s").replace('"h100-sxm" }', '"h100-sxm"  price = 2.5 $/h }')
    (r,) = check(load_plan_text(plan, name="m.moe"))
    md = report_md(r)
    (cost,) = [line for line in md.splitlines() if line.startswith("- **Cost:**")]
    # by hand: 8 GPUs × 2.5 $/h over the end-to-end tokens of an hour
    per_million = 8 * 2.5 / (r.metrics.throughput_tokens_per_s * 3600 / 1e6)
    assert f"{per_million:,.3f} $ per million tokens (input and output)" in cost
    assert cost.endswith(" $ per million input tokens.")
    assert all(line.endswith(".") for line in md.split("## Summary", 1)[1].split("##", 1)[0].splitlines()
               if line.startswith("- **") and not line.endswith(":"))


def test_the_error_bands_section_points_to_the_met_column_it_contrasts_its_odds_with():
    """The section said "*met* is dagc's figure against the target; *odds* what the deployment is likely to do"
    above a table whose columns are requirement, dagc [band] and odds: the *met* it named is the Requirements
    table's column, a section above, which it now names and links."""
    (r,) = check(load_plan_text(MIXTRAL.format(require="ttft <= 1.3 s  tpot <= 12 ms"), name="m.moe"))
    md = report_md(r)
    bands = md.split("## Error bands", 1)[1].split("\n## ", 1)[0]
    assert "| requirement | dagc [band] | odds |" in bands and "| met |" not in bands
    assert "| requirement | value | target | margin | met |" in md.split("## Requirements", 1)[1]
    assert "*met* (the [Requirements](#requirements) table's column) is dagc's figure against the target" in bands
    # the odds it explains, by hand from the band: 1.198 s in [825 ms, 1.637 s] straddles 1.3 s
    assert "| `ttft <= 1.3 s` | 1.198 s [929.5 ms–1.689 s] | uncertain (p ≈ 0.72) |" in bands


def test_a_plan_without_requirements_reads_no_odds_nor_a_link_to_a_requirements_table_it_lacks():
    plan = MIXTRAL.format(require="").replace("require {  }\n", "")
    (r,) = check(load_plan_text(plan, name="m.moe"))
    md = report_md(r)
    assert "## Requirements" not in md and "## Error bands" in md
    assert "*met*" not in md and "(#requirements)" not in md


def test_the_pools_trace_says_its_decode_steps_start_at_the_server_s_ttft(tmp_path):
    """A disaggregated trace draws the prefill from 0, the KV transfer after it, then the decode instance's steps:
    they start at the server's TTFT, 223.2 ms for DeepSeek-V3's two `tp 8` prefill instances — the prefill's
    209.1 ms and the transfer's 14.05 ms — while the metadata's `ttft_s` is the client's, 247.2 ms with the engine's
    front end. Its timeline said the transfer ran "to the end of TTFT", 24 ms short of the figure beside it."""
    import json

    from dagc.export.compile import CompileOptions, compile_results

    plan = load_plan_text(DEEPSEEK_PD, name="pd.moe")
    results = check(plan)
    compile_results(plan, results, tmp_path / "out", CompileOptions())
    trace = json.loads((tmp_path / "out" / "trace.json").read_text())
    meta, f = trace["metadata"], results[0].pooled.figures
    front = plan.cluster.engine.terms.frontend_alone_s
    assert front == pytest.approx(0.02402) and meta["ttft_s"] == f.ttft_s
    phases = {e["name"]: e for e in trace["traceEvents"] if e["ph"] == "X" and e.get("cat") == "phase"}
    prefill, step = phases["prefill"], phases["decode step 0"]
    # by hand: the decode step starts where the prefill and the transfer's visible part end, the TTFT less the front
    assert step["ts"] == pytest.approx((prefill["dur"] * 1e-6 + f.transfer_s) * 1e6, abs=1e-3)
    assert step["ts"] == pytest.approx((f.ttft_s - front) * 1e6, abs=1e-3)
    assert "to the end of the server's TTFT" in meta["timeline"] and "front end" in meta["timeline"]


def test_where_the_time_goes_says_how_much_of_the_ttft_is_the_front_end_its_shares_leave_out():
    """The summary's "compute is 83 % of the mixed steps (TTFT 47.97 ms)" shared out the mixed step's 23.95 ms,
    while the TTFT beside it is the client's, half of it the engine's front end (24.02 ms) on no critical path: a
    reader halving compute would not halve TTFT. The line now says how much of the TTFT the front end is."""
    (r,) = check(load_plan_text(QWEN.format(strategy="tp 1 ; ep 4"), name="q.moe"))
    md = " ".join(report_md(r).split())
    front = r.metrics.ttft_s - r.metrics.ttft_server_s
    assert front == pytest.approx(0.02402, abs=1e-9)         # vLLM's 20.02 ms front end and 4 ms of its server
    # by hand: in flight the TTFT at the server is one mixed step (a 1,000-token prompt in an 8,192-token chunk)
    mixed = report_json(r)["metrics"]["critical_path"]["mixed"]["makespan_s"] / 2
    assert r.metrics.ttft_server_s == pytest.approx(mixed, rel=1e-9)
    # in its parts, as the Engine line names them (until 2026-12-02 "24.02 ms of it the engine's front end", where
    # the Engine line said 20.02 ms and a run under traffic's client less server TTFT was 20.02 ms)
    said = "of which the engine's front end 20.02 ms and its one server's time 4 ms"
    assert f"compute is **83 % of the mixed steps** (TTFT 47.97 ms, {said})" in md
    (s,) = check(load_plan_text(MIXTRAL.format(require="ttft <= 2 s"), name="m.moe"))
    assert f"compute is **71 % of prefill** (TTFT 1.198 s, {said})" in " ".join(report_md(s).split())


def test_the_summary_names_a_diagnostic_of_the_command_line_s_strategy_by_its_option_not_line_1():
    """A strategy given with `--strategy` is its own one-line text: its W510 stands at `--strategy:1:1`. The summary
    and the hints under "What to change" said "(line 1)", where the plan's line 1 is the `model` line (in the seed
    plans a comment), while the plan's own W504 said "(line 3)" truly; now the option is named."""
    plan = load_plan_text(MIXTRAL.format(require="ttft <= 10 s").replace("batch = 64", "batch = 2"), name="m.moe")
    (r,) = check(plan, "pp 4 < tp 2 >")
    w510 = next(d for d in r.diagnostics if d.code == "W510")
    assert (w510.span.source.path, w510.span.line) == ("--strategy", 1)
    md = " ".join(report_md(r).split())
    assert "warning W510 (`--strategy`): only 2 of the 4 micro-batches" in md
    assert "warning W504 (line 3): 2 micro-batches for 4 stages" in md        # the plan's workload line
    assert "fill 4 micro-batches (W510, `--strategy`)" in md                 # its hint under "What to change"
    assert "(line 1)" not in md and "W510, line 1)" not in md


def test_a_hint_two_codes_give_is_one_item_with_both_codes():
    """4 heads and an expert ffn of 1,028 under `tp 8`: E302 and E305 both hint "use tp 4" (the largest divisor of 8
    that divides 4, and 1,028 = 4 × 257): until 2026-11-30 "What to change" listed the same words twice."""
    plan = ('model "m" { layers = 4  hidden = 1024  heads = 4  kv_heads = 4  vocab = 32000\n'
            '  moe { experts = 8  top_k = 2  ffn = 1028 } }\n'
            'cluster { gpus = 8  gpu preset "h100-sxm" }\n'
            'workload { batch = 8  prompt = 512  generate = 32 }\nstrategy tp 8\n')
    (r,) = check(load_plan_text(plan, name="m.moe"))
    assert [(d.code, d.hint) for d in r.diagnostics if d.code in ("E302", "E305")] == [("E302", "use tp 4"),
                                                                                       ("E305", "use tp 4")]
    md = report_md(r).splitlines()
    at = md.index("- **What to change:** fix the errors first ([Diagnostics](#diagnostics)):")
    assert md[at + 1:at + 3] == ["  - use tp 4 (E302 and E305, line 5)", "- **Diagnostics:** 2 errors, 0 warnings, "
                                 "2 notes — each with its source line and hint under [Diagnostics](#diagnostics):"]


def test_a_hint_two_codes_give_at_different_places_names_each_code_with_its_own():
    from dagc.diagnostics import Diagnostic, Severity
    from dagc.export.hints_md import hints_md

    (r,) = check(load_plan_text(MIXTRAL.format(require="ttft <= 2 s"), name="m.moe"))
    span = r.plan.span_of("workload")
    other = r.plan.span_of("cluster")
    assert span is not None and other is not None and span.line != other.line
    said = hints_md([Diagnostic("W998", Severity.WARNING, "m", span, hint="h"),
                     Diagnostic("W999", Severity.WARNING, "m", other, hint="h"),
                     Diagnostic("W999", Severity.WARNING, "m", span, hint="h")], 3)
    assert said == [f"h (W998, line {span.line}; W999, lines {other.line} and {span.line})"]
