"""`dagc launch --set FIELD=VALUE`: the same what-ifs as `dagc check` (read by the same
`load_plan_with`), so a cluster `dagc fleet` picks (`--set cluster.gpus=4`) can be launched; a bad
option gets check's diagnostics and summary line."""

from __future__ import annotations

from pathlib import Path

from dagc.cli.main import main
from conftest import EXAMPLES

QWEN = str(EXAMPLES / "qwen3-30b-a3b-4gpu.moe")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_launch_takes_set_as_check_does(capsys):
    code, out, _ = run(capsys, "launch", QWEN, "--engine", "vllm", "--set", "cluster.gpus=2", "--strategy", "tp 2")
    assert code == 0
    assert "strategy `tp 2` · 2 GPUs" in out
    assert "overrides (--set, not in the plan): cluster.gpus=2" in out
    assert "vllm serve Qwen/Qwen3-30B-A3B --tensor-parallel-size 2 " in out
    # the cluster is the one --set makes: 4 GPUs no longer fit on it, as check says
    code, _, err = run(capsys, "launch", QWEN, "--engine", "vllm", "--set", "cluster.gpus=2", "--strategy", "tp 4")
    assert code == 3
    assert "error[E401]" in err and "the cluster has 2" in err
    c_code, c_out, _ = run(capsys, "check", QWEN, "--no-search", "--set", "cluster.gpus=2", "--strategy", "tp 4")
    assert c_code == 3 and "the cluster has 2" in c_out


def test_launch_set_engine_answers_for_that_engine(capsys):
    code, out, _ = run(capsys, "launch", QWEN, "--set", "cluster.engine=sglang", "--strategy", "tp 4")
    assert code == 0
    # the engine is the what-if's, not the plan's (until 2026-12-01 "as the plan serves with it", "the plan's engine")
    assert "engine: sglang, as `--set cluster.engine=sglang` names it (--engine for another)" in out
    assert "as the plan serves with it" not in out
    assert "## SGLang" in out and "## vLLM" not in out
    assert ("served by sglang 0.5.23 (the engine `--set cluster.engine=sglang` names; another's with "
            "`--set cluster.engine=NAME`)") in out


def test_launch_quotes_the_engine_option_with_its_release(tmp_path, capsys):
    # the option as given, release and all (until 2026-12-01 `--set cluster.engine=vllm@0.8.5` was quoted as
    # `--set cluster.engine=vllm`, an option the user never gave)
    code, out, _ = run(capsys, "launch", QWEN, "--set", "cluster.engine=vllm@0.8.5", "--strategy", "tp 4",
                       "-o", str(tmp_path / "l"))
    assert code == 0
    assert "engine: vllm, as `--set cluster.engine=vllm@0.8.5` names it (--engine for another)" in out
    assert ("served by vllm 0.8.5 (the engine `--set cluster.engine=vllm@0.8.5` names; another's with "
            "`--set cluster.engine=NAME`)") in out


def test_launch_says_whether_the_plan_or_a_set_names_its_engine(tmp_path, capsys):
    plan = tmp_path / "plan.moe"
    plan.write_text(Path(QWEN).read_text().replace("gpu preset", "engine = vllm  gpu preset", 1))
    code, out, _ = run(capsys, "launch", str(plan), "--set", "cluster.engine=sglang", "--strategy", "tp 4")
    assert code == 0 and "engine: sglang, as `--set cluster.engine=sglang` names it (--engine for another)" in out
    code, out, _ = run(capsys, "launch", str(plan), "--set", "workload.batch=64", "--strategy", "tp 4")
    assert code == 0 and "engine: vllm, as the plan serves with it (--engine for another)" in out
    assert "served by vllm 0.33.0 (the plan's engine; another's with `--set cluster.engine=NAME`)" in out


def test_bad_set_gets_checks_diagnostics(capsys):
    options = ("--set", "cluster.gpu=8", "--set", "workload.foo=3")
    code, _, err = run(capsys, "launch", QWEN, *options)
    assert code == 4
    c_code, _, c_err = run(capsys, "check", QWEN, "--no-search", *options)
    assert c_code == 4
    diagnostics = err.split("error: --set:")[0]
    assert "--set:1:13: error[E101]: unknown GPU preset `8`" in diagnostics
    assert "--set:1:10: error[E101]: unknown field `foo` in workload" in diagnostics
    assert diagnostics.strip() == c_err.split("error: --set:")[0].strip()
    assert err.strip().splitlines()[-1] == "error: --set: 2 errors; nothing to launch"
    assert c_err.strip().splitlines()[-1] == "error: --set: 2 errors; nothing was checked"


def test_try_line_keeps_the_set_options(capsys):
    # vLLM cannot run `tp 4 ; ep 2 etp 2` (E702): the command it suggests keeps the what-if
    code, out, _ = run(capsys, "launch", QWEN, "--engine", "vllm", "--set", "workload.batch=64",
                       "--strategy", "tp 4 ; ep 2 etp 2")
    assert code == 3
    assert "try: dagc launch " in out and "--set workload.batch=64" in out.split("try: ")[1].splitlines()[0]
