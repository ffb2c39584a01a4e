"""The routing statistics' shipped tables (`dagc.layout.routing`), read once, on first use.

Input: a routing (top_k, experts, EP size) and, for `exact_table_value`, a token count. Output: what
bench/make_routing_table.py computed for the built-in models' and the examples' routings, every EP size:
the large-T coefficients (`ROUTING_TABLE`) and the exact model's expected maximum load at every token
count up to T_switch (`EXACT_TABLE`, `EXACT_VALUES`), the very bits `routing.max_load_exact` gives.
"""

from __future__ import annotations

import functools
import io
import json
from importlib import resources

import numpy as np
import numpy.typing as npt

__all__ = ["ROUTING_TABLE", "EXACT_TABLE", "EXACT_VALUES", "routing_table", "exact_table", "exact_table_value"]

# The (T_switch, A, B) of the routings of the built-in models and the examples, for every EP size: the
# exact model at T_switch (~20 ms per EP size of DeepSeek-V3), computed once by bench/make_routing_table.py
# and checked against `large_t_coefficients` by tests/test_routing_math.py. Floats as `float.hex`: the very bits.
ROUTING_TABLE = "routing_large_t.json"
# `max_load_exact` at T = 1 … T_switch of the same routings (a few milliseconds each near T_switch, tens of
# them in a check whose load simulation sees many batch sizes): which routing sits where (JSON), and the
# float64 values (little-endian .npy).
EXACT_TABLE = "routing_exact.json"
EXACT_VALUES = "routing_exact.npy"


def _data(name: str) -> resources.abc.Traversable:
    return resources.files("dagc").joinpath("data", name)


@functools.lru_cache(maxsize=1)
def routing_table() -> dict[tuple[int, int, int], tuple[int, float, float]]:
    """`ROUTING_TABLE` by (top_k, experts, ep): (T_switch, A, B)."""
    text = _data(ROUTING_TABLE).read_text(encoding="utf-8")
    return {(r["top_k"], r["experts"], r["ep"]): (r["switch"], float.fromhex(r["a"]), float.fromhex(r["b"]))
            for r in json.loads(text)["rows"]}


@functools.lru_cache(maxsize=1)
def exact_table() -> dict[tuple[int, int, int], npt.NDArray[np.float64]]:
    """`EXACT_TABLE` by (top_k, experts, ep): the expected maximum loads at T = 1, 2, … (index T − 1)."""
    rows = json.loads(_data(EXACT_TABLE).read_text(encoding="utf-8"))["rows"]
    values = np.load(io.BytesIO(_data(EXACT_VALUES).read_bytes()), allow_pickle=False)
    values.flags.writeable = False
    return {(r["top_k"], r["experts"], r["ep"]): values[r["offset"]:r["offset"] + r["count"]] for r in rows}


def exact_table_value(tokens: int, top_k: int, experts: int, ep: int) -> float | None:
    """The shipped `max_load_exact(tokens, top_k, experts, ep)`, None when the table does not hold it."""
    kept = exact_table().get((top_k, experts, ep))
    if kept is None or not 1 <= tokens <= len(kept):
        return None
    return float(kept[tokens - 1])
