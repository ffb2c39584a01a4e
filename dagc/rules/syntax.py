"""Codes emitted while reading a plan: syntax (E001), input (E002) and lowering (E101–E109, E111); and E110,
the measured runs `dagc calibrate` reads (`dagc.calibrate`).

The checks themselves live in the passes that read the plan (`dagc.lang.parse`, `dagc.lang.lower`,
`dagc.lang.flatten`); this module documents them, and each entry names the passes that emit it.
"""

from __future__ import annotations

from ..diagnostics import Diagnostic, Severity, cap
from ..lang.context import check_context
from ..lang.flatten import flatten
from ..lang.lower import lower
from ..lang.parse import parse, read_source
from ..source import Span
from .base import pass_rule

E001 = """
A plan that does not follow the grammar (grammar/plan.lark): a missing `}` or `>`, a field
written `name: value`, a preset name without quotes. The message names what was expected;
`nan` or `inf` written with a unit or a sign (`rate = nan requests/s`) is said to be no number.

Bad:
    cluster { gpus: 16 }
Fixed:
    cluster { gpus = 16  gpu preset "h100-sxm" }
"""

E002 = """
The input cannot be read as a plan: the file is missing, not a regular file (a directory,
device, FIFO or socket), binary, not UTF-8, larger than 1 MiB or 100,000 words and symbols;
the plan has more than 64 strategies; `model from` names a file outside the plan's directory
(allow another directory with `--allow-path DIR`), or `requests from`, `calibration from`,
`routing from` or `kernels from` does ("cannot read the request log `../x.csv`": until
2026-11-30 "cannot import" it, as a model); an imported Hugging Face config is not
a JSON object; or a `fleet { … }` lists more clusters than `dagc fleet` searches (a `...` range
of more than 1,000 values, or their product past 1,000 searches: docs/fleet.md). A file given as
the plan that is another of dagc's inputs or outputs — a model's config.json, a serving
benchmark's results, a request log, a kernel profile, a calibration, a report.json — is E002
naming what it is and where dagc takes it (`model from "config.json"`, `dagc calibrate RUN
--plan PLAN`), no line of it shown (`dagc.lang.not_a_plan`; until 2026-12-02 E001 at its
first character, its first line printed).

Bad:
    model from "missing.json"
Fixed:
    model from "configs/mixtral/config.json"     # path relative to the plan
"""

E101 = """
An unknown name: axis, preset, field, unit, requirement or value. The hint names the nearest
known name. Names are the contract of the plan language; a misspelt one would otherwise be
silently ignored.

Bad:
    model preset "mixtral-8x7"
    cluster { gpus = 16  gpu preset "h100"  inter_node = 50 GX }
Fixed:
    model preset "mixtral-8x7b"
    cluster { gpus = 16  gpu preset "h100-sxm"  inter_node = 50 GB/s }
"""

E102 = """
A quantity of the wrong dimension, or a quantity without the unit its field needs: a memory
written in milliseconds, a bandwidth with no unit, a count with a unit.

Bad:
    gpu "x" { memory = 3 ms  flops = 400 TFLOPS  hbm = 1.8 TB/s }
    require { ttft <= 10 }
Fixed:
    gpu "x" { memory = 64 GB  flops = 400 TFLOPS  hbm = 1.8 TB/s }
    require { ttft <= 10 s }
"""

E103 = """
A required statement, block or field is missing: a plan needs a model, a cluster (with gpus
and a gpu), a workload (batch, prompt, generate) and at least one strategy — unless the command
is given one (`--strategy`) or searches them (`dagc search`, `dagc fleet`); a model needs
layers, hidden, heads and vocab, and a MoE block needs top_k and ffn. An empty plan is one
E103 whose hint is a plan of one line to start from.

Bad:
    workload { batch = 64 }
Fixed:
    workload { batch = 64  prompt = 2048  generate = 256 }
"""

E104 = """
A value that cannot be right: zero or negative counts, fractions where a whole number is
needed, figures out of range (the bound said in the unit written), `nan` or `inf` (no number),
a field or statement given twice, top_k above experts, kv_heads above heads, a strategy
option's bad value (`with microbatches 0`).

Bad:
    model "m" { layers = 0  … }
Fixed:
    model "m" { layers = 16  … }
"""

E105 = """
A kernel profile file (`cluster { kernels from "…" }`) that dagc cannot use: missing, not a
regular file, larger than 16 MiB, not UTF-8 JSON, not a dagc kernel profile (its "format"),
a version this dagc does not read, or a key out of range. The message names the key at fault;
the file's content is never printed. docs/kernels.md describes the format and how to make a
profile from your own measurements.

Bad:
    cluster { gpus = 8  gpu preset "h100-sxm"  kernels from "notes.json" }
Fixed:
    cluster { gpus = 8  gpu preset "h100-sxm"  kernels from "my-h100.json" }   # from bench/make_profiles.py
"""

