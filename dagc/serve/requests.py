"""The requests a traffic sends: when each arrives and how long its prompt and output are.

Input: a `Traffic` and the `Workload` it belongs to. Output: `Requests` — per request, in arrival order,
its arrival time (None for a closed loop, whose clients send when their last request ends), prompt and
output tokens, and the hash ids of its prompt's blocks where the traffic has them (a shared `prefix`, or
a Mooncake log's) — for `dagc.serve.load`. Drawn from the traffic's seed: the same traffic, the same
requests.

- Arrivals: a request log's own times (with `rate`: scaled so that its first `requests` arrive at that mean
  rate), or at `rate` — poisson (exponential gaps drawn from `seed`) or uniform — or none (closed loop).
- Lengths: a log's; else the workload's `prompt` and `generate`, fixed or drawn (`lengths`) around them as
  means with the spread `length_cv` (docs/language.md): whole numbers from 1 to `DRAW_LIMIT` × the mean.
  With a `prefix`, the prompt is the prefix and a drawn rest around `prompt − prefix`, so its mean stays.
- Prefix: one mechanism for logs and `prefix`, the prompt's block hash ids — a request whose leading ids a
  cached request has skips prefilling those blocks. A `prefix` of P tokens is ⌈P / 512⌉ blocks every
  request shares (ids 0, 1, …), then ids of the request's own; see `dagc.lang.traffic.prefix_block_tokens`.
  With `warm` = N, the first N prompts are blocks of `WARM_BLOCK_TOKENS` with ids of their own, which every rank's
  cache holds when the run starts (`dagc.serve.kv_blocks.RankKV.preload`); the later requests have none.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..lang.traffic import LENGTH_CV_DEFAULT, PREFIX_BLOCK_TOKENS, WARM_BLOCK_TOKENS, prefix_block_tokens
from ..plan.workload import RequestLog, Traffic, Workload

__all__ = ["DRAW_LIMIT", "Requests", "draw_lengths", "length_limit", "longest_request", "prefix_hash_ids",
           "request_lengths", "requests_of", "warm_hash_ids"]

DRAW_LIMIT = 20        # a drawn length is at most this many times its mean (docs/language.md)
_SCALINGS = 8          # rescalings of drawn lengths to their mean past the clipping (`draw_lengths`)


@dataclass(frozen=True)
class Requests:
    """Per request (arrays of one length, arrival order): arrival s (None: closed loop), prompt and output
    tokens; the prompt's block hash ids, request i's `hash_ids[hash_offsets[i]:hash_offsets[i+1]]`, each
    `block_tokens` long (None: no request shares a prefix)."""

    arrival: np.ndarray | None
    prompt: np.ndarray
    output: np.ndarray
    block_tokens: int = 512
    hash_ids: np.ndarray | None = None
    hash_offsets: np.ndarray | None = None
    warm: int = 0                  # the first requests whose prompts' hash ids are cached when the run starts

    def __len__(self) -> int:
        return len(self.prompt)


def requests_of(traffic: Traffic, workload: Workload) -> Requests:
    """The requests `traffic` sends (module docstring).

    Example:
        >>> from dagc.plan.workload import Traffic, Workload
        >>> w = Workload(batch=8, prompt=2000, generate=100)
        >>> r = requests_of(Traffic(requests=3, rate=2.0, arrival="uniform", prefix=1000), w)
        >>> r.arrival.tolist(), r.prompt.tolist(), r.block_tokens, r.hash_ids[:6].tolist()
        ([0.0, 0.5, 1.0], [2000, 2000, 2000], 500, [0, 1, 2, 3, 0, 1])
    """
    n = traffic.requests
    prompt, output = request_lengths(traffic, workload)
    if traffic.log is not None:
        log = traffic.log
        arrival = None if traffic.concurrency is not None else _log_arrival(log, n, traffic.rate)
        if log.hash_ids is not None and log.hash_offsets is not None:
            offsets = log.hash_offsets[:n + 1]
            return Requests(arrival, prompt, output, log.block_tokens, log.hash_ids[:offsets[-1]], offsets)
    else:
        arrival = _arrival(traffic, n)
    if traffic.warm:
        ids, offsets = warm_hash_ids(prompt, traffic.warm)
        return Requests(arrival, prompt, output, WARM_BLOCK_TOKENS, ids, offsets, traffic.warm)
    if not traffic.prefix:
        return Requests(arrival, prompt, output)
    ids, offsets, block = prefix_hash_ids(prompt, traffic.prefix)
    return Requests(arrival, prompt, output, block, ids, offsets)


def request_lengths(traffic: Traffic, workload: Workload) -> tuple[np.ndarray, np.ndarray]:
    """Per request `traffic` sends, in arrival order, its prompt and output tokens (`requests_of`'s): a log's
    first `requests`; else the workload's `prompt` and `generate`, fixed or drawn from the traffic's seed
    (module docstring)."""
    n = traffic.requests
    if traffic.log is not None:
        return traffic.log.prompt[:n], traffic.log.output[:n]
    rest = draw_lengths(traffic.lengths, workload.prompt - traffic.prefix, traffic.length_cv, n,
                        np.random.default_rng([traffic.seed, 1]))
    output = draw_lengths(traffic.lengths, workload.generate, traffic.length_cv, n,
                          np.random.default_rng([traffic.seed, 2]))
    return traffic.prefix + rest, output


def longest_request(workload: Workload) -> int:
    """The most tokens (prompt + output) one request of `workload` reaches: the longest its traffic sends
    (`request_lengths`, the requests its load simulation serves — a log's longest, the longest drawn), else
    prompt + generate. What an engine's length limit must be for it to accept every request dagc judged
    (vLLM `--max-model-len`: `dagc.launch.serving`).

    Example:
        >>> from dagc.plan.workload import Traffic, Workload
        >>> w = Workload(batch=8, prompt=2000, generate=100)
        >>> longest_request(w), longest_request(w.model_copy(update={"traffic": Traffic(requests=100, rate=2.0)}))
        (2100, 2100)
        >>> drawn = Traffic(requests=100, rate=2.0, lengths="lognormal")
        >>> longest_request(w.model_copy(update={"traffic": drawn}))
        7590
    """
    fixed = workload.prompt + workload.generate
    if workload.traffic is None:
        return fixed
    prompt, output = request_lengths(workload.traffic, workload)
    return int((prompt + output).max()) if len(prompt) else fixed


def length_limit(workload: Workload, context: int | None) -> int:
    """The length limit `dagc launch` starts an engine with (vLLM `--max-model-len`, SGLang `--context-length`,
    TensorRT-LLM `max_seq_len`): the longest request the workload sends (`longest_request`), never above the
    model's context (`context`, None: not known) — an engine refuses a limit above it. A plan's prompt +
    generate and a log's requests are within the context (E111, `dagc.lang.context`); only drawn lengths
    (`lengths`) can reach past it, and those few requests the engine refuses.

    Example:
        >>> from dagc.plan.workload import Traffic, Workload
        >>> drawn = Workload(batch=8, prompt=2000, generate=100, traffic=Traffic(requests=100, rate=2.0,
        ...                                                                       lengths="lognormal"))
        >>> length_limit(drawn, None), length_limit(drawn, 4096), length_limit(drawn, 32768)
        (7590, 4096, 7590)
    """
    longest = longest_request(workload)
    return longest if context is None else min(longest, context)


def _arrival(traffic: Traffic, n: int) -> np.ndarray | None:
    if traffic.rate is None:
        return None
    gap = 1.0 / traffic.rate
    if traffic.arrival == "uniform":
        return np.arange(n, dtype=float) * gap
    return np.cumsum(np.random.default_rng(traffic.seed).exponential(gap, n))


def _log_arrival(log: RequestLog, n: int, rate: float | None) -> np.ndarray:
    """The log's first n times; at `rate`, scaled so that they arrive at that mean rate ((n − 1) gaps over
    the last time). A log whose requests all arrive at once has no rate to scale: at `rate` they arrive
    evenly (the plan refuses this; a capacity search may ask it)."""
    times = log.arrival[:n]
    if rate is None or n < 2:
        return times
    if times[-1] <= 0:
        return np.arange(n, dtype=float) / rate
    return times * ((n - 1) / float(times[-1]) / rate)


def draw_lengths(kind: str, mean: int, cv: float | None, n: int, rng: np.random.Generator) -> np.ndarray:
    """n whole lengths of `kind` around `mean` with the spread `cv` (None: the kind's default), each from 1
    to DRAW_LIMIT × mean: uniform on mean·(1 ± √3·cv); exponential shifted, mean·(1 − cv) plus an exponential
    of mean mean·cv; lognormal with σ² = ln(1 + cv²) and the mean kept. The draws are scaled so that their
    own mean is `mean` (a few hundred draws of a skewed spread average several per cent below it, and a
    run's end-to-end latency and output tokens would follow), clipped (and scaled again while the clipping
    moves the mean), and rounded to whole tokens that sum to n × mean.

    Example:
        >>> x = draw_lengths("lognormal", 1000, 0.5, 100_000, np.random.default_rng(0))
        >>> bool(abs(x.mean() / 1000 - 1) < 1e-3), bool(abs(x.std() / x.mean() - 0.5) < 0.02), int(x.min()) >= 1
        (True, True, True)
        >>> float(draw_lengths("lognormal", 509, 0.5, 80, np.random.default_rng(3)).mean())    # 80 draws too
        509.0
    """
    if kind == "fixed" or n == 0:
        return np.full(n, mean, dtype=np.int64)
    c = LENGTH_CV_DEFAULT[kind] if cv is None else cv
    match kind:
        case "uniform":
            x = rng.uniform(mean * (1 - c * math.sqrt(3)), mean * (1 + c * math.sqrt(3)), n)
        case "exponential":
            x = mean * (1 - c) + rng.exponential(mean * c, n) if c > 0 else np.full(n, float(mean))
        case _:
            s2 = math.log1p(c * c)
            x = rng.lognormal(math.log(mean) - s2 / 2, math.sqrt(s2), n)
    top = max(1, DRAW_LIMIT * mean)
    for _ in range(_SCALINGS):            # scaled to the mean, clipped, and again while the clipping moved it
        drawn = float(x.mean())
        if drawn <= 0 or abs(drawn - mean) < 1e-3:
            break
        x = np.clip(x * (mean / drawn), 1, top)
    whole = np.floor(x)
    short = round(mean * n - float(whole.sum()))     # rounded by largest remainders: the whole tokens sum to mean·n
    if 0 < short <= n:
        whole[np.argsort(whole - x, kind="stable")[:short]] += 1
    return np.clip(whole, 1, top).astype(np.int64)


def prefix_hash_ids(prompt: np.ndarray, prefix: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Hash ids for prompts that share their first `prefix` tokens: (ids, offsets, block tokens). Each prompt
    is cut into blocks of `prefix_block_tokens(prefix)`; its first ⌈prefix / 512⌉ blocks are ids 0, 1, … for
    every request, the others ids no other request has.

    Example:
        >>> ids, offsets, block = prefix_hash_ids(np.array([1500, 1100]), 1000)
        >>> block, ids.tolist(), offsets.tolist()
        (500, [0, 1, 2, 0, 1, 3], [0, 3, 6])
    """
    block = prefix_block_tokens(prefix)
    shared = -(-prefix // PREFIX_BLOCK_TOKENS)
    n = len(prompt)
    counts = np.maximum(-(-np.asarray(prompt, dtype=np.int64) // block), shared + 1)
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    owner = np.repeat(np.arange(n), counts)
    at = np.arange(int(offsets[-1]), dtype=np.int64) - offsets[owner]
    own_before = offsets[:-1] - shared * np.arange(n, dtype=np.int64)
    ids = np.where(at < shared, at, shared + own_before[owner] + (at - shared))
    return ids.astype(np.int64), offsets, block


def warm_hash_ids(prompt: np.ndarray, warm: int) -> tuple[np.ndarray, np.ndarray]:
    """Hash ids for a run whose first `warm` prompts are cached when it starts: (ids, offsets). Each of those prompts
    is its own blocks of `WARM_BLOCK_TOKENS`, ids no other request has; the later requests have none.

    Example:
        >>> ids, offsets = warm_hash_ids(np.array([40, 16, 100]), 2)
        >>> ids.tolist(), offsets.tolist()
        ([0, 1, 2, 3], [0, 3, 4, 4])
    """
    counts = np.zeros(len(prompt), dtype=np.int64)
    counts[:warm] = -(-np.asarray(prompt[:warm], dtype=np.int64) // WARM_BLOCK_TOKENS)
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    return np.arange(int(offsets[-1]), dtype=np.int64), offsets
