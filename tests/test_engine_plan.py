"""The engine is part of the plan: `cluster { engine = vllm@0.33.0 }` parsed, lowered to `Cluster.engine`
(`dagc.lang.engine`, `dagc.plan.engines.engine_of`), defaulted from an engine-measured kernel profile,
refused with the names dagc knows, and set with `--set cluster.engine=…`."""

from __future__ import annotations

import dataclasses
import json
from importlib import resources

import pytest

from dagc.diagnostics import PlanError
from dagc.export.result_json import load_json, metrics_json
from dagc.lang.lower import lower
from dagc.lang.overrides import load_plan_with
from dagc.lang.parse import parse
from dagc.plan.engines import DEFAULT_ENGINE
from dagc.source import SourceFile
from conftest import plan_text


def cluster(engine: str = "", extra: str = "") -> str:
    return plan_text(cluster=f'cluster {{ gpus = 8  gpu preset "h100-sxm"  {engine}  {extra} }}')


def lowered(text: str, **kw):
    src = SourceFile("plan.moe", text)
    return lower(parse(src), src, **kw)


def problems(text: str, **kw) -> list[tuple[str, int, int, str, str, str]]:
    """(code, line, column, spanned text, message, hint) of every diagnostic."""
    with pytest.raises(PlanError) as exc:
        lowered(text, **kw)
    return [(d.code, d.span.line, d.span.column, d.span.text, d.message, d.hint or "")
            for d in exc.value.diagnostics]


@pytest.mark.parametrize(("written", "name", "release"), [
    ("engine = vllm", "vllm", "0.33.0"),            # the newest: the release `dagc launch` was checked against
    ("engine = sglang", "sglang", "0.5.23"),
    ("engine = trtllm", "trtllm", "1.2.0"),
    ("engine = pytorch", "pytorch", None),
    ("engine = vllm@0.8.5", "vllm", "0.8.5"),       # unquoted: a name at a release is one word
    ("engine = vllm@0.10.1.1", "vllm", "0.10.1.1"),
    ('engine = "sglang@0.5.6"', "sglang", "0.5.6"),  # quoted, too
    ("engine = trtllm@1.3.0rc20", "trtllm", "1.3.0rc20"),
])
def test_every_engine_and_a_release_lowers_to_the_cluster(written, name, release):
    engine = lowered(cluster(written)).cluster.engine
    assert (engine.name, engine.release) == (name, release)


def test_a_name_at_a_release_parses_as_one_value_and_nothing_else_changes():
    tree = parse(SourceFile("p.moe", "cluster { engine = vllm@0.33.0  gpus = 8 }"))
    values = [str(t) for t in tree.scan_values(lambda t: True)]
    assert values == ["engine", "vllm@0.33.0", "gpus", "8"]
    # `@` stays outside names: a field, a block or an axis with one is a syntax error, as before
    for bad in ("cluster { a@b = 1 }", "strategy tp@2 8", "cluster { engine = vllm @0.33.0 }"):
        with pytest.raises(PlanError) as exc:
            parse(SourceFile("p.moe", bad))
        assert exc.value.diagnostics[0].code == "E001"


def test_without_an_engine_the_default():
    from dagc.plan.engines import NEWEST, VLLM_FRONTEND_S
    assert DEFAULT_ENGINE == "vllm"
    engine = lowered(cluster()).cluster.engine
    assert (engine.name, engine.release, engine.terms.frontend_s) == ("vllm", NEWEST["vllm"], VLLM_FRONTEND_S)
    # the plain reference is named
    engine = lowered(cluster("engine = pytorch")).cluster.engine
    assert (engine.name, engine.release, engine.terms.frontend_s) == ("pytorch", None, 0.0)


def _imported(tmp_path, source: str) -> str:
    """A kernel profile file as `dagc kernels import` writes one: the h100-sxm tables with an engine's provenance."""
    doc = json.loads(resources.files("dagc").joinpath("data", "kernels", "h100-sxm.json").read_text(encoding="utf-8"))
    doc["provenance"]["source"] = source
    (tmp_path / "engine.json").write_text(json.dumps(doc))
    return 'kernels from "engine.json"'


