"""ruff and mypy, configured in pyproject.toml, stay clean (both are in the `test` extra)."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

TIMEOUT_S = 600


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=TIMEOUT_S)


def test_ruff_is_clean():
    done = run("ruff", "check", "--no-cache", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_is_clean(request, tmp_path):
    # mypy's incremental cache in pytest's own cache directory (`.pytest_cache/d/mypy`, as the tests' bytecode is kept
    # in `.pytest_cache/pycache`, tests/conftest.py), never beside the sources: a cold run took 12.5 CPU s of the
    # suite, one whose sources are unchanged 0.3. mypy checks again each module whose source or options changed, and
    # those that depend on it, with the errors of a cold run (its incremental mode); a fresh checkout's run is cold.
    # Without pytest's cache (`-p no:cacheprovider`) it is the test's own directory.
    kept = getattr(request.config, "cache", None)          # no such attribute at all without the plugin
    cache = kept.mkdir("mypy") if kept is not None else tmp_path / "mypy-cache"
    done = run("mypy", "--cache-dir", str(cache))
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_holds_every_package_to_strict():
    """`strict = true` for the whole of dagc: no package is let off by a per-module override."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert config["strict"] is True
    assert config["files"] == ["dagc"]
    for override in config.get("overrides", []):
        modules = override["module"] if isinstance(override["module"], list) else [override["module"]]
        assert not [m for m in modules if m == "dagc" or m.startswith("dagc.")], override