E106 = """
An expert load file (`workload { routing from "…" }`) that dagc cannot use: missing, not a regular
file, larger than 1 MiB, not UTF-8 JSON, without a "layers" list, a layer that is not a list of
counts like the first, a count that is negative or not a number, no token routed at all; or loads
that do not fit the model: one list per MoE layer (dense layers have none), one count per routed
expert. The message names the layer and expert at fault; the file's content is never printed.
`bench/convert_sglang_expert_load.py` makes the file from an SGLang expert-distribution dump.

Bad:
    workload { batch = 256  prompt = 2048  generate = 256  routing from "all_layers.json" }   # 61 lists
Fixed:
    workload { batch = 256  prompt = 2048  generate = 256  routing from "moe_layers.json" }   # 58 lists
"""

E107 = """
A custom GPU (`gpu "name" { … }`) whose figures no accelerator has: memory outside 1 MB–100 TB, dense
bf16 `flops` outside 1 TFLOP/s–100 PFLOP/s (fp8 to 200, fp4 to 400), `hbm` outside 10 GB/s–1 PB/s,
`intra_node` outside 1 GB/s–100 TB/s, bf16 FLOPs per byte of HBM bandwidth outside 1–20,000 (an
H100 has ~300), or a narrower type's peak below a wider one's (`fp8_flops` below `flops`, `fp4_flops` below
either: no accelerator computes them slower; one without such tensor cores leaves the field out). Figures
like these are almost always a unit slip (GB/s for TB/s, PFLOPS for TFLOPS), and every time and memory figure dagc
derives from them would be meaningless. The limits
are in docs/limits.md.

Bad:
    gpu "x" { memory = 80 GB  flops = 1 PFLOPS  hbm = 3 MB/s }
Fixed:
    gpu "x" { memory = 80 GB  flops = 1 PFLOPS  hbm = 3 TB/s }
"""

E108 = """
A request log (`workload { requests from "…" }`) that dagc cannot replay: missing, not a regular file,
larger than 256 MiB (with `requests = N` only its first N requests need fit), binary or not UTF-8, empty,
more than 2,000,000 requests; an Azure CSV whose header is not `TIMESTAMP,ContextTokens,GeneratedTokens`
(a column unknown, missing or twice); a line without its fields, a TIMESTAMP that is not a date and time,
a token count that is not a whole number from 1; a Mooncake line that is not one JSON object with
"timestamp" (ms), "input_length" and "output_length", and "hash_ids" where it shares prefixes (no other field), or
with more hash ids
than its prompt has 512-token blocks; a request earlier than the line above it (a log is replayed in
its order, never sorted). The message names the log's line and column, never its content; nothing is
skipped or guessed. The formats are in docs/language.md ("Request logs"); a log of your own service — its own
column names, epoch times, a JSON array — is read once written in one of them, as "A log of your own service" there
shows, and each hint says which column or field holds what.

Bad:
    workload { batch = 64  prompt = 2048  generate = 256  requests from "trace.csv" }   # a line `…,12.5,7`
Fixed:
    workload { batch = 64  prompt = 2048  generate = 256  requests from "trace.csv" }   # tokens `…,12,7`
"""

E109 = """
A calibration file (`calibration from "…"`, made by `dagc calibrate`) that dagc cannot use: missing, not a
regular file, larger than 1 MiB, not UTF-8 JSON, not a calibration (no "format"), a format this dagc does not
read, a field missing or out of range (a negative term, a residual past ±10), an `engine` or `release` dagc does
not know (a file edited by hand; the hint lists the known ones); or a calibration fitted on another deployment
than the plan's — another engine, release series (0.33 for 0.33.1), GPU or model: its terms are that engine's
host times on that GPU with that model, not this plan's. The message names the field or what differs;
the file's content is never printed. docs/calibrate.md describes the file.

Bad:
    cluster { gpus = 8  gpu preset "h200"  engine = vllm }
    calibration from "h100-vllm.json"       # fitted on h100-sxm
Fixed:
    cluster { gpus = 8  gpu preset "h100-sxm"  engine = vllm }
    calibration from "h100-vllm.json"
"""

