"""The documentation in docs/ is the code's: generated pages match their generators, examples of the
plan language load, every field, constant and report key the code has is documented, and every
link points inside the repository.

Generated parts (docs/rules.md whole; the options of docs/cli.md and the constants of
docs/cost-model.md between `<!-- generated:NAME -->` markers) are compared byte for byte;
`pytest --update-golden` rewrites them — review the diff like code.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path

import pytest
from lark import Lark

from dagc.export.search_json import search_json
from conftest import ROOT

DOCS = ROOT / "docs"


# ---------------------------------------------------------------- generated pages and sections


def _update(request) -> bool:
    return bool(request.config.getoption("--update-golden"))


def _check_page(request, path: Path, text: str) -> None:
    if _update(request):
        path.write_text(text)
    assert path.exists(), f"no {path.name}; run pytest --update-golden once and review it"
    assert path.read_text() == text, f"{path.relative_to(ROOT)} differs from its generator; " \
        "run `pytest tests/test_docs.py --update-golden` and review the diff"


def _markers(name: str) -> tuple[str, str]:
    return (f"<!-- generated:{name} (tests/test_docs.py; `pytest --update-golden` rewrites it) -->",
            f"<!-- end generated:{name} -->")


def _check_section(request, path: Path, name: str, body: str) -> None:
    """The part of `path` between the markers of section `name` is `body`."""
    begin, end = _markers(name)
    text = path.read_text()
    assert begin in text and end in text, f"{path.name} has no generated section {name}"
    head, _, rest = text.partition(begin)
    _, _, tail = rest.partition(end)
    expected = f"{head}{begin}\n{body}{end}{tail}"
    if _update(request):
        path.write_text(expected)
        text = expected
    assert text == expected, f"the section {name} of {path.relative_to(ROOT)} differs from the code; " \
        "run `pytest tests/test_docs.py --update-golden` and review the diff"


def test_rules_page_is_generated_from_the_registry(request):
    from dagc.rules.doc import rules_markdown
    _check_page(request, DOCS / "rules.md", rules_markdown())


def test_rules_page_has_every_code_and_its_examples():
    from dagc.rules import RULES
    from dagc.rules.doc import rule_sections
    text = (DOCS / "rules.md").read_text()
    for r in RULES:
        assert f"### {r.code} — " in text, r.code
        for title, block in rule_sections(r):
            assert block in text, (r.code, title)


# ---------------------------------------------------------------- docs/cli.md: the options from build_parser


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _argument(a: argparse.Action) -> str:
    if a.nargs == 0:
        return ""
    if a.choices is not None:
        return "|".join(str(c) for c in a.choices)
    return a.metavar or a.dest.upper()


def _default(a: argparse.Action) -> str:
    if a.nargs == 0 or a.default in (None, argparse.SUPPRESS, [], False):
        return ""
    return f"`{a.default:g}`" if isinstance(a.default, float) else f"`{a.default}`"


def _usage(name: str, p: argparse.ArgumentParser) -> str:
    words = [f"dagc {name}"]
    for a in p._actions:
        if isinstance(a, argparse._HelpAction) or a.help == argparse.SUPPRESS:    # an older spelling, unlisted
            continue
        if not a.option_strings:
            words.append(a.metavar or a.dest.upper())
            continue
        arg = _argument(a)
        if arg and a.nargs == "?":            # the value itself optional: `--ray [ADDRESS]`
            arg = f"[{arg}]"
        option = f"{a.option_strings[-1]}{' ' + arg if arg else ''}"
        words.append(option if a.required else f"[{option}]")       # a required option without brackets
    return " ".join(words)


def _options_table(p: argparse.ArgumentParser) -> list[str]:
    rows = ["| argument | value | default | meaning |", "|---|---|---|---|"]
    for a in p._actions:
        if isinstance(a, (argparse._HelpAction, argparse._SubParsersAction)) or a.help == argparse.SUPPRESS:
            continue
        names = ", ".join(f"`{s}`" for s in a.option_strings) or f"`{a.metavar or a.dest.upper()}`"
        arg = _cell(_argument(a)) if a.option_strings else ""
        need = " (required)" if a.required and a.option_strings else ""
        rows.append(f"| {names} | {f'`{arg}`' if arg else ''} | {_default(a)} | {_cell(a.help or '')}{need} |")
    return rows


def cli_options_markdown() -> str:
    """Every command of `dagc.cli.parser.build_parser()` with its usage and a table of its arguments."""
    from dagc.cli.parser import build_parser
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {c.dest: c.help or "" for c in sub._choices_actions}
    lines = ["### `dagc` (no command)", "", "```", "dagc [--version] [--help] COMMAND …", "```", ""]
    lines += _options_table(parser) + [""]
    for name, p in sub.choices.items():
        lines += _command_markdown(name, helps.get(name, ""), p)
    return "\n".join(lines)


def _command_markdown(name: str, help_text: str, p: argparse.ArgumentParser) -> list[str]:
    """One command's section — its usage, options and example —, then its own commands' (`dagc kernels import`)."""
    lines = [f"### `dagc {name}`", "", _cell(help_text).replace("\\|", "|") + ".", "",
             "```", _usage(name, p), "```", ""]
    lines += _options_table(p) + ["| `-h`, `--help` |  |  | this command's help, with an example |", ""]
    if p.epilog:
        lines += ["```", p.epilog.strip(), "```", ""]
    for group in (a for a in p._actions if isinstance(a, argparse._SubParsersAction)):
        helps = {c.dest: c.help or "" for c in group._choices_actions}
        for sub_name, sub_p in group.choices.items():
            lines += _command_markdown(f"{name} {sub_name}", helps.get(sub_name, ""), sub_p)
    return lines


def test_cli_page_lists_every_command_and_option(request):
    _check_section(request, DOCS / "cli.md", "options", cli_options_markdown())


# ---------------------------------------------------------------- docs/language.md: examples and coverage

_FENCE = re.compile(r"^```moe\n(.*?)^```", re.M | re.S)
_HF_CONFIG = {"num_hidden_layers": 8, "hidden_size": 1024, "num_attention_heads": 16, "num_key_value_heads": 4,
              "head_dim": 64, "vocab_size": 32000, "num_local_experts": 8, "num_experts_per_tok": 2,
              "intermediate_size": 2048, "torch_dtype": "bfloat16"}


def language_examples() -> list[str]:
    """The `moe` blocks of docs/language.md, in order."""
    return _FENCE.findall((DOCS / "language.md").read_text())


def _statement_kinds(text: str) -> set[str]:
    from dagc.lang.lower import _STATEMENTS
    from dagc.lang.parse import parse
    from dagc.source import SourceFile
    return {_STATEMENTS[st.data] for st in parse(SourceFile("example.moe", text)).children}


def _completed(text: str) -> str:
    """A fragment inside the tests' base plan: the statements it lacks taken from the base."""
    from conftest import BASE
    kinds = _statement_kinds(text)
    return "\n".join(v for k, v in BASE.items() if v and k not in kinds) + "\n" + text


