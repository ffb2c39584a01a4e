"""`dagc compile`: report.json, report.md and dag.json for every example; schema; atomic writes."""

from __future__ import annotations

import json
import re
import subprocess

import jsonschema
import networkx as nx
import pytest

from dagc.export import write as write_mod
from dagc.export.compile import compile_results
from dagc.export.dag_json import dag_json, dag_schema
from dagc.lang.load import load_plan, load_plan_text
from dagc.verdict.check import check
from conftest import EXAMPLES, checked_example, plan_text, run_dagc

EXAMPLE_PLANS = sorted(EXAMPLES.glob("*.moe"))


def dagc(*args: str, search: bool = False) -> subprocess.CompletedProcess:
    """Run the CLI (in this process); check and compile skip the strategy search unless a test is about it."""
    if args and args[0] in ("check", "compile") and not search and len(args) > 1:
        args = (*args, "--no-search")
    proc = run_dagc(*args)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


# The keywords of dag.json's schema: none reads more of a value than its JSON type, a string's value (`enum`) or an
# object's keys, nor counts or compares an array's items (no `minItems`, `uniqueItems`, `prefixItems`, `minimum`, …)
SHAPE_KEYWORDS = {"$defs", "$ref", "$schema", "additionalProperties", "anyOf", "default", "description", "enum",
                  "items", "properties", "required", "title", "type"}


def keywords(schema) -> set[str]:
    """The keywords a schema uses (the names under `properties` and `$defs` are the instance's, not keywords)."""
    if isinstance(schema, list):
        return set().union(*(keywords(s) for s in schema))
    if not isinstance(schema, dict):
        return set()
    return set(schema).union(*(keywords(v) if k not in ("properties", "$defs") else
                               set().union(*(keywords(x) for x in v.values())) for k, v in schema.items()))


