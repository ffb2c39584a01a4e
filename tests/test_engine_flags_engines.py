"""The engines' own parsers fed every server command `dagc launch` writes (`-m engines`; slow).

Runs where an engine is importable by the interpreter `DAGC_ENGINE_PYTHON` names (default: this one),
with `DAGC_ENGINE_PATH` prepended to its PYTHONPATH (e.g. the directory of an extracted wheel), and is
skipped with the reason otherwise. Each engine is parsed in its own process by
`bench/engine_flags.py parse`, abbreviations off, with the checks it can run (vLLM's ParallelConfig and
its DBO backends, SGLang's deprecated spellings and two-batch-overlap rule)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_engine_flags import _launches

pytestmark = pytest.mark.engines

ROOT = Path(__file__).resolve().parent.parent


def _env() -> dict[str, str]:
    env = dict(os.environ)
    extra = os.environ.get("DAGC_ENGINE_PATH", "")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (extra, env.get("PYTHONPATH", "")) if p)
    env.setdefault("VLLM_TARGET_DEVICE", "cpu")
    return env


def _python() -> str:
    return os.environ.get("DAGC_ENGINE_PYTHON", sys.executable)


@pytest.mark.parametrize("engine", ["vllm", "sglang"])
def test_the_engines_own_parser_accepts_every_command(engine, tmp_path):
    probe = subprocess.run([_python(), "-c", f"import importlib.util, sys; "
                            f"sys.exit(importlib.util.find_spec({engine!r}) is None)"],
                           env=_env(), capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"{engine} is not importable by {_python()} (set DAGC_ENGINE_PYTHON / DAGC_ENGINE_PATH)")
    items = [{"name": f"{x.strategy} #{i}", "argv": list(c.argv)}
             for x in _launches() if x.engine == engine for i, c in enumerate(x.commands)]
    path = tmp_path / "commands.json"
    path.write_text(json.dumps(items), encoding="utf-8")
    done = subprocess.run([_python(), str(ROOT / "bench" / "engine_flags.py"), "parse", engine, str(path)],
                          env=_env(), capture_output=True, text=True, check=False, cwd=tmp_path)
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"{engine} {summary['release']}: {summary['parsed']} commands parsed, {len(summary['failures'])} failures")
    assert summary["parsed"] > 20 and not summary["failures"], summary["failures"][:5]
