"""What a run file's value is when it is no number (`dagc.calibrate.run_fields`): its JSON kind, never its text.

Input: a JSON value a number was read from. Output: the words of E110 at it. A figure written in quotes
(`"p99_ttft_ms": "650.0"`, as a hand-edited or re-serialised file has it) was told it "is not a positive number
from 1e-06 up to 1e+12" — which 650 is —, so a user looked for a wrong figure, not for the quotes.
"""

from __future__ import annotations

from .measured import RUN_HINT

__all__ = ["FIXED_RATE_HINT", "refused_rate", "refused_value"]

# what to calibrate on instead of a run of neither a fixed rate nor clients (a ramp, a trace's timestamps)
FIXED_RATE_HINT = "calibrate on runs at a fixed `--request-rate` (or clients alone, `--max-concurrency` with " \
    "`--request-rate inf`)"

_KINDS = ((str, "a string"), (bool, "true or false"), (list, "a list"), (dict, "an object"))


def refused_value(v: object, number_words: str) -> str:
    """E110's words for `v`, refused where `number_words` (`whole number`, `number from … up to …`) is read.

    Example:
        >>> refused_value("650.0", "number from 1e-06 up to 1e+12")
        'is a string, not a number: the tools write their figures as JSON numbers, without quotes'
        >>> refused_value(-5, "whole number")
        'is not a positive whole number'
    """
    kind = next((name for t, name in _KINDS if isinstance(v, t)), None)
    if kind is not None:
        return f"is {kind}, not a number: the tools write their figures as JSON numbers, without quotes"
    return f"is not a positive {number_words}"


def refused_rate(v: object) -> tuple[str, str]:
    """E110's words and hint for a `request_rate` that is neither a positive number nor `"inf"` (all requests at
    once). SGLang's bench_serving writes `"trace"` for a run that replayed a trace's timestamps
    (`--use-trace-timestamps`, python/sglang/bench_serving.py): no rate, and no traffic a calibration's run is
    matched by (until 2026-11-30 it was told to write the rate without quotes).

    Example:
        >>> refused_rate("20")[0]
        'is a string other than "inf": a rate is a JSON number, without quotes ("inf", all at once, alone is quoted)'
        >>> refused_rate(-1)[0]
        'is not a rate in requests/s (a positive number, or "inf")'
        >>> refused_rate("trace")[0][:63]
        'is `trace`: the run replayed the timestamps of a trace (`--use-'
    """
    if v == "trace":
        return ("is `trace`: the run replayed the timestamps of a trace (`--use-trace-timestamps`), not a fixed rate "
                "or clients, the traffic `dagc calibrate` matches a run to its plan by", FIXED_RATE_HINT)
    if isinstance(v, str):
        return ('is a string other than "inf": a rate is a JSON number, without quotes ("inf", all at once, alone is '
                'quoted)', RUN_HINT)
    return 'is not a rate in requests/s (a positive number, or "inf")', RUN_HINT
