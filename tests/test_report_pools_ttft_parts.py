"""report.md's "Where the time goes" of a disaggregated strategy: after the decode instance's critical path, the
TTFT that path does not hold, in the parts dagc computes — one prefill instance's prefill, the KV transfer's
visible part, the engine's front end — worded by the one function that words the terminal's line
(`dagc.export.serving_md.ttft_parts`). Until 2026-11-30 the line showed the decode instance's path alone, nothing
of the prefill pool's 209.1 ms of a 247.2 ms TTFT (examples/deepseek-v3-disaggregated.moe)."""

from __future__ import annotations

import pytest

from dagc.export.markdown import report_md
from dagc.export.report import report_json
from dagc.units import Dimension, format_si
from conftest import checked_example

EXAMPLE = "deepseek-v3-disaggregated.moe"      # strategies `pd` (two pools) and `aggregated`


def _where_the_time_goes(md: str) -> str:
    (line,) = [x for x in md.splitlines() if x.startswith("- **Where the time goes:**")]
    return line


def test_the_pools_ttft_is_said_in_its_parts_where_the_time_goes():
    pd, _ = checked_example(EXAMPLE)
    line = _where_the_time_goes(report_md(pd))
    # report.json's figures: the client's TTFT 247.2 ms less the front end (TTFT less the server's, 24.02 ms) and
    # the visible KV transfer (serving.kv_transfer_s, 14.05 ms) is the prefill instance's prefill: 209.1 ms
    data = report_json(pd)
    ttft, server, kv = data["metrics"]["ttft_s"], data["metrics"]["ttft_server_s"], data["serving"]["kv_transfer_s"]
    assert (ttft, ttft - server, kv, ttft - kv - (ttft - server)) == pytest.approx((0.2472, 0.02402, 0.01405, 0.2091),
                                                                                  abs=5e-5)
    assert line.endswith("(shares of the critical path, [details](#critical-path)). TTFT (247.2 ms) is not on that "
                         "path: TTFT = the prefill 209.1 ms + the KV transfer 14.05 ms + the engine's front end "
                         "20.02 ms + its one server's time 4 ms."), line
    assert f"TTFT = the prefill {format_si(ttft - kv - (ttft - server), Dimension.TIME)} + " in line


def test_the_terminal_and_the_report_word_the_parts_alike():
    """The terminal's line and report.md's "Disaggregated" line are `ttft_parts` with what the transfer moves
    (until 2026-11-30 the terminal's own wording: "TTFT = prefill … + KV transfer …")."""
    from rich.console import Console

    from dagc.cli.print_figures import print_pools
    from dagc.export.serving_md import ttft_parts
    pd, _ = checked_example(EXAMPLE)
    console = Console(record=True, width=400)
    print_pools(console, pd)
    said = console.export_text()
    parts = ttft_parts(pd)
    assert parts is not None and parts.startswith("TTFT = the prefill 209.1 ms + the KV transfer 14.05 ms (2 "
                                                  "requests of 536.1 MiB, one after another, ")
    assert parts.endswith(", after the prefill) + the engine's front end 20.02 ms + its one server's time 4 ms")
    assert f"\n{parts}; the decode pool binds" in said
    assert f"; {parts}; the **decode pool binds**" in report_md(pd)


def test_an_aggregated_strategy_says_no_pools_parts():
    _, aggregated = checked_example(EXAMPLE)
    assert aggregated.pooled is None
    assert "is not on that path" not in _where_the_time_goes(report_md(aggregated))
