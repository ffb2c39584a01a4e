"""What a file given as a manifest is when it has no `[[run]]` entries (docs/calibrate.md, "The manifest").

`dagc calibrate FILE -o OUT` without `--plan` reads FILE as a manifest. Until 2026-12-02 a benchmark's run given so
(`dagc calibrate rate4.json -o cal.json`, its plan forgotten) and a manifest whose entries were written `[[runs]]`
were both told `the manifest has no [[run]] entries` at the file's 1:1 — the second's hint about run files and
`--plan`, its misspelt key never named (the unknown-key check ran after that one). Now the run is told it is a run,
hinted the command with its plan, and a top-level key that stands for `run` is told at that key, `did you mean`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..diagnostics import PlanError, code, path_word
from ..lang.fields import nearest
from ..source import SourceFile
from .measured import run_error
from .run_fields import VLLM_OR_SGLANG

__all__ = ["SUMMARY_KEYS", "no_entries"]

# the fields only a run's summary has: vLLM's and SGLang's, and AIPerf's (`dagc.calibrate.run_fields.run_of`)
SUMMARY_KEYS = (*VLLM_OR_SGLANG, "time_to_first_token", "inter_token_latency")


def no_entries(src: SourceFile, found: object) -> PlanError | None:
    """E110 for a manifest without `[[run]]` entries that is a benchmark's run (`found`, the file's JSON or TOML),
    or whose top level has a key that stands for `run` (`runs`, `Run`); None for another file.

    Example:
        >>> src = SourceFile("m.toml", 'plan = "p.moe"\\n[[runs]]\\nfile = "r.json"\\n', echo=False)
        >>> no_entries(src, {"plan": "p.moe", "runs": [{"file": "r.json"}]}).diagnostics[0].message
        'the manifest has no key `runs` (did you mean `run`?): its entries are `[[run]]` tables'
        >>> run = SourceFile("rate4.json", '{"mean_ttft_ms": 80}', echo=False)
        >>> no_entries(run, {"mean_ttft_ms": 80}).diagnostics[0].message[:44]
        "this is a benchmark's run, not a manifest: a"
    """
    if not isinstance(found, Mapping):
        return None
    if any(key in found for key in SUMMARY_KEYS):
        return run_error(src, 0, "this is a benchmark's run, not a manifest: a run is calibrated against the plan "
                         "of the deployment it measured",
                         f"give that plan: `dagc calibrate {path_word(src.path)} --plan PLAN -o FILE`; or list the run "
                         'with its plan in a manifest (docs/calibrate.md, "The manifest")')
    for key in found:
        if isinstance(key, str) and key != "run" and nearest(key, ("run",)) == "run":
            m = re.compile(rf'(?<![\w"-])"?\[*({re.escape(key)})\]*"?\s*[=:\]\n]').search(src.text)
            return run_error(src, m.start(1) if m is not None else 0, f"the manifest has no key {code(key)} (did you "
                             "mean `run`?): its entries are `[[run]]` tables",
                             'write each entry `[[run]]` with its `file` (docs/calibrate.md, "The manifest")')
    return None