@pytest.fixture
def example_dir(tmp_path):
    """The directory the examples are read from: a config.json, a kernel profile and expert loads beside them."""
    (tmp_path / "config.json").write_text(json.dumps(_HF_CONFIG))
    shutil.copy(ROOT / "dagc" / "data" / "kernels" / "h100-sxm.json", tmp_path / "my-h100.json")
    # the base plan's Mixtral: 32 MoE layers of 8 experts
    (tmp_path / "expert_load.json").write_text(json.dumps({"layers": [[9, 5, 4, 3, 3, 2, 1, 1]] * 32}))
    # a calibration of the base plan's deployment (`dagc calibrate`'s format, docs/calibrate.md)
    run = {"id": "r.json", "file": "r.json", "tool": "vllm", "requests": 100, "prompt": 2048.0, "generate": 256.0,
           "rate": 4.0, "measured": {"tpot_ms": 10.0}, "dagc": {"tpot_ms": 10.0}, "cross_validated": {"tpot_ms": 10.0}}
    (tmp_path / "cal.json").write_text(json.dumps({
        "format": 1, "engine": "pytorch", "release": None, "gpu": "h100-sxm", "gpus": 8, "model": "mixtral-8x7b",
        "terms": {"step_s": 0.001, "frontend_s": 0.01}, "runs": [run],
        "range": {"prompt": [2048.0, 2048.0], "generate": [256.0, 256.0], "rate": [4.0, 4.0]},
        "residuals": {"tpot": [0.0]}}))
    return tmp_path


def test_language_page_has_examples():
    examples = language_examples()
    assert len(examples) >= 15
    whole = [e for e in examples if {"model", "cluster", "workload", "strategy"} <= _statement_kinds(e)]
    assert whole, "docs/language.md shows no whole plan"


@pytest.mark.parametrize("index", range(len(language_examples())))
def test_language_example_loads(index, example_dir):
    """Each `moe` block of docs/language.md loads with `dagc.load_plan_text` — a whole plan as written, a
    fragment completed from the base plan — and its strategies flatten without a diagnostic."""
    from dagc import load_plan_text
    from dagc.lang.flatten import flatten
    text = language_examples()[index]
    plan = load_plan_text(_completed(text), base_dir=example_dir)
    for decl in plan.strategies:
        strategy, diags = flatten(decl)
        assert strategy is not None and not diags, (decl.text, [d.message for d in diags])


def test_whole_plans_of_the_language_page_are_valid(example_dir):
    from dagc.lang.load import load_plan_text
    from dagc.verdict.check import check
    for text in language_examples():
        if {"model", "cluster", "workload", "strategy"} <= _statement_kinds(text):
            for r in check(load_plan_text(text, base_dir=example_dir)):
                assert r.valid, [d.message for d in r.diagnostics]


def _grammar_keywords() -> set[str]:
    """The keywords of grammar/plan.lark: its anonymous string terminals that are words."""
    parser = Lark((ROOT / "grammar" / "plan.lark").read_text(), parser="lalr")
    return {t.pattern.value for t in parser.terminals
            if t.pattern.type == "str" and re.fullmatch(r"[a-z]+", t.pattern.value)}


def language_names() -> dict[str, set[str]]:
    """Every name of the plan language, by where it comes from in the code."""
    from dagc.lang import fields
    from dagc.lang.cluster import CLUSTER_BLOCK_FIELDS
    from dagc.lang.flatten import OPTIONS
    from dagc.plan.model import DType
    from dagc.plan.objective import OBJECTIVES
    from dagc.plan.presets import GPU_PRESETS, MODEL_PRESETS
    from dagc.plan.strategy import Axis
    from dagc.plan.workload import RequirementKind
    from dagc.units import UNITS
    choices = {c for table in (fields.MODEL_FIELDS, fields.WORKLOAD_FIELDS) for f in table.values() for c in f.choices}
    return {
        "keywords": _grammar_keywords(),
        "model": set(fields.MODEL_FIELDS) | set(fields.SUBBLOCKS["model"]),
        "moe": set(fields.MOE_FIELDS), "mla": set(fields.MLA_FIELDS),
        "cluster": set(CLUSTER_BLOCK_FIELDS) | set(fields.SUBBLOCKS["cluster"]),
        "gpu": set(fields.GPU_FIELDS), "efficiency": set(fields.EFFICIENCY_FIELDS),
        "latency": set(fields.LATENCY_FIELDS), "workload": set(fields.WORKLOAD_FIELDS),
        "require": {k.value for k in RequirementKind}, "objective": set(OBJECTIVES),
        "options": set(OPTIONS), "axes": {a.value for a in Axis}, "dtypes": {d.value for d in DType},
        "choices": choices | {"random", "uniform", "imbalance", "max", "true", "false"},
        "units": set(UNITS), "model presets": set(MODEL_PRESETS), "gpu presets": set(GPU_PRESETS),
    }


def test_language_page_documents_every_name():
    """Every keyword of the grammar and every field, requirement, objective, option, axis, dtype,
    value and unit the lowering accepts appears in docs/language.md as code (`name`)."""
    text = (DOCS / "language.md").read_text()
    spans = set(re.findall(r"`([^`\n]+)`", text))
    words = {w for s in spans for w in re.split(r"[\s=|{}\"(),]+", s) if w}
    missing = {where: sorted(n for n in names if n not in words) for where, names in language_names().items()}
    assert not {k: v for k, v in missing.items() if v}, missing


