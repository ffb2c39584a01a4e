"""`dagc check`'s "optimal means" line under a plan's traffic says that its ranking is the steady state's and
which command ranks at the traffic's rate: a trial's fleet and `dagc search --rate` picked `tp 8 ; ep 16` at 6
requests/s, and check of the same cluster said "optimal: no", naming another strategy by its steady-state tokens/s
per GPU, without a word of why they differ."""

from __future__ import annotations

import shlex

import pytest

from dagc.cli.parser import build_parser
from dagc.cli.print_check import objective_text
from dagc.lang.load import load_plan_text
from conftest import run_dagc

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 2  gpu preset "h100-sxm" }
workload { batch = 32  prompt = 1024  generate = 256  serving = inflight %s }
strategy tp 2
"""


def test_with_a_rate_the_line_names_the_ranking_at_it():
    line = objective_text(load_plan_text(PLAN % "rate = 4.5 requests/s  requests = 200"))
    assert line.endswith("within 5 % of the best counts as optimal; in the steady state — at the traffic's 4.5 "
                         "requests/s the strategies are ranked by goodput per GPU by `dagc search PLAN --rate 4.5`")


def test_without_traffic_or_with_clients_it_says_nothing_of_a_rate():
    for extra in ("", "concurrency = 16  requests = 200"):
        line = objective_text(load_plan_text(PLAN % extra))
        assert line.endswith("within 5 % of the best counts as optimal"), extra


def test_a_rate_of_thousands_is_written_as_search_reads_it():
    """The prose says 1,200 requests/s; the command says `--rate 1200`, which `dagc search` reads (until 2026-11-30
    `--rate 1,200`, which it refuses: "`1,200` is not an arrival rate in requests/s")."""
    line = objective_text(load_plan_text(PLAN % "rate = 1200 requests/s  requests = 200"))
    assert line.endswith("at the traffic's 1,200 requests/s the strategies are ranked by goodput per GPU by "
                         "`dagc search PLAN --rate 1200`")
    from dagc.cli.parser import build_parser
    assert build_parser().parse_args(["search", "p.moe", "--rate", "1200"]).rate == 1200.0


@pytest.mark.parametrize("given, word", [
    ("q.moe", "q.moe"),
    ("my plans/q.moe", "'my plans/q.moe'"),
    ("-x.moe", "./-x.moe"),                     # `dagc search -x.moe` would read an option
    ("./-x.moe", "./-x.moe"),
])
def test_check_names_the_plan_as_the_user_gave_it(tmp_path, given, word):
    """`dagc check`'s line names the plan's path in its command, as its `check it:` lines do (`path_word`): until
    2026-11-30 it said `dagc search PLAN --rate 6` to a user who gave `q.moe`."""
    (tmp_path / given).parent.mkdir(exist_ok=True)
    (tmp_path / given).write_text(PLAN % "rate = 6 requests/s  requests = 200")
    proc = run_dagc("check", "--no-search", "--", given, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("optimal means:"))
    assert line.endswith(f"by `dagc search {word} --rate 6`")
    # the command, pasted, reads the plan: its path is the one word after `search`
    argv = shlex.split(line.rsplit("`", 2)[1])[1:]
    assert build_parser().parse_args(argv).plan == word.strip("'")


def test_a_newline_in_the_path_stays_in_the_line(tmp_path):
    """A path's control characters are shown as U+FFFD, as in the `plan …` header: no forged line of its own."""
    (tmp_path / "x\nverdict: yes.moe").write_text(PLAN % "rate = 6 requests/s  requests = 200")
    proc = run_dagc("check", "--no-search", "x\nverdict: yes.moe", cwd=tmp_path)
    assert "`dagc search 'x\N{REPLACEMENT CHARACTER}verdict: yes.moe' --rate 6`" in proc.stdout
    assert not any(ln.startswith("verdict: yes") for ln in proc.stdout.splitlines())


def test_the_rate_is_written_whole(tmp_path):
    """12.345678 requests/s is `--rate 12.345678`, not rounded (`rate_arg`)."""
    line = objective_text(load_plan_text(PLAN % "rate = 12.345678 requests/s  requests = 200"), "q.moe")
    assert line.endswith("at the traffic's 12.345678 requests/s the strategies are ranked by goodput per GPU by "
                         "`dagc search q.moe --rate 12.345678`")


def test_the_search_it_names_runs_on_the_plan_as_checked(tmp_path):
    """A check run with `--set`s names a search with them (but the rate's, which `--rate` gives): until 2026-11-30
    `dagc search q.moe --rate 3` left out `--set workload.batch=64`, and searched another plan than the one checked.
    The command, split as a shell splits it, is one the parser reads."""
    path = tmp_path / "q.moe"
    path.write_text(PLAN % "concurrency = 16  requests = 200")
    done = run_dagc("check", str(path), "--no-search", "--set", "workload.batch=64", "--set",
                    "workload.rate=3 requests/s", "--set", "workload.requests=100", cwd=tmp_path)
    line = next(x for x in done.stdout.splitlines() if x.startswith("optimal means:"))
    command = line.split("`")[-2]
    assert command == (f"dagc search {path} --set workload.batch=64 --set workload.requests=100 --rate 3")
    args = build_parser().parse_args(shlex.split(command)[1:])
    assert args.overrides == ["workload.batch=64", "workload.requests=100"] and args.rate == 3.0
