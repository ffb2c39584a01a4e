"""Every strategy dagc prints round-trips: parsed back, it is the same strategy and gives the same figures.

Two parts. (1) The printer (`dagc.plan.printer`), as a property: any strategy built as a value prints
to text that `--strategy` and a plan's `strategy` line read back as the same strategy, and that the
parser's own canonical text leaves as it is. (2) The outputs: `check`, `compile`, `search` (plain,
`--rate`, `--vary batch`) and `launch` run in-process on every example and on plans whose cluster is
larger than the strategies they propose; every strategy text in their JSON and text outputs is pasted
into `--strategy` and into a copy of the plan, found valid, and — where the output states figures —
checked to the same TTFT, TPOT, decode tokens/s per GPU, GPUs and memory. Outputs go to temporary
directories only. The costly sources (`--rate` simulates traffic, `--vary batch` searches every batch)
run on the cheapest examples that cover aggregated and disaggregated candidates.
"""

from __future__ import annotations

import json
import math
import re
import shlex
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from dagc.cli.main import main
from dagc.diagnostics import PlanError
from dagc.export.result_json import metrics_json
from dagc.lang.flatten import flatten
from dagc.lang.load import load_plan_text, parse_strategy
from dagc.lang.overrides import load_plan_with
from dagc.plan.printer import aggregated, pooled, replicated, strategy_source, with_options as optioned, with_split
from dagc.plan.strategy import Strategy
from dagc.plan.workload import Overlap
from dagc.verdict.check import check_strategy
from dagc.verdict.next_steps import next_steps
from conftest import EXAMPLES, one_computation_per_output

# ---------------------------------------------------------------- (1) the printer, as a property

_DEGREE = st.sampled_from([1, 2, 3, 4, 8, 16])
_SPLIT_LAYERS = st.integers(1, 40)


@pytest.fixture(autouse=True)
def _wide_tables(monkeypatch):
    """Tables wide enough for every column, a row on a line: these tests read their cells (tables at the
    widths terminals have are tests/test_cli_widths.py's)."""
    monkeypatch.setenv("COLUMNS", "1000")


@st.composite
def _aggregated(draw, dp_allowed: bool = True, with_options: bool = True) -> Strategy:
    pp = draw(st.sampled_from([1, 1, 2, 3, 4]))
    split = tuple(draw(st.lists(_SPLIT_LAYERS, min_size=pp, max_size=pp))) if draw(st.booleans()) and pp > 1 else None
    expert = draw(st.sampled_from(["none", "ep", "etp", "both"]))
    ep = draw(_DEGREE) if expert in ("ep", "both") else None
    etp = draw(st.sampled_from([2, 4])) if expert in ("etp", "both") else None
    options = {}
    if with_options:
        options = {"microbatches": draw(st.one_of(st.none(), st.integers(1, 64))),
                   "overlap": draw(st.one_of(st.none(), st.sampled_from(list(Overlap)))),
                   "redundant": draw(st.one_of(st.none(), st.integers(0, 64)))}
    tp = draw(_DEGREE)
    even = aggregated(dp=draw(_DEGREE) if dp_allowed else 1, pp=pp, tp=tp, cp=draw(_DEGREE), sp=draw(st.booleans()),
                      ep=ep, etp=etp)
    return optioned(with_split(even, split), **options)


@st.composite
def _strategies(draw) -> Strategy:
    kind = draw(st.sampled_from(["aggregated", "replicated", "pooled"]))
    if kind == "aggregated":
        return draw(_aggregated())
    if kind == "replicated":
        return replicated(draw(_aggregated(dp_allowed=False)), draw(st.integers(2, 64)))
    return pooled(draw(_aggregated(with_options=False)), draw(st.integers(1, 9)),
                  draw(_aggregated(with_options=False)), draw(st.integers(1, 9)),
                  microbatches=draw(st.one_of(st.none(), st.integers(1, 8))),
                  overlap=draw(st.one_of(st.none(), st.sampled_from(list(Overlap)))),
                  redundant=draw(st.one_of(st.none(), st.integers(0, 32))))


def _what(s: Strategy) -> dict:
    """What a strategy is, without how it was written (its text, its spans)."""
    return {**s.model_dump(exclude={"text", "pools", "name"}),
            "pools": [(p.role, p.instances, _what(p.strategy)) for p in s.pools]}


