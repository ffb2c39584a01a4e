"""`dagc check` on the plan's own engine: what its launcher cannot express is an error of the strategy.

Input: a checked `StrategyResult` (`dagc.verdict.check`). Output: the same result with the E7xx
diagnostics `dagc launch` gives on the plan's engine — computed by the launch mapping itself
(`dagc.launch.engines.launch_result`), never restated — and its verdict judged again: a strategy the
engine cannot start is not correct. `check` is the library's and the CLI's check (`dagc.check`): the
plan's strategies checked with these refusals, before the optimal verdict. The strategy search leaves
out the candidates the same mapping refuses (`engine_refuses`, `dagc.launch.launch.launch_refusals`), so
it never calls best what `check` rejects.

Only an engine the plan chose says so: one it names (`cluster { engine = … }`, `--set cluster.engine=…`,
docs/language.md) or the one its imported kernel profile was measured in. A plan that names none is
priced as the default engine serves it, but not refused by that engine's launcher, neither by `check`
nor by the search: a plan written without an engine says nothing of how it is started. The optimal verdict and
`dagc search` still say when their best is a layout that engine cannot start, and the best it can
(`default_engine_refuses`, `dagc.search.startable`; docs/search.md). `pytorch`,
dagc's plain reference, has no launcher: a plan on it gets no E7xx here, and `dagc launch` still writes
every engine's command.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import replace

from ..diagnostics import Diagnostic, cap, code
from ..layout.layout import Layout, resolve
from ..plan.plan import Plan
from ..plan.printer import aggregated
from ..plan.strategy import Strategy, StrategyDecl
from ..rules.launch import engine_refusal
from ..rules.launch_none import default_refuses, unstartable
from ..serve.requests import length_limit
from ..units import Dimension, format_figure, format_si
from ..verdict.check import StrategyResult, check as check_plan
from ..verdict.searched import Searched, SearchedCandidate
from ..verdict.steady import SteadyMetrics
from ..verdict.under_load import Progress, carries_traffic
from ..verdict.verdict import verdict
from . import any_engine, vllm_share
from .any_engine import E706_HINT, checkpoint_refusals, default_engine_judges, engine_judges, every_engine_refuses
from .degrees import degrees
from .engines import TABLES, launch_result
from .kv_start import CODE as KV_CODE, kv_start_hint, kv_start_refusal
from .launch import Launch, field_span, launch, launch_refusals
from .nearest import NEAREST_TRIES, Nearest, nearest, nearest_pooled, priced_by
from .pools import pooled_refusals
from .replica_hint import replica_size_hint, unplaced_replica

__all__ = ["E706_HINT", "check", "checkpoint_refusals", "default_engine_judges", "default_engine_refuses",
           "engine_checked", "engine_judges", "engine_refusals", "engine_refuses", "engines_for_gpu",
           "every_engine_refuses", "figures_text", "plan_refusals", "refusal_hint", "refusals_on",
           "unstartable_warnings"]

# What the engine refuses of the plan whatever its strategy: its GPU, its weights' format (`dagc.rules.launch_gpu`),
# MTP drafting from a checkpoint without MTP weights (`dagc.launch.speculative.mtp_refusal`), vLLM's step budget
# with chunked prefill off below the longest request (`dagc.launch.chunked`, E730), vLLM told to take a GPU's whole
# memory (`dagc.launch.vllm_share`, E733)
PLAN_CODES = frozenset({"E706", "E728", "E729", "E730", "E733", "E734"})
# dagc's errors of a strategy whose degrees an engine could not be told (its domains do not divide the stage group):
# no engine refusal is said beside them (`refusals_on`)
UNFORMED = frozenset({"E203"})
E729_HINT = ("no strategy changes the weights' format: use weights TensorRT-LLM runs on this GPU (fp8 from Hopper and "
             "Ada, nvfp4 on Blackwell: b200, b300, gb200, gb300; bf16 anywhere), a newer GPU, or vLLM, which runs fp8 "
             "and NVFP4 weights weight-only on older GPUs (its Marlin kernels)")
E734_HINT = ("no strategy changes the weights' format: use vLLM (`cluster { engine = vllm }`), which runs MXFP4 "
             "experts on MI300X, or a bf16 checkpoint of the model (`moe { weights = bf16 }`)")

def engine_refuses(plan: Plan, strategy: Strategy, layout: Layout) -> tuple[str, ...]:
    """The codes of what the plan's engine refuses `strategy` (resolved into `layout`, the overlap the
    plan's workload's) for — `dagc launch`'s own refusals (`launch_refusals`); empty when it starts it or
    the plan did not choose its engine (`engine_judges`).

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> from dagc.layout.layout import resolve
        >>> from dagc.plan.printer import aggregated
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" '
        ...                    'engine = trtllm } workload { batch = 8 prompt = 512 generate = 64 } strategy tp 8')
        >>> s = aggregated(tp=2, ep=8)
        >>> engine_refuses(p, s, resolve(p.model, p.cluster, p.workload, s))
        ('E721',)
    """
    if not engine_judges(plan):
        return ()
    return tuple(r.code for r in launch_refusals(plan, TABLES[plan.cluster.engine.name],
                                                  degrees(plan, strategy, layout)))


def default_engine_refuses(plan: Plan, strategy: Strategy, layout: Layout) -> tuple[str, ...]:
    """The codes the default engine's launcher (`DEFAULT_ENGINE`, vLLM) refuses `strategy` for, on a plan that names
    no engine (`engine_chosen` false): what neither `check` nor the search act on (the plan says nothing of how
    it is started), but its figures are priced as that engine serves it, so the optimal verdict and `dagc search`
    say it of the best they name (docs/search.md). Empty on a plan that chose its engine (`engine_refuses`).

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> from dagc.layout.layout import resolve
        >>> from dagc.plan.printer import aggregated
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" } '
        ...                    'workload { batch = 8 prompt = 512 generate = 64 } strategy tp 8')
        >>> s = aggregated(tp=4, ep=2, etp=2)
        >>> default_engine_refuses(p, s, resolve(p.model, p.cluster, p.workload, s))
        ('E702',)
    """
    if not default_engine_judges(plan):
        return ()
    return tuple(r.code for r in launch_refusals(plan, TABLES[plan.cluster.engine.name],
                                                  degrees(plan, strategy, layout)))


def unstartable_warnings(result: StrategyResult, hint: bool = True) -> tuple[Diagnostic, ...]:
    """W533 on a plan that names no engine, for a strategy every engine dagc launches refuses
    (`every_engine_refuses`): located where the default engine's first refusal is, with each engine's codes and,
    as hint, the nearest strategy the default engine runs (`refusal_hint`; without `hint`, none: a caller that
    shows no warning). N607 when the default engine refuses it and another engine starts it: the figures are the
    default's, for a strategy it cannot start (until 2026-12-03 nothing said so). None for a disaggregated strategy
    (its pools are searched under the default engine's rules) and for one that did not resolve (`UNFORMED`)."""
    plan, strategy, layout = result.plan, result.strategy, result.layout
    if strategy is None or layout is None or result.pooled is not None or \
            any(d.code in UNFORMED for d in result.diagnostics) or not default_engine_judges(plan):
        return ()
    d = degrees(plan, strategy, layout)
    refused = {t.key: tuple(dict.fromkeys(r.code for r in launch_refusals(plan, t, d))) for t in TABLES.values()}
    default = TABLES[plan.cluster.engine.name]
    if not refused[default.key]:
        return ()
    first = launch_refusals(plan, default, d)[0]
    at = field_span(plan, strategy, first.at)
    if not all(refused.values()):
        starts = [TABLES[k] for k, codes in refused.items() if not codes]
        return (default_refuses(f"{default.name}, the engine dagc prices this plan for (it names none), cannot start "
                                f"this strategy ({', '.join(refused[default.key])}: `dagc launch`); "
                                f"{' and '.join(t.name for t in starts)} can", at,
                                f"name the engine you will run, `cluster {{ engine = {starts[0].key} }}`, to price it "
                                f"as that engine serves it; `dagc launch --engine {default.key}` names the nearest "
                                f"strategy {default.name} starts"),)
    said = "; ".join(f"{TABLES[k].name} {', '.join(codes)}" for k, codes in refused.items())
    launched = _refused_launches(result, (default.key,))
    hint_text = refusal_hint(result, launched[0])[0] if hint and launched and launched[0].refusals else None
    return (unstartable(f"no engine dagc launches starts this strategy ({said}: `dagc launch`); the plan names no "
                        f"engine, so dagc prices it as {default.name} serves it, which refuses it", at, hint_text),)


def engine_refusals(result: StrategyResult, warning_hints: bool = True) -> tuple[Diagnostic, ...]:
    """The E7xx diagnostics of launching a strategy on the engine its plan chose (`engine_judges`), beside
    dagc's own errors when it has any (`refusals_on`); none on `pytorch` and for a strategy the engine can
    start. On a plan that chose none: E706 when its checkpoint has no MTP layers (`checkpoint_refusals`), else
    W533 when no engine starts the strategy (`unstartable_warnings`, its hint with `warning_hints`)."""
    if not engine_judges(result.plan):
        return checkpoint_refusals(result.plan) or unstartable_warnings(result, warning_hints)
    return refusals_on(result, (result.plan.cluster.engine.name,))


def refusals_on(result: StrategyResult, engines: Sequence[str]) -> tuple[Diagnostic, ...]:
    """The E7xx diagnostics of launching `result`'s strategy on each of `engines` (`TABLES`' keys), the last of
    each engine's with the hint `refusal_hint` gives. The engines' refusals read the strategy's degrees only
    (`dagc.launch.degrees`), never its memory or dagc's rules: a strategy dagc finds invalid (E402, an E2xx
    rule) gets them too, beside its own errors, so that fixing one does not uncover the other — a disaggregated
    strategy's too, each pool's named by its pool (`dagc.launch.pools.pooled_refusals`). None for a strategy
    that did not resolve, for one whose domains do not divide its stage group (`UNFORMED`: no degrees to tell an
    engine), and for a disaggregated strategy whose pools were not both laid out.

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> from dagc.verdict.check import check
        >>> p = load_plan_text('model preset "mixtral-8x22b" cluster { gpus = 4 gpu preset "a100-80g" } '
        ...                    'workload { batch = 32 prompt = 4096 generate = 512 } strategy tp 4 ; ep 2 etp 2')
        >>> r = check(p)[0]
        >>> [d.code for d in r.diagnostics if d.is_error], [d.code for d in refusals_on(r, ("vllm",))]
        (['E402'], ['E702'])
    """
    found: list[Diagnostic] = []
    for launched in _refused_launches(result, engines):
        if launched.refusals:
            hint, _ = refusal_hint(result, launched)
            found += [*launched.refusals[:-1], replace(launched.refusals[-1], hint=hint)]
    return tuple(found)


def _refused_launches(result: StrategyResult, engines: Sequence[str]) -> list[Launch]:
    """The launch of a valid strategy on each engine (`launch_result`); of an invalid one, on each engine that
    refuses its degrees, the launch that says so (`launch` returns its refusals before it reads the memory)."""
    if result.valid:
        return launch_result(result, engines)
    plan, strategy, layout = result.plan, result.strategy, result.layout
    if strategy is None or layout is None or any(d.code in UNFORMED for d in result.diagnostics):
        return []
    if result.pooled is not None:
        return _refused_pooled(result, engines)
    d = degrees(plan, strategy, layout)
    return [launch(plan, strategy, layout, TABLES[e]) for e in engines if launch_refusals(plan, TABLES[e], d)]


def _refused_pooled(result: StrategyResult, engines: Sequence[str]) -> list[Launch]:
    """Of an invalid disaggregated strategy, each engine's refusals of its pools' degrees (`pooled_refusals`), when
    both pools were laid out (`dagc.verdict.pools`) with degrees an engine can be told (no `UNFORMED` error)."""
    pooled, strategy = result.pooled, result.strategy
    assert pooled is not None and strategy is not None
    if len(pooled.pools) != 2 or any(d.code in UNFORMED for p in pooled.pools for d in p.analysis.diagnostics):
        return []
    refused = [pooled_refusals(result.plan, strategy, pooled, TABLES[e]) for e in engines]
    return [x for x in refused if x.refusals]


def refusal_hint(result: StrategyResult, launched: Launch) -> tuple[str, Nearest | None]:
    """What to do about a strategy the engine of `launched` refuses, as `dagc launch` and `dagc check` both
    say it under the last refusal: the nearest strategy that engine can run on the same GPUs, with dagc's
    figures for it (`dagc.launch.nearest`), or why there is none; and that strategy."""
    table = TABLES[launched.engine]
    assert result.strategy is not None
    codes = {d.code for d in launched.refusals}
    if "E728" in codes:
        return engines_for_gpu(result.plan), None
    # what no other strategy changes: the model's path (E708), its weights' format, the engine's own limit
    if fixed := next((hint for c, hint in (("E708", any_engine.E708_HINT), ("E729", E729_HINT), ("E734", E734_HINT),
                                           ("E706", E706_HINT)) if c in codes), None):
        return fixed, None
    if "E730" in codes:
        return whole_prompts_hint(result.plan), None
    if vllm_share.CODE in codes:
        return vllm_share.HINT, None
    if KV_CODE in codes:
        return _kv_hint(result, launched.engine), None
    replica = launched.gpus // max(1, launched.replicas)        # the GPUs of the replica E701 refuses
    if result.pooled is not None:
        near = nearest_pooled(result.plan, result.strategy, result.pooled, table) if codes - {"E705"} else None
        replica = unplaced_replica(result.pooled.pools, launched.gpus_per_node) or replica
    else:
        assert result.layout is not None
        near = nearest(result.plan, result.strategy, result.layout, table)
    if near is None and "E705" in codes:
        return "change the pools' instances so that each takes whole nodes or shares one, prefill pool first", None
    if near is None and "E701" in codes:
        return replica_size_hint(replica, launched.gpus_per_node), None
    if near is None:
        same = "GPU" if launched.gpus == 1 else f"{launched.gpus:,} GPUs"      # not "the same 1 GPUs"
        return (f"none of the strategies nearest it that {launched.name} can run on the same {same} "
                f"(dagc tries at most {NEAREST_TRIES}) checks without errors; `dagc search` weighs more"), None
    at = f" at batch {near.batch:,}, the largest it serves" if near.batch is not None else ""
    meets = f"; it {near.requirements_text}" if near.requirements_text else ""
    figures = figures_text(near.metrics)
    return (f"the nearest strategy {launched.name} can run: `{near.text}` ({figures}{at}{near.traffic}"
            f"{priced_by(result.plan, launched)}){meets}"), near



def _kv_hint(result: StrategyResult, engine: str) -> str:
    """E732's hint (`kv_start_hint`) of the strategy, or of the first pool of a disaggregated one that the engine
    does not start."""
    if result.pooled is None:
        assert result.strategy is not None and result.layout is not None
        return kv_start_hint(result.plan, result.strategy, result.memory, result.layout, engine)
    a = next(p.analysis for p in result.pooled.pools
             if kv_start_refusal(p.analysis.plan, p.analysis.strategy, p.analysis.layout, engine, p.analysis.memory))
    return kv_start_hint(a.plan, a.strategy, a.memory, a.layout, engine)


def plan_refusals(plan: Plan) -> tuple[Diagnostic, ...]:
    """What the engine the plan chose refuses whatever the strategy (`PLAN_CODES`: its GPU's maker, E728; NVFP4
    weights before Blackwell, E729; MTP drafting from a checkpoint without MTP weights, E706), located in the plan
    with the hint `check` gives; empty when it runs the plan's GPU and weights, or the plan chose no engine
    (`engine_judges`). `dagc search` says these instead of an empty
    ranking: every candidate of its space is left out for them.

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "mi300x" '
        ...                    'engine = trtllm } workload { batch = 8 prompt = 512 generate = 64 } strategy tp 8')
        >>> [d.code for d in plan_refusals(p)]
        ['E728']
    """
    if not engine_judges(plan):
        return checkpoint_refusals(plan)
    one = aggregated(tp=1)            # any strategy: these codes are the same for all
    d = degrees(plan, one, resolve(plan.model, plan.cluster, plan.workload, one))
    hints = {"E706": E706_HINT, "E728": engines_for_gpu(plan), "E729": E729_HINT, "E734": E734_HINT,
             "E730": whole_prompts_hint(plan),
             vllm_share.CODE: vllm_share.HINT}
    return tuple(engine_refusal(r.code, r.message, field_span(plan, one, r.at), hints[r.code])
                 for r in launch_refusals(plan, TABLES[plan.cluster.engine.name], d) if r.code in PLAN_CODES)


def whole_prompts_hint(plan: Plan) -> str:
    """E730's hint: the least `chunk` vLLM takes with chunked prefill off (the length limit it is told, the longest
    request), or chunked prefill on.

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> hint = whole_prompts_hint(load_plan_text(
        ...     'model preset "qwen3-30b-a3b" cluster { gpus = 8 gpu preset "h100-sxm" engine = vllm } '
        ...     'workload { batch = 64 prompt = 4000 generate = 500 serving = inflight chunk = 4096 '
        ...     'chunked_prefill = off } strategy tp 8'))
        >>> hint.split(" or more")[0]
        'no strategy changes it: write `chunk = 4500`'
    """
    least = length_limit(plan.workload, plan.model.context_length)
    return (f"no strategy changes it: write `chunk = {least}` or more (the longest request, --max-model-len), or "
            "`chunked_prefill = on`; TensorRT-LLM has no such rule (`dagc launch --engine trtllm`)")


def engines_for_gpu(plan: Plan) -> str:
    """E728's hint: the engines whose builds run on the plan's GPU, and how to choose one.

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> engines_for_gpu(load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "mi300x" '
        ...                                'engine = trtllm } workload { batch = 8 prompt = 512 generate = 64 } '
        ...                                'strategy tp 8'))
        'on `mi300x` (AMD) run vLLM and SGLang: `cluster { engine = vllm }`, or `dagc launch --engine vllm`'
    """
    gpu = plan.cluster.gpu
    names = [t for t in TABLES.values() if gpu.vendor is None or gpu.vendor in t.runs_on]
    maker = f" ({gpu.vendor.name})" if gpu.vendor is not None else ""
    if not names:
        return f"no engine dagc launches runs on {code(gpu.name)}{maker}"
    return (f"on {code(gpu.name)}{maker} run{'' if len(names) > 1 else 's'} {' and '.join(t.name for t in names)}: "
            f"`cluster {{ engine = {names[0].key} }}`, or `dagc launch --engine {names[0].key}`")


def figures_text(metrics: SteadyMetrics) -> str:
    """A strategy's TTFT, TPOT and decode tokens/s per GPU in words, as `dagc launch` names them."""
    ttft, tpot = format_si(metrics.ttft_s, Dimension.TIME), format_si(metrics.tpot_s, Dimension.TIME)
    return f"TTFT {ttft}, TPOT {tpot}, {format_figure(metrics.decode_tokens_per_s_per_gpu)} tokens/s/GPU"


def engine_checked(result: StrategyResult, warning_hints: bool = True) -> StrategyResult:
    """`result` with its engine's refusals (`engine_refusals`) among its diagnostics and its verdict
    judged with them; `result` itself when there are none, or when the strategy needs more GPUs than the cluster
    has (E401: where an engine would place GPUs the cluster does not have is moot — E704 listed 256 nodes of a
    32-node cluster — and E401's hint names a strategy that fits, checked with its refusals in turn).

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> from dagc.verdict.check import check
        >>> plan = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" '
        ...                       'engine = vllm } workload { batch = 8 prompt = 512 generate = 64 } '
        ...                       'strategy tp 8 ; ep 4 etp 2')
        >>> r = engine_checked(check(plan)[0])
        >>> [d.code for d in r.diagnostics if d.code.startswith("E")], r.verdict.correct
        (['E702'], False)
    """
    if any(d.code == "E401" for d in result.diagnostics):
        return result
    found = engine_refusals(result, warning_hints)
    if not found:
        return result
    diags = tuple(cap([*result.diagnostics, *found]))
    if not any(d.is_error for d in found):     # W533 alone: the strategy's verdict and next steps stand
        return replace(result, diagnostics=diags)
    return replace(result, diagnostics=diags, next_steps=(),
                   verdict=verdict(list(diags), result.requirements, result.verdict.optimal,
                                   carries_traffic(result.load)))


def check(plan: Plan, strategy: str | StrategyDecl | None = None, optimality: Searched | None = None,
          picks: Mapping[str, SearchedCandidate | None] | None = None, progress: Progress | None = None,
          warning_hints: bool = True) -> list[StrategyResult]:
    """`dagc.verdict.check.check` on the plan's own engine: each strategy with that engine's refusals
    (`engine_checked`), judged optimal or not after them. What `dagc check`, `dagc compile` and the
    library's `dagc.check` and `dagc.compile` run.

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" '
        ...                    'engine = trtllm } workload { batch = 8 prompt = 512 generate = 64 } '
        ...                    'strategy tp 2 ; ep 8')
        >>> r = check(p)[0]
        >>> [d.code for d in r.diagnostics if d.code.startswith("E")], r.verdict.correct
        (['E721'], False)

    Raises:
        PlanError: when `strategy` text does not parse.
    """
    judged = engine_judges(plan) or default_engine_judges(plan) or checkpoint_refusals(plan)
    judge = (engine_checked if warning_hints else functools.partial(engine_checked, warning_hints=False)) \
        if judged else None
    return check_plan(plan, strategy, optimality, picks, progress, engine=judge)
