"""Hints and captions a new user followed and found wrong: W521's hint on a request log (which `requests` cannot
lengthen), the metrics caption of a strategy whose KV cache runs fewer requests than `batch` (W520), and E301's
hint where EPLB's redundant slots keep the ep written."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagc.lang.load import load_plan_text
from dagc.rules.serving import percentile_samples

ROWS = "".join(f"2024-05-10 00:00:0{i // 2}.{500000 * (i % 2):06d}+00:00,{800 + 100 * i},{100 + 10 * i}\n"
               for i in range(12))
LOG = "TIMESTAMP,ContextTokens,GeneratedTokens\n" + ROWS      # twelve requests, half a second apart


def _w521_hints(tmp_path: Path, traffic: str) -> list[str]:
    (tmp_path / "reqs.csv").write_text(LOG)
    plan = load_plan_text('model preset "qwen3-30b-a3b"\ncluster { gpus = 2  gpu preset "h100-sxm" }\n'
                          f"workload {{ batch = 64  prompt = 1600  generate = 300  serving = inflight  {traffic} }}\n"
                          "require { ttft_p90 <= 500 ms }\nstrategy tp 2\n", base_dir=tmp_path)
    return [d.hint or "" for d in percentile_samples(plan)]


def test_w521_on_a_whole_log_does_not_ask_for_more_requests_than_the_log_has(tmp_path):
    # a p90 needs 10 / (1 − 0.9) = 100 requests; the log holds 12, and `requests = 100` beside it is E104
    (hint,) = _w521_hints(tmp_path, 'requests from "reqs.csv"')
    assert "`requests = 100` or more in the workload" not in hint
    assert hint.startswith("the log `reqs.csv` holds 12 requests, all replayed: give a log of 100 or more")
    assert "`rate = R requests/s  requests = 100`" in hint


def test_w521_on_a_log_cut_by_requests_asks_for_more_of_it(tmp_path):
    (hint,) = _w521_hints(tmp_path, 'requests from "reqs.csv"  requests = 10')
    assert hint == "replay more of the log: `requests = 100` or more, if `reqs.csv` holds that many"


def test_w521_without_a_log_keeps_its_hint(tmp_path):
    (hint,) = _w521_hints(tmp_path, "rate = 2 requests/s  requests = 50")
    assert hint == "simulate more: `requests = 100` or more in the workload"


def test_the_metrics_caption_says_the_requests_the_kv_cache_runs_not_the_batch():
    # Qwen3-30B-A3B, dp 2 < tp 4 >: a rank holds 1 of the 4 KV heads, 48 layers × 128 × 2 (K, V) × 2 bytes =
    # 24,576 bytes a token; the H100's 85.52 GB less 15.25 GB of weights (30.5 B params × 2 bytes / 4) and the 4 GiB
    # reserve leave ≈ 65.9 GB, 2.68 M tokens: 86 requests at their mean context 30,000 + 2,000 / 2 (W520), 172 in all,
    # at which the figures are priced — the caption said "the plan's batch of 512 requests, 256 in each"
    from dagc.cli.print_figures import steady_caption
    from dagc.verdict.check import check
    text = ('model preset "qwen3-30b-a3b"\ncluster { gpus = 16  gpu preset "h100-sxm" }\n'
            "workload { batch = 512  prompt = 30000  generate = 2000  serving = inflight }\nstrategy dp 2 < tp 4 >\n")
    (r,) = check(load_plan_text(text))
    assert "W520" in [d.code for d in r.diagnostics] and r.metrics.concurrency_effective == 172
    assert steady_caption(r).startswith("the steady state, every request slot the KV cache holds busy (≈ 172 of the "
                                        "plan's batch of 512 requests, 86 in each of its 2 replicas: W520)")


def _e301_hint(strategy: str, gpus: int = 72) -> str:
    from dagc.verdict.check import check
    text = (f'model preset "kimi-k2"\ncluster {{ gpus = {gpus}  gpu preset "gb200" }}\n'
            f"workload {{ batch = 144  prompt = 2000  generate = 200 }}\nstrategy {strategy}\n")
    (r,) = check(load_plan_text(text))
    (d,) = [d for d in r.diagnostics if d.code == "E301"]
    return d.hint or ""


def test_e301_names_the_redundant_slots_that_keep_the_ep_written():
    # Kimi-K2's 384 routed experts over ep 72 (one GB200 NVL72 rack): 384 = 5 × 72 + 24, so 48 redundant slots make
    # 432 = 6 × 72, 6 a GPU; without them the largest ep up to 72 dividing 384 is 64 (6 experts a GPU)
    hint = _e301_hint("tp 1 ; ep 72")
    assert hint == ("the largest ep up to 72 that divides the 384 experts is 64 (6 experts per GPU); use dp or pp for "
                    "more GPUs, or keep ep 72 with EPLB's redundant slots: `with redundant 48` (6 slots per GPU)")
    # ep above the experts: every expert copied is no EPLB deployment to suggest
    assert "redundant" not in _e301_hint("tp 1 ; ep 512", gpus=512)


def _load_error(text: str):
    import pytest

    from dagc.diagnostics import PlanError
    with pytest.raises(PlanError) as exc:
        load_plan_text(text)
    (d,) = [d for d in exc.value.diagnostics if d.is_error]
    return d


def _cluster_plan(fields: str) -> str:
    return (f'model preset "mixtral-8x7b"\ncluster {{ gpus = 8  gpu preset "h100-sxm"  {fields} }}\n'
            "workload { batch = 8  prompt = 1000  generate = 100 }\nstrategy tp 8\n")


def test_a_size_written_as_a_bandwidth_keeps_its_number():
    # the hint was "for example `reserve = 80 GB`": a reserve of the whole H100, where `4 GB` was meant
    d = _load_error(_cluster_plan("reserve = 4 GB/s"))
    assert d.code == "E102" and d.hint == "write `reserve = 4 GB`: a size, without `/s`"
    d = _load_error(_cluster_plan("inter_node = 50GB"))
    assert d.code == "E102" and d.hint == "write `inter_node = 50 GB/s`: a bandwidth, per second"
    # a unit no `/s` turns into the field's dimension keeps the example
    assert _load_error(_cluster_plan("reserve = 4 ms")).hint == "for example `reserve = 80 GB`"
    # each hint's own form is legal: 4 × 10⁹ bytes, 50 × 10⁹ bytes/s
    plan = load_plan_text(_cluster_plan("reserve = 4 GB  inter_node = 50 GB/s"))
    assert plan.cluster.reserve_bytes == 4e9 and plan.cluster.inter_node_bytes_per_s == 50e9


def test_search_on_a_plan_it_cannot_read_says_so_and_prints_json_for_a_script(tmp_path):
    # `dagc search` drew the diagnostics alone, where check, compile and launch end with the summary line; and with
    # `--format json` it left stdout empty, which `json.load` cannot read, where `check` prints {plan, valid, …}
    import json

    from conftest import run_dagc
    (tmp_path / "bad.moe").write_text(_cluster_plan("reserve = 4 GB/s"))
    text = run_dagc("search", "bad.moe", "--svg", str(tmp_path / "p.svg"), cwd=tmp_path)
    assert text.returncode == 4 and text.stdout == ""
    assert text.stderr.rstrip().endswith("error: bad.moe: 1 error; nothing was searched")
    js = run_dagc("search", "bad.moe", "--format", "json", "--svg", str(tmp_path / "p.svg"), cwd=tmp_path)
    doc = json.loads(js.stdout)
    assert js.returncode == 4 and doc["plan"] == "bad.moe" and doc["valid"] is False
    assert [d["code"] for d in doc["diagnostics"]] == ["E102"]
    assert not (tmp_path / "p.svg").exists()


def test_search_refused_by_the_engine_prints_json_for_a_script(tmp_path):
    import json

    from conftest import run_dagc
    (tmp_path / "mtp.moe").write_text('model preset "mixtral-8x7b"\ncluster { gpus = 8  gpu preset "h100-sxm" }\n'
                                      "workload { batch = 8  prompt = 1000  generate = 100  serving = inflight  "
                                      "speculative { method = mtp  tokens = 1  acceptance = 0.8 } }\n")
    js = run_dagc("search", "mtp.moe", "--format", "json", "--svg", str(tmp_path / "p.svg"), cwd=tmp_path)
    doc = json.loads(js.stdout)
    assert js.returncode == 3 and doc["valid"] is False and [d["code"] for d in doc["diagnostics"]] == ["E706"]


def test_a_timestamp_that_is_no_date_is_not_told_it_lacks_an_offset():
    # epoch seconds under a first line with `+00:00`: adding an offset to `1715299201.5` reads no better
    import pytest

    from dagc.lang.azure_log import azure_log
    from dagc.lang.log_fields import LogError
    head = ["TIMESTAMP,ContextTokens,GeneratedTokens", "2024-05-10 00:00:00.009930+00:00,1200,300"]
    with pytest.raises(LogError) as exc:
        azure_log([*head, "1715299201.5,800,150"], "reqs.csv")
    assert (exc.value.line, exc.value.message) == (3, "`TIMESTAMP` is a bare number, not a date and time")
    with pytest.raises(LogError) as exc:                 # a date short of its offset is still told so
        azure_log([*head, "2024-05-10 00:00:00.250000,800,150"], "reqs.csv")
    assert (exc.value.line, exc.value.message) == (3, "`TIMESTAMP` has no UTC offset, the first line's has one")


MTP_PLAN = ('model preset "deepseek-v3"\ncluster { gpus = 8  gpu preset "h200" }\n'
            "workload { batch = 64  prompt = 2000  generate = 200  serving = inflight\n"
            "  speculative { method = mtp  tokens = 2  accept_length = 2.6 } }\nstrategy tp 1 ; ep 8\n")


def test_a_set_acceptance_replaces_the_plans_accept_length_and_back(tmp_path):
    # the two say one thing: `--set workload.speculative.acceptance=0.7` on a plan with `accept_length` was E104
    # "give `acceptance` or `accept_length`, not both", so no --set could try another acceptance
    import pytest

    from dagc.diagnostics import PlanError
    from dagc.lang.overrides import load_plan_with
    path = tmp_path / "mtp.moe"
    path.write_text(MTP_PLAN)
    spec = load_plan_with(path, ["workload.speculative.acceptance=0.7"]).workload.speculative
    assert spec.accept_length is None and spec.tokens_per_step == pytest.approx(1 + 0.7 + 0.7 ** 2)   # 2.19
    path.write_text(MTP_PLAN.replace("accept_length = 2.6", "acceptance = 0.8"))
    spec = load_plan_with(path, ["workload.speculative.accept_length=2.4"]).workload.speculative
    assert spec.acceptance is None and spec.tokens_per_step == pytest.approx(2.4)
    with pytest.raises(PlanError) as exc:              # both set: the plan's rule, E104
        load_plan_with(path, ["workload.speculative.accept_length=2.4", "workload.speculative.acceptance=0.7"])
    assert [d.code for d in exc.value.diagnostics] == ["E104"]


def test_explain_names_the_code_its_digits_or_prefix_stand_for(capsys):
    # `dagc explain 301` and `dagc explain E7` listed all the codes (100 of them) on one line
    from dagc.cli import main as cli
    assert cli.main(["explain", "301"]) == cli.EXIT_USAGE
    assert capsys.readouterr().err == "error: unknown code `301`; did you mean `E301`?\n"
    assert cli.main(["explain", "w52"]) == cli.EXIT_USAGE
    assert capsys.readouterr().err == ("error: unknown code `w52`; the codes starting `W52`: W520, W521, W522, W523, "
                                       "W524, W525, W526, W527, W528\n")
    assert cli.main(["explain", "E999"]) == cli.EXIT_USAGE
    assert "known codes: E001, E002, " in capsys.readouterr().err


def test_strategy_given_twice_is_a_usage_error_not_the_second_alone(tmp_path):
    # `--strategy "tp 8" --strategy "tp 2 ; ep 4"` checked `tp 2 ; ep 4` alone, unsaid
    from conftest import run_dagc
    (tmp_path / "p.moe").write_text(_cluster_plan(""))
    for command in ("check", "launch"):
        proc = run_dagc(command, "p.moe", "--strategy", "tp 8", "--strategy", "tp 2 ; ep 4", cwd=tmp_path)
        assert proc.returncode == 2 and proc.stdout == ""
        assert proc.stderr.rstrip().endswith(f"dagc {command}: error: argument --strategy: given twice (`tp 8`, then "
                                             "`tp 2 ; ep 4`): it takes one, and the second would replace the first "
                                             "unsaid (strategies to compare are `strategy` lines of a plan)")


def test_vary_given_twice_is_a_usage_error_not_the_second_alone(tmp_path):
    # `--vary batch --vary speculative` searched with `speculative` alone, unsaid (until 2026-12-03)
    from conftest import run_dagc
    (tmp_path / "p.moe").write_text(_cluster_plan(""))
    proc = run_dagc("search", "p.moe", "--vary", "batch", "--vary", "speculative", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.rstrip().endswith("dagc search: error: argument --vary: given twice (`batch`, then "
                                         "`speculative`): it takes one, and the second would replace the first "
                                         "unsaid (the search varies one of them at a time: run it once with each)")


def _serving_plan(serving: str, strategy: str = "tp 8") -> str:
    return (f'model preset "mixtral-8x7b"\ncluster {{ gpus = 16  gpu preset "h100-sxm" }}\n'
            f"workload {{ batch = 8  prompt = 1000  generate = 100  serving = {serving} }}\nstrategy {strategy}\n")


def test_a_serving_mode_under_another_name_is_told_what_dagc_calls_it():
    # the hint was "expected one of: `static`, `inflight`": disaggregation, which a plan writes as a strategy of two
    # pools, was not among them, and `continuous` batching is what dagc calls `inflight`
    for word in ("disaggregated", "PD", "disagg"):
        d = _load_error(_serving_plan(word))
        assert d.code == "E101" and d.message == f"unknown serving `{word}`"
        assert d.hint.startswith("disaggregated prefill and decode is a strategy of two pools, served in flight: "
                                 "write `serving = inflight` and `strategy prefill N < … > decode M < … >`")
    for word in ("continuous", "continuous_batching", "dynamic"):
        assert _load_error(_serving_plan(word)).hint.startswith("write `serving = inflight`: continuous (in-flight) "
                                                                "batching")
    assert _load_error(_serving_plan("statc")).hint == "did you mean `static`?"
    # what the hint says loads: in flight, the example's two pools on the plan's 16 GPUs
    plan = load_plan_text(_serving_plan("inflight", "prefill 2 < tp 4 > decode 1 < tp 8 >"))
    from dagc.lang.flatten import flatten
    strategy, diags = flatten(plan.strategies[0])
    assert plan.workload.serving.value == "inflight" and strategy is not None and len(strategy.pools) == 2 and not diags


def test_a_misspelt_other_name_of_a_serving_mode_is_told_what_dagc_calls_it():
    # `continous` and `disagregated`, as users type them, read "expected one of: `static`, `inflight`"
    for word in ("continous", "contiuous_batching", "dynamc"):
        d = _load_error(_serving_plan(word))
        assert d.code == "E101" and d.message == f"unknown serving `{word}`"
        assert d.hint.startswith("write `serving = inflight`: continuous (in-flight) batching")
    assert _load_error(_serving_plan("disagregated")).hint.startswith("disaggregated prefill and decode is a strategy "
                                                                      "of two pools")
    assert _load_error(_serving_plan("inflght")).hint == "did you mean `inflight`?"      # a slip of dagc's own first


def test_a_fleets_plan_without_a_strategy_is_told_of_dagc_fleet_launch(tmp_path):
    # `dagc launch` of a fleet's plan, whose strategy the fleet searches, named `dagc search` alone
    from conftest import run_dagc
    plan = (_serving_plan("inflight").replace("strategy tp 8\n", "")
            + 'fleet {\n  gpu preset "h100-sxm" { price = 2.49 $/h }\n  gpus = [8, 16]\n  rate = 2 requests/s\n}\n')
    (tmp_path / "p.moe").write_text(plan)
    proc = run_dagc("launch", "p.moe", cwd=tmp_path)
    assert proc.returncode == 4
    assert ("help: add one, e.g. `strategy tp 8`; or give it with `--strategy \"tp 8\"`, or let `dagc search PLAN` "
            "find one (`dagc fleet PLAN --launch`: the fleet's best cluster's, and the commands that start it)"
            ) in proc.stderr
    (tmp_path / "q.moe").write_text(_serving_plan("inflight").replace("strategy tp 8\n", ""))
    proc = run_dagc("launch", "q.moe", cwd=tmp_path)
    assert proc.returncode == 4 and "find one\n" in proc.stderr and "dagc fleet" not in proc.stderr


@pytest.mark.parametrize(("written", "meant"), [("W5O4", "W504"), ("E0202", "E202"), ("w5o4", "W504"),
                                                ("E2022", "E202")])
def test_explain_names_the_code_a_slip_stands_for(capsys, written, meant):
    # a letter O for a zero, a leading zero, one digit too many: until 2026-12-01 the list of every code
    from dagc.cli import main as cli
    assert cli.main(["explain", written]) == cli.EXIT_USAGE
    assert capsys.readouterr().err == f"error: unknown code `{written}`; did you mean `{meant}`?\n"