_PLAN = ('model preset "mixtral-8x7b"  cluster { gpus = 8  gpu preset "h100-sxm" }  '
         "workload { batch = 8  prompt = 64  generate = 8 }\n")


@settings(max_examples=300, deadline=None)
@given(_strategies(), st.one_of(st.none(), st.sampled_from(["fast", "pd_2"])))
def test_printed_strategies_parse_back_as_the_same_strategy(s, name):
    s = s.model_copy(update={"name": name})
    text = strategy_source(s, named=True)
    decl = parse_strategy(text)
    back, diags = flatten(decl)
    assert not diags, (text, [d.message for d in diags])
    assert back is not None and _what(back) == _what(s) and back.name == name
    assert decl.text == strategy_source(s)           # the printer's text is the parser's canonical text
    line = load_plan_text(_PLAN + f"strategy {text}").strategies[0]
    assert flatten(line)[0] is not None and _what(flatten(line)[0]) == _what(s)


def test_replicating_keeps_the_options_outside_the_brackets():
    own = flatten(parse_strategy("tp 4 ; ep 4 with overlap none redundant 8"))[0]
    assert own is not None
    assert strategy_source(replicated(own, 2)) == "dp 2 < tp 4 ; ep 4 > with overlap none redundant 8"
    with pytest.raises(ValueError):
        replicated(replicated(own, 2), 2)


# ---------------------------------------------------------------- (2) every text dagc prints

_OPENS = re.compile(r"^(?:[A-Za-z_][\w-]* = )?(?:dp|pp|tp|cp|ep|etp|prefill) \d")
_WORDS = {"dp", "pp", "tp", "cp", "sp", "ep", "etp", "prefill", "decode", "with", "microbatches", "overlap",
          "redundant", "none", "microbatch"}


def _looks_like_strategy(text: str) -> bool:
    """Whether marked text reads as a strategy: an axis and its degree first, then only the words, numbers
    and brackets of the strategy grammar (a sentence or a figure such as `prefill 576.7 ms` is not one)."""
    if not _OPENS.match(text):
        return False
    body = text.split(" = ", 1)[1] if re.match(r"^[A-Za-z_][\w-]* = ", text) else text
    return all(w in _WORDS or w.isdigit() for w in re.sub(r"[<>;,\[\]]", " ", body).split())
FIGURES = ("ttft_s", "tpot_s", "decode_tokens_per_s_per_gpu")


@dataclass
class Printed:
    """One strategy text an output printed, where, and the figures it stated (None: only its validity)."""

    plan: Path
    sets: tuple[str, ...]
    text: str
    source: str
    figures: dict | None = None
    memory_fraction: float | None = None
    rel_tol: float = 1e-9                   # figures printed rounded (4 significant digits): 1e-3


@dataclass
class Harvest:
    found: list[Printed] = field(default_factory=list)

    def add(self, plan: Path, sets, text: str, source: str, figures: dict | None = None,
            memory_fraction: float | None = None, rel_tol: float = 1e-9) -> None:
        self.found.append(Printed(plan, tuple(sets), text, source, figures, memory_fraction, rel_tol))


def _run(capsys, *argv: str) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    out, _ = capsys.readouterr()
    return code, out


def _own(report: dict, plan: Path, sets, h: Harvest, source: str) -> None:
    """The strategies of one report.json object: its own, the optimal verdict's, the next steps'."""
    if report.get("strategy") and report.get("valid"):
        h.add(plan, sets, report["strategy"], f"{source} strategy", report.get("metrics"))
    evidence = (report.get("verdict") or {}).get("optimal_evidence") or {}
    if evidence.get("best_strategy"):
        figures = evidence.get("best_figures")
        h.add(plan, sets, evidence["best_strategy"], f"{source} optimal", figures,
              None if figures is None else figures.get("memory_fraction"))
    for objective, pick in (evidence.get("by_objective") or {}).items():
        if pick is not None:
            own = [*sets, f"workload.batch={pick['batch']}"] if pick.get("batch") is not None else sets
            h.add(plan, own, pick["strategy"], f"{source} by_objective {objective}", pick,
                  pick.get("memory_fraction"))
    for step in report.get("next_steps") or []:
        words = [w for o in step["options"] for w in shlex.split(o)]
        if "--strategy" in words:
            own_sets = [*sets, *(words[i + 1] for i, w in enumerate(words) if w == "--set")]
            h.add(plan, own_sets, words[words.index("--strategy") + 1], f"{source} next step", step)