def test_language_page_has_a_row_per_field():
    """Each field of a block has its own table row (`| \\`name\\` |`), with a default column."""
    from dagc.lang import fields
    from dagc.lang.cluster import CLUSTER_BLOCK_FIELDS
    text = (DOCS / "language.md").read_text()
    tables = (fields.MODEL_FIELDS, fields.MOE_FIELDS, fields.MLA_FIELDS, CLUSTER_BLOCK_FIELDS, fields.GPU_FIELDS,
              fields.EFFICIENCY_FIELDS, fields.LATENCY_FIELDS, fields.WORKLOAD_FIELDS)
    missing = [name for table in tables for name in table if f"| `{name}` |" not in text]
    assert not missing, missing


# ---------------------------------------------------------------- docs/outputs.md: every key dagc emits


def _paths(x, path: str = "", out: set[str] | None = None) -> set[str]:
    """Every key path of a JSON value: `a.b`, lists as `a[]`."""
    out = set() if out is None else out
    if isinstance(x, dict):
        for k, v in x.items():
            sub = f"{path}.{k}" if path else k
            out.add(sub)
            _paths(v, sub, out)
    elif isinstance(x, list):
        for v in x:
            _paths(v, path + "[]", out)
    return out


def _small_variants() -> dict[str, str]:
    """The small fixture plan, and variants that make report.json take its other shapes: batch = max, a
    GPU without a profile (roofline), a GPU that borrows a profile, an invalid strategy, several strategies."""
    small = (ROOT / "tests" / "fixtures" / "small.moe").read_text()
    return {
        "small": small,
        "max": small.replace("batch = 8", "batch = max"),
        "roofline": small.replace('gpu preset "h100-sxm"', 'gpu preset "generic-400t"')
                         .replace("require { ttft <= 10 ms  tpot <= 150 us }",
                                  "require { decode_throughput >= 1 tokens/s/gpu  memory <= 90 % }"),
        "borrowed": small.replace('gpu preset "h100-sxm"', 'gpu preset "a100-80g"'),
        "several": small.replace("strategy pp 2 < tp 2 ; ep 2 >",
                                 "strategy a = pp 2 < tp 2 ; ep 2 >\nstrategy b = tp 3"),
    }


@pytest.fixture(scope="module")
def compiled_reports(tmp_path_factory) -> dict[str, list[dict]]:
    """report.json of each variant as `compile` writes it (with the strategy search, for the optimal
    evidence), and the search objects."""
    from dagc.export.compile import CompileOptions, compile_results
    from dagc.lang.load import load_plan_text
    from dagc.search.search import search
    from dagc.verdict.check import check
    out: dict[str, list[dict]] = {"report": [], "search": [], "files": []}
    for name, text in _small_variants().items():
        plan = load_plan_text(text, name=f"{name}.moe")
        found = search(plan, objective=plan.objective, top=5, jobs=1)
        directory = tmp_path_factory.mktemp(name) / "out"
        compile_results(plan, check(plan, optimality=found), directory, CompileOptions(dot_timeout_s=20))
        out["report"] += [json.loads(p.read_text()) for p in sorted(directory.rglob("report.json"))]
        out["files"] += [p.name for p in directory.rglob("*") if p.is_file()]
        out["search"].append(json.loads(json.dumps(search_json(found, 5))))
    return out


def _documented_code(page: str) -> set[str]:
    return set(re.findall(r"`([^`\n]+)`", (DOCS / page).read_text()))


def test_every_report_key_is_documented(compiled_reports):
    """Every key path of every report.json the variants compile to is in docs/outputs.md, as code."""
    paths = set().union(*(_paths(r) for r in compiled_reports["report"]))
    assert {"verdict.optimal_evidence.best_strategy", "cost_model.hbm_efficiency", "cost_model.note"} <= paths
    documented = _documented_code("outputs.md")
    missing = sorted(p for p in paths if p not in documented and not p.endswith("[]"))
    assert not missing, f"report.json keys not documented in docs/outputs.md: {missing}"


def test_every_search_key_is_documented(compiled_reports):
    paths = set().union(*(_paths(s) for s in compiled_reports["search"]))
    documented = _documented_code("outputs.md")
    metrics = {p for p in paths if p.startswith(("candidates[].metrics.", "pareto[].metrics."))}
    missing = sorted(p for p in paths - metrics
                     if not p.startswith("pareto[].") and p not in documented)
    assert not missing, f"search JSON keys not documented in docs/outputs.md: {missing}"


def test_every_output_file_is_documented(compiled_reports):
    from dagc.export.output_dir import OUTPUT_FILES
    documented = _documented_code("outputs.md")
    written = set(compiled_reports["files"])
    assert {"report.json", "report.md", "dag.json", "trace.json", "placement.svg"} <= written
    missing = sorted(f for f in (written | OUTPUT_FILES) if f not in documented)
    assert not missing, missing


# ---------------------------------------------------------------- docs/cost-model.md: every constant


def _si(value: float, unit: str) -> str:
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "µ")):
        if unit in ("B/s", "s") and abs(value) >= factor:
            return f"{value / factor:g} {prefix}{unit}"
    return f"{value:g} {unit}"


def _gib(value: float) -> str:
    return f"{value / 2**30:g} GiB"


