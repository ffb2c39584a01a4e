"""Runs of several traffics read with one plan — an SGLang `--output-file` that `bench_serving` appended a run of each
rate to, given on the command line or as one manifest entry — are refused with the manifest entry that gives each
run a plan of its own, not a `--set` that would refuse the others (dagc.calibrate.match.disagreements' `shared`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dagc.calibrate.manifest import jobs_of, jobs_of_manifest
from dagc.diagnostics import PlanError

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 2  gpu preset "h100-sxm"  engine = sglang }
workload { batch = 128  prompt = 1024  generate = 256  serving = inflight  rate = 6 requests/s  requests = 300 }
strategy tp 2
"""


def sglang_run(rate: float) -> str:
    """One line of SGLang's `bench_serving --output-file` (python/sglang/bench_serving.py, `result`)."""
    return json.dumps({
        "backend": "sglang", "dataset_name": "random", "request_rate": rate, "max_concurrency": None,
        "random_input_len": 1024, "random_output_len": 256, "duration": 153.19, "completed": 300,
        "total_input_tokens": 307200, "total_output_tokens": 76800, "request_throughput": 1.96,
        "output_throughput": 501.3, "mean_e2e_latency_ms": 3690.5, "median_e2e_latency_ms": 3616.7,
        "p99_e2e_latency_ms": 4613.1, "mean_ttft_ms": 95.0, "median_ttft_ms": 85.5, "p99_ttft_ms": 218.5,
        "mean_tpot_ms": 14.1, "median_tpot_ms": 13.8, "p99_tpot_ms": 18.3, "mean_itl_ms": 14.1,
        "median_itl_ms": 13.4, "p99_itl_ms": 29.6, "concurrency": 7.4})


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    (tmp_path / "qwen.moe").write_text(PLAN)
    (tmp_path / "sglang.jsonl").write_text(sglang_run(2.0) + "\n" + sglang_run(4.0) + "\n")
    (tmp_path / "rate2.jsonl").write_text(sglang_run(2.0) + "\n")
    (tmp_path / "rate2b.jsonl").write_text(sglang_run(2.0) + "\n")
    return tmp_path


def hints(exc: pytest.ExceptionInfo[PlanError]) -> list[str | None]:
    return [d.hint for d in exc.value.diagnostics]


def as_lines(hint: str) -> str:
    """A hint with its manifest entry written as dagc wrote it until 2026-12-03, on one line (`[[run]]  plan = …  file =
    …`), as dagc writes it now: the lines of the entry, each quoted (pasted on one line, it was not valid TOML)."""
    head, _, rest = hint.partition("`[[run]]  ")
    return head + "the lines " + ", ".join(f"`{x}`" for x in ("[[run]]", *rest.removesuffix("`").split("  ")))


def manifest_entry(hint: str) -> str:
    """The lines of the entry a hint writes (`as_lines`) but its `[[run]]`, one a line, as a manifest holds them."""
    return "\n".join(re.findall(r"`([^`]*)`", hint.rpartition("the lines ")[2])[1:])


