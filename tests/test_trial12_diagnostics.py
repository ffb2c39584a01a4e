"""Defects a new user met on a fresh clone (the plans in tests/fixtures/trial12): each diagnostic says what is
wrong where it is, in the user's units, and suggests only what passes."""

from __future__ import annotations

import pytest

from conftest import ROOT, run_dagc

TRIAL = ROOT / "tests" / "fixtures" / "trial12"
QWEN = str(TRIAL / "qwen235-fp8-h100-vllm.moe")


@pytest.mark.parametrize("strategy", ["tp 4 ; ep 8 with overlap microbtach", "tp 4 ; ep 8 with microbatches 0",
                                      "tp 4 ; ep 8 with microbatchs 2", "tp 4 ; eq 8"])
def test_a_strategy_option_that_does_not_read_checks_nothing(strategy):
    proc = run_dagc("check", QWEN, "--strategy", strategy)
    assert proc.returncode == 4, proc.stderr           # a syntax error's code (docs/cli.md: E0xx, E1xx)
    assert proc.stdout == ""                           # no verdict, no search, no requirement rows
    assert "--strategy:1:" in proc.stderr and "= help:" in proc.stderr and "^" in proc.stderr
    assert proc.stderr.rstrip().endswith("error: --strategy: 1 error; nothing was checked")


def test_a_plan_strategy_with_an_unknown_option_checks_nothing(tmp_path):
    text = (TRIAL / "qwen235-fp8-h100-vllm.moe").read_text().replace("strategy tp8 = tp 8",
                                                                     "strategy tp8 = tp 8 with overlap microbtach")
    plan = tmp_path / "plan.moe"
    plan.write_text(text)
    proc = run_dagc("check", str(plan))
    assert proc.returncode == 4 and proc.stdout == ""  # not the other strategy's verdict beside it
    assert f"{plan}:7:26: error[E101]: unknown overlap `microbtach`" in proc.stderr
    assert "help: write `overlap none` or `overlap microbatch`" in proc.stderr
    assert proc.stderr.rstrip().endswith(f"error: {plan}: 1 error; nothing was checked")


@pytest.mark.parametrize("option, code, col, word, example", [
    ("workload.rate=nan requests/s", "E001", 15, "nan", "`--set 'workload.rate=12 requests/s'`"),
    ("workload.rate=inf requests/s", "E001", 15, "inf", "`--set 'workload.rate=12 requests/s'`"),
    ("cluster.inter_node=-inf GB/s", "E001", 20, "-inf", "`--set 'cluster.inter_node=12 GB/s'`"),
    ("require.ttft_p99=NaN ms", "E001", 18, "NaN", "`--set 'require.ttft_p99=12 ms'`"),
    ("workload.rate=nan", "E104", 15, "nan", "`--set 'workload.rate=12 requests/s'`"),
    ("workload.prompt=nan", "E104", 17, "nan", "`--set workload.prompt=16`"),
    ("workload.batch=inf", "E104", 16, "inf", "`--set workload.batch=16`"),
])
def test_nan_and_inf_through_set_are_not_numbers(option, code, col, word, example):
    proc = run_dagc("check", QWEN, "--no-search", "--set", option)
    assert proc.returncode == 4 and proc.stdout == ""
    assert f"--set:1:{col}: error[{code}]: `{word}` is not a number" in proc.stderr
    assert f"|{' ' * col}{'^' * len(word)}\n" in proc.stderr            # the caret under the word, not its unit
    assert f"= help: dagc reads finite numbers only: write one, e.g. {example}" in proc.stderr
    assert "follows the value" not in proc.stderr


@pytest.mark.parametrize("old, new, code, word, example", [
    ("rate = 4 requests/s", "rate = nan requests/s", "E001", "nan", "`rate = 12 requests/s`"),
    ("rate = 4 requests/s", "rate = Infinity requests/s", "E001", "Infinity", "`rate = 12 requests/s`"),
    ("ttft_p99 <= 2 s", "ttft_p99 <= nan s", "E001", "nan", "`ttft_p99 <= 12 s`"),
    ("batch = 64", "batch = -inf", "E001", "-inf", "`batch = 12`"),       # not the next field's name as a unit
    ("batch = 64", "batch = nan", "E104", "nan", "`batch = 16`"),
    ("ttft_p99 <= 2 s", "ttft_p99 <= inf", "E104", "inf", "`ttft_p99 <= 50 ms`"),
    ("rate = 4 requests/s", "rate = nan", "E104", "nan", "`rate = 12 requests/s`"),
])
def test_nan_and_inf_in_the_plan_are_not_numbers(tmp_path, old, new, code, word, example):
    plan = tmp_path / "plan.moe"
    text = (TRIAL / "qwen235-fp8-h100-vllm.moe").read_text()
    assert old in text
    plan.write_text(text.replace(old, new, 1))
    proc = run_dagc("check", str(plan), "--no-search")
    line = 5 if new.startswith("ttft") else 4
    col = plan.read_text().splitlines()[line - 1].index(new) + len(new) - len(new.split("= ", 1)[1]) + 1
    assert proc.returncode == 4 and proc.stdout == ""
    assert f"{plan}:{line}:{col}: error[{code}]: `{word}` is not a number" in proc.stderr, proc.stderr
    assert f"= help: dagc reads finite numbers only: write one, e.g. {example}" in proc.stderr
    assert proc.stderr.rstrip().endswith("1 error; nothing was checked")


