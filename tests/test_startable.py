"""On a plan that names no engine, the optimal verdict and `dagc search` say when their best is a layout the
default engine (vLLM, whose figures dagc priced) cannot start, and name the best one it can (docs/search.md,
"On the plan's own engine"; `dagc.search.startable`)."""

from __future__ import annotations

import json

from dagc.cli.main import main
from conftest import EXAMPLES

PLAN = str(EXAMPLES / "10b-moe-tp4-ep16-64gpu.moe")       # names no engine
BEST = "tp 4 ; ep 16 etp 4 with microbatches 1 overlap none"      # the best by TPOT: EP 16 beside expert TP 4
STARTABLE = "dp 4 < tp 4 ; ep 16 > with microbatches 1 overlap none"


def _json(capsys, *argv: str) -> dict:
    capsys.readouterr()
    main(list(argv))
    return json.loads(capsys.readouterr().out)


def test_optimal_verdict_names_the_best_layout_the_default_engine_can_start(capsys):
    """Under `--objective tpot` the search ranks first `tp 4 ; ep 16 etp 4`, which vLLM refuses (E702: EP is 1 or
    the whole stage). The verdict used to say only that it is better; it now says vLLM cannot start it and names
    `dp 4 < tp 4 ; ep 16 >`, which the same plan with `engine = vllm` ranks first."""
    got = _json(capsys, "check", PLAN, "--objective", "tpot", "--strategy", "tp 4 ; ep 16", "--format", "json")
    ev = got["verdict"]["optimal_evidence"]
    assert ev["best_strategy"] == BEST and ev["best_engine_refusals"] == ["E702"]
    assert ev["best_startable"]["strategy"] == STARTABLE
    assert ev["best_startable"]["figures"]["tpot_s"] > ev["best_figures"]["tpot_s"]
    assert (f"vLLM, the engine dagc priced it for (the plan names none), cannot start `{BEST}` (E702: `dagc launch`)"
            f"; the best it can start is `{STARTABLE}` (64 GPUs,") in ev["note"]
    # what vLLM itself says of the two: the plan with its engine named rejects the first and ranks the second first
    named = ("--set", "cluster.engine=vllm")
    refused = _json(capsys, "check", PLAN, *named, "--strategy", BEST, "--no-search", "--format", "json")
    assert refused["valid"] is False and "E702" in {d["code"] for d in refused["diagnostics"]}
    got = _json(capsys, "check", PLAN, *named, "--objective", "tpot", "--strategy", "tp 4 ; ep 16", "--format", "json")
    ev = got["verdict"]["optimal_evidence"]
    assert ev["best_strategy"] == STARTABLE and ev["best_engine_refusals"] == [] and ev["best_startable"] is None


def test_search_says_which_rows_the_default_engine_cannot_start(capsys, tmp_path):
    capsys.readouterr()
    assert main(["search", PLAN, "--objective", "tpot", "--top", "3", "--svg", str(tmp_path / "p.svg")]) == 0
    out = capsys.readouterr().out
    assert ("#1 (E702)" in out and ": vLLM, the engine dagc priced them for (the plan names none), cannot start them"
            in out)
    got = _json(capsys, "search", PLAN, "--objective", "tpot", "--top", "3", "--format", "json",
                "--svg", str(tmp_path / "p.svg"))
    first = got["candidates"][0]
    assert first["strategy"] == BEST and first["engine_refusals"] == ["E702"]
