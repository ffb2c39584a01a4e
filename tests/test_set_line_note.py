"""The note under a diagnostic whose line `--set` options changed names the options that wrote into that line, not
every option given: `--set 'workload.rate=4 requests/s' --set require.ttft_p99=500ms` said of the requirement's
line "the line as --set workload.rate=4 requests/s, require.ttft_p99=500ms makes it"."""

from __future__ import annotations

from dagc.diagnostics import render
from dagc.lang.overrides import load_plan_with
from dagc.source import SourceFile
from dagc.verdict.check import check

PLAN = ('model preset "qwen3-30b-a3b"\ncluster { gpus = 4  gpu preset "h200" }\n'
        "workload { batch = 64  prompt = 2000  generate = 300  serving = inflight  rate = 2 requests/s\n"
        "  requests = 200 }\nrequire { ttft_p99 <= 2 s }\nstrategy dep = tp 1 ; ep 4\n")


def test_the_note_names_the_options_of_its_own_line(tmp_path):
    path = tmp_path / "p.moe"
    path.write_text(PLAN)
    plan = load_plan_with(path, ["workload.rate=4 requests/s", "require.ttft_p99=500ms", "workload.chunk=16"])
    (r,) = check(plan)
    w521 = next(d for d in r.diagnostics if d.code == "W521")          # 200 requests for a p99: on line 5
    note = "= note: this line is shown with --set require.ttft_p99=500ms applied, not as the file has it"
    assert note in render(w521)
    e307 = next(d for d in r.diagnostics if d.code == "E307")          # `chunk = 16`, added at the workload's end
    assert "= note: this line is shown with --set workload.chunk=16 applied, not as the file has it" in render(e307)


def test_a_text_without_the_places_names_every_option():
    src = SourceFile("p.moe", "a = 2\nb = 3\n", overrides=("x=1", "y=2"), original="a = 1\nb = 3\n")
    assert src.overrides_on(1) == ("x=1", "y=2")
    # `x=1` wrote the 2 of line 1 (offsets 4–5), `y=2` took a field away at the end of line 2 (offset 11)
    placed = SourceFile("p.moe", "a = 2\nb = 3\n", overrides=("x=1", "y=2"), original="a = 1\nb = 3 c = 1\n",
                        placed=((4, 5, "x=1"), (11, 11, "y=2")))
    assert placed.overrides_on(1) == ("x=1",) and placed.overrides_on(2) == ("y=2",)
