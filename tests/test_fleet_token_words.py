"""`dagc fleet`'s cost per million tokens counts each request's prompt and output tokens, as `dagc check`'s Cost
line says ("(input and output)"); the fleet's headings said "per million tokens" alone, which a buyer comparing with
API prices or serving benchmarks, quoted per output token, could read as 6× the tokens served of a 2,000 + 400 request
(the ratio the check prints beside it). Now the terminal's heading and fleet.md's say which tokens they count."""

from __future__ import annotations

import json
from pathlib import Path

from test_fleet import SMALL, write

from dagc.cli.main import main


def test_the_headings_say_the_tokens_a_cost_counts_and_the_figure_is_of_those(tmp_path: Path, capsys):
    path = write(tmp_path, SMALL)
    assert main(["fleet", str(path), "-o", str(tmp_path / "out")]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert ("ranked by money per million tokens (input and output) with every GPU the cluster rents charged"
            in out)
    md = (tmp_path / "out" / "fleet.md").read_text()
    assert "ranked by \\$ per million tokens (input and output) with every GPU the cluster rents charged." in md
    best = json.loads((tmp_path / "out" / "fleet.json").read_text())["fleet"]["best"]
    # 1 GPU at its price an hour over the tokens of its goodput, 512 prompt + 64 output tokens a request
    goodput = best["pick"]["load"]["goodput_requests_per_s"]
    price = best["cluster"]["price_per_gpu_hour"]
    assert best["tokens_per_s"] == goodput * (512 + 64)
    assert abs(best["per_million_tokens"] - price * 1e6 / (3600 * goodput * (512 + 64))) < 1e-9
