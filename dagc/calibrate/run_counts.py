"""A run's requests sent and which of its per-request entries succeeded, from its count fields (`failed`,
`failures`) and its `errors` (`dagc.calibrate.run_fields`).

Input: a parsed JSON object of a run file. Output: counts and flags; nothing raised (the caller checks the fields).
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["requests_sent", "succeeded"]


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
