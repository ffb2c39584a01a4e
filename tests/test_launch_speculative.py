"""`dagc launch` with speculative decoding (`workload { speculative { … } }`): each engine's flags or
YAML carry the method and k drafted tokens, `method = mtp` on a checkpoint without MTP weights is
refused (E706), SGLang's own refusals (E714), and every flag and key is in the engine's checked table."""

from __future__ import annotations

import json
import re

import pytest
from test_launch import _engine_flags, _value, _yaml_settings

from dagc.cli.main import main
from dagc.diagnostics import render
from dagc.lang.load import load_plan_text
from dagc.launch import sglang, trtllm, vllm
from dagc.launch.engines import ENGINES, launch_result
from dagc.rules import explain
from dagc.verdict.check import check
from conftest import plan_text

C16 = 'cluster { gpus = 16  gpus_per_node = 8  gpu preset "h200" }'
C8 = 'cluster { gpus = 8  gpu preset "h100-sxm" }'
WORK = "workload {{ batch = 64  prompt = 2000  generate = 500 {serving} speculative {{ {spec} }} }}"

# name: (plan parts, what the case shows)
CASES = {
    "mtp-deepseek": (dict(model='model preset "deepseek-v3"', cluster=C16, strategy="strategy tp 1 ; ep 16",
                          workload=WORK.format(serving="", spec="method = mtp  tokens = 2  acceptance = 0.7")),
                     "DeepSeek-V3 ships its MTP layer: every engine drafts with it"),
    "mtp-glm-inflight": (dict(model='model preset "glm-4.5"', cluster=C16, strategy="strategy tp 8 ; ep 8",
                              workload=WORK.format(serving="serving = inflight  chunk = 8192",
                                                   spec="method = mtp  tokens = 3  accept_length = 2.6")),
                         "GLM-4.5 in flight: the serving flags and the speculative ones together"),
    "eagle-qwen": (dict(model='model preset "qwen3-30b-a3b"', cluster=C8, strategy="strategy tp 1 ; ep 8",
                        workload=WORK.format(serving="", spec="method = eagle  tokens = 3  acceptance = 0.7")),
                   "EAGLE-3 with a draft placeholder"),
    "ngram-mixtral": (dict(model='model preset "mixtral-8x7b"', cluster=C8, strategy="strategy tp 8",
                           workload=WORK.format(serving="", spec="method = ngram  tokens = 4  acceptance = 0.5")),
                      "n-gram drafting, no draft model"),
    "mtp-mixtral": (dict(model='model preset "mixtral-8x7b"', cluster=C8, strategy="strategy tp 8",
                         workload=WORK.format(serving="", spec="method = mtp  tokens = 2  acceptance = 0.7")),
                    "Mixtral has no MTP module: E706 on every engine"),
    "mtp-qwen": (dict(model='model preset "qwen3-30b-a3b"', cluster=C8, strategy="strategy tp 1 ; ep 8",
                      workload=WORK.format(serving="", spec="method = mtp  tokens = 1  acceptance = 0.8")),
                 "Qwen3 has no MTP module: E706"),
    "ngram-attention-dp": (dict(model='model preset "qwen3-30b-a3b"', cluster=C8, strategy="strategy tp 1 ; ep 8",
                                workload=WORK.format(serving="", spec="method = ngram  tokens = 2  acceptance = 0.5")),
                           "SGLang runs no NGRAM with attention DP (E714)"),
    "mtp-pp": (dict(model='model preset "deepseek-v3"', cluster=C16, strategy="strategy pp 2 < tp 8 ; ep 8 >",
                    workload=WORK.format(serving="", spec="method = mtp  tokens = 1  acceptance = 0.8")),
               "SGLang runs no speculative decoding with pipeline stages (E714)"),
    "mtp-pp-prefill-pool": (dict(model='model preset "deepseek-v3"', cluster=C16,
                                 strategy="strategy prefill 1 < pp 2 < tp 4 ; ep 4 > > decode 1 < tp 8 ; ep 8 >",
                                 workload=WORK.format(serving="serving = inflight",
                                                      spec="method = mtp  tokens = 1  acceptance = 0.8")),
                            "SGLang's prefill server runs MTP (NEXTN, an EAGLE) with pipeline stages"),
    "eagle-pp-prefill-pool": (dict(model='model preset "deepseek-v3"', cluster=C16,
                                   strategy="strategy prefill 1 < pp 2 < tp 4 ; ep 4 > > decode 1 < tp 8 ; ep 8 >",
                                   workload=WORK.format(serving="serving = inflight",
                                                        spec="method = eagle  tokens = 1  acceptance = 0.8")),
                              "… but not EAGLE-3 (E714)"),
}


