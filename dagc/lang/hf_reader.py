"""The reader of a Hugging Face config.json's whole numbers (`dagc.lang.hf`): each against the range of the plan
field it becomes, a diagnostic per missing or bad key, pointing at the key in the file."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path

from ..diagnostics import Diagnostic, Severity, quote
from ..source import SourceFile, Span
from .fields import Field

__all__ = ["MAX_JSON_INT_DIGITS", "HfReader", "at_least_one", "key_span", "parse_int"]

# ERNIE-4.5-VL's keys written as a pair, the text experts' then the vision experts'
MODALITY_PAIRS = ("moe_num_experts", "moe_intermediate_size", "moe_layer_start_index", "moe_layer_end_index")
MAX_JSON_INT_DIGITS = 30    # longer integer literals in a config are not converted; they are out of range (E104)


class _HugeInt:
    """An integer literal too long to convert: out of every range, never turned into an int."""

    def __repr__(self) -> str:
        return "<huge integer>"


def parse_int(text: str) -> int | _HugeInt:
    return _HugeInt() if len(text) > MAX_JSON_INT_DIGITS else int(text)


def _kind_of(value: object) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, float):
        return "a number with a fraction" if math.isfinite(value) else "NaN or infinity"
    names: dict[type, str] = {str: "a string", list: "a list", dict: "an object"}
    return names.get(type(value), "not a number")


def key_span(src: SourceFile, key: str, fallback: Span) -> Span:
    m = re.search(r'"' + re.escape(key) + r'"\s*:', src.text)
    return src.span(m.start(), m.start() + len(key) + 2) if m else fallback


def at_least_one(field: Field) -> Field:
    return replace(field, lo=max(field.lo, 1))


class HfReader:
    """Reads the config's integers, each against the range of the plan field it becomes,
    collecting a diagnostic per missing or bad key."""

    def __init__(self, cfg: dict[str, object], src: SourceFile, at: Span):
        self.cfg, self.src, self.at = cfg, src, at
        self.diags: list[Diagnostic] = []
        self.name = quote(Path(src.path).name)

    def error(self, code: str, message: str, key: str, hint: str | None = None) -> None:
        """A diagnostic pointing at `key` in the config (or at the `model from` statement)."""
        self.diags.append(Diagnostic(code, Severity.ERROR, message, key_span(self.src, key, self.at), hint))

    def need(self, key: str, field: Field) -> int:
        """The whole number at `key`, which the config must state: 0 after a diagnostic (no fields are kept)."""
        if self.cfg.get(key) is None:
            self.diags.append(Diagnostic("E103", Severity.ERROR, f"`{self.name}` has no `{key}`", self.at,
                                         f"add `{key}` to the config, or write the model out in full"))
            return 0
        return self.count(key, field, 0)

    def count(self, key: str, field: Field, default: int) -> int:
        """`integer` with a whole number for `default`: that, too, after a diagnostic (no fields are kept)."""
        value = self.integer(key, field, default)
        return default if value is None else value

    def integer(self, key: str, field: Field, default: int | None = None, value: object = None) -> int | None:
        """The whole number at `key` (or `value`, read from it) in `field`'s range; `default` when unstated, None after
        a diagnostic."""
        value = self.cfg.get(key) if value is None else value
        if value is None:
            return default
        span = key_span(self.src, key, self.at)
        if isinstance(value, float) and value.is_integer():       # `1e+30`, `48.0`: a whole number written so
            value = int(value) if abs(value) < 10 ** MAX_JSON_INT_DIGITS else _HugeInt()
        if isinstance(value, _HugeInt) or (isinstance(value, int) and not isinstance(value, bool)
                                           and not field.lo <= value <= field.hi):
            self.diags.append(Diagnostic("E104", Severity.ERROR,
                                         f"`{key}` is out of range: dagc accepts {field.lo:,.0f} to {field.hi:,.0f}",
                                         span, "is this the model's config.json? else write the model out in full"))
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.diags.append(Diagnostic("E104", Severity.ERROR,
                                         f"`{key}` must be a whole number, not {_kind_of(value)}", span,
                                         f"write `\"{key}\": <whole number>` in the config"))
            return None
        return value

    def uniform(self, key: str, field: Field, default: int | None = None) -> int | None:
        """`integer`, or a list of one whole number per layer (Hunyuan's `moe_topk`, `num_shared_expert`) that holds
        the same number on every layer; a list that varies is E101 at `key`: dagc states one value for every layer."""
        value = self.cfg.get(key)
        if not isinstance(value, list) or not value:
            return self.integer(key, field, default)
        first = value[0]
        if any(type(v) is not type(first) or v != first for v in value) and key in MODALITY_PAIRS and len(value) == 2:
            self.error("E101", f"`{key}` holds the text and the vision experts' values (ERNIE-4.5-VL), which differ: "
                       "dagc costs one set of experts", key, "write the model out in full with the text experts' "
                       "(`moe { experts = …  top_k = …  ffn = … }`): the vision experts are then left out of memory")
            return None
        if any(type(v) is not type(first) or v != first for v in value):
            self.error("E101", f"`{key}` varies from layer to layer, which dagc cannot state", key,
                       "dagc states one value for every MoE layer: write the model out in full with the value most of "
                       "its layers take")
            return None
        return self.integer(key, field, default, first)
