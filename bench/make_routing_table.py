"""Compute the routing statistics' large-T coefficients of the built-in models and the examples into
dagc/data/routing_large_t.json (`dagc.layout.routing_data.ROUTING_TABLE`), and the exact model's expected maximum
load at every token count up to T_switch into dagc/data/routing_exact.json and routing_exact.npy
(`dagc.layout.routing_data.EXACT_TABLE`).

Usage: python bench/make_routing_table.py [--jobs N]   (the exact values: ~1,000 CPU s, N processes share them)

For every (top_k, experts) of the model presets and of the models written in examples/, and every EP
size that divides the experts (balanced routings aside), `dagc.layout.routing.large_t_coefficients`: the
exact model of the expected maximum load at T_switch, refitted into 1 + A/√T + B/T. dagc reads
them from the table instead of computing them (~20 ms per EP size of a top-8 routing over 256
experts), and the exact values (~3 ms each, tens of distinct token counts in a check with traffic);
tests/test_routing_math.py recomputes every row of the first and samples the second. The output is deterministic.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from dagc.lang.load import load_plan
from dagc.lang.model import model_from_preset
from dagc.layout.routing import _balanced, _switch_tokens, large_t_coefficients, max_load_exact
from dagc.layout.routing_data import EXACT_TABLE, EXACT_VALUES, ROUTING_TABLE
from dagc.plan.presets import MODEL_PRESETS

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "dagc" / "data" / ROUTING_TABLE
DATA = ROOT / "dagc" / "data"


def routings() -> list[tuple[int, int]]:
    """(top_k, experts) of every built-in model and of every example's model."""
    models = [model_from_preset(name) for name in MODEL_PRESETS]
    models += [load_plan(p).model for p in sorted((ROOT / "examples").glob("*.moe"))]
    return sorted({(m.moe.top_k, m.moe.experts) for m in models if m.has_experts})


def splits() -> list[tuple[int, int, int]]:
    """(top_k, experts, ep) of every routing of `routings` and EP size that divides its experts (balanced aside)."""
    return [(top_k, experts, ep) for top_k, experts in routings() for ep in range(2, experts + 1)
            if not experts % ep and not _balanced(top_k, experts, ep)]


def rows() -> list[dict]:
    out = []
    for top_k, experts, ep in splits():
        switch, a, b = large_t_coefficients(top_k, experts, ep)
        out.append({"top_k": top_k, "experts": experts, "ep": ep, "switch": switch, "a": a.hex(), "b": b.hex()})
    return out


def _exact(split: tuple[int, int, int]) -> list[float]:
    top_k, experts, ep = split
    return [max_load_exact(t, top_k, experts, ep) for t in range(1, _switch_tokens(top_k) + 1)]


def exact_values(jobs: int) -> tuple[list[dict], np.ndarray]:
    """`max_load_exact` at T = 1 … T_switch of every split: the index rows and the values one after another."""
    keys = splits()
    with ProcessPoolExecutor(jobs) as pool:
        columns = list(pool.map(_exact, keys))
    index, offset = [], 0
    for (top_k, experts, ep), values in zip(keys, columns, strict=True):
        index.append({"top_k": top_k, "experts": experts, "ep": ep, "offset": offset, "count": len(values)})
        offset += len(values)
    return index, np.array([v for c in columns for v in c], dtype="<f8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args()
    table = {"about": "dagc.layout.routing.large_t_coefficients of the built-in models' and the examples' routings "
                      "(bench/make_routing_table.py); a and b as float.hex", "rows": rows()}
    lines = ",\n".join("  " + json.dumps(r) for r in table["rows"])      # a row a line
    OUT.write_text(f'{{"about": {json.dumps(table["about"])},\n "rows": [\n{lines}\n]}}\n', encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}: {len(table['rows'])} rows", file=sys.stderr)
    index, values = exact_values(args.jobs)
    about = ("dagc.layout.routing.max_load_exact at T = 1 … T_switch of the built-in models' and the examples' "
             "routings (bench/make_routing_table.py): values[offset + T − 1] in routing_exact.npy")
    lines = ",\n".join("  " + json.dumps(r) for r in index)
    (DATA / EXACT_TABLE).write_text(f'{{"about": {json.dumps(about)},\n "rows": [\n{lines}\n]}}\n', encoding="utf-8")
    np.save(DATA / EXACT_VALUES, values, allow_pickle=False)
    print(f"wrote {EXACT_TABLE} and {EXACT_VALUES}: {len(values)} values", file=sys.stderr)


if __name__ == "__main__":
    main()
