"""report.md / report.html for people: the summary first (the three answers with their key figures,
what dominates the time, what to change), requirement figures in the requirement's own unit,
the model's memory in total and over all GPUs, and links that work in both files."""

from __future__ import annotations

import dataclasses
import re

import pytest

from dagc.export.html import heading_id, report_html
from dagc.export.markdown import comparison_md, report_md
from dagc.export.optimal_words import evidence_json, times
from dagc.export.report import report_json
from dagc.export.result_json import metrics_json
from dagc.export.summary import COST_NAMES, dominant_costs, metric_text, requirement_value_text
from dagc.lang.load import load_plan_text
from dagc.plan.workload import RequirementKind
from dagc.units import Dimension, format_figure, format_si
from dagc.verdict.check import check
from dagc.verdict.optimal import BestCandidate, OptimalEvidence, Why
from dagc.verdict.verdict import Verdict
from conftest import ROOT

SMALL = (ROOT / "tests" / "fixtures" / "small.moe").read_text()


def checked(text: str = SMALL, name: str = "small.moe"):
    return check(load_plan_text(text, name=name))


def with_require(lines: str) -> str:
    return re.sub(r"require \{[^}]*\}", "require { " + lines + " }", SMALL)


# ------------------------------------------------------------------ units

@pytest.mark.parametrize(("written", "value", "shown"), [
    ("ttft <= 10 s", 0.49059, "490.6 ms"),         # a time reads as every output shows it, not `0.4906 s`
    ("ttft <= 500 ms", 0.49059, "490.6 ms"),
    ("tpot <= 150 us", 954.8e-6, "954.8 us"),
    ("tpot <= 50ms", 0.054921, "54.92 ms"),
    ("decode_throughput >= 100 tokens/ms/gpu", 96.699, "0.0967 tokens/ms/gpu"),
    ("decode_throughput >= 2000 tokens/s/gpu", 2094.7, "2,095 tokens/s/gpu"),
    ("decode_throughput >= 20 tokens/ms", 24755.2, "24.76 tokens/ms"),
    ("prefill_throughput >= 5 tokens/ms/gpu", 10436.2, "10.44 tokens/ms/gpu"),
    ("throughput >= 50000 tokens/s", 71618.4, "71,618 tokens/s"),
    ("throughput >= 1 tokens/ms/gpu", 17904.5, "17.9 tokens/ms/gpu"),
    ("memory <= 90 %", 0.51041, "51.0 %"),          # as the memory table shows it
    ("memory <= 70 GB", 43.65e9, "43.65 GB"),
    ("memory <= 64 GiB", 2**35, "32 GiB"),
    ("gpus <= 8", 4.0, "4 GPUs"),
])
def test_requirement_values_in_their_own_unit(written, value, shown):
    req = load_plan_text(with_require(written), name="u.moe").requirements[0]
    assert req.text == written
    assert requirement_value_text(req, value) == shown
    # the target reads back as written
    if req.kind is not RequirementKind.GPUS:
        target = requirement_value_text(req, req.target).replace(",", "")
        assert target == written.split(maxsplit=2)[2].replace("50ms", "50 ms")
    assert requirement_value_text(req, None) == "not computed"


def test_metric_text_follows_the_requirement_unit_per_gpu_and_total():
    plan = load_plan_text(with_require("decode_throughput >= 100 tokens/ms/gpu"), name="u.moe")
    k = RequirementKind.DECODE_THROUGHPUT
    assert metric_text(plan, k, 96.699, per_gpu=True) == "0.0967 tokens/ms/gpu"
    assert metric_text(plan, k, 24755.2) == "24.76 tokens/ms"
    assert metric_text(plan, RequirementKind.THROUGHPUT, 740501.5) == "740,502 tokens/s"   # no requirement on it
    assert metric_text(plan, RequirementKind.TPOT, 0.0052) == "5.2 ms"
    assert metric_text(plan, RequirementKind.MEMORY, 0.104) == "10.4 % of a GPU"


def test_metric_text_of_memory_reads_as_the_memory_requirement_does():
    """The summary's "memory of the fullest GPU" beside the better strategy reads as the Requirements table, the
    memory table and the terminal's "memory 13.5 %" do, to one decimal — before, `memory <= 90 %` made it 13.51 %
    and 74.39 % (mixtral-8x7b on 16 H100s as `pp 4 < tp 4 ; ep 4 >`); beside the target, the digits that tell
    them apart."""
    plan = load_plan_text(with_require("memory <= 90 %"), name="u.moe")
    k = RequirementKind.MEMORY
    assert metric_text(plan, k, 0.1351) == "13.5 %" and metric_text(plan, k, 0.7439) == "74.4 %"
    assert metric_text(plan, k, 0.89996) == "89.996 %"
    assert metric_text(plan, k, 0.1351) == requirement_value_text(plan.requirements[0], 0.1351)