def test_the_default_is_the_engine_an_imported_profile_was_measured_in(tmp_path):
    kernels = _imported(tmp_path, "aiconfigurator-core 0.12.0: h200_sxm / sglang 0.5.14")
    engine = lowered(cluster(extra=kernels), base_dir=tmp_path).cluster.engine
    assert (engine.name, engine.release) == ("sglang", "0.5.14")
    # a release of a series dagc does not know: the engine at its newest
    kernels = _imported(tmp_path, "aiconfigurator-core 0.12.0: h200_sxm / trtllm 2.0.0")
    engine = lowered(cluster(extra=kernels), base_dir=tmp_path).cluster.engine
    assert (engine.name, engine.release) == ("trtllm", "1.2.0")
    # written, the plan's engine wins over the profile's
    engine = lowered(cluster("engine = vllm", kernels), base_dir=tmp_path).cluster.engine
    assert engine.name == "vllm"


def test_an_unknown_engine_names_the_engines_dagc_knows():
    text = cluster("engine = vlm")
    [(code, line, col, spanned, message, hint)] = problems(text)
    assert (code, spanned, message) == ("E101", "vlm", "unknown engine `vlm`")
    assert (line, col) == (2, text.splitlines()[1].index("vlm") + 1)
    assert hint == "did you mean `vllm`? the engines dagc knows: `vllm`, `sglang`, `trtllm`, `pytorch`"
    [(code, *_, message, hint)] = problems(cluster("engine = TensorRT-LLM"))
    assert (code, message) == ("E101", "unknown engine `TensorRT-LLM`") and hint.startswith("did you mean `trtllm`?")
    [(code, *_, message, hint)] = problems(cluster("engine = 3"))
    assert (code, message) == ("E102", "`engine` takes a name, not a number")


def test_an_unknown_release_names_the_releases_dagc_knows_of_that_engine():
    [(code, _, _, spanned, message, hint)] = problems(cluster("engine = vllm@0.3.0"))
    assert (code, spanned, message) == ("E101", "vllm@0.3.0", "unknown release `0.3.0` of vLLM")
    assert hint == ("the vLLM releases dagc knows: 0.6–0.33 (e.g. `engine = vllm@0.33.0`); "
                    "`engine = vllm` is 0.33.0, the release dagc prices by default")
    [(_, _, _, _, message, hint)] = problems(cluster("engine = trtllm@2.1"))
    assert message == "unknown release `2.1` of TensorRT-LLM"
    # 1.3 is known (its release candidates' tables) but not the default: the hint says which `engine = trtllm` is
    assert hint == ("the TensorRT-LLM releases dagc knows: 1.0–1.3, 0.5–0.21 (e.g. `engine = trtllm@1.2.0`); "
                    "`engine = trtllm` is 1.2.0, the release dagc prices by default")
    [(code, *_, message, hint)] = problems(cluster("engine = pytorch@2.5"))
    assert (code, message, hint) == ("E101", "`pytorch` has no releases: it is dagc's own reference",
                                     "write `engine = pytorch`")


def test_set_names_another_engine_located_in_the_option(tmp_path):
    path = tmp_path / "plan.moe"
    path.write_text(cluster("engine = vllm"))
    assert load_plan_with(path, ["cluster.engine=sglang"]).cluster.engine.name == "sglang"
    assert load_plan_with(path, ["cluster.engine=trtllm@1.1.0"]).cluster.engine.release == "1.1.0"
    path.write_text(cluster())
    assert load_plan_with(path, ["cluster.engine=vllm@0.9.2"]).cluster.engine.release == "0.9.2"
    with pytest.raises(PlanError) as exc:
        load_plan_with(path, ["cluster.engine=vllm@0.1"])
    [d] = exc.value.diagnostics
    assert (d.code, d.span.source.path, d.span.column, d.span.text) == ("E101", "--set", 16, "vllm@0.1")


