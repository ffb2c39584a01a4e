"""AIPerf 0.13's traffic (`dagc.calibrate.run_fields`): its profile export's `input_config` is the benchmark's
config (aiperf/config/config.py `BenchmarkConfig`, aiperf/exporters/metrics_json_exporter.py), its models in
`models.items` and its traffic in `phases` — no `loadgen` as before 0.13.

Input: the export's `input_config` object. Output: the profiling phase's traffic under the names the loadgen of old
gave it (`concurrency`, `request_rate`, `request_rate_mode`, `request_count`) and the dotted name of the phase, or
E110's field, words and hint for a phase dagc does not match a run by. Each phase has a `type` (aiperf/config/
phases.py): `concurrency` (clients: `concurrency`, 1 when not written), `poisson` and `constant` (a `rate`, a
`concurrency` beside it a cap), `gamma`, `user_centric`, `fixed_schedule` (a trace's timestamps) and others.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["models_name", "profiling_phase"]

# a phase's `type` at a rate → the `request_rate_mode` of old (`dagc.calibrate.run_counts.aiperf_arrival`)
_RATE_TYPES = {"poisson": "poisson", "constant": "constant"}
_INSTEAD = "calibrate on runs of `--concurrency`, or of `--request-rate` with `--arrival-pattern poisson` (AIPerf's " \
    "default) or `constant`"

# (load, its dotted name) or (the refused field's dotted name, words, hint)
Phase = tuple[dict[str, object], str] | tuple[str, str, str]


def _profiling(phases: list[object]) -> list[Mapping[str, object]]:
    """The phases whose metrics the export holds: of kind `profiling` (by its name where it has no kind: AIPerf's
    legacy names), not excluded from the results."""
    return [p for p in phases if isinstance(p, dict) and not p.get("exclude_from_results") and
            (p.get("kind") == "profiling" or (p.get("kind") is None and p.get("name") == "profiling"))]


def profiling_phase(cfg: Mapping[str, object]) -> Phase | None:
    """The export's profiling phase as the loadgen of old said its traffic, and where it is; or why dagc does not
    match a run by it; None when `cfg` has no `phases` (an export before 0.13).

    Example:
        >>> profiling_phase({"phases": [{"name": "profiling", "type": "constant", "rate": 4.0, "requests": 200}]})
        ({'request_count': 200, 'request_rate': 4.0, 'request_rate_mode': 'constant'}, 'input_config.phases.profiling')
    """
    phases = cfg.get("phases")
    if not isinstance(phases, list):
        return None
    found = _profiling(phases)
    if len(found) != 1:
        return ("input_config.phases", f"holds {len(found)} profiling phases: the export's metrics are of one "
                "traffic's, which dagc matches a run to its plan by", _INSTEAD)
    p = found[0]
    where = f"input_config.phases.{p.get('name')}"
    kind = p.get("type")
    load: dict[str, object] = {} if p.get("requests") is None else {"request_count": p["requests"]}
    if kind == "concurrency":
        return load | {"concurrency": p.get("concurrency", 1)}, where
    if kind not in _RATE_TYPES:
        said = "gamma-distributed gaps between its requests, where dagc's arrivals are Poisson or uniform" \
            if kind == "gamma" else "neither a fixed rate nor clients, the traffic `dagc calibrate` matches a run " \
            "to its plan by"
        return f"{where}.type", f"is `{kind}`: the run's phase sent {said}", _INSTEAD
    if p.get("rate_series") is not None:
        return f"{where}.rate_series", "is set: the run's rate followed a series, not one rate", _INSTEAD
    cap = {} if p.get("concurrency") is None else {"concurrency": p["concurrency"]}
    return load | {"request_rate": p.get("rate"), "request_rate_mode": _RATE_TYPES[str(kind)]} | cap, where


def models_name(cfg: Mapping[str, object]) -> str | None:
    """The first model an AIPerf 0.13 config names (`models.items`, or a name or names before normalising);
    None when it names none.

    Example:
        >>> models_name({"models": {"items": [{"name": "Qwen/Qwen3-30B-A3B"}]}}), models_name({})
        ('Qwen/Qwen3-30B-A3B', None)
    """
    models = cfg.get("models")
    items = models.get("items") if isinstance(models, dict) else models if isinstance(models, list) else [models]
    first = items[0] if isinstance(items, list) and items else None
    name = first.get("name") if isinstance(first, dict) else first
    return name if isinstance(name, str) and name.strip() else None
