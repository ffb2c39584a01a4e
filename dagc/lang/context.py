"""E111: a request longer than the model's context.

Input: the lowered `Model` (its `context_length`; None: not known, nothing checked), `Workload` and where
the plan writes its `prompt` and `requests from`. Output: one diagnostic when a request the workload sends
is longer than the model takes — its `prompt + generate`, or the longest of the requests a request log
replays (prompt + output) — located at the value of the workload's `prompt`, or at the `requests from`
line. An engine does not start with a length limit above the model's context (vLLM: "User-specified
max_model_len … is greater than the derived max_model_len"; SGLang the same of its `--context-length`) and
refuses a request longer than its limit, so no such plan can be served. The message names the plan's engine
and the flag that sets its limit (`ENGINE_LIMIT`).
"""

from __future__ import annotations

from ..diagnostics import Diagnostic, Severity, code, quote
from ..plan.engines import EngineName
from ..plan.model import Model
from ..plan.workload import Workload
from ..source import Span

__all__ = ["CONTEXT_CODE", "check_context"]

CONTEXT_CODE = "E111"
# how each engine refuses a request longer than the model's context, by the flag that sets its longest request
# (dagc/data/engine_flags/): vLLM and SGLang do not start with a limit above the model's context; TensorRT-LLM's
# is named as the setting the request would need. A plain PyTorch run has no such flag.
ENGINE_LIMIT: dict[EngineName, str] = {
    "vllm": "vLLM does not start with --max-model-len {}", "sglang": "SGLang does not start with --context-length {}",
    "trtllm": "TensorRT-LLM would need --max_seq_len {}"}


def check_context(model: Model, workload: Workload, prompt_at: Span | None, log_at: Span | None,
                  engine: EngineName = "vllm") -> list[Diagnostic]:
    """E111 when a request of `workload` is longer than `model.context_length` (module docstring): located at
    `prompt_at` (the value of the workload's `prompt`), or at `log_at` (its `requests from` line) for a log's;
    the message names `engine`, the plan's, and its length flag (`ENGINE_LIMIT`).

    Example:
        >>> from dagc.lang.model import model_from_preset
        >>> long = Workload(batch=1, prompt=100_000, generate=500)
        >>> [(d.code, d.message[:57]) for d in check_context(model_from_preset("mixtral-8x7b"), long, None, None)]
        [('E111', 'a request of 100,000 prompt + 500 output tokens (100,500)')]
    """
    context = model.context_length
    if context is None:
        return []
    name, shown = quote(model.name), f"{context:,}"
    traffic = workload.traffic
    if traffic is not None and traffic.log is not None:
        log, n = traffic.log, traffic.requests
        lengths = log.prompt[:n] + log.output[:n]
        over = lengths > context
        if not over.any():
            return []
        i = int(lengths.argmax())
        more = int(over.sum()) - 1
        others = f" (and {more:,} other request{'s' if more > 1 else ''} of the log)" if more else ""
        return [Diagnostic(
            CONTEXT_CODE, Severity.ERROR,
            f"the request on line {i + log.first_line:,} of {code(log.file)} ({int(log.prompt[i]):,} prompt + "
            f"{int(log.output[i]):,} output tokens) is longer than the context of model {code(name)}: {shown} tokens"
            f"{others}; an engine refuses it",
            log_at,
            f"drop or cut the log's requests longer than {shown} tokens, replay fewer of them (`requests = N`), "
            "or serve a model with a longer context")]
    total = workload.prompt + workload.generate
    if total <= context:
        return []
    return [Diagnostic(
        CONTEXT_CODE, Severity.ERROR,
        f"a request of {workload.prompt:,} prompt + {workload.generate:,} output tokens ({total:,}) is longer than "
        f"the context of model {code(name)}: {shown} tokens; an engine refuses it{_refusal(engine, total)}",
        prompt_at,
        f"shorten `prompt` and `generate` to at most {shown} tokens together, or serve a model with a longer "
        "context")]


def _refusal(engine: EngineName, total: int) -> str:
    """` (SGLang does not start with --context-length 42000)`: how the plan's engine refuses a request of `total`
    tokens, '' for an engine without a length flag.

    Example:
        >>> _refusal("sglang", 42000), _refusal("pytorch", 42000)
        (' (SGLang does not start with --context-length 42000)', '')
    """
    said = ENGINE_LIMIT.get(engine)
    return "" if said is None else f" ({said.format(total)})"
