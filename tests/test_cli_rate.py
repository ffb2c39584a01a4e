"""`dagc search --rate R` ends with a conclusion, as `check` does: which strategy keeps up with R and meets
every requirement (and the line to check it with), or that none keeps up, what the best serves and what to
try; `--quiet` keeps the conclusion."""

from __future__ import annotations

import dataclasses
import io
import json
from types import SimpleNamespace

import pytest
from rich.console import Console

from dagc.cli.main import main
from dagc.cli.print_rate import print_rate_conclusion, rate_conclusion
from dagc.lang.flatten import flatten
from dagc.lang.load import parse_strategy
from dagc.plan.strategy import Overlap
from dagc.plan.workload import Traffic
from dagc.search.at_rate import AtRate, RankedAtRate
from dagc.search.result import Candidate
from conftest import EXAMPLES


def candidate(text: str, gpus: int, meets: bool = True, missed: tuple[str, ...] = ()) -> Candidate:
    strategy = flatten(parse_strategy(text))[0]
    assert strategy is not None
    return Candidate(strategy, 1, Overlap.NONE, gpus, {}, meets, 0.0, 0.5, None, load_missed=missed)


def at(text: str, gpus: int, served: float, overloaded: bool, carries: bool | None = None, **kw) -> AtRate:
    run = SimpleNamespace(figures=SimpleNamespace(overloaded=overloaded, served_requests_per_s=served),
                          carries_traffic=not overloaded if carries is None else carries,
                          binding=SimpleNamespace(goodput_unreachable=None))
    return AtRate(candidate(text, gpus, **kw), run, served / gpus)


def ranked(rate: float, *runs: AtRate) -> RankedAtRate:
    return RankedAtRate(rate, Traffic(requests=1000, rate=rate), tuple(runs))


def test_when_none_keeps_up_it_says_so_and_what_the_best_serves():
    """16 GPUs at 10 requests/s: the best (tp 8 ; ep 8 on 8 GPUs) serves 7.2; 10 / 7.2 with a tenth to spare is
    1.53, so 2 replicas on 16 GPUs — the cluster's own count: no --set of it."""
    lines = rate_conclusion(ranked(10, at("tp 8 ; ep 8", 8, 7.2, True), at("tp 4 ; ep 4", 4, 3.1, True)), 16)
    assert lines[0] == ("conclusion: no strategy on 16 GPUs keeps up with 10 requests/s; the best serves 7.2 "
                        "requests/s (`tp 8 ; ep 8 with microbatches 1 overlap none`)")
    assert ("2 replicas of it (16 GPUs) if each serves as much: dagc check --strategy 'dp 2 < tp 8 ; ep 8 > with "
            "microbatches 1 overlap none' --set 'workload.rate=10 requests/s'") in lines[1]
    assert "the rate it served, to judge its requirements there: --rate 7.2" in lines[1]
    # the rate to try in the digits the conclusion gave it (4.448, not 4.45 beside it)
    odd = rate_conclusion(ranked(10, at("tp 8 ; ep 8", 8, 4.44812, True)), 16)
    assert "the best serves 4.448 requests/s" in odd[0]
    assert "the rate it served, to judge its requirements there: --rate 4.448;" in odd[1]


def test_replicas_past_the_cluster_set_its_gpus():
    """30 requests/s, the best serving 7.2 on 8 GPUs: ceil(30 / 7.2 × 1.1) = ceil(4.58) = 5 replicas, 40 GPUs."""
    lines = rate_conclusion(ranked(30, at("tp 8 ; ep 8", 8, 7.2, True)), 16)
    assert "5 replicas of it (40 GPUs)" in lines[1] and "--set cluster.gpus=40 --set 'workload.rate=30" in lines[1]


def test_the_best_that_keeps_up_and_meets_every_requirement_is_the_conclusion():
    runs = ranked(10, at("tp 4 ; ep 4", 4, 9.8, False, meets=False, missed=("ttft_p99 <= 1 s",)),
                  at("tp 8 ; ep 8", 8, 9.9, False))
    lines = rate_conclusion(runs, 16)
    assert lines == ["conclusion: `tp 8 ; ep 8 with microbatches 1 overlap none` keeps up with 10 requests/s and "
                     "meets every requirement, with a goodput of 1.238 requests/s per GPU on 8 GPUs",
                     "  check it: dagc check --strategy 'tp 8 ; ep 8 with microbatches 1 overlap none' --set "
                     "'workload.rate=10 requests/s'",        # 9.9 / 8 = 1.2375 requests/s per GPU
                     # the strategy on fewer GPUs, ranked below it, and why (since 2026-12-02)
                     "  fewer GPUs: the one strategy simulated on fewer than 8, `tp 4 ; ep 4 with microbatches 1 "
                     "overlap none` on 4 GPUs, misses ttft_p99 <= 1 s at 10 requests/s (`--set cluster.gpus=4` "
                     "searches every strategy on 4)"]


