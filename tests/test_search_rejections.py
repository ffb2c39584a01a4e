"""A search without a legal strategy says which rules rejected its candidates, how many each, with one example per
rule and the rule's hint: on the terminal, in `dagc search --format json` (`rejected_by`), in report.json
(`verdict.optimal_evidence.rejected_by`) and report.md; the same counts in one process and in two.

The plan: a two-layer, two-expert model on 2 GPUs, 8 requests in flight with `chunk = 6`, and a runtime
reserve that leaves 0.85 GiB a GPU. Its 34 candidates, counted by hand (`dagc.search.space`: tp ∈ {1, 2} (the
heads), sp with tp 2, ep ∈ {1, 2} with etp ∈ {1, 2}, pp ∈ {1, 2}, dp ∈ {1, 2}; micro-batches 1 and 2 without pp —
3 variants with the overlaps — and 2 and 4 with pp 2 — 4 variants):

- weights above 0.85 GiB a GPU (E402, set aside before any other rule): the whole model on a GPU, 1.48 GB —
  `tp 1` and `dp 2 < tp 1 >`, 3 variants each; the attention whole and half the experts, 1.01 GB —
  `tp 1 ; ep 1 etp 2` and `tp 1 ; ep 2`; the experts whole, 1.21 GB — `tp 2 ; ep 1` and `tp 2 sp ; ep 1`:
  6 strategies × 3 = 18;
- the others hold 0.74 GB a GPU, and each of their attention ranks runs all 8 requests: 8 decode tokens in a
  step of at most 6 (E307): `pp 2 < tp 1 >` (4 variants), `tp 2`, `tp 2 sp`, `tp 2 ; ep 2`, `tp 2 sp ; ep 2`
  (3 each): 16.
"""

from __future__ import annotations

import json

import pytest

from conftest import run_dagc

TINY = """model "tiny-moe" {
  layers = 2  hidden = 4096  heads = 2  kv_heads = 2  head_dim = 128  vocab = 32000
  weights = bf16  kv_cache = bf16
  moe { experts = 2  top_k = 1  ffn = 14336  gated = false }
}
cluster { gpus = 2  gpus_per_node = 2  gpu preset "h100-sxm"  reserve = 78.8 GiB }
workload { batch = 8  prompt = 512  generate = 64  serving = inflight  chunk = 6 }
strategy tp 2
"""
E402_STRATEGIES = {"tp 1", "dp 2 < tp 1 >", "tp 1 ; ep 1 etp 2", "tp 1 ; ep 2", "tp 2 ; ep 1", "tp 2 sp ; ep 1"}
E307_STRATEGIES = {"pp 2 < tp 1 >", "tp 2", "tp 2 sp", "tp 2 ; ep 2", "tp 2 sp ; ep 2"}
LEGAL_LINE = ("0 of 34 strategies are legal: E402 (a rank's memory exceeds the GPU's memory) 18, "
              "E307 (in flight, chunk leaves no room for a prompt) 16")


def _scope(text: str) -> str:
    """A candidate's strategy without its execution options."""
    return text.split(" with ")[0]


@pytest.fixture(scope="module")
def plan_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("nolegal") / "tiny.moe"
    path.write_text(TINY)
    return path


@pytest.mark.parametrize("jobs", [1, 2])
def test_each_rule_counts_what_it_rejects(jobs):
    from dagc.lang.load import load_plan_text
    from dagc.search.search import search
    found = search(load_plan_text(TINY), jobs=jobs)
    assert (found.evaluated, found.legal, found.pruned, found.rejected) == (34, 0, 0, 34)
    assert [(r.code, r.candidates) for r in found.rejected_by] == [("E402", 18), ("E307", 16)]
    e402, e307 = found.rejected_by
    assert _scope(e402.example) in E402_STRATEGIES and _scope(e307.example) in E307_STRATEGIES
    assert e402.hint is None and e402.message is None          # checked only on asking (`with_reasons`)


