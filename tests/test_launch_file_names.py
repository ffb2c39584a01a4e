"""A launch file's name keeps a strategy's name cut to 60 characters: two long names alike in their first 60 wrote
the same file and `dagc launch -o` refused with "two strategies would write different files under this name; give
them distinct names" — of names that were distinct. A cut name now ends with 8 hex digits of the SHA-256 of the whole
name; two names that still read the same there are named, both, with how to tell them apart (docs/launch.md)."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from dagc.cli.main import main
from dagc.export.launch import write_files
from dagc.export.write import OutputError
from dagc.lang.load import load_plan_text
from dagc.launch.engines import launch_result
from dagc.verdict.check import check

LONG = "experts_spread_over_every_gpu_of_the_node_with_attention_split_in_two_"
PLAN = f"""model preset "mixtral-8x7b"
cluster {{ gpus = 8 gpu preset "h100-sxm" }}
workload {{ batch = 16 prompt = 512 generate = 64 }}
strategy {LONG}a = tp 2 ; ep 8
strategy {LONG}b = tp 4 ; ep 8
"""


def test_long_names_alike_in_their_first_sixty_characters_write_distinct_files(tmp_path, capsys):
    path = tmp_path / "long.moe"
    path.write_text(PLAN)
    out = tmp_path / "launch"
    assert main(["launch", str(path), "--engine", "sglang", "-o", str(out)]) == 0, capsys.readouterr().err
    # 71 characters each: cut to their first 51, then `-` and 8 hex digits of the whole name's SHA-256: 60
    assert len(LONG) + 1 == 71
    stems = [f"{LONG[:51]}-{hashlib.sha256((LONG + x).encode()).hexdigest()[:8]}" for x in "ab"]
    assert [len(s) for s in stems] == [60, 60]
    assert sorted(p.name for p in out.glob("*.sh")) == sorted(f"sglang-{s}-1-node0.sh" for s in stems)


def test_two_strategies_whose_names_read_the_same_in_a_file_name_are_both_named(tmp_path):
    plan = load_plan_text(PLAN.replace(LONG + "a", "tp").replace(LONG + "b", "wide"))
    first, second = (launch_result(r, ("sglang",))[0] for r in check(plan))
    # `tp 2 ; ep 8` and `tp-2-ep-8` keep the same letters, digits and `-`: both `sglang-tp-2-ep-8-1-node0.sh`
    launches = [dataclasses.replace(first, strategy="tp 2 ; ep 8"), dataclasses.replace(second, strategy="tp-2-ep-8")]
    with pytest.raises(OutputError) as e:
        write_files(launches, tmp_path)
    text = str(e.value)
    assert "sglang-tp-2-ep-8-1-node0.sh" in text
    assert "strategies `tp 2 ; ep 8` and `tp-2-ep-8` would write different files under this name" in text
    assert "rename one so that they differ in those characters" in text
    assert list(tmp_path.iterdir()) == []
