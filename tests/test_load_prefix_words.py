"""The share of prompt tokens the prefix cache spared, in the words a team reads: `dagc check`'s Load line and
report.md's Load section (until 2026-11-30 only report.json's `load.cached_prompt_share` held it). A Mooncake log of
three 2,048-token prompts a second apart: blocks of 512 tokens, the block holding a prompt's last token never matched
(⌊2,047 / 512⌋ = 3 matchable); the first caches [1, 2, 3], the second finds all three (1,536 tokens), the third
[1, 2] of [1, 2, 5] (1,024): 2,560 of 6,144 prompt tokens, 41.7 %. And the arrivals a closed loop's capacity is
of, for a log."""

from __future__ import annotations

import json

from dagc.cli.main import main
from dagc.export.load_md import capacity_text

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 1  gpu preset "h200" }
workload { batch = 8  prompt = 2048  generate = 64  serving = inflight  requests from "log.jsonl" }
strategy tp 1
"""
IDS = ([1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 5, 6])
SAID = "41.7 % of the prompt tokens found in the prefix cache"


def _plan(tmp_path, ids=IDS):
    (tmp_path / "log.jsonl").write_text("".join(
        json.dumps({"timestamp": 1000 * i, "input_length": 2048, "output_length": 64, "hash_ids": h}) + "\n"
        for i, h in enumerate(ids)))
    (tmp_path / "p.moe").write_text(PLAN)
    return str(tmp_path / "p.moe")


def test_check_and_report_say_the_prefix_cache_share(tmp_path, capsys):
    plan = _plan(tmp_path)
    assert main(["check", plan, "--no-search"]) == 0
    (line,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith("Load: ")]
    assert f"1 requests/s served, {SAID}, goodput" in line
    assert main(["compile", plan, "--no-search", "-o", str(tmp_path / "out")]) == 0
    report = (tmp_path / "out" / "report.json").read_text()
    assert abs(json.loads(report)["load"]["cached_prompt_share"] - 2560 / 6144) < 1e-12
    md = (tmp_path / "out" / "report.md").read_text()
    assert f"output tokens/s, {SAID}), goodput" in md


def test_no_word_of_it_when_nothing_was_cached(tmp_path, capsys):
    plan = _plan(tmp_path, ([1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]))
    assert main(["check", plan, "--no-search"]) == 0
    assert "prefix cache" not in capsys.readouterr().out


def test_a_closed_loop_of_a_logs_requests_names_the_capacitys_arrivals_as_the_log_times_scaled():
    # its trials send the log's requests at its own times scaled (`Traffic.at_rate`), not at random: until
    # 2026-11-30 the line read "capacity at open-loop (poisson) arrivals" of them too
    load = {"capacity_requests_per_s": 22.51, "capacity_judged": True, "requests": 300, "concurrency": 8,
            "arrival": None, "rate_requests_per_s": None}
    assert capacity_text({**load, "log": "prod.csv"}) == \
        "capacity at open-loop (the log's times, scaled) arrivals 22.51 requests/s"
    assert capacity_text({**load, "log": None}) == "capacity at open-loop (poisson) arrivals 22.51 requests/s"
