"""Files a benchmark writes beside the summary dagc reads, told as what they are (docs/calibrate.md, "What it reads").

AIPerf writes, per run, `profile_export_aiperf.json` (the summary dagc reads), `profile_export.jsonl` (one record per
request: `metadata`, `metrics`, `error`) and `profile_export_aiperf.csv` (the summary as a spreadsheet; AIPerf's
docs/tutorials/working-with-profile-exports.md,
nvda-ci/aiperf@8e6a033d). Given in the summary's place, until 2026-12-01 the per-request records were "none of the
fields of vLLM's, SGLang's or AIPerf's results (`mean_ttft_ms`, `time_to_first_token`, …)" — though each record holds
a `time_to_first_token` —, as was dagc's own report.json, and a CSV "not valid JSON (truncated?)", as if cut short.
"""

from __future__ import annotations

from ..diagnostics import PlanError
from ..source import SourceFile
from .measured import run_error

AIPERF_RECORDS = ("this is AIPerf's per-request records (`profile_export.jsonl`: `metadata`, `metrics` and `error` of "
                  "each request), not a run's summary")
AIPERF_RECORDS_HINT = ("give the summary AIPerf writes beside it, `profile_export_aiperf.json`: dagc fits on a run's "
                       "means and percentiles, its traffic and its lengths")
DAGC_REPORT = "this is a dagc report (`report.json`): dagc's own figures, not a measured run"
DAGC_REPORT_HINT = ("give the result your benchmark wrote: vLLM's `--save-result` JSON, SGLang's bench_serving JSON "
                    "lines or AIPerf's `profile_export_aiperf.json` (docs/calibrate.md)")
CSV = "the run file is CSV, not JSON: a spreadsheet export of a summary, without the run's traffic"
CSV_HINT = ("give the JSON the tool wrote beside it: AIPerf's `profile_export_aiperf.json`, genai-perf's "
            "`profile_export_genai_perf.json`, vLLM's `--save-result` file (docs/calibrate.md)")


def not_a_summary(src: SourceFile, at: int, obj: dict[str, object]) -> PlanError:
    """E110 at `at` for a JSON object that is no tool's summary: what it is where dagc can tell (another file of the
    benchmark, dagc's own report), else that it has none of the tools' fields."""
    if isinstance(obj.get("metadata"), dict) and ("metrics" in obj or "error" in obj):
        return run_error(src, at, AIPERF_RECORDS, AIPERF_RECORDS_HINT)
    if isinstance(obj.get("verdict"), dict) and "requirements" in obj:
        return run_error(src, at, DAGC_REPORT, DAGC_REPORT_HINT)
    return run_error(src, at, "this run has none of the fields of vLLM's, SGLang's or AIPerf's results "
                     "(`mean_ttft_ms`, `time_to_first_token`, …)")


def csv_like(text: str) -> bool:
    """Whether `text` reads as CSV rather than broken JSON: its first non-blank line has commas and opens no JSON
    value.

    Example:
        >>> csv_like("Metric,avg,min,max\\nRequest Latency (ms),6550.36,4996.25,9383.37\\n"), csv_like('{"a": 1,')
        (True, False)
    """
    line = next((x.strip() for x in text.split("\n") if x.strip()), "")
    return "," in line and line[0] not in '{["'
