"""What the report says of speculative decoding and expert load balancing (SPEC 12): one sentence each,
as report.md's summary and `dagc check` print them.

Input: a `StrategyResult`. Output: `technique_lines` — (label, sentence) pairs, plain text — from
report.json's `speculative` (`dagc.serve.speculative`) and `eplb` (`dagc.layout.eplb.balance_figures`)
objects, which derive the figures; nothing is computed here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..diagnostics import code
from ..jsontypes import JSON
from ..layout.modes import mode_of
from ..plan.workload import Requirement, RequirementKind
from ..serve.price import TokenCost
from ..serve.speculative import SpeculativeFigures
from ..units import Dimension, count_text, format_figure, format_in_unit, format_si, lookup, said_list
from ..verdict.check import TRAFFIC_NOT_SIMULATED, StepFigures, StrategyResult
from ..verdict.next_steps import NextStep
from ..verdict.verdict import requirement_value_text
from .cost_words import cost_sentence, strategy_cost, sustained_cap

__all__ = ["cost_sentence", "eplb_json", "next_step_lines", "speculative_json", "step_figures", "step_load_figures",
           "step_replaces", "step_verdict", "steps_said", "strategy_cost", "technique_lines"]


def speculative_json(result: StrategyResult) -> SpeculativeFigures | None:
    """report.json's `speculative`: of the strategy's DAG — a disaggregated strategy's decode instance's —, as
    the check made it (`dagc.verdict.techniques`)."""
    return result.techniques.speculative


def eplb_json(result: StrategyResult) -> dict[str, JSON] | None:
    """report.json's `eplb`: of the strategy's layout — a disaggregated strategy's decode instance's —, as the
    check made it (`dagc.verdict.techniques`)."""
    return result.techniques.eplb


# What a speculative step's mean is made of, by the serving mode of the instance that decodes (static: one step)
_SPEC_STEPS = {"inflight": ": in flight, the decode and mixed steps together",
               "decode": ": the decode instance's, which runs no prompt"}


def technique_lines(result: StrategyResult) -> list[tuple[str, str]]:
    """(label, sentence) for speculative decoding and for expert load balancing, where the plan uses them, and
    what the tokens cost where the cluster has a `price`."""
    out = []
    spec = speculative_json(result)
    if spec is not None:
        given = (f"acceptance {spec['acceptance']:g}" if spec["acceptance"] is not None
                 else f"accept length {spec['accept_length']:g}")
        share = f", the draft {spec['draft_share'] * 100:.1f} % of it" if spec["draft_share"] is not None else ""
        drafted = count_text(spec["tokens"], "token")
        mode = mode_of((result.compiled.plan if result.compiled is not None else result.plan).workload)
        steps = _SPEC_STEPS.get(mode.name, "")          # the steps of the instance that decodes
        out.append(("Speculative decoding", f"{spec['method']} drafting {drafted} ({given}): a decode step "
                    f"verifies {spec['verify_positions']} positions per request and emits "
                    f"{spec['tokens_per_step']:.2f} tokens on average{_capped(result)}; a step takes "
                    f"{format_si(spec['step_s'], Dimension.TIME)} on average (TPOT × the tokens it emits{steps})"
                    f"{share}; TPOT is the step over the tokens it emits."))
    eplb = eplb_json(result)
    if eplb is not None:
        out.append(("Expert load balance", _eplb_sentence(eplb)))
    cost = strategy_cost(result)
    if cost is not None and cost["price_per_gpu_hour"] is not None:
        out.append(("Cost", cost_sentence(cost, result.plan.workload.traffic is not None, sustained_cap(result))
                    + _ranked_apart(cost, result.plan.objective)))
    return out


def next_step_lines(result: StrategyResult) -> list[str]:
    """One line per next step of a strategy that misses its requirements (`StrategyResult.next_steps`): the
    change, the options that make it, and what it gives, each tried by the compiler."""
    steady = result.plan.workload.traffic is not None
    return [f"{s.change} — {step_verdict(s, lambda m: f'`{m}`', result.plan.requirements)} "
            f"({step_load_figures(s, result.plan.requirements)}"
            f"{step_figures(s.figures, steady)}): {' '.join(s.options)}{step_replaces(result, s)}"
            for s in result.next_steps]


def step_replaces(result: StrategyResult, step: NextStep, code: Callable[[str], str] = str) -> str:
    """The options of the command dagc ran that a next step's options take the place of, in words (empty when
    none): a `--set` of a field the step sets again — a field set twice is E104 — and `--strategy` when the
    strategy checked came from it, which the command takes once. A step's options are what changes the plan as
    checked; added to a command with those, the line was refused (`dagc check … --strategy 'tp 8 ; ep 8' --set
    cluster.gpus=8`: the replicas' `--set cluster.gpus=16 … --strategy 'dp 2 < tp 8 ; ep 8 >'`; until 2026-11-30
    nothing said so). Each is set as `code` sets it.

    Example:
        >>> from types import SimpleNamespace as N
        >>> decl = N(text="tp 8 ; ep 8", span=N(source=N(path="--strategy")))
        >>> r = N(plan=N(overrides=("cluster.gpus = 8", "require.ttft = 1 s")), decl=decl)
        >>> step_replaces(r, N(options=("--set cluster.gpus=16", "--strategy 'dp 2 < tp 8 ; ep 8 >'")))
        " in place of the command's --set cluster.gpus=8 and --strategy 'tp 8 ; ep 8'"
        >>> step_replaces(r, N(options=("--set model.weights=fp8",)))
        ''
    """
    import shlex

    from ..lang.load import STRATEGY_SOURCE
    words = [shlex.split(o) for o in step.options]
    sets = {w[1].split("=", 1)[0].strip() for w in words if len(w) == 2 and w[0] == "--set"}
    own = [f"--set {shlex.quote(o.replace(' = ', '=', 1))}" for o in result.plan.overrides
           if o.split(" = ", 1)[0] in sets]
    if any(w[:1] == ["--strategy"] for w in words) and result.decl.span.source.path == STRATEGY_SOURCE:
        own.append(f"--strategy {shlex.quote(result.decl.text)}")
    return f" in place of the command's {said_list([code(o) for o in own])}" if own else ""


def steps_said(result: StrategyResult) -> str:
    """What report.md's "What to change" adds when no better strategy was found but the strategy misses its
    requirements and has next steps: that the changes meeting them are those steps, changes of the plan — not
    "nothing better was found" alone beside a list of changes that meet (until 2026-11-30). Empty otherwise."""
    if not result.next_steps or result.verdict.meets_requirements is not False:
        return ""
    if any(s.meets for s in result.next_steps):
        return " What meets the requirements is a change of the plan: the next steps above."
    return " No change tried meets the requirements either: the next steps above say how close each comes."


def step_load_figures(step: NextStep, requirements: Sequence[Requirement]) -> str:
    """What a next step's run under the plan's traffic gave each load requirement, which `meets` judged (before
    the steady state's figures, which the traffic need not reach), as the requirements table writes a value;
    empty when the step was not simulated."""
    got = dict(step.load_figures)
    shown = [f"{r.name} {requirement_value_text(r, got[r.name])}" for r in requirements
             if r.on_load and got.get(r.name) is not None]
    return f"under the traffic: {', '.join(shown)}; " if shown else ""


def step_verdict(step: NextStep, code: Callable[[str], str], requirements: Sequence[Requirement] = ()) -> str:
    """Whether a next step meets every requirement, or which it still misses, each set as `code` sets it with its
    figure in the step's run (`NextStep.missed_figures`, in the requirement's unit; not a TTFT or TPOT, which the
    step's figures show), and what could not be judged (`NextStep.not_judged`: its traffic not simulated, W518, say)."""
    if step.meets:
        return "meets every requirement"
    missed = [*(code(m) + _reached(step, m, requirements) for m in step.missed), *filter(None, [step.short_of_traffic])]
    unjudged = "not judged: " + ", ".join(t if t == TRAFFIC_NOT_SIMULATED else code(t) for t in step.not_judged)
    if not missed:
        return unjudged if step.not_judged else "still misses"
    return "still misses " + ", ".join(missed) + (f"; {unjudged}" if step.not_judged else "")


def _reached(step: NextStep, text: str, requirements: Sequence[Requirement]) -> str:
    """" at 722.9 tokens/ms": the figure of the missed requirement `text` in the step's run, "" when it has none
    or it is a TTFT or TPOT (`step_figures` shows them)."""
    value = dict(step.missed_figures).get(text)
    req = next((r for r in requirements if r.text == text), None)
    if value is None or req is None or req.kind in (RequirementKind.TTFT, RequirementKind.TPOT):
        return ""
    return f" at {requirement_value_text(req, value)}"


def step_figures(f: StepFigures, steady: bool = False) -> str:
    """A next step's figures, times to four significant digits (as requirements are judged: 3.037 s, not 3.0 s,
    beside `ttft <= 3 s`); `steady`: said to be the steady state's (a plan with traffic, whose step is judged on
    its load's percentiles)."""
    ttft, tpot, per_gpu = f["ttft_s"], f["tpot_s"], f["decode_tokens_per_s_per_gpu"]
    if ttft is None or tpot is None or per_gpu is None:        # none computed
        return "no figures"
    return (f"{'steady state: ' if steady else ''}TTFT {_time4(ttft)}, TPOT {_time4(tpot)}, "
            f"{format_figure(per_gpu)} tokens/s/GPU")


def _time4(seconds: float) -> str:
    unit = lookup("s" if seconds >= 1 else "ms")
    assert unit is not None
    return format_in_unit(seconds, unit)


def _ranked_apart(c: TokenCost, objective: str) -> str:
    """Under `objective = cost`, a Cost line charged to the goodput says the optimal verdict's figure is another:
    the steady state's, every request slot busy (`dagc.export.optimal_words.objective_text`)."""
    if objective != "cost" or c["basis"] != "goodput":
        return ""
    return ("; the optimal verdict ranks by the steady state's cost instead (every request slot busy, no queueing), "
            "the same for every traffic")


def _eplb_sentence(f: dict[str, Any]) -> str:
    placed = "contiguously (no EPLB)"
    if f["eplb"]:
        slots = f"{f['redundant']:,} redundant slots, {f['slots_per_gpu']} per GPU" if f["redundant"] else \
            "no redundant slot"
        placed = f"by EPLB {'hierarchically over its nodes' if f['hierarchical'] else 'over the EP group'} with {slots}"
    if f["file"] is None:
        return (f"experts placed {placed}; no measured loads (`routing from`) say which experts are hot, so no rank "
                "carries less: the slots cost memory and weight reads and save nothing under the routing assumed.")
    where = f"measured loads of {f['layers']} MoE layers from {code(f['file'])}"
    if f["busiest_factor"] is None:
        return f"{where}; experts placed {placed}: they do not split over ep {f['ep']} (see the errors)."
    base = f["busiest_factor_contiguous"]
    against = ""
    if f["eplb"]:
        against = (f", against {base:.3f}× placed contiguously without EPLB" if base is not None else
                   f"; without EPLB the {f['experts']} experts do not split over ep {f['ep']}")
    return (f"{where}, experts placed {placed}: the busiest EP rank takes {f['busiest_factor']:.3f}× the mean "
            f"(worst layer {f['worst_layer_factor']:.3f}×){against}.{_decode_reads(f)}")


# tokens a slot takes in a decode step below which its grouped GEMM is its weights' read on any GPU dagc knows, in any
# precision (an H200's FP8 peak over its bandwidth is some 400 FLOPs a byte: 200 tokens of an 8-bit expert)
_READ_BOUND_TOKENS = 32


def _decode_reads(f: dict[str, Any]) -> str:
    """What EPLB's balance does to a decode step where each slot takes few tokens (`decode_tokens_per_slot`): its
    time is reading the slots' weights, not their load — so the balance shows in the steps with prompt tokens, and
    redundant slots add reads (a user saw TPOT rise with EPLB beside a busiest rank 4.75× → 1.25×, unexplained)."""
    per_slot = f.get("decode_tokens_per_slot")
    if not f["eplb"] or per_slot is None or per_slot >= _READ_BOUND_TOKENS:
        return ""
    extra = (f", and the {f['redundant']:,} redundant slots add their weights' reads to each decode step"
             if f["redundant"] else "")
    return (f" A decode step gives each expert slot {per_slot:.3g} tokens on average: its time there is reading the "
            f"slots' weights whatever their load, so the balance shortens the steps with prompt tokens{extra}.")


def _capped(result: StrategyResult) -> str:
    """Where a request has fewer tokens left after its first than its drafts would emit a step: said beside the count
    (`Workload.tokens_per_step`)."""
    w, spec = result.plan.workload, result.plan.workload.speculative
    if spec is None or w.tokens_per_step >= spec.tokens_per_step:
        return ""
    return f" (its drafts {spec.tokens_per_step:.2f}, but a request has {w.generate - 1:,} left after its first)"
