"""Speculative decoding's settings against what published runs accept (W525).

Input: the plan's `workload { speculative { … } }`. Output: W525 when the tokens a step emits, as the plan
gives them (`acceptance` or `accept_length`), exceed what the best published drafts accept at that many drafted
tokens. The figures are kept as the plan asks: the warning says they rest on an acceptance no run has shown.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..diagnostics import Diagnostic, Severity
from .base import RuleContext, diag, make_rule

__all__ = ["BEST_ACCEPTANCE", "RULES", "check_speculative_acceptance", "plausible_tokens_per_step"]

# The highest share of drafted tokens accepted that published runs show, a draft at a time: DeepSeek-V3's MTP
# module, whose first draft is accepted 85-90 % of the time ("the acceptance rate of the second token prediction
# ranges between 85% and 90%", DeepSeek-V3 Technical Report, arXiv:2412.19437, section 5.4.3), 92 % on
# TensorRT-LLM's B200 (1.92 tokens a step with one MTP draft: its tech blog 1, "Pushing Latency Boundaries",
# bench/corpus/trtllm-blog-b200-min-latency.json). Later drafts are accepted less: the engines run the
# checkpoint's one MTP layer again for each (vLLM warns that this "may result in lower acceptance rate",
# vllm/config/speculative.py), and the same blog's accept lengths level off at 2.82, 2.99 and 3.01 for 3, 4 and
# 5 drafts; EAGLE and n-gram drafts are accepted less often than MTP's.
BEST_ACCEPTANCE = 0.92


def plausible_tokens_per_step(tokens: int) -> float:
    """The most tokens a step of `tokens` drafts emits per request at `BEST_ACCEPTANCE` each, 1 + a + … + aᵏ:
    what W525 compares the plan's with (an upper bound: published accept lengths lie below it from 2 drafts on).

    Example:
        >>> round(plausible_tokens_per_step(1), 6), round(plausible_tokens_per_step(16), 3)
        (1.92, 9.471)
    """
    return float(sum(BEST_ACCEPTANCE ** i for i in range(tokens + 1)))


def check_speculative_acceptance(ctx: RuleContext) -> Iterator[Diagnostic]:
    """Speculative decoding emits more tokens a step than any published draft is accepted for.

    `speculative { tokens = k  acceptance = a }` emits 1 + a + … + aᵏ tokens a step per request
    (`accept_length` gives them directly), and dagc's decode rates scale with them. The best drafts
    published are accepted at most 92 % of the time, a draft at a time: DeepSeek-V3's MTP module 85-90 %
    (its technical report, arXiv:2412.19437, section 5.4.3), 1.92 tokens a step with one MTP draft on
    TensorRT-LLM's B200 (its tech blog 1). Each further MTP draft runs the checkpoint's one MTP layer
    again and is accepted less often (vLLM warns so; the same blog's steps emit 2.82, 2.99 and 3.01
    tokens at 3, 4 and 5 drafts), and EAGLE and n-gram drafts less often than MTP's. A plan whose step
    emits more than 1 + 0.92 + … + 0.92ᵏ tokens rests on an acceptance no run has shown: dagc keeps its
    figures and warns. Write the acceptance your engine reports for your traffic (vLLM and SGLang log
    the accept length; `dagc calibrate` does not fit it).

    Bad:
        workload { … speculative { method = mtp  tokens = 16  acceptance = 1 } }   # 17 tokens a step
    Fixed:
        workload { … speculative { method = mtp  tokens = 3  accept_length = 2.8 } }
    """
    spec = ctx.plan.workload.speculative
    if spec is None:
        return
    k, emitted, most = spec.tokens, spec.tokens_per_step, plausible_tokens_per_step(spec.tokens)
    if emitted <= most * (1 + 1e-9):
        return
    given = f"each accepted at {spec.acceptance:g}" if spec.acceptance is not None else \
        f"accept_length {spec.accept_length:g}"
    again = "; past the first, each runs the model's one MTP layer again" if spec.method == "mtp" and k > 1 else ""
    key = "acceptance" if spec.acceptance is not None else "accept_length"
    plan = ctx.plan
    yield diag("W525", Severity.WARNING,
               f"speculative decoding emits {emitted:.3g} tokens a step ({k:,} drafted tokens, {given}{again}), more "
               f"than published drafts are accepted for: at most {BEST_ACCEPTANCE:g} a draft (DeepSeek-V3's MTP, "
               f"TensorRT-LLM's B200 blog), {most:.3g} tokens a step at {k:,} drafts; dagc's decode rates assume it",
               plan.span_of(f"workload.speculative.{key}") or plan.span_of("workload.speculative")
               or plan.span_of("workload"),
               "write the accept length your engine reports for this traffic (published MTP runs: 1.9-2.6 at "
               "1-2 drafts, about 3 at 3-5), or draft fewer `tokens`")


RULES = (
    make_rule("W525", Severity.WARNING, "speculative decoding accepted beyond any published draft",
              check_speculative_acceptance, plan_level=True),
)