def test_one_and_two_processes_give_the_same_rows():
    from dagc.lang.load import load_plan_text
    from dagc.search.search import search
    plan = load_plan_text(TINY)
    assert search(plan, jobs=1).rejected_by == search(plan, jobs=2).rejected_by


def test_the_rows_break_down_the_rejected_count_when_some_are_legal():
    """Without the reserve every candidate fits: those whose attention ranks run all 8 requests are E307 — the 16
    above, `tp 1` (3) and `tp 2 ; ep 1`, `tp 2 sp ; ep 1` (3 each): 25 — and the other 9 are legal (`dp 2 < tp 1 >`,
    `tp 1 ; ep 1 etp 2`, `tp 1 ; ep 2`: 4 requests a rank). The summary's `rejected` is the rows' sum, and its line
    reads as before."""
    from dagc.lang.load import load_plan_text
    from dagc.search.search import search
    plan = load_plan_text(TINY.replace("  reserve = 78.8 GiB", ""))
    for jobs in (1, 2):
        found = search(plan, jobs=jobs)
        assert (found.evaluated, found.legal, found.pruned, found.rejected) == (34, 9, 0, 25)
        assert [(r.code, r.candidates) for r in found.rejected_by] == [("E307", 25)]
        assert found.counts_text().startswith("34 strategies examined: 25 rejected by the rules, 9 legal;")


def test_the_terminal_says_each_rule_with_an_example_and_its_hint(plan_file):
    for jobs in ("1", "2"):
        proc = run_dagc("search", str(plan_file), "--jobs", jobs, "--svg", str(plan_file.with_suffix(".svg")))
        assert proc.returncode == 0, proc.stderr
        lines = proc.stdout.splitlines()
        assert lines[0].startswith("34 strategies examined: 34 rejected by the rules, 0 legal")
        assert lines[1] == LEGAL_LINE
        assert lines[2].startswith("  E402, e.g. `") and "of the GPU's 79.65 GiB" in lines[2]
        assert lines[3].startswith("    help: a rank's weights alone, 1.38 GiB, exceed the GPU's 79.65 GiB less its "
                                   "reserve of 78.80 GiB")
        assert lines[4].startswith("  E307, e.g. `") and "`chunk = 6` leaves no room for a prompt" in lines[4]
        assert lines[5].startswith("    help: write `chunk = 9` or more")
        assert "best 0" not in proc.stdout           # no empty table
    quiet = run_dagc("search", str(plan_file), "-q", "--svg", str(plan_file.with_suffix(".svg"))).stdout
    assert quiet.splitlines() == ["best: none — no legal strategy on this cluster", LEGAL_LINE]


def test_the_search_json_has_the_rows(plan_file):
    docs = [json.loads(run_dagc("search", str(plan_file), "--format", "json", "--jobs", jobs,
                                "--svg", str(plan_file.with_suffix(".svg"))).stdout)
            for jobs in ("1", "2")]
    assert docs[0]["rejected_by"] == docs[1]["rejected_by"]
    rows = docs[0]["rejected_by"]
    assert [(r["code"], r["candidates"]) for r in rows] == [("E402", 18), ("E307", 16)]
    assert sum(r["candidates"] for r in rows) == docs[0]["rejected"] == 34
    assert rows[0]["title"] == "a rank's memory exceeds the GPU's memory"
    assert _scope(rows[1]["example"]) in E307_STRATEGIES
    assert rows[1]["message"].startswith("`chunk = 6` leaves no room for a prompt")
    assert rows[1]["hint"].startswith("write `chunk = 9` or more")


