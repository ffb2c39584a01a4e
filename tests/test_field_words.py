"""A workload field written in an engine's or a benchmark's words (`max_num_seqs`, `request_rate`, `num_prompts`,
`input_len`, `batch_size`) is told dagc's name for it, and a requirement written in the workload is told to go in
`require { … }` (`dagc.lang.field_words`). Before, each read the workload's list of 22 fields, and `batchsize = 64`
also drew an E103 "the workload has no `batch`" at the block's start."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_dagc

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 1  gpu preset "h100-sxm" }
workload { WORKLOAD }
strategy tp 1
"""
WORKLOAD = "batch = 8  prompt = 512  generate = 64"


def _check(tmp_path: Path, workload: str = WORKLOAD, *options: str) -> tuple[int, str]:
    plan = tmp_path / "plan.moe"
    plan.write_text(PLAN.replace("WORKLOAD", workload))
    done = run_dagc("check", str(plan), "--no-search", *options)
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize(("written", "field", "whose"), [
    ("max_num_seqs", "batch", "vLLM's `--max-num-seqs`, the cap on requests in flight"),
    ("max_running_requests", "batch", "SGLang's `--max-running-requests`, the cap on requests in flight"),
    ("request_rate", "rate", "`vllm bench serve --request-rate`, the arrival rate"),
    ("num_prompts", "requests", "`vllm bench serve --num-prompts`, the requests sent"),
    ("random_input_len", "prompt", "`vllm bench serve --random-input-len`, the prompt's tokens"),
    ("OSL", "generate", "the output sequence length, the tokens generated"),
])
def test_an_engines_name_of_a_workload_field_is_told_dagcs(tmp_path: Path, written: str, field: str, whose: str):
    code, text = _check(tmp_path, WORKLOAD, "--set", f"workload.{written}=4")
    assert code == 4
    assert f"error[E101]: unknown field `{written}` in workload" in text
    assert f"help: did you mean `{field}`? (`{written}` is {whose})" in text
    assert "expected one of" not in text


def test_a_misnamed_batch_is_one_error_not_two(tmp_path: Path):
    code, text = _check(tmp_path, "batch_size = 8  prompt = 512  generate = 64")
    assert code == 4
    assert "plan.moe:3:12: error[E101]: unknown field `batch_size` in workload" in text
    assert "help: did you mean `batch`? (`batch_size` is the batch size)" in text
    assert "E103" not in text and "1 error; nothing was checked" in text


def test_a_requirement_in_the_workload_is_told_to_go_in_require(tmp_path: Path):
    code, text = _check(tmp_path, WORKLOAD + "  ttft_p99 = 2 s")
    assert code == 4
    assert ("help: `ttft_p99` is a requirement, not a field of the workload: write it in the `require` block, "
            "`require { ttft_p99 <= … }` (with --set: `--set 'require.ttft_p99=…'`)") in text
    # and the --set the hint gives is one dagc takes
    code, text = _check(tmp_path, WORKLOAD + "  ttft = 2 s")
    assert "`require { ttft <= … }` (with --set: `--set 'require.ttft=…'`)" in text
    code, text = _check(tmp_path, WORKLOAD, "--set", "require.ttft=2 s")
    assert code == 0 and "error[" not in text and "`ttft <= 2 s` 84.54 ms" in text


def test_a_workload_word_in_another_block_names_the_workload(tmp_path: Path):
    code, text = _check(tmp_path, WORKLOAD, "--set", "cluster.max_num_seqs=8")
    assert code == 4
    assert ("help: `max_num_seqs` is vLLM's `--max-num-seqs`, the cap on requests in flight: dagc's `batch`, a field "
            "of `workload { … }`: write it there, `workload { batch = … }` (with --set: `workload.batch=…`)") in text


def test_a_slip_of_a_field_still_reads_did_you_mean(tmp_path: Path):
    code, text = _check(tmp_path, WORKLOAD, "--set", "workload.genrate=4")
    assert code == 4 and "help: did you mean `generate`?" in text


@pytest.mark.parametrize(("written", "whose"), [
    ("max_num_batched_tokens", "vLLM's `--max-num-batched-tokens`, the most tokens one engine step runs"),
    ("chunked_prefill_size", "SGLang's `--chunked-prefill-size`, the most tokens one engine step runs"),
    ("max_num_tokens", "TensorRT-LLM's `--max_num_tokens`, the most tokens one engine step runs"),
])
def test_an_engines_token_budget_per_step_is_told_chunk(tmp_path: Path, written: str, whose: str):
    """docs/language.md's `chunk` is each engine's token budget per step; until 2026-11-29 the engines' names of it
    got the workload's list of 22 fields, or, written in the cluster where a user puts engine flags, the cluster's."""
    code, text = _check(tmp_path, WORKLOAD + "  serving = inflight", "--set", f"workload.{written}=4096")
    assert code == 4 and f"help: did you mean `chunk`? (`{written}` is {whose})" in text
    code, text = _check(tmp_path, WORKLOAD + "  serving = inflight", "--set", f"cluster.{written}=4096")
    assert code == 4 and (f"help: `{written}` is {whose}: dagc's `chunk`, a field of `workload {{ … }}`: write it "
                          "there, `workload { chunk = … }` (with --set: `workload.chunk=…`)") in text


def test_a_three_letter_field_missing_a_letter_is_the_field(tmp_path):
    """`rat = 4 requests/s` is `rate` with its last letter left out: E101 says so, where it listed every field."""
    from dagc.diagnostics import PlanError
    from dagc.lang.load import load_plan_text
    text = ('model preset "qwen3-30b-a3b"\ncluster { gpus = 8  gpu preset "h200" }\n'
            'workload { batch = 64  prompt = 4000  generate = 500  serving = inflight  rat = 4 requests/s }\n'
            'strategy tp 8\n')
    with pytest.raises(PlanError) as caught:
        load_plan_text(text)
    (d,) = caught.value.diagnostics
    assert (d.code, d.hint) == ("E101", "did you mean `rate`?")


@pytest.mark.parametrize("written", ["nodes = 2  gpus_per_node = 8", "gpus = 16  num_nodes = 2"])
def test_a_count_of_nodes_is_told_the_cluster_is_counted_in_gpus(tmp_path: Path, written: str):
    """`cluster { nodes = 2 … }` (an engineer sizing DeepSeek-V3 on 2 nodes) was told the cluster's ten fields and,
    beside it, "the cluster has no `gpus`" (until 2026-12-02)."""
    plan = tmp_path / "plan.moe"
    plan.write_text(PLAN.replace('gpus = 1  gpu preset "h100-sxm"', f'{written}  gpu preset "h100-sxm"')
                    .replace("WORKLOAD", WORKLOAD))
    done = run_dagc("check", str(plan), "--no-search")
    assert done.returncode == 4
    assert done.stderr.count("error[") == 1 and "E103" not in done.stderr
    name = written.split()[-3] if written.startswith("gpus") else "nodes"
    assert f"error[E101]: unknown field `{name}` in cluster" in done.stderr
    assert "2 nodes of 8 GPUs are `gpus = 16 gpus_per_node = 8`" in " ".join(done.stderr.split())