E110 = """
A measured run `dagc calibrate` cannot fit on: a run file missing, not a regular file, larger than 256 MiB,
not UTF-8 JSON (or JSON lines), or without the fields of the tool that wrote it (vLLM's `mean_ttft_ms`,
`request_rate`, `num_prompts`, …; SGLang's `completed`; AIPerf's `time_to_first_token`, `request_count`), a
field that is not a positive number, or one too large — past 10¹², the most dagc reads of a run's count, time or
throughput (docs/limits.md), which the message names; or a run that is not of its plan — another number of
requests, another rate or number of clients, mean prompt or output lengths more than 5 % from the plan's `prompt` and
`generate`, or a `model_id` that names another model than the plan's preset (another family, or the same
family at other sizes: `Qwen/Qwen3-30B-A3B` for `qwen3-235b-a22b`; a local path or an unknown name is not
judged), an AIPerf GPU telemetry of another GPU family than the plan's preset, or arrivals spaced otherwise than
the plan's `arrival` (AIPerf's `request_rate_mode`). A run's traffic dagc cannot express is E110 whatever the plan:
a rate with a cap on the requests in flight, a rate that ramped (vLLM's `--ramp-up-strategy`), burstier arrivals
than Poisson (vLLM's `burstiness`), a benchmark stopped before it finished (AIPerf's `was_cancelled`), failed
requests past 1 %. Each is located at the run file's field (line and column) and names the plan's value; the file's
content is never printed, and no run is ever skipped. A manifest entry without its `file` or `plan` is E110 too.

Bad:
    dagc calibrate rate8.json --plan plan.moe -o cal.json          # plan.moe sends 4 requests/s
Fixed:
    dagc calibrate rate8.json --plan plan.moe --set "workload.rate=8 requests/s" -o cal.json
"""

E111 = """
A request longer than the model's context: the workload's `prompt + generate`, or the longest request
(prompt + output) a request log replays, above the model's `context_length` — what an engine derives
from the model's config.json (vLLM: `max_position_embeddings`, scaled as `rope_scaling` says). No
engine serves it: vLLM does not start with a `--max-model-len` above the model's ("User-specified
max_model_len … is greater than the derived max_model_len"), SGLang refuses a `--context-length` above
it, and each refuses a request longer than its limit (TensorRT-LLM's `--max_seq_len`). The message names the
plan's engine and its flag (none for `engine = pytorch`). Located at the workload's `prompt`, or at the
`requests from` line (the message names the log's line). A model whose context is not known (written
out without `context_length`, or a config.json without `max_position_embeddings`) is not checked;
the built-in models' contexts and their sources are in docs/language.md.

Bad:
    model preset "mixtral-8x7b"                          # context 32,768 tokens
    workload { batch = 8  prompt = 100000  generate = 500 }
Fixed:
    model preset "mixtral-8x7b"
    workload { batch = 8  prompt = 32000  generate = 500 }
"""

N001 = """
More diagnostics than dagc shows at once: at most 50 per plan (or per strategy) are shown,
errors first, and this note counts the rest by code. Fix the ones shown and run again.

Example:
    strategy tp 2 tp 2 tp 2 tp 2 …      # thousands of repeated axes: 50 × E204, then N001
"""

def run_refusal(message: str, span: Span | None, hint: str | None = None) -> Diagnostic:
    """E110: what `dagc calibrate` (`dagc.calibrate`) says of a measured run it cannot fit on."""
    return Diagnostic("E110", Severity.ERROR, message, span, hint)


RULES = (
    pass_rule("E001", Severity.ERROR, "syntax error", doc=E001, passes=(parse,)),
    pass_rule("E002", Severity.ERROR, "unreadable input (missing, directory, binary, not JSON)", doc=E002,
              passes=(read_source, parse, lower)),
    pass_rule("E101", Severity.ERROR, "unknown axis, preset, field or unit", doc=E101, passes=(lower, flatten)),
    pass_rule("E102", Severity.ERROR, "quantity of the wrong dimension", doc=E102, passes=(lower,)),
    pass_rule("E103", Severity.ERROR, "missing required block or field", doc=E103, passes=(lower,)),
    pass_rule("E104", Severity.ERROR, "invalid value (range, whole number, duplicate)", doc=E104, passes=(lower,)),
    pass_rule("E105", Severity.ERROR, "unusable kernel profile file", doc=E105, passes=(lower,)),
    pass_rule("E106", Severity.ERROR, "unusable expert load file", doc=E106, passes=(lower,)),
    pass_rule("E107", Severity.ERROR, "a custom GPU's figures no accelerator has", doc=E107, passes=(lower,)),
    pass_rule("E108", Severity.ERROR, "unusable request log", doc=E108, passes=(lower,)),
    pass_rule("E109", Severity.ERROR, "unusable calibration file, or one of another deployment", doc=E109,
              passes=(lower,)),
    pass_rule("E110", Severity.ERROR, "a measured run `dagc calibrate` cannot read, or not of its plan", doc=E110,
              passes=(run_refusal,)),
    pass_rule("E111", Severity.ERROR, "a request longer than the model's context", doc=E111,
              passes=(check_context,)),
    pass_rule("N001", Severity.NOTE, "more diagnostics than dagc shows at once", doc=N001, passes=(cap,)),
)
