"""Strategy search: is there a better plan on this cluster? (SPEC 9)

Input: a `Plan` and an objective. Output: `SearchResult`: every legal strategy evaluated,
ranked best first, subject to the plan's `require` block, with its Pareto front.

Enumeration (`candidates`) covers dp, pp (divisors of the layers and powers of two up to 16;
the default split, plus a cost-balanced explicit split when it differs), tp (divisors of the
heads, at most a node), cp ∈ {1, 2} (2 only for prompts of 4096 tokens or more), sp, the
expert domain (none — experts follow tp — or ep dividing the experts with etp ∈ {1, 2, 4}
dividing the expert ffn), micro-batches ∈ {pp, 2·pp} (1 and 2 without pp) and overlap —
using at most the GPUs available (fewer is a result in itself). dp takes the powers of two
and the largest value that fits. Candidates are pruned by the very rules `check` runs.

Evaluation (`evaluate`) uses the cost model of `compile` on op templates shared between
candidates (`dagc.fastsched`: exact for `overlap = none`, an estimate with overlap); the top
candidates are re-scored by the full scheduler (`check_strategy`).
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from .build import requests_per_microbatch
from .dag import Phase
from .fastsched import Timer as _Timer, fast_metrics
from .layout import default_split, resolve
from .memory import memory
from .plan import Overlap, Plan, Strategy
from .rules import RuleContext, run_rules
from .verdict import judge_requirements

__all__ = ["Objective", "Candidate", "SearchResult", "candidates", "evaluate", "search", "strategy_text",
           "OPTIMAL_TOLERANCE"]

OPTIMAL_TOLERANCE = 0.05     # within 5 % of the best is optimal


class Objective:
    """Objectives: a score, higher is better."""

    NAMES = ("tokens-per-gpu", "min-gpus", "ttft", "tpot", "throughput")

    @staticmethod
    def score(name: str, metrics: dict, gpus: int) -> float:
        match name:
            case "tokens-per-gpu":
                return metrics["decode_tokens_per_s"] / gpus
            case "min-gpus":
                # fewer GPUs first; among equals, more decode tokens/s per GPU
                return -gpus + min(0.999, metrics["decode_tokens_per_s"] / gpus / 1e9)
            case "ttft":
                return -metrics["ttft_s"]
            case "tpot":
                return -metrics["tpot_s"]
            case "throughput":
                return metrics["throughput_tokens_per_s"]
        raise ValueError(f"unknown objective {name!r}; one of {', '.join(Objective.NAMES)}")


@dataclass(frozen=True)
class Candidate:
    strategy: Strategy
    microbatches: int
    overlap: Overlap
    gpus: int
    metrics: dict
    meets_requirements: bool
    score: float
    memory_fraction: float
    binding: str | None            # the requirement with the least margin
    exact: bool = False            # re-scored by the full scheduler

    @property
    def text(self) -> str:
        return self.strategy.text

    def to_json(self) -> dict:
        return {"strategy": self.text, "gpus": self.gpus,
                "workload": {"microbatches": self.microbatches, "overlap": self.overlap.value},
                "metrics": self.metrics, "meets_requirements": self.meets_requirements, "score": self.score,
                "memory_headroom": 1.0 - self.memory_fraction, "binding_requirement": self.binding,
                "exact": self.exact}


@dataclass(frozen=True)
class SearchResult:
    objective: str
    evaluated: int
    legal: int
    seconds: float
    ranked: tuple[Candidate, ...]                 # best first
    pareto: tuple[Candidate, ...] = field(default=())
    total: int = 0                                # candidates in the space (evaluated < total: budget hit)

    @property
    def complete(self) -> bool:
        return self.evaluated >= self.total

    def to_json(self, top: int | None = None) -> dict:
        chosen = self.ranked if top is None else self.ranked[:top]
        return {"objective": self.objective, "evaluated": self.evaluated, "legal": self.legal,
                "seconds": self.seconds, "candidates": [c.to_json() for c in chosen],
                "pareto": [c.to_json() for c in self.pareto]}

    @property
    def best(self) -> Candidate | None:
        return self.ranked[0] if self.ranked else None


# ---------------------------------------------------------------- enumeration

def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def strategy_text(dp: int, pp: int, split: tuple[int, ...] | None, tp: int, cp: int, sp: bool,
                  expert: tuple[int, int] | None) -> str:
    """Strategy text that `--strategy` accepts.

    Example:
        >>> strategy_text(2, 4, None, 2, 1, False, (8, 1))
        'dp 2 < pp 4 < tp 2 ; ep 8 > >'
    """
    inner = f"tp {tp}" + (f" cp {cp}" if cp > 1 else "") + (" sp" if sp else "")
    if expert is not None:
        ep, etp = expert
        inner += f" ; ep {ep}" + (f" etp {etp}" if etp > 1 else "")
    if pp > 1:
        inner = f"pp {pp}" + (f" [{', '.join(map(str, split))}]" if split else "") + f" < {inner} >"
    if dp > 1:
        inner = f"dp {dp} < {inner} >"
    return inner


CP_MIN_PROMPT = 4096        # context parallelism is searched for prompts at least this long
PP_MAX = 16


def _pp_values(layers: int, limit: int) -> list[int]:
    """Stage counts searched: the divisors of the layers and the powers of two, up to 16."""
    top = min(layers, limit, PP_MAX)
    return [p for p in range(1, top + 1) if layers % p == 0 or p & (p - 1) == 0]


def _dp_values(limit: int) -> list[int]:
    values = {1 << k for k in range(limit.bit_length()) if 1 << k <= limit}
    values.add(limit)
    return sorted(v for v in values if v >= 1)


def candidates(plan: Plan) -> Iterator[tuple[Strategy, int, Overlap]]:
    """Every candidate (strategy, micro-batches, overlap) of the search space, before the rules."""
    m, c, w = plan.model, plan.cluster, plan.workload
    tps = [t for t in _divisors(m.heads) if t <= max(1, c.gpus_per_node) and t <= c.gpus]
    experts: list[tuple[int, int] | None] = [None]
    if m.has_experts:
        experts += [(ep, etp) for ep in _divisors(m.moe.experts) for etp in (1, 2, 4)
                    if m.moe.ffn % etp == 0 and ep * etp <= c.gpus]
    # `ep 1 etp T` beside `tp T` is what an absent expert domain means: keep one spelling.
    for tp in tps:
        for cp in ((1, 2) if w.prompt >= CP_MIN_PROMPT else (1,)):
            for sp in ((False, True) if tp > 1 else (False,)):
                for expert in experts:
                    if expert == (1, tp):
                        continue
                    a = tp * cp
                    e = expert[0] * expert[1] if expert else tp
                    g = max(a, e)
                    if g % a or g % e or g > c.gpus:
                        continue
                    for pp in _pp_values(m.layers, c.gpus // g):
                        for dp in _dp_values(c.gpus // (pp * g)):
                            requests = math.ceil(w.batch / dp)
                            mbs = sorted({pp, 2 * pp} if pp > 1 else {1, 2})
                            for mb in mbs:
                                if mb > max(requests, 1):
                                    continue
                                for overlap in ((Overlap.NONE, Overlap.MICROBATCH) if mb >= 2 else (Overlap.NONE,)):
                                    # explicit splits are added later, for the candidates that rank well
                                    text = strategy_text(dp, pp, None, tp, cp, sp, expert)
                                    yield Strategy(text=text, dp=dp, pp=pp, tp=tp, cp=cp, sp=sp,
                                                   ep=expert[0] if expert else None,
                                                   etp=expert[1] if expert else None), mb, overlap


def _binding(requirements) -> str | None:
    judged = [r for r in requirements if r.margin is not None]
    if not judged:
        return None
    return min(judged, key=lambda r: r.margin).requirement.text


def evaluate(plan: Plan, strategy: Strategy, mb: int, overlap: Overlap, objective: str,
             timer: _Timer | None = None) -> Candidate | None:
    """Score one candidate, or None when a rule rejects it (the same rules as `check`)."""
    timer = timer or _Timer(plan)
    workload = plan.workload.model_copy(update={"microbatches": mb, "overlap": overlap})
    lay = resolve(plan.model, plan.cluster, workload, strategy)
    if lay.pp > plan.model.layers:
        return None
    mem = memory(plan.model, workload, plan.cluster, lay)
    variant = plan.model_copy(update={"workload": workload})
    diags = run_rules(RuleContext(variant, None, strategy, lay, mem))
    if any(d.is_error for d in diags):
        return None
    metrics = fast_metrics(plan, lay, workload, timer)
    reqs = judge_requirements(variant, lay, mem, metrics)
    meets = all(r.met for r in reqs)
    return Candidate(strategy=strategy, microbatches=mb, overlap=overlap, gpus=lay.gpus_used, metrics=metrics,
                     meets_requirements=meets, score=Objective.score(objective, metrics, lay.gpus_used),
                     memory_fraction=mem.worst.fraction, binding=_binding(reqs))


def _balanced_split(plan: Plan, cand: Candidate, timer: _Timer) -> tuple[int, ...] | None:
    """A split that balances stage time (dense layers, embedding and LM head weigh differently)."""
    s = cand.strategy
    if s.pp == 1:
        return None
    workload = plan.workload.model_copy(update={"microbatches": cand.microbatches, "overlap": cand.overlap})
    lay = resolve(plan.model, plan.cluster, workload, s)
    req = tuple(requests_per_microbatch(workload, lay)[0])
    t = timer.pass_times(workload, lay, Phase.PREFILL, req, 0)
    t_last = timer.pass_times(workload, lay, Phase.PREFILL, req, lay.pp - 1)
    m = plan.model
    cost = [t["dense"] if not m.is_moe_layer(i) else t["moe"] for i in range(m.layers)]
    cost[0] += t["embed"]
    cost[-1] += t_last["head"]
    best: tuple[float, tuple[int, ...]] | None = None
    # binary search on the largest stage time, greedy packing
    lo, hi = max(cost), sum(cost)
    for _ in range(60):
        mid = (lo + hi) / 2
        counts, acc = [0], 0.0
        for c in cost:
            if counts[-1] and acc + c > mid:
                counts.append(0)
                acc = 0.0
            counts[-1] += 1
            acc += c
        if len(counts) <= s.pp:
            hi = mid
            best = (mid, tuple(counts))
        else:
            lo = mid
    if best is None:
        return None
    counts = list(best[1])
    while len(counts) < s.pp:            # split the largest stage until there are pp of them
        k = max(range(len(counts)), key=lambda i: counts[i])
        if counts[k] < 2:
            return None
        counts[k:k + 1] = [counts[k] - counts[k] // 2, counts[k] // 2]
    split = tuple(counts)
    return None if split == default_split(m.layers, s.pp) else split


def _evaluate_chunk(args) -> list[Candidate]:
    plan, items, objective = args
    timer = _Timer(plan)
    out = []
    for strategy, mb, overlap in items:
        c = evaluate(plan, strategy, mb, overlap, objective, timer)
        if c is not None:
            out.append(c)
    return out


def _rank_key(c: Candidate):
    return (not c.meets_requirements, -c.score, c.gpus, c.text, c.microbatches, c.overlap.value)


def pareto_front(cands: Iterable[Candidate]) -> tuple[Candidate, ...]:
    """Non-dominated candidates: more decode tokens/s per GPU, less TPOT, less TTFT."""
    pts = sorted(cands, key=lambda c: (-c.metrics["decode_tokens_per_s_per_gpu"], c.metrics["tpot_s"],
                                       c.metrics["ttft_s"], c.text))
    front: list[Candidate] = []
    for c in pts:
        m = c.metrics
        dominated = any(f.metrics["decode_tokens_per_s_per_gpu"] >= m["decode_tokens_per_s_per_gpu"]
                        and f.metrics["tpot_s"] <= m["tpot_s"] and f.metrics["ttft_s"] <= m["ttft_s"]
                        for f in front)
        if not dominated:
            front.append(c)
    return tuple(front)


def search(plan: Plan, objective: str = "tokens-per-gpu", top: int = 10, jobs: int = 1,
           progress: Callable[[int, int], None] | None = None, rescore: int = 5,
           budget_s: float | None = None) -> SearchResult:
    """Enumerate, prune by the rules, score, rank; re-score the top `rescore` exactly.

    Candidates are evaluated from the fewest GPUs up; with `budget_s` the evaluation stops
    when the budget is spent and the result says how many were evaluated (`complete`).

    Example:
        >>> from dagc.check import load_plan_text
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" } '
        ...                    'workload { batch = 32 prompt = 512 generate = 64 } strategy tp 8')
        >>> r = search(p, rescore=0)
        >>> r.best.meets_requirements and r.best.gpus <= 8
        True
    """
    if objective not in Objective.NAMES:
        raise ValueError(f"unknown objective {objective!r}; one of {', '.join(Objective.NAMES)}")
    t0 = time.perf_counter()
    items = sorted(candidates(plan), key=lambda it: (it[0].dp * it[0].pp * max(it[0].tp * it[0].cp, (
        it[0].ep or 1) * (it[0].etp or it[0].tp)), it[0].text, it[1], it[2].value))
    found: list[Candidate] = []
    chunk = 64
    chunks = [items[k:k + chunk] for k in range(0, len(items), chunk)]
    done = 0

    def over_budget() -> bool:
        return budget_s is not None and time.perf_counter() - t0 > budget_s

    if jobs > 1 and len(chunks) > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for part in pool.map(_evaluate_chunk, [(plan, c, objective) for c in chunks]):
                found.extend(part)
                done = min(done + chunk, len(items))
                if progress:
                    progress(done, len(items))
                if over_budget():
                    pool.shutdown(cancel_futures=True)
                    break
    else:
        timer = _Timer(plan)
        for c in chunks:
            if over_budget():
                break
            for strategy, mb, overlap in c:
                cand = evaluate(plan, strategy, mb, overlap, objective, timer)
                if cand is not None:
                    found.append(cand)
            done += len(c)
            if progress:
                progress(done, len(items))
    # balanced explicit splits for the pipelined candidates that rank well
    timer = _Timer(plan)
    extra = []
    for c in sorted(found, key=_rank_key)[:50]:
        split = _balanced_split(plan, c, timer)
        if split is not None:
            s = c.strategy
            text = strategy_text(s.dp, s.pp, split, s.tp, s.cp, s.sp, (s.ep, s.etp) if s.ep else None)
            alt = evaluate(plan, s.model_copy(update={"pp_split": split, "text": text}), c.microbatches, c.overlap,
                           objective, timer)
            if alt is not None:
                extra.append(alt)
    evaluated = done + len(extra)
    found.extend(extra)
    ranked = sorted(found, key=_rank_key)
    if rescore:
        ranked = _rescore(plan, ranked, rescore, objective)
    return SearchResult(objective=objective, evaluated=evaluated, legal=len(found),
                        seconds=time.perf_counter() - t0, ranked=tuple(ranked), pareto=pareto_front(found),
                        total=len(items) + len(extra))


def _rescore(plan: Plan, ranked: list[Candidate], n: int, objective: str) -> list[Candidate]:
    """Replace the top n's figures by the full DAG schedule (exact under both overlaps)."""
    from .check import check_strategy, parse_strategy   # check imports search: import late
    head = []
    for c in ranked[:n]:
        workload = plan.workload.model_copy(update={"microbatches": c.microbatches, "overlap": c.overlap})
        variant = plan.model_copy(update={"workload": workload})
        r = check_strategy(variant, parse_strategy(c.text))
        if not r.valid or r.metrics is None:
            continue
        metrics = {k: r.metrics[k] for k in c.metrics}
        head.append(Candidate(strategy=c.strategy, microbatches=c.microbatches, overlap=c.overlap, gpus=c.gpus,
                              metrics=metrics, meets_requirements=r.verdict.meets_requirements is not False,
                              score=Objective.score(objective, metrics, c.gpus), memory_fraction=r.memory.worst.fraction,
                              binding=_binding(r.requirements), exact=True))
    return sorted(head + ranked[n:], key=_rank_key)