def test_keeping_up_without_meeting_the_requirements_names_what_the_best_misses():
    runs = ranked(10, at("tp 4 ; ep 4", 4, 9.8, False, meets=False, missed=("ttft_p99 <= 1 s",)))
    lines = rate_conclusion(runs, 16)
    assert lines[0] == ("conclusion: 1 of the 1 strategies simulated on 16 GPUs keep up with 10 requests/s, but none "
                        "meets every requirement (the best, `tp 4 ; ep 4 with microbatches 1 overlap none`, misses "
                        "ttft_p99 <= 1 s)")


def test_the_conclusion_is_printed_whole():
    buf = io.StringIO()
    print_rate_conclusion(Console(file=buf, width=80, soft_wrap=True), ranked(10, at("tp 8 ; ep 8", 8, 7.2, True)))
    assert buf.getvalue().startswith("conclusion: no strategy keeps up with 10 requests/s; the best serves 7.2 ")


def test_the_lines_to_paste_name_the_plan_searched_and_its_sets():
    """A conclusion's `dagc check` line runs as printed: the plan searched (quoted for a shell) and the `--set`s it
    was searched with, but the rate, which the line sets to R itself."""
    import shlex

    from dagc.cli.parser import build_parser
    from dagc.cli.print_rate import check_command
    from dagc.lang.load import load_plan_text
    plan = load_plan_text('model preset "qwen3-30b-a3b" cluster { gpus = 4 gpu preset "h200" } workload { batch = 8 '
                          'prompt = 100 generate = 10 serving = inflight rate = 1 requests/s requests = 10 } '
                          'strategy tp 4').model_copy(update={"overrides": ("workload.batch = 32",
                                                                           "workload.rate = 3 requests/s")})
    command = check_command("my plans/q.moe", plan)
    assert command == "dagc check 'my plans/q.moe' --set workload.batch=32"
    lines = rate_conclusion(ranked(10, at("tp 8 ; ep 8", 8, 9.9, False)), 16, command)
    words = shlex.split(lines[1].removeprefix("  check it: "))
    assert words == ["dagc", "check", "my plans/q.moe", "--set", "workload.batch=32", "--strategy",
                     "tp 8 ; ep 8 with microbatches 1 overlap none", "--set", "workload.rate=10 requests/s"]
    replicas = rate_conclusion(ranked(30, at("tp 8 ; ep 8", 8, 7.2, True)), 16, command)[1]
    assert "each serves as much: dagc check 'my plans/q.moe' --set workload.batch=32 --strategy 'dp 5 <" in replicas
    args = build_parser().parse_args(words[1:])         # dagc's own command line: the plan, the strategy, both sets
    assert args.plan == "my plans/q.moe" and args.strategy.startswith("tp 8") and len(args.overrides) == 2


def test_quiet_labels_the_plan_s_own_best_before_the_conclusion(tmp_path, capsys):
    """`search --rate R -q`: the first line is the search's best on the plan's own workload, labelled so (it met
    the requirements without traffic while nothing keeps up with R); the conclusion at R follows."""
    from dagc.cli.main import main

    plan = tmp_path / "p.moe"
    plan.write_text('model preset "qwen3-30b-a3b" cluster { gpus = 2 gpu preset "h200" } workload { batch = 16 '
                    'prompt = 1000 generate = 100 serving = inflight } strategy tp 2')
    capsys.readouterr()
    assert main(["search", str(plan), "--rate", "400", "-q", "--svg", str(tmp_path / "p.svg")]) == 0
    first, second = capsys.readouterr().out.splitlines()[:2]
    assert first.startswith("best on the plan's own workload (without --rate): ") and "meets requirements: yes" in first
    assert second.startswith("conclusion: no strategy on 2 GPUs keeps up with 400 requests/s; the best serves ")
    # not quiet: the search's own tables say so too (until 2026-12-03 titled `best 2` and `Pareto front (meeting the
    # requirements)` above the tables at R, which a reader took for judged at R)
    assert main(["search", str(plan), "--rate", "400", "--top", "2", "--svg", str(tmp_path / "q.svg")]) == 0
    titles = [line for line in capsys.readouterr().out.splitlines() if line.startswith(("best ", "Pareto front"))]
    assert titles[0] == "best 2 on the plan's own workload (without --rate)"
    assert titles[1].startswith("Pareto front (meeting the requirements on the plan's own workload, without --rate)")
    assert titles[2] == "best 2 at 400 requests/s"


