"""`dagc compile`'s line per strategy says which requirement decides its verdict, as `dagc check` does: the
figures under it are the steady state's, and a requirement on the load's percentiles would otherwise be
missed without its figure."""

from __future__ import annotations

from dagc.cli.main import main
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
    assert code == 1 and lines[0] == "strategy tp = tp 4: correct yes · meets requirements no · optimal not judged"
    (odds,) = [line for line in checked if line.startswith("  meets? ")]      # check's own line, word for word
    assert lines[1] == odds and "`ttft_p99 <= 1 ms`" in odds and "→ misses" in odds