def judge_optimal(result, found: SearchResult, tolerance: float = OPTIMAL_TOLERANCE):
    """The optimal verdict of a checked strategy against the search (default objective).

    Returns (optimal, evidence): optimal is None when nothing could be compared; evidence says
    which strategy does better and by how much.
    """
    best = found.best
    if best is None:
        return None, {"note": "no legal strategy was found on this cluster"}
    own = None
    if result.metrics is not None and result.layout is not None:
        own = Objective.score(found.objective, result.metrics, result.layout.gpus_used)
    evidence = {"objective": found.objective, "best_strategy": best.text, "best_score": best.score,
                "best_gpus": best.gpus, "best_microbatches": best.microbatches, "best_overlap": best.overlap.value,
                "best_meets_requirements": best.meets_requirements, "own_score": own, "tolerance": tolerance,
                "evaluated": found.evaluated, "complete": found.complete}
    partial = "" if found.complete else (f" (the search stopped after {found.evaluated:,} of {found.total:,} "
                                         "candidates, fewest GPUs first; `dagc search` runs them all)")
    own_meets = result.verdict.meets_requirements is not False
    if own is None or not result.valid:
        evidence["note"] = f"`{best.text}` is a legal strategy that {'meets' if best.meets_requirements else 'misses'} " \
                           f"the requirements on {best.gpus} GPUs"
        evidence["note"] += partial
        return False, evidence
    if best.meets_requirements and not own_meets:
        evidence["note"] = f"`{best.text}` meets the requirements on {best.gpus} GPUs; this strategy does not" + partial
        return False, evidence
    factor = best.score / own if own > 0 else math.inf
    evidence["factor"] = factor
    if own >= best.score * (1 - tolerance) or (best.meets_requirements is False and own_meets):
        evidence["note"] = (f"within {tolerance * 100:.0f} % of the best of {found.evaluated} strategies "
                            f"(`{best.text}`: {best.score:,.1f} tokens/s per GPU)") + partial
        return True, evidence
    workload = "" if best.microbatches == result.layout.microbatches and best.overlap is result.plan.workload.overlap \
        else f" (with {best.microbatches} micro-batch{'es' if best.microbatches > 1 else ''}, overlap {best.overlap.value})"
    evidence["note"] = (f"`{best.text}`{workload} gives {factor:.2f}× the decode throughput per GPU on "
                        f"{best.gpus} GPU{'s' if best.gpus > 1 else ''} ({best.score:,.1f} vs {own:,.1f} tokens/s per GPU)"
                        + partial)
    return False, evidence
