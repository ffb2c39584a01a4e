"""`dagc compile`'s line per strategy says which requirement decides its verdict, as `dagc check` does: the
figures under it are the steady state's, and a requirement on the load's percentiles would otherwise be
missed without its figure."""

from __future__ import annotations

import io

from rich.console import Console

from dagc.cli.main import main
from dagc.cli.print_check import plan_line, print_compile
from dagc.drive.drive import Driven
from dagc.lang.load import load_plan
from conftest import ROOT


def test_compile_names_the_requirement_its_verdict_rests_on(tmp_path, capsys):
    text = (ROOT / "examples" / "qwen3-30b-a3b-inflight.moe").read_text()
    text = text.replace("chunk = 8192", "chunk = 8192\n  rate = 4 requests/s  requests = 60")
    text = text.replace("ttft <= 1 s", "ttft_p99 <= 1 ms").split("strategy dep")[0] + "strategy tp = tp 4\n"
    plan = tmp_path / "plan.moe"
    plan.write_text(text)
    main(["check", str(plan), "--no-search"])
    checked = capsys.readouterr().out.splitlines()
    code = main(["compile", str(plan), "--no-search", "-o", str(tmp_path / "out")])
    lines = capsys.readouterr().out.splitlines()
    # under the plan's line (below), the strategy's verdict, then the requirement it rests on
    assert code == 1 and lines[1] == "strategy tp = tp 4: correct yes · meets requirements no · optimal not judged"
    (odds,) = [line for line in checked if line.startswith("  meets? ")]      # check's own line, word for word
    assert lines[2] == odds and "`ttft_p99 <= 1 ms`" in odds and "→ misses" in odds


def test_compile_opens_with_the_plans_line_as_check_does(tmp_path, capsys):
    # which plan, model and GPUs the verdicts are of: `dagc check`'s first line, word for word (until 2026-12-02
    # compile opened with the first strategy's verdict, or with `optimal means:` after a search, and named neither)
    plan = tmp_path / "plan.moe"
    plan.write_text((ROOT / "examples" / "mixtral-8x7b-1node.moe").read_text())
    main(["check", str(plan), "--no-search", "-q"])          # the plan's line is not the verdicts' (below)
    assert capsys.readouterr().out.splitlines()[0].startswith("strategy tensor = tp 8: ")
    assert main(["compile", str(plan), "--no-search", "--strategy", "expert", "-o", str(tmp_path / "out")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (f"plan {plan} · model mixtral-8x7b (46.7 B params, 12.7 B active, bf16) · cluster 8 × "
                        "h100-sxm (8 per node) · batch 64 × (2,048 + 256) tokens")
    assert lines[0] == plan_line(load_plan(plan), str(plan))          # `dagc check`'s first line
    assert lines[1].startswith("strategy expert = tp 2 ; ep 8: correct yes")


def test_the_plans_line_stands_above_the_overrides_and_not_in_the_verdicts_alone():
    plan = load_plan(ROOT / "examples" / "mixtral-8x7b-1node.moe")
    for volume, said in ((0, [plan_line(plan, "m.moe"), "overrides (--set, not in the plan): workload.batch=32"]),
                         (-1, [])):             # `--quiet`, what a script reads: the verdict lines alone
        out = Console(file=io.StringIO(), width=300)
        print_compile(out, out, Driven(plan, (), None), [], volume, ["workload.batch=32"], "m.moe")
        assert out.file.getvalue().splitlines() == said