def shapes(value):
    """A JSON value as the schema's keywords (`SHAPE_KEYWORDS`) tell it from others: a number by whether it is an
    integer (`type: integer` takes 3.0), strings, booleans and keys as they are, an array by its items' distinct
    shapes. It is valid exactly when the value is: validating dag.json's 5,000–15,000 nodes and edges one by one
    took 0.3–1.3 CPU s an example (about 9 of this file's 25), their 10–200 shapes a few milliseconds."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return 0
    if isinstance(value, float):
        return 0.0 if value.is_integer() else 0.5
    if isinstance(value, dict):
        return {k: shapes(v) for k, v in value.items()}
    distinct = {json.dumps(s, sort_keys=True): s for s in map(shapes, value)}
    return list(distinct.values())


def test_the_schema_reads_no_more_of_a_value_than_its_shape():
    schema = dag_schema()
    assert keywords(schema) <= SHAPE_KEYWORDS, keywords(schema) - SHAPE_KEYWORDS
    enums = re.findall(r'"enum": (\[[^]]*\])', json.dumps(schema))
    assert enums and all(isinstance(v, str) for e in enums for v in json.loads(e))     # numbers kept would be read
    assert shapes([{"a": 3, "b": [1.0, 2.5, 7.0, True]}, {"a": 4, "b": [None, "x"]}]) == \
        [{"a": 0, "b": [0.0, 0.5, True]}, {"a": 0, "b": [None, "x"]}]


@pytest.mark.parametrize("path", EXAMPLE_PLANS, ids=lambda p: p.name)
def test_compile_every_example(compiled_example, path):
    out, proc = compiled_example(path)              # `dagc compile PATH -o OUT --no-search`, shared
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode in (0, 1), proc.stderr
    reports = sorted(out.rglob("report.json"))
    assert reports
    schema = dag_schema()
    for rep in reports:
        r = json.loads(rep.read_text())
        assert all(r["metrics"][k] is not None and r["metrics"][k] > 0 for k in (
            "ttft_s", "tpot_s", "prefill_tokens_per_s", "decode_tokens_per_s", "throughput_tokens_per_s"))
        assert r["verdict"]["meets_requirements"] in (True, False)
        assert all(q["met"] is not None for q in r["requirements"])
        md = (rep.parent / "report.md").read_text()
        assert "## Verdicts" in md and "## Critical path" in md and "## Memory per rank" in md
        data = json.loads((rep.parent / "dag.json").read_text())
        if not jsonschema.Draft202012Validator(schema).is_valid(shapes(data)):
            jsonschema.validate(data, schema)       # the error, said of the item itself
            pytest.fail("dag.json's shapes fail the schema where its items pass: `shapes` reads too little")
        g = nx.node_link_graph(data, edges="edges")
        assert nx.is_directed_acyclic_graph(g)
        assert data["version"] == 1


def test_single_and_named_strategy_dirs(compiled_example):
    """`dagc compile PLAN -o DIR --no-search` (`compiled_example`'s, shared with the tests of every example): one
    strategy writes into DIR, several each into a directory of its name, with the comparison beside them."""
    a, proc = compiled_example(EXAMPLES / "10b-moe-pp16-ep16-256gpu.moe")
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr
    assert (a / "report.json").exists() and (a / "dag.json").exists()
    b, proc = compiled_example(EXAMPLES / "mixtral-8x7b-1node.moe")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert {p.name for p in b.iterdir()} == {"tensor", "expert", "report.md", "report.html", ".dagc-output"}
    comparison = (b / "report.md").read_text()
    assert "[`tensor`](tensor/report.md)" in comparison and "| TTFT |" in comparison


def test_default_output_dir(tmp_path):
    plan = tmp_path / "myplan.moe"
    plan.write_text(plan_text())
    proc = run_dagc("compile", str(plan), cwd=tmp_path)      # in this process, as `python -m dagc` run there
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert (tmp_path / "out" / "myplan" / "report.json").exists()


def test_dag_json_round_trip():
    r = check(load_plan_text(plan_text(strategy="strategy tp 2 ; ep 8")))[0]
    data = json.loads(json.dumps(dag_json(r.compiled), allow_nan=False))
    g = nx.node_link_graph(data, edges="edges")
    original = r.compiled.to_networkx()
    assert g.number_of_nodes() == original.number_of_nodes() and g.number_of_edges() == original.number_of_edges()
    n = data["nodes"][5]
    assert g.nodes[n["id"]]["kind"] == n["kind"]
    assert sum(1 for e in data["edges"] if e["kind"] == "data") == len(r.dag.edges)


def test_schema_command():
    proc = dagc("schema")
    schema = json.loads(proc.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert "nodes" in schema["properties"] and "version" in schema["properties"]


def test_invalid_plan_still_writes_report_without_dag(tmp_path):
    proc = dagc("compile", "examples/mistakes/tp4-ep16-multiplied-degrees.moe", "-o", str(tmp_path))
    assert proc.returncode == 3
    r = json.loads((tmp_path / "report.json").read_text())
    assert r["valid"] is False and r["metrics"]["ttft_s"] is None
    assert not (tmp_path / "dag.json").exists()


def test_resource_errors_keep_metrics(tmp_path):
    # E401 only: the DAG is sound, the cluster too small; the report says both.
    r = check(load_plan_text(plan_text(strategy="strategy dp 2 < tp 8 >")))[0]
    assert not r.valid and r.metrics is not None


def test_writes_are_atomic(tmp_path, monkeypatch):
    plan = load_plan(EXAMPLES / "30b-moe-dp2-pp2-tp2-ep4-16gpu.moe")
    results = list(checked_example("30b-moe-dp2-pp2-tp2-ep4-16gpu.moe"))       # `check(plan)`, shared
    out = tmp_path / "out"
    compile_results(plan, results, out)
    before = {p: p.read_bytes() for p in out.rglob("*.json")}

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(write_mod.os, "replace", boom)
    with pytest.raises(write_mod.OutputError, match="disk full"):
        compile_results(plan, results, out)
    after = {p: p.read_bytes() for p in out.rglob("*.json")}
    assert before == after
    assert [p.name for p in out.rglob(".*")] == [".dagc-output"], "no temporary files left behind"
    assert [p.name for p in tmp_path.iterdir()] == ["out"], "no staging directory or lock left beside it"


def test_unwritable_output_is_reported(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = dagc("compile", "examples/10b-moe-pp16-ep16-256gpu.moe", "-o", str(blocker / "sub"))
    assert proc.returncode == 5 and "cannot write" in proc.stderr and "Traceback" not in proc.stderr


def test_the_public_api_compiles_a_plan(tmp_path):
    """`import dagc; dagc.compile(plan, out, search=False)`: check, then every output written, as `dagc compile
    --no-search` (with the search, tests/test_drive.py)."""
    import dagc
    plan = dagc.load_plan(EXAMPLES / "mixtral-8x7b-1node.moe")
    written = dagc.compile(plan, tmp_path / "out", strategy="tp 8", search=False)
    (result,) = dagc.check(plan, "tp 8", search=False)
    assert [w.directory for w in written] == [tmp_path / "out"]
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report == json.loads(json.dumps(dagc.report_json(result)))
    assert {p.name for p in written[0].files} >= {"report.json", "report.md", "dag.json", "trace.json"}