def test_replicas_keep_the_batch_each_was_simulated_at_and_a_varied_batch_is_pasted():
    """The replicas line sets the batch the replicas need, each the plan's (or the search's varied one), and a
    thousands separator never reaches a pasteable option; a best found at a varied batch is checked at it."""
    lines = rate_conclusion(ranked(300, at("tp 8 ; ep 8", 8, 2.5, True)), 16, "dagc check", 64)
    assert "--strategy 'dp 132 < tp 8 ; ep 8 >" in lines[1]
    assert "--set cluster.gpus=1056 --set workload.batch=8448 --set 'workload.rate=300 requests/s'" in lines[1]
    varied = AtRate(dataclasses.replace(candidate("tp 8 ; ep 8", 8), batch=536),
                    SimpleNamespace(figures=SimpleNamespace(overloaded=False, served_requests_per_s=10.0),
                                    carries_traffic=True), 1.25)
    line = rate_conclusion(ranked(10, varied), 16)[1]
    assert "--strategy 'tp 8 ; ep 8 with microbatches 1 overlap none' --set workload.batch=536 --set" in line


def test_a_run_behind_by_its_cap_does_not_keep_up_though_its_queue_is_within_its_noise():
    """A run whose queue's growth is within its noise but that does not carry the rate (the requests in flight it
    needs are more than its cap: `UnderLoad.not_carried_because`) is `behind` in the table, not counted among
    those that keep up, and the conclusion sends the user to more replicas."""
    from dagc.cli.print_rate import _overloaded
    behind = at("tp 2 ; ep 2", 2, 3.61, False, carries=False)
    assert _overloaded(behind) == "behind"
    assert _overloaded(at("tp 2 ; ep 2", 2, 4.0, False)) == "no"
    assert _overloaded(at("tp 2 ; ep 2", 2, 3.0, True)) == "yes"
    lines = rate_conclusion(ranked(4, behind), 2)
    assert lines[0].startswith("conclusion: no strategy on 2 GPUs keeps up with 4 requests/s; the best serves 3.61")


def test_the_table_names_every_requirement_missed_not_only_the_load_s():
    """A row judged by a check that misses `ttft_p99` and `tpot_p90` under the traffic and `memory <= 90 %` on
    its steady state says all three: `no: ttft_p99, tpot_p90, memory` (the memory one was left out)."""
    from dagc.cli.print_search import meets_text
    c = dataclasses.replace(candidate("tp 2 ; ep 2", 2, meets=False, missed=("ttft_p99 <= 1.5 s", "tpot_p90 <= 40 ms")),
                            others_missed=("memory",), misses=3)
    names = {"ttft_p99 <= 1.5 s": "ttft_p99", "tpot_p90 <= 40 ms": "tpot_p90"}
    assert meets_text(c, names) == "no: ttft_p99, tpot_p90, memory"


def test_runs_whose_goodputs_differ_by_noise_are_ranked_by_their_headroom():
    """Four 4-GPU candidates at 4 requests/s: goodputs per GPU of 0.995, 0.993, 0.990 and 0.984 (the runs'
    noise, within 1 % of the first) with least margins 5.5 %, 19.5 %, None and 12 %: the first three are one group,
    ranked by headroom (19.5 %, 5.5 %, then the one without a margin); 0.984 lies past 1 % of 0.995 and follows.
    A run that does not keep up stays below every run that does, whatever its headroom."""
    from dagc.search.at_rate import _ranked

    def run(name: str, goodput: float, headroom: float | None, carries: bool = True) -> AtRate:
        load = SimpleNamespace(figures=SimpleNamespace(overloaded=not carries, served_requests_per_s=goodput * 4,
                                                       ttft_s=SimpleNamespace(p99=0.5)), carries_traffic=carries)
        return AtRate(candidate(name, 4), load, goodput, headroom)
    runs = [run("tp 4", 0.995, 0.055), run("tp 2 ; ep 4", 0.993, 0.195), run("dp 2 < tp 2 >", 0.99, None),
            run("tp 4 ; ep 4", 0.984, 0.12), run("dp 4", 1.2, 0.9, carries=False)]
    assert [a.candidate.text for a in _ranked(runs)] == [c.candidate.text for c in
                                                         (runs[1], runs[0], runs[2], runs[3], runs[4])]


def test_a_conclusion_with_nothing_simulated_says_why():
    """No legal strategy (235B in FP8 on 2 GPUs): the conclusion says the search found none legal and how to
    learn why; strategies the search found that check rejects at the rate's workload: it says so, with their count."""
    none = rate_conclusion(ranked(6), 2)[0]
    assert none.startswith("conclusion: no strategy on 2 GPUs could be simulated at 6 requests/s: the search found "
                           "no legal strategy")
    rejected = RankedAtRate(6, Traffic(requests=1000, rate=6), (), 3)
    assert rate_conclusion(rejected, 2)[0].endswith("`dagc check` rejects all 3 the search found at this workload")


