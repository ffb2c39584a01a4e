"""`dagc launch` with expert-parallel load balancing (`with redundant R`): each engine's EPLB flags or
YAML carry R (vLLM 0.33 `--enable-eplb --eplb-config`, SGLang 0.5.23 `--enable-eplb
--ep-num-redundant-experts`, TensorRT-LLM 1.2 `moe_config.load_balancer`), none without the option,
`with redundant 0` balances without copies; E707 refuses EP 1 and the models an engine's EPLB does not
run; the notes say the engines balance from their own statistics and never read dagc's load file."""

from __future__ import annotations

import json
import re
import shlex

import pytest
from test_launch import _engine_flags, _value

from dagc.cli.main import main
from dagc.diagnostics import render
from dagc.lang.load import load_plan
from dagc.launch import sglang, trtllm, vllm
from dagc.launch.engines import ENGINES, TABLES, launch_result
from dagc.launch.eplb import architecture
from dagc.launch.nearest import nearest
from dagc.rules import explain
from dagc.verdict.check import check

DEEPSEEK_MOE_LAYERS, DEEPSEEK_EXPERTS = 58, 256     # 61 layers, the first 3 dense
LOAD_FILE = "expert_load.json"
PLAN = """model {model}
cluster {{ gpus = {gpus}  gpus_per_node = 8  gpu preset "h800" }}
workload {{ batch = 256  prompt = 2048  generate = 256 {routing} {serving} }}
strategy {strategy}
"""
DEEPSEEK = 'preset "deepseek-v3"'
QWEN = 'preset "qwen3-30b-a3b"'
DEP32 = "tp 1 ; ep 32"                       # 32 GPUs of attention DP × EP 32: every engine runs it
INFLIGHT = "serving = inflight"              # a disaggregated strategy serves in flight (E309)


def _loads(layers: int, experts: int) -> dict:
    """A skewed load: the first 8 experts of every layer take most tokens."""
    return {"layers": [[(60 if e < 8 else 20) + (e * 7 + layer) % 13 for e in range(experts)]
                       for layer in range(layers)]}


def _plan(tmp_path, strategy: str, model: str = DEEPSEEK, gpus: int = 32, load_file: str | None = LOAD_FILE,
          layers: int = DEEPSEEK_MOE_LAYERS, experts: int = DEEPSEEK_EXPERTS, serving: str = ""):
    if load_file is not None:
        (tmp_path / load_file).write_text(json.dumps(_loads(layers, experts)))
    routing = f'routing from "{load_file}"' if load_file is not None else ""
    path = tmp_path / "plan.moe"
    path.write_text(PLAN.format(model=model, gpus=gpus, routing=routing, serving=serving, strategy=strategy))
    return load_plan(path)


def _launches(plan, engines=ENGINES):
    result = check(plan)[0]
    assert result.valid, [render(d) for d in result.diagnostics if d.is_error]
    return {x.engine: x for x in launch_result(result, engines)}, result


def _servers(x) -> list[tuple[str, ...]]:
    return [c.argv for c in x.commands if _engine_flags(x.engine, c)]


def _yaml_tree(text: str) -> dict[str, str]:
    """The settings of a YAML `dagc launch` writes (block mappings, two spaces an indent), as dotted
    paths → value text."""
    out, parents = {}, []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        depth = (len(line) - len(line.lstrip())) // 2
        key, _, value = line.strip().partition(":")
        parents = parents[:depth]
        if value.strip():
            out[".".join([*parents, key])] = value.strip()
        else:
            parents.append(key)
    return out


