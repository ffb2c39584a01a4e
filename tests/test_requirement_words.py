"""Requirements written as a report writes them that dagc does not judge: each E101's hint says where dagc reports the
figure, not the list of every requirement name (trial14, seed 004)."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text

PLAN = ('model preset "mixtral-8x7b"\ncluster { gpus = 8  gpu preset "h100-sxm" }\n'
        "workload { batch = 8  prompt = 512  generate = 64 }\nrequire {{ {req} }}\nstrategy tp 8\n")


@pytest.mark.parametrize("req", ["comm_overhead < 20 %", "communication <= 20 %", "tp_comm_share <= 0.2",
                                 "COMM-ratio < 20 %"])
def test_a_communication_share_is_told_where_dagc_reports_it(req):
    """Seed 004's "Communication Overhead: Target <20%": until 2026-11-30 `comm_overhead < 20 %` was told "expected one
    of: `ttft`, `tpot`, …" — 24 names, none of them it."""
    with pytest.raises(PlanError) as exc:
        load_plan_text(PLAN.replace("{{", "{").replace("}}", "}").replace("{req}", req))
    (d,) = exc.value.diagnostics
    assert d.code == "E101" and d.message == f"unknown requirement `{req.split()[0]}`"
    assert d.hint == ("dagc judges no share of communication: `dagc check` prints it on its `critical path` lines (`TP "
                      "comm 18.38 ms (9 %)`), report.json in `metrics.critical_path` (`tp_comm_s`, `ep_comm_s`, "
                      "`pp_comm_s`); require what it costs, `tpot`, `ttft` or a throughput")


@pytest.mark.parametrize("req, hint", [("compute_share <= 50 %", "expected one of: `ttft`"),
                                       ("tpotcommon <= 1 s", None)])
def test_other_names_keep_their_hints(req, hint):
    with pytest.raises(PlanError) as exc:
        load_plan_text(PLAN.replace("{{", "{").replace("}}", "}").replace("{req}", req))
    (d,) = exc.value.diagnostics
    assert "share of communication" not in (d.hint or "")
    if hint is not None:
        assert (d.hint or "").startswith(hint), d.hint
