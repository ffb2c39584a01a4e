"""`dagc launch` under SGLang writes dagc's own `--mem-fraction-static` (its figures' KV pool) and, where SGLang left
to itself would keep more of each GPU for a step of `--chunked-prefill-size` tokens, its graphs and buffers, says
that share and the `reserve` under which dagc's figures take it (a new user's DeepSeek-V3 on 16 H200s read 0.971,
4 GiB and 31.5 MiB of activations left for a server whose flags allow 8,192-token steps, with nothing beside it)."""

from __future__ import annotations

import math

from dagc.lang.load import load_plan_text
from dagc.launch.serving import serving
from dagc.launch.sglang_share import sglang_fraction
from dagc.verdict.check import check

PLAN = """model preset "deepseek-v3"
cluster {{ gpus = 16  gpus_per_node = 8  gpu preset "h200"  engine = sglang{reserve} }}
workload {{ batch = 128  prompt = 1024  generate = 256  serving = inflight }}
strategy tp 16 ; ep 16
"""
MIB, GIB = 2.0**20, 2.0**30


def notes_of(reserve: str = "") -> tuple[list[str], float]:
    r = check(load_plan_text(PLAN.format(reserve=reserve), name="d.moe"))[0]
    v = serving(r.plan, r.strategy, r.layout, r.memory)
    assert v.activation_bytes is not None
    return v.static_notes, v.activation_bytes


def test_sglang_s_own_share_by_hand():
    # an H200's 143,771 MiB; reserved 512 + 1.5 · 8,192 + 2 · 128 (the decode graphs told) + 1,024 · 16 / 8 MiB
    reserved = 512 + 1.5 * 8192 + 2 * 128 + 1024 * 16 / 8
    assert reserved == 15104
    assert sglang_fraction(143771 * MIB, 8192, 16, 1, 1, False, graph_bs=128) == round((143771 - 15104) / 143771, 3)
    assert sglang_fraction(143771 * MIB, 8192, 16, 1, 1, False, graph_bs=128) == 0.895
    # a GPU above 60 GB keeps at least 10 GiB: 512 + 3,072 + 2 · 8 + 128 MiB is raised to it
    assert sglang_fraction(143771 * MIB, 2048, 1, 1, 1, False, graph_bs=8) == round((143771 - 10240) / 143771, 3)


def test_the_note_gives_sglang_s_share_and_the_reserve_that_takes_it():
    notes, act = notes_of()
    cap = 143771 * MIB
    own = math.floor((cap - 4 * GIB - act) / cap * 1000) / 1000        # dagc's: (capacity − reserve − activations)
    assert own == 0.971 and notes[0].startswith("--mem-fraction-static 0.971: ")
    reserve = math.floor((cap - act - 0.895 * cap) / GIB * 100) / 100     # top − activations − SGLang's share
    assert reserve == 14.71
    assert notes[1].startswith("SGLang left to itself would take 0.895 (`_handle_gpu_memory_settings`: "
                               f"{(0.971 - 0.895) * cap / GIB:.2f} GiB more of each GPU")
    assert notes[1].endswith("`cluster { reserve = 14.71 GiB }` sizes dagc's figures and this flag by SGLang's share")
    # with that reserve, dagc's share is SGLang's: the flag reads 0.895 and nothing more is said
    again, _ = notes_of("  reserve = 14.71 GiB")
    assert len(again) == 1 and again[0].startswith("--mem-fraction-static 0.895: ")
