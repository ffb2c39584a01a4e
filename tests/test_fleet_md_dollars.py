"""fleet.md writes every `$` escaped (`\\$`), as `dagc.export.md_escape` escapes one in the page's sentences: two bare
`$` on a line pair as GitHub's math. Until 2026-12-01 the figures dagc wrote itself were bare beside the escaped ones
of its sentences (`$1.081 … \\$0.5404`, a new user's trial); outside code spans no `$` is bare now, and each renders as
`$` (CommonMark reads `\\$` as the character)."""

from __future__ import annotations

import re
from pathlib import Path

from test_fleet import SMALL, write

from dagc.cli.main import main

_SPAN = re.compile(r"(`+).*?\1")


def test_every_dollar_of_fleet_md_outside_code_is_escaped(tmp_path: Path, capsys):
    path = write(tmp_path, SMALL.replace('gpu preset "h200"', 'gpus = [1, 2]\n  gpu preset "h200"'))
    assert main(["fleet", str(path), "-o", str(tmp_path / "out")]) == 0
    capsys.readouterr()
    md = (tmp_path / "out" / "fleet.md").read_text()
    prose = _SPAN.sub("", md)
    assert prose.count("$") > 10 and re.search(r"(?<!\\)\$", prose) is None, md
    assert "ranked by \\$ per million tokens (input and output)" in md
    # 1 H100 at 2.5 $/h: the best's line, the same pick on 2 (one idle) and the table's cost and rent cells
    assert ", \\$0.3014 per million tokens on its goodput of 4 requests/s" in md
    assert "2 x h100-sxm (2 instances, 1 idle, \\$5/h, \\$0.6028 per million tokens with every GPU it rents" in md
    assert "| \\$0.6028 | \\$0.3014 | \\$5/h |" in md
    # a code span keeps its `$` as written: it renders as code, and is pasted
    assert "--set 'cluster.price=2.5 $/h'" in md


def test_a_sentence_of_dagc_s_own_escapes_its_dollars_beside_its_code_spans():
    """The held-back clusters' line is one of dagc's sentences (`md_prose`): until 2026-12-03 its two rents were bare,
    `($4.98/h) … ($2.49/h)`, and rendered as math between them on GitHub."""
    from dagc.export.fleet_words import held_by_batch
    from dagc.export.md_escape import md_prose

    load = {"binding": {"limit": "requests_in_flight", "missed_latencies": ["ttft"]}}
    row = {"cluster": {"gpu": "h100-sxm", "gpus": 1, "gpus_per_node": 8}, "rent_per_hour": 2.49, "pick": {"load": load}}
    held = held_by_batch({"rent_per_hour": 4.98}, [row])
    assert held is not None
    md = md_prose(held)
    assert md.startswith("cheaper to rent than the best (\\$4.98/h), held back by the plan's batch: 1 x h100-sxm "
                         "(\\$2.49/h)")
    assert re.search(r"(?<!\\)\$", _SPAN.sub("", md)) is None
    assert "`batch = max`" in md                  # its code span as written
