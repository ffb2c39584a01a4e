"""The expensive calls a run of tests repeats with the same inputs: what a shared fixture could compute once.

Run: python bench/repeated_work.py [--top K] TEST_FILES_OR_IDS [PYTEST_ARGS …]

It runs `python -m pytest -n 0 -p no:randomly` on the tests given with this module as a plugin, which records each
call of `dagc.search.search.search`, `dagc.verdict.check.check`, `check_strategy` and
`dagc.search.at_rate.rank_at_rate` (wherever a test or dagc imported it from): a key of its inputs (the plan's
whole value, its options, the searched result it reads by identity; not the progress bars, clock or timer), the
CPU seconds it took and the test that made it. It then prints the calls made again with the same key, most CPU
seconds first: the work a session- or module-scoped fixture could share. A test that changes how dagc runs
(a monkeypatched constant) makes a call with the same key that is not the same work: read the tests it names.
A call made inside another (`depth` above 0) repeats inside dagc, not in the tests.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOG = "DAGC_REPEATED_WORK_LOG"            # where the plugin appends its calls, one JSON list a line
_DEPTH = [0]


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _digest(value: object) -> str:
    return hashlib.blake2b(repr(value).encode(), digest_size=8).hexdigest()


def _shown(value: object) -> object:
    """A value in a key: a search's result (which holds no plan) by identity, anything else by its repr."""
    return ("result", id(value)) if hasattr(value, "ranked") else repr(value)


def search_key(plan, options=None, **keywords) -> str:
    fields = None if options is None else [
        (f.name, repr(getattr(options, f.name))) for f in dataclasses.fields(options)
        if f.name not in ("progress", "clock", "timer")]
    clock = keywords.get("clock") or getattr(options, "clock", None)
    own = sorted((k, repr(v)) for k, v in keywords.items() if k not in ("progress", "clock", "timer"))
    # a test's own clock (a budget counted in reads) makes each search its own
    return _digest((repr(plan), fields, own, None if clock is None or "monotonic" in repr(clock) else id(clock)))


def call_key(*args, **keywords) -> str:
    return _digest(([_shown(a) for a in args], sorted((k, _shown(v)) for k, v in keywords.items()
                                                      if k not in ("progress", "shown_progress"))))


def _recorded(name: str, real, key_of):
    def recording(*args, **keywords):
        key = key_of(*args, **keywords)
        _DEPTH[0] += 1
        start = _cpu_s()
        try:
            return real(*args, **keywords)
        finally:
            _DEPTH[0] -= 1
            test = os.environ.get("PYTEST_CURRENT_TEST", "").rpartition(" (")[0]
            with open(os.environ[LOG], "a", encoding="utf-8") as log:
                log.write(json.dumps([name, key, round(_cpu_s() - start, 4), _DEPTH[0], test]) + "\n")
    recording.__wrapped__ = real            # type: ignore[attr-defined]
    return recording


_PATCHED: list[tuple[object, str, object]] = []


def pytest_collection_finish(session) -> None:
    """Each recorded function replaced by its recording wrapper in every module that holds it (tests and dagc
    import them by name), once the test modules are imported."""
    import dagc.search.at_rate as at_rate
    import dagc.search.search as search
    import dagc.verdict.check as check

    wrapped = {id(f): _recorded(name, f, key) for name, f, key in (
        ("search", search.search, search_key), ("check", check.check, call_key),
        ("check_strategy", check.check_strategy, call_key), ("rank_at_rate", at_rate.rank_at_rate, call_key))}
    for module in list(sys.modules.values()):
        for attribute, value in list(getattr(module, "__dict__", {}).items()):
            if id(value) in wrapped and getattr(value, "__wrapped__", None) is None:
                _PATCHED.append((module, attribute, value))
                setattr(module, attribute, wrapped[id(value)])


def pytest_sessionfinish(session) -> None:
    for module, attribute, value in _PATCHED:
        setattr(module, attribute, value)
    _PATCHED.clear()


def repeats(lines: list[str]) -> tuple[float, list[tuple[float, str, int, int, list[str]]]]:
    """The CPU seconds of the outermost calls, and each call made again with the same key: (CPU seconds of the
    calls after the first, its name, how many, its least depth, the tests that made it), most seconds first."""
    calls: dict[tuple[str, str], list[tuple[float, int, str]]] = collections.defaultdict(list)
    outermost = 0.0
    for line in lines:
        name, key, seconds, depth, test = json.loads(line)
        calls[name, key].append((seconds, depth, test))
        outermost += seconds if depth == 0 else 0.0
    again = [(sum(s for s, _, _ in made[1:]), name, len(made), min(d for _, d, _ in made),
              sorted({t for _, _, t in made})) for (name, _), made in calls.items() if len(made) > 1]
    return outermost, sorted(again, key=lambda row: -row[0])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--top", type=int, default=20, help="the K repeated calls that cost the most (default 20)")
    args, rest = ap.parse_known_args()
    if not rest:
        ap.error("name the test files or ids to run")
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "calls.jsonl"
        log.touch()
        env = {**os.environ, LOG: str(log),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "bench"), str(ROOT),
                                                           os.environ.get("PYTHONPATH")]))}
        code = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:randomly",
                               "-p", "repeated_work", *rest], cwd=ROOT, env=env, check=False).returncode
        outermost, again = repeats(log.read_text(encoding="utf-8").splitlines())
    print(f"\nrecorded calls: {outermost:.1f} CPU s outermost; {len(again)} made again with the same inputs, "
          f"{sum(row[0] for row in again):.1f} CPU s in the repeats; pytest exited {code}")
    for seconds, name, made, depth, tests in again[:args.top]:
        more = f" and {len(tests) - 3} more" if len(tests) > 3 else ""
        print(f"{seconds:7.2f} {name} ×{made} (depth {depth}): {', '.join(tests[:3])}{more}")
    return code


if __name__ == "__main__":
    sys.exit(main())
