"""The workload's traffic: the requests a load simulation runs (docs/language.md, "Traffic").

Input: the workload's values as `dagc.lang.blocks.read_block` reads them, its `requests from "…"` entry if
any, and the plan's import roots. Output: a `Traffic` — an open loop at `rate`, a closed loop of
`concurrency` clients, or a request log (`dagc.lang.request_log`), with the prompt and output lengths fixed
or drawn (`lengths`, `length_cv`) and a shared `prefix` — None when the workload has no traffic, or BAD after
diagnostics: E104 at the field when fields do not go together, E108 for a log that cannot be used.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..diagnostics import code
from ..plan.workload import RequestLog, Traffic
from ..source import Span
from .block_fields import TrafficFields, traffic_fields
from .blocks import BAD, Bad, Collector, Item
from .fields import TRAFFIC_FIELDS, FieldValue
from .model import ImportRoots
from .request_log import read_request_log

__all__ = ["LENGTH_CV_DEFAULT", "LENGTH_CV_MAX", "MAX_PREFIX_BLOCKS", "PREFIX_BLOCK_TOKENS", "REQUESTS_DEFAULT",
           "WARM_BLOCK_TOKENS", "prefix_block_tokens", "read_traffic"]

REQUESTS_DEFAULT = 1000            # requests simulated when the traffic names none (docs/language.md)
# The spread of drawn lengths unless `length_cv` says, and the widest each distribution takes: a uniform
# spread wider than 1/√3 would reach below zero; a shifted exponential's is at most 1, the plain one's.
LENGTH_CV_DEFAULT = {"uniform": 0.5, "exponential": 1.0, "lognormal": 0.5}
LENGTH_CV_MAX = {"uniform": 0.57, "exponential": 1.0, "lognormal": 4.0}
PREFIX_BLOCK_TOKENS = 512          # the most tokens of a shared prefix one hash id stands for
MAX_PREFIX_BLOCKS = 50_000_000     # hash ids a `prefix` may make over all requests (~400 MB; docs/limits.md)
# The tokens each hash id of a `warm` prompt stands for: the KV cache's block (`dagc.serve.kv_blocks.BLOCK_TOKENS`,
# vLLM's `--block-size 16`; SGLang's radix cache matches every token), so that all of a cached prompt but its last
# block's tokens is found in the cache.
WARM_BLOCK_TOKENS = 16


def prefix_block_tokens(prefix: int) -> int:
    """The tokens each hash id stands for under a shared `prefix`: the prefix cut into ⌈prefix / 512⌉ equal
    blocks, rounded down — so the blocks cover the prefix but for fewer tokens than there are blocks.

    Example:
        >>> prefix_block_tokens(2000), prefix_block_tokens(1024), prefix_block_tokens(100)
        (500, 512, 100)
    """
    blocks = -(-prefix // PREFIX_BLOCK_TOKENS)
    return max(1, prefix // max(1, blocks))


def read_traffic(out: Collector, roots: ImportRoots, read: Mapping[str, FieldValue | Bad], log_item: Item | None,
                 span: Span) -> Traffic | None | Bad:
    """The workload's traffic, None without any traffic field, or BAD after diagnostics (module docstring)."""
    given = [k for k in TRAFFIC_FIELDS if k in read]
    if not given and log_item is None:
        return None
    if any(read[k] is BAD for k in given):
        return BAD
    values = traffic_fields(read)           # the prompt left out when it did not read: no prefix is checked on it
    log = read_request_log(out, roots, log_item, values.get("requests")) if log_item is not None else None
    if isinstance(log, Bad):
        return BAD

    def bad(key: str, message: str, hint: str) -> Bad:
        return out.error("E104", message, out.spans.get(f"workload.{key}", span), hint)

    problem = _loop_problem(values, given, log) or _length_problem(values, log)
    if problem is not None:
        return bad(*problem)
    requests = values.get("requests", log.requests if log is not None else REQUESTS_DEFAULT)
    problem = (_warm_problem(values, log, requests)
               or (_log_problem(values, log, requests) if log is not None else _prefix_problem(values, requests)))
    if problem is not None:
        return bad(*problem)
    return Traffic(requests=requests, rate=values.get("rate"),
                   arrival=values.get("arrival", "poisson"), seed=values.get("seed", 0),
                   concurrency=values.get("concurrency"), ramp=values.get("ramp"), log=log,
                   lengths=values.get("lengths", "fixed"), length_cv=values.get("length_cv"),
                   prefix=values.get("prefix", 0), warm=values.get("warm", 0))


