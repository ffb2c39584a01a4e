"""A script `dagc launch -o DIR` writes names a `model from` config.json's directory by its absolute path,
resolved from where dagc ran: a trial ran `dagc launch a.moe --engine vllm -o DIR` from the directory holding
config.json and got `exec vllm serve .` in the script, which names another directory once the script runs
elsewhere. The printed commands keep the path as the plan wrote it (docs/launch.md, "Model")."""

from __future__ import annotations

import json
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
    # the printed command keeps what the plan wrote, relative to where dagc runs
    assert f" {flag} . " in printed or f" {flag} .\n" in printed


def test_a_script_run_from_elsewhere_loads_the_same_directory(here, tmp_path, monkeypatch):
    assert main(["launch", "a.moe", "--engine", "vllm", "-o", str(here / "DIR")]) == 0
    (script,) = [s for s in (here / "DIR").glob("vllm-*.sh") if "serve" in s.read_text()]
    monkeypatch.chdir(tmp_path)
    words = _exec_words(script.read_text())
    assert words[0] == "vllm" and (tmp_path / words[words.index("serve") + 1] / "config.json").is_file()