def _launches(name: str):
    plan = load_plan_text(plan_text(**CASES[name][0]))
    result = check(plan)[0]
    assert result.valid, [render(d) for d in result.diagnostics if d.is_error]
    return {x.engine: x for x in launch_result(result)}


def _server(x) -> tuple[str, ...]:
    return next(c.argv for c in x.commands if _engine_flags(x.engine, c))


def _spec_json(argv: tuple[str, ...]) -> dict:
    return json.loads(_value(argv, "--speculative-config"))


def _spec_flags(argv: tuple[str, ...]) -> list[str]:
    out, i = [], 0
    while i < len(argv):
        if argv[i].startswith("--speculative-"):
            out += list(argv[i:i + 2])
            i += 2
        else:
            i += 1
    return out


def test_mtp_flags_carry_k_on_every_engine():
    by = _launches("mtp-deepseek")
    assert all(x.ok for x in by.values())
    assert _spec_json(_server(by["vllm"])) == {"method": "mtp", "num_speculative_tokens": 2}
    assert _spec_flags(_server(by["sglang"])) == [
        "--speculative-algorithm", "NEXTN", "--speculative-num-steps", "2", "--speculative-eagle-topk", "1",
        "--speculative-num-draft-tokens", "3"]
    settings = _yaml_settings(by["trtllm"].files[0].text)
    assert settings["speculative_config.decoding_type"] == "MTP"
    assert settings["speculative_config.num_nextn_predict_layers"] == "2"
    for x in by.values():
        assert any("acceptance 0.7" in n and "not an engine flag" in n and "measures" in n for n in x.notes)


def test_mtp_in_flight_keeps_the_serving_flags_and_graphs_every_verified_position():
    by = _launches("mtp-glm-inflight")
    argv = _server(by["vllm"])
    requests = int(_value(argv, "--max-num-seqs"))
    assert int(_value(argv, "--max-cudagraph-capture-size")) >= requests * 4      # k + 1 = 4 tokens per request
    assert _spec_json(argv)["num_speculative_tokens"] == 3
    sg = _server(by["sglang"])
    assert "--max-running-requests" in sg and _value(sg, "--speculative-num-draft-tokens") == "4"
    settings = _yaml_settings(by["trtllm"].files[0].text)
    assert settings["max_num_tokens"] == "8192" and settings["speculative_config.num_nextn_predict_layers"] == "3"
    assert not any("caps the requests in flight at 48" in n for n in by["sglang"].notes)


def test_eagle_writes_a_draft_placeholder_and_says_so():
    by = _launches("eagle-qwen")
    draft = "/path/to/Qwen3-30B-A3B-eagle3-draft"
    assert _spec_json(_server(by["vllm"])) == {"method": "eagle3", "model": draft, "num_speculative_tokens": 3}
    assert _spec_flags(_server(by["sglang"])) == [
        "--speculative-algorithm", "EAGLE3", "--speculative-draft-model-path", draft, "--speculative-num-steps", "3",
        "--speculative-eagle-topk", "1", "--speculative-num-draft-tokens", "4"]
    settings = _yaml_settings(by["trtllm"].files[0].text)
    assert (settings["speculative_config.decoding_type"], settings["speculative_config.max_draft_len"],
            settings["speculative_config.speculative_model"]) == ("Eagle3", "3", draft)
    for x in by.values():
        assert any(n.startswith(f"{draft}: a placeholder") for n in x.notes)
    assert "--max-running-requests" in _server(by["sglang"])     # so SGLang's cap of 48 when speculating is lifted


def test_ngram_has_no_draft_model():
    by = _launches("ngram-mixtral")
    assert _spec_json(_server(by["vllm"])) == {"method": "ngram", "num_speculative_tokens": 4,
                                               "prompt_lookup_max": 5, "prompt_lookup_min": 5}
    assert _spec_flags(_server(by["sglang"])) == ["--speculative-algorithm", "NGRAM",
                                                  "--speculative-num-draft-tokens", "5"]
    settings = _yaml_settings(by["trtllm"].files[0].text)
    assert settings["speculative_config.decoding_type"] == "NGram"
    assert settings["speculative_config.max_draft_len"] == "4"
    assert "speculative_config.speculative_model" not in settings