def test_the_conclusion_names_a_requirement_missed_off_the_load():
    """The best keeps up but misses its memory line only: the conclusion names `memory`, not 'a requirement'."""
    c = dataclasses.replace(candidate("tp 4", 4, meets=False), others_missed=("memory",))
    run = SimpleNamespace(figures=SimpleNamespace(overloaded=False, served_requests_per_s=4.0), carries_traffic=True,
                          binding=SimpleNamespace(goodput_unreachable=None))
    line = rate_conclusion(ranked(4, AtRate(c, run, 1.0)), 4)[0]
    assert "(the best, `tp 4 with microbatches 1 overlap none`, misses memory)" in line


def test_a_logs_traffic_at_the_rate_is_said_as_the_log_not_as_poisson(tmp_path, capsys):
    """`search --rate` replays a request log at the rate (its times scaled): the headline says so, as the `dagc
    check` line it suggests does, not `(poisson, seed 0)`."""
    rows = ["TIMESTAMP,ContextTokens,GeneratedTokens"] + [
        f"2023-11-16 18:17:{i // 10:02d}.{i % 10}000000,{500 + 37 * (i % 9)},{40 + i % 7}" for i in range(200)]
    (tmp_path / "log.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "p.moe").write_text(
        'model preset "qwen3-30b-a3b"\ncluster { gpus = 1  gpu preset "h100-sxm" }\n'
        'workload { batch = 16  prompt = 600  generate = 44  serving = inflight  requests from "log.csv" }\n'
        "strategy tp 1\n")
    assert main(["search", str(tmp_path / "p.moe"), "--rate", "3", "--top", "2", "--svg", str(tmp_path / "p.svg")]) \
        in (0, 1)
    head = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("at 3 requests/s:"))
    assert "(of log.csv, its times scaled to that rate)" in head and "poisson" not in head


def test_a_first_row_not_judged_with_its_capacity_is_not_said_to_keep_up():
    """Three rows that met on their runs fell short of the rate by their capacities when judged as `dagc check`
    judges them (`VERIFIED`); the fourth met on its run and was not judged so: the conclusion does not say it keeps
    up (its check may say BEHIND), it says what is known and sends the user to check it."""
    fell = [dataclasses.replace(at(f"tp {k} ; ep 2", 2, 0.7, False, carries=False, meets=True), capacity_judged=True)
            for k in (1, 2, 4)]
    unjudged = at("tp 2", 2, 0.62, False, meets=True)
    lines = rate_conclusion(ranked(0.8, *fell, unjudged), 4)
    assert lines[0].startswith("conclusion: `tp 2 with microbatches 1 overlap none` meets every requirement on its "
                               "run at 0.8 requests/s")
    assert "keeps up" not in lines[0] and "its capacity was not judged: the 3 strategies that met above it on their " \
        "runs fall short of the rate by their capacities" in lines[0]
    assert lines[1].startswith("  check it: dagc check --strategy 'tp 2 with microbatches 1 overlap none'")
    judged = dataclasses.replace(unjudged, capacity_judged=True)
    assert "keeps up with 0.8 requests/s" in rate_conclusion(ranked(0.8, *fell, judged), 4)[0]


@pytest.mark.slow
def test_fewer_replicas_that_carry_the_rate_are_found_before_the_most(tmp_path, capsys):
    """Qwen3-30B-A3B on 4 H200s at 12 requests/s: one `tp 1` falls behind; 2 replicas carry the rate on 2 GPUs (5.82
    requests/s per GPU, as `dagc fleet` finds on 2 H200s), where the 4 the cluster holds have 3 per GPU. Only the 4
    were simulated before, and the conclusion was a 3-GPU disaggregated strategy at 4 per GPU."""
    assert main(["search", str(EXAMPLES / "qwen3-30b-a3b-traffic.moe"), "--rate", "12", "--format", "json",
                 "--svg", str(tmp_path / "p.svg")]) == 0
    doc = json.loads(capsys.readouterr().out)
    first = doc["at_rate"]["ranked"][0]
    assert first["strategy"] == "dp 2 < tp 1 > with microbatches 1 overlap none" and first["gpus"] == 2
    assert first["goodput_requests_per_s_per_gpu"] == pytest.approx(11.64 / 2, rel=0.01)
    # the strategies on all 4 GPUs among the rows shown carry the rate too, at 12 / 4 = 3 per GPU (`dp 4 < tp 1 >`
    # among them, ranked below the top 10 shown)
    four = [r for r in doc["at_rate"]["ranked"] if r["gpus"] == 4]
    assert len(four) >= 5
    assert all(r["goodput_requests_per_s_per_gpu"] == pytest.approx(12 / 4, rel=0.01) for r in four)
