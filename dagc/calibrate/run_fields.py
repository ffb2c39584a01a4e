"""One run's object → `MeasuredRun`: each tool's fields, by name, with their checks (`dagc.calibrate.runs`).

Input: a parsed JSON object of a run file and where it starts. Output: a `MeasuredRun`, or E110 naming the field
at fault (its value never shown). The field names are the tools' own (vllm/benchmarks/serve.py `result_json`,
python/sglang/bench_serving.py `result`, AIPerf's profile export); docs/calibrate.md lists them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TypeGuard

from ..diagnostics import PlanError
from ..source import SourceFile
from . import aiperf_phases, run_counts as rc
from .match import REQUESTS_TOLERANCE
from .measured import RUN_HINT, TIMES_MS, MeasuredRun, locate, run_error
from .other_files import not_a_summary
from .run_reader import MAX_FIGURE, MAX_SECONDS, MIN_FIGURE, TOO_LARGE_HINT, RunReader as _Run, too_large
from .run_values import refused_rate, refused_value

__all__ = ["MAX_FIGURE", "MIN_FIGURE", "TOO_LARGE_HINT", "VLLM_OR_SGLANG", "run_of", "too_large"]

# dagc's key → the field of vLLM's and of SGLang's result (mean, median, p99 of each latency, throughputs)
_LATENCIES = {"ttft": ("ttft", "ttft"), "tpot": ("tpot", "tpot"), "itl": ("itl", "itl"),
              "e2e": ("e2el", "e2e_latency")}
_THROUGHPUTS = {"output_tokens_per_s": ("output_throughput", "output_throughput"),
                "total_tokens_per_s": ("total_token_throughput", "total_throughput"),
                "requests_per_s": ("request_throughput", "request_throughput")}
# AIPerf / genai-perf metric → dagc's key stem (inter_token_latency is per request (latency − TTFT) / (output − 1))
_AIPERF = {"time_to_first_token": "ttft", "inter_token_latency": "tpot", "request_latency": "e2e"}
_AIPERF_RATES = {"output_token_throughput": "output_tokens_per_s", "request_throughput": "requests_per_s"}
_STATS = (("avg", ""), ("p50", "_median"), ("p99", "_p99"))
# the fields that make an object a vLLM or SGLang result: a latency of either (vLLM writes those its
# `--percentile-metrics` name, `ttft,tpot,itl` by default: a run of `itl` or `e2el` alone is vLLM's too; until
# 2026-11-30 such a run was said to have none of the tools' fields) or the per-request arrays
VLLM_OR_SGLANG = ("mean_ttft_ms", "mean_tpot_ms", "mean_itl_ms", "mean_e2el_ms", "mean_e2e_latency_ms", "ttfts")
# the hint of a vLLM run that measured no TTFT, TPOT or ITL: its `--percentile-metrics` left them out
NO_LATENCY = ("benchmark again with `--percentile-metrics ttft,tpot,itl,e2el` (vLLM's `bench serve` writes the "
              "latencies it names, `ttft,tpot,itl` by default)")
def _number(x: object) -> TypeGuard[int | float]:        # a JSON value that is a number (not a bool)
    return not isinstance(x, bool) and isinstance(x, int | float)


def run_of(src: SourceFile, at: int, end: int, obj: object, rid: str, path: str) -> MeasuredRun:
    """The run of `obj`, the JSON object at [at, end) of `src` (E110 when it is not one a tool writes)."""
    if not isinstance(obj, dict):
        raise run_error(src, at, "a run is a JSON object of the tool's fields; this is not one")
    r = _Run(src, at, end, obj)
    if isinstance(obj.get("time_to_first_token"), dict) or isinstance(obj.get("inter_token_latency"), dict):
        run = _aiperf(r, rid, path)
    elif any(k in obj for k in VLLM_OR_SGLANG):
        tool = "vllm" if "mean_e2el_ms" in obj or "endpoint_type" in obj or "num_prompts" in obj else "sglang"
        run = _vllm_or_sglang(r, tool, rid, path)
    else:
        raise not_a_summary(src, at, obj)
    if r.errors:
        raise r.collected()
    return run


def _vllm_or_sglang(r: _Run, tool: str, rid: str, path: str) -> MeasuredRun:
    o, which = r.obj, 0 if tool == "vllm" else 1
    one = rc.one_token(o)       # no second token: the TPOT and ITL the tool writes 0 measured nothing
    for stem, names in _LATENCIES.items():
        name = names[which]
        for pre, suf in (("mean", ""), ("median", "_median"), ("p99", "_p99")):
            if one and stem in ("tpot", "itl") and o.get(f"{pre}_{name}_ms") == 0:
                continue
            if stem == "itl" and o.get(f"{pre}_{name}_ms") == 0:      # `np.mean(itls or 0)`: no gap timed
                raise r.fail(f"{pre}_{name}_ms", *rc.NOT_STREAMED)
            r.figure(f"{stem}_ms{suf}", r.number(o, f"{pre}_{name}_ms", figure=True), f"{pre}_{name}_ms")
    for key, names in _THROUGHPUTS.items():
        r.figure(key, r.number(o, names[which], figure=True), names[which])
    rate = _rate(r, o.get("request_rate", ...))         # read with the figures: its problem said beside theirs
    completed = r.number(o, "completed", whole=True)
    requests = r.number(o, "num_prompts", whole=True) if tool == "vllm" else None
    sent = _counts(r, completed, requests)          # `num_prompts`, or the fewer a dataset of fewer samples sent
    _arrays(r, {n for n in (completed, requests, rc.requests_sent(o, completed)) if n is not None})
    if not any(k.split("_ms")[0] in ("ttft", "tpot", "itl") for k in r.measured):
        raise r.fail("mean_ttft_ms", "is missing, and so are TPOT and ITL: the run measured no latency dagc fits on",
                     NO_LATENCY if tool == "vllm" else RUN_HINT)
    requests, r.fields["requests"] = (sent, "num_prompts") if sent is not None and sent == requests else \
        (sent if requests is not None else completed, "completed")
    if requests is None:
        raise r.fail("num_prompts" if tool == "vllm" else "completed", "is missing: how many requests the run sent")
    arrival = _burstiness(r, rate)
    if (fast := rc.faster_than_sent(rate, r.measured.get("requests_per_s"), requests)) is not None:
        raise r.fail(r.fields["requests_per_s"], *fast)
    concurrency = rc.binding_cap(r.number(o, "max_concurrency", whole=True), rate, o)     # a cap never reached: none
    r.fields |= {"rate": "request_rate", "concurrency": "max_concurrency", "arrival": "burstiness"}
    prompt, generate = _lengths(r, completed or requests)
    model, backend = o.get("model_id"), o.get("backend")
    r.refuse(rc.not_a_name(model, "model_id"))      # `5`: read as no model until 2026-12-03
    r.fields |= {"model": "model_id"}
    return MeasuredRun(rid, path, tool, r.src, r.at, r.end, int(requests), rate, None if concurrency is None else
                       int(concurrency), prompt, generate, r.measured, r.fields,
                       model if isinstance(model, str) and model.strip() else None,
                       backend if isinstance(backend, str) and backend.strip() else None, arrival=arrival,
                       peak=rc.peak_in_flight(o))


def _rate(r: _Run, v: object) -> float | None:
    if v is ...:
        raise r.fail("request_rate", "is missing: the rate the client sent at (\"inf\": all at once)")
    if v in ("inf", "Infinity") or (isinstance(v, float) and math.isinf(v) and v > 0):
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v < math.inf:
        r.bad("request_rate", *refused_rate(v))
        return None
    return float(v)


def _burstiness(r: _Run, rate: float | None) -> str | None:
    """vLLM's arrivals at a rate by its `burstiness` (vllm/benchmarks/serve.py `get_request`: gamma gaps of that shape):
    1 `poisson`, inf `uniform`; E110 at another, which queues otherwise (docs/language.md, `arrival`). None: no rate."""
    if (ramp := rc.ramped(r.obj)) is not None:      # a rate that grew (its `request_rate` "inf")
        raise r.fail("ramp_up_strategy", *ramp)
    v = r.obj.get("burstiness")
    if v is None or rate is None:       # every request at once: the gaps are none, whatever their shape
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v <= math.inf:
        r.bad("burstiness", refused_value(v, "number (the shape of the gamma-distributed gaps; 1: Poisson)"))
        return None
    if v not in (1, math.inf):
        raise r.fail("burstiness", "is not 1: the run's arrivals had gamma-distributed gaps, not Poisson ones; "
                     "dagc's arrivals are Poisson or uniform (`arrival = poisson | uniform`), and another shape "
                     "queues otherwise", "calibrate on runs sent with `--burstiness 1` (Poisson arrivals, vLLM's "
                     "default) or `--burstiness inf` (evenly spaced)")
    return "poisson" if v == 1 else "uniform"


MAX_FAILED = REQUESTS_TOLERANCE    # more failed than this share of those sent: no run of the plan's (a timeout is)


def _counts(r: _Run, completed: float | None, requests: float | None) -> float | None:
    """The requests sent — `num_prompts`, or the fewer `completed` + `failed` a dataset of fewer samples sent
    (vLLM's `--no-oversample`, vllm/benchmarks/datasets.py) —; E110 at a run summary that cannot be a run's: a
    `duration` that is not positive, `completed` + `failed` (SGLang's `failures`) above `num_prompts`, or more failed
    requests (else non-empty `errors`) than `MAX_FAILED` of those sent — the summary's figures are then the
    completed requests' on a server that ran the others too, where dagc's every request completes."""
    o = r.obj
    r.number(o, "duration")             # seconds; dagc's figures keep their own
    name = "failed" if "failed" in o else "failures"
    failed = o.get(name)
    if failed is not None and (isinstance(failed, bool) or not isinstance(failed, int) or failed < 0):
        raise r.fail(name, "is not a count of requests (a whole number, 0 or more)")
    if completed is not None and requests is not None and completed + (failed or 0) > requests:
        raise r.fail("completed", f"{'and `' + name + '` do' if failed is not None else 'does'} not add up to "
                     "`num_prompts`: the requests the run sent are not told")
    if failed is None:                   # SGLang's `--output-details`: the non-empty entries of `errors`
        sent_ = rc.requests_sent(o, completed)
        failed, name = (None, name) if sent_ is None or completed is None else (int(sent_ - completed), "errors")
    told = failed is not None and name != "errors"      # the tool's own count of its failed requests
    sent = completed + (failed or 0) if completed is not None and (requests is None or told) else requests
    _failed(r, failed, sent, name)
    return None if requests is None else sent


def _failed(r: _Run, failed: float | None, sent: float | None, name: str) -> None:
    """E110 at `name` when more than `MAX_FAILED` of the requests the run sent failed."""
    if failed and sent and failed > MAX_FAILED * sent:
        raise r.fail(name, f"is more than {MAX_FAILED * 100:g} % of the requests the run sent: its figures are "
                     "the completed ones', on a server that ran or refused the others too, which dagc does not "
                     "simulate", "calibrate on runs whose requests completed (a failure is often a "
                     "timeout or a prompt past the context: the server's log says)")


_PER_REQUEST = ("ttfts", "itls", "input_lens", "output_lens")


def _arrays(r: _Run, counts: set[float]) -> None:
    """The per-request arrays (`--save-detailed`, `--output-details`): the means they give where the summary
    has none (`ttfts` and `itls` are in seconds). Each holds one entry per request — vLLM's and SGLang's one per
    request sent, failed ones too — so an array of another length than the run's `completed`, `num_prompts` or
    `completed` + `failed` (`counts`) is not the run's: a mean of 10 of 200 requests is no measure of the 200."""
    o = r.obj
    for name in _PER_REQUEST:
        v = o.get(name)
        if v is not None and not isinstance(v, list):
            raise r.fail(name, "is not a list of one entry per request")
        if isinstance(v, list) and counts and len(v) not in counts:
            raise r.fail(name, "does not hold one entry per request of the run (`completed`, `num_prompts`)")
    for key, name in (("ttft_ms", "ttfts"), ("itl_ms", "itls")):
        v = o.get(name)
        if v is None or key in r.measured:
            continue
        ok = rc.succeeded(o, len(v)) if isinstance(v, list) else None
        rows = [row for i, row in enumerate(v) if ok is None or ok[i]] if isinstance(v, list) else None
        flat = [x for row in rows for x in (row if isinstance(row, list) else [row])] if rows is not None else None
        if flat and any(_number(x) and MAX_SECONDS < x < math.inf for x in flat):
            raise r.fail(name, f"holds a time that {too_large('ms', converted=True)}", TOO_LARGE_HINT)
        if not flat or any(not _number(x) or not 0 <= x <= MAX_SECONDS for x in flat):
            raise r.fail(name, "is not a list of times in seconds")
        r.figure(key, r.at_least(sum(flat) / len(flat) * 1e3, name, "ms"), name)


def _mean_of(r: _Run, name: str) -> float | None:
    v = r.obj.get(name)
    if v is None:
        return None
    if not isinstance(v, list) or not v or any(isinstance(x, bool) or not isinstance(x, int) or x < 0 for x in v):
        raise r.fail(name, "is not a list of token counts")
    if any(x > MAX_FIGURE for x in v):
        raise r.fail(name, f"holds a token count that {too_large()}", TOO_LARGE_HINT)
    ok = rc.succeeded(r.obj, len(v))
    kept: list[int] = [x for i, x in enumerate(v) if ok is None or ok[i]] or v
    return sum(kept) / len(kept)


def _lengths(r: _Run, completed: float | None) -> tuple[float, float]:
    out = []
    for stem, arr in (("input", "input_lens"), ("output", "output_lens")):
        # the summary's total over the completed requests first, as the tool counts them; the array where it has
        # none (an array holds failed requests too, their output 0, where no `errors` says which: docs/calibrate.md)
        name, listed = f"total_{stem}_tokens", _mean_of(r, arr)      # the array read (and checked) all the same
        total = r.number(r.obj, name)
        if total is not None and completed:
            mean = total / completed
        elif listed is not None:
            mean, name = listed, arr
        else:
            raise r.fail(name, f"is missing (and `{arr}`): the run's mean {stem} length")
        if mean <= 0:
            raise r.fail(name, f"gives no {stem} tokens")
        r.fields["prompt" if stem == "input" else "generate"] = name
        out.append(mean)
    return out[0], out[1]


def _aiperf(r: _Run, rid: str, path: str) -> MeasuredRun:
    o = r.obj
    for metric, stem in _AIPERF.items():
        m = o.get(metric)
        if m is None:
            continue
        if not isinstance(m, dict):
            raise r.fail(metric, "is not a metric object ({\"unit\": …, \"avg\": …})")
        scale = TIMES_MS.get(str(m.get("unit", "ms")))
        if scale is None:
            raise r.fail(f"{metric}.unit", "is not a unit of time dagc knows (ms, s, us, ns)")
        for stat_, suf in _STATS:
            v = r.number(m, f"{metric}.{stat_}")
            r.figure(f"{stem}_ms{suf}", r.at_least(None if v is None else v * scale, f"{metric}.{stat_}", "ms"),
                     f"{metric}.{stat_}")
    for metric, key in _AIPERF_RATES.items():
        m = o.get(metric)
        if isinstance(m, dict):
            r.figure(key, r.number(m, f"{metric}.avg"), f"{metric}.avg")
    if not any(k.startswith(("ttft", "tpot")) for k in r.measured):
        raise r.fail("time_to_first_token", "is missing, and so is inter_token_latency: the run measured no latency "
                     "dagc fits on")
    load, where = _loadgen(r)
    requests = _requests(r, load, where)
    if "request_rate" not in load and "concurrency" not in load:
        raise _no_traffic(r, where)
    rate = load.get("request_rate")
    rate = None if rate is None else _rate(r, rate)
    concurrency = r.number(load, f"{where}.concurrency", whole=True)
    phased = where.startswith("input_config.phases.")       # AIPerf 0.13's names: `rate`, `type`
    r.fields |= {"rate": f"{where}.{'rate' if phased else 'request_rate'}", "concurrency": f"{where}.concurrency",
                 "prompt": "input_sequence_length.avg", "generate": "output_sequence_length.avg"}
    prompt = _metric_avg(r, "input_sequence_length")
    generate = _metric_avg(r, "output_sequence_length")
    for name, v in (("input_sequence_length", prompt), ("output_sequence_length", generate)):
        if v is None:
            raise r.fail(name, "is missing: the run's mean lengths")
    assert prompt is not None and generate is not None
    r.refuse(rc.aiperf_model_shape(o))      # `model_names` `[5]`, `[]`: read as no model until 2026-12-03
    model = rc.aiperf_model(o)      # `input_config.endpoint.model_names` (genai-perf: `input_config.model`)
    r.fields |= {"gpu": "telemetry_data.gpu_name", "arrival": f"{where}.{'type' if phased else 'request_rate_mode'}"}
    r.fields |= {} if model is None else {"model": model[1]}
    return MeasuredRun(rid, path, "aiperf", r.src, r.at, r.end, int(requests), rate,
                       None if concurrency is None else int(concurrency), prompt, generate, r.measured, r.fields,
                       None if model is None else model[0], gpu=rc.aiperf_gpu(o), arrival=rc.aiperf_arrival(load))


def _loadgen(r: _Run) -> tuple[Mapping[str, object], str]:
    """AIPerf's `input_config.loadgen`, else genai-perf's `input_config` (its traffic at the top: `concurrency`,
    `request_rate`), and its dotted name; E110 at `input_config` (or its `loadgen`) when it is not an object, and
    at the run when there is none (`{}`: the caller names what is missing, never guessing a burst)."""
    cfg = r.obj.get("input_config", ...)
    if cfg is ...:
        return {}, "input_config"
    if not isinstance(cfg, dict):
        raise r.fail("input_config", "is not an object of the run's settings ({\"loadgen\": …, \"endpoint\": …})")
    if (phase := aiperf_phases.profiling_phase(cfg)) is not None:     # AIPerf 0.13: `phases`, no `loadgen`
        if len(phase) == 3:
            raise r.fail(*phase)
        return phase
    loadgen = cfg.get("loadgen", ...)
    if loadgen is ... or (loadgen is None and ("concurrency" in cfg or "request_rate" in cfg)):
        return cfg, "input_config"
    if not isinstance(loadgen, dict):
        raise r.fail("input_config.loadgen", "is not an object of the run's load ({\"concurrency\": …})")
    return loadgen, "input_config.loadgen"


def _no_traffic(r: _Run, where: str) -> PlanError:
    """E110 naming the field that would say how the run sent its requests, located at the nearest that is there
    (a run without it was read as every request sent at once: a guess)."""
    cfg = r.obj.get("input_config")
    missing, at = ((f"{where}.concurrency", where) if where == "input_config.loadgen" or
                   (isinstance(cfg, dict) and "loadgen" in cfg) else
                   ("input_config.loadgen", "input_config") if isinstance(cfg, dict) else ("input_config", ""))
    also = " (and `request_rate`)" if missing.endswith("concurrency") else ""
    span = locate(r.src, r.at, at, r.end) if at else r.src.span(r.at, r.at)
    return run_error(r.src, span.start, f"field `{missing}` is missing{also}: how the run sent its requests (its "
                     "`concurrency` or `request_rate`)")


def _requests(r: _Run, load: Mapping[str, object], where: str) -> float:
    if r.obj.get("was_cancelled") is True:          # its `request_count` the requests done when it was stopped
        raise r.fail("was_cancelled", *rc.CANCELLED)
    if r.obj.get("is_complete") is False:           # AIPerf 0.13: the run degraded before it finished
        raise r.fail("is_complete", *rc.INCOMPLETE)
    requests = _metric_avg(r, "request_count", whole=True)
    r.fields["requests"] = "request_count.avg"
    if requests is None:
        requests = r.number(load, f"{where}.request_count", whole=True)
        r.fields["requests"] = f"{where}.{'requests' if where.startswith('input_config.phases.') else 'request_count'}"
    if requests is None:
        raise r.fail("request_count", "is missing (and `input_config.loadgen.request_count`): how many requests "
                     "the run sent")
    if (failed := rc.aiperf_failed(r.obj)) is not None:     # `request_count.avg` is the requests that succeeded
        _failed(r, failed[0], requests + failed[0] * (r.fields["requests"] == "request_count.avg"), failed[1])
    return requests


def _metric_avg(r: _Run, metric: str, whole: bool = False) -> float | None:
    m = r.obj.get(metric)
    if m is None:
        return None
    if not isinstance(m, dict):
        raise r.fail(metric, "is not a metric object ({\"unit\": …, \"avg\": …})")
    # a count is whole (AIPerf writes `400.0`): until 2026-12-03 a `request_count.avg` of 400.7 was rounded, unsaid
    return r.number(m, f"{metric}.avg", whole=whole)