def _loop_problem(values: TrafficFields, given: list[str], log: RequestLog | None) -> tuple[str, str, str] | None:
    """(field, message, hint) when the way requests arrive is said twice, or not at all."""
    rate, concurrency = values.get("rate"), values.get("concurrency")
    if rate is not None and concurrency is not None:
        return ("concurrency", "the traffic has both a `rate` and a `concurrency`",
                "keep `rate = … requests/s` (requests arriving at random) or `concurrency = N` (N clients "
                "each sending its next request when the last ends), not both")
    if rate is None and concurrency is None and log is None:
        return (given[0], f"`{given[0]}` describes traffic, but the workload has neither `rate` nor `concurrency`",
                'add `rate = 12 requests/s` (open loop), `concurrency = 64` (closed loop) or `requests from '
                '"trace.csv"` (a request log)')
    if "arrival" in values and (concurrency is not None or log is not None):
        return ("arrival", "`arrival` spaces an open loop's requests; "
                + ("a closed loop's follow its clients" if concurrency is not None else
                   "a request log's arrive at its own times (with `rate`, scaled to that mean rate)"),
                "remove `arrival`" + ("" if log is not None else ", or write `rate = … requests/s` instead of "
                                                                  "`concurrency`"))
    if "ramp" in values and concurrency is None:
        return ("ramp", "`ramp` spreads a closed loop's first requests; "
                + ("an open loop's arrive at its `rate`" if rate is not None else "a log's arrive at its times"),
                "remove `ramp`, or write `concurrency = N` (a closed loop)")
    if log is not None and "seed" in values:
        return ("seed", "a request log is replayed as written: nothing is drawn from `seed`", "remove `seed`")
    return None


def _length_problem(values: TrafficFields, log: RequestLog | None) -> tuple[str, str, str] | None:
    """(field, message, hint) when `lengths` and `length_cv` do not go together, or with a log."""
    lengths = values.get("lengths", "fixed")
    if log is not None:
        for key in ("lengths", "length_cv"):
            if key in values:
                return (key, f"`{key}` draws lengths, but the request log gives each request's prompt and output",
                        f"remove `{key}`, or the `requests from` line")
        if log.format == "mooncake" and values.get("prefix"):
            return ("prefix", "a Mooncake log marks its shared prefixes itself, with hash ids",
                    "remove `prefix`: the log's hash ids say which prompt blocks requests share")
        return None
    if "length_cv" in values and lengths == "fixed":
        return ("length_cv", "`length_cv` is the spread of drawn lengths, but `lengths` is fixed",
                "write `lengths = uniform`, `exponential` or `lognormal`, or remove `length_cv`")
    cv = values.get("length_cv")
    if cv is not None and cv > LENGTH_CV_MAX[lengths]:
        return ("length_cv", f"`length_cv` = {cv:g} is wider than {lengths} lengths spread (at most "
                f"{LENGTH_CV_MAX[lengths]:g})", "write a smaller `length_cv`, or `lengths = lognormal` "
                f"(up to {LENGTH_CV_MAX['lognormal']:g})")
    return None


