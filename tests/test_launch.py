"""`dagc launch`: golden commands per engine, the flags' GPUs against dagc's, the layer partition,
each engine's refusals (located, with the nearest strategy it can run), and the CLI's exit codes."""

from __future__ import annotations

import dataclasses
import functools
import math
import re
import shlex

import pytest

from dagc.cli.main import main
from dagc.diagnostics import render
from dagc.lang.load import load_plan, load_plan_text
from dagc.lang.overrides import load_plan_with
from dagc.launch.degrees import placements
from dagc.launch.engines import ENGINES, TABLES, launch_result
from dagc.launch.launch import HF_IDS, MAX_LISTED_REPLICAS, model_path
from dagc.launch.nearest import nearest
from dagc.launch.sglang import default_split as sglang_split
from dagc.launch.vllm import default_split as vllm_split
from dagc.layout.stages import default_split
from dagc.rules import explain
from dagc.units import Dimension, format_figure, format_si
from dagc.verdict.check import check
from conftest import EXAMPLES, plan_text

QWEN = 'model preset "qwen3-30b-a3b"'
C = 'cluster {{ gpus = {n}  gpus_per_node = 8  gpu preset "h100-sxm" }}'
LONG = "workload { batch = 64  prompt = 8192  generate = 256 }"
INFLIGHT = "workload {{ batch = 250  prompt = 2000  generate = 500  serving = inflight  chunk = {chunk} }}"

# name: (plan parts, what the case shows)
CASES = {
    "tp8": (dict(strategy="strategy tp 8"), "plain tensor parallelism on one node"),
    "attention-dp-ep": (dict(model=QWEN, strategy="strategy tp 1 ; ep 8"), "attention DP 8 × EP 8 (DEP8)"),
    "tp2-ep8": (dict(strategy="strategy tp 2 ; ep 8"), "attention TP 2 × DP 4, EP 8: TensorRT-LLM refuses (E721)"),
    "multinode-pp": (dict(cluster=C.format(n=16), strategy="strategy pp 2 < tp 8 >"), "a replica on two nodes"),
    "multinode-ep": (dict(model=QWEN, cluster=C.format(n=16), strategy="strategy tp 1 ; ep 16"),
                     "EP 16 over two nodes: vLLM multi-node DP, SGLang --nnodes"),
    "replicas-share-node": (dict(strategy="strategy dp 2 < tp 4 >"), "two servers on one node"),
    "pp-uneven-default": (dict(cluster=C.format(n=24), strategy="strategy pp 3 < tp 8 >"),
                          "dagc's default split (11, 11, 10) is SGLang's only by the variable"),
    "pp-explicit-split": (dict(strategy="strategy pp 4 [10, 8, 8, 6] < tp 2 >"),
                          "an explicit split: the variables of vLLM and SGLang, TensorRT-LLM's pp_partition"),
    "overlap": (dict(model=QWEN, strategy="strategy tp 1 ; ep 8 with overlap microbatch"),
                "--enable-dbo, --enable-two-batch-overlap; TensorRT-LLM refuses (E725)"),
    "ep4-etp2": (dict(strategy="strategy tp 8 ; ep 4 etp 2"), "vLLM refuses EP 4 × expert TP 2 (E702)"),
    "expert-dp": (dict(model=QWEN, strategy="strategy tp 8 ; ep 4"),
                  "experts replicated twice: vLLM E702, SGLang E711, TensorRT-LLM E723"),
    "cp": (dict(workload=LONG, strategy="strategy tp 2 cp 4 ; ep 8"),
           "context parallelism: vLLM E731 (DCP 4 with TP 2 on Mixtral's 8 KV heads), SGLang E712, TensorRT-LLM E727 "
           "(Helix: MLA decode pools, Blackwell)"),
    "cp-vllm": (dict(model=QWEN, cluster=C.format(n=16), workload=LONG, strategy="strategy tp 8 cp 2 ; ep 16"),
                "context parallelism vLLM takes: -pcp 2 -dcp 2 with TP 8 above Qwen3's 4 KV heads, 2 ≤ 8 // 4"),
    "cp-overlap": (dict(workload=LONG, strategy="strategy tp 2 cp 4 ; ep 8 with overlap microbatch"),
                   "cp with overlap: vLLM E703 (V2 runner vs V1), SGLang E712 and E715 (Mixtral), TensorRT-LLM E725"),
    "cp-attention-dp": (dict(workload=LONG, strategy="strategy tp 1 cp 4 ; ep 8"),
                        "Helix CP beside attention DP: TensorRT-LLM E722"),
    "tbo-mixtral": (dict(strategy="strategy tp 8 ; ep 8 with overlap microbatch"),
                    "SGLang has no two-batch overlap for Mixtral (E715); vLLM's DBO no all-to-all without DP (E710)"),
    "straddles-nodes": (dict(cluster=C.format(n=24), strategy="strategy dp 2 < pp 3 < tp 4 > >"),
                        "replicas of 12 GPUs on nodes of 8 (E701)"),
    "pp-attention-dp-nodes": (dict(model=QWEN, cluster=C.format(n=32), strategy="strategy pp 4 < tp 2 ; ep 8 >"),
                              "vLLM would run a TP 2 × PP 4 pipeline per node, an EP group over 4 nodes (E704)"),
    "dp-servers-share-node": (dict(model=QWEN, strategy="strategy dp 2 < tp 1 ; ep 4 >"),
                              "two vLLM DP servers on one node: distinct --port and --data-parallel-rpc-port"),
    "stages-straddle-nodes": (dict(model=QWEN, cluster=C.format(n=24), strategy="strategy pp 2 < tp 4 ; ep 4 etp 3 >"),
                              "2 stages of 12 GPUs on 3 nodes: SGLang gives a stage whole nodes (E713)"),
    "trtllm-ep-order": (dict(model=QWEN, cluster=C.format(n=16), strategy="strategy tp 1 ; ep 8 etp 2"),
                        "a stage over 2 nodes with EP 8 × MoE TP 2: TensorRT-LLM's EP groups are consecutive (E726)"),
    "overlap-paired": (dict(model=QWEN, strategy="strategy tp 1 ; ep 8 with microbatches 2 overlap microbatch"),
                       "the engines' overlap options run what dagc costed (2 micro-batches, paired)"),
    "inflight-dep": (dict(model=QWEN, workload=INFLIGHT.format(chunk=4096), strategy="strategy tp 1 ; ep 8"),
                     "in flight, attention DP 8: the serving flags, some written for all 8 ranks (SGLang)"),
    "inflight-dp-pp": (dict(model=QWEN, cluster=C.format(n=32), workload=INFLIGHT.format(chunk=20000),
                            strategy="strategy dp 2 < pp 2 < tp 8 ; ep 8 > >"),
                       "in flight, 2 servers of 2 stages: per-server shares, per-pipeline-batch limits, a large chunk"),
    "inflight-whole-prompts": (dict(model=QWEN, strategy="strategy tp 1 ; ep 8",
                                    workload=INFLIGHT.format(chunk=4096).replace("}", "chunked_prefill = off }")),
                               "in flight with chunked prefill off: each engine told to take whole prompts only"),
    "sp": (dict(strategy="strategy tp 8 sp"), "sequence-parallel activations: no engine has a setting (E709)"),
    "fp8-memory-capped": (dict(model='model preset "qwen3-30b-a3b" { weights = fp8 }',
                               require="require { memory <= 80 % }", workload=INFLIGHT.format(chunk=4096),
                               strategy="strategy tp 1 ; ep 8"),
                          "the published fp8 checkpoint; every engine's memory share capped by `memory <= 80 %`"),
}


