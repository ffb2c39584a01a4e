"""vLLM's serving note on a disaggregated strategy's prefill-only servers: their steps are prompts (a prefill of all
their prompts at once, thousands of tokens), above every CUDA graph size vLLM captures, so the note says they run
without them; it said the graphs "cover its decode steps", which a prefill-only server never runs. The decode pool's
servers and an aggregated strategy's keep the words."""

from __future__ import annotations

from pathlib import Path

from conftest import run_dagc

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "deepseek-v3-disaggregated.moe"


def _graph_notes(tmp_path: Path) -> dict[str, str]:
    r = run_dagc("launch", str(EXAMPLE), "--engine", "vllm", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    notes = [line for line in r.stdout.splitlines() if line.startswith("note: ") and "CUDA graphs up to" in line]
    return {line.split(":")[1].strip() if "pool" in line.split(":")[1] else "aggregated":
            line.split("CUDA graphs up to ")[1] for line in notes}


def test_prefill_only_servers_run_without_their_graphs(tmp_path: Path) -> None:
    notes = _graph_notes(tmp_path)
    assert notes["prefill pool"] == "2 requests are captured, and its prefill steps, larger, run without them"
    assert notes["decode pool"] == "16 requests cover its decode steps"