def test_a_bare_inf_on_a_name_field_is_still_an_unknown_name():
    proc = run_dagc("check", QWEN, "--no-search", "--set", "cluster.engine=inf")
    assert proc.returncode == 4 and "error[E101]: unknown engine `inf`" in proc.stderr


@pytest.mark.parametrize("option, said, hint", [
    # bytes/s: a bound of 1,000 B/s is said in a unit a plan can write, not as raw `1000 (SI)`
    ("cluster.inter_node=-5 GB/s", "it must be at least 0.001 MB/s",
     "write a value of at least 0.001 MB/s, e.g. `--set 'cluster.inter_node=450 GB/s'`"),
    ("cluster.inter_node=5e9 TB/s", "(too large)", "dagc accepts at most 1,000,000 TB/s"),
    # time: in the unit written, when the bound reads exactly in it
    ("workload.ramp=-1 ms", "it must be at least 0 ms", "write a value of at least 0 ms"),
    ("workload.ramp=100000 s", "(too large)", "dagc accepts at most 86,400 s"),
    ("cluster.latency.inter=20000 ms", "(too large)", "dagc accepts at most 10,000 ms"),
    # rates
    ("workload.rate=1e-9 requests/s", "it must be at least 0.000001 requests/s",
     "write a value of at least 0.000001 requests/s"),
    ("workload.rate=2e6 requests/s", "(too large)", "dagc accepts at most 1,000,000 requests/s"),
])
def test_a_bound_is_said_in_the_unit_written(option, said, hint):
    proc = run_dagc("check", QWEN, "--no-search", "--set", option)
    assert proc.returncode == 4 and "error[E104]" in proc.stderr and said in proc.stderr, proc.stderr
    assert f"= help: {hint}" in proc.stderr and "(SI)" not in proc.stderr


def test_a_custom_gpus_bounds_are_said_in_bytes_and_flops_a_plan_writes(tmp_path):
    plan = tmp_path / "gpu.moe"
    plan.write_text('model preset "mixtral-8x7b"\n'
                    'cluster { gpus = 8  gpu "x" { memory = 0.5 MiB  flops = 0.0001 TFLOPS  hbm = 3 TB/s '
                    ' intra_node = 450 GB/s } }\n'
                    "workload { batch = 8  prompt = 128  generate = 16 }\nstrategy tp 8\n")
    proc = run_dagc("check", str(plan), "--no-search")
    assert "2:40: error[E104]: `memory` = 0.5 MiB is out of range: it must be at least 1 MB" in proc.stderr
    assert "help: write a value of at least 1 MB, e.g. `memory = 80 GB`" in proc.stderr
    assert "2:57: error[E104]: `flops` = 0.0001 TFLOPS is out of range: it must be at least 1 GFLOPS" in proc.stderr
    plan.write_text(plan.read_text().replace("0.5 MiB", "6e6 TB").replace("0.0001 TFLOPS", "400 TFLOPS"))
    proc = run_dagc("check", str(plan), "--no-search")
    assert "`memory` = 6e6 TB is out of range (too large)" in proc.stderr
    assert "help: dagc accepts at most 1,000,000 TB\n" in proc.stderr      # exact: not `909,495 TiB`


def test_e307_hints_the_least_chunk_that_passes():
    # 64 requests over tp 4 × attention DP 2: 32 decode tokens a rank, so 33 is the least chunk E307 passes. E307 and
    # W513 are read off the batch and the chunk, not the traffic: 100 of the plan's 1,000 requests replayed (the same
    # lines, W521's aside; the 1,000 took ~5 CPU s over the five runs, most of it simulating the chunks that pass)
    few = ("--set", "workload.requests=100")
    proc = run_dagc("check", QWEN, "--no-search", "--strategy", "tp4ep", "--set", "workload.chunk=10", *few)
    assert proc.returncode == 3 and "error[E307]: `chunk = 10` leaves no room for a prompt" in proc.stdout
    assert ("= help: write `chunk = 33` or more, one more than its 32 decode tokens; `chunk = 160` or more also "
            "keeps up with the prompts of its 32 requests (W513); the engine's default on this GPU is 8192 — or "
            "spread the batch over more ranks") in proc.stdout
    for chunk, e307, w513 in ((32, True, False), (33, False, True), (159, False, True), (160, False, False)):
        proc = run_dagc("check", QWEN, "--no-search", "--strategy", "tp4ep", "--set", f"workload.chunk={chunk}", *few)
        assert ("error[E307]" in proc.stdout, "warning[W513]" in proc.stdout) == (e307, w513), chunk