def _candidates(found: list[dict], plan: Path, sets, h: Harvest, source: str, top: int = 3) -> None:
    for c in found[:top]:
        batch = c["workload"].get("batch")
        own = [*sets, f"workload.batch={batch}"] if batch is not None else list(sets)
        h.add(plan, own, c["strategy"], source, {**c["metrics"], "gpus": c["gpus"]}, 1.0 - c["memory_headroom"])


_NEAREST = re.compile(r"can run: `([^`]+)` \(TTFT ([\d.,]+) (s|ms|µs), TPOT ([\d.,]+) (s|ms|µs), "
                      r"([\d.,]+) tokens/s/GPU")


def _seconds(value: str, unit: str) -> float:
    return float(value.replace(",", "")) * {"s": 1.0, "ms": 1e-3, "µs": 1e-6}[unit]


def _marked(out: str, plan: Path, sets, h: Harvest, source: str) -> None:
    """The strategies a text output marks: in backticks, after `--strategy`, in a table's cells; not the
    strategy of one pool's instances (`3 instances of `tp 8``, a pools table's row), which is part of one."""
    for before, text in re.findall(r"(\w+ of )?`([^`\n]+)`", out):
        if _looks_like_strategy(text) and before not in ("instance of ", "instances of "):
            h.add(plan, sets, text, f"{source} (text)")
    for text, *said in _NEAREST.findall(out):          # launch's nearest strategy, with its figures rounded
        figures = {"ttft_s": _seconds(said[0], said[1]), "tpot_s": _seconds(said[2], said[3]),
                   "decode_tokens_per_s_per_gpu": float(said[4].replace(",", ""))}
        h.add(plan, sets, text, f"{source} (nearest)", figures, rel_tol=1e-3)
    for line in out.splitlines():          # a next step: its `--set` options and `--strategy`, on one line
        for text in re.findall(r"--strategy ('[^'\n]+'|\"[^\"\n]+\")", line):
            own = [*sets, *re.findall(r"--set (\S+)", line)]
            h.add(plan, own, shlex.split(text)[0], f"{source} (text --strategy)")
    for line in out.splitlines():
        if line.startswith("│"):
            cells = [c.strip() for c in line.strip("│").split("│")]
            for cell in cells if cells[0] not in ("prefill", "decode") else ():
                if _looks_like_strategy(cell):
                    h.add(plan, sets, cell, f"{source} (table)")


def _memory_fraction(r) -> float | None:
    if r.pooled is not None:
        return max(p.analysis.memory.worst.fraction for p in r.pooled.pools if p.analysis.memory is not None)
    return None if r.memory is None else r.memory.worst.fraction


def _recheck(tmp: Path, plan: Path, sets: tuple[str, ...], text: str, cache: dict):
    """`text` pasted into `--strategy` and as the `strategy` line of a copy of the plan: the same strategy
    both ways, checked (on the plan without its traffic: the steady state's figures are compared)."""
    key = (plan, sets, text)
    if key in cache:
        return cache[key]
    copy = Path(tempfile.mkdtemp(prefix="pasted-", dir=tmp)) / plan.name
    shutil.copy(plan, copy)
    if (plan.parent / "traces").is_dir():
        shutil.copytree(plan.parent / "traces", copy.parent / "traces")
    kept = [line for line in plan.read_text().splitlines() if not line.startswith("strategy ")]   # one line each
    copy.write_text("\n".join([*kept, f"strategy {text}", ""]))
    loaded = load_plan_with(copy, sets)
    line, flag = loaded.strategies[-1], parse_strategy(text)
    as_line, as_flag = flatten(line)[0], flatten(flag)[0]
    assert as_line is not None and as_flag is not None, text
    assert _what(as_line) == _what(as_flag) and line.name == flag.name, text
    steady = loaded.model_copy(update={"workload": loaded.workload.model_copy(update={"traffic": None})})
    checked = check_strategy(steady, flag, with_capacity=False)
    # as `dagc check --strategy` does, its next steps (built, not tried: none of the checks they would run)
    next_steps(checked, max_tries=0)
    cache[key] = checked
    return checked


