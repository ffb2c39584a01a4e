"""Each block's fields, typed (`dagc.lang.block_fields`): every `TypedDict` declares its block's `Field` table, each
field as the type `read_value` reads it as, and the narrowing checks what it is given against that table."""

from __future__ import annotations

import json
import types
import typing

import pytest

from dagc.lang.block_fields import (
    BLOCKS,
    ModelFields,
    cluster_fields,
    model_fields,
    preset_model_fields,
    reads_as,
    traffic_fields,
    workload_fields,
)
from dagc.lang.blocks import BAD, Collector, child_tree, read_block, subtrees
from dagc.lang.cluster import CLUSTER_BLOCK_FIELDS
from dagc.lang.fields import SUBBLOCKS, WORKLOAD_FIELDS, Field
from dagc.lang.hf import load_hf_config
from dagc.lang.lower import Lowering
from dagc.lang.model import ImportRoots, model_from_preset
from dagc.lang.parse import parse
from dagc.plan.presets import MODEL_PRESETS
from dagc.source import SourceFile
from dagc.units import Dimension
from hf_configs import DEEPSEEK_V3, GPT_OSS_120B, LLAMA4_MAVERICK, MIXTRAL_8X7B, QWEN3_30B_A3B

# The fields a config.json may leave unstated (null) and `dagc.lang.hf` keeps as None, which the model reads so.
UNSTATED = {("ModelFields", "head_dim"), ("MoeFields", "ffn"), ("MoeFields", "shared_ffn")}


def _types(annotation: object) -> set[object]:
    """The types an annotation allows (`int | None` → {int, NoneType}; `tuple[float, bool]` → {tuple})."""
    parts = typing.get_args(annotation) if isinstance(annotation, types.UnionType) else (annotation,)
    return {typing.get_origin(p) or p for p in parts}


@pytest.mark.parametrize("shape, table", BLOCKS, ids=[shape.__name__ for shape, _ in BLOCKS])
def test_each_typed_dict_declares_its_table_as_read(shape, table):
    hints = typing.get_type_hints(shape)
    subblocks = {"ModelFields": set(SUBBLOCKS["model"])}.get(shape.__name__, set())
    assert set(hints) == set(table) | subblocks and not shape.__required_keys__
    for name, spec in table.items():
        allowed = set(reads_as(spec)) | ({type(None)} if (shape.__name__, name) in UNSTATED else set())
        assert _types(hints[name]) == allowed, name


def test_reads_as_by_kind_and_dimension():
    assert reads_as(Field("bool")) == (bool,) and reads_as(Field("choice", choices=("a",))) == (str,)
    assert reads_as(WORKLOAD_FIELDS["batch"]) == (int, str)              # a count, or `max`
    assert reads_as(WORKLOAD_FIELDS["routing"]) == (float, type(None))   # `imbalance 1.3`, or None for `random`
    assert reads_as(WORKLOAD_FIELDS["prefix"]) == (int,)                 # `2000 tokens`
    assert reads_as(Field("quantity", Dimension.COUNT)) == (int,)        # `require gpus <= 8`
    assert reads_as(Field("quantity", Dimension.THROUGHPUT)) == (tuple,)  # (tokens/s, per GPU)
    assert reads_as(CLUSTER_BLOCK_FIELDS["intra_node"]) == (float,)


def _block(text: str, table: dict[str, Field], where: str):
    src = SourceFile("p.moe", text)
    items = Lowering(src, ImportRoots.of(None, ())).transform(child_tree(subtrees(parse(src).children)[0], 0))
    out = Collector()
    return read_block(out, items, where, table)[0], out


def test_a_workload_block_narrows_to_its_fields_in_si_units():
    read, out = _block("workload { batch = max  prompt = 2k  generate = 256  rate = 12 requests/s  prefix = 2000 "
                       "tokens  routing = imbalance 1.3  ramp = 500 ms }\n", WORKLOAD_FIELDS, "workload")
    assert read["prompt"] is BAD and [d.code for d in out.diags] == ["E101"]      # `2k`: no such unit
    # the prompt left out (its error said); 500 ms is 0.5 s
    assert workload_fields(read) == {"batch": "max", "generate": 256, "rate": 12.0, "prefix": 2000, "routing": 1.3,
                                     "ramp": 0.5}
    assert traffic_fields(read) == {"rate": 12.0, "prefix": 2000, "ramp": 0.5}


def test_a_cluster_block_narrows_to_its_fields():
    read, out = _block("cluster { gpus = 16  gpus_per_node = 8  inter_node = 50 GB/s  engine = vllm }\n",
                       CLUSTER_BLOCK_FIELDS, "cluster")
    assert not out.diags
    fields = cluster_fields(read)
    assert fields == {"gpus": 16, "gpus_per_node": 8, "inter_node": 50e9, "engine": "vllm"}
    assert type(fields["gpus"]) is int and type(fields["inter_node"]) is float


def test_a_value_not_of_its_field_s_type_is_refused():
    with pytest.raises(AssertionError, match="layers"):
        model_fields({"layers": 2.5})
    with pytest.raises(AssertionError, match="tied"):
        model_fields({"tied": 1})                     # a flag is a bool, not the number 1
    with pytest.raises(AssertionError, match="gpus"):
        model_fields({"gpus": 8})                     # not a field of the model


@pytest.mark.parametrize("name", sorted(MODEL_PRESETS))
def test_every_preset_narrows_to_model_fields_unchanged(name):
    preset = MODEL_PRESETS[name]
    fields = preset_model_fields(preset)
    assert fields == preset and fields is not preset
    assert all(fields[k] is not preset[k] for k in ("moe", "mla", "window") if k in preset)    # a copy to merge into


def test_model_from_preset_takes_typed_overrides():
    m = model_from_preset("mixtral-8x7b", layers=16, moe={"experts": 8, "top_k": 1, "ffn": 14336})
    assert (m.layers, m.moe.experts, m.moe.top_k, m.moe.ffn) == (16, 8, 1, 14336)
    assert m.hidden == 4096                                            # the preset's own


# a dense model quantised as gpt-oss's experts are: the experts' dtype has no experts to go to, and is no field
DENSE_MXFP4 = {"hidden_size": 4096, "intermediate_size": 14336, "num_attention_heads": 32, "num_key_value_heads": 8,
               "num_hidden_layers": 32, "vocab_size": 128256, "torch_dtype": "bfloat16",
               "quantization_config": {"quant_method": "mxfp4"}}


@pytest.mark.parametrize("config", [MIXTRAL_8X7B, QWEN3_30B_A3B, DEEPSEEK_V3, GPT_OSS_120B, LLAMA4_MAVERICK,
                                    DENSE_MXFP4], ids=["mixtral", "qwen3", "deepseek", "gpt-oss", "llama4", "dense"])
def test_an_imported_config_gives_only_the_model_s_fields(tmp_path, config):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    fields, diags = load_hf_config(path, SourceFile("p.moe", 'model from "config.json"').whole())
    assert fields is not None and not diags
    assert set(fields) <= set(typing.get_type_hints(ModelFields))