def test_w505_suggests_replicas_only_of_a_strategy_that_passes_the_rules():
    proc = run_dagc("check", str(TRIAL / "impossible.moe"), "--no-search")
    assert proc.returncode == 3
    assert "dp 8 would use 8" not in proc.stdout and "dp 2 would use 6" not in proc.stdout
    w505 = [line for line in proc.stdout.splitlines() if "warning[W505]" in line]
    assert [line.split("warning[W505]: ")[1] for line in w505] == [
        "5 of 8 GPUs are unused (the strategy uses 3)", "7 of 8 GPUs are unused (the strategy uses 1)"]
    assert proc.stdout.count("= help: a legal strategy of 8 GPUs would use them all: `dagc search` ranks those "
                             "that are") == 2
    assert "impossible.moe:2:11: warning[W505]" in proc.stdout          # located at `gpus = 8`, as before
    # a strategy that passes keeps its replicas: `dp 2 < tp 4 >` is legal
    proc = run_dagc("check", "examples/mixtral-8x7b-1node.moe", "--no-search", "--strategy", "tp 4")
    assert "warning[W505]: 4 of 8 GPUs are unused (the strategy uses 4)" in proc.stdout
    assert "= help: dp 2 would use 8" in proc.stdout
    assert run_dagc("check", "examples/mixtral-8x7b-1node.moe", "--no-search", "--strategy", "dp 2 < tp 4 >"
                    ).returncode in (0, 1)


def test_a_count_of_one_takes_the_singular():
    # a prefill server runs the prompts of 8,000 tokens one chunk holds: 1 at `chunk = 8192` (SGLang's own on a B200,
    # 16,384, holds 2)
    proc = run_dagc("launch", str(TRIAL / "kimi-disagg-b200.moe"), "--set", "workload.chunk=8192")
    assert "each server runs up to 1 request (the batch of 1 over 1 server)" in proc.stdout + proc.stderr
    assert "up to 1 requests" not in proc.stdout + proc.stderr
    assert "each attention-DP rank runs up to 64 requests" in proc.stdout + proc.stderr      # plural kept
    from dagc.plan.workload import Workload
    from dagc.verdict.batch_max import _chosen
    w = Workload(batch=8, prompt=16, generate=16)
    assert _chosen(w, 1, "`tpot <= 5 ms`", 2**40).batch_note == \
        "batch = max: 1 request, the largest this strategy serves — 2 would break `tpot <= 5 ms`"
    assert _chosen(w, 3, "`tpot <= 5 ms`", 2**40).batch_note.startswith("batch = max: 3 requests, ")


@pytest.mark.parametrize("out", ["/proc/x", "/proc/x/y"])
def test_compile_refuses_an_output_it_cannot_lock_before_the_work(monkeypatch, out):
    import dagc.drive.drive

    def no_work(*args, **kwargs):
        raise AssertionError("the plan was checked before the output was known to be writable")

    monkeypatch.setattr(dagc.drive.drive, "drive", no_work)
    proc = run_dagc("compile", str(TRIAL / "gptoss-h100-trtllm.moe"), "-o", out)
    assert proc.returncode == 5 and proc.stdout == ""
    name = out.rsplit("/", 1)[1]
    assert proc.stderr.strip() == (f"error: cannot write /proc/.{name}.dagc-lock: No such file or directory (dagc "
                                   "locks and stages the output beside the output directory: its parent must be "
                                   "writable)")


def test_compile_leaves_no_probe_beside_a_new_output(tmp_path):
    proc = run_dagc("compile", str(TRIAL / "gptoss-h100-trtllm.moe"), "--no-search", "-o", str(tmp_path / "a" / "b"))
    assert proc.returncode in (0, 1), proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"] and sorted(p.name for p in (tmp_path / "a").iterdir()) \
        == ["b"]


def test_the_writability_probe_never_makes_or_removes_the_lock(monkeypatch, tmp_path):
    # a probe made and removed under the lock's own name let two concurrent compiles of one output directory each
    # hold a lock (one took the probe's file for the lock, the other made the lock anew once the probe was removed)
    import os

    from dagc.export.output_dir import check_output_dir
    touched: list[str] = []
    real_open, real_unlink = os.open, os.unlink

    def watch_open(path, *args, **kwargs):
        touched.append(os.path.basename(path))
        return real_open(path, *args, **kwargs)

    def watch_unlink(path, *args, **kwargs):
        touched.append(os.path.basename(path))
        return real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", watch_open)
    monkeypatch.setattr(os, "unlink", watch_unlink)
    check_output_dir(tmp_path / "out")
    (tmp_path / "out").mkdir()
    check_output_dir(tmp_path / "out")
    assert touched and ".out.dagc-lock" not in touched
    assert all(name.startswith(".out.dagc-lock.probe-") for name in touched)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
