"""The cluster's `engine` field: which serving engine, at which release (docs/language.md, "engine").

Input: the value written (`engine = vllm`, `engine = vllm@0.33.0`, `engine = "sglang@0.5.23"`, a build of
a release with PEP 440's local label, `engine = vllm@0.33.0+cu12`, read as its release; or nothing) and the
cluster's kernel profile. Output: the `Engine` (`dagc.plan.engines.engine_of`, the one place a name and
release become one), or BAD with the reason in the `Collector` (E101: an unknown engine, an unknown
release). A plan that names no engine serves with the engine its kernel profile was
measured in (a profile imported from an engine's tables, `dagc.kernels.engine_import.profile_engine`),
else with `DEFAULT_ENGINE`.
"""

from __future__ import annotations

import dataclasses
import re
from typing import cast

from ..diagnostics import Diagnostic, code
from ..kernels.engine_import import profile_engine
from ..kernels.kernels import KernelProfile
from ..plan.engines import (
    DEFAULT_ENGINE,
    ENGINE_NAMES,
    ENGINE_SAID,
    SERIES,
    Engine,
    EngineName,
    engine_of,
    known_release,
)
from ..plan.plan import Plan
from ..source import Span
from .blocks import Bad, Collector
from .fields import nearest

__all__ = ["default_engine", "engine_chosen", "engine_line_hint", "engine_written_otherwise", "lower_engine",
           "profile_engine_of", "with_engine_hint"]

# A local version label as PEP 440 writes it after `+` (`+cu12`, `+rocm6.2`): a build of the public release
# for one platform, whose figures are the release's (https://peps.python.org/pep-0440/#local-version-identifiers).
_LOCAL = re.compile(r"[A-Za-z0-9]+(?:[-_.][A-Za-z0-9]+)*")

# an engine and its release written as other tools write them: `sglang 0.5.6`, `sglang==0.5.6`, `vllm-0.11.0`,
# `vllm v0.11.0`, `vllm@v0.11.0`
_OTHERWISE = re.compile(r"(?<![\w.-])(?P<name>[A-Za-z][A-Za-z_-]*?)(?:[ \t]*(?:==|=|@)[ \t]*|[ \t]+|-)v?"
                        r"(?P<release>[0-9][0-9A-Za-z.+]*)")
_ENGINE_EQUALS = re.compile(r"\bengine[ \t]*=[ \t]*")


def engine_written_otherwise(written: str) -> str | None:
    """`sglang@0.5.6` for an engine and release written as other tools write them (`sglang 0.5.6`, `sglang==0.5.6`,
    `vllm-0.11.0`, `vllm v0.11.0`, `vllm@v0.11.0`), None for anything else (`vllm@0.11.0` itself too).

    Example:
        >>> engine_written_otherwise("sglang==0.5.6"), engine_written_otherwise("vllm@v0.11.0")
        ('sglang@0.5.6', 'vllm@0.11.0')
        >>> engine_written_otherwise("vllm@0.11.0"), engine_written_otherwise("foo 1.0")
        (None, None)
    """
    m = _OTHERWISE.fullmatch(written.strip())
    if m is None or m["name"].lower() not in ENGINE_NAMES:
        return None
    said = f"{m['name'].lower()}@{m['release']}"
    return None if said == written.strip() else said


def engine_line_hint(text: str, pos: int) -> str | None:
    """The hint for a plan whose parser stopped at `pos` inside an unquoted `engine = sglang 0.5.6` (a release written
    as other tools write it, `engine_written_otherwise`); None for any other place.

    Example:
        >>> engine_line_hint("cluster { engine = sglang 0.5.6 }", 29)
        "an engine's release follows `@`: `engine = sglang@0.5.6`"
    """
    start = text.rfind("\n", 0, pos) + 1
    found = list(_ENGINE_EQUALS.finditer(text, start, pos))
    m = _OTHERWISE.match(text, found[-1].end()) if found else None
    meant = engine_written_otherwise(m.group()) if m is not None and m.end() >= pos else None
    return None if meant is None else f"an engine's release follows `@`: `engine = {meant}`"


def with_engine_hint(text: str, d: Diagnostic) -> Diagnostic:
    """`d`, a syntax error, with the hint `engine_line_hint` gives where it stands (a word after `engine = vllm`:
    `vllm v0.11.0`), else as it is."""
    hint = engine_line_hint(text, d.span.start) if d.span is not None else None
    return dataclasses.replace(d, hint=hint) if hint else d


