"""`dagc fleet`'s ranking keeps the engine column when its rows differ by engine (`fleet_columns`): at 120
columns a trial's table (DeepSeek-V3 on H200, B200 and H100 under vLLM and SGLang) left it out, so rows 1 and 2
read the same cluster and cost with no word of which engine each was."""

from __future__ import annotations

from dagc.cli.print_fleet import fleet_columns
from dagc.cli.tables import fit_widths

STRATEGY = "tp {} ; ep {} with microbatches 1 overlap none"
ROWS = [(str(k), cluster, engine, STRATEGY.format(tp, ep), gpus, "1", "3", "1.2 s", "40 ms", cost, cost, rent, "none")
        for k, (cluster, engine, tp, ep, gpus, cost, rent) in enumerate([
            ("8 x h200", "sglang@0.5.23", 4, 8, "8", "$1.034", "$27.92/h"),
            ("8 x h200", "vllm@0.33.0", 8, 8, "8", "$1.034", "$27.92/h"),
            ("16 x h100-sxm (8 a node)", "sglang@0.5.23", 8, 16, "16", "$1.476", "$39.84/h"),
            ("16 x h100-sxm (8 a node)", "vllm@0.33.0", 8, 16, "16", "$1.476", "$39.84/h"),
            ("16 x b200 (8 a node), h200's profile", "sglang@0.5.23", 1, 4, "4", "$3.55", "$95.84/h")], 1)]


def test_the_engine_stays_when_the_rows_differ_by_it():
    cols = fleet_columns(ROWS)
    kept, widths = fit_widths(120, cols, ROWS)
    assert [cols[k].header for k in kept][:4] == ["#", "cluster", "engine", "strategy"]
    engine = widths[kept.index(2)]
    assert engine >= len("sglang@0.5.23")               # 13 characters: whole, never cut
    # the strategy stays whole, to be pasted as it stands: its 45 characters on one line; the cluster wraps instead
    assert widths[kept.index(3)] == len(STRATEGY.format(8, 16)) == 45
    assert widths[kept.index(1)] < len("16 x b200 (8 a node), h200's profile")
    # the table fits its 120 columns: a border and two spaces a column, and the cells
    assert sum(widths) + 3 * len(kept) + 1 <= 120


def test_one_engine_is_the_first_column_left_out():
    # every row the same engine (the best's line names it): at 80 columns it was kept before the strategy's words
    # were given room, and `tp 4 ; ep 4 with microbatches 1 overlap none` took four lines of 15 characters
    same = [("1", "4 x h100-sxm", "trtllm@1.2.0", STRATEGY.format(4, 4), "4", "1", "4", "72.31 ms", "21.68 ms",
             "$0.5404", "$0.5404", "$9.96/h", "ttft_p99 <= 2 s")]
    cols = fleet_columns(same)
    assert [c.rank for c in cols if c.header == "engine"] == [4]
    kept, widths = fit_widths(80, cols, same)
    headers = [cols[k].header for k in kept]
    assert headers == ["#", "cluster", "strategy", "GPUs", "goodput req/s", "per Mtok", "rent"]
    # the room the engine's 12 characters and their border held goes to the strategy: 15 → 20 characters, three
    # lines ("tp 4 ; ep 4 with", "microbatches 1", "overlap none")
    assert widths[headers.index("strategy")] == 20
    assert sum(widths) + 3 * len(kept) + 1 == 80