def cost_constants() -> list[tuple[str, str, str, str]]:
    """(constant, value, where in the code, plan field that overrides it) for every named constant
    the cost model, the memory model and the verdicts read."""
    from dagc.ir.op_shapes import ALIGN_ROWS, REFERENCE
    from dagc.kernels import series, tables as kernel_tables
    from dagc.kernels.kernels import builtin_profile, profile_names
    from dagc.layout import routing, shards
    from dagc.plan import cluster
    from dagc.plan.model import DType
    from dagc.plan.presets import GPU_PRESETS
    from dagc.verdict import optimal
    generic = GPU_PRESETS["generic-400t"]
    rows = [
        ("network efficiency", f"{cluster.DEFAULT_NETWORK_EFFICIENCY:g}",
         "`dagc.plan.cluster.DEFAULT_NETWORK_EFFICIENCY`", "`efficiency { network }`"),
        ("latency inside a node (α)", _si(cluster.DEFAULT_INTRA_LATENCY_S, "s"),
         "`dagc.plan.cluster.DEFAULT_INTRA_LATENCY_S`", "`latency { intra }`"),
        ("latency across nodes (α)", _si(cluster.DEFAULT_INTER_LATENCY_S, "s"),
         "`dagc.plan.cluster.DEFAULT_INTER_LATENCY_S`", "`latency { inter }`"),
        ("network bandwidth per GPU, one direction", _si(cluster.DEFAULT_INTER_NODE_BYTES_PER_S, "B/s"),
         "`dagc.plan.cluster.DEFAULT_INTER_NODE_BYTES_PER_S`", "`inter_node`"),
        ("NVLink bandwidth of a custom GPU", _si(cluster.Gpu.model_fields["intra_node_bytes_per_s"].default, "B/s"),
         "`dagc.plan.cluster.Gpu.intra_node_bytes_per_s`", "`gpu \"…\" { intra_node }`, `intra_node`"),
        ("MI300X's Infinity Fabric link to each other GPU, one direction (a node that is a full mesh)",
         _si(GPU_PRESETS["mi300x"].mesh_link_bytes_per_s, "B/s"), "`dagc.plan.cluster.Gpu.mesh_link_bytes_per_s` "
         "(`mi300x`)", "none (`intra_node` caps it)"),
        ("GPUs per node", f"{cluster.DEFAULT_GPUS_PER_NODE}", "`dagc.plan.cluster.DEFAULT_GPUS_PER_NODE`",
         "`gpus_per_node`"),
        ("runtime reserve per GPU", _gib(cluster.DEFAULT_RESERVE_BYTES), "`dagc.plan.cluster.DEFAULT_RESERVE_BYTES`",
         "`reserve`"),
        ("HBM efficiency of a GPU without a profile that states none", f"{cluster.DEFAULT_HBM_EFFICIENCY:g}",
         "`dagc.plan.cluster.DEFAULT_HBM_EFFICIENCY`", "`efficiency { hbm }`"),
        ("compute efficiency default (not read by the cost model: `generic-400t` states its own)",
         f"{cluster.DEFAULT_COMPUTE_EFFICIENCY:g}", "`dagc.plan.cluster.DEFAULT_COMPUTE_EFFICIENCY`",
         "`efficiency { compute }`"),
        ("`generic-400t` compute / HBM efficiency", f"{generic.compute_efficiency:g} / {generic.hbm_efficiency:g}",
         "`dagc.plan.presets.GPU_PRESETS`", "`efficiency { compute  hbm }`"),
    ]
    for name in profile_names():
        p = builtin_profile(name)
        rows.append((f"per-kernel floor, `{name}` profile", _si(p.floor_s, "s"), "profile `floor.kernel_s`",
                     "`kernels from \"…\"` (your own profile)"))
        rows.append((f"eager launch time, `{name}` profile", _si(p.eager_floor_s, "s"), "profile (eager launches)",
                     "`kernels from \"…\"`"))
    rows += [
        ("measured shapes blended for an unmeasured shape", f"{kernel_tables._NEIGHBOURS}",
         "`dagc.kernels.tables._NEIGHBOURS`", "—"),
        ("rows per expert padded to a multiple of", f"{ALIGN_ROWS}", "`dagc.ir.op_shapes.ALIGN_ROWS`", "—"),
        ("EP ranks from which a group across attention-DP ranks runs DeepEP's MoE kernels (SGLang "
         "`--moe-a2a-backend deepep`, vLLM `--all2all-backend deepep_*`; kernels.md)", f"{series.WIDE_EP_MIN_RANKS}",
         "`dagc.kernels.series.WIDE_EP_MIN_RANKS`", "—"),
        ("tokens a rank dispatches under DeepEP's low-latency kernels, at most (SGLang's default "
         "`SGLANG_DEEPEP_NUM_MAX_DISPATCH_TOKENS_PER_RANK`, python/sglang/srt/environ.py)",
         f"{series.DEEPEP_LL_MAX_TOKENS_PER_RANK}", "`dagc.kernels.series.DEEPEP_LL_MAX_TOKENS_PER_RANK`", "—"),
        ("matrices of a routed expert in an MoE layer's roofline past its measured tokens (gate, up, down: SwiGLU)",
         f"{series.MOE_MATRICES}", "`dagc.kernels.series.MOE_MATRICES`", "—"),
        ("bytes per activation value (bf16)", f"{shards.ACTIVATION_BYTES:g}", "`dagc.layout.shards.ACTIVATION_BYTES`",
         "—"),
        ("routing = random: token-expert assignments computed exactly up to", f"{routing._EXACT_ASSIGNMENTS:,}",
         "`dagc.layout.routing._EXACT_ASSIGNMENTS`", "`routing = uniform`, `routing = imbalance X`"),
        ("routing = random: loads beyond mean ± this many σ dropped", f"{routing._TAIL_SIGMAS:g}",
         "`dagc.layout.routing._TAIL_SIGMAS`", "—"),
        ("optimal: within this share of the best", f"{optimal.OPTIMAL_TOLERANCE:g}",
         "`dagc.verdict.optimal.OPTIMAL_TOLERANCE`", "—"),
    ]
    rows += [(f"kernel launches of `{step}` (reference implementation)", f"{n}", "`dagc.ir.op_shapes.REFERENCE`", "—")
             for step, n in REFERENCE.items()]
    rows += engine_constants()
    rows += step_budget_constants()
    rows += output_reserve_constants()
    rows += expert_padding_constants()
    rows += [(f"bytes per value, `{d.value}`", f"{d.bytes:g}", "`dagc.plan.model.DType.bytes`",
              "`weights`, `kv_cache`, `dispatch`") for d in DType]
    return rows