def test_every_requirement_in_report_md_is_in_its_unit():
    r = checked(with_require("ttft <= 10 s  decode_throughput >= 1 tokens/ms/gpu  memory <= 70 GB  gpus <= 8"))[0]
    md = report_md(r)
    decode = r.requirements[1]
    shown = f"{decode.value / 1e3:.4g} tokens/ms/gpu"
    assert f"| `decode_throughput >= 1 tokens/ms/gpu` | {shown} | 1 tokens/ms/gpu |" in md
    assert f"decode throughput | {r.metrics.decode_tokens_per_s / 1e3:,.4g} tokens/ms | {shown} |" in md
    ttft = r.requirements[0]
    assert f"| `ttft <= 10 s` | {format_si(ttft.value, Dimension.TIME)} | 10 s |" in md      # as every time reads
    mem = r.requirements[2]
    assert f"| `memory <= 70 GB` | {mem.value / 1e9:.4g} GB | 70 GB |" in md
    assert "| `gpus <= 8` | 4 GPUs | 8 GPUs |" in md


def test_a_per_gpu_figure_without_a_requirement_reads_tokens_per_s_per_gpu_as_the_terminal_writes_it():
    """report.md's metrics wrote `tokens/s/gpu` where `dagc check`'s metrics table writes `tokens/s/GPU` (until
    2026-12-02); a figure under a requirement keeps the requirement's own unit."""
    r = checked()[0]
    md = report_md(r)
    per_gpu = r.metrics.prefill_tokens_per_s / r.gpus_used
    assert f"| prefill throughput | {format_figure(r.metrics.prefill_tokens_per_s)} tokens/s | " \
           f"{format_figure(per_gpu)} tokens/s/GPU |" in md
    assert "tokens/s/gpu" not in md


# ------------------------------------------------------------------ the summary

def test_summary_comes_first_and_answers_with_figures():
    r = checked()[0]
    md = report_md(r)
    headings = re.findall(r"^## (.+)$", md, flags=re.M)
    assert headings[:3] == ["Summary", "Assumptions", "Verdicts"] and headings[-1] == "Glossary"
    summary = md.split("## Summary")[1].split("## Assumptions")[0]
    assert "**Correct: yes.**" in summary and "uses 4 of the 4 GPUs" in summary
    tpot = r.requirements[1]
    assert tpot.met is False
    assert (f"`tpot <= 150 us` is not met: the strategy gives **{format_si(tpot.value, Dimension.TIME)}** "
            f"against 150 us (margin {format_figure(tpot.value / 150e-6)}× over)") in summary     # a multiple
    assert "**Optimal: not judged.**" in summary


def test_dominant_cost_sentence_matches_the_critical_path():
    r = checked()[0]
    summary = report_md(r).split("## Assumptions")[0]
    for phase in ("prefill", "decode"):
        p = metrics_json(r.metrics)["critical_path"][phase]
        key = max(COST_NAMES, key=lambda k: p[k])
        share = p[key] / p["makespan_s"]
        assert f"{COST_NAMES[key]} is **{share * 100:.0f} % of {phase}**" in summary
        assert dominant_costs(metrics_json(r.metrics))[phase][0] == (key, share)
    cp = {"makespan_s": 1.0, "compute_s": 0.2, "tp_comm_s": 0.0, "ep_comm_s": 0.77, "pp_comm_s": 0.03,
          "waiting_s": 0.0}
    assert dominant_costs({"critical_path": {"prefill": cp}})["prefill"][0] == ("ep_comm_s", 0.77)


# The seed report's plan: a 10 B MoE on 256 GPUs asked for 100 tokens/ms/gpu (beyond any strategy).
SEED_10B = """
model "seed-moe-10b" {
  layers = 16  hidden = 4096  heads = 32  kv_heads = 32  head_dim = 128  vocab = 32000
  moe { experts = 16  top_k = 2  ffn = 4096  gated = false }
}
cluster { gpus = 256  gpus_per_node = 8  gpu preset "generic-400t" }
workload { batch = 128  prompt = 10240  generate = 256  microbatches = 16 }
require {
  ttft <= 10 s
  decode_throughput >= 100 tokens/ms/gpu
}
strategy pp 16 < ep 16 >
"""