def _result(parts: dict):
    """The plan of `parts` and its check, once in this module for each plan text: the cases are read by
    several tests (their golden launch, flags, split, refusals, nearest strategies), none of which changes them."""
    return _checked(plan_text(**parts))


@functools.cache
def _checked(text: str):
    plan = load_plan_text(text)
    result = check(plan)[0]
    assert result.valid, [render(d) for d in result.diagnostics if d.is_error]
    return plan, result


def _render(launches) -> str:
    out = []
    for x in launches:
        out.append(f"## {x.name} ({x.version})")
        out += [f"node {c.node} replica {c.replica}: {c.text}" for c in x.commands]
        for f in x.files:
            out += [f"file {f.name}:", f.text.rstrip("\n")]
        out += [f"note: {n}" for n in x.notes]
        out += [render(d) for d in x.refusals]
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_launch(golden, name):
    _, result = _result(CASES[name][0])
    golden(f"launch/{name}.txt", _render(launch_result(result)))


def _flag(argv: tuple[str, ...], name: str, default: int = 1) -> int:
    return int(argv[argv.index(name) + 1]) if name in argv else default


def _gpus_of_server(engine: str, argv: tuple[str, ...]) -> int:
    """The GPUs a server's flags ask for, as each engine counts them (ENGINES.md)."""
    if engine == "vllm":
        return (_flag(argv, "--tensor-parallel-size") * _flag(argv, "--pipeline-parallel-size")
                * _flag(argv, "--data-parallel-size") * _flag(argv, "--prefill-context-parallel-size"))
    if engine == "sglang":
        return _flag(argv, "--tp-size") * _flag(argv, "--pp-size")
    return _flag(argv, "--tp_size") * _flag(argv, "--pp_size") * _flag(argv, "--cp_size")


def _servers(x):
    """One argv per replica: the command that starts its server (vLLM's serve on the head, not ray)."""
    heads = {}
    for c in x.commands:
        if "ray" not in c.argv[:1] and c.replica not in heads:
            heads[c.replica] = c.argv
    return heads


def _all_cases():
    return [CASES[name][0] for name in sorted(CASES)]