def _warm_problem(values: TrafficFields, log: RequestLog | None, requests: int) -> tuple[str, str, str] | None:
    """(field, message, hint) when the requests cached before the run are more than it sends, or go with a log or a
    shared prefix (whose hash ids say what is cached), or make too many hash ids."""
    warm = values.get("warm", 0)
    if not warm:
        return None
    if log is not None or values.get("prefix"):
        other = "a request log" if log is not None else "a shared `prefix`"
        return ("warm", f"`warm` caches the first requests' prompts before the run; it does not go with {other}",
                "remove `warm`, or " + ("the `requests from` line" if log is not None else "`prefix`"))
    if warm > requests:
        return ("warm", f"`warm` = {warm:,} requests, but the traffic sends {requests:,}",
                f"write `warm = {requests}` or fewer: the first requests whose prompts are cached when the run starts")
    prompt = values.get("prompt")
    blocks = warm * (prompt / WARM_BLOCK_TOKENS + 1) if isinstance(prompt, int) else 0.0
    if blocks <= MAX_PREFIX_BLOCKS:
        return None
    return ("warm", f"`warm` = {warm:,} requests cut their prompts into about {blocks:.2g} blocks of "
            f"{WARM_BLOCK_TOKENS} tokens; dagc holds at most {MAX_PREFIX_BLOCKS:,}", "cache fewer requests' prompts")


def _prefix_problem(values: TrafficFields, requests: int) -> tuple[str, str, str] | None:
    """(field, message, hint) when the shared prefix is not shorter than the prompt, or makes too many ids."""
    prefix, prompt = values.get("prefix", 0), values.get("prompt")
    if not prefix or not isinstance(prompt, int):
        return None
    if prefix >= prompt:
        return ("prefix", f"`prefix` = {prefix:,} tokens is not shorter than the prompt ({prompt:,} tokens)",
                "the prefix is the leading part of each prompt that every request shares: write fewer tokens "
                "than `prompt`")
    return _blocks_problem(prefix, requests * (prompt / prefix_block_tokens(prefix) + 1))


def _blocks_problem(prefix: int, blocks: float) -> tuple[str, str, str] | None:
    if blocks <= MAX_PREFIX_BLOCKS:
        return None
    return ("prefix", f"`prefix` = {prefix:,} tokens cuts the prompts into about {blocks:.2g} blocks of "
            f"{prefix_block_tokens(prefix):,} tokens; dagc holds at most {MAX_PREFIX_BLOCKS:,}",
            "simulate fewer requests, or a longer prefix (its blocks are up to 512 tokens)")


def _log_problem(values: TrafficFields, log: RequestLog, requests: int) -> tuple[str, str, str] | None:
    """(field, message, hint) when the plan asks the log for what it does not have."""
    if requests > log.requests:
        return ("requests", f"`requests` = {requests:,}, but the request log {code(log.file)} has {log.requests:,}",
                f"write `requests = {log.requests}` or fewer, or remove `requests` to replay the whole log")
    if values.get("rate") is not None and requests == 1:      # no gap to scale, as below (docs/language.md)
        alone = (f"the request log {code(log.file)} holds one request" if values.get("requests") is None
                 else "`requests` = 1 replays one request of the log")
        return ("rate", f"{alone}: `rate` has no gap between requests to scale",
                "remove `rate` (the request arrives at the start, at any rate), or replay more requests of a log "
                "whose requests spread in time")
    if values.get("rate") is not None and log.arrival[requests - 1] <= 0:
        return ("rate", f"the log's first {requests:,} requests all arrive at once: `rate` cannot scale their times",
                "remove `rate` (the log is replayed at its own times), or use a log whose requests spread in time")
    prefix = values.get("prefix", 0)
    if prefix:
        prompt = log.prompt[:requests]
        shortest = int(prompt.argmin())
        # the message names the shortest prompt's length and the hint the most that fits (until 2026-12-01 "write
        # fewer tokens than the log's shortest prompt", with no figure)
        if prefix >= (least := int(prompt[shortest])):
            fits = (f"write `prefix = {least - 1}` or fewer" if least > 1 else
                    "a prompt of 1 token has no room for one: remove `prefix`")
            return ("prefix", f"`prefix` = {prefix:,} tokens is not shorter than the prompt of the request on line "
                    f"{shortest + log.first_line:,} of {code(log.file)}, the log's shortest: {least:,} tokens",
                    f"the prefix is the leading part of each prompt that every request shares: {fits}")
        block = prefix_block_tokens(prefix)
        return _blocks_problem(prefix, float((-(-prompt // block)).sum()))
    return None

