"""The serving mode is asked of its object (`dagc.layout.modes`), not tested as flags over the package.

A flag test is a read of the workload's `inflight`, a strategy's or a search result's `disaggregated`, a
check's `pooled is (not) None`, a workload's or launch value's `role is (not) None`, or `role == "prefill"`
(or "decode", or `PoolRole.PREFILL`, `PoolRole.DECODE`) anywhere in `dagc/` but the modes' own module. What a
stage reads of a mode object (`mode_of(workload).continuous`, `mode.role`) is no flag test. Where `inflight`
names a rank's count of requests in flight (the load simulation's replicas) it is no mode either. The count
only falls: a site moved onto the mode object lowers `FLAG_TESTS`; docs/architecture.md (Serving modes) says
why the rest stay.
"""

from __future__ import annotations

import io
import tokenize

from conftest import ROOT

PACKAGE = ROOT / "dagc"
MODES = "dagc/layout/modes.py"
# `inflight` there is a list: the requests each rank of a replica has in flight, not the serving mode
COUNTERS = {"dagc/serve/replica.py", "dagc/serve/replica_blocks.py", "dagc/serve/load_pools.py"}
FLAG_TESTS = 57
_SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}


def flag_tests(source: str) -> list[tuple[int, str]]:
    """The (line, kind) of each flag test in `source` (module docstring); strings and comments are not read."""
    toks = [t for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type not in _SKIPPED]
    out = []
    for i, t in enumerate(toks):
        before = [toks[j].string for j in (i - 2, i - 1) if j >= 0]
        after = toks[i + 1].string if i + 1 < len(toks) else ""
        # an attribute, not a module's path (`serve.inflight`), nor the mode's own (`mode.role`, `mode_of(w).role`)
        attribute = before[-1:] == ["."] and before[0] not in ("serve", "from", "mode", ")")
        kind = ""
        if t.type == tokenize.NAME and attribute and t.string in ("inflight", "disaggregated"):
            kind = t.string
        elif t.type == tokenize.NAME and attribute and t.string in ("pooled", "role") and after == "is":
            kind = f"{t.string} is"
        elif t.type == tokenize.STRING and t.string.strip("\"'") in ("prefill", "decode") and \
                before[-1:] in (["=="], ["!="]) and before[0] == "role":
            kind = "role =="
        elif t.type == tokenize.NAME and t.string == "PoolRole" and before[-1:] in (["=="], ["!="]) and \
                before[0] == "role":
            kind = "role == PoolRole"
        if kind:
            out.append((t.start[0], kind))
    return out


def package_flag_tests() -> list[tuple[str, int, str]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel != MODES and rel not in COUNTERS:
            found += [(rel, line, kind) for line, kind in flag_tests(path.read_text(encoding="utf-8"))]
    return found


def test_the_flag_tests_are_counted_as_written():
    source = '''
"""w.inflight in a docstring is not read"""
from ..serve.inflight import InflightRates      # a module's path
from .inflight import serving_json
if workload.inflight and not strategy.disaggregated:     # two
    pass
x = r.pooled.pools if r.pooled is not None else ()       # one: the test, not the read
y = mode.role is None or workload.role is None           # one: the mode's own role is asked of the mode
v = mode_of(w).role is not None                          # none
z = "a" if role == "decode" else "b"                     # one
u = mode_of(w).continuous                                # none
t = p.pool.role == PoolRole.PREFILL or role != PoolRole.DECODE      # two
s = roles[PoolRole.PREFILL] if p.pool is decode else None           # none: a key, and no role compared
'''
    assert flag_tests(source) == [(5, "inflight"), (5, "disaggregated"), (7, "pooled is"), (8, "role is"),
                                  (10, "role =="), (12, "role == PoolRole"), (12, "role == PoolRole")]


def test_the_serving_mode_is_asked_of_its_object_not_tested_as_flags():
    found = package_flag_tests()
    listed = "\n".join(f"{f}:{line} {kind}" for f, line, kind in found)
    assert len(found) <= FLAG_TESTS, f"{len(found)} flag tests, {FLAG_TESTS} allowed: ask the mode\n{listed}"
    assert len(found) == FLAG_TESTS, f"{len(found)} flag tests now: lower FLAG_TESTS to it\n{listed}"
