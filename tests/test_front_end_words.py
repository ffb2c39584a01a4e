"""Every place that names the engine's front end gives the one figure the Engine line does, `frontend_s` (20.02 ms on
vLLM), and names the 4 ms each request takes of the front end's one server (`ingest_s`) as that: the steady state's
client TTFT less its server's is the two (24.02 ms: it has no queue, so a request alone's server time goes with the
front end), a run's under traffic the front end alone (its server's TTFT times the 4 ms, queued). Until 2026-12-02
report.md said "24.02 ms of it the engine's front end" and "(the server's + the engine's front end, 24.02 ms)" beside
the Engine line's "a front end of 20.02 ms per request" and a load table whose client less server TTFT was 20.02 ms
(a new user's gpt-oss-120b on 2 H100s)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dagc.export.markdown import report_md
from dagc.lang.load import load_plan_text
from dagc.verdict.check import check

ROOT = Path(__file__).resolve().parent.parent
INFLIGHT = (ROOT / "examples" / "qwen3-30b-a3b-inflight.moe").read_text()


def test_the_engine_s_front_end_is_one_figure_wherever_it_is_named():
    plan = load_plan_text(INFLIGHT.replace("chunk = 8192", "chunk = 8192\n  concurrency = 4  requests = 40"))
    r = check(plan)[0]
    terms = r.plan.cluster.engine.terms
    assert (terms.frontend_s, terms.ingest_s) == (pytest.approx(20.02e-3), pytest.approx(4e-3))    # vLLM's
    m, load = r.metrics, r.load
    assert m is not None and load is not None
    # the figures: the steady state's client less server is both parts, the run's the front end alone
    assert m.ttft_s - m.ttft_server_s == pytest.approx(terms.frontend_s + terms.ingest_s, abs=1e-12)
    assert load.figures.ttft_s.p50 - load.figures.ttft_server_s.p50 == pytest.approx(terms.frontend_s, abs=1e-12)
    md = " ".join(report_md(r).split())
    named = re.findall(r"the engine's front end,? (\d[\d.]* m?s)", md) \
        + re.findall(r"a front end of (\d[\d.]* m?s)", md)
    assert named and set(named) == {"20.02 ms"}, named
    assert "24.02 ms" not in md
    assert "of which the engine's front end 20.02 ms and its one server's time 4 ms" in md
    assert "(the server's + the engine's front end 20.02 ms + its one server's time 4 ms)" in md
    assert "the time each request takes of the front end's one server, and its queue there, are the server's" in md
