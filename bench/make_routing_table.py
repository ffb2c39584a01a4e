"""Compute the routing statistics' large-T coefficients of the built-in models and the examples into
dagc/data/routing_large_t.json (`dagc.layout.routing.ROUTING_TABLE`).

Usage: python bench/make_routing_table.py

For every (top_k, experts) of the model presets and of the models written in examples/, and every EP
size that divides the experts (balanced routings aside), `dagc.layout.routing.large_t_coefficients`: the
exact model of the expected maximum load at T_switch, refitted into 1 + A/√T + B/T. dagc reads
them from the table instead of computing them (~20 ms per EP size of a top-8 routing over 256
experts); tests/test_routing_math.py recomputes every row. The output is deterministic.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from dagc.lang.load import load_plan
from dagc.lang.model import model_from_preset
from dagc.layout.routing import ROUTING_TABLE, _balanced, large_t_coefficients
from dagc.plan.presets import MODEL_PRESETS

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "dagc" / "data" / ROUTING_TABLE


def routings() -> list[tuple[int, int]]:
    """(top_k, experts) of every built-in model and of every example's model."""
    models = [model_from_preset(name) for name in MODEL_PRESETS]
    models += [load_plan(p).model for p in sorted((ROOT / "examples").glob("*.moe"))]
    return sorted({(m.moe.top_k, m.moe.experts) for m in models if m.has_experts})


def rows() -> list[dict]:
    out = []
    for top_k, experts in routings():
        for ep in range(2, experts + 1):
            if experts % ep or _balanced(top_k, experts, ep):
                continue
            switch, a, b = large_t_coefficients(top_k, experts, ep)
            out.append({"top_k": top_k, "experts": experts, "ep": ep, "switch": switch, "a": a.hex(), "b": b.hex()})
    return out


def main() -> None:
    table = {"about": "dagc.layout.routing.large_t_coefficients of the built-in models' and the examples' routings "
                      "(bench/make_routing_table.py); a and b as float.hex", "rows": rows()}
    lines = ",\n".join("  " + json.dumps(r) for r in table["rows"])      # a row a line
    OUT.write_text(f'{{"about": {json.dumps(table["about"])},\n "rows": [\n{lines}\n]}}\n', encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}: {len(table['rows'])} rows", file=sys.stderr)


if __name__ == "__main__":
    main()
