"""The glossary at the end of report.md: the words its figures use, each in one sentence."""

from __future__ import annotations

__all__ = ["GLOSSARY"]

GLOSSARY = [
    ("TTFT", "time to first token: from a request's arrival to its first generated token — statically the batch's "
             "prefill makespan; in flight the steps until its prompt's last chunk, and under traffic its wait to be "
             "admitted too; as a client measures it, with the engine's front end."),
    ("TPOT", "time per output token: the gap between two steady decode steps."),
    ("makespan", "the time from the first op of a phase to its last, over all GPUs."),
    ("critical path", "the chain of ops (and waits) that sets the makespan; shortening anything else does not help."),
    ("binding requirement", "the met requirement with the smallest margin: the first to fail if things get worse."),
    ("margin", "how far a figure is from its target, as a share of the target (positive: met)."),
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