def test_check_and_compile_say_it_under_the_optimal_verdict(plan_file, tmp_path):
    proc = run_dagc("compile", str(plan_file), "-o", str(tmp_path / "out"))
    assert proc.returncode == 3, proc.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    ev = report["verdict"]["optimal_evidence"]
    assert ev["note"] == ("no legal strategy was found on this cluster (all 34 candidates evaluated): rejected by "
                          "E402 (a rank's memory exceeds the GPU's memory) 18, E307 (in flight, chunk leaves no room "
                          "for a prompt) 16")
    assert [(r["code"], r["candidates"]) for r in ev["rejected_by"]] == [("E402", 18), ("E307", 16)]
    assert ev["rejected_by"][1]["hint"].startswith("write `chunk = 9` or more")
    md = (tmp_path / "out" / "report.md").read_text()
    assert "- **E402** (a rank's memory exceeds the GPU's memory): 18 — e.g. `" in md
    assert "- **E307** (in flight, chunk leaves no room for a prompt): 16 — e.g. `" in md
    assert "Help: write `chunk = 9` or more" in md
    # no objective has a pick: nothing to disagree on, and no table of empty rows
    assert "The objectives disagree" not in md and "| — (no legal strategy" not in md
    assert ("- **No objective picks a strategy** (tokens-per-gpu, min-gpus, ttft, tpot, throughput, cost): the search "
            "found no legal one, or was cut short ([Verdicts](#verdicts) says which).") in md
    out = run_dagc("check", str(plan_file)).stdout
    assert ("  optimal? no legal strategy was found on this cluster (all 34 candidates evaluated): rejected by E402 "
            "(a rank's memory exceeds the GPU's memory) 18, E307") in out
    assert "\n    E307, e.g. `" in out and "\n      help: write `chunk = 9` or more" in out


def test_the_engines_refusals_are_counted_by_code():
    """On an engine the plan chose, the candidates it cannot start are left out of the stream and counted by the
    code of its first refusal, beside those the rules reject in the stream: the rows add up to every candidate."""
    from dagc.lang.load import load_plan_text
    from dagc.search.search import search
    from dagc.search.space import engine_left_out
    plan = load_plan_text(TINY.replace('reserve = 78.8 GiB', 'reserve = 78.8 GiB  engine = sglang'))
    one, two = (search(plan, jobs=jobs) for jobs in (1, 2))
    assert one.rejected_by == two.rejected_by and one.legal == 0
    assert sum(r.candidates for r in one.rejected_by) == one.rejected == one.evaluated == 34
    assert sum(r.candidates for r in one.rejected_by if r.code.startswith("E7")) == engine_left_out(plan) > 0


def test_a_fleets_cluster_without_a_legal_strategy_names_the_rules():
    """`dagc fleet`'s row of such a cluster says the counts, not `the search found none (dagc search says why)`."""
    from dagc.export.fleet_json import FLEET_ASK
    from dagc.fleet.cluster import answer_cluster
    from dagc.lang.load import load_plan_text
    answer = answer_cluster(load_plan_text(TINY), 4.0, FLEET_ASK)
    assert answer.pick is None and not answer.meets_requirements
    assert answer.note == f"no legal strategy on 2 GPUs: {LEGAL_LINE} (`dagc search` gives an example of each, " \
                          "with its hint)"


@pytest.mark.parametrize("engine", ["engine = vllm", ""])
def test_an_engine_that_refuses_the_plan_is_the_rule_of_every_candidate(engine):
    """MTP drafting on a checkpoint without MTP weights (E706): every candidate is left out for it, whatever else
    its engine says of its layout (vLLM's E702, E709, … come after it), named engine or not."""
    from dagc.lang.load import load_plan_text
    from dagc.search.search import search
    found = search(load_plan_text(f"""model preset "mixtral-8x7b"
cluster {{ gpus = 2  gpu preset "h100-sxm"  {engine} }}
workload {{ batch = 8  prompt = 1000  generate = 200  speculative {{ method = mtp  tokens = 2  acceptance = 0.7 }} }}
strategy tp 2
"""))
    assert found.legal == 0 and found.evaluated == found.total > 0
    assert [(r.code, r.candidates) for r in found.rejected_by] == [("E706", found.total)]
