"""Seconds to read a request log of a million lines (`workload { requests from "…" }`, dagc.lang.request_log).

Run: python bench/bench_request_log.py [--lines N] [--repeat R]

Two logs of N lines are written into a temporary directory (removed after): an Azure LLM inference trace
CSV (`TIMESTAMP,ContextTokens,GeneratedTokens`, timestamps like the 2023 release's, 100 µs to 1 s apart)
and a Mooncake JSONL trace (a millisecond timestamp, lengths, and one hash id per 512-token block, the
first shared by every request as in the FAST25 conversation trace), prompts of 100 to 16,000 tokens
drawn from seed 0. Printed per format: the file's size and the best wall time of R reads — opening,
bounded reading, decoding, parsing and checking every line, as `dagc check` does — and lines per second.
The target: a million lines in a few seconds.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from dagc.lang.request_log import _read_bounded, parse_request_log


def write_azure(path: Path, lines: int, rng: np.random.Generator) -> None:
    start = np.datetime64("2023-11-16T18:17:03.9799600", "ns")
    gaps = rng.integers(100_000, 1_000_000_000, lines)              # 100 µs to 1 s, in ns
    stamps = np.datetime_as_string(start + np.cumsum(gaps).astype("timedelta64[ns]"), unit="ns")
    prompt, output = rng.integers(100, 16_000, lines), rng.integers(1, 2_000, lines)
    rows = (f"{s[:10]} {s[11:27]},{p},{o}" for s, p, o in zip(stamps, prompt.tolist(), output.tolist(), strict=True))
    path.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n" + "\n".join(rows) + "\n")


def write_mooncake(path: Path, lines: int, rng: np.random.Generator) -> None:
    ms = np.cumsum(rng.integers(0, 1_000, lines))
    prompt, output = rng.integers(100, 16_000, lines).tolist(), rng.integers(1, 2_000, lines).tolist()
    rows, next_id = [], 1
    for t, p, o in zip(ms.tolist(), prompt, output, strict=True):
        blocks = -(-p // 512)
        ids = [0, *range(next_id, next_id + blocks - 1)]
        next_id += blocks - 1
        rows.append(f'{{"timestamp": {t}, "input_length": {p}, "output_length": {o}, "hash_ids": {ids}}}')
    path.write_text("\n".join(rows) + "\n")


def seconds_to_read(path: Path, repeat: int) -> tuple[float, int]:
    best, requests = float("inf"), 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        log = parse_request_log(_read_bounded(path), path.name)
        best = min(best, time.perf_counter() - t0)
        requests = log.requests
    return best, requests


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, numpy {np.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, write in (("azure.csv", write_azure), ("mooncake.jsonl", write_mooncake)):
            path = Path(tmp) / name
            write(path, args.lines, np.random.default_rng(0))
            seconds, requests = seconds_to_read(path, args.repeat)
            size = path.stat().st_size / 2**20
            print(f"{name:15s} {requests:>10,} requests  {size:7.1f} MiB  {seconds:6.2f} s  "
                  f"{requests / seconds:>12,.0f} lines/s")


if __name__ == "__main__":
    main()