def test_a_file_of_several_rates_on_the_command_line_is_told_to_a_manifest(runs: Path,
                                                                            monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(runs)
    with pytest.raises(PlanError) as exc:
        jobs_of(["sglang.jsonl"], "qwen.moe")
    # was `give the plan the run's traffic: --set "workload.rate=2 requests/s" …`, then `… rate=4 …` for the other
    # run: each `--set` refused the other run, and no hint said where runs of several rates go
    lead = ('run files on the command line share one plan, and these runs are of several traffics: in a manifest '
            '(docs/calibrate.md, "The manifest"), give this run an entry of its own, `[[run]]  plan = "qwen.moe"  '
            'file = "sglang.jsonl"')
    assert hints(exc) == [as_lines(f'{lead}  run = 1  set = ["workload.rate=2 requests/s"]`'),
                          as_lines(f'{lead}  run = 2  set = ["workload.rate=4 requests/s"]`')]


def test_one_manifest_entry_for_a_file_of_several_rates_is_told_to_split(runs: Path):
    (runs / "m.toml").write_text('plan = "qwen.moe"\n[[run]]\nfile = "sglang.jsonl"\n'
                                 'set = ["workload.rate=2 requests/s"]\n')
    with pytest.raises(PlanError) as exc:
        jobs_of_manifest(runs / "m.toml")
    # was `(in a manifest, set = ["workload.rate=4 requests/s"])`: that `set` would refuse the entry's other run
    (d,) = exc.value.diagnostics
    assert d.message.endswith("the run sent 4 requests/s, the plan 2 requests/s") and d.span.line == 2
    assert d.hint == as_lines("the entry's `set` is every run's of its file, and they are of several traffics: give "
                              'this run an entry of its own, `[[run]]  file = "sglang.jsonl"  run = 2  '
                              'set = ["workload.rate=4 requests/s"]`')


def test_runs_of_one_traffic_keep_the_set_that_makes_the_plan_theirs(runs: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(runs)
    with pytest.raises(PlanError) as exc:
        jobs_of(["rate2.jsonl", "rate2b.jsonl"], "qwen.moe")
    said = ('give the plan the run\'s traffic: `--set "workload.rate=2 requests/s"` (in a manifest, '
            '`set = ["workload.rate=2 requests/s"]`), or calibrate with the plan this run measured')
    assert hints(exc) == [said, said]
    (runs / "m.toml").write_text('plan = "qwen.moe"\n[[run]]\nfile = "sglang.jsonl"\nrun = 2\n')
    with pytest.raises(PlanError) as exc:       # an entry of one run (`run = 2`): its own `set` is the fix
        jobs_of_manifest(runs / "m.toml")
    assert hints(exc) == [said.replace("=2 ", "=4 ")]


def test_the_entry_hinted_on_the_command_line_keeps_its_plan_and_other_sets(runs: Path,
                                                                             monkeypatch: pytest.MonkeyPatch):
    # a new user's SGLang sweep: `dagc calibrate sglang.jsonl --plan qwen.moe --set "workload.requests=200"
    # --set "workload.rate=2 requests/s"`. The hint was `[[run]]  file = "sglang.jsonl"  run = 2  set =
    # ["workload.rate=4 requests/s"]`: a manifest written from it named no plan, and its entry, without the
    # command's `workload.requests=200`, was refused again (`the run sent 300 requests, the plan 200`... of 1,000)
    monkeypatch.chdir(runs)
    (runs / "sglang.jsonl").write_text(sglang_run(2.0) + "\n" + sglang_run(4.0) + "\n")
    with pytest.raises(PlanError) as exc:
        jobs_of(["sglang.jsonl"], "qwen.moe", ["workload.requests=300", "workload.rate=2 requests/s"])
    (d,) = exc.value.diagnostics
    assert d.hint is not None and d.hint.endswith(as_lines(
        'give this run an entry of its own, `[[run]]  plan = "qwen.moe"  file = "sglang.jsonl"  run = 2  '
        'set = ["workload.requests=300", "workload.rate=4 requests/s"]`'))
    entry = manifest_entry(d.hint)
    first = 'plan = "qwen.moe"\nfile = "sglang.jsonl"\nrun = 1\nset = ["workload.requests=300", ' \
            '"workload.rate=2 requests/s"]\n'
    (runs / "m.toml").write_text(f"[[run]]\n{first}\n[[run]]\n{entry}\n")
    assert [j.run.rate for j in jobs_of_manifest(runs / "m.toml")] == [2.0, 4.0]     # the manifest hinted is read


def test_the_entry_hinted_in_a_manifest_keeps_the_entry_s_own_sets_and_strategy(runs: Path):
    (runs / "m.toml").write_text('[[run]]\nplan = "qwen.moe"\nfile = "sglang.jsonl"\nstrategy = "tp 2"\n'
                                 'set = ["workload.requests=300", "workload.rate=2 requests/s"]\n')
    with pytest.raises(PlanError) as exc:
        jobs_of_manifest(runs / "m.toml")
    (d,) = exc.value.diagnostics
    assert d.hint == as_lines("the entry's `set` is every run's of its file, and they are of several traffics: give "
                              'this run an entry of its own, `[[run]]  plan = "qwen.moe"  file = "sglang.jsonl"  run = '
                              '2  strategy = "tp 2"  set = ["workload.requests=300", "workload.rate=4 requests/s"]`')


def test_the_entry_hinted_holds_every_setting_the_run_disagrees_on(runs: Path, monkeypatch: pytest.MonkeyPatch):
    # a new user's SGLang sweep of 200 requests a rate, given with a vLLM plan of 300 at 6 requests/s: each run
    # disagrees on its engine, its requests and its rate. Each disagreement's entry held its own setting alone —
    # `set = ["workload.requests=200"]` at `completed`, `set = ["workload.rate=2 requests/s"]` at `request_rate` —,
    # and a manifest written from either was refused again at the others
    monkeypatch.chdir(runs)
    sweep = [json.loads(sglang_run(rate)) | {"completed": 200, "total_input_tokens": 204800,
                                              "total_output_tokens": 51200} for rate in (2.0, 4.0)]
    (runs / "sglang.jsonl").write_text("".join(json.dumps(r) + "\n" for r in sweep))
    with pytest.raises(PlanError) as exc:
        jobs_of(["sglang.jsonl"], "qwen.moe", ["cluster.engine=vllm"])
    said = [(d.span.line, d.message.partition("`: ")[2], d.hint) for d in exc.value.diagnostics]
    lead = ('run files on the command line share one plan, and these runs are of several traffics: in a manifest '
            '(docs/calibrate.md, "The manifest"), give this run an entry of its own, `[[run]]  plan = "qwen.moe"  '
            'file = "sglang.jsonl"  run = ')
    entry = [as_lines(f'{lead}{n}  set = ["cluster.engine=sglang", "workload.requests=200", '
                      f'"workload.rate={r} requests/s"]`') for n, r in ((1, 2), (2, 4))]
    # the backend's hint is the same entry (until 2026-12-03 `--set cluster.engine=sglang` alone, which gave the
    # requests' and the rate's errors next)
    backend = "its client measured the `sglang` backend (SGLang's server); the plan's engine is vllm"
    assert said == [(1, backend, entry[0]), (1, "the run sent 200 requests, the plan 300", entry[0]),
                    (1, "the run sent 2 requests/s, the plan 6 requests/s", entry[0]),
                    (2, backend, entry[1]), (2, "the run sent 200 requests, the plan 300", entry[1]),
                    (2, "the run sent 4 requests/s, the plan 6 requests/s", entry[1])]
    # the manifest of the hinted entries is read: each entry is its run's whole plan
    (runs / "m.toml").write_text("".join(f"[[run]]\n{manifest_entry(e)}\n" for e in entry))
    assert [(j.run.rate, j.run.requests) for j in jobs_of_manifest(runs / "m.toml")] == [(2.0, 200), (4.0, 200)]