@pytest.mark.parametrize("name", ["mtp-mixtral", "mtp-qwen"])
def test_mtp_without_mtp_weights_is_refused_at_the_method(name):
    by = _launches(name)
    for x in by.values():
        assert [d.code for d in x.refusals] == ["E706"], x.engine
        text = render(x.refusals[0])
        assert re.match(r"plan\.moe:\d+:\d+: error\[E706\]: ", text) and "^" in text
        assert x.refusals[0].span.text.startswith("method = mtp")
        assert x.refusals[0].message.startswith(x.name + ":")
        assert "method = eagle" in x.refusals[0].message and "method = ngram" in x.refusals[0].message
    assert "vllm/config/speculative.py" in by["vllm"].refusals[0].message
    assert "speculative_hook.py" in by["sglang"].refusals[0].message
    assert "MTPDecodingConfig" in by["trtllm"].refusals[0].message


def test_sglang_refuses_ngram_with_attention_dp_and_speculation_with_stages():
    by = _launches("ngram-attention-dp")
    assert [d.code for d in by["sglang"].refusals] == ["E714"] and by["vllm"].ok and by["trtllm"].ok
    by = _launches("mtp-pp")
    assert [d.code for d in by["sglang"].refusals] == ["E714"] and by["vllm"].ok


def test_sglang_runs_mtp_with_pipeline_stages_on_a_prefill_server_only():
    """SGLang 0.5.23's `check_pipeline_parallel_compat`: with pp > 1 the algorithm must be EAGLE (NEXTN, the MTP
    layer, resolves to it) and the server a disaggregated prefill server; its decode server has no stages here."""
    x = _launches("mtp-pp-prefill-pool")["sglang"]
    assert x.ok, [render(d) for d in x.refusals]
    prefill = next(c for c in x.commands if "--disaggregation-mode" in c.argv
                   and c.argv[c.argv.index("--disaggregation-mode") + 1] == "prefill")
    assert _value(prefill.argv, "--pp-size") == "2" and _value(prefill.argv, "--speculative-algorithm") == "NEXTN"
    (refusal,) = _launches("eagle-pp-prefill-pool")["sglang"].refusals
    assert refusal.code == "E714" and "EAGLE3 with pp 2 on a prefill pool's server" in refusal.message


def test_nearest_for_sglang_ngram_drops_attention_dp():
    from dagc.launch.engines import TABLES
    from dagc.launch.nearest import nearest
    plan = load_plan_text(plan_text(**CASES["ngram-attention-dp"][0]))
    result = check(plan)[0]
    near = nearest(plan, result.strategy, result.layout, TABLES["sglang"])
    assert near is not None and near.text.startswith("tp 8")


def test_nearest_for_sglang_mtp_with_stages_folds_the_stages_away(capsys):
    """E714's fix drops the pipeline stages (`dagc explain E714`): the nearest strategy SGLang runs folds them into
    replicas (two steps: pp and dp) before the stage group (three: pp, tp or attention DP, ep). Until 2026-12-02
    every candidate kept pp 2 and the hint said none of them "checks without errors"."""
    from dagc.launch.engine_check import refusal_hint
    from dagc.launch.engines import TABLES
    from dagc.launch.nearest import _ranked
    from dagc.plan.printer import strategy_source
    plan = load_plan_text(plan_text(**CASES["mtp-pp"][0]))
    result = check(plan)[0]
    ranked = [strategy_source(s) for s in _ranked(plan, result.strategy, result.layout, TABLES["sglang"])]
    assert ranked[:3] == ["dp 2 < tp 8 ; ep 8 >", "tp 8 ; ep 16", "tp 16 ; ep 16"]
    (x,) = [x for x in launch_result(result) if x.engine == "sglang"]
    hint, near = refusal_hint(result, x)
    assert near is not None and near.text == "dp 2 < tp 8 ; ep 8 >", hint
    assert hint.startswith("the nearest strategy SGLang can run: `dp 2 < tp 8 ; ep 8 >` (TTFT ")
    assert main(["explain", "E714"]) == 0
    fixed = capsys.readouterr().out.split("Fixed:")[1]
    assert "strategy tp 16 ; ep 16" in fixed and "strategy dp 2 < tp 8 ; ep 8 >" in fixed