def _assert_round_trips(h: Harvest, tmp: Path) -> None:
    assert h.found
    cache: dict = {}
    wrong = []
    for p in h.found:
        try:
            r = _recheck(tmp, p.plan, p.sets, p.text, cache)
        except PlanError as exc:
            wrong.append(f"{p.source}: `{p.text}` {' '.join(p.sets)} fails to check: "
                         + "; ".join(f"{d.code} {d.message} at {d.span.source.path}" for d in exc.diagnostics
                                     if d.span is not None))
            continue
        errors = [f"{d.code} {d.message}" for d in r.diagnostics if d.is_error]
        if errors or not r.metrics:
            wrong.append(f"{p.source}: `{p.text}` {' '.join(p.sets)} is not valid: {errors}")
            continue
        said = p.figures or {}
        for k in FIGURES:
            if said.get(k) is not None and not math.isclose(said[k], metrics_json(r.metrics)[k], rel_tol=p.rel_tol):
                wrong.append(f"{p.source}: `{p.text}` {k} said {said[k]!r}, checked {metrics_json(r.metrics)[k]!r}")
        if said.get("gpus") is not None and said["gpus"] != r.gpus_used:
            wrong.append(f"{p.source}: `{p.text}` said {said['gpus']} GPUs, checked {r.gpus_used}")
        if p.memory_fraction is not None and not math.isclose(p.memory_fraction, _memory_fraction(r) or 0.0,
                                                               rel_tol=1e-9):
            wrong.append(f"{p.source}: `{p.text}` memory said {p.memory_fraction!r}, checked {_memory_fraction(r)!r}")
    assert not wrong, "\n".join(wrong)


@pytest.fixture(scope="module", autouse=True)
def _one_computation_per_output():
    """What `check` and `search` compute, computed once per plan and options in this module
    (`one_computation_per_output`): these tests read the strategies each output prints, so the text and the
    JSON of one computation are what they need, and `search --rate` ranks what `search` found."""
    with one_computation_per_output():
        yield


EXAMPLE_PLANS = sorted(p.name for p in EXAMPLES.glob("*.moe"))
_RATE = {"mixtral-8x7b-1node.moe", "qwen3-30b-a3b-4gpu.moe"}               # --rate: a few seconds each
_VARY = {"gpt-oss-120b-1xh100.moe", "qwen3-30b-a3b-4gpu.moe", "qwen3-30b-a3b-inflight.moe"}


@pytest.mark.parametrize("name", EXAMPLE_PLANS)
def test_every_strategy_an_example_prints_round_trips(name, tmp_path, capsys):
    plan, h = EXAMPLES / name, Harvest()
    code, out = _run(capsys, "check", plan, "--format", "json")
    reports = json.loads(out)
    for report in reports if isinstance(reports, list) else [reports]:
        _own(report, plan, (), h, "check")
    _marked(_run(capsys, "check", plan)[1], plan, (), h, "check")
    svg = tmp_path / "pareto.svg"
    found = json.loads(_run(capsys, "search", plan, "--top", "3", "--format", "json", "--svg", svg)[1])
    _candidates(found["candidates"], plan, (), h, "search")
    _candidates(found["pareto"] or [], plan, (), h, "search pareto")
    _marked(_run(capsys, "search", plan, "--top", "3", "--svg", svg)[1], plan, (), h, "search")
    if name in _RATE:
        at = json.loads(_run(capsys, "search", plan, "--top", "3", "--rate", "2", "--format", "json", "--svg", svg)[1])
        _candidates(at["at_rate"]["ranked"], plan, (), h, "search --rate")
    if name in _VARY:
        vary = json.loads(_run(capsys, "search", plan, "--top", "3", "--vary", "batch", "--format", "json",
                               "--svg", svg)[1])
        _candidates(vary["candidates"], plan, (), h, "search --vary batch")
        _candidates(vary["pareto"] or [], plan, (), h, "search --vary batch pareto")
    _marked(_run(capsys, "launch", plan)[1], plan, (), h, "launch")
    _assert_round_trips(h, tmp_path)


