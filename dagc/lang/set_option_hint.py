"""The hint of E001 for a `--set` option that is not `FIELD=VALUE` (`dagc.lang.overrides.Override.parse`).

Input: the option as written. Output: the hint — for a requirement written as the plan writes it, with its
comparison (`require.ttft<=1 s`), the option that sets it (`--set 'require.ttft=1 s'`); else what an option is.
"""

from __future__ import annotations

import re

__all__ = ["set_form_hint"]

GENERAL = ("a plan field by its dotted path and a value written as in the plan, e.g. --set workload.batch=256 or "
           "--set require.ttft='2 s'")
_COMPARED = re.compile(r"\s*(require\.[A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|=<|=>|<|>)\s*(\S.*?)\s*", re.S)


def set_form_hint(option: str) -> str:
    """E001's hint for `option`, an option that is not `FIELD=VALUE`.

    Example:
        >>> set_form_hint("require.ttft<=1 s")
        "a requirement is set by its target alone: --set 'require.ttft=1 s' (the plan's comparison is kept; one \
the plan does not have is added as a bound from above, a floor for a throughput or goodput)"
        >>> set_form_hint("workload.batch") == GENERAL
        True
    """
    m = _COMPARED.fullmatch(option)
    if m is None or "\n" in m[3]:
        return GENERAL
    return (f"a requirement is set by its target alone: --set '{m[1]}={m[3]}' (the plan's comparison is kept; one "
            "the plan does not have is added as a bound from above, a floor for a throughput or goodput)")