def test_model_from_config_is_judged_by_its_mtp_layers(tmp_path):
    """A `model from` config.json ships MTP weights when its num_nextn_predict_layers is above 0."""
    from dagc.lang.load import load_plan
    from dagc.launch.speculative import mtp_weights
    from hf_configs import DEEPSEEK_V3
    for n, expected in ((1, True), (0, False)):
        (tmp_path / f"m{n}").mkdir()
        (tmp_path / f"m{n}" / "config.json").write_text(json.dumps({**DEEPSEEK_V3, "num_nextn_predict_layers": n}))
        path = tmp_path / f"plan{n}.moe"
        path.write_text(plan_text(model=f'model from "m{n}/config.json"'))
        assert mtp_weights(load_plan(path)) is expected


def test_every_speculative_flag_and_key_is_in_the_engines_checked_table():
    """Snapshot: the flags and keys each engine's speculative decoding writes, all in the tables checked
    against the releases (vLLM 0.33.0, SGLang 0.5.23 parsers; TensorRT-LLM 1.2 llm_args.py); the pools' cases'
    servers and routers are tests/test_launch_pools.py's."""
    flags = {"vllm": vllm.FLAGS, "sglang": sglang.FLAGS, "trtllm": trtllm.FLAGS}
    seen: dict[str, set[str]] = {e: set() for e in ENGINES}
    keys: set[str] = set()
    json_keys: set[str] = set()
    for name in (n for n in CASES if not n.endswith("-pool")):
        for x in _launches(name).values():
            for c in x.commands:
                seen[x.engine] |= set(_engine_flags(x.engine, c))
                if x.engine == "vllm" and "--speculative-config" in c.argv:
                    json_keys |= set(_spec_json(c.argv))
            for f in x.files:
                keys |= set(_yaml_settings(f.text))
    for engine in ENGINES:
        assert seen[engine] <= flags[engine], (engine, seen[engine] - flags[engine])
    assert keys <= trtllm.YAML_KEYS, keys - trtllm.YAML_KEYS
    assert json_keys == vllm.SPECULATIVE_KEYS
    assert "--speculative-config" in seen["vllm"]
    assert {"--speculative-algorithm", "--speculative-num-steps", "--speculative-eagle-topk",
            "--speculative-num-draft-tokens", "--speculative-draft-model-path"} <= seen["sglang"]
    assert {"speculative_config.decoding_type", "speculative_config.num_nextn_predict_layers",
            "speculative_config.max_draft_len", "speculative_config.speculative_model"} <= keys


def test_both_pools_speculate_as_dagcs_figures_assume_on_every_engine(capsys):
    """DeepSeek-V3 with MTP (2 tokens, acceptance 0.7) disaggregated: dagc's TPOT is the decode pool's with the draft,
    so every engine's prefill and decode servers are told to draft, alike; they were started without it, a note
    saying so under a speculative TPOT."""
    plan = load_plan_text(plan_text(
        model='model preset "deepseek-v3" { weights = fp8 }',
        cluster='cluster { gpus = 16  gpu preset "h200" }',
        workload="workload { batch = 256  prompt = 3000  generate = 1000  serving = inflight "
                 "speculative { method = mtp  tokens = 2  acceptance = 0.7 } }",
        strategy="strategy prefill 1 < tp 8 > decode 1 < tp 1 ; ep 8 >"))
    launches = {x.engine: x for x in launch_result(check(plan)[0], ENGINES)}
    assert set(launches) == {"vllm", "sglang", "trtllm"}
    for engine, x in launches.items():
        assert not x.refusals, engine
        assert not any("not written for pools" in n for n in x.notes)
        assert any(n.startswith("speculative decoding on both pools' servers") for n in x.notes), engine
    servers = {e: [c.argv for c in x.commands if c.argv[:1] != ("ray",)][:2] for e, x in launches.items()}
    for argv in servers["vllm"]:
        assert _value(list(argv), "--speculative-config") == '{"method":"mtp","num_speculative_tokens":2}'
    for argv in servers["sglang"]:
        assert [_value(list(argv), f) for f in ("--speculative-algorithm", "--speculative-num-steps",
                                                "--speculative-num-draft-tokens")] == ["NEXTN", "2", "3"]
    yamls = [f.text for f in launches["trtllm"].files if f.name.endswith(("-prefill.yml", "-decode.yml"))]
    assert len(yamls) == 2
    for text in yamls:
        assert "speculative_config:\n  decoding_type: MTP\n  num_nextn_predict_layers: 2\n" in text