def test_a_profile_measured_in_another_engine_is_w530_once_per_plan(tmp_path):
    from dagc.lang.load import load_plan
    from dagc.rules import rule
    from dagc.verdict.check import check

    kernels = _imported(tmp_path, "aiconfigurator-core 0.12.0: h200_sxm / sglang 0.5.14")
    text = cluster("engine = trtllm", kernels)
    (tmp_path / "plan.moe").write_text(text)
    [result] = check(load_plan(tmp_path / "plan.moe"))
    [w] = [d for d in result.diagnostics if d.code == "W530"]
    assert w.message == ("the kernel profile `h100-sxm` was measured in SGLang, but the plan serves with "
                         "TensorRT-LLM: its kernel times are SGLang's, the rest of the figures TensorRT-LLM's")
    assert w.span.text == "engine = trtllm" and rule("W530").plan_level
    assert w.hint.endswith("or write `engine = sglang`")
    # the profile's own engine, written or by default: nothing to say
    for written in ("engine = sglang", ""):
        (tmp_path / "plan.moe").write_text(cluster(written, kernels))
        assert "W530" not in {d.code for d in check(load_plan(tmp_path / "plan.moe"))[0].diagnostics}


# ---------------------------------------------------------------- client-observed figures

SMALL = plan_text(cluster='cluster {{ gpus = 8  gpu preset "h100-sxm"  engine = pytorch }}',
                  workload="workload {{ batch = 8  prompt = 512  generate = 64  {more} }}",
                  strategy="strategy tp 8")


def _with_frontend(plan, frontend_s: float):
    """The plan on the reference engine but with a front end of `frontend_s` per request (nothing else changed)."""
    from dagc.plan.engines import Engine, EngineTerms
    engine = Engine(name="pytorch", terms=EngineTerms(frontend_s=frontend_s))
    return plan.model_copy(update={"cluster": plan.cluster.model_copy(update={"engine": engine})})


@pytest.mark.parametrize("more", ["", "serving = inflight"])
def test_the_client_ttft_is_the_servers_plus_the_front_end(more):
    from dagc.lang.load import load_plan_text
    from dagc.verdict.check import check

    plan = load_plan_text(SMALL.format(more=more))
    [base] = check(plan)
    [front] = check(_with_frontend(plan, 0.02))
    server = base.metrics.ttft_s
    assert base.metrics.ttft_server_s == server            # pytorch: no front end, the figures unchanged
    assert front.metrics.ttft_server_s == server
    assert front.metrics.ttft_s == pytest.approx(server + 0.02, abs=1e-15)
    # TPOT and the throughputs are the server's: the front end runs beside the GPUs
    for key in ("tpot_s", "decode_tokens_per_s", "throughput_tokens_per_s", "prefill_tokens_per_s"):
        assert metrics_json(front.metrics)[key] == metrics_json(base.metrics)[key], key


def test_a_ttft_requirement_judges_the_client_figure():
    from dagc.lang.load import load_plan_text
    from dagc.verdict.check import check

    plan = load_plan_text(SMALL.format(more=""))
    server = check(plan)[0].metrics.ttft_s
    bound = plan_text(cluster='cluster { gpus = 8  gpu preset "h100-sxm"  engine = pytorch }',
                      workload="workload { batch = 8  prompt = 512  generate = 64 }", strategy="strategy tp 8",
                      require=f"require {{ ttft <= {(server + 0.01) * 1e3:.6f} ms }}")
    plan = load_plan_text(bound)
    assert check(plan)[0].verdict.meets_requirements                          # server + 0 ms ≤ server + 10 ms
    assert not check(_with_frontend(plan, 0.02))[0].verdict.meets_requirements   # server + 20 ms > server + 10 ms


def test_a_loads_client_ttft_and_latency_add_the_front_end_to_each_request():
    from dagc.lang.load import load_plan_text
    from dagc.verdict.check import check

    plan = load_plan_text(SMALL.format(more="serving = inflight  rate = 4 requests/s  requests = 40"))
    [base] = check(plan)
    [front] = check(_with_frontend(plan, 0.02))
    b, f = load_json(base.load), load_json(front.load)
    for key in ("mean", "p50", "p99"):
        assert f["ttft_server_s"][key] == b["ttft_s"][key] == b["ttft_server_s"][key]
        assert f["e2e_server_s"][key] == b["e2e_s"][key]
        assert f["ttft_s"][key] == pytest.approx(b["ttft_s"][key] + 0.02, abs=1e-12)
        assert f["e2e_s"][key] == pytest.approx(b["e2e_s"][key] + 0.02, abs=1e-12)
        assert f["tpot_s"][key] == b["tpot_s"][key]
    # Little's law is the server's: the same run, the same figures
    assert (f["mean_in_system"], f["arrival_rate_times_e2e"]) == (b["mean_in_system"], b["arrival_rate_times_e2e"])


