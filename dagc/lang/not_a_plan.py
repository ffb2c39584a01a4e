"""A file given where a plan goes that is another of dagc's inputs or outputs — a model's config.json, a serving
benchmark's results, a request log, a kernel profile, a calibration, a report.json —: E002 naming what it is and where
dagc takes it (`model from "config.json"`, `dagc calibrate RUN --plan PLAN`, `requests from "log.csv"`), its content
never shown. Until 2026-12-02 such a file was E001 at its first character, its first line printed under it (a
config's or a run's whole JSON object on one line), hinted "`{ … }` opens the blocks `model`, `cluster` …".

Input: the path as given and the file's text. Output: (what the file is, the hint), or None for anything else — a
file that may be a plan written wrongly is left to the parser, whose E001 locates its mistake.
"""

from __future__ import annotations

import json
import os

from ..diagnostics import code

__all__ = ["not_a_plan"]

_AZURE = {"TIMESTAMP", "ContextTokens", "GeneratedTokens"}
_BENCHMARK = {"mean_ttft_ms", "median_ttft_ms", "p99_ttft_ms", "mean_tpot_ms", "request_throughput",
              "output_throughput", "total_token_throughput", "num_prompts", "completed"}
_HF_CONFIG = {"model_type", "architectures", "num_hidden_layers", "hidden_size"}


def _json(text: str) -> object:
    """The text read as JSON, or its first line as JSON (JSON lines: a Mooncake log, `--append-result`); None when
    neither reads."""
    for candidate in (text, text.lstrip().split("\n", 1)[0]):
        try:
            return json.loads(candidate)
        except ValueError:      # RecursionError is a RuntimeError: a deeply nested file is left to the parser
            continue
    return None


def not_a_plan(name: str, text: str) -> tuple[str, str] | None:
    """(what the file is, where dagc takes it) when `text` is recognisably no plan; None otherwise.

    Example:
        >>> not_a_plan("config.json", '{"model_type": "mixtral", "num_hidden_layers": 32}')
        ("a model's config.json (Hugging Face)", 'a plan reads the model from it: `model from "config.json"`, beside \
its `cluster`, `workload` and `strategy` (docs/language.md, "model from")')
        >>> not_a_plan("p.moe", 'model preset "mixtral-8x7b"') is None, not_a_plan("p.moe", "{ model }") is None
        (True, True)
    """
    base = os.path.basename(name) or name
    head = text.lstrip()
    if head[:1] not in ("{", "["):
        first = [c.strip().strip('"') for c in head.split("\n", 1)[0].split(",")]
        if set(first) == _AZURE and len(first) == 3:
            return ("an Azure request log", f'a plan replays it: {code(f"requests from {chr(34)}{base}{chr(34)}")} in '
                    'its `workload` (docs/language.md, "Request logs")')
        return None
    try:
        obj = _json(text)
    except RecursionError:
        return None
    if isinstance(obj, list):
        obj = obj[0] if obj else None
    keys = set(obj) if isinstance(obj, dict) else set()
    said = _said(base, keys, obj.get("format") if isinstance(obj, dict) else None)
    if said is not None:
        return said
    if obj is None:
        return None
    return ("JSON", "a plan is written in dagc's own language, not JSON: `model preset \"…\"`, `cluster { … }`, "
                    "`workload { … }`, `strategy …` (docs/language.md)")


def _said(base: str, keys: set[str], form: object) -> tuple[str, str] | None:
    """What a JSON object of `keys` (and `format`, `form`) is, and where dagc takes it; None for none of dagc's."""
    quoted = f'"{base}"'
    if {"timestamp", "input_length", "output_length"} <= keys:
        return ("a Mooncake request log", f"a plan replays it: {code(f'requests from {quoted}')} in its `workload` "
                '(docs/language.md, "Request logs")')
    if keys & _HF_CONFIG:
        return ("a model's config.json (Hugging Face)", "a plan reads the model from it: "
                f"{code(f'model from {quoted}')}, beside its `cluster`, `workload` and `strategy` (docs/language.md, "
                '"model from")')
    if len(keys & _BENCHMARK) >= 2:
        return ("a serving benchmark's results", f"{code(f'dagc calibrate {base} --plan PLAN -o cal.json')} fits "
                "dagc's engine terms on it, then `calibration from \"cal.json\"` in the plan (docs/calibrate.md)")
    if form == "dagc-kernel-profile":
        return ("a kernel profile", f"a plan's cluster reads it: {code(f'kernels from {quoted}')} (docs/kernels.md)")
    if {"terms", "fit"} <= keys:
        return ("a calibration `dagc calibrate` wrote", f"a plan reads it: {code(f'calibration from {quoted}')} "
                "(docs/calibrate.md)")
    if {"verdict", "strategy", "plan"} <= keys or {"nodes", "edges"} <= keys:
        return ("an output of `dagc compile`", "give the plan it was compiled from: the .moe file its report names")
    return None
