"""report.md's "What to change" says where the search's best goes: in place of the plan's strategy line, or — a plan
checked with `--strategy` that writes none (`dagc search` finds one for it) — as its strategy line."""

from __future__ import annotations

from pathlib import Path

from dagc.cli.main import main

ROOT = Path(__file__).resolve().parent.parent


def _what_to_change(plan: Path, out: Path) -> str:
    assert main(["compile", str(plan), "--strategy", "pp 8", "-o", str(out), "-q"]) == 1     # pp 8 misses
    [line] = [x for x in (out / "report.md").read_text().splitlines() if x.startswith("- **What to change:**")]
    return line


def test_the_best_strategy_replaces_the_plans_own_or_is_its_first(tmp_path):
    written = ROOT / "examples" / "mixtral-8x7b-1node.moe"
    bare = tmp_path / "bare.moe"
    bare.write_text("".join(x for x in written.read_text().splitlines(keepends=True) if not x.startswith("strategy")))
    assert _what_to_change(written, tmp_path / "a").endswith("paste this line into the plan in place of the strategy:")
    assert _what_to_change(bare, tmp_path / "b").endswith(
        "paste this line into the plan as its strategy line (it writes none):")
