"""`dagc launch` tells each engine a length limit that covers the longest request dagc's traffic sends — a
request log's longest, the longest drawn — not the mean prompt + generate, so that the engine started with
dagc's flags accepts every request dagc's load simulation served (docs/launch.md, "Serving flags")."""

from __future__ import annotations

import csv
import re

from dagc.cli.main import main
from dagc.lang.load import load_plan_text
from dagc.launch.engines import launch_result
from dagc.launch.serving import serving
from dagc.verdict.check import check
from conftest import EXAMPLES

TRAFFIC = EXAMPLES / "qwen3-30b-a3b-traffic.moe"
LOG = EXAMPLES / "traces" / "azure-llm-conv-2023-first1000.csv"


def _limits(text: str) -> dict[str, int]:
    """The length limit each engine's commands are told, read off `dagc launch`'s output."""
    found = {engine: [int(v) for v in re.findall(rf"{flag}[ :]+(\d+)", text)]
             for engine, flag in (("vllm", "--max-model-len"), ("sglang", "--context-length"),
                                  ("trtllm", "max_seq_len"))}
    assert all(found.values()), found
    assert all(len(set(v)) == 1 for v in found.values()), found          # every command of an engine alike
    return {engine: v[0] for engine, v in found.items()}


def test_a_request_logs_longest_request_is_every_engines_length_limit(capsys):
    """The example replays the first 1,000 requests of Azure's conversation trace: the longest is 4,292 tokens
    (prompt + output, read off the CSV here), 568 of them are longer than the plan's mean prompt + generate
    (1,014 + 247 = 1,261), which the launch used to write."""
    with LOG.open() as f:
        lengths = [int(row["ContextTokens"]) + int(row["GeneratedTokens"]) for row in csv.DictReader(f)]
    assert len(lengths) == 1000 and max(lengths) == 4292 and sum(n > 1014 + 247 for n in lengths) == 568
    assert main(["launch", str(TRAFFIC), "--strategy", "tp"]) == 0
    assert _limits(capsys.readouterr().out) == {"vllm": 4292, "sglang": 4292, "trtllm": 4292}


def test_drawn_lengths_longest_is_the_longest_request_the_load_simulation_served():
    """Lengths drawn around the means (`lengths = lognormal`): the limit is the longest request the strategy's
    simulated load ran, far above the mean 2,000 + 200 (requests up to 20 × each mean may be drawn)."""
    plan = load_plan_text('model preset "qwen3-30b-a3b"  cluster { gpus = 4  gpu preset "h200" }\n'
                          "workload { batch = 32  prompt = 2000  generate = 200  serving = inflight\n"
                          "           rate = 2 requests/s  requests = 300  lengths = lognormal  length_cv = 0.8 }\n"
                          "strategy tp 4")
    (result,) = check(plan)
    assert result.valid and result.load is not None
    run = result.load.load
    served = run.prompt + run.output_tokens
    assert len(served) == 300 and int(served.max()) > 2 * 2200 and int((served > 2200).sum()) > 50
    assert serving(result.plan, result.strategy, result.layout, result.memory).max_len == int(served.max())
    for launch in launch_result(result):
        text = "\n".join([c.text for c in launch.commands] + [f.text for f in launch.files])
        assert str(int(served.max())) in text and "2200" not in text


def test_fixed_lengths_keep_prompt_plus_generate():
    """Without drawn lengths or a log every request is prompt + generate long: the limit stays that, traffic or
    none (a shared prefix is part of the prompt)."""
    for traffic in ("", "rate = 2 requests/s  requests = 50", "concurrency = 8  requests = 50  prefix = 500"):
        plan = load_plan_text('model preset "qwen3-30b-a3b"  cluster { gpus = 4  gpu preset "h200" }\n'
                              "workload { batch = 32  prompt = 2000  generate = 200  serving = inflight  "
                              f"{traffic} }}\nstrategy tp 4")
        (result,) = check(plan)
        assert serving(result.plan, result.strategy, result.layout, result.memory).max_len == 2200


def _log_plan(tmp_path, longest_prompt: int, context: int | None = 1_048_576) -> str:
    """gpt-oss-120b on one H100 serving in flight a three-request log whose second prompt is `longest_prompt`; its
    context stated `context` tokens long (None: the preset's 131,072), as a deployment that extends it (a longer
    YaRN scaling) would state it."""
    (tmp_path / "log.csv").write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n"
                                      "2023-11-16 18:15:46.6805900,374,44\n"
                                      f"2023-11-16 18:15:50.9951690,{longest_prompt},109\n"
                                      "2023-11-16 18:15:51.9951690,396,109\n")
    path = tmp_path / "long.moe"
    model = f"{{ context_length = {context} }}" if context else ""
    path.write_text(f'model preset "gpt-oss-120b" {model}\n' 'cluster { gpus = 1  gpu preset "h100-sxm" }\n'
                    "workload {\n  batch = 8  prompt = 2048  generate = 256  serving = inflight\n"
                    '  requests from "log.csv"\n}\nstrategy tp 1\n')
    return str(path)


