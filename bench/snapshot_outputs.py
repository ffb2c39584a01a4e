"""Snapshot what `dagc check/compile/search/launch` print and write for every example plan, so two
releases can be diffed byte for byte.

    python bench/snapshot_outputs.py OUTDIR [--dagc CHECKOUT]

Runs the `dagc` of CHECKOUT (default: this checkout) with `python -m dagc` and `PYTHONPATH`, from
inside OUTDIR, so every path it prints is the same from one checkout to the other. For each example
(and the mistakes under examples/mistakes) it keeps each command's stdout, stderr and exit code, and
every file `dagc compile` writes. Lines that time the run (`seconds`, candidates per second) are
the only thing that moves between runs; `--normalise` blanks them (and writes the run's own
directory as `<work>`) so `diff -r` shows the rest:

    python bench/snapshot_outputs.py /tmp/old --dagc ../old-checkout
    python bench/snapshot_outputs.py /tmp/new
    diff -r /tmp/old /tmp/new

Writes only inside OUTDIR.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# What moves from run to run: wall-clock seconds and rates, and nothing else.
_TIMING = [
    (re.compile(rb'"seconds": [0-9.e+-]+'), b'"seconds": 0'),
    (re.compile(rb'"(evaluated|pruned|legal|rejected)_per_s": [0-9.e+-]+'), rb'"\1_per_s": 0'),
    (re.compile(rb"in [0-9.]+ ?s\b"), b"in <t> s"),
    (re.compile(rb"[0-9][0-9,.]* ?(candidates/s|/s\))"), rb"<n> \1"),
    (re.compile(rb"[0-9][0-9.,]* ?s elapsed"), b"<t> s elapsed"),
    (re.compile(rb"\([0-9][0-9,.]* per second\)"), b"(<n> per second)"),
]


def _commands(plans: list[Path], shown: list[Path]) -> list[tuple[str, list[str]]]:
    runs: list[tuple[str, list[str]]] = []
    for plan, name in zip(plans, shown, strict=True):
        stem = plan.stem
        runs += [
            (f"check-{stem}", ["check", str(name)]),
            (f"check-json-{stem}", ["check", str(name), "--format", "json"]),
            (f"compile-{stem}", ["compile", str(name), "-o", f"compiled/{stem}"]),
            (f"search-{stem}", ["search", str(name), "--format", "json"]),
            (f"search-text-{stem}", ["search", str(name), "--top", "5"]),
            (f"launch-{stem}", ["launch", str(name)]),
        ]
    runs += [("explain-E202", ["explain", "E202"]), ("explain-E401", ["explain", "E401"]),
             ("presets", ["presets"]), ("schema", ["schema"])]
    return runs


def _normalise(data: bytes, work: Path) -> bytes:
    for pattern, repl in _TIMING:
        data = pattern.sub(repl, data)
    return data.replace(str(work).encode(), b"<work>")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--dagc", type=Path, default=ROOT, help="the checkout whose dagc runs")
    ap.add_argument("--normalise", action="store_true", help="blank seconds and rates in what is kept")
    ap.add_argument("--only", default="", help="run only commands whose name contains this")
    args = ap.parse_args()
    checkout = args.dagc.resolve()
    out = args.outdir.resolve()
    out.mkdir(parents=True, exist_ok=True)
    work = out / "work"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir()
    examples = sorted((ROOT / "examples").glob("*.moe")) + sorted((ROOT / "examples" / "mistakes").glob("*.moe"))
    shown = []
    for plan in examples:     # copied in, so every path dagc prints is relative and the same
        local = work / "plans" / plan.name
        local.parent.mkdir(exist_ok=True)
        shutil.copyfile(plan, local)
        shown.append(Path("plans") / plan.name)
    # the files the plans read beside them (a request log: `requests from "traces/…"`), else they stop at E108
    shutil.copytree(ROOT / "examples" / "traces", work / "plans" / "traces")
    env = {**os.environ, "PYTHONPATH": str(checkout), "COLUMNS": "120", "NO_COLOR": "1", "PYTHONHASHSEED": "0"}
    for name, argv in _commands(examples, shown):
        if args.only and args.only not in name:
            continue
        proc = subprocess.run([sys.executable, "-m", "dagc", *argv], cwd=work, env=env,
                              capture_output=True, timeout=600)
        for suffix, data in (("stdout", proc.stdout), ("stderr", proc.stderr)):
            (out / f"{name}.{suffix}").write_bytes(_normalise(data, work) if args.normalise else data)
        (out / f"{name}.rc").write_text(f"{proc.returncode}\n")
        print(f"{name}: exit {proc.returncode}", flush=True)
    compiled = work / "compiled"
    if compiled.exists():
        for path in sorted(compiled.rglob("*")):
            if path.is_file() and args.normalise:
                path.write_bytes(_normalise(path.read_bytes(), work))
        target = out / "compiled"
        if target.exists():
            shutil.rmtree(target)
        shutil.move(str(compiled), target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