def engine_constants() -> list[tuple[str, str, str, str]]:
    """The serving engines' terms (docs/cost-model.md, "The engine"): each engine's host time per step (and per
    layer, where it has one), front end per request, CUDA-graph sizes and glue launches, where `dagc.plan.engines`
    names them."""
    from dagc.plan import engines
    rows = []
    for name, upper in (("vllm", "VLLM"), ("sglang", "SGLANG"), ("trtllm", "TRTLLM")):
        terms = engines.ENGINE_TERMS[name]
        sizes = terms.graph_sizes
        rows += [
            (f"host time per step, `{name}`", _si(terms.step_s, "s"), f"`dagc.plan.engines.{upper}_STEP_S`",
             f"`engine = {name}`"),
            (f"host time per request of a step, `{name}`", _si(terms.step_request_s, "s"),
             f"`dagc.plan.engines.{upper}_STEP_REQUEST_S`", f"`engine = {name}`"),
            (f"front end per request, `{name}`", _si(terms.frontend_s, "s"), f"`dagc.plan.engines.{upper}_FRONTEND_S`",
             f"`engine = {name}`"),
        ]
        if terms.layer_s:
            rows.append((f"time per layer of a step, `{name}`", _si(terms.layer_s, "s"),
                         f"`dagc.plan.engines.{upper}_LAYER_S`", f"`engine = {name}`"))
        if terms.blackwell_memory_time_scale != 1.0:
            rows.append((f"memory-bound time on a Blackwell GPU, `{name}`", f"{terms.blackwell_memory_time_scale:g}×",
                         f"`dagc.plan.engines.{upper}_BLACKWELL_MEMORY_TIME_SCALE`",
                         f"`engine = {name}` on b200, b300, gb200, gb300"))
        if terms.hopper_expert_time_scale != 1.0:
            rows.append((f"routed experts' grouped GEMM time on a Hopper GPU, `{name}`",
                         f"{terms.hopper_expert_time_scale:g}×",
                         f"`dagc.plan.engines.{upper}_HOPPER_EXPERT_TIME_SCALE`",
                         f"`engine = {name}` (from 1.0) on h100-*, h200, h800"))
        if terms.blackwell_expert_time_scale != 1.0:
            rows.append((f"routed experts' grouped GEMM time on a Blackwell GPU, `{name}`",
                         f"{terms.blackwell_expert_time_scale:g}×",
                         f"`dagc.plan.engines.{upper}_BLACKWELL_EXPERT_TIME_SCALE`",
                         f"`engine = {name}` (from {'.'.join(map(str, engines.TRTLLM_EXPERTS_UNTIL))}) on b200, b300, "
                         "gb200, gb300" if name == "trtllm" else f"`engine = {name}` on b200, b300, gb200, gb300"))
        if name == "trtllm":
            before = ".".join(map(str, engines.TRTLLM_EXPERTS_UNTIL))
            rows.append((f"routed experts' grouped GEMM time on a Blackwell GPU before {before}, `{name}` (fitted on "
                         "the calibration half's 1.1 runs, `python bench/fit_engine_terms.py --engine trtllm "
                         "--blackwell`: the performance overview's 1.1 edition on B200 and GB200)",
                         f"{engines.TRTLLM_BLACKWELL_EXPERT_TIME_SCALE_BEFORE:g}×",
                         "`dagc.plan.engines.TRTLLM_BLACKWELL_EXPERT_TIME_SCALE_BEFORE`",
                         f"`engine = {name}@1.0` to `@1.1` on b200, b300, gb200, gb300"))
            until = ".".join(map(str, engines.TRTLLM_TRITON_UNTIL))
            rows.append((f"front end per request before {until}, behind Triton Inference Server's ensemble or BLS "
                         f"model, `{name}` (fitted on the calibration half, `python bench/fit_triton_frontend.py`: "
                         "Llama-3.1-8B's TensorRT-LLM 0.20 engine behind Triton's ensemble model at 1 to 128 clients)",
                         _si(engines.TRTLLM_TRITON_FRONTEND_S, "s"), "`dagc.plan.engines.TRTLLM_TRITON_FRONTEND_S`",
                         f"`engine = {name}@0.5` to `@0.21`"))
            if terms.ep_all_gather:
                rows.append(("EP exchange on attention-DP ranks: an all-gather and a reduce-scatter (every token to "
                             "every EP rank) but an EP group above the top-k on a multi-node NVLink domain, "
                             f"`{name}`",
                             "yes", "`dagc.plan.engines.TRTLLM_EP_ALL_GATHER`", f"`engine = {name}`"))
            before = ".".join(map(str, engines.TRTLLM_XQA_FROM))
            rows.append((f"decode attention reads each KV head's cache once per query head of its group, `{name}`",
                         f"before {before}", "`dagc.plan.engines.TRTLLM_XQA_FROM`",
                         f"`engine = {name}@0.5` to `@0.7`"))
        rows += [
            (f"CUDA-graph decode sizes, `{name}`",
             f"{len(sizes)} from {sizes[0]} to {sizes[-1]}" + (", padded" if terms.graph_padding else ", not padded")
             + (", mixed steps too" if terms.mixed_graphs else ""),
             f"`dagc.plan.engines.{upper}_GRAPH_SIZES`", f"`engine = {name}`"),
            (f"glue launches, `{name}`", ", ".join(f"{step} {n}" for step, n in terms.glue.items()),
             "`dagc.plan.engines.ENGINE_GLUE`", f"`engine = {name}`"),
        ]
    return rows


def step_budget_constants() -> list[tuple[str, str, str, str]]:
    """The engines' token budget per step, a plan's `chunk` when it writes none (docs/cost-model.md, "The engines'
    step budgets"), where `dagc.plan.step_budget` names them."""
    from dagc.plan import step_budget as b
    at = "`dagc.plan.step_budget."
    rows = [("`chunk` unwritten, `vllm` (API server) on a GPU of at least "
             f"{b.VLLM_LARGE_GPU_BYTES / 2**30:g} GiB not named A100", f"{b.VLLM_API_CHUNK_LARGE}",
             f"{at}VLLM_API_CHUNK_LARGE`", "`chunk`"),
            ("`chunk` unwritten, `vllm` (API server) on an A100 or a smaller GPU", f"{b.VLLM_API_CHUNK_SMALL}",
             f"{at}VLLM_API_CHUNK_SMALL`", "`chunk`")]
    rows += [(f"`chunk` unwritten, `sglang` on a GPU under {below / 2**30:g} GiB", f"{chunk}",
              f"{at}SGLANG_CHUNK_BY_MEMORY`", "`chunk`") for below, chunk in b.SGLANG_CHUNK_BY_MEMORY]
    return [*rows, ("`chunk` unwritten, `sglang` on a larger GPU", f"{b.SGLANG_CHUNK_LARGEST}",
                    f"{at}SGLANG_CHUNK_LARGEST`", "`chunk`"),
            ("`chunk` unwritten, `trtllm` and `pytorch`", f"{b.TRTLLM_MAX_NUM_TOKENS}", f"{at}TRTLLM_MAX_NUM_TOKENS`",
             "`chunk`")]


