"""The model's context length (`context_length`): the built-in models' values against their published
config.json files, a Hugging Face config's `max_position_embeddings` scaled as vLLM scales it, E111 when a
request is longer than it (at the workload's `prompt`, in a `--set` option, at a request log's line), and
`dagc launch`'s length limit never above it (tests/test_launch_lengths.py)."""

from __future__ import annotations

import json

import pytest

from dagc.cli.main import main
from dagc.diagnostics import PlanError
from dagc.lang.hf import context_length
from dagc.lang.load import load_plan, load_plan_text
from dagc.lang.model import model_from_preset
from dagc.lang.overrides import load_plan_with
from dagc.plan.presets import MODEL_PRESETS
from dagc.rules import explain
from conftest import plan_text

# Each built-in model's context, worked out by hand from its config.json as its vendor publishes it
# (docs/language.md, "Context lengths of the built-in models", names the files): max_position_embeddings,
# or — for a YaRN `rope_scaling`, which vLLM applies — original_max_position_embeddings × factor.
PUBLISHED = {
    "mixtral-8x7b": 32_768,          # max_position_embeddings 32768, no rope_scaling
    "mixtral-8x22b": 65_536,         # max_position_embeddings 65536 (Mistral: "64K tokens context window")
    "qwen3-30b-a3b": 40_960,         # max_position_embeddings 40960, rope_scaling null
    "qwen3-235b-a22b": 40_960,       # the same
    "deepseek-v3": 4096 * 40,        # YaRN: original 4096 × factor 40 = max_position_embeddings 163840
    "gpt-oss-120b": 4096 * 32,       # YaRN: original 4096 × factor 32 = max_position_embeddings 131072
    "gpt-oss-20b": 4096 * 32,
    "kimi-k2": 4096 * 32,            # YaRN: original 4096 × factor 32 = max_position_embeddings 131072
    "llama-4-maverick": 1_048_576,   # max_position_embeddings, rope_scaling null
    "llama-4-scout": 10_485_760,     # max_position_embeddings; its llama3 rope_scaling is not applied by vLLM
    "glm-4.5": 131_072,              # max_position_embeddings 131072, rope_scaling null
    "qwen3-coder-480b-a35b": 262_144,   # max_position_embeddings 262144, rope_scaling null
}


def test_every_built_in_model_has_its_published_context():
    assert set(PUBLISHED) == set(MODEL_PRESETS)
    assert {name: model_from_preset(name).context_length for name in MODEL_PRESETS} == PUBLISHED


@pytest.mark.parametrize("positions, scaling, model_type, expected", [
    (163840, {"type": "yarn", "factor": 40, "original_max_position_embeddings": 4096}, None, 163840),
    (32768, {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768}, None, 131072),
    (8192, {"type": "linear", "factor": 2.0}, None, 16384),
    (8192, {"rope_type": "dynamic", "factor": 4}, None, 32768),
    (10485760, {"rope_type": "llama3", "factor": 16.0, "original_max_position_embeddings": 8192}, None, 10485760),
    (131072, {"type": "longrope", "factor": 32}, None, 131072),
    (131072, {"rope_type": "default"}, None, 131072),              # no factor: 1
    (131072, {"rope_type": "linear", "factor": 8.0}, "gemma3_text", 131072),   # Gemma 3's is scaled already
    (40960, None, None, 40960),
    (40960, {"factor": 4.0}, None, 40960),                          # no type: not read
    (40960, {"type": "yarn", "factor": "big"}, None, 40960),        # a factor that is not a number: not read
    (40960, {"type": "yarn", "factor": 4.0}, None, 40960),          # YaRN without its original length: not read
    (40960, {"type": "linear", "factor": True}, None, 40960),
    (40960, {"type": "linear", "factor": 1e300}, None, 40960),      # beyond any length dagc takes: not read
])
def test_a_configs_context_is_scaled_as_vllm_derives_it(positions, scaling, model_type, expected):
    assert context_length(positions, scaling, model_type) == expected