# ---------------------------------------------------------------- the engine's launch rules in check


def test_check_refuses_what_the_plans_engine_cannot_start_as_dagc_launch_does(tmp_path):
    from dagc.cli.main import main
    from dagc.lang.load import load_plan_text
    from dagc.launch.engine_check import engine_checked
    from dagc.launch.engines import launch_result
    from dagc.verdict.check import check

    text = plan_text(cluster='cluster {{ gpus = 8  gpu preset "h100-sxm"  {engine} }}',
                     workload="workload {{ batch = 8  prompt = 512  generate = 64 }}",
                     strategy="strategy tp 8 ; ep 4 etp 2")          # EP 4 × expert TP 2: vLLM has no such split
    plan = load_plan_text(text.format(engine="engine = vllm"))
    [checked] = check(plan)
    assert checked.valid                                              # the strategy itself is sound
    [launched] = launch_result(checked, ("vllm",))
    refused = engine_checked(checked)
    [e702] = [d for d in refused.diagnostics if d.code.startswith("E7")]
    # the launch's own diagnostic, located, with the hint `dagc launch` prints under it (the nearest strategy)
    assert dataclasses.replace(e702, hint=None) == launched.refusals[0] and e702.code == "E702"
    assert e702.hint is not None and e702.hint.startswith("the nearest strategy vLLM can run: `tp 8 ; ep 8`")
    assert e702.span.text == "ep 4" and not refused.valid and not refused.verdict.correct
    # SGLang and TensorRT-LLM say it (--tp 8 --ep 4: MoE TP 2); pytorch has no launcher: nothing refused
    for engine in ("engine = sglang", "engine = trtllm", "engine = pytorch"):
        [ok] = check(load_plan_text(text.format(engine=engine)))
        assert engine_checked(ok) is ok, engine
    # a plan that names no engine is priced as vLLM serves it, but not refused by vLLM's launcher
    [default] = check(load_plan_text(text.format(engine="")))
    # (since 2026-12-03 a note says so: N607, naming the engines that start it; the verdict stands)
    noted = engine_checked(default)
    assert default.plan.cluster.engine.name == "vllm" and noted.verdict == default.verdict
    assert [d.code for d in noted.diagnostics if d not in default.diagnostics] == ["N607"]
    # `dagc check` itself: the error, located, and the exit code of an invalid strategy
    path = tmp_path / "plan.moe"
    path.write_text(text.format(engine="engine = vllm"))
    assert main(["check", str(path), "--no-search", "--format", "json"]) == 3
    path.write_text(text.format(engine="engine = sglang"))
    assert main(["check", str(path), "--no-search", "--format", "json"]) == 0


def test_a_disaggregated_deployments_client_ttft_adds_the_front_end_once():
    from dagc.plan.workload import Workload
    from dagc.serve.disagg import PoolFigures, disaggregated

    w = Workload(batch=64, prompt=4000, generate=500, serving="inflight")
    p = PoolFigures("prefill", 3, 8, 2, 0.5)             # 3 instances, 2 prompts in 0.5 s each
    d = PoolFigures("decode", 1, 8, 64, 0.025)           # one instance, 64 requests, a step of 25 ms
    r = disaggregated(p, d, 0.02, w, frontend_s=0.01)
    # server: the prefill's 0.5 s + the transfer's 0.02 s; the client 10 ms later
    assert r.rates.ttft_server_s == pytest.approx(0.52, abs=1e-15)
    assert r.ttft_s == r.rates.ttft_s == pytest.approx(0.53, abs=1e-15)
    # the rest is the server's: 5.12 requests/s × 500 tokens over 32 GPUs
    assert r.rates.decode_tokens_per_s_per_gpu == pytest.approx(80.0, rel=1e-12)
    assert disaggregated(p, d, 0.02, w).ttft_s == pytest.approx(0.52, abs=1e-15)


def test_the_terminal_names_the_clients_ttft_beside_the_servers(tmp_path, capsys):
    from dagc.cli.main import main

    path = tmp_path / "plan.moe"
    for engine, both in (("engine = vllm", True), ("engine = pytorch", False)):
        path.write_text(SMALL.replace("engine = pytorch", engine).format(more=""))
        assert main(["check", str(path), "--no-search"]) == 0
        out = capsys.readouterr().out
        assert ("TTFT as the client sees it" in out) is both and ("TTFT at the server" in out) is both
        assert ("TTFT (time to first token)" in out) is not both


