"""The KV cache of an attention-DP rank in blocks, with a prefix cache: what the in-flight simulation
(`dagc.serve.load`) admits, grows, preempts and reuses.

Input: a `Plan`, a strategy and its `Layout` (`kv_capacity_tokens`: the tokens of requests' context one
attention-DP rank can hold, from dagc's memory model), then requests' blocks. Output: `RankKV`, one
rank's block pool: blocks held by running requests, and a prefix cache of prompt blocks keyed by their
hash ids, kept least recently used first while no request holds them and evicted when room is needed.

A block holds `BLOCK_TOKENS` = 16 tokens, vLLM's default (`--block-size 16`); a request holds
ceil(tokens / 16) blocks of its own beyond the cached prefix it shares.
"""

from __future__ import annotations

from collections import OrderedDict

from ..layout.layout import Layout
from ..memory.activations import activation_bytes_by_stage
from ..memory.admission import kv_tokens_per_rank
from ..memory.memory import MemoryBreakdown, memory
from ..plan.plan import Plan
from ..plan.strategy import Strategy
from ..plan.workload import Workload

__all__ = ["BLOCK_TOKENS", "RankKV", "kv_capacity_of", "kv_capacity_tokens"]

BLOCK_TOKENS = 16


def kv_capacity_tokens(plan: Plan, strategy: Strategy, lay: Layout) -> int:
    """The tokens of requests' context (prompt and generated) one attention-DP rank's KV cache can hold:
    on every stage, the memory left after the weights, the activations and the runtime's reserve
    (`dagc.memory.memory`, as `check` sizes it) over the KV bytes one token of a request costs there
    (that stage's KV cache at the plan's batch and lengths over the tokens it holds); the least over the
    stages (`dagc.memory.admission.kv_tokens_per_rank`, what the steady state admits by too). What vLLM's
    `gpu_memory_utilization` leaves for the KV cache, in tokens.

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> from dagc.verdict.check import check
        >>> plan = load_plan_text('model preset "qwen3-30b-a3b" cluster { gpus = 8 gpu preset "h200" } '
        ...     'workload { batch = 64 prompt = 4000 generate = 500 serving = inflight } strategy tp 8')
        >>> r = check(plan)[0]
        >>> kv_capacity_tokens(plan, r.strategy, r.layout)      # 138.6 GB free / 24.6 kB a token
        5640763
    """
    w = strategy.workload_for(plan.workload)
    mem = memory(plan.model, w, plan.cluster, lay, activation_bytes_by_stage(plan.model, w, plan.cluster, lay),
                 limit_bytes=plan.memory_limit_bytes)
    return kv_capacity_of(mem, lay, w)


def kv_capacity_of(mem: MemoryBreakdown, lay: Layout, workload: Workload) -> int:
    """`kv_capacity_tokens` of the memory the check has already sized for `lay` at `workload` (`analyse`'s
    `MemoryBreakdown`, with the activations of the DAG's ops): the memory is made once per layout and handed
    on, not sized again for the load simulation."""
    return kv_tokens_per_rank(mem, max(1, lay.requests_per_rank) * (workload.prompt + workload.generate))


class RankKV:
    """One attention-DP rank's KV blocks (module docstring): `used` blocks are held by running requests
    or by cached prefix blocks; `evictable` of those are cached blocks no running request holds."""

    __slots__ = ("cache", "entry_blocks", "evictable", "held", "total", "used")

    def __init__(self, blocks: int, hash_tokens: int) -> None:
        self.total = blocks
        self.used = 0
        self.evictable = 0
        self.entry_blocks = -(-hash_tokens // BLOCK_TOKENS)     # blocks of one hashed prompt block
        self.held: dict[int, int] = {}                          # hash id → running requests holding it
        self.cache: OrderedDict[int, None] = OrderedDict()      # hash ids nobody holds, least recent first

    @property
    def free(self) -> int:
        """Blocks a request can take: the never used and the evictable."""
        return self.total - self.used + self.evictable

    def take(self, blocks: int) -> None:
        """Take `blocks`, evicting the least recently used cached blocks while the pool is over."""
        self.used += blocks
        if self.used > self.total and self.cache:
            eb, cache = self.entry_blocks, self.cache
            evict = min(len(cache), -(-(self.used - self.total) // eb))
            for _ in range(evict):
                cache.popitem(last=False)
            self.used -= evict * eb
            self.evictable -= evict * eb

    def give(self, blocks: int) -> None:
        self.used -= blocks

    def match(self, ids: list[int]) -> tuple[int, int]:
        """How many of `ids` (a chain of hash ids from the prompt's start) are cached in a row, and how
        many of those no request holds (they stop being evictable when taken)."""
        held, cache = self.held, self.cache
        j = idle = 0
        for h in ids:
            if h in held:
                j += 1
            elif h in cache:
                j += 1
                idle += 1
            else:
                break
        return j, idle

    def hold(self, ids: list[int]) -> None:
        """A request takes the cached blocks `ids` (found by `match`)."""
        held, cache, eb = self.held, self.cache, self.entry_blocks
        for h in ids:
            if h in held:
                held[h] += 1
            else:
                del cache[h]
                self.evictable -= eb
                held[h] = 1

    def add(self, ids: list[int], j: int, stop: int) -> int:
        """Cache the blocks a request has just prefilled as `ids[j:stop]` (it holds them), up to the first
        cached already: where it stopped."""
        held, cache = self.held, self.cache
        while j < stop:
            h = ids[j]
            if h in held or h in cache:
                break
            held[h] = 1
            j += 1
        return j

    def preload(self, ids: list[int]) -> None:
        """Cache `ids` before the run as a request's prompt blocks it has let go of (evictable, most recent last),
        evicting the least recently used while the pool is over: a prompt the server served before it started."""
        eb, cache = self.entry_blocks, self.cache
        for h in ids:
            if h in cache or h in self.held:
                continue
            cache[h] = None
            self.evictable += eb
            self.take(eb)

    def release(self, ids: list[int], count: int) -> None:
        """A request lets go of its cached blocks, the first `count` of `ids`: those nobody else holds become
        evictable, most recently used last."""
        held, cache, eb = self.held, self.cache, self.entry_blocks
        for h in ids[:count]:
            k = held[h] - 1
            if k:
                held[h] = k
            else:
                del held[h]
                cache[h] = None
                self.evictable += eb