@pytest.mark.parametrize("parts", _all_cases(), ids=sorted(CASES))
def test_flags_use_dagcs_gpus_and_nodes(parts):
    plan, result = _result(parts)
    lay = result.layout
    for x in launch_result(result):
        if not x.ok:
            continue
        servers = _servers(x)
        assert len(servers) == lay.dp
        assert sum(_gpus_of_server(x.engine, argv) for argv in servers.values()) == lay.gpus_used, x.engine
        nodes_used = {n for p in placements(_degrees(plan, result)) for n in p.nodes}
        assert _nodes_of(x) == nodes_used
        assert len(nodes_used) == -(-lay.gpus_used // lay.gpus_per_node)
        for c in x.commands:
            assert shlex.split(c.text)         # every command is valid shell words


def _nodes_of(x) -> set[int]:
    """The nodes the commands start ranks on: where they run, and the hosts of an mpirun."""
    nodes = {c.node for c in x.commands}
    for c in x.commands:
        if c.argv[0] == "mpirun":
            nodes |= {int(n) for n in re.findall(r"\$NODE(\d+)_ADDR", c.argv[2])}
    return nodes


def _degrees(plan, result):
    from dagc.launch.degrees import degrees
    return degrees(plan, result.strategy, result.layout)


@pytest.mark.parametrize("parts", _all_cases(), ids=sorted(CASES))
def test_layer_partition_is_dagcs_split(parts):
    _, result = _result(parts)
    split = result.layout.layers_per_stage
    for x in launch_result(result):
        for c in x.commands:
            env = dict(c.env)
            for var in ("VLLM_PP_LAYER_PARTITION", "SGLANG_PP_LAYER_PARTITION"):
                if var in env:
                    parts_ = tuple(int(v) for v in env[var].split(","))
                    assert parts_ == split and sum(parts_) == result.plan.model.layers
                    assert len(parts_) == result.layout.pp


def test_partition_variable_only_when_the_engines_default_differs():
    _, result = _result(CASES["pp-uneven-default"][0])
    assert result.layout.layers_per_stage == (11, 11, 10) == vllm_split(32, 3) == default_split(32, 3)
    assert sglang_split(32, 3) == (10, 11, 11)
    by = {x.engine: x for x in launch_result(result)}
    assert not any("VLLM_PP_LAYER_PARTITION" in dict(c.env) for c in by["vllm"].commands)
    assert all(dict(c.env)["SGLANG_PP_LAYER_PARTITION"] == "11,11,10" for c in by["sglang"].commands)
    assert by["trtllm"].ok


@pytest.mark.parametrize("name, refused", [
    ("tp2-ep8", {"trtllm": ["E721"]}),
        ("overlap", {"trtllm": ["E725"]}),
    ("ep4-etp2", {"vllm": ["E702"]}),
    ("expert-dp", {"vllm": ["E702"], "sglang": ["E711"], "trtllm": ["E723"]}),
    ("cp", {"vllm": ["E731"], "sglang": ["E712"], "trtllm": ["E727"]}),
    ("cp-vllm", {"sglang": ["E712"], "trtllm": ["E727"]}),
    ("tbo-mixtral", {"vllm": ["E710"], "sglang": ["E715"], "trtllm": ["E725"]}),
    ("straddles-nodes", {"vllm": ["E701"], "sglang": ["E701"], "trtllm": ["E701"]}),
    ("pp-attention-dp-nodes", {"vllm": ["E704"], "trtllm": ["E721"]}),
    ("trtllm-ep-order", {"vllm": ["E702"], "trtllm": ["E726"]}),
    ("stages-straddle-nodes", {"vllm": ["E702", "E704"], "sglang": ["E713"], "trtllm": ["E721", "E726"]}),
    ("sp", {"vllm": ["E709"], "sglang": ["E709"], "trtllm": ["E709"]}),
    ("tp8", {}),
    ("attention-dp-ep", {}),
])
def test_refusals_are_located_and_named(name, refused):
    plan, result = _result(CASES[name][0])
    for x in launch_result(result):
        assert [d.code for d in x.refusals] == refused.get(x.engine, []), x.engine
        for d in x.refusals:
            text = render(d)
            assert re.match(r"plan\.moe:\d+:\d+: error\[E7\d\d\]: ", text) and "^" in text
            assert d.message.startswith(x.name + ":")
            assert explain(d.code) is not None


def test_every_launch_code_is_triggered_here():
    found = set()
    for parts, _ in CASES.values():
        _, result = _result(parts)
        found |= {d.code for x in launch_result(result) for d in x.refusals}
    assert found == {"E701", "E702", "E703", "E704", "E709", "E710", "E711", "E712", "E713", "E715", "E721", "E722",
                     "E723", "E725", "E726", "E727", "E731"}


@pytest.mark.parametrize("name, engine", [("tp2-ep8", "trtllm"), ("ep4-etp2", "vllm"), ("expert-dp", "sglang"),
                                          ("tbo-mixtral", "sglang"), ("overlap", "trtllm"), ("cp-overlap", "vllm")])
def test_nearest_is_runnable_valid_and_has_dagcs_figures(name, engine):
    plan, result = _result(CASES[name][0])
    near = nearest(plan, result.strategy, result.layout, TABLES[engine])
    assert near is not None
    again = check(plan, near.text)[0]
    assert again.valid and again.layout.gpus_used == result.layout.gpus_used
    assert again.metrics.ttft_s == near.metrics.ttft_s
    assert [x.ok for x in launch_result(again, (engine,))] == [True]


def test_nearest_changes_only_what_the_engine_cannot_say():
    plan, result = _result(CASES["overlap"][0])
    assert nearest(plan, result.strategy, result.layout, TABLES["trtllm"]).text == "tp 1 ; ep 8 with overlap none"
    plan, result = _result(CASES["tbo-mixtral"][0])
    assert nearest(plan, result.strategy, result.layout, TABLES["sglang"]).text == "tp 8 ; ep 8 with overlap none"
    plan, result = _result(CASES["ep4-etp2"][0])
    assert nearest(plan, result.strategy, result.layout, TABLES["vllm"]).text == "tp 8 ; ep 8"
    plan, result = _result(CASES["sp"][0])
    for engine in ("vllm", "sglang", "trtllm"):
        assert nearest(plan, result.strategy, result.layout, TABLES[engine]).text == "tp 8", engine


def test_model_path(tmp_path):
    assert model_path(load_plan(EXAMPLES / "mixtral-8x7b-1node.moe")).text == HF_IDS["mixtral-8x7b"]
    overridden = load_plan_text(plan_text(model='model preset "mixtral-8x7b" { layers = 16 }'))
    assert model_path(overridden).placeholder and model_path(overridden).text == "/path/to/mixtral-8x7b"
    custom = load_plan_text(plan_text(model='model "my moe $(rm -rf)" { layers = 4  hidden = 256  heads = 8  '
                                      'kv_heads = 2  head_dim = 32  vocab = 1000  moe { experts = 4  top_k = 2  '
                                      'ffn = 512 } }'))
    assert model_path(custom).text == "/path/to/my-moe-rm--rf"


def test_model_from_config_uses_its_directory(tmp_path):
    import json

    from hf_configs import MIXTRAL_8X7B as MIXTRAL
    (tmp_path / "mixtral").mkdir()
    (tmp_path / "mixtral" / "config.json").write_text(json.dumps(MIXTRAL))
    plan_file = tmp_path / "plan.moe"
    plan_file.write_text(plan_text(model='model from "mixtral/config.json"'))
    assert model_path(load_plan(plan_file)).text == str(tmp_path / "mixtral")


# ------------------------------------------------------------------ the CLI


def test_cli_all_engines(capsys):
    code = main(["launch", str(EXAMPLES / "mixtral-8x7b-1node.moe")])
    out = capsys.readouterr().out
    assert code == 0
    assert out.count("## vLLM") == out.count("## SGLang") == out.count("## TensorRT-LLM") == 2
    assert "flags of vLLM 0.33.0" in out and "flags of SGLang 0.5.23" in out and "flags of TensorRT-LLM 1.2" in out
    assert "vllm serve mistralai/Mixtral-8x7B-Instruct-v0.1 --tensor-parallel-size 8" in out
    assert "error[E721]" in out and "the nearest strategy TensorRT-LLM can run: `tp 1 ; ep 8` (TTFT" in out


def test_cli_refusal_exit_code_and_nearest_figures(capsys, write_plan):
    path = write_plan(plan_text())
    code = main(["launch", str(path), "--engine", "vllm", "--strategy", "tp 8 ; ep 4 etp 2"])
    out = capsys.readouterr().out
    assert code == 3
    assert "--strategy:1:8: error[E702]: vLLM: EP is always attention DP × TP" in out
    m = re.search(r"can run: `([^`]+)` \(TTFT ([^,]+), TPOT ([^,]+), ([\d,.]+) tokens/s/GPU\)", out)
    assert m, out
    # the plan names pytorch: --engine vllm prices it for vLLM, as `--set cluster.engine=vllm` does
    metrics = check(load_plan_with(path, ["cluster.engine=vllm"]), m.group(1))[0].metrics
    shown = (format_si(metrics.ttft_s, Dimension.TIME), format_si(metrics.tpot_s, Dimension.TIME))
    assert shown == m.groups()[1:3]
    assert format_figure(metrics.decode_tokens_per_s_per_gpu) == m.group(4)
    assert main(["launch", str(path), "--strategy", "tp 8 ; ep 4 etp 2"]) == 0       # SGLang and TensorRT-LLM can


def test_cli_writes_trtllm_yaml_into_output_dir(capsys, write_plan, tmp_path):
    path = write_plan(plan_text(model=QWEN, strategy="strategy dep = tp 1 ; ep 8"))
    out_dir = tmp_path / "launch"
    assert main(["launch", str(path), "--engine", "trtllm", "-o", str(out_dir)]) == 0
    out = capsys.readouterr().out
    yml = out_dir / "trtllm-dep.yml"
    assert "enable_attention_dp: true" in yml.read_text()
    assert f"--tp_size 8 --ep_size 8 --extra_llm_api_options {yml}" in out
    assert main(["launch", str(path), "--engine", "trtllm"]) == 0
    assert "enable_attention_dp: true" in capsys.readouterr().out      # printed without -o


@pytest.mark.parametrize("argv, code", [
    (["--engine", "nope"], 2),
    (["--strategy", "tp 8 <"], 4),
    (["--strategy", "tq 8"], 4),
    (["--strategy", "dp 2 < tp 8 >"], 3),                  # 16 GPUs on 8: E401, dagc will not launch it
    (["--strategy", "tp 3"], 3),
])
def test_cli_exit_codes(capsys, write_plan, argv, code):
    path = write_plan(plan_text())
    with pytest.raises(SystemExit) if code == 2 else _nothing():
        assert main(["launch", str(path), *argv]) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err


def _nothing():
    import contextlib
    return contextlib.nullcontext()


def test_cli_bad_inputs_never_trace(capsys, tmp_path):
    assert main(["launch", str(tmp_path / "missing.moe")]) == 4
    (tmp_path / "binary.moe").write_bytes(b"\x00\xff" * 100)
    assert main(["launch", str(tmp_path / "binary.moe")]) == 4
    assert "Traceback" not in capsys.readouterr().err


def test_cli_output_is_a_file(capsys, write_plan, tmp_path):
    path = write_plan(plan_text(model=QWEN, strategy="strategy tp 1 ; ep 8"))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["launch", str(path), "--engine", "trtllm", "-o", str(blocker)]) == 5
    assert blocker.read_text() == "x"


def test_engines_are_the_three():
    assert ENGINES == ("vllm", "sglang", "trtllm")


@pytest.mark.parametrize("parts", [dict(cluster=C.format(n=16)), dict(model=QWEN, cluster=C.format(n=16))],
                         ids=["mixtral-16", "qwen-16"])