def test_summary_cites_the_diagnostics_that_explain_a_failed_requirement():
    r = checked(SEED_10B, "seed.moe")[0]
    summary = report_md(r).split("## Assumptions")[0]
    block = summary.split("**Meets the requirements: no.**")[1].split("\n- **Optimal")[0]
    q = r.requirements[1]
    assert q.met is False and r.requirements[0].met is True
    assert (f"`decode_throughput >= 100 tokens/ms/gpu` is not met: the strategy gives **{format_figure(q.value / 1e3)} "
            f"tokens/ms/gpu** against 100 tokens/ms/gpu") in block
    on_line = [d for d in r.diagnostics if d.span is not None and d.span.line == q.requirement.span.line]
    assert {d.code for d in on_line} >= {"W506"}
    for d in on_line:
        assert f"\n  - {d.severity.value} {d.code} (line 10): {d.message}" in block
    for d in r.diagnostics:
        if d.severity.value == "warning" and d not in on_line:
            assert f"  - warning {d.code} (line {d.span.line}): {d.message}" in summary
    assert "[Diagnostics](#diagnostics)" in summary


def _evidence(why: Why, text: str, gpus: int = 2, meets: bool | None = True, evaluated: int = 40, total: int = 40,
              complete: bool = True, **figures) -> OptimalEvidence:
    """An optimal verdict's evidence naming `text` as the search's best (what `judge_optimal` would give)."""
    best = BestCandidate(text=text, score=1.0, gpus=gpus, microbatches=1, overlap="none", batch=None,
                         batch_breaks=None, meets_requirements=meets, judged="all", load_missed=(),
                         misses=0 if meets else 1, exact=True)
    return OptimalEvidence(why, evaluated=evaluated, total=total, complete=complete, objective="tokens-per-gpu",
                           best=best, **figures)


def test_what_to_change_leads_with_the_requirement_when_no_strategy_can_meet_it():
    r = checked(SEED_10B, "seed.moe")[0]
    assert any(d.code == "N604" for d in r.diagnostics)
    ev = _evidence(Why.BEST_IS_LEGAL, "tp 4 ; ep 8 with microbatches 1 overlap none", gpus=8, meets=False)
    r = dataclasses.replace(r, optimality=ev, verdict=Verdict(True, False, False))
    change = report_md(r).split("- **What to change:** ")[1].split("\n")[0]
    assert change.startswith("no strategy on this cluster can meet `decode_throughput >= 100 tokens/ms/gpu` at the "
                             "plan's bf16 weights and KV cache (N604): relax the requirement, or change the cluster, "
                             "the workload or the precision.")
    assert "paste this line" not in change


def test_summary_of_an_incorrect_strategy_names_its_errors():
    r = checked(SMALL.replace("strategy pp 2 < tp 2 ; ep 2 >", "strategy tp 3"))[0]
    summary = report_md(r).split("## Assumptions")[0]
    assert "**Correct: no.** error E302 (line 9): 8 attention heads are not divisible by tp 3" in summary
    # each error's hint an item of its own, with the line it answers (until 2026-11-30 joined by `; ` in one line),
    # and a hint two errors give said once with both codes (until 2026-11-30 "use tp 2 or tp 4" twice)
    assert ("- **What to change:** fix the errors first ([Diagnostics](#diagnostics)):\n"
            "  - use tp 2 or tp 4 (E302 and E305, line 9)\n- **Diagnostics:**") in summary


def test_what_to_change_is_pasteable_with_figures_in_the_requirement_units():
    r = checked(with_require("ttft <= 10 ms  decode_throughput >= 1 tokens/ms/gpu"))[0]
    own = {"gpus": 4, "ttft_s": r.metrics.ttft_s, "tpot_s": r.metrics.tpot_s,
           "decode_tokens_per_s_per_gpu": r.metrics.decode_tokens_per_s / 4,
           "throughput_tokens_per_s": r.metrics.throughput_tokens_per_s, "memory_fraction": 0.05}
    best = {**own, "gpus": 2, "ttft_s": 0.004, "decode_tokens_per_s_per_gpu": 3000.0, "memory_fraction": 0.0612}
    ev = _evidence(Why.BETTER, "tp 2 with microbatches 1 overlap none", gpus=2, meets=True, own_figures=own,
                   best_figures=best, factor=3000.0 / own["decode_tokens_per_s_per_gpu"])
    r = dataclasses.replace(r, optimality=ev, verdict=Verdict(True, r.verdict.meets_requirements, False))
    summary = report_md(r).split("## Assumptions")[0]
    assert "  ```\n  strategy tp 2 with microbatches 1 overlap none\n  ```" in summary
    assert "| GPUs | 4 | 2 |" in summary
    assert f"| TTFT | {own['ttft_s'] * 1e3:.4g} ms | 4 ms |" in summary
    own_tput = f"{own['decode_tokens_per_s_per_gpu'] / 1e3:.4g} tokens/ms/gpu"
    assert f"| decode throughput per GPU | {own_tput} | 3 tokens/ms/gpu |" in summary
    assert "| memory of the fullest GPU | 5.0 % of a GPU | 6.1 % of a GPU |" in summary
    # the verdict's own words, as `dagc check` prints them (its caveats too); the figures above in the units
    mine = own["decode_tokens_per_s_per_gpu"]
    assert (f"- **Optimal: no.** `tp 2 with microbatches 1 overlap none` gives {times(3000.0 / mine)} the decode "
            f"throughput per GPU (3,000 vs {format_figure(mine)} tokens/s per GPU) on 2 GPUs.") in summary


