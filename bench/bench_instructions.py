"""Instructions of the search a `check` runs, per plan, counted by valgrind's callgrind: a figure that
is the same on every run of the same code, where seconds on a shared machine vary by tens of
percent (docs/search.md, "Speed", was measured so).

Run: python bench/bench_instructions.py [--examples] [--ref DIR] [--plan FILE ...]

For each plan — the ladder of bench/bench_check.py, with `--examples` every example too, or the
`--plan` files — one process loads the plan and runs `dagc.search.search.search(plan, top=5,
front=False)` (what `dagc check` runs for its optimal verdict) under `valgrind --tool=callgrind`,
and one more loads it without searching; the difference is the search's instructions. With
`--ref DIR` (another checkout of dagc, e.g. a `git worktree` of an earlier commit) the same is
counted there, and the change is printed. Needs valgrind (Debian's `valgrind`); each plan takes
from ten seconds to a few minutes. Processes run with PYTHONHASHSEED=0 and without bytecode
caches, the same for both checkouts.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from bench_check import LADDER, plan_text  # noqa: E402

RUN = """import sys
from dagc.lang.load import load_plan
from dagc.search.search import search
from dagc.schedule.timer import Timer
import dagc.verdict.check, dagc.verdict.analyse
plan = load_plan(sys.argv[1])
if sys.argv[2] == "search":
    search(plan, top=5, front=False, timer=Timer(plan))
"""


def instructions(tree: Path, plan: Path, what: str, work: Path) -> int:
    """Instructions of one process: the plan loaded, and searched when `what` is "search"."""
    script = work / "run.py"
    script.write_text(RUN, encoding="utf-8")
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(tree)}
    out = work / "callgrind.out"
    done = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable,
                           str(script), str(plan), what], env=env, cwd=work, capture_output=True, text=True,
                          check=True)
    m = re.search(r"Collected\s*:\s*(\d+)", done.stderr)
    if m is None:
        raise RuntimeError(f"callgrind printed no count:\n{done.stderr[-2000:]}")
    return int(m.group(1))


def search_instructions(tree: Path, plan: Path, work: Path) -> int:
    return instructions(tree, plan, "search", work) - instructions(tree, plan, "load", work)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", action="store_true", help="every example too")
    ap.add_argument("--ref", type=Path, help="another checkout of dagc to compare with")
    ap.add_argument("--plan", type=Path, nargs="*", default=[], help="these plans instead of the ladder")
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is needed (apt-get install valgrind)")
    print(f"machine: {platform.machine()} · Python {platform.python_version()} · callgrind instructions")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        plans: list[tuple[str, Path]] = []
        if args.plan:
            plans = [(p.name, p.resolve()) for p in args.plan]
        else:
            for name, model, gpus, gpu, mb, strategy in LADDER:
                path = work / (name.replace(" ", "_") + ".moe")
                path.write_text(plan_text(model, gpus, gpu, mb, strategy), encoding="utf-8")
                plans.append((name, path))
            if args.examples:
                plans += [(p.name, p) for p in sorted((ROOT / "examples").glob("*.moe"))]
        print(f"{'plan':40} {'search':>10}" + (f" {'ref':>10} {'change':>8}" if args.ref else ""))
        for name, path in plans:
            now = search_instructions(ROOT, path, work)
            line = f"{name:40} {now / 1e9:9.2f}G"
            if args.ref:
                ref = search_instructions(args.ref.resolve(), path, work)
                line += f" {ref / 1e9:9.2f}G {(now / ref - 1) * 100:+7.0f}%"
            print(line, flush=True)


if __name__ == "__main__":
    main()