def test_every_candidate_of_the_search_launches_or_is_refused(parts):
    """On every strategy of the search space: no exception; a launch's flags ask for dagc's GPUs, on
    dagc's nodes; a refusal is an E7xx error located in the strategy."""
    from dagc.launch.launch import launch
    from dagc.layout.layout import resolve
    from dagc.search.space import candidates
    plan = load_plan_text(plan_text(**parts))
    seen = 0
    for strategy, mb, overlap in candidates(plan):
        strategy = strategy.model_copy(update={"microbatches": mb, "overlap": overlap})
        lay = resolve(plan.model, plan.cluster, strategy.workload_for(plan.workload), strategy)
        for engine in ENGINES:
            x = launch(plan, strategy, lay, TABLES[engine])
            if not x.ok:
                assert all(re.fullmatch(r"E7\d\d", d.code) and d.is_error for d in x.refusals)
                continue
            servers = _servers(x)
            assert len(servers) == min(lay.dp, MAX_LISTED_REPLICAS) and x.replicas == lay.dp
            assert {_gpus_of_server(engine, argv) for argv in servers.values()} == {lay.pp * lay.group_size}
            if lay.dp <= MAX_LISTED_REPLICAS:
                assert len(_nodes_of(x)) == -(-lay.gpus_used // lay.gpus_per_node)
            seen += 1
    assert seen > 100


def test_one_small_replica_need_not_fill_its_node():
    _, result = _result(dict(strategy="strategy pp 2 < tp 1 ; ep 1 >",
                             cluster='cluster { gpus = 3  gpus_per_node = 8  gpu preset "h100-sxm" }'))
    assert all(x.ok for x in launch_result(result))
    plan, result = _result(dict(strategy="strategy dp 2 < pp 3 < tp 1 > >",
                                cluster='cluster { gpus = 8  gpus_per_node = 4  gpu preset "h100-sxm" }'))
    assert [d.code for x in launch_result(result) for d in x.refusals] == ["E701"] * 3   # replica 1 on nodes 0 and 1
    plan, result = _result(dict(strategy="strategy dp 4 < pp 2 < tp 1 > >",
                                cluster='cluster { gpus = 8  gpus_per_node = 4  gpu preset "h100-sxm" }'))
    assert [[p.port for p in placements(_degrees(plan, result))]] == [[8000, 8001, 8000, 8001]]


def test_report_has_a_launch_section(tmp_path):
    from dagc.export.compile import CompileOptions, compile_results
    plan = load_plan_text(plan_text(strategy="strategy a = tp 2 ; ep 8\nstrategy b = tp 8 ; ep 4"))
    compile_results(plan, check(plan), tmp_path / "out", CompileOptions(dot_timeout_s=20))
    a = (tmp_path / "out" / "a" / "report.md").read_text()
    section = a.partition("## Launch")[2].partition("\n## ")[0]
    assert "vllm serve mistralai/Mixtral-8x7B-Instruct-v0.1 --tensor-parallel-size 2 --data-parallel-size 4" in section
    assert "- **TensorRT-LLM** — flags of TensorRT-LLM 1.2" in section and "cannot run it: E721 — " in section
    b = (tmp_path / "out" / "b" / "report.md").read_text()
    assert b.count("cannot run it: E7") == 3                     # expert DP 2: no engine can
    html = (tmp_path / "out" / "a" / "report.html").read_text()
    assert "Launch</h2>" in html and "--enable-expert-parallel" in html


def test_report_says_when_the_plan_names_a_release_other_than_the_flags(tmp_path):
    """report.md's Launch section says, as `dagc launch` does, when the plan names another release of an engine than
    the one its flags are of: `engine = sglang@0.5.2` beside SGLang 0.5.23's flags (until 2026-11-30 it said nothing,
    and `dagc launch` nothing either for any 0.5 release). A plan that names its engine gets that engine's commands
    alone, as `dagc launch` prints them (until 2026-12-03 every engine's, vLLM's first)."""
    from dagc.export.launch import launch_md
    text = plan_text(strategy="strategy tp 8").replace("engine = pytorch", "engine = sglang@0.5.2", 1)
    assert "sglang@0.5.2" in text
    section = "\n".join(launch_md(check(load_plan_text(text))[0]))
    assert ("- **SGLang** — flags of SGLang 0.5.23 (the plan names sglang@0.5.2, which may not take them) — 1 node:"
            in section)
    assert "**vLLM**" not in section and "on SGLang, the engine the plan serves with" in section
    patched = "\n".join(launch_md(check(load_plan_text(text.replace("0.5.2", "0.5.23")))[0]))
    assert "the plan names" not in patched


def test_explain_every_launch_code(capsys):
    for code in ("E701", "E702", "E703", "E704", "E708", "E710", "E711", "E712", "E713", "E715", "E721", "E722",
                 "E723", "E725", "E726", "E727", "E730", "E731"):
        assert main(["explain", code]) == 0
        text = capsys.readouterr().out
        assert text.startswith(f"{code} (error): ") and "Bad:" in text and "Fixed:" in text


# ------------------------------------------------------------------ where each engine puts a stage's GPUs


def _flags_of(argv: tuple[str, ...]) -> tuple[str, ...]:
    """The engine's own argv (after mpirun … trtllm-llmapi-launch)."""
    return argv[argv.index("trtllm-serve"):] if "trtllm-serve" in argv else argv


def _vllm_rank_nodes(cmds, gpn: int) -> dict[tuple[int, int], int]:
    """vLLM's rule: rank = dp_rank·(P·T) + pp_rank·T + tp_rank; with multi-node DP a node runs
    `--data-parallel-size-local` whole engines from `--data-parallel-start-rank`, else (one node, or
    Ray) rank k runs on the replica's k // gpus_per_node-th node. Keys: (stage, dp_rank·T + tp_rank)."""
    serve = [c for c in cmds if c.argv[:2] == ("vllm", "serve")]
    argv = serve[0].argv
    t, p = _flag(argv, "--tensor-parallel-size"), _flag(argv, "--pipeline-parallel-size")
    d = _flag(argv, "--data-parallel-size")
    nodes = sorted({c.node for c in cmds})
    engine_node = {}
    if "--data-parallel-size-local" in argv:
        for c in serve:
            start, local = _flag(c.argv, "--data-parallel-start-rank", 0), _flag(c.argv, "--data-parallel-size-local")
            engine_node |= {e: c.node for e in range(start, start + local)}
    return {(s, e * t + k): engine_node[e] if engine_node else nodes[(e * p * t + s * t + k) // gpn]
            for e in range(d) for s in range(p) for k in range(t)}


def _sglang_rank_nodes(cmds) -> dict[tuple[int, int], int]:
    """SGLang's rule (`nnodes_per_tp_group = max(K // P, 1)`, `pp_size_per_node = max(P // K, 1)`):
    node rank r runs the pp ranks of block r // nnodes_per_tp_group, the tp ranks of block
    r mod nnodes_per_tp_group. Keys: (stage, tp rank)."""
    out = {}
    for c in cmds:
        n, p, k = _flag(c.argv, "--tp-size"), _flag(c.argv, "--pp-size"), _flag(c.argv, "--nnodes")
        r = _flag(c.argv, "--node-rank", 0)
        per_tp_group, per_node = max(k // p, 1), max(p // k, 1)
        assert n % per_tp_group == 0
        tp_per_node, block = n // per_tp_group, r % per_tp_group
        for s in range(per_node * (r // per_tp_group), per_node * (r // per_tp_group + 1)):
            out |= {(s, t): c.node for t in range(tp_per_node * block, tp_per_node * (block + 1))}
    return out


def _trtllm_rank_nodes(cmds) -> dict[tuple[int, int], int]:
    """TensorRT-LLM's rule: pp_rank = rank // tp_size; mpirun -H fills the hosts' slots in order."""
    (c,) = cmds
    argv = _flags_of(c.argv)
    t, p = _flag(argv, "--tp_size"), _flag(argv, "--pp_size")
    hosts = [c.node] * (t * p)
    if c.argv[0] == "mpirun":
        hosts = [int(n) for n, slots in re.findall(r"\$NODE(\d+)_ADDR:(\d+)", c.argv[2]) for _ in range(int(slots))]
    return {(s, k): hosts[s * t + k] for s in range(p) for k in range(t)}


def _engine_rank_nodes(engine: str, cmds, gpn: int) -> dict[tuple[int, int], int]:
    if engine == "vllm":
        return _vllm_rank_nodes(cmds, gpn)
    return _sglang_rank_nodes(cmds) if engine == "sglang" else _trtllm_rank_nodes(cmds)


def _ep_groups(engine: str, argv, lay, node_of: dict[tuple[int, int], int]) -> list[list[int]]:
    """The nodes of each MoE EP group of each stage, sorted: TensorRT-LLM's moe_ep_rank = tp_rank mod
    ep_size (consecutive), SGLang's and dagc's EP groups take GPUs etp apart; vLLM's EP group is the stage."""
    ep, etp = lay.ep, lay.etp
    if engine == "trtllm":
        ep = _flag(_flags_of(argv), "--ep_size")
        etp = lay.group_size // ep
    elif engine == "sglang":
        ep = _flag(argv, "--ep-size")
        etp = lay.group_size // ep
    consecutive = engine == "trtllm"
    groups = []
    for s in range(lay.pp):
        for m in range(etp):
            local = [m * ep + e if consecutive else e * etp + m for e in range(ep)]
            groups.append(sorted({node_of[(s, r)] for r in local}))
    return sorted(groups)


PLACEMENT_PLANS = {
    "qwen-32x8": dict(model=QWEN, cluster=C.format(n=32)),
    "qwen-24x8": dict(model=QWEN, cluster=C.format(n=24)),
    "mixtral-16x4": dict(cluster='cluster { gpus = 16  gpus_per_node = 4  gpu preset "h100-sxm" }'),
}


@pytest.mark.parametrize("name", sorted(PLACEMENT_PLANS))
def test_engines_place_every_stage_on_dagcs_nodes(name):
    refused = _check_placements(PLACEMENT_PLANS[name])
    if name == "qwen-32x8":
        assert "E704" in refused          # `pp 4 < tp 2 ; ep 8 >` and its kind are in the space


def _check_placements(parts) -> set[str]:
    """For every candidate of the search space: whenever an engine gets commands, the nodes its
    flags put each stage's GPUs on (by the engine's own rank rule, read back from the commands) are
    the nodes of dagc's layout (rank = (replica·pp + stage)·G + local, node = rank // gpus_per_node)."""
    from dagc.launch.launch import launch
    from dagc.layout.layout import resolve
    from dagc.search.space import candidates
    plan = load_plan_text(plan_text(**parts))
    seen, refused = 0, set()
    for strategy, mb, overlap in candidates(plan):
        strategy = strategy.model_copy(update={"microbatches": mb, "overlap": overlap})
        lay = resolve(plan.model, plan.cluster, strategy.workload_for(plan.workload), strategy)
        gpn = lay.gpus_per_node
        for engine in ENGINES:
            x = launch(plan, strategy, lay, TABLES[engine])
            refused |= {d.code for d in x.refusals}
            if not x.ok:
                continue
            for replica in range(min(lay.dp, MAX_LISTED_REPLICAS)):
                cmds = [c for c in x.commands if c.replica == replica]
                placed = _engine_rank_nodes(engine, [c for c in cmds if c.argv[0] != "ray"] if engine != "vllm"
                                            else cmds, gpn)
                dagcs = {(s, r - lay.stage_ranks(replica, s).start): r // gpn
                         for s in range(lay.pp) for r in lay.stage_ranks(replica, s)}
                assert placed == dagcs, (engine, strategy.text)           # every GPU of every stage: dagc's node
                if lay.edp == 1 and plan.model.has_experts:
                    head = [c for c in cmds if c.argv[0] != "ray"][0].argv
                    engines = _ep_groups(engine, head, lay, placed)
                    assert engines == _ep_groups("dagc", head, lay, dagcs), (engine, strategy.text)
            seen += 1
    assert seen > 50
    return refused


def test_nearest_to_a_vllm_placement_refusal_keeps_dagcs_nodes():
    plan, result = _result(CASES["pp-attention-dp-nodes"][0])
    near = nearest(plan, result.strategy, result.layout, TABLES["vllm"])
    assert near.text == "pp 4 < tp 8 ; ep 8 >"
    again = check(plan, near.text)[0]
    assert [x.ok for x in launch_result(again, ("vllm",))] == [True]


# ------------------------------------------------------------------ -o DIR: what dagc launch may replace


def _two_yaml_plan(write_plan):
    return write_plan(plan_text(model=QWEN, strategy="strategy dep = tp 1 ; ep 8\nstrategy tep = tp 8 ; ep 8"))


def test_output_refuses_a_file_dagc_did_not_write_and_writes_nothing(capsys, write_plan, tmp_path):
    path = _two_yaml_plan(write_plan)
    out_dir = tmp_path / "launch"
    out_dir.mkdir()
    (out_dir / "trtllm-tep.yml").write_text("# my own settings\nenable_attention_dp: false\n")
    assert main(["launch", str(path), "--engine", "trtllm", "-o", str(out_dir)]) == 5
    captured = capsys.readouterr()
    assert "dagc did not write it" in captured.err and "Traceback" not in captured.err
    assert captured.out == ""                                      # nothing printed, nothing written
    assert sorted(p.name for p in out_dir.iterdir()) == ["trtllm-tep.yml"]
    assert (out_dir / "trtllm-tep.yml").read_text().startswith("# my own settings")


def test_output_refuses_a_symlink_before_writing_the_other_file(capsys, write_plan, tmp_path):
    path = _two_yaml_plan(write_plan)
    out_dir = tmp_path / "launch"
    out_dir.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    (out_dir / "trtllm-tep.yml").symlink_to(victim)
    assert main(["launch", str(path), "--engine", "trtllm", "-o", str(out_dir)]) == 5
    assert "symbolic link" in capsys.readouterr().err
    assert not (out_dir / "trtllm-dep.yml").exists() and victim.read_text() == "keep"


def test_output_replaces_its_own_files_and_leaves_others(capsys, write_plan, tmp_path):
    path = _two_yaml_plan(write_plan)
    out_dir = tmp_path / "launch"
    assert main(["launch", str(path), "--engine", "trtllm", "-o", str(out_dir)]) == 0
    (out_dir / "notes.txt").write_text("mine")
    own = (out_dir / "trtllm-dep.yml").read_text()
    mine = own.splitlines()[0] + "\nenable_attention_dp: false\n"
    (out_dir / "trtllm-dep.yml").write_text(mine)
    # dagc's header without its digest line, and not what dagc writes: the user's, refused (until 2026-11-28 it was
    # taken for an older dagc's file and replaced; docs/launch.md)
    assert main(["launch", str(path), "--engine", "trtllm", "-o", str(out_dir)]) == 5
    assert (out_dir / "trtllm-dep.yml").read_text() == mine
    (out_dir / "trtllm-dep.yml").write_text(own[: own.rstrip("\n").rfind("\n") + 1])   # as a dagc before digests
    assert main(["launch", str(path), "--engine", "trtllm", "-o", str(out_dir)]) == 0    # dagc's: replaced
    assert (out_dir / "trtllm-dep.yml").read_text() == own and (out_dir / "notes.txt").read_text() == "mine"
    assert not [p for p in out_dir.iterdir() if p.name.endswith(".tmp")]


def test_output_directory_must_not_be_a_symlink(capsys, write_plan, tmp_path):
    path = _two_yaml_plan(write_plan)
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    assert main(["launch", str(path), "--engine", "trtllm", "-o", str(tmp_path / "link")]) == 5
    assert list(real.iterdir()) == []


def test_write_files_refuses_two_texts_under_one_name(tmp_path):
    from dagc.export.launch import write_files
    from dagc.export.write import OutputError
    from dagc.launch.launch import GeneratedFile, Launch, ModelPath
    m = ModelPath("m", "why")
    a = Launch("trtllm", "TensorRT-LLM", "1.x", "a", 8, 8, 1, m, files=(GeneratedFile("x.yml", "# a (dagc launch)\n"),))
    b = Launch("trtllm", "TensorRT-LLM", "1.x", "b", 8, 8, 1, m, files=(GeneratedFile("x.yml", "# b (dagc launch)\n"),))
    with pytest.raises(OutputError, match="different files under this name"):
        write_files([a, b], tmp_path / "out")
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ what the CLI prints


def test_help_examples_run(capsys, tmp_path, monkeypatch):
    """Every `dagc launch` example of the help exits 0 (the -o one writes its file)."""
    import os

    from dagc.cli.launch import EPILOG
    monkeypatch.chdir(tmp_path)
    os.symlink(EXAMPLES, tmp_path / "examples")
    for line in EPILOG.splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("dagc launch "):
            assert main(shlex.split(line)[1:]) == 0, line
    assert (tmp_path / "out" / "launch" / "trtllm-tp-1-ep-4.yml").is_file()


def test_try_line_keeps_the_users_options(capsys, write_plan, tmp_path):
    path = write_plan(plan_text(strategy="strategy tp 2 ; ep 8"))
    out_dir = tmp_path / "o"
    assert main(["launch", str(path), "--engine", "trtllm", "-o", str(out_dir), "--allow-path", str(tmp_path)]) == 3
    (line,) = [s for s in capsys.readouterr().out.splitlines() if s.strip().startswith("try:")]
    argv = shlex.split(line.split("try:", 1)[1])
    assert argv[:3] == ["dagc", "launch", str(path)] and argv[argv.index("--strategy") + 1] == "tp 1 ; ep 8"
    assert argv[argv.index("-o") + 1] == str(out_dir) and argv[argv.index("--allow-path") + 1] == str(tmp_path)
    assert main(argv[1:]) == 0                    # the suggestion runs as printed


def test_header_names_the_batch_of_batch_max(capsys, write_plan):
    path = write_plan(plan_text(model=QWEN, strategy="strategy tp 1 ; ep 8",
                                workload="workload { batch = max  prompt = 2048  generate = 256 }"))
    assert main(["launch", str(path), "--engine", "sglang"]) == 0
    header = capsys.readouterr().out.split("## ")[0]
    assert re.search(r"^batch = max: [\d,]+ requests", header, re.M), header
    assert main(["launch", str(path), "--engine", "trtllm", "--strategy", "tp 2 ; ep 8"]) == 3     # E721
    assert re.search(r"tokens/s/GPU at batch [\d,]+, the largest it serves\)", capsys.readouterr().out)


def test_replicas_beyond_the_listed_are_numbered_from_0(capsys, write_plan):
    path = write_plan(plan_text(model=QWEN, cluster=C.format(n=96), strategy="strategy dp 12 < tp 8 ; ep 8 >"))
    assert main(["launch", str(path), "--engine", "sglang"]) == 0
    out = capsys.readouterr().out
    assert out.count("sglang.launch_server") == MAX_LISTED_REPLICAS == 8
    assert "… replicas 8–11 run the same commands on nodes 8–11" in out
    assert "node 7:" in out and "node 8:" not in out


# ------------------------------------------------------------------ in flight: the serving flags


def _argv_after(argv: tuple[str, ...], word: str) -> tuple[str, ...]:
    return argv[argv.index(word) + 1:]


def _value(argv: tuple[str, ...], name: str) -> str:
    return argv[argv.index(name) + 1]


def _yaml_settings(text: str) -> dict[str, str]:
    """The settings of a YAML of `dagc launch` (two levels), as `key` or `key.sub` → value text."""
    out, parent = {}, None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, _, value = line.strip().partition(":")
        if line.startswith("  "):
            out[f"{parent}.{key}"] = value.strip()
        elif value.strip():
            out[key] = value.strip()
        else:
            parent = key
    return out


def _floor3(x: float) -> str:
    return f"{math.floor(x * 1000) / 1000:.3f}"


def _by_engine(result):
    return {x.engine: x for x in launch_result(result)}


def test_inflight_flags_per_engine_attention_dp():
    """batch 250 on one server of 8 attention-DP ranks: 32 requests on the busiest rank (ceil(250 / 8)),
    steps of 4,096 tokens, each engine told so as it counts."""
    _, result = _result(CASES["inflight-dep"][0])
    by = _by_engine(result)
    capacity, reserve = 81_559 * 2**20, 4 * 2**30                   # h100-sxm, dagc's default reserve
    stages = result.memory.stages
    activations = max(st.activation_bytes for st in stages)
    free = capacity - max(st.weights_bytes + st.activation_bytes for st in stages)

    (vllm,) = by["vllm"].commands
    assert vllm.argv[3:] == ("--tensor-parallel-size", "1", "--data-parallel-size", "8", "--enable-expert-parallel",
                             "--max-model-len", "2500",                  # prompt + generate
                             "--max-num-seqs", "32",                     # per DP engine = per attention-DP rank
                             "--max-num-batched-tokens", "4096", "--enable-chunked-prefill",
                             "--gpu-memory-utilization", "0.949",        # (81,559 − 4,096) MiB / 81,559 MiB = 0.9497…
                             "--max-cudagraph-capture-size", "32",       # 32 is on vLLM's grid (multiples of 8)
                             "--port", "8000")
    assert (capacity - reserve) / capacity == pytest.approx(0.94978, abs=1e-5)

    (sglang,) = by["sglang"].commands
    assert sglang.argv[5:] == ("--tp-size", "8", "--attn-dp-size", "8", "--ep-size", "8",
                               "--context-length", "2500",
                               "--max-running-requests", "256",          # 32 × 8: SGLang divides by the 8 ranks
                               "--chunked-prefill-size", "32768",        # 4,096 × 8: likewise
                               "--enable-mixed-chunk",
                               "--mem-fraction-static", _floor3((capacity - reserve - activations) / capacity),
                               "--cuda-graph-max-bs-decode", "32", "--host", "0.0.0.0", "--port", "8000")
    assert "--max-prefill-tokens" not in sglang.argv and "--pp-max-micro-batch-size" not in sglang.argv

    (trtllm,) = by["trtllm"].commands
    assert _argv_after(trtllm.argv, "Qwen/Qwen3-30B-A3B") == ("--tp_size", "8", "--ep_size", "8",
                                                              "--extra_llm_api_options", "trtllm-tp-1-ep-8.yml",
                                                              "--host", "0.0.0.0", "--port", "8000")
    (yml,) = by["trtllm"].files
    assert _yaml_settings(yml.text) == {
        "enable_attention_dp": "true", "max_seq_len": "2500", "max_batch_size": "32", "max_num_tokens": "4096",
        "enable_chunked_prefill": "true",
        "kv_cache_config.free_gpu_memory_fraction": _floor3((free - reserve) / free),
        "cuda_graph_config.enable_padding": "true", "cuda_graph_config.max_batch_size": "32"}
    assert not any("whole KV blocks" in n for n in by["trtllm"].notes)    # a whole prompt fits a step


def test_inflight_flags_per_server_and_pipeline_batch():
    """dp 2 < pp 2 < tp 8 ; ep 8 > >, batch 250: 125 requests per server (no attention DP), which the
    engines keep in 2 pipeline batches of at most 63; a chunk of 20,000 tokens."""
    _, result = _result(CASES["inflight-dp-pp"][0])
    by = _by_engine(result)
    for c in by["vllm"].commands:
        if c.argv[:2] != ("vllm", "serve"):
            continue
        assert _value(c.argv, "--max-num-seqs") == "125"                  # all of the engine's pipeline batches
        assert _value(c.argv, "--max-num-batched-tokens") == "20000"
        assert _value(c.argv, "--max-cudagraph-capture-size") == "128"    # 125 → the next multiple of 8
    sglang = [c.argv for c in by["sglang"].commands]
    assert len(sglang) == 4                                               # 2 servers × 2 nodes
    for argv in sglang:
        assert _value(argv, "--max-running-requests") == "125"            # no attention DP: as is
        assert _value(argv, "--chunked-prefill-size") == "20000"
        assert _value(argv, "--max-prefill-tokens") == "20000"            # above SGLang's default 16,384
        assert _value(argv, "--pp-max-micro-batch-size") == "63"          # ceil(125 / 2); SGLang's own: 125 // 2
        assert _value(argv, "--cuda-graph-max-bs-decode") == "63"
    settings = _yaml_settings(by["trtllm"].files[0].text)
    assert settings["max_batch_size"] == settings["cuda_graph_config.max_batch_size"] == "63"   # per pipeline batch
    assert settings["max_num_tokens"] == "20000" and settings["enable_chunked_prefill"] == "true"


def _without_serving_flags(engine: str, argv: tuple[str, ...]) -> tuple[str, ...]:
    valued = {"--max-model-len", "--context-length", "--max-num-seqs", "--max-num-batched-tokens",
              "--gpu-memory-utilization", "--max-cudagraph-capture-size",
              "--max-running-requests", "--chunked-prefill-size", "--max-prefill-tokens", "--pp-max-micro-batch-size",
              "--mem-fraction-static", "--cuda-graph-max-bs-decode"}
    bare = {"--enable-chunked-prefill", "--enable-mixed-chunk"}
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a in valued:
            skip = True
        elif a not in bare:
            out.append(a)
    return tuple(out)


@pytest.mark.parametrize("name", ["inflight-dep", "inflight-dp-pp"])
def test_inflight_only_adds_serving_flags_to_the_static_launch(name):
    """The in-flight launch is the static one of the same strategy with its own serving flags and YAML lines."""
    parts = CASES[name][0]
    _, inflight = _result(parts)
    static_parts = {**parts, "workload": parts["workload"].replace("serving = inflight", "serving = static")
                    .replace(re.search(r"chunk = \d+", parts["workload"]).group(0), "")}
    _, static = _result(static_parts)
    for x, y in zip(launch_result(inflight), launch_result(static), strict=True):
        assert [_without_serving_flags(x.engine, c.argv) for c in x.commands] == \
            [_without_serving_flags(y.engine, c.argv) for c in y.commands]
        assert [c.env for c in x.commands] == [c.env for c in y.commands]
        for f, g in zip(x.files, y.files, strict=True):
            assert f.text.split("max_seq_len")[0] == g.text.split("max_seq_len")[0]    # the same parallel settings
            assert "enable_chunked_prefill: true" in f.text and "enable_chunked_prefill" not in g.text
        assert any(n.startswith("in flight (serving ") for n in x.notes)
        assert any(n.startswith("static (serving ") for n in y.notes)
        assert all("--enable-chunked-prefill" not in c.argv and "--enable-mixed-chunk" not in c.argv
                   for c in y.commands)


@pytest.mark.parametrize("written", ["", "serving = static", "serving = static  chunk = 4096"])
def test_static_plans_launch_with_their_own_serving_flags(written):
    """A static plan, whether it says so or not (a `chunk` it does not read included), is told its longest
    sequence, its requests and a step holding a prefill of all a rank's prompts at once."""
    base = dict(model=QWEN, strategy="strategy tp 1 ; ep 8")
    work = f"workload {{ batch = 64  prompt = 2048  generate = 256  {written} }}"
    _, plain = _result({**base, "workload": "workload { batch = 64  prompt = 2048  generate = 256 }"})
    _, said = _result({**base, "workload": work})
    assert _render(launch_result(said)) == _render(launch_result(plain))
    from dagc.launch.serving import serving
    v = serving(said.plan, said.strategy, said.layout)
    assert v.mode.name == "static" and v.max_len == 2304 and v.requests == 8 and v.chunk == 8 * 2048
    vllm_argv = launch_result(said, ("vllm",))[0].commands[0].argv
    assert _flag(vllm_argv, "--max-model-len") == 2304 and _flag(vllm_argv, "--max-num-seqs") == 8
    assert _flag(vllm_argv, "--max-num-batched-tokens") == 16384 and "--enable-chunked-prefill" not in vllm_argv


def _engine_flags(engine: str, c) -> list[str]:
    """The flags a command hands the engine itself (not mpirun's, not ray's)."""
    start = {"vllm": "serve", "sglang": "sglang.launch_server", "trtllm": "trtllm-serve"}[engine]
    if start not in c.argv:
        return []
    return [a for a in _argv_after(c.argv, start) if a.startswith("--")]


def test_every_flag_and_yaml_key_is_in_the_engines_checked_table():
    """Every flag the commands hand an engine, and every key of TensorRT-LLM's YAML, is one of the
    engine table's FLAGS (YAML_KEYS), each checked against the engine's own parser or source."""
    from dagc.launch import sglang, trtllm, vllm
    flags = {"vllm": vllm.FLAGS, "sglang": sglang.FLAGS, "trtllm": trtllm.FLAGS}
    seen: dict[str, set[str]] = {e: set() for e in ENGINES}
    keys: set[str] = set()
    for parts, _ in CASES.values():
        _, result = _result(parts)
        for x in launch_result(result):
            for c in x.commands:
                seen[x.engine] |= set(_engine_flags(x.engine, c))
            for f in x.files:
                keys |= set(_yaml_settings(f.text))
    for engine in ENGINES:
        assert seen[engine] <= flags[engine], (engine, seen[engine] - flags[engine])
    assert keys <= trtllm.YAML_KEYS, keys - trtllm.YAML_KEYS
    serving_flags = {"vllm": {"--max-num-seqs", "--max-num-batched-tokens", "--enable-chunked-prefill",
                              "--gpu-memory-utilization", "--max-cudagraph-capture-size"},
                     "sglang": {"--max-running-requests", "--chunked-prefill-size", "--enable-mixed-chunk",
                                "--max-prefill-tokens", "--pp-max-micro-batch-size", "--mem-fraction-static",
                                "--cuda-graph-max-bs-decode"}}
    for engine, wanted in serving_flags.items():
        assert wanted <= seen[engine], wanted - seen[engine]                 # the cases above use every one
    assert {"max_batch_size", "max_num_tokens", "enable_chunked_prefill", "kv_cache_config.free_gpu_memory_fraction",
            "cuda_graph_config.enable_padding", "cuda_graph_config.max_batch_size"} <= keys


def test_every_inflight_candidate_launches_with_its_own_share():
    """On every strategy of an in-flight plan's search space that an engine runs: the requests the
    flags give each attention-DP rank are dagc's busiest rank's, the step's tokens the chunk."""
    from dagc.launch.launch import launch
    from dagc.layout.layout import resolve
    from dagc.search.space import candidates
    plan = load_plan_text(plan_text(model=QWEN, cluster=C.format(n=16), workload=INFLIGHT.format(chunk=8192)))
    seen = 0
    for strategy, mb, overlap in candidates(plan):
        strategy = strategy.model_copy(update={"microbatches": mb, "overlap": overlap})
        lay = resolve(plan.model, plan.cluster, strategy.workload_for(plan.workload), strategy)
        d, adp = lay.requests_per_rank, lay.adp
        for engine in ENGINES:
            x = launch(plan, strategy, lay, TABLES[engine])
            if not x.ok:
                continue
            for c in x.commands:
                flags = _engine_flags(engine, c)
                if engine == "vllm" and flags:
                    assert int(_value(c.argv, "--max-num-seqs")) == d
                    assert int(_value(c.argv, "--max-num-batched-tokens")) == 8192
                    assert int(_value(c.argv, "--max-cudagraph-capture-size")) >= d
                elif engine == "sglang" and flags:
                    assert int(_value(c.argv, "--max-running-requests")) // adp == d
                    assert int(_value(c.argv, "--chunked-prefill-size")) // adp == 8192
            if engine == "trtllm":
                settings = _yaml_settings(x.files[0].text)
                assert int(settings["max_batch_size"]) * lay.pp >= d > (int(settings["max_batch_size"]) - 1) * lay.pp
            seen += 1
    assert seen > 20


def test_inflight_cli_prints_the_flags_and_writes_the_yaml(capsys, write_plan, tmp_path):
    path = write_plan(plan_text(model=QWEN, workload=INFLIGHT.format(chunk=4096),
                                strategy="strategy dep = tp 1 ; ep 8"))
    assert main(["launch", str(path), "--engine", "sglang"]) == 0
    out = capsys.readouterr().out
    assert "--max-running-requests 256 --chunked-prefill-size 32768 --enable-mixed-chunk" in out
    assert "note: in flight (serving flags of SGLang 0.5.23): each attention-DP rank runs up to 32 requests" in out
    out_dir = tmp_path / "launch"
    assert main(["launch", str(path), "--engine", "trtllm", "-o", str(out_dir)]) == 0
    settings = _yaml_settings((out_dir / "trtllm-dep.yml").read_text())
    assert settings["max_num_tokens"] == "4096" and settings["cuda_graph_config.max_batch_size"] == "32"


def test_trtllm_notes_a_full_step_it_cuts_to_whole_kv_blocks():
    """TensorRT-LLM cuts prompts at multiples of its 32-token KV block: when dagc fills a step's room
    (chunk − requests) with prompt tokens and the room is not such a multiple, it says so."""
    from dagc.launch.serving import Serving
    from dagc.launch.trtllm import _serving_notes
    v = Serving(batch=250, servers=1, ranks=8, pp=1, requests=32, chunk=4100, capacity_bytes=80e9, reserve_bytes=4e9,
                activation_bytes=1e9, resident_bytes=60e9, room=4068, prompt_tokens=4068)
    assert any("a full step holds 4,064 prompt tokens where dagc counts 4,068" in n for n in _serving_notes(v))
    assert not any("KV blocks" in n for n in _serving_notes(dataclasses.replace(v, prompt_tokens=2000)))
    assert not any("KV blocks" in n for n in _serving_notes(dataclasses.replace(v, room=4064, prompt_tokens=4064)))


def test_trtllm_notes_mla_chunked_prefill_below_sm90():
    """TensorRT-LLM turns chunked prefill off for MLA models below SM90: dagc says so under the command."""
    from dagc.launch.serving import Serving
    from dagc.launch.trtllm import _serving_notes
    v = Serving(batch=64, servers=1, ranks=8, pp=1, requests=8, chunk=8192, capacity_bytes=80e9, reserve_bytes=4e9,
                activation_bytes=1e9, resident_bytes=60e9, mla=True, gpu="a100-80g")
    assert any("below SM90 (a100-80g is SM80)" in n for n in _serving_notes(v))
    assert not any("SM90" in n for n in _serving_notes(dataclasses.replace(v, gpu="h100-sxm")))
    assert not any("SM90" in n for n in _serving_notes(dataclasses.replace(v, mla=False)))


def test_a_replica_that_straddles_nodes_is_told_the_replica_sizes_that_launch(capsys, tmp_path):
    """E701 depends on a replica's GPUs alone (pp × stage group), so no strategy on the same GPUs escapes it: the hint
    names the replica sizes that launch (a divisor of the node, or whole nodes). Until 2026-11-30 it said none of the
    strategies nearest it "checks without errors", as if some had been tried."""
    plan = tmp_path / "p.moe"
    plan.write_text('model preset "qwen3-30b-a3b"\ncluster { gpus = 16  gpus_per_node = 8  gpu preset "h100-sxm" }\n'
                    "workload { batch = 64 prompt = 1000 generate = 200 }\nstrategy pp 3 < tp 4 >\n")
    assert main(["launch", str(plan), "--engine", "sglang"]) == 3
    out = capsys.readouterr().out
    assert ("= help: no strategy whose replica takes 12 GPUs can be launched, whatever its degrees: a replica of 8 or "
            "16 GPUs (pp × stage group: a divisor of the node's 8 GPUs, or whole nodes) can, e.g. with fewer or more "
            "pipeline stages") in out
    assert "checks without errors" not in out