# ------------------------------------------------------------------ memory

def test_memory_totals_by_hand():
    """tiny: 4 layers, hidden 256, 8 heads / 2 KV heads of 32, vocab 1000, 4 gated experts of ffn 512
    and 1 shared, bf16; pp 2 < tp 2 ; ep 2 on 4 GPUs, batch 8 × (128 + 8)."""
    r = checked()[0]
    h, layers, ffn, vocab = 256, 4, 512, 1000
    attention = layers * (2 * h * 8 * 32 + 2 * h * 2 * 32)
    routed = layers * 4 * 3 * h * ffn
    shared = layers * 1 * 3 * h * ffn
    emb_head = 2 * vocab * h
    norms_routers = layers * 2 * h + h + layers * h * 4
    total = attention + routed + shared + emb_head + norms_routers
    assert total == 9_038_080
    t = report_json(r)["memory"]["model"]
    cats = {c["category"]: c for c in t["categories"]}
    assert {k: c["params"] for k, c in cats.items()} == {
        "attention": attention, "routed_experts": routed, "shared_experts": shared,
        "embedding_and_lm_head": emb_head, "norms_and_routers": norms_routers}
    assert t["weights"]["bytes"] == total * 2 and report_json(r)["model"]["params_total"] == total
    # tp 2 splits everything but the norms and routers, which each GPU of a stage holds whole.
    assert cats["norms_and_routers"]["copies"] == 2.0
    assert all(c["copies"] == 1.0 for k, c in cats.items() if k != "norms_and_routers")
    assert t["weights"]["all_ranks_bytes"] == (total + norms_routers) * 2
    kv_token = layers * 2 * 2 * 32 * 2              # layers · (K and V) · KV heads · head_dim · 2 bytes
    assert t["kv_cache"]["bytes_per_token"] == kv_token == 1024
    assert t["kv_cache"]["bytes_per_request"] == kv_token * (128 + 8)
    assert t["kv_cache"]["batch_bytes"] == t["kv_cache"]["all_ranks_bytes"] == kv_token * 136 * 8
    md = report_md(r)
    # memory in binary units, as engines and nvidia-smi count it: 18,076,160 B = 17.24 MiB
    assert "**tiny** has 9.0 M parameters × 2 bytes (bf16) = **17.2 MiB** of weights" in md
    assert "| norms and routers | 6.4 K | 12.5 KiB | 25.0 KiB | 2.00× |" in md          # 12,800 and 25,600 B
    assert "**1.0 KiB per token** of context over all 4 layers, **136.0 KiB per request** of 136 tokens" in md
    per_rank = md.split("## Memory per rank")[1]
    assert "| stage | attention | routed experts | shared experts | embedding and LM head | norms and routers |" \
        in per_rank


# ------------------------------------------------------------------ HTML

def test_anchors_of_report_md_exist_in_report_html():
    md = report_md(checked()[0])
    html = report_html(md, {})
    targets = set(re.findall(r"\]\(#([^)]+)\)", md))
    assert {"diagnostics", "critical-path", "assumptions", "memory-per-rank"} <= targets
    for t in targets:
        assert f'id="{t}"' in html
    assert heading_id("Memory of the model") == "memory-of-the-model"