_LARGER = """# a small cluster four times what its strategy uses, with a requirement it misses
model preset "qwen3-30b-a3b"
cluster { gpus = 16  gpu preset "h100-sxm" }
workload { batch = 64  prompt = 2048  generate = 256 }
require { ttft <= 300 ms }
strategy tp 2 ; ep 2 with microbatches 1 overlap none
"""


def _on_the_reference(tmp_path: Path) -> Path:
    """The Mixtral example on the plain reference (engine = pytorch), where `tp 4 ; ep 4 with overlap none`
    misses its TTFT (2.05 s against 2 s), so a next step proposes replicas (`dp 2 < … >`) and report.md a
    line to paste; under vLLM's fitted host terms it meets (1.845 s) and nothing is proposed."""
    text = (EXAMPLES / "mixtral-8x7b-1node.moe").read_text()
    plan = tmp_path / "mixtral-reference.moe"
    plan.write_text(text.replace('gpu preset "h100-sxm"', 'gpu preset "h100-sxm"\n  engine = pytorch'))
    return plan


@pytest.mark.parametrize("source", ["mixtral --strategy", "larger cluster", "compile"])
def test_strategies_proposed_on_a_larger_cluster_round_trip(source, tmp_path, capsys):
    """The replicas a next step proposes (`dp k < … > with …`) and the search's best on a cluster larger
    than they use; and what `compile` writes: report.json and report.md's "paste this line"."""
    h = Harvest()
    if source == "mixtral --strategy":
        plan = _on_the_reference(tmp_path)
        argv = ("--strategy", "tp 4 ; ep 4 with overlap none")
        code, out = _run(capsys, "check", plan, *argv, "--format", "json")
        assert code in (0, 1), out
        _own(json.loads(out), plan, (), h, "check --strategy")
        _marked(_run(capsys, "check", plan, *argv)[1], plan, (), h, "check --strategy")
        _marked(_run(capsys, "launch", plan, *argv)[1], plan, (), h, "launch --strategy")
        # the engines' notes and nearest strategies keep every option: `redundant` with `overlap microbatch`
        # (attention data-parallel with EP: vLLM's dual-batch overlap runs only so, E710 otherwise)
        options = "pp 2 < tp 1 ; ep 4 > with microbatches 2 overlap microbatch redundant 8"
        _marked(_run(capsys, "launch", plan, "--strategy", options)[1], plan, (), h, "launch --strategy")
        assert any(p.text == options.replace("microbatches 2", "microbatches 4") for p in h.found)    # costs as
        assert any(p.source.endswith("(nearest)") and "redundant 8" in p.text for p in h.found)
        assert any("next step" in p.source and p.text.startswith("dp ") for p in h.found)
    elif source == "larger cluster":
        plan = tmp_path / "larger.moe"
        plan.write_text(_LARGER)
        code, out = _run(capsys, "check", plan, "--format", "json")
        assert code == 1, out
        _own(json.loads(out), plan, (), h, "check")
        _marked(_run(capsys, "check", plan)[1], plan, (), h, "check")
        found = json.loads(_run(capsys, "search", plan, "--top", "3", "--format", "json",
                                "--svg", tmp_path / "p.svg")[1])
        _candidates(found["candidates"], plan, (), h, "search")
        _marked(_run(capsys, "launch", plan)[1], plan, (), h, "launch")
        assert any("next step" in p.source and p.text.startswith("dp ") for p in h.found)
    else:
        plan = _on_the_reference(tmp_path)
        out_dir = tmp_path / "out"
        code, out = _run(capsys, "compile", plan, "--strategy", "tp 4 ; ep 4 with overlap none", "-o", out_dir)
        assert code in (0, 1), out
        _marked(out, plan, (), h, "compile")
        for report in out_dir.rglob("report.json"):
            _own(json.loads(report.read_text()), plan, (), h, "compile report.json")
        pasted = [line.strip()[len("strategy "):] for md in out_dir.rglob("report.md")
                  for line in md.read_text().splitlines() if line.strip().startswith("strategy ")]
        assert pasted
        for text in pasted:
            h.add(plan, (), text, "compile report.md paste")
    _assert_round_trips(h, tmp_path)