def _split_eplb(argv: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """The EPLB flags of a command (with their values), and the rest of it."""
    valued = {"--eplb-config", "--ep-num-redundant-experts"}
    eplb, rest, i = [], [], 0
    while i < len(argv):
        if argv[i] in valued:
            eplb += argv[i:i + 2]
            i += 2
            continue
        (eplb if argv[i] == "--enable-eplb" else rest).append(argv[i])
        i += 1
    return eplb, rest


def _eplb_words(engine: str, argv: tuple[str, ...]) -> list[str]:
    return _split_eplb(argv)[0]


# ---------------------------------------------------------------- the flags, with and without the option


def test_redundant_32_on_deepseek_writes_every_engines_eplb(tmp_path):
    by, _ = _launches(_plan(tmp_path, f"{DEP32} with redundant 32"))
    assert all(x.ok for x in by.values()), {e: [render(d) for d in x.refusals] for e, x in by.items()}
    for argv in _servers(by["vllm"]):
        assert "--enable-eplb" in argv and "--enable-expert-parallel" in argv
        assert json.loads(_value(argv, "--eplb-config")) == {"num_redundant_experts": 32}
    for argv in _servers(by["sglang"]):
        assert _eplb_words("sglang", argv) == ["--enable-eplb", "--ep-num-redundant-experts", "32"]
        assert _value(argv, "--ep-size") == "32"
    (yml,) = by["trtllm"].files
    settings = _yaml_tree(yml.text)
    assert settings["moe_config.load_balancer.num_slots"] == "288"            # 256 experts + 32 redundant
    assert settings["moe_config.load_balancer.layer_updates_per_iter"] == "1"  # online: from its own statistics
    assert settings["enable_attention_dp"] == "true"


def test_the_papers_strategy_carries_eplb_where_the_engine_runs_it_and_in_the_nearest(tmp_path):
    """`pp 2 < tp 4 ; ep 32 > with redundant 32` (docs/language.md) on 64 GPUs: SGLang runs it with its
    flags; vLLM (E704) and TensorRT-LLM (E721) refuse the degrees, and the nearest strategy each names
    keeps `with redundant 32`, which `--strategy` accepts."""
    plan = _plan(tmp_path, "pp 2 < tp 4 ; ep 32 > with redundant 32", gpus=64)
    by, result = _launches(plan)
    assert by["sglang"].ok
    for argv in _servers(by["sglang"]):
        assert _eplb_words("sglang", argv) == ["--enable-eplb", "--ep-num-redundant-experts", "32"]
    assert [d.code for d in by["vllm"].refusals] == ["E704"]
    assert [d.code for d in by["trtllm"].refusals] == ["E721"]
    for engine in ("vllm", "trtllm"):
        near = nearest(plan, result.strategy, result.layout, TABLES[engine])
        assert near is not None and near.text.endswith("with redundant 32"), near
        again = check(plan, near.text)[0]
        assert again.valid and again.layout.eplb and again.layout.redundant == 32
        (x,) = launch_result(again, (engine,))
        assert x.ok and any("EPLB" in n for n in x.notes)


def _drop(argv: list[str], flags: set[str]) -> list[str]:
    return [a for i, a in enumerate(argv) if a not in flags and (i == 0 or argv[i - 1] not in flags)]


def test_without_the_option_no_engine_balances_and_the_rest_is_unchanged(tmp_path):
    on, _ = _launches(_plan(tmp_path, f"{DEP32} with redundant 32"))
    off, _ = _launches(_plan(tmp_path, DEP32))
    for engine in ("vllm", "sglang"):
        for a, b in zip(_servers(on[engine]), _servers(off[engine]), strict=True):
            assert not _eplb_words(engine, b)
            memory = {"--gpu-memory-utilization", "--mem-fraction-static"}      # the slots' memory moves them
            assert _drop(_split_eplb(a)[1], memory) == _drop(list(b), memory)   # EPLB only adds its flags
        assert not any("EPLB" in n for n in off[engine].notes)
    assert "moe_config" not in off["trtllm"].files[0].text
    assert on["trtllm"].files[0].text.endswith(
        "moe_config:\n  load_balancer:\n    num_slots: 288\n    layer_updates_per_iter: 1\n")
    assert [c.argv for c in off["trtllm"].commands] == [
        tuple(a.replace("-with-redundant-32", "") for a in c.argv) for c in on["trtllm"].commands]


def test_redundant_0_turns_eplb_on_without_redundant_slots(tmp_path):
    by, _ = _launches(_plan(tmp_path, f"{DEP32} with redundant 0"))
    assert all(x.ok for x in by.values())
    for argv in _servers(by["vllm"]):
        assert "--enable-eplb" in argv and json.loads(_value(argv, "--eplb-config")) == {"num_redundant_experts": 0}
    for argv in _servers(by["sglang"]):
        assert _eplb_words("sglang", argv) == ["--enable-eplb", "--ep-num-redundant-experts", "0"]
    assert _yaml_tree(by["trtllm"].files[0].text)["moe_config.load_balancer.num_slots"] == "256"
    for x in by.values():
        assert any(n.startswith("EPLB (") and "256 experts and 0 redundant, 8 per EP rank" in n for n in x.notes)


# ---------------------------------------------------------------- the notes


def test_notes_say_the_engines_balance_from_their_own_statistics_never_dagcs_file(tmp_path):
    by, _ = _launches(_plan(tmp_path, f"{DEP32} with redundant 32"))
    for x in by.values():
        (note,) = [n for n in x.notes if n.startswith("EPLB (")]
        assert "from its own runtime statistics" in note
        assert f"dagc's figures assume the placement EPLB reaches from the plan's measured loads (`routing from " \
               f"\"{LOAD_FILE}\"`)" in note and f"a file {x.name} never reads" in note
        assert "288 expert slots per MoE layer (256 experts and 32 redundant, 9 per EP rank)" in note
        assert not any(LOAD_FILE in c.text for c in x.commands)              # never handed to the engine
        assert not any(LOAD_FILE in f.text for f in x.files)
    assert any("--init-expert-location FILE takes SGLang's own expert-distribution dump" in n
               and "never dagc's file" in n for n in by["sglang"].notes)
    assert any("step_interval" in n for n in by["vllm"].notes)
    assert any("layer_updates_per_iter 1" in n for n in by["trtllm"].notes)


def test_without_measured_loads_the_note_says_dagc_counts_no_gain(tmp_path):
    by, result = _launches(_plan(tmp_path, f"{DEP32} with redundant 32", load_file=None))
    assert "W516" in {d.code for d in result.diagnostics}
    for x in by.values():
        (note,) = [n for n in x.notes if n.startswith("EPLB (")]
        assert "the plan measures no loads (no `routing from`)" in note and "(W516)" in note


def test_a_load_file_name_from_the_plan_is_never_a_shell_word(tmp_path):
    """The plan names its load file; that name reaches the notes only, and every command still splits
    back into its own words."""
    name = "loads $(touch x) it's.json"
    by, _ = _launches(_plan(tmp_path, f"{DEP32} with redundant 32", load_file=name))
    for x in by.values():
        assert any(name in n for n in x.notes)
        for c in x.commands:
            assert name not in c.text and "$(touch" not in c.text
            assert shlex.split(c.text.replace("$NODE", "NODE")) == [a.replace("$NODE", "NODE") for a in c.argv]


# ---------------------------------------------------------------- E707


def test_ep_1_is_refused_by_every_engine_at_the_option(tmp_path):
    plan = _plan(tmp_path, "tp 8 with redundant 8", model=QWEN, gpus=8, load_file=None)
    by, result = _launches(plan)
    for x in by.values():
        assert [d.code for d in x.refusals] == ["E707"], x.engine
        d = x.refusals[0]
        assert d.span.text == "redundant 8" and d.message.startswith(f"{x.name}: EPLB moves experts between EP ranks")
        assert re.search(r"plan\.moe:4:\d+: error\[E707\]: ", render(d))
        near = nearest(plan, result.strategy, result.layout, TABLES[x.engine])
        assert near is not None and near.text == "tp 8"                         # EPLB off, nothing else moved
    assert "enable_expert_parallel must be True to use EPLB" in by["vllm"].refusals[0].message
    assert "handle_eplb_and_dispatch" in by["sglang"].refusals[0].message
    assert "maybe_create_moe_load_balancer" in by["trtllm"].refusals[0].message


# preset: its MoE layers and experts, its GPUs (EP over all of them), the engines that refuse its EPLB
ARCHITECTURE_CASES = {
    "gpt-oss-120b": (36, 128, 8, {"vllm", "trtllm"}),       # vLLM: no MixtureOfExperts; TRT-LLM: not in its list
    "mixtral-8x7b": (32, 8, 8, {"sglang"}),                 # SGLang: no get_model_config_for_expert_location
    "glm-4.5": (89, 160, 32, {"trtllm"}),
    "qwen3-30b-a3b": (48, 128, 8, set()),
}


@pytest.mark.parametrize("preset", sorted(ARCHITECTURE_CASES))
def test_each_engine_balances_only_the_models_its_code_balances(tmp_path, preset):
    layers, experts, gpus, refusing = ARCHITECTURE_CASES[preset]
    plan = _plan(tmp_path, f"tp 1 ; ep {gpus} with redundant {gpus}", model=f'preset "{preset}"', gpus=gpus,
                 layers=layers, experts=experts)
    by, result = _launches(plan)
    assert {e for e, x in by.items() if not x.ok} == refusing
    for engine in refusing:
        (d,) = by[engine].refusals
        assert d.code == "E707" and "its EPLB does not run for" in d.message and d.span.text == f"redundant {gpus}"
        near = nearest(plan, result.strategy, result.layout, TABLES[engine])
        assert near is not None and near.text == f"tp 1 ; ep {gpus}"
    for engine in set(ENGINES) - refusing:
        assert any(n.startswith("EPLB (") for n in by[engine].notes)


def test_model_from_config_is_judged_by_its_architectures(tmp_path):
    from hf_configs import QWEN3_30B_A3B
    for arch, refusing, unknown in (("Qwen3MoeForCausalLM", set(), set()),
                                    ("FooMoeForCausalLM", {"trtllm"}, {"vllm", "sglang"})):
        d = tmp_path / arch
        d.mkdir()
        (d / "config.json").write_text(json.dumps({**QWEN3_30B_A3B, "architectures": [arch]}))
        plan = _plan(d, "tp 1 ; ep 8 with redundant 8", model=f'from "{d / "config.json"}"', gpus=8,
                     load_file=None)
        assert architecture(plan) == arch
        by, _ = _launches(plan)
        assert {e for e, x in by.items() if not x.ok} == refusing      # TensorRT-LLM's list is exhaustive
        for engine in unknown:
            assert any(n.startswith(f"EPLB: dagc cannot tell whether {by[engine].name}'s EPLB runs for {arch}")
                       for n in by[engine].notes)


def test_a_disaggregated_strategy_balances_the_pools_with_ep(tmp_path, capsys):
    """`with redundant R` reaches the pools with ep > 1 only: a prefill pool of ep 1 holds every expert on each
    GPU and runs without EPLB (no E707 on any engine, no W516 of its own) while the decode pool balances;
    with EP in both pools every server balances."""
    text = "prefill 1 < tp 8 > decode 1 < tp 1 ; ep 8 > with redundant 8"
    plan = _plan(tmp_path, text, model=QWEN, gpus=16, load_file=None, serving=INFLIGHT)
    by, result = _launches(plan)
    pre, dec = (p.pool.strategy for p in result.pooled.pools)
    assert (pre.redundant, dec.redundant) == (None, 8)
    assert [d.message.split(":")[0] for d in result.diagnostics if d.code == "W516"] == ["decode pool"]
    for x in by.values():
        assert x.ok, [render(d) for d in x.refusals]
    prefill_argv, decode_argv = _servers(by["sglang"])
    assert _eplb_words("sglang", prefill_argv) == []
    assert _eplb_words("sglang", decode_argv) == ["--enable-eplb", "--ep-num-redundant-experts", "8"]
    assert main(["launch", str(tmp_path / "plan.moe"), "--engine", "vllm"]) == 0
    assert "E707" not in capsys.readouterr().out
    # with no pool of ep > 1 the option stays on both, and each engine refuses it at the option — once, both
    # pools being refused in the same words (not once a pool)
    plan = _plan(tmp_path, "prefill 1 < tp 8 > decode 1 < tp 8 > with redundant 8", model=QWEN, gpus=16,
                 load_file=None, serving=INFLIGHT)
    by, result = _launches(plan, ("sglang",))
    assert [d.code for d in by["sglang"].refusals] == ["E707"]
    assert not by["sglang"].refusals[0].message.startswith(("prefill pool", "decode pool"))
    plan = _plan(tmp_path, "prefill 1 < tp 1 ; ep 8 > decode 1 < tp 1 ; ep 8 > with redundant 8", model=QWEN,
                 gpus=16, load_file=None, serving=INFLIGHT)
    by, _ = _launches(plan)
    for x in by.values():
        assert x.ok, [render(d) for d in x.refusals]
    for argv in _servers(by["sglang"]):
        assert _eplb_words("sglang", argv) == ["--enable-eplb", "--ep-num-redundant-experts", "8"]
    pools = [f for f in by["trtllm"].files if f.name.endswith(("-prefill.yml", "-decode.yml"))]
    assert len(pools) == 2 and all("num_slots: 136" in f.text for f in pools)       # 128 experts + 8


def test_explain_e707(capsys):
    assert explain("E707") is not None
    assert main(["explain", "E707"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("E707 (error): ") and "Bad:" in text and "Fixed:" in text


# ---------------------------------------------------------------- checked against the engines


def test_every_eplb_flag_and_key_is_in_the_engines_checked_table(tmp_path):
    """Snapshot: what the EPLB cases write, all in the tables checked against the releases (vLLM 0.33.0 and
    SGLang 0.5.23 parsers; TensorRT-LLM 1.2 llm_args.py)."""
    flags = {"vllm": vllm.FLAGS, "sglang": sglang.FLAGS, "trtllm": trtllm.FLAGS}
    seen: dict[str, set[str]] = {e: set() for e in ENGINES}
    keys: set[str] = set()
    json_keys: set[str] = set()
    for r in (32, 0):
        by, _ = _launches(_plan(tmp_path, f"{DEP32} with redundant {r}"))
        for x in by.values():
            for argv in _servers(x):
                seen[x.engine] |= {a for a in argv if a.startswith("--")}
                if "--eplb-config" in argv:
                    json_keys |= set(json.loads(_value(argv, "--eplb-config")))
            for f in x.files:
                keys |= set(_yaml_tree(f.text))
    for engine in ENGINES:
        assert seen[engine] <= flags[engine], (engine, seen[engine] - flags[engine])
    assert keys <= trtllm.YAML_KEYS, keys - trtllm.YAML_KEYS
    assert json_keys == vllm.EPLB_KEYS
    assert {"--enable-eplb", "--eplb-config"} <= seen["vllm"]
    assert {"--enable-eplb", "--ep-num-redundant-experts"} <= seen["sglang"]
    assert {"moe_config.load_balancer.num_slots", "moe_config.load_balancer.layer_updates_per_iter"} <= keys


def test_vllm_parses_the_eplb_flags_into_its_config(tmp_path):
    """Runs where vLLM is installed: its own `vllm serve` parser and EPLBConfig take dagc's command."""
    pytest.importorskip("vllm")
    from vllm.config.parallel import EPLBConfig
    from vllm.entrypoints.common.cli_args import make_arg_parser
    from vllm.utils.argparse_utils import FlexibleArgumentParser
    parser = make_arg_parser(FlexibleArgumentParser())
    by, _ = _launches(_plan(tmp_path, f"{DEP32} with redundant 32"), ("vllm",))
    argv = _servers(by["vllm"])[0]
    args = parser.parse_args(list(argv[2:]))
    config = args.eplb_config if isinstance(args.eplb_config, EPLBConfig) else EPLBConfig(**args.eplb_config)
    assert args.enable_eplb and args.enable_expert_parallel and config.num_redundant_experts == 32


def test_sglang_parses_the_eplb_flags(tmp_path):
    """Runs where SGLang is installed: its own parser (abbreviations off) takes every EPLB flag."""
    pytest.importorskip("sglang")
    import argparse

    from sglang.srt.server_args import ServerArgs
    parser = argparse.ArgumentParser(allow_abbrev=False)
    ServerArgs.add_cli_args(parser)
    by, _ = _launches(_plan(tmp_path, f"{DEP32} with redundant 32"), ("sglang",))
    words = _eplb_words("sglang", _servers(by["sglang"])[0])
    args = parser.parse_args(["--model-path", "m", "--ep-size", "32", *words])
    assert args.enable_eplb and args.ep_num_redundant_experts == 32


def test_the_gb200_pd_plans_strategy_launches_with_eplb_in_its_decode_pool(capsys):
    """A user's plan (tests/fixtures/p3-dsv3-gb200-pd.moe): `with redundant 32` beside a prefill pool of ep 1
    launches on vLLM, the decode pool balancing 288 slots over ep 48, and the header names the plan's engine
    as dagc's default (the plan names none)."""
    from pathlib import Path
    plan = str(Path(__file__).parent / "fixtures" / "p3-dsv3-gb200-pd.moe")
    assert main(["launch", plan, "--strategy", "pd = prefill 2 < tp 8 > decode 1 < tp 1 ; ep 48 > with redundant 32",
                 "--engine", "vllm"]) == 0
    out = capsys.readouterr().out
    servers = [line for line in out.splitlines() if " vllm serve " in line]
    # the rack's 4-GPU hosts: each prefill instance's server on its first host, the decode pool's 48 GPUs on 12
    assert "error[E707]" not in out and [("--enable-eplb" in line) for line in servers] == [False, False] + [True] * 12
    assert "64 GPUs in two pools (16 nodes of 4: the hosts of 1 NVLink domain of 72)" in out
    assert "--eplb-config '{\"num_redundant_experts\":32}'" in out
    assert main(["launch", plan, "--strategy", "pd"]) == 0
    assert "served by vllm 0.33.0 (dagc's default engine: the plan names none;" in capsys.readouterr().out


def test_the_hint_without_a_nearest_strategy_says_how_far_dagc_looked(tmp_path, monkeypatch):
    """When none of the nearest strategies dagc tries is valid, the hint says it tried those, never that no
    strategy on the same GPUs exists."""
    import dagc.launch.engine_check as engine_check
    from dagc.launch.nearest import NEAREST_TRIES
    plan = _plan(tmp_path, "prefill 1 < tp 8 > decode 1 < tp 8 > with redundant 8", model=QWEN, gpus=16,
                 load_file=None, serving=INFLIGHT)
    by, result = _launches(plan, ("vllm",))
    monkeypatch.setattr(engine_check, "nearest_pooled", lambda *a: None)
    hint, near = engine_check.refusal_hint(result, by["vllm"])
    # until 2026-11-29 "of the strategies nearest it on the same 16 GPUs (…), none that vLLM can be told is valid in
    # dagc", which read as a sentence cut in two
    assert near is None and hint == (f"none of the strategies nearest it that vLLM can run on the same 16 GPUs (dagc "
                                     f"tries at most {NEAREST_TRIES}) checks without errors; `dagc search` weighs more")


def test_the_hint_without_a_nearest_strategy_on_one_gpu_says_gpu(tmp_path, monkeypatch):
    """On one GPU the hint says "the same GPU": until 2026-11-30 it said "on the same 1 GPUs" (`dagc search` of
    DeepSeek-V3 on 8 H100s under SGLang, its E715 example `tp 1 with microbatches 2 overlap microbatch`)."""
    import dagc.launch.engine_check as engine_check
    from dagc.launch.nearest import NEAREST_TRIES
    path = tmp_path / "one.moe"
    path.write_text('model preset "qwen3-30b-a3b"\ncluster { gpus = 1  gpu preset "h200" }\n'
                    "workload { batch = 8  prompt = 512  generate = 64 }\n"
                    "strategy tp 1 with microbatches 2 overlap microbatch\n")
    by, result = _launches(load_plan(path), ("sglang",))
    assert "E715" in {d.code for d in by["sglang"].refusals}
    monkeypatch.setattr(engine_check, "nearest", lambda *a: None)
    hint, near = engine_check.refusal_hint(result, by["sglang"])
    assert near is None and hint == (f"none of the strategies nearest it that SGLang can run on the same GPU (dagc "
                                     f"tries at most {NEAREST_TRIES}) checks without errors; `dagc search` weighs more")