def test_comparison_html_links_each_strategy_report_html():
    results = checked(SMALL + "\nstrategy fast = tp 2 ; ep 2\n")
    md = comparison_md(results[0].plan, results, ["strategy-1", "fast"])
    assert "](strategy-1/report.md)" in md and "](fast/report.md)" in md
    html = report_html(md, {})
    assert 'href="strategy-1/report.html"' in html and 'href="fast/report.html"' in html
    assert "report.md" not in html
    assert "| `tpot <= 150 us` | **not met** (" in md and "tokens/s/GPU" in md and "tokens/s/gpu" not in md
    assert "pareto.svg" not in md                         # no search, no plot
    plotted = comparison_md(results[0].plan, results, ["strategy-1", "fast"], "pareto.svg")
    assert "[pareto.svg](pareto.svg)" in plotted and 'href="pareto.svg"' in report_html(plotted, {})
    assert "![Pareto front](pareto.svg)" in plotted and "<img" not in report_html(plotted, {})   # no plot: a link
    held = report_html(plotted, {"pareto.svg": '<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>'})
    assert '<figure class="svg"><svg' in held and "<img" not in held      # the plot inside the page
    assert "| better strategy (paste it) | — | — |" in md          # no search: no verdict names one


def test_comparison_names_the_better_strategy_of_each():
    """With the search, the comparison's row names what the optimal verdict of each strategy names
    instead, as pasteable text (the same as its report's); "—" for a strategy found optimal."""
    from dagc.search.search import search

    plan = load_plan_text(SMALL + "\nstrategy fast = tp 2 ; ep 2\n", name="small.moe")
    results = check(plan, optimality=search(plan, top=5, front=False))
    md = comparison_md(plan, results, ["strategy-1", "fast"])
    row = next(line for line in md.splitlines() if line.startswith("| better strategy (paste it) |"))
    cells = [c.strip() for c in row.strip("|").split("|")[1:]]
    for r, cell in zip(results, cells, strict=True):
        assert cell == (f"`{evidence_json(r.optimality, r)['best_strategy']}`" if r.verdict.optimal is False else "—")
    assert all(cell.startswith("`") for cell in cells)          # neither of these two is optimal


def test_a_plan_without_requirements_meets_them_in_every_output():
    """No `require` block: report.md says yes, as report.json (`meets_requirements: true`) and the
    command line do, and says why."""
    from conftest import plan_text
    (r,) = check(load_plan_text(plan_text()))
    assert not r.requirements and r.verdict.meets_requirements is True
    assert report_json(r)["verdict"]["meets_requirements"] is True
    md = report_md(r)
    assert "**Meets the requirements: yes.** The plan states no requirements" in md


def test_what_to_change_does_not_repeat_a_not_judged_verdict():
    """When the optimal verdict is not judged with a note, "What to change" points at it rather than
    printing the note a second time."""
    r = checked(with_require("ttft <= 10 ms"))[0]
    ev = _evidence(Why.NONE_BETTER_SO_FAR, "x", complete=False, evaluated=10, total=300, order="fewest GPUs first",
                   stop_reason="at its cap of 10 candidates")
    r = dataclasses.replace(r, optimality=ev, verdict=Verdict(True, r.verdict.meets_requirements, None))
    summary = report_md(r).split("## Assumptions")[0]
    assert ("**Optimal: not judged.** No better strategy among the 10 evaluated (the best of them `x`), but the search "
            "stopped after 10 of 300 candidates (fewest GPUs first, at its cap of 10 candidates).") in summary
    assert summary.lower().count("at its cap of 10 candidates") == 1          # in the optimal verdict alone
    # the search's best is named, and said not to be judged as this strategy is (not "no better is known")
    assert ("- **What to change:** none better is confirmed: the search's best, `x`, is not judged as this one is "
            "(the optimal verdict above says why).") in summary


def test_memory_of_a_model_with_fp4_experts_and_a_window_says_so():
    """gpt-oss-120b: bf16 but for its mxfp4 experts (the weights are not its parameters × 2 bytes, 217.6 GiB), and
    18 of its 36 layers keep at most 128 tokens: a request of 2,000 + 400 tokens holds (18 · 2,400 + 18 · 128)
    tokens-layers · (K and V) · 8 KV heads · 64 · 2 bytes = 93,192,192 B = 88.87 MiB, not 72 KiB × 2,400."""
    r = check(load_plan_text('model preset "gpt-oss-120b"\ncluster { gpus = 1  gpu preset "h100-sxm" }\n'
                             "workload { batch = 1  prompt = 2000  generate = 400 }\nstrategy tp 1\n"))[0]
    assert report_json(r)["memory"]["model"]["kv_cache"]["bytes_per_request"] == (18 * 2400 + 18 * 128) * 2 * 8 * 64 * 2
    md = report_md(r)
    assert "**gpt-oss-120b** has 116.8 B parameters (bf16, the experts mxfp4) = **60.69 GiB** of weights" in md
    assert ("**72.0 KiB per token** of context over all 36 layers (18 of them keep at most 128 tokens of it), "
            "**88.9 MiB per request** of 2,400 tokens") in md
