"""Admission in flight: how many requests the engine runs at once, as vLLM, SGLang and TensorRT-LLM admit them.

Input: a `Workload`, a `Layout` and its `MemoryBreakdown` (`dagc.memory.memory`, at the plan's batch).
Output: `Admission` — the KV cache's tokens per attention-DP rank, how many full-length requests they
hold, and the effective concurrency: the requests in flight the engine reaches.

In flight (`serving = inflight`, and a disaggregated strategy's decode instances), `batch` is a cap —
vLLM `--max-num-seqs`, SGLang `--max-running-requests`, TensorRT-LLM `max_batch_size` — not a
reservation: the engine gives the KV cache the memory the weights, the activations and the reserve
leave (vLLM's `gpu_memory_utilization`, SGLang's `mem_fraction_static`, TensorRT-LLM's
`free_gpu_memory_fraction`) and admits a request while blocks for it are free. The engine starts when
one full-length request fits (E402 otherwise). When the KV cache holds fewer than the cap's requests,
the engine runs fewer at once: a closed loop of `batch` clients keeps the cache full, each request's
context growing from its prompt to prompt + generate, so on average it holds prompt + generate/2
tokens and a rank runs

    n = min(cap per rank, floor(KV tokens per rank / (prompt + generate / 2)))

requests (the load simulation, which admits while blocks allow and preempts when they run out, reaches
it within 10 %: tests/test_admission.py). On an engine that reserves running requests' output to come
(SGLang, `EngineTerms.output_reserve`) each also holds that reservation at the floor a busy engine's ratio
decays to, r · generate / 2 (`dagc.plan.output_reserve.steady_ratio`; the load simulation follows the ratio
step by step, `dagc.serve.reserve`). The steady state is priced at n (`Admission.effective`,
summed over the ranks), W520 says so. Statically, the batch runs together to its end: every request
reaches full length at once, so the KV cache must hold the whole batch at full length (E402).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..layout.layout import Layout, resolve
from ..plan.engines import EngineTerms
from ..plan.output_reserve import steady_ratio
from ..plan.plan import Plan
from ..plan.strategy import Strategy
from ..plan.workload import Workload
from .memory import MemoryBreakdown
from .resident import admits_by_kv

__all__ = ["Admission", "admission", "admission_words", "admits_by_kv", "admitted", "kv_tokens_per_rank",
           "mean_context", "over_ranks", "share_words"]


def mean_context(workload: Workload) -> float:
    """The tokens a request in flight holds on average over its life: its prompt and half its output.

    Example:
        >>> mean_context(Workload(batch=8, prompt=2000, generate=500))
        2250.0
    """
    return workload.prompt + workload.generate / 2


def kv_tokens_per_rank(mem: MemoryBreakdown, held_tokens: int) -> int:
    return _kv_room(mem, held_tokens)[0]


def _kv_room(mem: MemoryBreakdown, held_tokens: int) -> tuple[int, float]:
    """`kv_tokens_per_rank`, and the KV bytes of one token on the stage that binds it (0: no KV cache)."""
    """The tokens of requests' context (prompt and generated) one attention-DP rank's KV cache can hold:
    on every stage, the memory left after the weights, the activations and the runtime's reserve (a calibration's
    share of it, `StageMemory.kv_room_bytes`) over the KV bytes one token costs there
    (`StageMemory.kv_needed_bytes`, the KV cache of the plan's batch at full length, over the `held_tokens` it
    holds); the least over the stages (2⁴⁰ when no stage holds a KV cache)."""
    most, per_token = math.inf, 0.0
    for s in mem.stages:
        if s.kv_needed_bytes > 0:
            tokens = s.kv_room_bytes / (s.kv_needed_bytes / held_tokens)
            if tokens < most:
                most, per_token = tokens, s.kv_needed_bytes / held_tokens
    return (int(most), per_token) if most < math.inf else (1 << 40, 0.0)


@dataclass(frozen=True)
class Admission:
    """What the engine admits (module docstring): per attention-DP rank and over the deployment."""

    cap: int                  # `batch`: the most requests in flight, the whole deployment
    cap_per_rank: int         # the busiest attention-DP rank's share of it (`Layout.requests_per_rank`)
    kv_tokens: int            # tokens of context one rank's KV cache holds
    full_length: int          # requests at full length (prompt + generate) one rank's KV cache holds
    per_rank: int             # requests one rank runs at their mean context (≤ cap_per_rank)
    effective: int            # requests in flight over the deployment: the concurrency the engine reaches
    context_tokens: int       # prompt + generate
    mean_context_tokens: float
    kv_bytes_per_token: float = 0.0   # one token's KV cache on the stage that binds `kv_tokens`
    capacity_bytes: float = 0.0       # the GPU's memory, or the memory requirement's limit when lower
    reserves_full: bool = False       # the engine admits a request only while it holds it at full length (no_evict)
    kv_share: float = 1.0             # of what the rest leaves, the share the KV cache holds (a calibration's)
    reserve_ratio: float = 0.0        # the share of its output to come each running request also holds (SGLang's)

    @property
    def running_words(self) -> str:
        """How the running requests are counted, in words: at their mean context, or at full length."""
        if self.reserves_full:
            return "at their full length (the engine reserves it: it never preempts)"
        if self.reserve_ratio:
            return (f"at their mean context with the {self.reserve_ratio:.3g} of their output to come the engine "
                    f"reserves ({self.mean_context_tokens:,.0f} tokens)")
        return f"at their mean context ({self.mean_context_tokens:,.0f} tokens)"

    @property
    def memory_to_lift_bytes(self) -> float:
        """The GPU memory at which one rank's KV cache holds its whole share of the cap at the mean context
        (every other figure unchanged; of the memory added, the KV cache holds its `kv_share`)."""
        short = max(0.0, self.cap_per_rank * self.mean_context_tokens - self.kv_tokens)
        return self.capacity_bytes + math.ceil(short) * self.kv_bytes_per_token / self.kv_share

    def per_rank_with(self, scale: float) -> int:
        """Requests one rank runs when one token's KV cache takes `scale` of its bytes (an 8-bit cache of a
        16-bit one: 0.5)."""
        return max(1, min(self.cap_per_rank, math.floor(self.kv_tokens / scale / self.mean_context_tokens)))

    @property
    def limited(self) -> bool:
        """Whether the KV cache admits fewer requests than the cap."""
        return self.effective < self.cap


def admission(workload: Workload, lay: Layout, mem: MemoryBreakdown, terms: EngineTerms | None = None) -> Admission:
    """The engine's admission of `workload` on `lay` with the memory `mem` (module docstring) by an engine of `terms`
    (None: one that preempts and reserves nothing); on an engine that never preempts (`EngineTerms.no_evict`:
    TensorRT-LLM) a request is admitted only while the KV cache holds it at full length, so a rank runs
    floor(KV tokens / (prompt + generate)); on one that reserves running requests' output (`output_reserve`: SGLang)
    each also holds its ratio's share of the half of its output still to come on average, the ratio at the floor a
    busy engine's decays to (`dagc.plan.output_reserve.steady_ratio`).

    Statically every request of the batch is admitted (its KV cache is sized for it, E402 otherwise).
    """
    cap_rank = max(1, lay.requests_per_rank)
    context = workload.prompt + workload.generate
    tokens, per_token = _kv_room(mem, cap_rank * context)
    full = tokens // context
    gpu = mem.stages[0].top_bytes if mem.stages else 0.0      # the GPU's memory, or what the requirement allows
    if not mem.admits_by_kv:
        return Admission(workload.batch, cap_rank, tokens, full, cap_rank, workload.batch, context,
                         float(context), per_token, gpu)
    reserves_full = terms is not None and terms.no_evict
    ratio = steady_ratio(terms.output_reserve, lay.adp) if terms is not None else 0.0
    mean = float(context) if reserves_full else mean_context(workload) + ratio * workload.generate / 2
    per_rank = max(1, min(cap_rank, math.floor(tokens / mean)))
    return Admission(workload.batch, cap_rank, tokens, full, per_rank, over_ranks(workload.batch, lay, per_rank),
                     context, mean, per_token, gpu, reserves_full, mem.stages[0].kv_share if mem.stages else 1.0,
                     0.0 if reserves_full else ratio)


def over_ranks(batch: int, lay: Layout, per_rank: int) -> int:
    """The requests in flight over every attention-DP rank of every replica when each runs at most
    `per_rank`: the batch splits evenly over the dp·adp ranks (`dagc.layout.split.even_split`, nested),
    each holding floor or ceil of batch / (dp·adp)."""
    ranks = lay.dp * lay.adp
    base, extra = divmod(batch, ranks)
    return extra * min(base + 1, per_rank) + (ranks - extra) * min(base, per_rank)


def admitted(plan: Plan, strategy: Strategy, workload: Workload, lay: Layout, adm: Admission | None
             ) -> tuple[Workload, Layout]:
    """The workload and layout the steady state runs: at the effective concurrency when the KV cache admits
    fewer requests than the cap (`Admission.limited`), the layout resolved again for it; else `workload`
    and `lay` themselves."""
    if adm is None or not adm.limited:
        return workload, lay
    run = workload.model_copy(update={"batch": adm.effective})
    return run, resolve(plan.model, plan.cluster, run, strategy)


def admission_words(workload: Workload, lay: Layout, mem: MemoryBreakdown, terms: EngineTerms | None = None
                    ) -> str | None:
    """What the engine admits, in words under a memory table, when the KV cache holds fewer requests than the
    cap (None otherwise, and statically).

    Example: "KV cache: holds 28 of the 128 requests at full length (2,500 tokens); in flight the engine
    runs ≈ 31 at their mean context (2,250 tokens)".
    """
    if not mem.admits_by_kv or not all(s.fits for s in mem.stages):
        return None
    a = admission(workload, lay, mem, terms)
    if not a.limited:
        return None
    full = over_ranks(a.cap, lay, a.full_length)
    top = mem.stages[0]
    under = (f", sized under the {top.top_bytes / 2 ** 30:,.2f} GiB a GPU the memory requirement allows"
             if top.top_bytes < top.capacity_bytes else "") + share_words(a.kv_share)
    return (f"KV cache{under}: holds {full:,} of the {a.cap:,} requests at full length ({a.context_tokens:,} tokens); "
            f"in flight the engine runs ≈ {a.effective:,} {a.running_words}")


def share_words(share: float) -> str:
    """A calibration's KV cache share in words, after "KV cache" (W520, the memory table's note); "" at 1.

    Example:
        >>> share_words(0.26), share_words(1.0)
        (", the calibration's 26 % of what the rest leaves (`kv_cache_share`)", '')
    """
    return "" if share == 1.0 else f", the calibration's {share * 100:.3g} % of what the rest leaves (`kv_cache_share`)"
