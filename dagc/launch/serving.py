"""What an engine must be told to serve a plan as dagc's figures assume: the engine-neutral
numbers behind each engine's serving flags.

Input: a `Plan`, a valid `Strategy`, its `Layout` and
(when the caller has it) its `MemoryBreakdown`. Output: `Serving` — the requests in flight on one
attention-DP rank, the token budget of one engine step, and the memory figures the engines' memory
fractions are derived from, and the longest sequence: the longest request the workload's traffic
sends (`dagc.serve.requests.longest_request`; prompt + generate at fixed lengths), so that the engine
accepts every request dagc's load simulation served, never above the model's context
(`dagc.serve.requests.length_limit`: an engine refuses a longer limit). Each engine table
(`dagc.launch.vllm`, `.sglang`, `.trtllm`) turns it into its own flags, counting as that engine counts
(per data-parallel engine, over all attention-DP ranks, per pipeline batch).

dagc's in-flight model (`dagc.schedule.mix`): each attention-DP rank serves `requests` requests
for their whole life; every step runs their decode tokens and fills the rest of `chunk` tokens with
a prompt's chunk — or, with chunked prefill off (`chunked_prefill = off`), with whole prompts only
(`Serving.whole_prompts`; docs/launch.md, "Chunked prefill off", says how each engine is told). Its
memory model (`dagc.memory.memory`): a GPU holds weights + KV cache + activations + the runtime's
reserve (`cluster.reserve_bytes`) within its capacity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..diagnostics import Diagnostic
from ..ir.dag import over_work_budget
from ..layout.layout import Layout
from ..layout.modes import IN_FLIGHT, ServingMode, mode_of
from ..memory.activations import activation_bytes_by_stage
from ..memory.memory import MemoryBreakdown, memory
from ..plan.plan import Plan
from ..plan.strategy import Strategy
from ..plan.workload import PoolRole, Workload
from ..rules.serving import longest_over_kv
from ..serve.kv_blocks import kv_capacity_tokens
from ..serve.requests import length_limit, longest_request, request_lengths
from ..units import format_bytes
from .sglang_share import sglang_fraction

__all__ = ["Serving", "fraction_text", "longest_fits", "longest_prompt", "memory_limit", "memory_shares", "serving",
           "strategy_memory"]


def _floor3(x: float) -> float:
    """`x` rounded down to 3 decimals (a memory share the engine may take: never above dagc's)."""
    return max(0.0, min(1.0, math.floor(round(x * 1000, 6)) / 1000))


def fraction_text(x: float) -> str:
    """A memory fraction as the commands write it: 3 decimals.

    Example:
        >>> fraction_text(0.9497)
        '0.949'
    """
    return f"{_floor3(x):.3f}"


# How each serving mode's server serves, for the notes (`Serving.mode_text`), and what a static step of it runs
_MODE_TEXT = {"static": "static", "inflight": "in flight", "prefill": "prefill only", "decode": "decode steps only"}
_STATIC_STEPS = {"decode": "a decode token of each request, their KV caches arriving from the prefill pool (the budget "
                           "takes in the longest request whole)"}


@dataclass(frozen=True)
class Serving:
    """The in-flight figures an engine's serving flags are derived from."""

    batch: int                   # requests in flight over the whole deployment
    servers: int                 # whole-model replicas (dp): one server each
    ranks: int                   # attention-DP ranks of one server (adp)
    pp: int                      # pipeline stages: the engines keep one batch in flight per stage
    requests: int                # requests in flight on the busiest attention-DP rank (dagc's d)
    chunk: int                   # most tokens one step of one attention-DP rank runs
    capacity_bytes: float        # one GPU's memory
    reserve_bytes: float         # what dagc keeps for the runtime on every GPU
    activation_bytes: float | None   # the largest activation working set of any stage; None: no figures
    resident_bytes: float | None     # the largest weights + activations of any stage; None: no figures
    mla: bool = False            # the model's attention is MLA
    gpu: str = ""                # the GPU preset's name
    room: int = 0                # chunk − requests: the most prompt tokens a step has room for
    prompt_tokens: int = 0       # the prompt tokens dagc's mixed step carries (`dagc.layout.mix`); = room: a full step
    query_len: int = 1           # tokens one request runs in a decode step: 1, or k + 1 when k tokens are drafted
    mode: ServingMode = IN_FLIGHT  # how the server serves (`dagc.layout.modes`): a pool's instance by its role
    chunked_prefill: bool = True  # in flight: False when each step takes whole prompts only (`chunked_prefill = off`)
    longest_prompt: int = 0      # the longest prompt the traffic sends (0: not known)
    max_len: int = 0             # prompt + output of the longest request the traffic sends, at most the model's
                                 # context (0: not known)
    limit_bytes: float | None = None  # the most one GPU may hold under the plan's `memory <= …`; None: no such limit
    limit_text: str = ""         # that requirement as the plan writes it
    kv_needed_bytes: float | None = None  # the KV cache dagc priced for the batch at full length, on the stage that
    kv_resident_bytes: float = 0.0        # needs most with it; and that stage's weights + activations
    # SGLang's own mem_fraction_static at the flags the launch writes (`_engine_share`); None: not known
    engine_share: float | None = None

    @property
    def whole_prompts(self) -> bool:
        """In flight with chunked prefill off (`chunked_prefill = off`): each step runs the decode tokens and
        whole prompts only, as many as fit in `chunk` beside them (`dagc.layout.mix`)."""
        return self.mode.whole_prompts(self.chunked_prefill)

    @property
    def splits_long_prompts(self) -> bool:
        """A disaggregated prefill instance whose traffic sends a prompt longer than its step (`chunk`, a prefill of
        its batch's prompts): an engine that takes prompts whole (TensorRT-LLM's default) would refuse it, so its
        launch turns chunked prefill on, which splits such a prompt over steps (`dagc.launch.trtllm`)."""
        return self.mode.role is PoolRole.PREFILL and self.longest_prompt > self.chunk

    @property
    def step_requests(self) -> int:
        """Requests of one of the `pp` batches an engine keeps in flight: ceil(requests / pp)."""
        return -(-self.requests // self.pp)

    @property
    def capped(self) -> bool:
        """Whether the plan's memory requirement allows less than the GPU's capacity."""
        return self.limit_bytes is not None and self.limit_bytes < self.capacity_bytes

    @property
    def top_bytes(self) -> float:
        """The most a GPU may hold: its capacity, or less under the plan's memory requirement. Every engine's
        memory share is derived from it, so that no engine takes more of a GPU than the requirement allows."""
        return min(self.capacity_bytes, self.limit_bytes) if self.limit_bytes is not None else self.capacity_bytes

    @property
    def top_word(self) -> str:
        """What `top_bytes` is, in the notes' formulas."""
        return "limit" if self.capped else "capacity"

    @property
    def usable_fraction(self) -> float:
        """(top − reserve) / capacity: what dagc lets the engine use of a GPU."""
        return _floor3((self.top_bytes - self.reserve_bytes) / self.capacity_bytes)

    @property
    def static_fraction(self) -> float | None:
        """(top − reserve − activations) / capacity: weights + KV cache of the GPU's memory."""
        if self.activation_bytes is None:
            return None
        return _floor3((self.top_bytes - self.reserve_bytes - self.activation_bytes) / self.capacity_bytes)

    @property
    def free_fraction(self) -> float | None:
        """(top − weights − activations − reserve) / free, free = capacity − weights − activations: the KV
        cache's share of what the weights and activations leave ((free − reserve) / free without a cap)."""
        if self.resident_bytes is None or self.resident_bytes >= self.capacity_bytes:
            return None
        free = self.capacity_bytes - self.resident_bytes
        return _floor3((self.top_bytes - self.resident_bytes - self.reserve_bytes) / free)

    @property
    def kv_room_bytes(self) -> float:
        """The KV cache the GPU of the stage that needs most has room for under `top_bytes`."""
        return max(0.0, self.top_bytes - self.kv_resident_bytes - self.reserve_bytes)

    @property
    def limit_notes(self) -> list[str]:
        """What the plan's memory requirement does to the engine's memory share: it caps it; and when the KV
        cache dagc priced for the batch does not fit under it, that the engine holds less."""
        if not self.capped:
            return []
        notes = [f"the plan requires `{self.limit_text}`: the engine's memory share is derived from that limit, "
                 f"{format_bytes(self.top_bytes)} a GPU, in place of its capacity, "
                 f"{format_bytes(self.capacity_bytes)}, so that the engine takes no more than the requirement allows"]
        room = self.kv_room_bytes
        if self.kv_needed_bytes is not None and self.kv_needed_bytes > room:
            notes.append(f"the KV cache dagc priced for the batch of {self.batch:,} at full length, "
                         f"{format_bytes(self.kv_needed_bytes)} a GPU on the fullest stage, does not fit under "
                         f"`{self.limit_text}`: {format_bytes(self.top_bytes)} − weights and activations "
                         f"{format_bytes(self.kv_resident_bytes)} − reserve {format_bytes(self.reserve_bytes)} "
                         + (f"leaves {format_bytes(room)}, so the engine holds fewer requests' KV cache at once than "
                            "the batch, as dagc's figures assume (W520: `dagc check` sizes the KV cache under the "
                            "same limit and judges the requests it admits)"
                            if room > 0 else "leaves none: the engine cannot start within it"))
        return notes

    @property
    def static_steps(self) -> str:
        """What a static step runs, for the notes: a prefill of all the prompts; a decode pool's instance only
        decodes, its requests' KV caches arriving made."""
        return _STATIC_STEPS.get(self.mode.name, "a prefill of all its prompts at once")

    @property
    def mode_text(self) -> str:
        """How the server serves, for the notes: in flight or static as the plan's `serving` says; a pool's
        server what its role runs, whatever the plan's `serving` (a prefill pool prefills whole prompts and
        hands their KV caches on, a decode pool runs decode steps only)."""
        return _MODE_TEXT[self.mode.name]

    @property
    def unit_text(self) -> str:
        """What holds `requests`, for the notes: an attention-DP rank, or the whole server without."""
        return "each attention-DP rank" if self.ranks > 1 else "each server"

    @property
    def share_text(self) -> str:
        """Where `requests` comes from, for the notes."""
        servers = f"{self.servers:,} server{'s' if self.servers > 1 else ''}"
        over = f"{servers} × {self.ranks:,} attention-DP ranks" if self.ranks > 1 else servers
        share = "" if self.batch % (self.servers * self.ranks) == 0 else "the busiest rank's share of "
        return f"{share}the batch of {self.batch:,} over {over}"

    @property
    def capacity_text(self) -> str:
        limit = f"limit {format_bytes(self.top_bytes)} (`{self.limit_text}`), " if self.capped else ""
        return f"{limit}capacity {format_bytes(self.capacity_bytes)}, dagc's reserve {format_bytes(self.reserve_bytes)}"

    @property
    def static_notes(self) -> list[str]:
        """What `--mem-fraction-static` is made of (`static_fraction`), and, where SGLang left to itself would keep
        more of the GPU for its activations, graphs and buffers (`engine_share`, when its rule leaves a pool at all),
        that share and the `reserve` under which dagc's figures are sized by it (its KV pool that much smaller)."""
        own = self.static_fraction or 0.0
        notes = [f"--mem-fraction-static {fraction_text(own)}: SGLang's share of each GPU's memory for weights and the "
                 f"KV cache pool = ({self.top_word} − reserve − activations) / capacity, {self.capacity_text}, "
                 f"activations {format_bytes(self.activation_bytes or 0.0)}"]
        share = self.engine_share
        if share is None or share <= 0 or _floor3(share) >= own:
            return notes
        # the reserve under which dagc's share is SGLang's: top − activations − share × capacity, rounded down
        reserve = self.top_bytes - (self.activation_bytes or 0.0) - _floor3(share) * self.capacity_bytes
        more = format_bytes((own - _floor3(share)) * self.capacity_bytes)
        return [*notes, f"SGLang left to itself would take {fraction_text(share)} (`_handle_gpu_memory_settings`: "
                        f"{more} more of each GPU kept for a step of --chunked-prefill-size tokens, its decode graphs "
                        "and its buffers, where dagc keeps its reserve and the activations of its steady state's "
                        "step); should the server run out of memory, `cluster { reserve = "
                        f"{math.floor(reserve / 2**30 * 100) / 100:.2f} GiB }}` sizes dagc's figures and this flag by "
                        "SGLang's share"]


def longest_prompt(workload: Workload) -> int:
    """The longest prompt the workload's traffic sends (`request_lengths`: a log's, the longest drawn), else
    `prompt`. With chunked prefill off an engine takes a prompt whole in one step, and TensorRT-LLM refuses one
    longer than its step (`max_num_tokens`).

    Example:
        >>> from dagc.plan.workload import Traffic, Workload
        >>> w = Workload(batch=8, prompt=2000, generate=100)
        >>> longest_prompt(w), longest_prompt(w.model_copy(update={"traffic": Traffic(requests=100, rate=2.0)}))
        (2000, 2000)
    """
    if workload.traffic is None:
        return workload.prompt
    prompt, _ = request_lengths(workload.traffic, workload)
    return int(prompt.max()) if len(prompt) else workload.prompt


def memory_limit(plan: Plan) -> tuple[float, str] | None:
    """The most one GPU may hold under the plan's memory requirements, with the text of the one that sets it
    (`Plan.memory_limit`: the engine's memory share, which the check's KV cache is sized by too)."""
    return plan.memory_limit


def strategy_memory(plan: Plan, strategy: Strategy, layout: Layout) -> MemoryBreakdown | None:
    """The strategy's memory as `dagc.verdict.analyse` makes it (None where it makes none)."""
    if layout.pp > plan.model.layers or over_work_budget(layout) is not None:
        return None
    workload = strategy.workload_for(plan.workload)
    return memory(plan.model, workload, plan.cluster, layout,
                  activation_bytes_by_stage(plan.model, workload, plan.cluster, layout),
                  limit_bytes=plan.memory_limit_bytes)


def _resident(mem: MemoryBreakdown | None) -> tuple[float | None, float | None]:
    """The largest activation working set of any stage, and the largest weights + activations (None: no figures)."""
    stages = mem.stages if mem is not None else ()
    return (max((s.activation_bytes for s in stages), default=None),
            max((s.weights_bytes + s.activation_bytes for s in stages), default=None))


def memory_shares(plan: Plan, mem: MemoryBreakdown | None = None) -> Serving:
    """The figures of `serving` that an engine's memory share is derived from — the GPU's capacity, dagc's reserve,
    the plan's memory limit, the stages' activations and weights (`mem`; None: without them, which vLLM's share,
    `Serving.usable_fraction`, does not read) — and no other: what the engine's KV cache is sized by
    (`dagc.launch.kv_start.engine_kv_tokens`), without the traffic's lengths that `serving` draws (the search asks it
    of every candidate: `dagc.search.kv_screen`)."""
    activations, resident = _resident(mem) if mem is not None else (None, None)
    limit = memory_limit(plan)
    return Serving(batch=0, servers=1, ranks=1, pp=1, requests=0, chunk=0, capacity_bytes=plan.cluster.gpu.memory_bytes,
                   reserve_bytes=plan.cluster.reserve_bytes, activation_bytes=activations, resident_bytes=resident,
                   limit_bytes=limit[0] if limit else None, limit_text=limit[1] if limit else "")


def serving(plan: Plan, strategy: Strategy, layout: Layout, mem: MemoryBreakdown | None = None) -> Serving:
    """The serving figures of a strategy: in flight (`serving = inflight`), each step the rank's decode
    tokens and a prompt's chunk; static, each step a prefill of the rank's whole prompts (`chunk` =
    requests × prompt) or their decode. None only for a strategy without a layout's batch.

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> from dagc.verdict.check import check
        >>> p = load_plan_text('model preset "qwen3-30b-a3b" cluster { gpus = 8 gpu preset "h100-sxm" } '
        ...                    'workload { batch = 250 prompt = 2000 generate = 500 serving = inflight chunk = 4096 } '
        ...                    'strategy tp 1 ; ep 8')
        >>> r = check(p)[0]
        >>> s = serving(r.plan, r.strategy, r.layout, r.memory)
        >>> s.requests, s.chunk, s.usable_fraction
        (32, 4096, 0.949)
    """
    workload = strategy.workload_for(plan.workload)
    if mem is None:
        mem = strategy_memory(plan, strategy, layout)
    stages = mem.stages if mem is not None else ()
    activations, resident = _resident(mem)
    fullest = max(stages, key=lambda s: s.weights_bytes + s.activation_bytes + s.kv_needed_bytes, default=None)
    limit = memory_limit(plan)
    requests = layout.requests_per_rank
    spec = workload.speculative.tokens if workload.speculative is not None else 0
    mode = mode_of(workload)
    chunk, room, prompt_tokens = mode.step_tokens(workload, layout, longest_request(workload))
    return Serving(batch=layout.batch, servers=layout.dp, ranks=layout.adp, pp=layout.pp,
                   requests=requests, chunk=chunk,
                   capacity_bytes=plan.cluster.gpu.memory_bytes, reserve_bytes=plan.cluster.reserve_bytes,
                   activation_bytes=activations, resident_bytes=resident, mla=plan.model.mla is not None,
                   gpu=plan.cluster.gpu.name, room=room, prompt_tokens=prompt_tokens,
                   query_len=1 + spec, mode=mode, chunked_prefill=workload.chunked_prefill,
                   longest_prompt=longest_prompt(workload) if mode.whole_prompts(workload.chunked_prefill)
                   or mode.role is PoolRole.PREFILL else 0,
                   max_len=length_limit(workload, plan.model.context_length),
                   limit_bytes=limit[0] if limit else None, limit_text=limit[1] if limit else "",
                   kv_needed_bytes=fullest.kv_needed_bytes if fullest else None,
                   kv_resident_bytes=fullest.weights_bytes + fullest.activation_bytes if fullest else 0.0,
                   engine_share=_engine_share(plan, layout, workload, chunk))


def _engine_share(plan: Plan, lay: Layout, workload: Workload, chunk: int) -> float:
    """SGLang's own `mem_fraction_static` (`dagc.launch.sglang_share.sglang_fraction`) at the flags `dagc launch`
    writes: a rank's step of `chunk` tokens (--chunked-prefill-size over the attention-DP ranks, as
    bench/fidelity_corpus.py gives a run's), --tp-size the stage's GPUs, --cuda-graph-max-bs-decode a rank's pipeline
    batch, a draft model when speculative."""
    return sglang_fraction(plan.cluster.gpu.memory_bytes, chunk, lay.group_size, lay.pp, lay.adp,
                           workload.speculative is not None, graph_bs=-(-lay.requests_per_rank // lay.pp))


def longest_fits(plan: Plan, strategy: Strategy, layout: Layout) -> Diagnostic | None:
    """W519 when the longest request the plan's traffic sends (`length_limit`, the length limit the launch
    sets: vLLM `--max-model-len`) is more than one attention-DP rank's KV cache holds (`kv_capacity_tokens`,
    what the load simulation admits by): the engine would not start. None when it fits.

    Example (a context stated long enough for the request; gpt-oss-120b's own, 131,072 tokens, refuses it: E111):
        >>> from dagc.lang.load import load_plan_text
        >>> from dagc.verdict.check import check
        >>> p = load_plan_text('model preset "gpt-oss-120b" { context_length = 4000000 } '
        ...                    'cluster { gpus = 1 gpu preset "h100-sxm" } '
        ...                    'workload { batch = 1 prompt = 3000000 generate = 100 } strategy tp 1')
        >>> r = check(p)[0]
        >>> w = longest_fits(p, r.strategy, r.layout)
        >>> w.code, "3,000,100 tokens" in w.message
        ('W519', True)
    """
    longest = length_limit(strategy.workload_for(plan.workload), plan.model.context_length)
    kv_tokens = kv_capacity_tokens(plan, strategy, layout)
    return longest_over_kv(plan, longest, kv_tokens) if longest > kv_tokens else None
