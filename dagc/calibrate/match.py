"""Whether a measured run is of its plan: the same traffic and lengths, else E110 at the run's field.

Input: a `MeasuredRun` and the plan it is said to measure (with its `--set` overrides lowered). Output: the
diagnostics of every disagreement — the number of requests, the rate or the clients, the mean prompt and output
lengths (within `LENGTH_TOLERANCE`), the model, its precision, the engine, a plan served statically (every run
format measures a server, which batches in flight) — each located at the run file's field and naming the plan's
value and the `--set` that would make the plan the run's. A run is never skipped: a disagreement stops the calibration.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import NamedTuple

from ..diagnostics import Diagnostic, code, quote
from ..lang.set_replaces import REPLACES
from ..lang.traffic import REQUESTS_DEFAULT
from ..launch.launch import HF_IDS
from ..layout.modes import mode_of
from ..plan.engines import ENGINE_SAID
from ..plan.model import DType
from ..plan.plan import Plan
from ..plan.workload import Traffic
from ..rules.syntax import run_refusal
from .measured import MeasuredRun
from .model_names import FAMILIES, name_parts, other_model, preset_of
from .run_counts import GPU_FAMILIES, gpu_family

__all__ = ["BURST_RAMP", "LENGTH_TOLERANCE", "PLAN_SHOWN_CHARS", "RATE_TOLERANCE", "REQUESTS_TOLERANCE", "Shared",
           "checkpoint_precision", "disagreements", "queued_by_design", "several_traffics"]

# The plan a message names (`Job.plan_shown`: its file, `--set`s and `--strategy`, each one shell word) is shown whole
# up to this many characters, so that it can be pasted; the shorter bound of other quoted text (60) cut a plan with a
# `--set` and a `--strategy` with "…" (until 2026-12-01).
PLAN_SHOWN_CHARS = 240

LENGTH_TOLERANCE = 0.05      # a mean length within 5 % of the plan's `prompt` / `generate`
RATE_TOLERANCE = 0.01        # the rate within 1 % of the plan's
REQUESTS_TOLERANCE = 0.01    # the requests within 1 % (a run's `completed` may miss a failed request or two)
# a run that sent every request at once is a closed loop of as many clients, all starting together: without it the
# plan's clients' first requests spread over a request's life (docs/language.md, `ramp`)
BURST_RAMP = "workload.ramp=0 s"
# the hint of a run sent at a rate with a cap on its requests in flight, which no `--set` makes a plan's (until
# 2026-11-30 it was the `--set` of the run's rate, which the plan already had)
CAPPED = ("calibrate on runs sent at a rate without a cap on the requests in flight (vLLM's `--request-rate` without "
          "`--max-concurrency`, AIPerf's `--request-rate` without `--concurrency`) or by clients alone "
          "(`--max-concurrency` with `--request-rate inf`, AIPerf's `--concurrency`)")


def several_traffics(runs: Sequence[MeasuredRun]) -> bool:
    """Whether the runs sent other traffics (requests, rate or clients, mean lengths): one plan, one `--set`, cannot
    be theirs all."""
    return len({(r.requests, r.rate, r.concurrency, round(r.prompt), round(r.generate)) for r in runs}) > 1


class Shared(NamedTuple):
    """Why a run's plan is not its alone — runs of other traffics read it too (`several_traffics`) —, up to where the
    hint goes on (`…: in a manifest,`); the keys of the manifest entry that would give the run a plan of its own
    (`plan = "p.moe"  file = "runs.jsonl"  run = 2`); and the `set` values that entry keeps: the command's `--set`s,
    or the entry's own, but for those the run's traffic replaces (`kept_sets`). Until 2026-11-30 the entry hinted
    held the run's traffic alone: a manifest written from it lost the command's plan and its other `--set`s
    (`cluster.engine=sglang`, `workload.requests=200`), and was refused again."""

    why: str
    entry: str
    sets: tuple[str, ...] = ()


def kept_sets(sets: Sequence[str], settings: Sequence[str]) -> tuple[str, ...]:
    """The `sets` a manifest entry keeps beside the run's `settings`: each but those of a field the settings set or
    take away (a rate takes a closed loop's clients away, `REPLACES`).

    Example:
        >>> kept_sets(["cluster.engine=sglang", "workload.concurrency=8", "workload.rate=1 requests/s"],
        ...           ["workload.rate=4 requests/s"])
        ('cluster.engine=sglang',)
    """
    fields = {s.partition("=")[0].strip() for s in settings}
    gone = fields | {f"{f.rpartition('.')[0]}.{n}" for f in fields for n in REPLACES.get(tuple(f.split(".")), ())}
    return tuple(s for s in sets if s.partition("=")[0].strip() not in gone)


def _traffic_hint(settings: tuple[str, ...], shared: Shared | None, every: tuple[str, ...] = ()) -> str:
    """The `--set`s that make the plan the run's, or, where the plan is others' too, the run's own manifest entry,
    with `every` setting the run needs (each of its disagreements'; `settings`, this one's, without it): the entry, or
    the `--set`s, are then the run's whole plan. Until
    2026-11-30 each disagreement's entry held its own setting alone — a run of 200 requests at 8 clients against a
    plan of 300 at 4 requests/s was hinted `set = ["workload.requests=200"]` at one field and `set =
    ["workload.concurrency=8", …]` at the other, and an entry written from either was refused again at the other."""
    every = every or settings
    if shared is not None:
        listed = ", ".join(f'"{x}"' for x in (*kept_sets(shared.sets, every), *every))
        lines = ", ".join(f"`{x}`" for x in ("[[run]]", *shared.entry.split("  "), f"set = [{listed}]"))
        return f"{shared.why} give this run an entry of its own, the lines {lines}"
    # every setting the run needs, at each of its disagreements (until 2026-12-03 on the command line each its own)
    listed = ", ".join(f'"{x}"' for x in every)
    options = "`" + " ".join(f'--set "{x}"' for x in every) + "`"
    what = "traffic" if all(x.startswith("workload.") for x in every) else "traffic and deployment"
    return (f"give the plan the run's {what}: {options} (in a manifest, `set = [{listed}]`), "
            "or calibrate with the plan this run measured")


def queued_by_design(run: MeasuredRun) -> bool:
    """Whether the run's client sends every request at once (an offline burst: its TTFT is mostly queueing, and
    would be taken for the front end's)."""
    return run.rate is None and (run.concurrency is None or run.concurrency >= run.requests)


def _capped(run: MeasuredRun) -> bool:
    """Whether the run was sent at a rate with a cap on its requests in flight (`CAPPED`)."""
    return run.rate is not None and run.concurrency is not None and run.concurrency < run.requests


def disagreements(run: MeasuredRun, plan: Plan, plan_shown: str, shared: Shared | None = None) -> list[Diagnostic]:
    """E110 for each figure of the run's traffic the plan does not send. `shared` (`Shared`): the plan is others'
    too — a `--set` of the run's traffic would refuse them —, so a disagreement on the traffic names the manifest
    entry that gives the run a plan of its own, with every setting the run's disagreements call for."""
    shown = quote(plan_shown, PLAN_SHOWN_CHARS)
    said: list[tuple[str, str, tuple[str, ...]]] = []      # each disagreement: the run's field, words, `--set`s

    def say(name: str, message: str, setting: str, *more: str) -> None:
        # a run of the other loop too: a `--set` of its rate or clients replaces the plan's (`overrides.REPLACES`);
        # a burst's clients all start at once (`BURST_RAMP`)
        said.append((name, message, (setting, BURST_RAMP, *more) if setting.startswith("workload.concurrency=")
                     and queued_by_design(run) else (setting, *more)))

    out, fixes = _deployment(run, plan, shown)
    deployment = len(out)
    if _capped(run):
        out.append(run_refusal(f"run {quote(run.id)} is not of plan `{shown}`: the run sent at {run.rate:g} requests/s "
                               f"with at most {run.concurrency} in flight, which dagc's traffic does not express (an "
                               "open loop, or a closed loop: not both)", run.span("concurrency"), CAPPED))
    _said(run, plan, say)
    every = tuple(dict.fromkeys((*fixes, *(x for _, _, settings in said for x in settings))))
    if len(every) > len(fixes[:1]) and not _capped(run):     # the deployment's hints name every setting too
        out[:deployment] = [replace(d, hint=_deployment_hint(every, shared)) for d in out[:deployment]]
    log = plan.workload.traffic is not None and plan.workload.traffic.log is not None
    return out + [run_refusal(f"run {quote(run.id)} is not of plan `{shown}`: {message}", run.span(name),
                              _log_hint(run) if log and name == "rate" else _traffic_hint(settings, shared, every))
                  for name, message, settings in said]


def _deployment_hint(every: tuple[str, ...], shared: Shared | None) -> str:
    """The hint of a disagreement of the run's deployment (its model, precision, GPUs, engine or serving) where the run
    needs more settings than that one: the entry, or the `--set`s, of every one. Until 2026-12-03 an SGLang run at 2
    requests/s against a vLLM plan at 4 was hinted `--set cluster.engine=sglang` alone at its `backend`, which gave
    the rate's error next."""
    if shared is not None:
        return _traffic_hint((), shared, every)
    listed = ", ".join(f'"{x}"' for x in every)
    options = " ".join(f'--set "{x}"' for x in every)
    return f"calibrate with the plan this run measured: `{options}` (in a manifest, `set = [{listed}]`)"


def _log_hint(run: MeasuredRun) -> str:
    """The hint of a run against a plan that replays a request log (`requests from`): no `--set` takes the log away —
    a rate rescales its times and keeps its requests and lengths —, so the run needs a plan of its own traffic (until
    2026-12-03 the hint was the rate's `--set`, which gave the same error again)."""
    sends = f"rate = {run.rate:g} requests/s" if run.rate is not None else \
        f"concurrency = {run.concurrency or run.requests}"
    return (f"calibrate with a plan of the run's own traffic, without `requests from` (`{sends}  requests = "
            f"{run.requests}` in its workload, its `prompt` and `generate` the run's mean lengths): a `--set` of the "
            "rate rescales the log's times and keeps its requests and lengths")


def _said(run: MeasuredRun, plan: Plan, say: Callable[..., None]) -> None:
    """Each disagreement of the run's traffic and mean lengths with the plan's, told to `say` (`disagreements`; a
    run capped at a rate is said there)."""
    w = plan.workload
    tr = w.traffic
    if _capped(run):
        pass                        # `CAPPED`, said by `disagreements`: no `--set` gives a plan such traffic
    elif tr is None or tr.log is not None:
        what = "sends no traffic" if tr is None else "replays a request log"
        say("rate", f"the plan {what}, the run sent {run.requests:,} requests", *_traffic_settings(run, tr))
        if tr is not None:          # a log's lengths are its own: said once the log is left out
            return
    else:
        if abs(tr.requests - run.requests) > REQUESTS_TOLERANCE * run.requests:
            say("requests", f"the run sent {run.requests:,} requests, the plan {tr.requests:,}",
                f"workload.requests={run.requests}")
        _traffic(run, tr, say)
    for name, ours, written in (("prompt", run.prompt, w.prompt), ("generate", run.generate, w.generate)):
        if abs(written - ours) > LENGTH_TOLERANCE * ours:
            say(name, f"the run's mean {'input' if name == 'prompt' else 'output'} length is {ours:,.1f} tokens, the "
                f"plan's `{name} = {written}` (more than {LENGTH_TOLERANCE:.0%} apart)".replace("%", " %"),
                f"workload.{name}={round(ours)}")


def _deployment(run: MeasuredRun, plan: Plan, shown: str) -> tuple[list[Diagnostic], list[str]]:
    """E110 for each way the run's deployment is not the plan's: its model, its checkpoint's precision, its GPUs,
    its engine, a plan served statically (every run measures a server); and the `--set`s that fix them."""
    out: list[Diagnostic] = []
    fixes: list[str] = []
    w = plan.workload
    other = _other_model(run.model, plan)
    if other is not None:
        # the preset the run's model is, when one is: its `--set` (until 2026-11-30 the hint named none)
        preset = preset_of(run.model or "")
        fixes += [f"model={preset}"] if preset is not None else []
        out.append(run_refusal(f"run {quote(run.id)} is not of plan `{shown}`: the run measured {other}, the plan's "
                               f"model is preset `{plan.model.name}` ({HF_IDS[plan.model.name]})", run.span("model"),
                               "calibrate with the plan of the model this run measured" + (
                                   f": `--set model={preset}` (in a manifest, `set = [\"model={preset}\"]`)"
                                   if preset is not None else "")))
    if other is None and (found := checkpoint_precision(run.model, plan)) is not None:
        out.append(_precision(run, plan, shown, found))
        fixes.append(f"model.weights={found[1][0].value}")
    if (other_gpu := _other_gpu(run, plan)) is not None:
        preset = GPU_FAMILIES[gpu_family(run.gpu or "") or ""]
        fixes.append(f"cluster.gpu={preset}")
        out.append(run_refusal(f"run {quote(run.id)} is not of plan `{shown}`: {other_gpu}", run.span("gpu"),
                               f"calibrate with the plan of the GPUs this run measured: `--set cluster.gpu={preset}` "
                               f"(in a manifest, `set = [\"cluster.gpu={preset}\"]`)"))
    engine = backend_engine(run.backend)
    if engine is not None and engine != plan.cluster.engine.name and plan.cluster.engine.name != "pytorch":
        fixes.append(f"cluster.engine={engine}")
        out.append(run_refusal(f"run {quote(run.id)} is not of plan `{shown}`: its client measured the "
                               f"`{quote(run.backend or '', 40)}` backend ({ENGINE_SAID[engine]}'s server); the "
                               f"plan's engine is {plan.cluster.engine.name}", run.span("backend"),
                               f"calibrate with the plan of the engine this run measured: `--set cluster.engine="
                               f"{engine}` (in a manifest, `set = [\"cluster.engine={engine}\"]`)"))
    mode = mode_of(w)
    if not mode.continuous and mode.role is None:
        default = "" if "workload.serving" in plan.spans else ", the default"
        fixes.append("workload.serving=inflight")
        out.append(run_refusal(f"run {quote(run.id)} is not of plan `{shown}`: the plan serves static batches "
                               "(`batch` requests prefilled together, then decoded together: `serving = static`"
                               f"{default}), the run measured a server, which batches requests in flight",
                               run.span("backend"), "give the plan the run's serving: `--set workload.serving="
                               "inflight` (in a manifest, `set = [\"workload.serving=inflight\"]`)"))
    return out, fixes


def _traffic_settings(run: MeasuredRun, tr: Traffic | None) -> tuple[str, ...]:
    """The `--set`s that give a plan without traffic (or replaying a log) the run's: its rate or clients, and, to a
    plan without traffic, which simulates `REQUESTS_DEFAULT` requests once it has some, the run's requests."""
    setting = f"workload.rate={run.rate:g} requests/s" if run.rate is not None else \
        f"workload.concurrency={run.concurrency or run.requests}"
    more = (f"workload.requests={run.requests}",) if tr is None and \
        abs(REQUESTS_DEFAULT - run.requests) > REQUESTS_TOLERANCE * run.requests else ()
    return setting, *more, *_arrival_setting(run, tr)


def _arrival_setting(run: MeasuredRun, tr: Traffic | None) -> tuple[str, ...]:
    """The `--set` of the run's arrivals where the plan's differ (`poisson` without traffic), beside its rate's: the
    rate's alone made a plan refused again, at them (until 2026-11-30)."""
    plan = tr.arrival if tr is not None else "poisson"
    return (f"workload.arrival={run.arrival}",) if run.rate is not None and run.arrival not in (None, plan) else ()


# the `backend` names of vLLM's `bench serve` and SGLang's `bench_serving` (`--backend`) that name one engine's
# server; the OpenAI-compatible ones (`openai`, `openai-chat`) and the others say nothing of the engine
_BACKENDS = {"vllm": "vllm", "vllm-chat": "vllm", "sglang": "sglang", "sglang-native": "sglang",
             "sglang-oai": "sglang", "sglang-oai-chat": "sglang", "trt": "trtllm", "tensorrt-llm": "trtllm"}


def backend_engine(backend: str | None) -> str | None:
    """The engine a run's `backend` names (`sglang-oai`: SGLang), None when it names none dagc knows.

    Example:
        >>> backend_engine("sglang-oai"), backend_engine("vllm"), backend_engine("openai-chat"), backend_engine(None)
        ('sglang', 'vllm', None, None)
    """
    return None if backend is None else _BACKENDS.get(backend.strip().lower())


def _other_model(model_id: str | None, plan: Plan) -> str | None:
    """The run's model in words when it is another than the plan's preset, None when it may be the same
    (`dagc.calibrate.model_names.other_model`: `Qwen3-30B-A3B` for `Qwen3-235B-A22B`, `Mixtral-8x22B` for
    `mixtral-8x7b`; `DeepSeek-R1`, no size, for `deepseek-v3` is the same)."""
    if model_id is None or plan.model.name not in HF_IDS or not other_model(model_id, plan.model.name):
        return None
    return f"`{quote(model_id, 80)}`"


def _other_gpu(run: MeasuredRun, plan: Plan) -> str | None:
    """The run's GPUs and the plan's in words when they are of other families (its telemetry's product name,
    `run_counts.gpu_family`, against the plan's preset), None when they may be the same: a run without telemetry, a
    name of no family dagc knows, or a plan GPU of none (`generic-400t`, a GPU written out), is not judged."""
    ours = next((f for f, preset in GPU_FAMILIES.items() if preset == plan.cluster.gpu.name), None)
    theirs = None if run.gpu is None else gpu_family(run.gpu)
    if ours is None or theirs is None or theirs == ours:
        return None
    def a(f: str) -> str:
        return f"{'an' if f[0] in 'AHM' else 'a'} {f}"
    return (f"its GPU telemetry names `{quote(run.gpu or '', 60)}` ({a(theirs)}), the plan's GPU is preset "
            f"{code(plan.cluster.gpu.name)} ({a(ours)})")


def _precision(run: MeasuredRun, plan: Plan, shown: str, found: tuple[str, tuple[DType, ...]]) -> Diagnostic:
    """E110 at the run's model, whose checkpoint is of another precision than the plan's weights (`found`: its
    marker and dtypes, `checkpoint_precision`)."""
    marker, dtypes = found
    written = " or ".join(f"`weights = {d.value}`" for d in dtypes)
    sets = " or ".join(f"`--set model.weights={d.value}`" for d in dtypes)
    return run_refusal(f"run {quote(run.id)} is not of plan `{shown}`: the run measured "
                       f"`{quote(run.model or '', 80)}`, a checkpoint of {' or '.join(d.value for d in dtypes)} "
                       f"weights (`{marker}`); the plan's model has `weights = {plan.model.weights.value}`",
                       run.span("model"), f"give the plan the checkpoint's precision: {written} in its model "
                       f"({sets}; in a manifest, `set = [\"model.weights={dtypes[0].value}\"]`)")


# the precision markers Hugging Face checkpoint names carry that say one thing (`Qwen3-30B-A3B-FP8`,
# `DeepSeek-R1-FP4` (NVIDIA's: NVFP4), `Qwen3-32B-AWQ` (4-bit), `Qwen3-30B-A3B-GPTQ-Int4`); a name part of its own,
# split at `-`, `_` and `.`. Others (`W8A8`: int8 or fp8; `bnb-4bit`) are not judged.
_PRECISIONS = {"fp8": (DType.FP8,), "nvfp4": (DType.NVFP4,), "fp4": (DType.NVFP4,), "mxfp4": (DType.MXFP4,),
               "awq": (DType.INT4,), "int4": (DType.INT4,), "int8": (DType.INT8,),
               "gptq": (DType.INT4, DType.INT8)}


def checkpoint_precision(model_id: str | None, plan: Plan) -> tuple[str, tuple[DType, ...]] | None:
    """The precision marker of the run's checkpoint and its dtypes, when the run is of the plan's model (its
    family, `_other_model`) and neither the plan's weights nor its experts' are one of them; None otherwise — a
    name without a marker says nothing (vLLM's `--quantization fp8` serves a bf16 checkpoint's name).

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> p = load_plan_text('model preset "qwen3-30b-a3b"\\ncluster { gpus = 1  gpu preset "h100-sxm" }\\n'
        ...                    'workload { batch = 8  prompt = 512  generate = 64 }\\nstrategy tp 1\\n')
        >>> checkpoint_precision("Qwen/Qwen3-30B-A3B-FP8", p), checkpoint_precision("Qwen/Qwen3-30B-A3B", p)
        (('FP8', (<DType.FP8: 'fp8'>,)), None)
    """
    if model_id is None or plan.model.name not in HF_IDS:
        return None
    family, ours = name_parts(model_id)[0], name_parts(HF_IDS[plan.model.name])[0]
    if not family or family not in FAMILIES or family != ours:
        return None
    base = model_id.strip().rstrip("/").rsplit("/", 1)[-1]
    for part in re.split(r"[-_.]", base):
        dtypes = _PRECISIONS.get(part.lower())
        if dtypes is not None:
            if plan.model.weights in dtypes or plan.model.expert_weights in dtypes:
                return None
            return part, dtypes
    return None


# AIPerf's `request_rate_mode` of each of dagc's arrivals (`dagc.calibrate.run_counts.aiperf_arrival`)
_MODES = {"uniform": "constant", "poisson": "poisson"}


def _traffic(run: MeasuredRun, tr: Traffic, say: Callable[[str, str, str], None]) -> None:
    if run.rate is not None:        # (with a cap on its requests in flight too, `CAPPED` said it: not here)
        if tr.rate is None or abs(tr.rate - run.rate) > RATE_TOLERANCE * run.rate:
            plan = "a closed loop" if tr.rate is None else f"{tr.rate:g} requests/s"
            say("rate", f"the run sent {run.rate:g} requests/s, the plan {plan}",
                f"workload.rate={run.rate:g} requests/s", *_arrival_setting(run, tr))
        elif run.arrival is not None and run.arrival != tr.arrival:
            said = {"poisson": "Poisson", "uniform": "evenly spaced"}
            field = run.fields.get("arrival", "").rsplit(".", 1)[-1]     # vLLM's `burstiness`, AIPerf's mode
            value = {"burstiness": {"uniform": "inf", "poisson": "1"}}.get(field, _MODES)[run.arrival]
            say("arrival", f"the run's arrivals were {said[run.arrival]} (`{field}` {value}), the plan's "
                f"{said[tr.arrival]} (`arrival = {tr.arrival}`)", f"workload.arrival={run.arrival}")
        return
    clients = run.concurrency if run.concurrency is not None and run.concurrency < run.requests else None
    # one client, one request (until 2026-11-30 `the run kept 1 requests in flight, the plan 1 clients`)
    plan = f"{tr.rate:g} requests/s" if tr.rate is not None else \
        f"{tr.concurrency} client{'s' if tr.concurrency != 1 else ''}"
    if clients is None:
        if tr.concurrency is None or tr.concurrency < run.requests:
            say("rate", f"the run sent all {run.requests:,} requests at once, the plan {plan}",
                f"workload.concurrency={run.requests}")
    elif tr.concurrency != clients:
        say("concurrency", f"the run kept {clients} request{'s' if clients != 1 else ''} in flight, the plan {plan}",
            f"workload.concurrency={clients}")
