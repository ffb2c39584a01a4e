"""The `calibration from "cal.json"` statement: engine terms fitted by `dagc calibrate` (docs/calibrate.md).

Input: the statement's path (relative to the plan's directory, inside it or an `--allow-path` directory), and,
once lowered, the plan's model and cluster. Output: a frozen `Calibration` (`read_calibration`), and the cluster
with its engine's terms replaced by the file's (`calibrated_cluster`), or E109 located at the path in the plan:
a file missing, not regular, over `MAX_CALIBRATION_BYTES`, not UTF-8 JSON, not a calibration of this format, a
key out of range, or fitted on another engine, release series, GPU or model than the plan's. The file is never
echoed: messages name the key at fault.

The file's fields are documented in docs/calibrate.md; `CalibrationFile` is their schema, which
`dagc.calibrate` writes with.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Literal, cast

from pydantic import Field, ValidationError, field_validator

from ..diagnostics import PlanError, code, path_word, quote
from ..plan.base import Frozen
from ..plan.calibration import (
    CALIBRATION_FORMAT,
    CALIBRATION_QUANTITIES,
    SERVINGS,
    CalibratedRange,
    Calibration,
    quantity_of,
)
from ..plan.cluster import Cluster
from ..plan.engines import ENGINE_TERMS, SERIES, EngineName, EngineTerms, known_release
from ..plan.model import Model
from ..plan.plan import Plan
from ..plan.presets import GPU_PRESETS, MODEL_PRESETS
from ..source import Span
from .blocks import BAD, Bad, Collector
from .model import ImportRoots
from .near_file import in_directory, near_file
from .parse import MAX_PLAN_BYTES, read_source
from .validation_words import problem

__all__ = ["CALIBRATION_CODE", "KV_SHARE_TERM", "MAX_CALIBRATION_BYTES", "MAX_RESIDUAL", "MAX_TIME_SCALE",
           "MIN_TIME_SCALE", "TERM_BOUNDS", "TERM_NAMES", "CalibrationFile", "CalibrationRun", "calibrated_cluster",
           "per_step_terms", "read_calibration", "uncalibrated_cluster"]

CALIBRATION_CODE = "E109"
MAX_CALIBRATION_BYTES = MAX_PLAN_BYTES      # 1 MiB: a calibration of 1,000 runs is about 0.5 MB
MAX_RESIDUAL = 10.0                          # |ln(dagc / measured)|: e^10 ≈ 22,000× apart is no residual
MAX_STEP_S = 1.0                             # host time per engine step; a second is no engine's
MAX_STEP_REQUEST_S = 5e-3                    # host time per request of a step: 1,000 requests, 5 s a step
MAX_FRONTEND_S = 60.0                        # per request before its first token
MIN_TIME_SCALE, MAX_TIME_SCALE = 0.2, 5.0    # a kernel-time multiplier: 5× faster or slower than profiled at most
TERM_NAMES = ("step_s", "frontend_s", "compute_time_scale", "memory_time_scale", "step_request_s")   # its terms
KV_SHARE_TERM = "kv_cache_share"              # not fitted with them: before them, from the offline bursts
TERM_BOUNDS = {"step_s": (0.0, MAX_STEP_S), "frontend_s": (0.0, MAX_FRONTEND_S),       # each term's, closed
               "step_request_s": (0.0, MAX_STEP_REQUEST_S),
               "compute_time_scale": (MIN_TIME_SCALE, MAX_TIME_SCALE),
               "memory_time_scale": (MIN_TIME_SCALE, MAX_TIME_SCALE)}
_HINT = "make the file with `dagc calibrate` (docs/calibrate.md)"


class _Strict(Frozen):
    pass


class Terms(_Strict):
    step_s: float = Field(ge=0.0, le=MAX_STEP_S)
    frontend_s: float = Field(ge=0.0, le=MAX_FRONTEND_S)
    # kernel-time multipliers (a file written before them has none: 1, the profile's times)
    compute_time_scale: float = Field(default=1.0, ge=MIN_TIME_SCALE, le=MAX_TIME_SCALE)
    memory_time_scale: float = Field(default=1.0, ge=MIN_TIME_SCALE, le=MAX_TIME_SCALE)
    # host time per request of a step (a file written before it has none: the engine's own)
    step_request_s: float | None = Field(default=None, ge=0.0, le=MAX_STEP_REQUEST_S)
    # the share of what the rest leaves that the engine's KV cache held (a file written before it has none: 1)
    kv_cache_share: float = Field(default=1.0, gt=0.0, le=1.0)


class CalibrationRun(_Strict):
    """One measured run as the calibration used it: its traffic, what it measured and dagc's figures at the
    fitted terms and at the terms fitted without it (`cross_validated`), keyed as `dagc.calibrate.runs`."""

    id: str = Field(min_length=1, max_length=300)
    file: str = Field(max_length=300)
    tool: str = Field(max_length=40)
    requests: int = Field(ge=1)
    prompt: float = Field(gt=0)
    generate: float = Field(gt=0)
    rate: float | None = Field(default=None, gt=0)
    concurrency: int | None = Field(default=None, ge=1)
    measured: dict[str, float]
    dagc: dict[str, float]
    cross_validated: dict[str, float] | None    # None: not cross-validated (its residuals are the calibrated ones)
    # how its plan served it (`SERVINGS`); None: a file written before 2026-12-02, unknown
    serving: Literal["static", "inflight", "disaggregated"] | None = None


class Range(_Strict):
    prompt: tuple[float, float]
    generate: tuple[float, float]
    concurrency: tuple[float, float] | None = None
    rate: tuple[float, float] | None = None
    in_flight: tuple[float, float] | None = None    # a file written before it has none: not judged


class CalibrationFile(_Strict):
    """The calibration file, format 1 (docs/calibrate.md, field by field)."""

    format: int
    about: str = ""
    engine: str = Field(min_length=1, max_length=40)
    release: str | None = Field(default=None, max_length=40)
    gpu: str = Field(min_length=1, max_length=100)
    gpus: int = Field(ge=1)
    instance_gpus: tuple[int, int] | None = None    # a file written before them has none: `gpus` stands for them
    model: str = Field(min_length=1, max_length=200)
    terms: Terms
    fit: dict[str, object] = {}      # the fit's account, as `dagc calibrate` writes it: only `kept` is read (`_kept`)
    runs: tuple[CalibrationRun, ...] = Field(min_length=1, max_length=10_000)
    range: Range
    residuals: dict[str, tuple[float, ...]]

    @field_validator("instance_gpus")
    @classmethod
    def _instance_gpus(cls, v: tuple[int, int] | None) -> tuple[int, int] | None:
        if v is not None and not 1 <= v[0] <= v[1]:
            raise ValueError("the fewest and most GPUs of an engine instance: 1 ≤ fewest ≤ most")
        return v

    @field_validator("residuals")
    @classmethod
    def _residuals(cls, v: dict[str, tuple[float, ...]]) -> dict[str, tuple[float, ...]]:
        for q, xs in v.items():
            if q not in CALIBRATION_QUANTITIES:
                raise ValueError(f"unknown quantity {q!r}: one of {', '.join(CALIBRATION_QUANTITIES)}")
            if any(not math.isfinite(x) or abs(x) > MAX_RESIDUAL for x in xs):
                raise ValueError(f"{q}: a residual is a finite ln(dagc / measured) within ±{MAX_RESIDUAL:g}")
        return v


def _where(loc: tuple[int | str, ...]) -> str:
    return ".".join(f"[{x}]" if isinstance(x, int) else str(x) for x in loc).replace(".[", "[") or "the file"


def read_calibration(out: Collector, roots: ImportRoots, written: str, at: Span) -> Calibration | Bad:
    """The calibration the statement names (`written`, at `at` in the plan), or BAD with E109 in `out`."""
    path = roots.resolve(out, written, at, "the calibration")
    if path is None:
        return BAD
    shown = quote(path.name)
    try:
        src = read_source(path, echo=False, what="a calibration",
                          hint='give the path of the file `dagc calibrate … -o FILE` wrote (`calibration from "FILE"`)')
    except PlanError as exc:
        for d in exc.diagnostics:
            hint = near_file(path, written, "calibration from") if d.message == "the file does not exist" else \
                in_directory(path, written, "calibration from", (".json",), "calibration files", d.hint) \
                if d.message.startswith("the path is a directory") else None
            out.error(CALIBRATION_CODE, f"cannot read calibration `{shown}`: {d.message}", at, hint or d.hint or _HINT)
        return BAD
    try:
        raw = json.loads(src.text, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return out.error(CALIBRATION_CODE, f"calibration `{shown}` is not valid JSON", at,
                         _not_yet_fitted(src.text, shown, written))
    if not isinstance(raw, dict) or "format" not in raw:
        return out.error(CALIBRATION_CODE, f"`{shown}` is not a dagc calibration (it has no \"format\")", at,
                         _not_yet_fitted(src.text, shown, written))
    if raw["format"] != CALIBRATION_FORMAT:
        return out.error(CALIBRATION_CODE, f"calibration `{shown}` has a format this dagc does not read (it reads "
                         f"format {CALIBRATION_FORMAT})", at, "calibrate again with this dagc")
    try:
        # strict, as JSON: a number written as a string ("frontend_s": "0.04") is no number
        f = CalibrationFile.model_validate_json(json.dumps(raw), strict=True)
    except ValidationError as exc:
        # the first 3 problems, each at its field (until 2026-11-30 the first, "(and 2 more)" unnamed)
        errs = exc.errors(include_url=False, include_input=False)
        said = "; ".join(f"{_where(tuple(e['loc']))} {problem(e)}" for e in errs[:3])
        more = f" (and {len(errs) - 3} more)" if len(errs) > 3 else ""
        return out.error(CALIBRATION_CODE, f"calibration `{shown}`: {said}{more}", at, _HINT)
    unknown = _unknown_deployment(f)
    if unknown is not None:
        return out.error(CALIBRATION_CODE, f"calibration `{shown}`: {unknown[0]}", at, unknown[1])
    r = f.range
    return Calibration(file=path.name, engine=f.engine, release=f.release, gpu=f.gpu, gpus=f.gpus, model=f.model,
                       instance_gpus=f.instance_gpus,
                       step_s=f.terms.step_s, frontend_s=f.terms.frontend_s,
                       compute_time_scale=f.terms.compute_time_scale, memory_time_scale=f.terms.memory_time_scale,
                       step_request_s=f.terms.step_request_s, kv_cache_share=f.terms.kv_cache_share,
                       runs=tuple(x.id for x in f.runs),
                       range=CalibratedRange(prompt=r.prompt, generate=r.generate, concurrency=r.concurrency,
                                             rate=r.rate, in_flight=r.in_flight),
                       residuals=dict(f.residuals),
                       quantity_runs=_quantity_runs(f.runs),
                       # unknown when a run does not say (a file written before 2026-12-02)
                       serving=None if any(x.serving is None for x in f.runs) else
                       tuple(m for m in SERVINGS if any(x.serving == m for x in f.runs)),
                       # a file written before the scales or step_request_s: the start's
                       kept=_kept(f.fit) + (older := tuple(k for k in TERM_NAMES[2:] if k not in raw["terms"])),
                       kept_because=_because(f.fit, _kept(f.fit)) + ("older",) * len(older))


# a key every benchmark run file of a tool `dagc calibrate` reads has (vLLM's and SGLang's summaries, AIPerf's and
# genai-perf's metrics; docs/calibrate.md, "What it reads"), and the table a manifest of runs opens
_RUN_KEYS = ('"mean_ttft_ms"', '"time_to_first_token"')
_MANIFEST = re.compile(r"^[ \t]*\[\[run\]\]", re.MULTILINE)
_PLAN = re.compile(r"^[ \t]*(?:model[ \t]+(?:preset|from)|strategy[ \t])", re.MULTILINE)     # a plan's statements


def _unknown_deployment(f: CalibrationFile) -> tuple[str, str] | None:
    """E109's message and hint for a file whose `engine` or `release` dagc does not know (a file edited by hand:
    `dagc calibrate` writes the plan's; until 2026-12-01 read, and only E109's hint of another deployment kept from
    writing it as a plan's line), naming the field and the known ones; None when both are known.

    Example:
        >>> from types import SimpleNamespace as F
        >>> _unknown_deployment(F(engine="vllm-openai", release="0.33.0"))[0]
        'engine: `vllm-openai` is no engine dagc knows'
        >>> _unknown_deployment(F(engine="sglang", release="0.33.0"))[0]
        'release: `0.33.0` is no release of sglang dagc knows'
        >>> [_unknown_deployment(F(engine="vllm", release=r)) for r in ("0.10.1.1", None)]
        [None, None]
    """
    again = "calibrate again (`dagc calibrate`)"
    if f.engine not in SERIES:
        return (f"engine: {code(f.engine)} is no engine dagc knows",
                f"the engines dagc knows: {', '.join(SERIES)}; write the one the runs were of, or {again}")
    engine = cast(EngineName, f.engine)
    if f.release is None or known_release(engine, f.release):
        return None
    series = SERIES[engine]
    known = f"{engine}'s release series dagc knows: {', '.join(series)}" if series else f"{engine} has no releases"
    fix = "write the release the runs were of" if series else "write `\"release\": null`"
    return f"release: {code(f.release)} is no release of {engine} dagc knows", f"{known}; {fix}, or {again}"


def _not_yet_fitted(text: str, shown: str, name: str) -> str:
    """E109's hint for a file that is no calibration: the `dagc calibrate` command that fits one on it when it is
    what that command reads — a benchmark run (a key of its summary) or a manifest of runs (`[[run]]`) —, or what a
    plan (`.moe`, or statements of one) is to it; `name`, the path as the plan writes it (relative to the plan's
    directory: until 2026-11-30 the file's name alone, so `runs/rate4.json` was hinted `dagc calibrate rate4.json`), is
    one shell word in the command (`path_word`: until 2026-11-30 it was pasted in bare)."""
    word = path_word(name)         # one shell word: a name of `$(…)`, `;` or a leading `-` is no command or option
    # a manifest's entry may hold `strategy = "tp 8"`, a line `_PLAN` reads as a plan's: until 2026-12-01 the manifest
    # of docs/calibrate.md was hinted `dagc calibrate RUN… --plan runs.toml`
    manifest = _MANIFEST.search(text) is not None and not name.endswith(".moe")
    if not manifest and (name.endswith(".moe") or _PLAN.search(text)):    # until 2026-11-30 "not valid JSON"
        return (f"`{shown}` is a plan, not a calibration: fit one on your benchmark runs of it with `dagc calibrate "
                f"RUN… --plan {word} -o cal.json` and name that file, `calibration from \"cal.json\"` "
                "(docs/calibrate.md)")
    if manifest:
        return (f"`{shown}` is a manifest of runs: fit a calibration on them with `dagc calibrate {word} -o cal.json`"
                ' and name that file, `calibration from "cal.json"` (docs/calibrate.md)')
    if any(key in text for key in _RUN_KEYS):
        return (f"`{shown}` is a benchmark run: fit a calibration on it with `dagc calibrate {word} --plan PLAN -o "
                'cal.json` (3 runs or more of other traffics fit its terms) and name that file, `calibration from '
                '"cal.json"` (docs/calibrate.md)')
    return _HINT


def _kept(fit: Mapping[str, object]) -> tuple[str, ...]:
    """The terms the fit kept at their start: the names of TERM_NAMES its `kept` lists (a list, as `dagc calibrate`
    writes it; an object by its keys, a string by its letters: none), in its order."""
    kept = fit.get("kept")
    return tuple(k for k in kept if k in TERM_NAMES) if isinstance(kept, list | dict | str) else ()


def _because(fit: Mapping[str, object], kept: tuple[str, ...]) -> tuple[str | None, ...]:
    """Why the fit kept each of `kept` (its `kept_because`, as `dagc calibrate` writes it), None where it does not
    say (a file written before it, a term missing from the file)."""
    why = fit.get("kept_because")
    said = why if isinstance(why, dict) else {}
    return tuple(v if isinstance(v := said.get(k), str) else None for k in kept)


def _quantity_runs(runs: tuple[CalibrationRun, ...]) -> dict[str, int]:
    """Per ledger quantity, the runs with a figure of it measured and cross-validated — calibrated, in a calibration
    not cross-validated (its residuals are those) — (a key dagc does not know counts for none)."""
    out: dict[str, int] = {}
    for x in runs:
        found: set[str] = set()
        for k in x.measured:
            if k in (x.dagc if x.cross_validated is None else x.cross_validated):
                try:
                    found.add(quantity_of(k))
                except KeyError:
                    continue
        for q in found:
            out[q] = out.get(q, 0) + 1
    return out


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number")


def _series(release: str | None) -> str | None:
    """`0.33.0` → `0.33` (a release's series, as `dagc.plan.engines.SERIES` holds them)."""
    return None if release is None else ".".join(release.split(".")[:2])


def _theirs(cal: Calibration, differ: set[str]) -> str:
    """What the plan writes to be of the calibration's deployment where it differs from it (`differ`: `engine`,
    `release series`, `GPU`, `model`): `engine = vllm@0.11.0`, `gpu preset "h100-sxm"`, `model preset "…"`."""
    said = []
    if differ & {"engine", "release series"}:
        said.append(_engine_line(cal.engine, cal.release))
    if "GPU" in differ:
        said.append(f'`gpu preset "{cal.gpu}"`' if cal.gpu in GPU_PRESETS else f"its GPU, {code(cal.gpu)}")
    if "model" in differ:
        said.append(f'`model preset "{cal.model}"`' if cal.model in MODEL_PRESETS else f"its model, {code(cal.model)}")
    return ", ".join(said)


def _engine_line(engine: str, release: str | None) -> str:
    """The plan's `engine = …` of a calibration's engine and release, where the plan can write it: a release that is
    none of that engine's series dagc knows (a file edited by hand: `sglang` at vLLM's `0.33.0`) is left out, and
    an engine dagc does not know is named, not written as a line that is E101 (until 2026-12-01 the hint read
    `engine = sglang@0.33.0`, itself refused). A file's are refused when read (`_unknown_deployment`); these stay for
    a `Calibration` a library user makes.

    Example:
        >>> _engine_line("vllm", "0.31.0"), _engine_line("sglang", "0.33.0"), _engine_line("vllm-openai", "0.33.0")
        ('`engine = vllm@0.31.0`', '`engine = sglang`', 'its engine, `vllm-openai`')
    """
    if engine not in SERIES:
        return f"its engine, {code(engine)}"
    known = release is not None and known_release(cast(EngineName, engine), release)
    return f"`engine = {engine}" + (f"@{release}`" if known else "`")


def calibrated_cluster(out: Collector, cal: Calibration, model: Model, cluster: Cluster, at: Span) -> Cluster | Bad:
    """The cluster with its engine's terms (`step_s`, `frontend_s`, the kernel-time multipliers, `step_request_s`,
    `kv_cache_share`) the calibration's (a file's without `step_request_s`: the engine's own; without
    `kv_cache_share`: 1, the KV cache all the memory leaves);
    E109 when the calibration was fitted on another engine, release series, GPU or model than the plan's."""
    eng = cluster.engine
    found = [(what, theirs, ours) for what, theirs, ours in (
        ("engine", cal.engine, eng.name), ("release series", _series(cal.release), _series(eng.release)),
        ("GPU", cal.gpu, cluster.gpu.name), ("model", cal.model, model.name)) if theirs != ours]
    # another engine's release series is not the plan's engine's to compare (vLLM 0.33 against SGLang 0.5: until
    # 2026-11-30 said beside the engines, `its release series is `0.33`, the plan's `0.5``)
    found = [f for f in found if f[0] != "release series" or cal.engine == eng.name]
    if found:
        said = "; ".join(f"its {what} is {code(str(theirs))}, the plan's {code(str(ours))}"
                         for what, theirs, ours in found)
        return out.error(CALIBRATION_CODE, f"calibration {code(cal.file)} was fitted on another deployment: {said}",
                         at, "calibrate on runs of this plan's engine, GPU and model (`dagc calibrate`), or plan the "
                         f"calibration's deployment: {_theirs(cal, {what for what, _, _ in found})}")
    # the calibration's `step_s` is all the deployment's time beyond its kernels a step (`per_step_terms`): no
    # time per layer beside it
    terms = eng.terms.model_copy(update={t: getattr(cal, t) for t in TERM_NAMES if getattr(cal, t) is not None}
                                 | {"layer_s": 0.0, KV_SHARE_TERM: cal.kv_cache_share})
    return cluster.model_copy(update={"engine": eng.model_copy(update={"terms": terms})})


def uncalibrated_cluster(cluster: Cluster) -> Cluster:
    """The cluster with its engine's own terms (`dagc.plan.engines.ENGINE_TERMS`) where `calibrated_cluster` put a
    calibration's: what `dagc calibrate` fits from and compares with when the plan names a calibration."""
    eng = cluster.engine
    own = ENGINE_TERMS.get(eng.name, EngineTerms())
    terms = eng.terms.model_copy(update={t: getattr(own, t) for t in (*TERM_NAMES, "layer_s", KV_SHARE_TERM)})
    return cluster.model_copy(update={"engine": eng.model_copy(update={"terms": terms})})


def per_step_terms(plan: Plan) -> Plan:
    """The plan with its engine's time per layer (`EngineTerms.layer_s`) folded into its time per step: `step_s` +
    the model's layers × `layer_s`, `layer_s` 0 — the same time for the plan's model, as one term a calibration fits
    (`dagc calibrate`'s start, which a fit may lower below the layers' share) and a calibration file holds
    (`calibrated_cluster` sets no time per layer beside it).

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> p = load_plan_text('model preset "mixtral-8x7b" { layers = 4 } cluster { gpus = 1 gpu preset "h100-sxm" '
        ...                    'engine = trtllm } workload { batch = 1 prompt = 8 generate = 8 } strategy tp 1')
        >>> t = per_step_terms(p).cluster.engine.terms
        >>> round(t.step_s * 1e6, 1), t.layer_s      # 100 µs + 4 × 70.7 µs
        (382.8, 0.0)
    """
    terms = plan.cluster.engine.terms
    if not terms.layer_s:
        return plan
    folded = terms.model_copy(update={"step_s": terms.step_s + plan.model.layers * terms.layer_s, "layer_s": 0.0})
    engine = plan.cluster.engine.model_copy(update={"terms": folded})
    return plan.model_copy(update={"cluster": plan.cluster.model_copy(update={"engine": engine})})