def _imported(tmp_path, cfg: dict):
    from hf_configs import MIXTRAL_8X7B
    (tmp_path / "config.json").write_text(json.dumps({**MIXTRAL_8X7B, **cfg}))
    return load_plan_text('model from "config.json"\ncluster { gpus = 8  gpu preset "h100-sxm" }\n'
                          "workload { batch = 8  prompt = 512  generate = 64 }\nstrategy tp 8\n", base_dir=tmp_path)


def test_model_from_reads_max_position_embeddings_and_its_rope_scaling(tmp_path):
    assert _imported(tmp_path, {"max_position_embeddings": 32768}).model.context_length == 32768
    yarn = {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768}
    assert _imported(tmp_path, {"max_position_embeddings": 32768, "rope_scaling": yarn}).model.context_length == 131072
    cfg = json.loads((tmp_path / "config.json").read_text())
    del cfg["max_position_embeddings"]
    (tmp_path / "none").mkdir()
    (tmp_path / "none" / "config.json").write_text(json.dumps(cfg))
    plan = load_plan_text('model from "none/config.json"\ncluster { gpus = 8  gpu preset "h100-sxm" }\n'
                          "workload { batch = 8  prompt = 100000  generate = 64 }\nstrategy tp 8\n", base_dir=tmp_path)
    assert plan.model.context_length is None                       # not stated: not known, nothing checked


def test_an_imported_context_out_of_range_is_located_in_the_config(tmp_path):
    with pytest.raises(PlanError) as exc:
        _imported(tmp_path, {"max_position_embeddings": 0})
    (d,) = exc.value.diagnostics
    assert d.code == "E104" and "`max_position_embeddings` is out of range" in d.message
    assert d.span.text == '"max_position_embeddings"'


def _e111(text: str, **kwargs):
    with pytest.raises(PlanError) as exc:
        load_plan_text(text, **kwargs)
    (d,) = exc.value.diagnostics
    assert d.code == "E111"
    return d


def test_a_prompt_longer_than_the_context_is_e111_at_the_prompt():
    """Mixtral 8x7B takes 32,768 tokens: a 100,000-token prompt is refused at its value, the hint naming the
    context and what to do; one request within it (32,268 + 500) is not."""
    d = _e111(plan_text(workload="workload { batch = 8  prompt = 100000  generate = 500 }"))
    assert d.span.text == "100000"
    assert d.message == ("a request of 100,000 prompt + 500 output tokens (100,500) is longer than the context of "
                         "model `mixtral-8x7b`: 32,768 tokens; an engine refuses it")      # the plain PyTorch run
    assert d.hint == ("shorten `prompt` and `generate` to at most 32,768 tokens together, or serve a model with a "
                      "longer context")
    assert load_plan_text(plan_text(workload="workload { batch = 1  prompt = 32268  generate = 500 }"))
    _e111(plan_text(workload="workload { batch = 1  prompt = 32268  generate = 501 }"))


@pytest.mark.parametrize(("engine", "said"), [
    ("vllm", "vLLM does not start with --max-model-len 42000"),
    ("sglang", "SGLang does not start with --context-length 42000"),
    ("trtllm", "TensorRT-LLM would need --max_seq_len 42000")])
def test_e111_names_the_plans_engine_and_its_length_flag(engine, said):
    """A request of 41,000 + 1,000 = 42,000 tokens on Mixtral 8x7B (32,768): the refusal is the plan's engine's, by
    its own flag — an SGLang plan was told "vLLM does not start with --max-model-len 42000"."""
    cluster = f'cluster {{ gpus = 8  gpus_per_node = 8  gpu preset "h100-sxm"  engine = {engine} }}'
    d = _e111(plan_text(cluster=cluster, workload="workload { batch = 8  prompt = 41000  generate = 1000 }"))
    assert d.message.endswith(f"32,768 tokens; an engine refuses it ({said})")


