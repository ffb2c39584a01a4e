"""Time and peak memory of reading hostile request logs at the caps (`requests from "…"`, dagc.lang.request_log).

Run: python bench/bench_request_log_caps.py [--mib M] [--case NAME ...]

Each case writes one log of about M MiB (default 255, just under the 256 MiB cap) into a temporary directory
(removed after) and reads it in a child process, as `dagc check` does (bounded read, decode, parse, check):
- `braces`: lines of `{}` (a JSON object, no field): far more lines than the request cap;
- `empty`: empty lines only;
- `short`: 11 million short Azure lines (`1,1,1`);
- `reordered`: a valid Mooncake log of 2,000,000 requests with its keys in another order than Mooncake writes
  them (so the one-regular-expression fast path does not apply), hash ids filling the bytes.
Printed per case: the file's size, what the read gave (requests or the diagnostic's first words), the wall
time and the child's peak RSS (`ru_maxrss`). The target: every case within seconds and a small multiple of
the byte cap, and the refusals before a per-line object exists.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHILD = """
import sys
from pathlib import Path
from dagc.lang.request_log import LogError, _read_bounded, parse_request_log
path = Path(sys.argv[1])
try:
    print(f"{parse_request_log(_read_bounded(path), path.name).requests:,} requests")
except LogError as exc:
    print(f"E108 line {exc.line}: {exc.message[:60]}")
"""


def write_repeated(path: Path, line: bytes, size: int) -> None:
    block = line * (4 << 20 // max(1, len(line)))
    with open(path, "wb") as f:
        written = 0
        while written + len(block) <= size:
            f.write(block)
            written += len(block)
        f.write(line * ((size - written) // len(line)))


def write_reordered(path: Path, size: int) -> None:
    lines = 2_000_000
    rng = np.random.default_rng(0)
    per_line = size // lines
    ids_per_line = max(1, (per_line - 80) // 10)          # 8-digit ids, ", " between
    ms = np.cumsum(rng.integers(0, 1_000, lines)).tolist()
    output = rng.integers(1, 2_000, lines).tolist()
    with open(path, "w") as f:
        next_id = 10_000_000
        for t, o in zip(ms, output, strict=True):
            ids = ", ".join(str(i) for i in range(next_id, next_id + ids_per_line))
            next_id += ids_per_line
            f.write(f'{{"hash_ids": [{ids}], "output_length": {o}, "input_length": {ids_per_line * 512}, '
                    f'"timestamp": {t}}}\n')


def run(path: Path) -> tuple[str, float, float]:
    t0 = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    out, err = child.stdout.read(), child.stderr.read()      # type: ignore[union-attr]
    _, _, usage = os.wait4(child.pid, 0)                     # this child's own peak, not the largest so far
    child.returncode = 0
    seconds = time.perf_counter() - t0
    said = out.strip() or (err.strip().splitlines() or ["(nothing)"])[-1]
    return said, seconds, usage.ru_maxrss / 2**10           # KiB → MiB (Linux)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mib", type=int, default=255)
    ap.add_argument("--case", nargs="*", default=["braces", "empty", "short", "reordered"])
    args = ap.parse_args()
    size = args.mib << 20
    with tempfile.TemporaryDirectory() as tmp:
        for case in args.case:
            path = Path(tmp) / ("log.jsonl" if case in ("braces", "reordered") else "log.csv")
            match case:
                case "braces":
                    write_repeated(path, b"{}\n", size)
                case "empty":
                    write_repeated(path, b"\n", size)
                case "short":
                    path.write_bytes(b"TIMESTAMP,ContextTokens,GeneratedTokens\n" + b"1,1,1\n" * 11_000_000)
                case "reordered":
                    write_reordered(path, size)
            said, seconds, peak_mib = run(path)
            print(f"{case:10s} {path.stat().st_size / 2**20:6.1f} MiB  {seconds:6.2f} s  peak {peak_mib:7.0f} MiB  "
                  f"{said}", flush=True)
            os.unlink(path)


if __name__ == "__main__":
    main()