def output_reserve_constants() -> list[tuple[str, str, str, str]]:
    """SGLang's reservation of running requests' output at admission (docs/cost-model.md, "SGLang's admission"),
    where `dagc.plan.output_reserve` names them."""
    from dagc.plan import output_reserve as o
    where = "`dagc.plan.output_reserve.{}`".format
    on = "`engine = sglang`"
    return [
        ("share of a running request's output to come reserved at admission, at the start (`new_token_ratio`)",
         f"{o.SGLANG_NEW_TOKEN_RATIO_INIT:g}", where("SGLANG_NEW_TOKEN_RATIO_INIT"), on),
        ("… its floor, of the start", f"{o.SGLANG_NEW_TOKEN_RATIO_FLOOR_FACTOR:g}×",
         where("SGLANG_NEW_TOKEN_RATIO_FLOOR_FACTOR"), on),
        ("… decode steps from the start to the floor", f"{o.SGLANG_NEW_TOKEN_RATIO_DECAY_STEPS}",
         where("SGLANG_NEW_TOKEN_RATIO_DECAY_STEPS"), on),
        ("… the start and floor with attention DP", f"{o.SGLANG_DP_ATTENTION_CONSERVATIVENESS:g}×",
         where("SGLANG_DP_ATTENTION_CONSERVATIVENESS"), f"{on} with attention DP"),
        ("output tokens a request counts at most (`max_new_tokens` clipped)", f"{o.SGLANG_CLIP_MAX_NEW_TOKENS}",
         where("SGLANG_CLIP_MAX_NEW_TOKENS"), on),
        ("decode steps per request a retraction's ratio adds", f"{o.SGLANG_RETRACT_DECODE_STEPS}",
         where("SGLANG_RETRACT_DECODE_STEPS"), on),
    ]


def expert_padding_constants() -> list[tuple[str, str, str, str]]:
    """How vLLM pads mxfp4 routed experts to its MoE kernels' tiles (docs/cost-model.md, "MXFP4 experts as vLLM
    holds them"), where `dagc.plan.expert_padding` names them."""
    from dagc.plan import expert_padding as p
    where = "`dagc.plan.expert_padding.{}`".format
    hopper = "h100-*, h200, h800, h20"
    return [
        ("mxfp4 experts' intermediate size on a rank padded to a multiple of, vLLM's Marlin",
         f"{p.VLLM_MARLIN_FFN_ALIGN}", where("VLLM_MARLIN_FFN_ALIGN"),
         f"`engine = vllm` on a100-80g; on {hopper} before 0.11.1"),
        ("mxfp4 experts' hidden size padded to a multiple of, vLLM's Marlin", f"{p.VLLM_MARLIN_HIDDEN_ALIGN}",
         where("VLLM_MARLIN_HIDDEN_ALIGN"), f"`engine = vllm` on a100-80g; on {hopper} before 0.11.1"),
        ("mxfp4 experts' intermediate size on a rank padded to a multiple of, vLLM's Triton kernels",
         f"{p.VLLM_TRITON_FFN_ALIGN}", where("VLLM_TRITON_FFN_ALIGN"), f"`engine = vllm` on {hopper}"),
        ("mxfp4 experts' block scales held, vLLM's Triton kernels", f"{p.VLLM_TRITON_SCALE_COPIES} copies",
         where("VLLM_TRITON_SCALE_COPIES"), f"`engine = vllm` on {hopper}"),
        ("vLLM's first release running mxfp4 experts in the Triton kernels on Hopper",
         ".".join(map(str, p.VLLM_TRITON_FROM)), where("VLLM_TRITON_FROM"), "`engine = vllm@…`"),
        ("mxfp4 experts' intermediate size on a rank padded to a multiple of, vLLM's TensorRT-LLM-Gen MoE",
         f"{p.VLLM_TRTLLM_FFN_ALIGN}", where("VLLM_TRTLLM_FFN_ALIGN"), "`engine = vllm` on b200, b300, gb200, gb300"),
        ("mxfp4 experts' hidden size padded to a multiple of, vLLM's TensorRT-LLM-Gen MoE",
         f"{p.VLLM_TRTLLM_HIDDEN_ALIGN}", where("VLLM_TRTLLM_HIDDEN_ALIGN"),
         "`engine = vllm` on b200, b300, gb200, gb300"),
    ]


def cost_constants_markdown() -> str:
    lines = ["| constant | value | in the code | override |", "|---|---|---|---|"]
    lines += [f"| {c} | {v} | {where} | {override} |" for c, v, where, override in cost_constants()]
    return "\n".join(lines) + "\n"


def test_cost_model_constants_are_the_code(request):
    _check_section(request, DOCS / "cost-model.md", "constants", cost_constants_markdown())


def test_every_overridable_constant_is_on_the_cost_model_page():
    """Every field of `CostModel` (the constants a plan overrides) and every `DEFAULT_*` of the plan's IR
    (dagc.plan.cluster, dagc.plan.plan) is named on docs/cost-model.md."""
    import dataclasses

    from dagc.cost.cost_model import CostModel
    from dagc.plan import cluster, plan
    text = (DOCS / "cost-model.md").read_text()
    defaults = [n for m in (cluster, plan) for n in dir(m)
                if n.startswith("DEFAULT_") and n != "DEFAULT_OBJECTIVE"]   # language.md's
    names = [f.name for f in dataclasses.fields(CostModel)] + defaults
    missing = [n for n in names if f"`{n}`" not in text and f"{n}`" not in text]
    assert not missing, missing


# ---------------------------------------------------------------- links stay inside the repository