def test_launch_without_engine_launches_on_the_engine_the_plan_names(tmp_path, capsys):
    """`dagc launch` without --engine writes the commands of the engine the plan serves with (the one whose
    figures the check gave), not all three; a plan naming pytorch (no launcher) or none gets all three."""
    from dagc.cli.main import main

    text = plan_text(cluster='cluster {{ gpus = 8  gpu preset "h100-sxm"  {engine} }}',
                     workload="workload {{ batch = 8  prompt = 512  generate = 64 }}", strategy="strategy tp 8")
    path = tmp_path / "plan.moe"
    for engine, said, launched in (("engine = sglang", "engine: sglang, as the plan serves with it", ["sglang"]),
                                   ("engine = pytorch", None, ["sglang", "trtllm", "vllm"]),
                                   ("", None, ["sglang", "trtllm", "vllm"])):
        path.write_text(text.format(engine=engine))
        assert main(["launch", str(path)]) == 0
        stdout = capsys.readouterr().out
        assert (said in stdout) if said else "as the plan serves with it" not in stdout
        shown = [e for e, head in (("sglang", "## SGLang"), ("trtllm", "## TensorRT-LLM"), ("vllm", "## vLLM"))
                 if head in stdout]
        assert shown == launched, stdout


def test_a_disaggregated_ttft_breakdown_names_the_front_end_apart_from_the_prefill(capsys):
    """The terminal's TTFT = the prefill + the KV transfer + the engine's front end: the prefill it names is the prefill
    pool's own time (the pools table's), the client's TTFT adding vLLM's front end apart: its 20.02 ms and a request's
    own 4 ms on its server."""
    import re
    from pathlib import Path

    from dagc.cli.main import main
    example = Path(__file__).resolve().parent.parent / "examples" / "deepseek-v3-disaggregated.moe"
    assert main(["check", str(example), "--no-search"]) == 0
    out = capsys.readouterr().out
    [(pool, breakdown, front)] = [(m.group(1), m.group(2), m.group(3)) for m in re.finditer(
        r"│ prefill .*?│ prefill ([\d.]+ ms) │.*?TTFT = the prefill ([\d.]+ ms) \+ the KV transfer .*?"
        r"\+ the engine's front end ([\d.]+ ms) \+ its one server's time 4 ms;", out, re.S)]
    assert breakdown == pool and front == "20.02 ms"


def test_launch_says_which_engine_its_figures_are_for(tmp_path, capsys):
    """The figures above the commands are those of the engine whose commands follow, and say so: a plan served
    by SGLang launched on vLLM (`--engine vllm`) is priced for vLLM, as `--set cluster.engine=vllm` prices it;
    without `--engine` the plan's engine's, named."""
    from dagc.cli.main import main

    text = plan_text(cluster='cluster {{ gpus = 8  gpu preset "h100-sxm"  engine = sglang }}',
                     workload="workload {{ batch = 8  prompt = 512  generate = 64 }}", strategy="strategy tp 8")
    path = tmp_path / "plan.moe"
    path.write_text(text.format())
    assert main(["launch", str(path), "--engine", "vllm"]) == 0
    assert ("dagc's figures for it, served by vllm 0.33.0 (--engine vllm: the launch uses vllm's flags, and these "
            "figures are the plan's priced with `--set cluster.engine=vllm`): TTFT") in capsys.readouterr().out
    assert main(["launch", str(path)]) == 0
    assert ("dagc's figures for it, served by sglang 0.5.23 (the plan's engine; another's with "
            "`--set cluster.engine=NAME`): TTFT") in capsys.readouterr().out
    # a plan that names no engine is served by dagc's default, and the header says it is no choice of the plan's
    path.write_text(text.format().replace("  engine = sglang", ""))
    assert main(["launch", str(path)]) == 0
    assert ("dagc's figures for it, served by vllm 0.33.0 (dagc's default engine: the plan names none; another's "
            "with `--set cluster.engine=NAME`): TTFT") in capsys.readouterr().out
