"""The glossary at the end of report.md: the words its figures use, each in one sentence — TPOT as the report's
serving mode makes it (`glossary`)."""

from __future__ import annotations

__all__ = ["GLOSSARY", "glossary"]

GLOSSARY = [
    ("TTFT", "time to first token: from a request's arrival to its first generated token — statically the batch's "
             "prefill makespan; in flight the steps until its prompt's last chunk, and under traffic its wait to be "
             "admitted too; as a client measures it, with the engine's front end."),
    ("TPOT", "time per output token: the gap between two steady decode steps."),
    ("makespan", "the time from the first op of a phase to its last, over all GPUs."),
    ("critical path", "the chain of ops (and waits) that sets the makespan; shortening anything else does not help."),
    ("binding requirement", "the met requirement with the smallest margin: the first to fail if things get worse."),
    ("margin", "how far a figure is from its target, as a share of the target (positive: met); past ±100 % the "
               "multiple of the target the figure is (`5.99× over` a limit, `3.68× the target` of a floor), and a "
               "figure missed by 2× or more adds how many times off (`-99.3 %; 146.8× off`)."),
    ("stage group", "the GPUs of one pipeline stage of one DP replica; they hold the stage's layers together."),
    ("tp / cp / sp", "tensor parallel (each matrix split across GPUs), context parallel (the sequence split), "
                     "sequence-parallel activations between tensor-parallel ops."),
    ("adp (attention DP)", "attention data parallelism inside a stage group: groups of GPUs that each serve "
                           "their own requests' attention."),
    ("ep / etp / edp", "expert parallel (the routed experts spread across GPUs), expert tensor parallel (each "
                       "expert split), expert data parallel (copies of the expert set)."),
    ("micro-batch", "a slice of the batch that moves through the pipeline on its own, so stages work at once."),
    ("bubble", "the time pipeline stages sit idle while the first micro-batches fill the pipeline and the last "
               "drain it."),
    ("all-to-all", "the EP exchange that sends each token to its experts' GPUs (dispatch) and back (combine)."),
    ("reserve", "memory the runtime keeps on every GPU beyond weights, KV cache and activations."),
    ("copies", "how many times the strategy holds a category of weights over all its GPUs (replicas, "
               "replicated norms and KV heads)."),
]

# TPOT by the serving mode of the report (`dagc.layout.modes`: a disaggregated strategy's report is its decode
# instance's); until 2026-11-30 every report said the static one, an in-flight report under a Metrics row of
# decode and mixed steps mixed
_TPOT = {
    "static": "time per output token: the gap between two steady decode steps.",
    "inflight": "time per output token: in flight, the decode step and the mixed step (the decode tokens and a "
                "prompt's chunk) weighted by the share of steps that carry a chunk, f_g.",
    "decode": "time per output token: the gap between two steady decode steps of a decode instance, which runs no "
              "prompt.",
}


def glossary(mode: str, traffic: bool = False) -> list[tuple[str, str]]:
    """The glossary of a report whose figures are in serving `mode` (`static`, `inflight`, `decode`), with
    `traffic` simulated: TPOT as that mode's figures make it, and under traffic as each request's is measured.

    Example:
        >>> dict(glossary("inflight", traffic=True))["TPOT"]  # doctest: +ELLIPSIS
        "time per output token: in flight, the decode step and the mixed step ... a request's decode time over its \
tokens but one."
    """
    tpot = _TPOT.get(mode, _TPOT["static"]) + (" Under traffic, a request's decode time over its tokens but one."
                                                if traffic else "")
    return [(word, tpot if word == "TPOT" else text) for word, text in GLOSSARY]