_LINK = re.compile(r"\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_EXTERNAL = ("http://", "https://", "mailto:")


def _pages() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


def _outside_code(text: str) -> str:
    """The text without fenced code blocks and inline code, where `[a](b)` is not a link."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    return re.sub(r"`[^`\n]*`", "", text)


def test_every_relative_link_points_to_a_file_in_the_repo():
    """Every link of README.md and docs/*.md is a web address, an anchor, or a path to a file or directory
    that exists inside the repository (no link leaves it, e.g. to ../shared/)."""
    root = ROOT.resolve()
    bad = []
    for page in _pages():
        for target in _LINK.findall(_outside_code(page.read_text())):
            if target.startswith(_EXTERNAL) or target.startswith("#"):
                continue
            path = (page.parent / target.split("#", 1)[0]).resolve()
            if not path.is_relative_to(root) or not path.exists():
                bad.append(f"{page.relative_to(ROOT)}: {target}")
    assert not bad, bad


_OUTSIDE_REFERENCE = re.compile(r"SPEC \d|\.\./shared|issue \d", re.I)


def _cli_help_texts() -> list[str]:
    from dagc.cli.parser import build_parser
    texts, parsers = [], [build_parser()]
    while parsers:
        parser = parsers.pop()
        texts.append(parser.format_help())
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                parsers.extend(action.choices.values())
    return texts


def test_no_reference_to_documents_outside_the_repo():
    """Users read docs/, README.md, the rule texts (`dagc explain`, docs/rules.md), the grammar and the
    command's help: none cites a section of a document they do not have ("SPEC 6.2", "issue 8") or a
    file outside the repository ("../shared/…"); each names the docs page that holds the content."""
    from dagc.rules import RULES
    texts = {str(page.relative_to(ROOT)): page.read_text() for page in _pages()}
    texts.update({f"rule {r.code}": f"{r.title}\n{r.doc}" for r in RULES})
    texts["grammar/plan.lark"] = (ROOT / "grammar" / "plan.lark").read_text()
    texts.update({f"help {i}": text for i, text in enumerate(_cli_help_texts())})
    bad = [f"{name}: {line.strip()}" for name, text in texts.items() for line in text.splitlines()
           if _OUTSIDE_REFERENCE.search(line)]
    assert not bad, bad


def test_readme_names_no_file_outside_the_repo():
    """README.md sends users to no file outside the repository, as a link or as text (`../shared/SPEC.md`)."""
    text = (ROOT / "README.md").read_text()
    assert "../" not in text, [line for line in text.splitlines() if "../" in line]


def test_readme_lists_the_docs_pages():
    """README.md's Documentation section links every page of docs/ written for users."""
    text = (ROOT / "README.md").read_text()
    section = text.partition("## Documentation")[2].partition("\n## ")[0]
    missing = [page.name for page in sorted(DOCS.glob("*.md")) if f"(docs/{page.name})" not in section]
    assert not missing, missing         # docs/security.md was left out: what dagc trusts, how to report a problem


def test_language_page_preset_tables_are_the_presets():
    """The built-in model, context-length and GPU tables of docs/language.md state the presets' own figures."""
    from dagc.plan.presets import GPU_PRESETS, MODEL_PRESETS
    rows: dict[str, list[str]] = {}
    for line in (DOCS / "language.md").read_text().splitlines():
        if line.startswith("| `"):
            rows.setdefault(line.split("|")[1].strip(), []).append(line)
    for name, f in MODEL_PRESETS.items():
        moe = f["moe"]
        dimensions, context = ([c.strip() for c in row.split("|")[2:]] for row in rows[f"`{name}`"])
        assert dimensions[:2] == [str(f["layers"]), str(f["hidden"])], name
        assert dimensions[4] == str(f["vocab"]) and dimensions[5] == f"{moe['experts']} / {moe['top_k']}", name
        assert dimensions[6] == str(moe["ffn"]), name
        assert context[0] == f"{f['context_length']:,}", name
    for name, g in GPU_PRESETS.items():
        (row,) = rows[f"`{name}`"]
        memory = row.split("|")[2].strip()
        mib = g.memory_bytes / 2**20
        assert memory in (f"{mib:,.0f} MiB", f"{g.memory_bytes / 1e9:g} GB"), (name, memory)


def test_readmes_code_layout_is_the_layers_contract():
    """README.md's "Layout of the code" names every sub-package of dagc/ in the order of pyproject.toml's
    import-linter layers (the lowest first), as "a stage imports only the stages before it" promises; it once
    left out calibrate/, fleet/ and drive/ and put search/ before launch/, which search/ imports."""
    import tomllib
    contract = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layers = next(c for c in contract if c["id"] == "pipeline")["layers"]
    packages = sorted(p.parent.name for p in (ROOT / "dagc").glob("*/__init__.py"))
    expected = [name.removeprefix("dagc.") for name in reversed(layers) if name.removeprefix("dagc.") in packages]
    assert sorted(expected) == packages, (expected, packages)
    section = (ROOT / "README.md").read_text().partition("## Layout of the code")[2].partition("\n## ")[0]
    chain = section.partition("in the pipeline's order:")[2].partition("A stage imports only")[0]
    assert re.findall(r"`(\w+)/`", chain) == expected


def test_readme_says_what_each_axis_is_before_using_them_in_a_formula():
    """A first-time reader meets `pp 4 < ep 16 ; tp 2 >` in the README's first lines and `G = max(tp·cp, ep·etp)`
    in its plan section: before that formula the section names every axis of the grammar with what it splits
    (`` `cp N` context ``, `` `etp N` expert tensor ``), and links docs/language.md's table of axes."""
    from dagc.plan.strategy import Axis
    section = (ROOT / "README.md").read_text().partition("## The plan language")[2].partition("GPUs used = dp")[0]
    undefined = [a.value for a in Axis if not re.search(rf"`{a.value}( N)?` \w", section)]
    assert not undefined, undefined
    assert "(docs/language.md#axes)" in section


def test_readme_spells_out_ttft_and_tpot_where_it_first_uses_them():
    """The README's first lines promise TTFT and TPOT; a reader new to serving is told there what they are, and
    what ITL is where the load's percentiles first name it."""
    text = (ROOT / "README.md").read_text()
    for short, long in (("TTFT", "(time to first token"), ("TPOT", "(time per output token"),
                        ("ITL", "(inter-token latency")):
        first = text.index(short) + len(short)
        assert text[first:].lstrip().startswith(long), (short, text[first:first + 40])


def test_readmes_first_paragraph_names_the_three_verdicts():
    """The README's next section says report.html "opens with the three answers"; its first paragraph names all three
    (it named two: correct and meets the requirements, not optimal)."""
    intro = (ROOT / "README.md").read_text().partition("\n## ")[0]
    assert all(f"**{verdict}" in intro for verdict in ("correct", "meets your requirements", "optimal")), intro


def test_readmes_dag_size_is_the_bench_ladders():
    """The README's DAG size of DeepSeek-V3 with 16 micro-batches is what `bench/bench_check.py` builds on each
    rung it names, and the same on each (its point: the size follows the strategy's stage, not the GPU count); it
    once named the 16-GPU rung, whose `ep 4` stage has 35,280 nodes, beside the 40,848 of the `ep 32` ones."""
    import importlib.util

    from dagc.lang.load import load_plan_text
    from dagc.verdict.check import check
    text = " ".join((ROOT / "README.md").read_text().split())
    m = re.search(r"DeepSeek-V3 with 16 micro-batches[^:]*: (\d[\d, ]*) nodes on ([\d,]+) or on ([\d,]+) GPUs", text)
    assert m, "the README no longer states the DAG's size"
    spec = importlib.util.spec_from_file_location("bench_check", ROOT / "bench" / "bench_check.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    for gpus in (int(m[2].replace(",", "")), int(m[3].replace(",", ""))):
        (rung,) = [r for r in bench.LADDER if "deepseek" in r[0] and r[2] == gpus]
        (result,) = check(load_plan_text(bench.plan_text(*rung[1:])))
        assert result.dag is not None and len(result.dag) == int(re.sub(r"[, ]", "", m[1])), (rung, len(result.dag))


def test_exit_code_3_is_documented_for_the_engines_refusals_too(tmp_path):
    """A plan whose engine cannot start its strategy (E7xx, which `dagc check` applies as errors) exits 3 like a rule
    error, and `dagc search` exits 3 on a plan whose engine starts none of its strategies (E706): README.md and
    docs/limits.md and docs/cli.md say so (they named E2xx–E4xx alone, and search's 0, 4 and 5)."""
    from conftest import run_dagc
    head = 'model preset "mixtral-8x7b"\ncluster { gpus = 8  gpu preset "h100-sxm"  engine = vllm }\n'
    (tmp_path / "e702.moe").write_text(head + "workload { batch = 64  prompt = 2048  generate = 256 }\n"
                                       "strategy tp 8 ; ep 4 etp 2\n")
    proc = run_dagc("check", str(tmp_path / "e702.moe"), "--no-search")
    assert proc.returncode == 3 and "error[E702]" in proc.stdout + proc.stderr
    (tmp_path / "e706.moe").write_text(head + "workload { batch = 64  prompt = 2048  generate = 256  serving = "
                                       "inflight\n  speculative { method = mtp  tokens = 1  acceptance = 0.8 } }\n")
    proc = run_dagc("search", str(tmp_path / "e706.moe"))
    assert proc.returncode == 3 and "error[E706]" in proc.stdout + proc.stderr
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert re.search(r"`3` plan invalid \([^)]*E7xx", readme)
    limits = (DOCS / "limits.md").read_text()
    for page in ("limits.md", "cli.md"):
        (row,) = [line for line in (DOCS / page).read_text().splitlines() if line.startswith("| 3 |")]
        assert "E7xx" in row, (page, row)
    search_line = " ".join(limits.partition("`dagc search` exits 0")[2].partition("\n\n")[0].split())
    from dagc.launch.engine_check import PLAN_CODES
    assert "3 when" in search_line and all(code in search_line for code in PLAN_CODES), search_line


def test_language_pages_units_table_has_every_unit():
    """docs/language.md's table of units ("## Units") lists every unit the language reads, each in the row of its
    dimension (the arrival rate's `requests/s`, which `rate` and `goodput` take, had no row)."""
    from dagc.units import UNITS, Dimension
    section = (DOCS / "language.md").read_text().partition("\n## Units")[2].partition("\n### ")[0]
    rows = [line.split("|") for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    listed = {unit: row[1].strip() for row in rows[1:] for unit in re.findall(r"`([^`]+)`", row[2])}
    missing = sorted(name for name in UNITS if name not in listed)
    assert not missing, missing
    wrong = [(name, listed[name]) for name, unit in UNITS.items()
             if listed[name] not in Dimension(unit.dimension).value]
    assert not wrong, wrong


def test_readme_says_which_commands_take_requests_out():
    """The README's sentence naming `--requests-out` names the commands that take it; it stood in a sentence about
    `dagc search --rate`, which refuses it, and named no command of its own."""
    from dagc.cli.parser import build_parser
    commands = []
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            commands = [name for name, sub in action.choices.items()
                        if any("--requests-out" in a.option_strings for a in sub._actions)]
    text = " ".join((ROOT / "README.md").read_text().split())
    sentence = next(s for s in re.split(r"(?<=\.) (?=[A-Z`*])", text) if "`--requests-out" in s)
    assert commands and all(f"dagc {c}" in sentence for c in commands), (commands, sentence)


def test_readmes_benchmark_options_are_the_scripts_they_name():
    """Each option the README's Benchmarks section names (`--serving both`, `--vary-batch`) stands in a sentence
    naming a script of bench/ that takes it: `--serving both` was given to "the two scripts below" in bench_cli.py's
    sentence (bench_check.py is above, and bench_instructions.py below takes none), and `--vary-batch`, bench_search's,
    followed bench_instructions.py's sentence."""
    section = " ".join((ROOT / "README.md").read_text().partition("## Benchmarks")[2].partition("\n## ")[0].split())
    wrong = []
    for sentence in re.split(r"(?<=[.)]) (?=[A-Z`(])", section):
        scripts = [(ROOT / "bench" / name).read_text() for name in re.findall(r"bench/(\w+\.py)", sentence)]
        wrong += [(flag, sentence[:80]) for flag in sorted(set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", sentence)))
                  if not any(flag in script for script in scripts)]
    assert not wrong, wrong


def test_readme_says_what_debian_needs_before_its_first_venv_command():
    """On Debian and Ubuntu the README's first command fails ("ensurepip is not available") without python3-venv: the
    README says so before that command, not two paragraphs after it."""
    text = (ROOT / "README.md").read_text()
    first_command = text.index("```sh\npython3 -m venv .venv")
    assert 0 <= text.find("python3-venv") < first_command


def test_language_pages_workload_example_draws_no_warning():
    """The first example of docs/language.md's `workload` section, the one a reader copies, checks without a warning
    in the tests' base plan: it wrote `chunk = 8192` beside `serving = static`, which is W514 (`chunk` does nothing
    when serving statically)."""
    from dagc.lang.load import load_plan_text
    from dagc.verdict.check import check
    from conftest import BASE
    section = (DOCS / "language.md").read_text().partition("\n## `workload`")[2]
    example = _FENCE.search(section)
    assert example is not None
    plan = load_plan_text(_completed(example.group(1)), needs_strategy=True)
    assert plan.workload.batch == 128 and BASE["workload"] not in _completed(example.group(1))
    warnings = [d for r in check(plan) for d in r.diagnostics if d.code.startswith("W")]
    assert not warnings, [f"{d.code}: {d.message}" for d in warnings]