def test_launch_warns_when_the_longest_request_is_more_than_a_ranks_kv_cache(tmp_path, capsys):
    """The log's 900,109-token request is the engine's length limit, but one H100 holds 407,785 tokens of
    gpt-oss-120b's KV cache beside its 60.69 GiB of weights under SGLang (the figure the load simulation admits by),
    315,701 beside vLLM's 64.03 GiB (vLLM's Triton MoE keeps the experts' block scales twice, 3.34 GiB more:
    docs/cost-model.md, "MXFP4 experts as vLLM holds them"): the launch warns (W519), located at the workload,
    naming both figures and what would lift it; SGLang starts with its longest request cut to the pool, vLLM does
    not start (E732: exit 3, no command)."""
    plan = _log_plan(tmp_path, 900_000)
    assert main(["launch", plan, "--engine", "vllm"]) == 3
    out = capsys.readouterr().out
    # under the flag as written (--gpu-memory-utilization 0.949, rounded down to 0.001): 1,711 tokens fewer
    assert "error[E732]: vLLM does not start: one rank's KV cache holds 313,990 tokens under " \
        "--gpu-memory-utilization 0.949" in out
    assert "--max-model-len 900,109" in out and "vllm serve" not in out
    assert main(["launch", plan, "--engine", "sglang"]) == 0
    out = capsys.readouterr().out
    assert "--context-length 900109" in out
    (line,) = [x for x in out.splitlines() if "warning[W519]" in x]
    assert line.startswith(f"{plan}:3:1: warning[W519]: the longest request (900,109 tokens")
    assert "one rank's KV cache holds: 407,785 tokens" in line
    assert "help: shorten the requests to at most 407,785 tokens" in out and "8-bit KV cache" in out
    # a longest request vLLM's cache holds: no warning
    assert main(["launch", _log_plan(tmp_path, 300_000), "--engine", "vllm"]) == 0
    assert "W519" not in capsys.readouterr().out


def test_launch_says_when_the_plan_names_a_release_other_than_the_one_its_flags_are_of(tmp_path, capsys):
    """`engine = trtllm@0.14`: the commands are TensorRT-LLM 1.2's (the release dagc checked them against), and the
    launch says so under the engine's header; a patch release of the one checked (vLLM 0.33.1, TensorRT-LLM 1.2.3)
    gets no such note. SGLang numbers each feature release 0.5.N, whose flags change (0.5.23 dropped
    `--cuda-graph-max-bs`): `sglang@0.5.2` is noted (it was not, as of SGLang's 0.5 series), `sglang@0.5.23.post1`
    is not."""
    text = ('model preset "qwen3-30b-a3b" cluster {{ gpus = 8 gpu preset "h200" engine = {e} }} '
            'workload { batch = 64 prompt = 1000 generate = 200 serving = inflight } strategy tp 8')
    for engine, noted in (("trtllm@0.14", True), ("trtllm@1.2.3", False), ("vllm@0.10.2", True), ("vllm@0.33.1", False),
                          ("sglang@0.5.2", True), ("sglang@0.5.23.post1", False), ("sglang@0.4.6", True)):
        plan = tmp_path / "p.moe"
        plan.write_text(text.replace("{e}", engine).replace("{{", "{").replace("}}", "}"))
        capsys.readouterr()
        assert main(["launch", str(plan)]) == 0
        out = capsys.readouterr().out
        name, release = engine.split("@")
        said = f"note: the plan names {name}@{release}; these are the flags of the release dagc writes"
        assert (said in out) is noted, (engine, out)


def test_a_log_request_longer_than_the_models_context_is_refused_at_its_requests_from_line(tmp_path, capsys):
    """The same log on gpt-oss-120b as published (context 131,072 tokens): its 900,109-token request is one no
    engine serves — vLLM refuses a --max-model-len above 131,072 — so the plan is E111, located at `requests from`,
    naming the log's line, both lengths and the context; nothing is launched."""
    plan = _log_plan(tmp_path, 900_000, context=None)
    assert main(["launch", plan, "--engine", "vllm"]) == 4
    captured = capsys.readouterr()
    assert "--max-model-len" not in captured.out
    (line,) = [x for x in captured.err.splitlines() if "error[E111]" in x]
    assert line.startswith(f"{plan}:5:17: error[E111]: the request on line 3 of `log.csv` (900,000 prompt + 109 "
                           "output tokens) is longer than the context of model `gpt-oss-120b`: 131,072 tokens")
    assert "help: drop or cut the log's requests longer than 131,072 tokens" in captured.err


def test_the_length_limit_is_never_above_the_models_context():
    """Lengths drawn around a mean of 20,000 + 500 tokens reach past Qwen3-30B-A3B's 40,960 (the longest drawn,
    as the load simulation serves it, is far longer): every engine is told 40,960 — vLLM refuses a longer
    --max-model-len — and those few requests are the ones it refuses. A context stated longer lifts the cap."""
    text = ('model preset "qwen3-30b-a3b" {model} cluster {{ gpus = 8  gpu preset "h100-sxm" }}\n'
            "workload {{ batch = 8  prompt = 20000  generate = 500  serving = inflight  rate = 2 requests/s\n"
            "           requests = 200  lengths = lognormal }}\nstrategy tp 8")
    (result,) = check(load_plan_text(text.format(model="")))
    served = result.load.load.prompt + result.load.load.output_tokens
    assert int(served.max()) > 40_960
    for launch in launch_result(result):
        body = "\n".join([c.text for c in launch.commands] + [f.text for f in launch.files])
        assert _limits_in(body) == {40_960}, launch.engine
    (longer,) = check(load_plan_text(text.format(model="{ context_length = 1000000 }")))
    assert serving(longer.plan, longer.strategy, longer.layout, longer.memory).max_len == int(served.max())


def _limits_in(text: str) -> set[int]:
    return {int(v) for v in re.findall(r"(?:--max-model-len|--context-length|max_seq_len)[ :]+(\d+)", text)}
