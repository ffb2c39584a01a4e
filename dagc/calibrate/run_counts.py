"""A run's requests sent and which of its per-request entries succeeded, from its count fields (`failed`,
`failures`; AIPerf's `error_request_count`, `error_summary`) and its `errors`; an AIPerf run's model
(`dagc.calibrate.run_fields`).

Input: a parsed JSON object of a run file. Output: counts, flags and names; nothing raised (the caller checks the
fields).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from .aiperf_phases import models_name
from .run_values import FIXED_RATE_HINT

__all__ = ["CANCELLED", "GPU_FAMILIES", "INCOMPLETE", "NOT_STREAMED", "POISSON_Z", "aiperf_arrival", "aiperf_failed",
           "aiperf_gpu", "aiperf_model", "aiperf_model_shape", "binding_cap", "faster_than_sent", "gpu_family",
           "not_a_name", "one_token", "ramped", "requests_sent", "succeeded"]

# E110 at AIPerf's `was_cancelled`, true when the benchmark was stopped before it finished (its documented export):
# its figures are of the requests done by then, and `request_count` counts those, not the traffic it was set to send
CANCELLED = ("is true: the benchmark was stopped before it finished, and its figures are of the requests done by "
             "then, not of the traffic it was set to send",
             "calibrate on a run that finished (AIPerf writes `was_cancelled` false)")
# E110 at AIPerf 0.13's `is_complete`, false when "the run degraded before finishing (for example the record-stall
# watchdog fired), so tooling can reject the artifact" (aiperf/common/models/export_models.py); its reason is not shown
INCOMPLETE = ("is false: AIPerf says the run degraded before it finished (`incomplete_reason` says how), and its "
              "figures are not of the traffic it was set to send",
              "calibrate on a run that finished (AIPerf writes `is_complete` true)")
# E110 at a vLLM or SGLang ITL of 0 beside outputs of several tokens: no gap between tokens was timed
# (`np.mean(itls or 0)`), as when the response came in one piece — SGLang's `--disable-stream`
# (python/sglang/bench_serving.py: `"stream": not args.disable_stream`), whose TTFT is then the whole request's
NOT_STREAMED = ("is 0: the run timed no gap between tokens, as a run without streaming (SGLang's `--disable-stream`) "
                "does, whose TTFT is then the whole request's",
                "calibrate on a streamed run (the tools stream by default)")
# the GPU families of the product names a GPU telemetry gives (`NVIDIA H100 80GB HBM3`, `NVIDIA A100-SXM4-80GB`) and
# dagc's preset of each; a name is matched as a part of its own, a longer name first (`GB200` is no `B200`, `H200` no
# `H20`)
GPU_FAMILIES = {"GB300": "gb300", "GB200": "gb200", "B300": "b300", "B200": "b200", "H200": "h200", "H800": "h800",
                "H100": "h100-sxm", "H20": "h20", "A100": "a100-80g", "MI300X": "mi300x"}
_GPU_NAME = re.compile(rf"(?<![A-Z0-9])({'|'.join(GPU_FAMILIES)})(?![0-9])")


def gpu_family(name: str) -> str | None:
    """The family of a GPU's product name, None when it names none dagc has a preset of.

    Example:
        >>> gpu_family("NVIDIA H100 80GB HBM3"), gpu_family("NVIDIA GB200"), gpu_family("NVIDIA H20")
        ('H100', 'GB200', 'H20')
        >>> gpu_family("NVIDIA L40S") is None
        True
    """
    m = _GPU_NAME.search(name.upper())
    return None if m is None else m.group(1)


def aiperf_gpu(o: Mapping[str, object]) -> str | None:
    """The GPU an AIPerf run's telemetry (`--gpu-telemetry`: `telemetry_data.endpoints.*.gpus.*.gpu_name`) names, when
    every GPU it lists is of one family (`gpu_family`); None without telemetry, or of GPUs of several families."""
    tel = o.get("telemetry_data")
    endpoints = tel.get("endpoints") if isinstance(tel, dict) else None
    gpus = [g for e in endpoints.values() if isinstance(e, dict) and isinstance(e.get("gpus"), dict)
            for g in e["gpus"].values()] if isinstance(endpoints, dict) else []
    names = [n for g in gpus if isinstance(g, dict) and isinstance(n := g.get("gpu_name"), str) and n.strip()]
    return names[0] if names and len({gpu_family(n) for n in names}) == 1 else None


def requests_sent(o: Mapping[str, object], completed: float | None) -> float | None:
    """The requests the run sent, failed ones too: `completed` + `failed` (vLLM), + `failures` (SGLang's newer
    releases), else + the non-empty entries of `errors` (SGLang's `--output-details`, one per request sent).

    Example:
        >>> requests_sent({"failures": 3}, 197), requests_sent({"errors": ["", "", "timeout"]}, 2)
        (200, 3)
        >>> requests_sent({}, 200) is None
        True
    """
    if completed is None:
        return None
    for name in ("failed", "failures"):
        n = o.get(name)
        if isinstance(n, int) and not isinstance(n, bool) and n >= 0:
            return completed + n
    errors = o.get("errors")
    if isinstance(errors, list) and all(isinstance(e, str | None) for e in errors):
        return completed + sum(1 for e in errors if e)
    return None


def succeeded(o: Mapping[str, object], n: int) -> list[bool] | None:
    """Which of a run's `n` per-request entries succeeded, by its `errors` (one per request sent; empty: none), when
    it holds one per entry: a failed request's TTFT and ITLs are not measures of the engine."""
    errors = o.get("errors")
    if isinstance(errors, list) and len(errors) == n and all(isinstance(e, str | None) for e in errors):
        return [not e for e in errors]
    return None


def aiperf_failed(o: Mapping[str, object]) -> tuple[int, str] | None:
    """The requests an AIPerf or genai-perf run saw fail, and the field that says so: `error_request_count.avg`
    (its `request_count` counts the requests that succeeded), else the `count`s of its `error_summary`; None when
    neither says (AIPerf writes `error_request_count` null when none failed).

    Example:
        >>> aiperf_failed({"error_request_count": {"unit": "requests", "avg": 40.0}})
        (40, 'error_request_count.avg')
        >>> aiperf_failed({"error_request_count": None, "error_summary": [{"count": 81}, {"count": 3}]})
        (84, 'error_summary')
        >>> aiperf_failed({"error_request_count": None, "error_summary": []}) is None
        True
    """
    m = o.get("error_request_count")
    v = m.get("avg") if isinstance(m, dict) else None
    if isinstance(v, int | float) and not isinstance(v, bool) and v >= 0:
        return round(v), "error_request_count.avg"
    summary = o.get("error_summary")
    counts = [e.get("count") for e in summary if isinstance(e, dict)] if isinstance(summary, list) else []
    n = sum(c for c in counts if isinstance(c, int) and not isinstance(c, bool) and c > 0)
    return (n, "error_summary") if n else None


def aiperf_model(o: Mapping[str, object]) -> tuple[str, str] | None:
    """The model the run served and its field: AIPerf's `input_config.endpoint.model_names` (its first), genai-perf's
    `input_config.model` (a name or a list of them), AIPerf 0.13's `input_config.models`; None when there is none."""
    cfg = o.get("input_config")
    endpoint = cfg.get("endpoint") if isinstance(cfg, dict) else None
    names, field = (endpoint.get("model_names"), "input_config.endpoint.model_names") \
        if isinstance(endpoint, dict) and "model_names" in endpoint else \
        (cfg.get("model") if isinstance(cfg, dict) else None, "input_config.model")
    first = names[0] if isinstance(names, list) and names else names
    if not (isinstance(first, str) and first.strip()) and isinstance(cfg, dict) and "models" in cfg:
        first, field = models_name(cfg), "input_config.models"        # AIPerf 0.13
    return (first, field) if isinstance(first, str) and first.strip() else None


def not_a_name(value: object, field: str) -> tuple[str, str] | None:
    """(field, words) when a run's model is there but no name (`"model_id": 5`); None otherwise."""
    if value is None or isinstance(value, str) and value.strip():
        return None
    return field, "is not a model's name (the tool writes the model it served as a string)"


def aiperf_model_shape(o: Mapping[str, object]) -> tuple[str, str] | None:
    """(field, words) when AIPerf's `input_config.endpoint.model_names` is there but no list of names — empty, or a
    value that is not a name —; None otherwise (absent, or a list of names: `aiperf_model` reads its first).

    Example:
        >>> aiperf_model_shape({"input_config": {"endpoint": {"model_names": [5]}}})[1]
        'is not a list of model names (AIPerf writes the models it ran as names: ["Qwen/Qwen3-30B-A3B"])'
        >>> aiperf_model_shape({"input_config": {"endpoint": {"model_names": ["Qwen/Qwen3-30B-A3B"]}}}) is None
        True
    """
    cfg = o.get("input_config")
    endpoint = cfg.get("endpoint") if isinstance(cfg, dict) else None
    if not isinstance(endpoint, dict) or "model_names" not in endpoint:
        return None
    names = endpoint["model_names"]
    if isinstance(names, list) and names and all(isinstance(n, str) and n.strip() for n in names):
        return None
    return ("input_config.endpoint.model_names",
            'is not a list of model names (AIPerf writes the models it ran as names: ["Qwen/Qwen3-30B-A3B"])')


# AIPerf's `--request-rate-mode` (its RequestRateMode): `constant` spaces the requests evenly, `poisson` (its default)
# draws the gaps — dagc's `arrival = uniform` and `arrival = poisson`; `concurrency_burst` sends no rate
_ARRIVALS = {"constant": "uniform", "poisson": "poisson"}


def aiperf_arrival(load: Mapping[str, object]) -> str | None:
    """How an AIPerf run at a rate spaced its requests, as dagc's `arrival` says it, from its loadgen's
    `request_rate_mode`; None when it does not say (genai-perf) or says another mode.

    Example:
        >>> aiperf_arrival({"request_rate": 4.0, "request_rate_mode": "constant"}), aiperf_arrival({})
        ('uniform', None)
    """
    mode = load.get("request_rate_mode")
    return _ARRIVALS.get(mode.strip().lower()) if isinstance(mode, str) else None


def ramped(o: Mapping[str, object]) -> tuple[str, str] | None:
    """E110's problem and hint for a vLLM run whose rate ramped (`--ramp-up-strategy linear|exponential`: vLLM leaves
    `request_rate` at "inf" and writes `ramp_up_strategy`, `ramp_up_start_rps`, `ramp_up_end_rps`), which dagc's
    traffic does not express; None when it did not (no `ramp_up_strategy`, or null). Until 2026-11-30 such a run was
    read, by its `request_rate`, as every request sent at once.

    Example:
        >>> ramped({"ramp_up_strategy": "exponential", "ramp_up_start_rps": 2, "ramp_up_end_rps": 16})[0][:61]
        "is `exponential`: the run's rate grew from 2 to 16 requests/s"
        >>> ramped({"ramp_up_strategy": None}) is None
        True
    """
    how = o.get("ramp_up_strategy")
    if how is None:
        return None
    a, b = o.get("ramp_up_start_rps"), o.get("ramp_up_end_rps")
    said = f"is `{how}`" if how in ("linear", "exponential") else "is set"
    grew = f" from {a:g} to {b:g} requests/s" if all(isinstance(x, int | float) and not isinstance(x, bool)
                                                        for x in (a, b)) else ""
    return (f"{said}: the run's rate grew{grew} over it (`--ramp-up-strategy`), which dagc's traffic does not "
            "express (a fixed rate, or clients)",
            FIXED_RATE_HINT)


# Standard deviations past the rate a Poisson run's served rate may read before dagc holds it impossible: N arrivals
# at R requests/s span N/R seconds ± √N/R, and the run's duration adds its last request's latency on top
POISSON_Z = 3.0


def faster_than_sent(rate: float | None, served: float | None, requests: float) -> tuple[str, str] | None:
    """E110's words and hint at the served rate of an open loop that served its requests faster than its
    `request_rate` sent them, past `POISSON_Z` standard deviations of the arrivals' span (30 requests or more): the
    summary's figures are not of the traffic its fields say; None when it did not.

    Example:
        >>> faster_than_sent(2.0, 2.48, 200)[0][:60]
        'is more requests a second than `request_rate` sent them: the'
        >>> faster_than_sent(2.0, 2.2, 200) is None
        True
    """
    if rate is None or served is None or requests < 30 or served <= rate * (1 + POISSON_Z / math.sqrt(requests)):
        return None
    return ("is more requests a second than `request_rate` sent them: the run's Poisson arrivals span its requests "
            f"over the rate, and no run of them serves faster by more than {POISSON_Z:g} standard deviations of that "
            "span", "the summary is of another run, or of another rate: check `request_rate`, `num_prompts` and "
            "`duration` against the command that ran it")


def one_token(o: Mapping[str, object]) -> bool:
    """Whether a vLLM or SGLang run's requests output one token each at most (`total_output_tokens` ≤ `completed`,
    `--random-output-len 1`): no second token, so its TPOT and ITL measured nothing, and both tools write them 0
    (`np.mean(tpots or 0)`, vllm/benchmarks/serve.py `calculate_metrics`, python/sglang/bench_serving.py).

    Example:
        >>> one_token({"completed": 200, "total_output_tokens": 200})
        True
        >>> one_token({"completed": 2, "total_output_tokens": 5})
        False
    """
    out, done = o.get("total_output_tokens"), o.get("completed")
    if isinstance(out, bool) or isinstance(done, bool) or not isinstance(out, int | float) or \
            not isinstance(done, int | float):
        return False
    return 0 < done and out <= done


def peak_in_flight(o: Mapping[str, object]) -> float | None:
    """A vLLM run's `max_concurrent_requests`, the most requests it held in flight (`binding_cap`); None: not said.

    Example:
        >>> peak_in_flight({"max_concurrent_requests": 90}), peak_in_flight({}), peak_in_flight({"x": 1})
        (90.0, None, None)
    """
    peak = o.get("max_concurrent_requests")
    return float(peak) if isinstance(peak, int | float) and not isinstance(peak, bool) and peak >= 0 else None


def binding_cap(cap: float | None, rate: float | None, o: Mapping[str, object]) -> float | None:
    """A vLLM run's `max_concurrency`, None where it never bound a run at a rate: its `max_concurrent_requests`, the
    peak of requests in flight (vllm/benchmarks/serve.py `calculate_metrics`: a sweep over the requests' spans, or,
    in older releases, the most active in one second, which is no fewer), below the cap — no request waited for it,
    and the server saw the rate's arrivals alone, an open loop. Until 2026-11-30 every such run was refused, the
    rate and the cap "not both" (a cap set as a safeguard: `--max-concurrency 64` at 4 requests/s, 20 at most in
    flight).

    Example:
        >>> binding_cap(64, 4.0, {"max_concurrent_requests": 20}), binding_cap(64, 4.0, {"max_concurrent_requests": 64})
        (None, 64)
        >>> binding_cap(64, 4.0, {}), binding_cap(16, None, {"max_concurrent_requests": 9})      # no peak; no rate
        (64, 16)
    """
    peak = o.get("max_concurrent_requests")
    if cap is None or rate is None or isinstance(peak, bool) or not isinstance(peak, int | float):
        return cap
    return None if 0 <= peak < cap else cap
