"""A run's figure written under another name than its tool writes it: dagc's own key (`ttft_ms`, `tpot_ms_median`,
`output_tokens_per_s`, as docs/calibrate.md lists what each field is to dagc) or the tool's words in another order
(`ttft_mean_ms`, `avg_ttft_ms`). No benchmark writes these: a user who made or converted the file by hand did, and its
figure was not read — the file refused as having "none of the fields" of a tool's, or, beside fields of the tool's
own, left out of the fit without a word (until 2026-11-30).

Input: the run's JSON object, where it is in its file. Output: the object, or E110 at the first such key, naming the
field the tool writes (`mean_ttft_ms`).
"""

from __future__ import annotations

import itertools

from ..diagnostics import PlanError, quote
from ..source import SourceFile
from .measured import locate, run_error

__all__ = ["named", "tool_name"]

_STATS = {"mean": "mean", "avg": "mean", "average": "mean", "median": "median", "p50": "median", "p99": "p99"}
_LATENCIES = ("ttft", "tpot", "itl", "e2el")
_DAGC = {"e2e": "e2el"}                               # dagc's `e2e_ms` is vLLM's `e2el`
_SUFFIX = {"mean": "", "median": "_median", "p99": "_p99"}
# vLLM's field of each of dagc's own keys and of each spelling of the tool's words in another order
_TOOL = {f"{dagc}_ms{_SUFFIX[s]}": f"{s}_{_DAGC.get(dagc, dagc)}_ms"
         for dagc in (*_LATENCIES[:3], "e2e") for s in _SUFFIX}
_TOOL |= {"output_tokens_per_s": "output_throughput", "total_tokens_per_s": "total_token_throughput",
          "requests_per_s": "request_throughput"}
_TOOL |= {"_".join(words): f"{_STATS[stat]}_{q}_ms" for stat in _STATS for q in _LATENCIES
          for words in itertools.permutations((stat, q, "ms")) if "_".join(words) != f"{stat}_{q}_ms" or stat in
          ("avg", "average", "p50")}
# without its unit (`mean_ttft`, `ttft_p99`: a file edited by hand; until 2026-12-01 left out of the fit unsaid)
_TOOL |= {"_".join(words): f"{_STATS[stat]}_{q}_ms" for stat in _STATS for q in _LATENCIES
          for words in itertools.permutations((stat, q))}


def tool_name(key: str) -> str | None:
    """The field vLLM writes for `key`, a name of one of its figures that no tool writes; None for any other key.

    Example:
        >>> tool_name("ttft_mean_ms"), tool_name("ttft_ms"), tool_name("avg_tpot_ms"), tool_name("mean_ttft_ms")
        ('mean_ttft_ms', 'mean_ttft_ms', 'mean_tpot_ms', None)
        >>> tool_name("mean_ttft"), tool_name("tpot_p99")
        ('mean_ttft_ms', 'p99_tpot_ms')
    """
    return _TOOL.get(key.strip().lower())


def named(src: SourceFile, at: int, end: int, obj: object) -> object:
    """`obj`, the run at [at, end) of `src`; E110 at its first key that `tool_name` knows (module docstring)."""
    if not isinstance(obj, dict):
        return obj
    for key in obj:
        if isinstance(key, str) and (tool := tool_name(key)) is not None:
            raise _misnamed(src, at, end, key, tool)
    return obj


def _misnamed(src: SourceFile, at: int, end: int, key: str, tool: str) -> PlanError:
    return run_error(src, locate(src, at, key, end).start,
                     f"field `{quote(key, 80)}` is not a field of vLLM's, SGLang's or AIPerf's results: its figure "
                     "would not be read",
                     f"the tools write it `{tool}` (docs/calibrate.md, \"What it reads\"): rename the field, or "
                     "give the file the benchmark wrote")
