"""Rules about how the deployment serves requests (`workload { serving = …  chunk = … }`): E307, W513
(W514, the fields static serving does not read: `dagc.rules.static_fields`); a percentile judged on too few
simulated requests (W521); the pools of a disaggregated strategy (E308, E309: `dagc.verdict.pools` asks them); and a
simulated load past its work budget (W518: `dagc.verdict.under_load` asks it).

Input: a `RuleContext`. Output: diagnostics on the in-flight step mix of `dagc.layout.mix` — whether a step leaves
room for a prompt's chunk at all (E307), whether the chunk keeps up with the prompts the batch admits (W513).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

from ..diagnostics import Diagnostic, Severity, code
from ..lang.fields import CHUNK_LIMIT
from ..layout.layout import Layout
from ..layout.mix import Shares, shares
from ..layout.modes import mode_of
from ..plan.plan import Plan
from ..plan.strategy import Strategy
from ..plan.workload import Workload
from ..units import count_text, format_bytes
from .base import Reads, RuleContext, diag, make_rule, pass_rule
from .pools_fit import pools_fit_hint

__all__ = ["RULES", "percentile_samples"]


def check_chunk_room(ctx: RuleContext) -> Iterator[Diagnostic]:
    """In flight, a step's token budget (`chunk`) holds no prompt token beside the decode tokens.

    Serving in flight, every engine step runs one decode token of each request in flight on an
    attention-DP rank, and fills the rest of its token budget with prompt tokens (chunked
    prefill). When `chunk` is at most the requests in flight on a rank, no prompt token fits:
    no request is ever admitted, and the figures would be meaningless. Raise `chunk` above the
    requests per rank (batch over dp × attention DP), or spread the batch over more ranks. With
    chunked prefill off (`chunked_prefill = off`) a step takes whole prompts only, so the budget
    must hold a whole prompt beside the decode tokens of the rank's other requests (an engine
    refuses a prompt longer than it; its cap on requests counts the one whose prompt runs).

    Bad:
        workload { batch = 256  prompt = 4000  generate = 500  serving = inflight  chunk = 256 }
        strategy tp 8
    Fixed:
        workload { batch = 256  prompt = 4000  generate = 500  serving = inflight  chunk = 8192 }
        strategy tp 8
    """
    w, lay = ctx.plan.workload, ctx.layout
    if not mode_of(w).continuous:
        return
    d, q = lay.requests_per_rank, w.step_positions
    whole = not w.chunked_prefill
    if w.chunk_tokens <= d * q if not whole else w.chunk_tokens - (d - 1) * q < w.prompt:
        per = f", {q} positions each with speculative decoding" if q > 1 else ""
        what = f"a whole prompt of {w.prompt:,} tokens (`chunked_prefill = off`)" if whole else "a prompt"
        others = count_text(d - 1, "other request") if whole else count_text(d, "request")
        yield diag("E307", Severity.ERROR,
                   f"{w.chunk_text} leaves no room for {what}: each step of an attention-DP rank "
                   f"already runs {(d - whole) * q:,} decode tokens (its {others} in flight{per})",
                   ctx.plan.span_of("workload.chunk") or ctx.plan.span_of("workload.serving"),
                   _whole_hint(w, lay) if whole else _room_hint(w, lay))


def _whole_hint(w: Workload, lay: Layout) -> str:
    """E307's hint with chunked prefill off: the least `chunk` with room for a whole prompt, (d − 1)·q + prompt,
    or chunked prefill on."""
    least = (lay.requests_per_rank - 1) * w.step_positions + w.prompt
    write = f"write `chunk = {least}` or more (the others' decode tokens and one prompt), or " if least <= CHUNK_LIMIT \
        else ""
    return f"{write}`chunked_prefill = on`, which splits a prompt over the steps' room"


def _room_hint(w: Workload, lay: Layout) -> str:
    """E307's hint: the least `chunk` with room for a prompt token, d·q + 1, when the language allows it (at most
    `CHUNK_LIMIT`) — with, apart, the least that also keeps up with the prompts admitted (W513) and the engine's
    default on the GPU (`Workload.chunk_default`) when it has room — else the batch the largest chunk keeps up with."""
    d, q = lay.requests_per_rank, w.step_positions
    least = d * q + 1
    if least > CHUNK_LIMIT:
        at, which = w.model_copy(update={"chunk": CHUNK_LIMIT}), f"`chunk = {CHUNK_LIMIT}`"
        return f"`chunk` is at most {CHUNK_LIMIT:,} tokens: {_batch_a_chunk_keeps_up(at, lay, which)}"
    keeps = shares(w, lay).least_chunk
    also = (f"; `chunk = {keeps}` or more also keeps up with the prompts of its {count_text(d, 'request')} (W513)"
            if least < keeps <= CHUNK_LIMIT else "")
    default = f"; the engine's default on this GPU is {w.chunk_default}" if w.chunk_default >= least else ""
    return f"write `chunk = {least}` or more, one more than its {d * q:,} decode tokens{also}{default} — or spread " \
           "the batch over more ranks"


def _batch_a_chunk_keeps_up(w: Workload, lay: Layout, which: str = "this chunk") -> str:
    """What to serve so that `w`'s chunk keeps up with the prompts admitted: at most the largest batch it keeps
    up with, more ranks — or, when one request's prompt alone is more than it keeps up with, the chunk that keeps up
    with one (if a plan may write it) or a shorter prompt."""
    s = shares(w, lay)
    if s.sustainable_batch > 0:
        return (f"the largest batch {which} keeps up with is {s.sustainable_batch:,}; serve at most that many "
                "requests at once, or spread the batch over more ranks")
    # one request a rank keeps up when chunk − q ≥ prompt · E / generate (`dagc.layout.mix`)
    one = w.step_positions + math.ceil(w.prompt * w.tokens_per_step / w.generate)
    alone = (f"even one request's prompt ({w.prompt:,} tokens, prefilled over its {w.generate:,} generated) is "
             f"more than {which} keeps up with")
    if one <= CHUNK_LIMIT:
        return f"{alone}: write `chunk = {one}` or more, or shorten the prompt"
    return f"{alone}, or than any `chunk` a plan may write (at most {CHUNK_LIMIT:,}) does: shorten the prompt"


def check_chunk_keeps_up(ctx: RuleContext) -> Iterator[Diagnostic]:
    """In flight, the chunk cannot keep up with the prompts the batch admits.

    A request in flight needs its prompt processed once over its `generate` steps, so an
    attention-DP rank with d requests needs d · prompt / generate prompt tokens per step on
    average, and a step has room for `chunk` − d of them. When it needs more, every step
    carries a chunk and prompts still queue: the steady state dagc assumes does not exist, and
    TTFT grows without bound as requests wait. The warning names the largest batch the chunk
    keeps up with (`serving.sustainable_batch` in report.json); serve fewer requests at once,
    raise `chunk`, or add ranks. When even one request's prompt is more than the chunk keeps up
    with, it names the chunk that keeps up with one, or says no `chunk` a plan may write does.

    Bad:
        workload { batch = 512  prompt = 8000  generate = 100  serving = inflight  chunk = 2048 }
        strategy tp 8
    Fixed:
        workload { batch = 24  prompt = 8000  generate = 100  serving = inflight  chunk = 2048 }
        strategy tp 8
    """
    w, lay = ctx.run_workload, ctx.run_layout      # the requests in flight the engine reaches (W520)
    if not mode_of(w).continuous or w.chunk_tokens <= lay.requests_per_rank * w.step_positions:      # E307's
        return
    s = shares(w, lay)
    if s.keeps_up or s.carry == 0:                                                          # E307's
        return
    d = s.requests_per_rank
    yield diag("W513", Severity.WARNING,
               f"the chunk cannot keep up with admissions: {count_text(d, 'request')} in flight per attention-DP "
               f"rank need{'s' if d == 1 else ''} {s.demand * s.carry:,.0f} prompt tokens per step, a step has "
               f"room for {s.carry:,} (`chunk` less the decode tokens{_whole(s)}); prompts queue and TTFT grows",
               ctx.plan.span_of("workload.batch") or ctx.plan.span_of("workload.serving"),
               _batch_a_chunk_keeps_up(w, lay) + (", or raise `chunk`" if s.sustainable_batch > 0 else ""))


def _whole(s: Shares) -> str:
    return ", in whole prompts: chunked prefill is off" if s.whole_prompts else ""


# the simulated requests a percentile needs, in units of 1 / (1 − p): p99 on 1,000 requests is its 10 largest
PERCENTILE_SAMPLES = 10


def check_percentile_samples(ctx: RuleContext) -> Iterator[Diagnostic]:
    """A percentile requirement is judged on too few simulated requests to say anything.

    A requirement such as `ttft_p99 <= 2 s` is judged on the percentile of the requests the traffic
    simulates (`requests`, 1,000 unwritten; a request log's own). The 99th percentile of 1,000 requests rests
    on its 10 largest; of 20 requests it is the largest, and of 1 request it is that request: one draw of
    the arrivals' luck, which another `seed` moves at will. dagc asks for at least 10 / (1 − p) requests —
    1,000 for a p99, 100 for a p90, 20 for a p50 — and warns below that; the verdict is still given.
    A disaggregated strategy gets it too, on the same simulated requests. A request log replays at most its own
    requests: the hint asks a log replayed whole for a longer one (or drawn traffic), never a `requests` past it.

    Bad:
        workload { batch = 64  prompt = 4000  generate = 500  serving = inflight  rate = 5 requests/s
                   requests = 20 }
        require { ttft_p99 <= 2 s }
    Fixed:
        workload { batch = 64  prompt = 4000  generate = 500  serving = inflight  rate = 5 requests/s
                   requests = 2000 }
        require { ttft_p99 <= 2 s }
    """
    yield from percentile_samples(ctx.plan)


def percentile_samples(plan: Plan) -> Iterator[Diagnostic]:
    """W521 on the plan's traffic and requirements: a strategy's (the rule), a disaggregated deployment's, whose pools
    are analysed without the plan's requirements (`dagc.verdict.pools`), and a fleet's traffic (`dagc fleet`)."""
    traffic = plan.workload.traffic
    if traffic is None:
        return
    for req in plan.requirements:
        if req.percentile is None:
            continue
        need = math.ceil(PERCENTILE_SAMPLES / (1 - req.percentile / 100) - 1e-9)
        if traffic.requests < need:
            yield diag("W521", Severity.WARNING, f"`{req.text}` is judged on {traffic.requests:,} simulated "
                       f"request{'' if traffic.requests == 1 else 's'}: a p{req.percentile} needs at least "
                       f"{need:,} to rest on more than its largest few",
                       req.span or plan.span_of("workload.requests") or plan.span_of("workload"),
                       _more_requests_hint(plan, need))


def _more_requests_hint(plan: Plan, need: int) -> str:
    """W521's hint: how to simulate `need` requests (a log replays at most its own: `requests` past them is E104)."""
    if (log := plan.workload.traffic.log if plan.workload.traffic is not None else None) is None:
        return f"simulate more: `requests = {need}` or more in the workload"
    if "workload.requests" in plan.spans:      # the log was cut to its first `requests`: it may hold more
        return f"replay more of the log: `requests = {need}` or more, if {code(log.file)} holds that many"
    return (f"the log {code(log.file)} holds {count_text(log.requests, 'request')}, all replayed: give a log of "
            f"{need:,} or more, or simulate them in its place: `rate = R requests/s  requests = {need}` instead of "
            "`requests from`")


def check_window_covers_context(ctx: RuleContext) -> Iterator[Diagnostic]:
    """The attention window written in the plan covers every request's whole context: no windowed layer
    attends to fewer tokens or holds a smaller KV cache than a full one, so the window changes no figure
    (a preset's window is the model's own and is not warned about).

    A `window { size = … }` caps the tokens a windowed layer attends to and keeps (docs/language.md).
    With prompt + generate at most the window, that cap never binds — often a window written in
    thousands where the model's is in tens or hundreds (gpt-oss: 128), or a workload shorter than
    intended.

    Bad:
        model "m" { layers = 8  hidden = 512  heads = 8  vocab = 1000  ffn = 2048  window { size = 8192 } }
        workload { batch = 8  prompt = 1000  generate = 200 }
    Fixed:
        model "m" { layers = 8  hidden = 512  heads = 8  vocab = 1000  ffn = 2048  window { size = 128 } }
        workload { batch = 8  prompt = 1000  generate = 200 }
    """
    w, window = ctx.plan.workload, ctx.plan.model.window
    # a preset's window is the model's own, never a slip: only one written in the plan is warned about
    written = ctx.plan.spans.get("model.window.size") or ctx.plan.spans.get("model.window")
    if window is None or window.size < w.prompt + w.generate or written is None:
        return
    yield diag("W515", Severity.WARNING, f"the attention window ({window.size:,} tokens) covers the whole context "
               f"({w.prompt + w.generate:,} tokens): it changes nothing", written,
               "check the window's size (gpt-oss: 128, Llama 4's chunks: 8192), or the workload's lengths")


def pools_need_inflight(plan: Plan, strategy: Strategy) -> Diagnostic | None:
    """E309: a disaggregated strategy with `serving = static`. Its pools hand each request from a prefill
    instance to a decode instance as the request arrives: that is serving in flight, and a static
    batch (prefilled together, then decoded together) has nothing to hand over.

    Bad:
        workload { batch = 256  prompt = 4000  generate = 500 }
        strategy prefill 2 < tp 8 > decode 1 < dp 4 < tp 2 ; ep 8 > >
    Fixed:
        workload { batch = 256  prompt = 4000  generate = 500  serving = inflight }
        strategy prefill 2 < tp 8 > decode 1 < dp 4 < tp 2 ; ep 8 > >
    """
    if not strategy.disaggregated or mode_of(plan.workload).continuous:
        return None
    return diag("E309", Severity.ERROR, "a disaggregated strategy serves requests in flight, but the workload is "
                "`serving = static`", strategy.span_of("strategy"),
                "add `serving = inflight` to the workload, or write one strategy without pools")


def pools_fit_cluster(plan: Plan, strategy: Strategy, pools: Sequence[tuple[str, int, int]]) -> Diagnostic | None:
    """E308: the pools of a disaggregated strategy need more GPUs than the cluster has: N instances of
    the prefill strategy and M of the decode strategy, each instance on its own GPUs (`pools`:
    role, instances, GPUs per instance).

    Bad:
        cluster { gpus = 16  gpu preset "h200" }
        strategy prefill 2 < tp 8 > decode 1 < tp 8 >
    Fixed:
        cluster { gpus = 24  gpu preset "h200" }
        strategy prefill 2 < tp 8 > decode 1 < tp 8 >
    """
    if (gpus := sum(n * g for _, n, g in pools)) <= plan.cluster.gpus:
        return None
    parts = " + ".join(f"{n} × {g} for {role}" for role, n, g in pools)
    return diag("E308", Severity.ERROR, f"the pools need {gpus:,} GPUs ({parts}), more than the cluster's "
                f"{plan.cluster.gpus:,}", strategy.span_of("strategy"),
                pools_fit_hint(strategy, plan.cluster.gpus, [g for _, _, g in pools]))


def load_over_budget(plan: Plan, events: int, budget: int, requests: int, capacity: bool = False) -> Diagnostic:
    """W518: the load was not simulated: its work exceeds the budget.

    dagc simulates the workload's traffic (`rate`, `concurrency` or `requests from`) request by
    request, engine step by engine step. Before a run starts it counts the engine events the run
    takes at most — each request's prompt in chunks of `chunk` tokens, and three more — and past
    the load's work budget (3,000,000 events by default: about a minute and well under 2 GB on
    one core) it does not run it: the requirements judged on the load (`ttft_p99`, `goodput`, …)
    are then not judged, nor is whether the deployment carries its traffic — so the verdict's
    "meets requirements" is "not judged" (null) and `dagc check` exits 1, even for a plan without a
    `require` block — and report.json's `load` is null. The capacity (the highest arrival rate
    the percentile requirements hold at) is bisected over two dozen shorter runs, bounded the same
    way: past the budget it alone is not judged. Simulate fewer requests (ten thousand give tight
    percentiles), or lift the budget on purpose with `--load-budget EVENTS` or `--load-budget none`
    (a run of ten million requests takes minutes and gigabytes).

    Bad:
        workload { batch = 64  prompt = 4000  generate = 500  rate = 4 requests/s  requests = 1e7 }
    Fixed:
        workload { batch = 64  prompt = 4000  generate = 500  rate = 4 requests/s  requests = 10000 }
    """
    what = ("the capacity was not judged: its runs" if capacity else
            f"the load was not simulated: {requests:,} requests")
    return diag("W518", Severity.WARNING, f"{what} would take about {events:,} engine events, past the load's work "
                f"budget of {budget:,}" + ("" if capacity else
                "; the requirements on the load, and whether the deployment carries its traffic, are not judged"),
                plan.span_of("workload.requests"),
                "simulate fewer requests, or lift the budget with `--load-budget EVENTS` or `--load-budget none` "
                "(about 20 µs an event)")


def request_over_kv(plan: Plan, request: int, prompt: int, output: int, kv_tokens: int) -> Diagnostic:
    """W519: a request is larger than a rank's KV cache: an engine refuses it.

    In flight, a rank's KV cache holds the tokens the memory leaves after the weights, the activations
    and the runtime's reserve (docs/load.md). A request whose prompt and output together are more than
    that cannot run on the deployment at all: a serving engine refuses it. dagc still simulates it,
    in a cache raised to hold it alone, so the run goes on; its TTFT, the KV cache's use and every figure
    of the requests around it are then not what the GPUs can serve. Cut or drop the request (a request
    log's longest), or give each rank more room for the KV cache: an 8-bit KV cache, more GPUs over the
    attention (`tp`, `cp`), a smaller runtime reserve.

    `dagc launch` says it too (`longest_over_kv`), of the longest request the plan's traffic sends (prompt
    + generate without traffic), which it sets the engine's length limit to (vLLM `--max-model-len`): vLLM
    does not start when a rank's KV cache cannot hold one request of that length ("larger than the
    available KV cache memory"), whatever the serving mode — E732, its refusal —, and SGLang starts with
    its longest request cut to its KV pool and refuses the longer ones.

    Bad:
        workload { batch = 8  prompt = 2048  generate = 64  serving = inflight  requests from "trace.csv" }
        (trace.csv holding a 3,000,000-token prompt, on two H100s)
    Fixed:
        workload { batch = 8  prompt = 2048  generate = 64  serving = inflight  requests from "trace.csv" }
        (trace.csv without it, or with it cut to what a rank holds)
    """
    log = plan.workload.traffic.log if plan.workload.traffic else None     # by its line, as E111 (2026-11-30)
    who = f"the request on line {request + log.first_line:,} of {code(log.file)}" if log else f"request {request + 1:,}"
    return diag("W519", Severity.WARNING, f"{who} ({prompt:,} prompt + {output:,} output tokens) is more than a rank's "
                f"KV cache holds: {kv_tokens:,} tokens, what {_room(plan)} leave; simulated in a cache raised to hold "
                "it (an engine refuses it)", plan.span_of("workload.requests.file" if log else "workload.requests")
                or plan.span_of("workload"), "cut or drop the request, or give the KV cache more room: an 8-bit KV "
                "cache, more GPUs over the attention (tp, cp), a smaller reserve")


def _room(plan: Plan) -> str:
    """The memory a rank's KV cache is sized under, in words: the GPU's, or what the plan's memory requirement
    allows of it (`Plan.memory_limit`, the engine's memory share)."""
    gpu, limit, own = plan.cluster.gpu, plan.memory_limit, f"the {code(plan.cluster.gpu.name)}'s"
    if limit is not None and limit[0] < gpu.memory_bytes:
        return f"the {format_bytes(limit[0])} `{limit[1]}` allows of {own} {format_bytes(gpu.memory_bytes)}"
    return f"{own} {format_bytes(gpu.memory_bytes)}"      # as E402 and the memory table say it


def longest_over_kv(plan: Plan, longest: int, kv_tokens: int) -> Diagnostic:
    """W519 as `dagc launch` says it: the longest request the plan's traffic sends (`longest`, the engine's
    length limit) is more than one attention-DP rank's KV cache holds (`kv_tokens`)."""
    return diag("W519", Severity.WARNING,
                f"the longest request ({longest:,} tokens, the engine's length limit: vLLM --max-model-len) is more "
                f"than one rank's KV cache holds: {kv_tokens:,} tokens, what {_room(plan)} leave after the weights, "
                "activations and reserve: vLLM does not start with it (E732), SGLang starts and refuses the longer "
                "requests (its longest is one less than its KV pool)",
                plan.span_of("workload.requests") or plan.span_of("workload.prompt") or plan.span_of("workload"),
                (f"shorten the requests to at most {kv_tokens:,} tokens (prompt + generate), or give the KV cache more "
                 "room: " if kv_tokens else "give the KV cache room: ")
                + "an 8-bit KV cache, more GPUs over the attention (tp, cp), a smaller reserve")


RULES = (
    make_rule("E307", Severity.ERROR, "in flight, chunk leaves no room for a prompt", check_chunk_room),
    make_rule("W513", Severity.WARNING, "in flight, the chunk cannot keep up with admissions", check_chunk_keeps_up,
              reads=Reads.SCHEDULE),
    make_rule("W515", Severity.WARNING, "the attention window covers the whole context", check_window_covers_context,
              plan_level=True),
    make_rule("W521", Severity.WARNING, "a percentile requirement judged on too few simulated requests",
              check_percentile_samples, plan_level=True),
    pass_rule("E308", Severity.ERROR, "the pools of a disaggregated strategy exceed the cluster",
              doc=pools_fit_cluster.__doc__, passes=(pools_fit_cluster,)),
    pass_rule("E309", Severity.ERROR, "a disaggregated strategy needs `serving = inflight`",
              doc=pools_need_inflight.__doc__, passes=(pools_need_inflight,)),
    pass_rule("W518", Severity.WARNING, "the load was not simulated: its work exceeds the budget",
              doc=load_over_budget.__doc__, passes=(load_over_budget,)),
    pass_rule("W519", Severity.WARNING, "a request is larger than a rank's KV cache: an engine refuses it",
              doc=request_over_kv.__doc__, passes=(request_over_kv, longest_over_kv)),
)