def lower_engine(out: Collector, written: str | Bad | None, span: Span | None) -> Engine | None | Bad:
    """The engine the cluster names (`written`: `name` or `name@release`, written at `span`), None when it
    names none (`default_engine`), BAD when it names one dagc does not know (E101)."""
    if written is None or isinstance(written, Bad):
        return written
    name, at, release = written.partition("@")
    known = ", ".join(f"`{n}`" for n in ENGINE_NAMES)
    if (meant := engine_written_otherwise(written)) is not None:
        what = f"release {code(release)} of {ENGINE_SAID[name]}" if at and name in ENGINE_NAMES else \
            f"engine {code(written)}"
        return out.error("E101", f"unknown {what}", span,
                         f"an engine's release follows `@`: `engine = {meant}`")
    if name not in ENGINE_NAMES:
        best = nearest(name, ENGINE_NAMES, {"tensorrt-llm": "trtllm", "tensorrt": "trtllm", "trt-llm": "trtllm",
                                             "torch": "pytorch"})
        return out.error("E101", f"unknown engine {code(name)}", span,
                         (f"did you mean `{best}`? " if best else "") + f"the engines dagc knows: {known}")
    engine: EngineName = name          # narrowed: one of ENGINE_NAMES
    if not at:
        return engine_of(engine)
    public, plus, local = release.partition("+")
    if plus and _LOCAL.fullmatch(local):     # `0.33.0+cu12`: a build of 0.33.0 (PEP 440's local version label)
        release = public
    if not SERIES[engine]:
        return out.error("E101", f"`{engine}` has no releases: it is dagc's own reference", span,
                         f"write `engine = {engine}`")
    if not known_release(engine, release):
        return out.error("E101", f"unknown release {code(release)} of {ENGINE_SAID[engine]}", span,
                         f"the {ENGINE_SAID[engine]} releases dagc knows: {series_said(engine)} "
                         f"(e.g. `engine = {engine}@{engine_of(engine).release}`); `engine = {engine}` is "
                         f"{engine_of(engine).release}, the release dagc prices by default")
    return engine_of(engine, release)


def series_said(engine: EngineName) -> str:
    """The release series dagc knows of `engine`, consecutive ones as a range, newest first.

    Example:
        >>> series_said("trtllm"), series_said("vllm")
        ('1.0–1.3, 0.5–0.21', '0.6–0.33')
    """
    runs: list[list[tuple[int, int]]] = []
    for major, minor in sorted((tuple(int(x) for x in s.split(".")) for s in SERIES[engine]), reverse=True):
        if runs and runs[-1][-1] == (major, minor + 1):
            runs[-1].append((major, minor))
        else:
            runs.append([(major, minor)])
    return ", ".join(f"{r[-1][0]}.{r[-1][1]}" + (f"–{r[0][0]}.{r[0][1]}" if len(r) > 1 else "") for r in runs)


def default_engine(profile: KernelProfile | None) -> Engine:
    """The engine of a cluster that names none: its kernel profile's (`profile_engine_of`), else `DEFAULT_ENGINE`."""
    return profile_engine_of(profile) or engine_of(DEFAULT_ENGINE)


def profile_engine_of(profile: KernelProfile | None) -> Engine | None:
    """The engine a kernel profile was measured in (one imported from aiconfigurator-core's tables,
    whose provenance names the engine and its release), at that release when dagc knows it; None for
    any other profile.

    Example:
        >>> from dagc.kernels.kernels import builtin_profile
        >>> profile_engine_of(builtin_profile("h100-sxm")) is None
        True
    """
    if profile is None:
        return None
    source = profile.provenance.source
    name = profile_engine(source)
    if name is None:
        return None
    engine = cast(EngineName, name)
    release = source.rsplit(" ", 1)[-1]
    return engine_of(engine, release if known_release(engine, release) else None)


def engine_chosen(plan: Plan) -> bool:
    """Whether the plan chose its engine — named it (`engine = …`, `--set cluster.engine=…`) or imported a
    kernel profile measured in it — rather than taking `DEFAULT_ENGINE` (`dagc.launch.engine_check`)."""
    kernels = plan.cluster.kernels
    return "cluster.engine" in plan.spans or (isinstance(kernels, KernelProfile) and profile_engine_of(kernels)
                                              is not None)