def test_explain_the_speculative_codes(capsys):
    for code in ("E706", "E714"):
        assert explain(code) is not None
        assert main(["explain", code]) == 0
        text = capsys.readouterr().out
        assert text.startswith(f"{code} (error): ") and "Bad:" in text and "Fixed:" in text


def test_sglang_refuses_mtp_with_stages_for_a_checkpoint_it_makes_multi_layer_eagle(tmp_path):
    """SGLang makes EAGLE multi-layer for MiMoV2 checkpoints (`_mimo_v2_overrides`), which its
    `check_pipeline_parallel_compat` refuses with pipeline stages even on a prefill server."""
    from hf_configs import DEEPSEEK_V3
    (tmp_path / "config.json").write_text(json.dumps({**DEEPSEEK_V3, "architectures": ["MiMoV2FlashForCausalLM"],
                                                      "num_nextn_predict_layers": 1}))
    strategy = "strategy prefill 1 < pp 2 < tp 8 ; ep 8 > > decode 1 < tp 16 ; ep 16 >"
    path = tmp_path / "plan.moe"
    path.write_text(plan_text(model='model from "config.json"', cluster=C16.replace("16", "32", 1), strategy=strategy,
                              workload=WORK.format(serving="serving = inflight",
                                                   spec="method = mtp  tokens = 1  acceptance = 0.8")))
    from dagc.lang.load import load_plan
    result = check(load_plan(path))[0]
    assert result.valid, [render(d) for d in result.diagnostics if d.is_error]
    (refusal,) = {x.engine: x for x in launch_result(result)}["sglang"].refusals
    assert refusal.code == "E714"
    assert ("NEXTN, multi-layer EAGLE for MiMoV2FlashForCausalLM, with pp 2 on a prefill pool's server"
            in refusal.message)


DSV3_SPEC = """model preset "deepseek-v3"
cluster { gpus = 16  gpu preset "h200"  engine = sglang }
workload { batch = 64  prompt = 2000  generate = 500  serving = inflight
  speculative { method = SPEC } }
strategy dep16 = tp 1 ; ep 16 with redundant 32
"""


def test_sglang_speculating_in_flight_is_not_told_enable_mixed_chunk_which_it_turns_off(tmp_path, capsys):
    """SGLang 0.5.23's `_handle_eagle_family` (NEXTN resolves to EAGLE; EAGLE3) and `_handle_ngram` set
    enable_mixed_chunk False: dagc no longer writes the flag, and its note says SGLang runs the batches apart."""
    plan = tmp_path / "dsv3.moe"
    for spec, algorithm in (("mtp  tokens = 3  accept_length = 2.4", "NEXTN"),
                            ("eagle  tokens = 3  accept_length = 2.4", "EAGLE3")):
        plan.write_text(DSV3_SPEC.replace("SPEC", spec))
        assert main(["launch", str(plan)]) == 0
        out = capsys.readouterr().out
        servers = [line for line in out.splitlines() if "sglang.launch_server" in line]
        assert len(servers) == 2 and all("--chunked-prefill-size 131072 --mem-fraction-static" in s for s in servers)
        assert "--enable-mixed-chunk" not in " ".join(servers) and "decode tokens included (--enable-mixed-chunk)" \
            not in out
        assert f"note: {algorithm}: SGLang turns --enable-mixed-chunk off with speculative decoding" in out
        assert "prefill and decode batches apart, not the mixed steps dagc's in-flight figures describe" in out
    # NGRAM (no attention DP: tp 16 ; ep 16) likewise
    plan.write_text(DSV3_SPEC.replace("SPEC", "ngram  tokens = 3  accept_length = 1.5").replace("tp 1 ;", "tp 16 ;"))
    assert main(["launch", str(plan)]) == 0
    out = capsys.readouterr().out
    assert "--enable-mixed-chunk" not in "".join(line for line in out.splitlines() if "launch_server" in line)
    # without speculative decoding the step is dagc's, and the flag is written
    plan.write_text(DSV3_SPEC.replace("\n  speculative { method = SPEC }", ""))
    assert main(["launch", str(plan)]) == 0
    assert "--chunked-prefill-size 131072 --enable-mixed-chunk" in capsys.readouterr().out
