"""Which columns `dagc search`'s table keeps when the terminal is too narrow for all (`dagc.cli.search_columns`): the
GPUs a row takes before its TTFT and TPOT. Until 2026-12-02 the GPUs were left out first of the figures: at 120
columns the best of examples/mixtral-8x7b-1node.moe (strategies of 4 GPUs on a node of 8) showed each row's TTFT and
TPOT, its strategy whole, and not how many GPUs it takes — which it showed at 100."""

from __future__ import annotations

from dagc.cli.search_columns import SEARCH_COLUMNS, table_columns
from dagc.cli.tables import fit_widths
from conftest import ROOT, run_dagc

# two of that table's rows (`COLUMNS=300 dagc search examples/mixtral-8x7b-1node.moe`): #1, and a #10 beside the
# longest strategy
ROWS = [("1", "tp 1 ; ep 4 with microbatches 1 overlap none", "4", "48.0 %", "1.57 s", "15.2 ms", "1,053", "yes*",
         "ttft <= 2 s"),
        ("10", "tp 1 ; ep 2 etp 2 with microbatches 1 overlap none", "4", "48.7 %", "1.695 s", "15.59 ms", "1,026",
         "yes*", "ttft <= 2 s")]


def _shown(width: int) -> list[str]:
    cols = table_columns(SEARCH_COLUMNS, ["decode (tokens/s/GPU)"])       # ranked by tokens/s per GPU
    return [SEARCH_COLUMNS[k] for k in fit_widths(width, cols, ROWS)[0]]


def test_the_gpus_are_kept_before_ttft_and_tpot():
    # The narrowest each column can be: # 2, strategy 28 (its floor; whole, 50), GPUs 4, memory used 6 ("memory"),
    # TTFT 7, TPOT 8, decode 14 ("(tokens/s/GPU)"), meets requirements 12 (whole, 18), binding requirement 11; a
    # table of n columns has 120 − 3n − 1 characters for its cells.
    # At 120 the strategy and `meets requirements` whole beside every column of rank 1 (GPUs, TTFT, TPOT) need
    # 2 + 50 + 4 + 7 + 8 + 14 + 18 = 103 > 98: they wrap, and all 9 columns fit in 92 = 120 − 27 − 1. (Before, the GPUs
    # of rank 2 were left out first, and 99 ≤ 101 kept the strategy whole without them.)
    assert _shown(120) == list(SEARCH_COLUMNS)
    # At 80: binding requirement and memory used go first (ranks 4, 3), then of rank 1 the rightmost, TPOT and TTFT:
    # 2 + 28 + 4 + 14 + 12 = 60 ≤ 64 = 80 − 15 − 1, where TTFT beside them would need 67 > 61
    assert _shown(80) == ["#", "strategy", "GPUs", "decode (tokens/s/GPU)", "meets requirements"]


def test_dagc_search_shows_the_gpus_at_120_and_80_columns(tmp_path):
    plan = str(ROOT / "examples" / "mixtral-8x7b-1node.moe")
    for columns, shown, left_out in (
            (120, ("GPUs", "TTFT", "TPOT", "(tokens/s/GPU)", "meets"), None),
            (80, ("GPUs", "(tokens/s/GPU)", "meets"), "not shown at 80 columns: `memory used`, `TTFT`, `TPOT`, "
                                                        "`binding requirement`")):
        r = run_dagc("search", plan, "-o", str(tmp_path), env={"COLUMNS": str(columns)})
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        table = lines[lines.index("best 10") + 1:]
        header = " ".join(table[1:4])        # the header's words, on up to three lines
        assert all(f" {h} " in header for h in shown), header
        assert (" TTFT " in header) == (columns == 120)
        assert max(len(line) for line in table[:15]) == columns
        said = [line for line in lines if line.startswith("not shown at")]
        assert (said[0].split(" (every")[0] if said else None) == left_out
