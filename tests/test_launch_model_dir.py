"""A script `dagc launch -o DIR` writes names a `model from` config.json's directory by its absolute path,
resolved from where dagc ran: a trial ran `dagc launch a.moe --engine vllm -o DIR` from the directory holding
config.json and got `exec vllm serve .` in the script, which names another directory once the script runs
elsewhere. The printed commands name it absolutely too (until 2026-11-28 they kept it relative, where `hf/Qwen3-30B-A3B`
reads as a Hugging Face repository id from any other directory; docs/launch.md, "Model path")."""

from __future__ import annotations

import json
import shlex
import subprocess

import pytest

from dagc.cli.main import main
from conftest import plan_text


@pytest.fixture
def here(tmp_path, monkeypatch):
    """A directory holding config.json (Mixtral 8x7B's) and a plan that reads it, made the working one."""
    from hf_configs import MIXTRAL_8X7B

    home = tmp_path / "it's $HOME"          # a directory name the shell must not split or expand
    home.mkdir()
    (home / "config.json").write_text(json.dumps(MIXTRAL_8X7B))
    (home / "a.moe").write_text(plan_text(model='model from "config.json"'))
    monkeypatch.chdir(home)
    return home


def _exec_words(script: str) -> list[str]:
    """The words the shell gives the script's command: its `exec` line run by `sh` with `printf` for `exec`."""
    (line,) = [x for x in script.splitlines() if x.startswith("exec ")]
    said = subprocess.run(["sh", "-c", "printf '%s\\0' " + line.removeprefix("exec ")], capture_output=True,
                          text=True, check=True, env={"PATH": "/usr/bin:/bin", "HOME": "/nowhere"}).stdout
    return said.split("\0")[:-1]


@pytest.mark.parametrize("engine, flag", [("vllm", "serve"), ("sglang", "--model-path"), ("trtllm", "trtllm-serve")])
def test_the_script_names_the_model_directory_absolutely(here, capsys, engine, flag):
    assert main(["launch", "a.moe", "--engine", engine, "-o", "DIR"]) == 0
    printed = capsys.readouterr().out
    scripts = sorted((here / "DIR").glob(f"{engine}-*.sh"))
    servers = [s for s in scripts if flag in s.read_text()]
    assert servers, [s.read_text() for s in scripts]
    for s in servers:
        words = _exec_words(s.read_text())
        assert words[words.index(flag) + 1] == str(here)
    # the printed command names it absolutely too, quoted for the shell (the directory is `it's $HOME`)
    assert f" {flag} {shlex.quote(str(here))} " in printed and f"model: {here} (" in printed


def test_a_script_run_from_elsewhere_loads_the_same_directory(here, tmp_path, monkeypatch):
    assert main(["launch", "a.moe", "--engine", "vllm", "-o", str(here / "DIR")]) == 0
    (script,) = [s for s in (here / "DIR").glob("vllm-*.sh") if "serve" in s.read_text()]
    monkeypatch.chdir(tmp_path)
    words = _exec_words(script.read_text())
    assert words[0] == "vllm" and (tmp_path / words[words.index("serve") + 1] / "config.json").is_file()


def test_a_directory_beside_the_plan_is_printed_absolute_never_as_a_repository_id(tmp_path, monkeypatch, capsys):
    """The trial's: `model from "Qwen3-30B-A3B/config.json"` in hf/q30.moe, run from hf's parent, printed
    `vllm serve hf/Qwen3-30B-A3B`, which vLLM reads as a Hugging Face repository id from any other directory."""
    from hf_configs import QWEN3_30B_A3B

    (tmp_path / "hf" / "Qwen3-30B-A3B").mkdir(parents=True)
    (tmp_path / "hf" / "Qwen3-30B-A3B" / "config.json").write_text(json.dumps(QWEN3_30B_A3B))
    (tmp_path / "hf" / "q30.moe").write_text(plan_text(model='model from "Qwen3-30B-A3B/config.json"'))
    monkeypatch.chdir(tmp_path)
    assert main(["launch", "hf/q30.moe", "--engine", "vllm"]) == 0
    out = capsys.readouterr().out
    (serve,) = [line for line in out.splitlines() if line.startswith("  vllm serve ")]
    assert serve.split()[2] == str(tmp_path / "hf" / "Qwen3-30B-A3B")
    # the library's own path (report.md's) is `./`-prefixed: no parser reads it as an `owner/name` id
    from dagc.lang.load import load_plan
    from dagc.launch.launch import model_path
    assert model_path(load_plan("hf/q30.moe")).text == "./hf/Qwen3-30B-A3B"