def test_a_context_written_in_the_model_is_checked_and_a_model_without_one_is_not():
    text = "workload { batch = 8  prompt = 100000  generate = 500 }"
    assert load_plan_text(plan_text(model='model preset "mixtral-8x7b" { context_length = 131072 }', workload=text))
    d = _e111(plan_text(model='model preset "llama-4-scout" { context_length = 65536 }', workload=text))
    assert "`llama-4-scout`: 65,536 tokens" in d.message
    dense = 'model "dense" { layers = 32  hidden = 4096  heads = 32  kv_heads = 8  vocab = 32000  ffn = 14336 }'
    assert load_plan_text(plan_text(model=dense, workload=text)).model.context_length is None


def test_a_set_prompt_longer_than_the_context_is_located_in_its_option(tmp_path, capsys):
    path = tmp_path / "p.moe"
    path.write_text(plan_text())
    with pytest.raises(PlanError) as exc:
        load_plan_with(path, ["workload.prompt=100000"])
    (d,) = exc.value.diagnostics
    assert d.code == "E111" and d.span.source.path == "--set" and d.span.text == "100000"
    assert main(["check", str(path), "--set", "workload.prompt=100000"]) == 4
    err = capsys.readouterr().err
    assert "--set:1:17: error[E111]" in err and "workload.prompt=100000" in err
    # another model preset through --set is checked against its own context
    assert main(["check", str(path), "--set", "workload.prompt=60000", "--set", "model=mixtral-8x22b", "-q"]) != 4


MOONCAKE = ('{"timestamp": 0, "input_length": 6758, "output_length": 500, "hash_ids": [0, 1, 2]}\n'
            '{"timestamp": 3000, "input_length": 300000, "output_length": 10, "hash_ids": [0, 4]}\n'
            '{"timestamp": 5999, "input_length": 1053, "output_length": 26, "hash_ids": [0, 773, 774]}\n')


def _logged(tmp_path, log: str, requests: str = "") -> str:
    (tmp_path / "trace.jsonl").write_text(log)
    path = tmp_path / "plan.moe"
    path.write_text('model preset "qwen3-30b-a3b"\ncluster { gpus = 8  gpu preset "h100-sxm" }\n'
                    f"workload {{ batch = 8  prompt = 2048  generate = 256  serving = inflight  {requests}\n"
                    '  requests from "trace.jsonl" }\nstrategy tp 8\n')
    return str(path)


def test_a_mooncake_request_longer_than_the_context_is_e111_at_its_requests_from_line(tmp_path):
    """A Mooncake line of input_length 300,000 on Qwen3-30B-A3B (40,960 tokens): refused at `requests from`, naming
    the log's line; replaying only the requests before it is no problem."""
    with pytest.raises(PlanError) as exc:
        load_plan(_logged(tmp_path, MOONCAKE))
    (d,) = exc.value.diagnostics
    assert d.code == "E111" and d.span.text == '"trace.jsonl"' and d.span.line == 4
    assert d.message.startswith("the request on line 2 of `trace.jsonl` (300,000 prompt + 10 output tokens) is longer "
                                "than the context of model `qwen3-30b-a3b`: 40,960 tokens")
    assert "drop or cut the log's requests longer than 40,960 tokens" in d.hint
    assert load_plan(_logged(tmp_path, MOONCAKE, "requests = 1")).workload.traffic.requests == 1
    two = MOONCAKE.replace('"input_length": 1053', '"input_length": 50000')
    with pytest.raises(PlanError) as exc:
        load_plan(_logged(tmp_path, two))
    assert "(and 1 other request of the log)" in exc.value.diagnostics[0].message


def test_e111_is_documented():
    doc = explain("E111")
    assert doc.startswith("E111 (error): a request longer than the model's context")
    assert "max_position_embeddings" in doc and "Fixed:" in doc
