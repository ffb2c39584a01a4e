"""A manifest's `set` overrides, when the plan refuses one: the diagnostic located in the manifest, never echoing it.

Input: the diagnostics `dagc.lang.overrides.load_plan_with` gives for a plan read with a manifest's `set` values
(located in the option's own text, `--set:1:17`, or on a plan line an option changed), the manifest's source and
the run entry. Output: the same diagnostics located at the `set` value's string in the manifest (its line and
column, the entry named), with every piece of the value taken out of the message and hint, and a plan line the
values changed not echoed: the manifest is never echoed (docs/calibrate.md, "The manifest").
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Collection, Sequence

from ..diagnostics import Diagnostic
from ..lang.fields import (
    CLUSTER_FIELDS,
    EFFICIENCY_FIELDS,
    GPU_FIELDS,
    LATENCY_FIELDS,
    MLA_FIELDS,
    MODEL_FIELDS,
    MOE_FIELDS,
    SPECULATIVE_FIELDS,
    WINDOW_FIELDS,
    WORKLOAD_FIELDS,
)
from ..lang.load import STRATEGY_SOURCE
from ..lang.overrides import SET_SOURCE
from ..plan.workload import RequirementKind
from ..source import SourceFile

__all__ = ["in_manifest"]

# a string of TOML or JSON: basic ("…", escapes) or literal ('…'); a TOML multi-line string is not matched
_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'')
_QUOTED = re.compile(r"`[^`]*`|\"[^\"]*\"")


def _decoded(literal: str) -> str | None:
    if literal.startswith("'"):
        return literal[1:-1]
    try:
        v = json.loads(literal)
    except ValueError:
        return None
    return v if isinstance(v, str) else None


def _literal_at(src: SourceFile, option: str, after: int) -> tuple[int, bool]:
    """Where the string of `option` starts in the manifest (the first at or after `after`, the entry's start, else
    the last before it: a top-level `set`, or a JSON entry's written before its `file`), and whether its text between
    the quotes is the option's as written (no escapes: columns map one to one)."""
    found = [(m.start(), m.group()[1:-1] == option) for m in _STRING.finditer(src.text)
             if _decoded(m.group()) == option]
    if not found:
        return after, False
    return next((f for f in found if f[0] >= after), found[-1])


def _known(piece: str) -> bool:
    """Whether `piece` is a plan's field path (`workload.prompt`, `ttft_p99`), dagc's words, not the manifest's."""
    return all(part in _NAMES or re.sub(r"_p[0-9]+$", "", part) in _NAMES for part in piece.split("."))


_NAMES = frozenset({"model", "cluster", "workload", "require", "objective", "gpu", "engine", "kernels", "reserve",
                    "preset", "moe", "mla", "window", "efficiency", "latency", "speculative",
                    *MODEL_FIELDS, *MOE_FIELDS, *MLA_FIELDS, *WINDOW_FIELDS, *CLUSTER_FIELDS, *GPU_FIELDS,
                    *EFFICIENCY_FIELDS, *LATENCY_FIELDS, *WORKLOAD_FIELDS, *SPECULATIVE_FIELDS,
                    *(k.value for k in RequirementKind)})


# a unit as a plan writes one (`req/s`, `GB`, `%`): ASCII letters, digits, `%`, `$` and `/`, a short token
_UNIT_TOKEN = re.compile(r"[A-Za-z%$][A-Za-z0-9%$/]{0,23}")


def _unit_shown(d: Diagnostic) -> str:
    """The unit an E101 `unknown unit` is about, as the option writes it — the one token of a value a message may
    show, so that the user sees what was not understood — or '' (a token that is not unit-like stays hidden)."""
    if d.code != "E101" or d.span is None or not d.message.startswith("unknown unit"):
        return ""
    token = d.span.text
    return token if _UNIT_TOKEN.fullmatch(token) else ""


def _scrubbed(text: str | None, option: str, shown: str = "") -> str | None:
    """`text` with every quoted piece of the option's text (or holding its value) said `…` instead, but a plan's
    field path and `shown` (an unknown unit: `_unit_shown`): a name the option writes that dagc does not know is the
    manifest's text too."""
    value = option.split("=", 1)[1].strip() if "=" in option else option
    if text is None or not option:
        return text

    def scrub(m: re.Match[str]) -> str:
        inner = m.group()[1:-1]
        hidden = inner and inner != shown and (inner in option or bool(value) and value in inner) and not _known(inner)
        if hidden and (element := _ELEMENT.fullmatch(inner)) and _known(element["field"]) \
                and element["value"] == value:        # the option's shape, its value hidden: `"workload.rate=… s"`
            return f'{m.group()[0]}"{element["field"]}=…{element["unit"] or ""}"{m.group()[0]}'
        return f"{m.group()[0]}…{m.group()[0]}" if hidden else m.group()
    return _QUOTED.sub(scrub, text).replace(value, "…") if value else _QUOTED.sub(scrub, text)


# a `set` element in a hint's words, `"workload.rate=4 requests/s"`: a field path, a value, a unit of dagc's words
_ELEMENT = re.compile(r'"(?P<field>[A-Za-z_][A-Za-z0-9_.]*)=(?P<value>[^" ]+)(?P<unit> [A-Za-z%$/][A-Za-z0-9%$/]*)?"')

# `--set FIELD=VALUE` in a diagnostic's words (its value bare or in single quotes, as a shell takes it)
# (in backquotes, its value up to them: `--set workload.rate=4 requests/s` is one option, unquoted for the shell)
_SET_OPTION = re.compile(r"(?<=`)--set (?P<field_>[A-Za-z_][A-Za-z0-9_.]*)=(?P<ticked>[^`']*)(?=`)"
                         r"|--set (?P<field>[A-Za-z_][A-Za-z0-9_.]*)=(?:'(?P<quoted>[^']*)'|(?P<bare>[^\s`,;)]+))"
                         r"|--set '(?P<whole_field>[A-Za-z_][A-Za-z0-9_.]*)=(?P<whole>[^']*)'")


def _as_manifest(text: str | None) -> str | None:
    """A `--set` option's words as a manifest writes it: an element of its `set` list, `"workload.prompt=16"`.

    Example:
        >>> _as_manifest("for example `--set workload.prompt=16`")
        'for example `"workload.prompt=16"`'
        >>> _as_manifest("e.g. --set workload.batch=256 or --set require.ttft='2 s'")
        'e.g. "workload.batch=256" or "require.ttft=2 s"'
        >>> _as_manifest("(`req/s` is requests per second: `--set 'workload.rate=4 requests/s'`)")
        '(`req/s` is requests per second: `"workload.rate=4 requests/s"`)'
        >>> _as_manifest("`rate` is a field of the workload: `--set workload.rate=4 requests/s`")
        '`rate` is a field of the workload: `"workload.rate=4 requests/s"`'
        >>> _as_manifest("--set takes FIELD=VALUE")
        'not of the form "FIELD=VALUE"'
    """
    if text is None:
        return None
    text = text.replace("--set takes FIELD=VALUE", 'not of the form "FIELD=VALUE"')
    def element(m: re.Match[str]) -> str:
        if m["field_"] is not None:
            return f'"{m["field_"]}={m["ticked"]}"'
        if m["whole_field"] is not None:
            return f'"{m["whole_field"]}={m["whole"]}"'
        return f'"{m["field"]}={m["quoted"] if m["quoted"] is not None else m["bare"]}"'
    return _SET_OPTION.sub(element, text)


def in_manifest(diags: Sequence[Diagnostic], manifest: SourceFile, entry_at: int, k: int,
                options: Sequence[str], strategy: str | None = None,
                bare: Collection[tuple[str, str]] | None = None) -> list[Diagnostic]:
    """`diags` of the plan of run entry `k` (at `entry_at`), read with the manifest's `set` values `options` and its
    `strategy`, located in the manifest where they are an option's or the strategy's (its string: the strategy's
    own E302, E401, … as `dagc check --strategy` gives them), never echoing a value (module docstring). `bare`: the
    (code, message) of the plan's diagnostics without the values; one of the plan's lines the values did not write
    but caused (`cluster.gpus=1` beside `strategy tp 2`: E401 at the strategy) names the entry, which until
    2026-11-30 it did not: `the cluster has 1` of a plan that says `gpus = 2`, whichever of the entries set it."""
    out = []
    for d in diags:
        src = d.span.source if d.span is not None else None
        if d.span is not None and src is not None and src.path == STRATEGY_SOURCE and src.text == strategy:
            at, exact = _literal_at(manifest, strategy, entry_at)
            start, end = (at + 1 + d.span.start, at + 1 + d.span.end) if exact else (at, at + 1)
            out.append(dataclasses.replace(d, message=f"run entry {k}: its `strategy`: {d.message}",
                                           span=manifest.span(start, end)))
        elif d.span is not None and src is not None and src.path == SET_SOURCE and src.text in options:
            option = src.text
            at, exact = _literal_at(manifest, option, entry_at)
            start = at + 1 + d.span.start if exact else at
            end = at + 1 + d.span.end if exact else at + 1
            unit = _unit_shown(d)
            # written as a `set` element first: an option's words (`--set takes …`) are no piece of its value, even
            # where the value is `--set` (`set = ["--set", "…"]`, the command line copied)
            message = _scrubbed(_as_manifest(d.message), option, unit) or ""
            out.append(dataclasses.replace(d, message=f"run entry {k}: a `set` value: {message}",
                                           span=manifest.span(start, end),
                                           hint=_scrubbed(_as_manifest(d.hint), option, unit)))
        elif d.span is not None and src is not None and src.overrides and src.changed_line(d.span.line):
            # a plan line the manifest's values wrote into: located, not echoed
            quiet = dataclasses.replace(src, echo=False)
            message, hint = d.message, d.hint
            for option in options:
                message, hint = _scrubbed(message, option) or "", _scrubbed(hint, option)
            out.append(dataclasses.replace(d, message=message, hint=hint, span=quiet.span(d.span.start, d.span.end)))
        elif bare is not None and (d.code, d.message) not in bare:
            out.append(dataclasses.replace(d, message=f"run entry {k}: its plan, read with the manifest's `set` "
                                                      f"values: {d.message}"))
        else:
            out.append(d)
    return out
