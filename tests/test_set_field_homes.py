"""A field written where it does nothing, or one level too high, says where it belongs (dagc.lang.set_gpu,
dagc.lang.fields.elsewhere, dagc.lang.model): `--set cluster.gpu.memory=…` on a preset GPU is an E104 naming the
preset (it was an E001 about a `{` the user never wrote); `--set model.experts=64` or `experts = 64` in a model
block points at `moe { … }`; a dense `ffn` or `gated` beside a `moe` block, which nothing read, is an E104."""

from __future__ import annotations

import shlex

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan
from dagc.lang.overrides import SET_SOURCE, load_plan_with
from conftest import plan_text

CUSTOM = ('cluster { gpus = 8  gpu "my-gpu" { memory = 64 GB  flops = 400 TFLOPS  hbm = 1.8 TB/s }  '
          "engine = pytorch }")


def errors(tmp_path, *options: str, **parts: str):
    path = tmp_path / "plan.moe"
    path.write_text(plan_text(**parts))
    with pytest.raises(PlanError) as exc:
        load_plan_with(path, options) if options else load_plan(path)
    return exc.value.diagnostics


def test_a_field_of_a_preset_gpu_is_an_e104_naming_the_preset(tmp_path):
    (d,) = errors(tmp_path, "cluster.gpu.memory=40 GiB")
    assert d.code == "E104" and d.span.source.path == SET_SOURCE and d.span.text == "cluster.gpu.memory"
    assert d.message == ('`cluster.gpu.memory` sets a field of a GPU written out (`gpu "NAME" { … }`); the plan\'s '
                         'GPU is the preset "h100-sxm"')
    assert "--set cluster.gpu=h200" in d.hint and '`gpu "my-gpu" { memory = … }`' in d.hint
    (d,) = errors(tmp_path, "cluster.gpu.hbm=3 TB/s", cluster="cluster { gpus = 8  engine = pytorch }")
    assert d.code == "E104" and d.message.endswith("the plan's cluster names no GPU")


def test_a_field_of_a_custom_gpu_is_still_set(tmp_path):
    path = tmp_path / "plan.moe"
    path.write_text(plan_text(cluster=CUSTOM))
    assert load_plan_with(path, ["cluster.gpu.memory=32 GB"]).cluster.gpu.memory_bytes == 32e9


@pytest.mark.parametrize(("option", "home"), [
    ("model.experts=64", "`experts` is a field of the model's `moe { … }` block"),
    ("model.top_k=4", "`top_k` is a field of the model's `moe { … }` block"),
    ("model.kv_lora=512", "`kv_lora` is a field of the model's `mla { … }` block"),
    ("workload.tokens=3", "`tokens` is a field of the workload's `speculative { … }` block"),
    ("cluster.compute=0.5", "`compute` is a field of the cluster's `efficiency { … }` block"),
])
def test_a_field_one_block_too_high_points_at_its_block(tmp_path, option, home):
    (d,) = errors(tmp_path, option)
    path, _, _ = option.partition("=")
    top, name = path.split(".")
    inner = home.split("`")[3].split(" ")[0]
    assert d.code == "E101" and d.span.text == name
    assert d.hint == f"{home}: write it there, `{inner} {{ {name} = … }}` (with --set: `{top}.{inner}.{name}=…`)"


def test_the_same_in_the_plan(tmp_path):
    (d,) = errors(tmp_path, model='model preset "mixtral-8x7b" { experts = 4 }')
    assert d.code == "E101" and d.span.text == "experts" and d.hint.startswith("`experts` is a field of the model's "
                                                                                 "`moe { … }` block")


@pytest.mark.parametrize("key", ["ffn", "gated"])
def test_a_dense_field_beside_a_moe_block_is_an_e104(tmp_path, key):
    value = "512" if key == "ffn" else "false"
    (d,) = errors(tmp_path, f"model.{key}={value}")
    assert d.code == "E104" and d.span.source.path == SET_SOURCE
    assert d.message.startswith(f"`{key}` belongs to a dense model") and f"--set model.moe.{key}=" in d.hint
    model = ('model "m" { layers = 2  hidden = 1024  heads = 8  vocab = 32000  '
             f"{key} = {value}  moe {{ experts = 8  top_k = 2  ffn = 512 }} }}")
    (d,) = errors(tmp_path, model=model)
    assert d.code == "E104" and d.span.text == f"{key} = {value}"


def test_a_dense_model_keeps_its_ffn(tmp_path):
    path = tmp_path / "plan.moe"
    path.write_text(plan_text(model='model "d" { layers = 2  hidden = 1024  heads = 8  vocab = 32000  ffn = 4096 }'))
    moe = load_plan(path).model.moe
    assert (moe.experts, moe.dense_ffn, moe.dense_layers) == (0, 4096, 2)


def test_a_log_named_with_set_says_the_plan_names_it(tmp_path):
    """`--set 'workload.requests=from "log.csv"'`, as the plan writes a log: the hint was the generic one of a value
    followed by more ("a comment, a newline, a brace, a quote or a second field is not part of a value")."""
    (d,) = errors(tmp_path, 'workload.requests=from "log.csv"')
    assert d.code == "E001" and d.span.text == '"log.csv"'
    assert d.hint == ('--set names no file: a request log is the plan\'s, `workload { requests from "FILE" }`; '
                      "--set workload.requests=N sets how many requests (the first N of the plan's log)")
    (d,) = errors(tmp_path, "workload.batch=16 prefix = 10")          # another value followed by more: as before
    assert d.hint.startswith("a number with its unit, a name or a quoted string")


@pytest.mark.parametrize(("option", "hint"), [
    ("gpus=8", "`gpus` is a field of the cluster: `--set cluster.gpus=8`"),
    ("batch=64", "`batch` is a field of the workload: `--set workload.batch=64`"),
    ("experts=16", "`experts` is a field of the model's `moe { … }` block: `--set model.moe.experts=16`"),
    ("clustre.gpus=8", "did you mean `cluster`?"),                      # a slip of a statement keeps its hint
])
def test_a_field_set_without_its_block_is_told_its_path(tmp_path, option, hint):
    """Until 2026-11-29 `--set gpus=8` got "expected one of: `model`, `cluster`, `workload`, `require`,
    `objective`", the field's block left for the user to find."""
    (d,) = errors(tmp_path, option)
    assert d.code == "E101" and d.hint == hint, d.hint


def test_a_gpu_count_set_as_the_gpu_is_told_gpus(tmp_path):
    """`--set cluster.gpu=8` read 8 as a GPU preset's name and listed the presets; a number there is the count."""
    (d,) = errors(tmp_path, "cluster.gpu=8")
    assert d.code == "E101" and d.message == "unknown GPU preset `8`"
    assert d.hint == ("`gpu` is the GPU type (a preset such as `h200`); the number of GPUs is `gpus`: `gpus = 8` "
                      "(with --set: `--set cluster.gpus=8`)"), d.hint


@pytest.mark.parametrize(("option", "meant"), [
    ("rate=2 requests/s", "workload.rate=2 requests/s"),
    ("inter_node=100 GB/s", "cluster.inter_node=100 GB/s"),
])
def test_a_field_set_without_its_block_is_told_an_option_a_shell_keeps_whole(tmp_path, option, meant):
    """Until 2026-11-30 the hint was `--set workload.rate=2 requests/s`: pasted into a shell it is two words, the
    option `workload.rate=2` (E102, no unit) and a stray `requests/s`. Now it is quoted as the shell needs it, and the
    words a shell makes of it set the field."""
    (d,) = errors(tmp_path, option)
    assert d.code == "E101" and d.hint is not None
    pasted = d.hint.split(": `", 1)[1].rstrip("`")
    assert pasted == f"--set {shlex.quote(meant)}"
    flag, value = shlex.split(pasted)
    assert (flag, value) == ("--set", meant)
    plan = load_plan_with(tmp_path / "plan.moe", [value])                # the plan errors() wrote
    if plan.workload.traffic is not None:
        assert plan.workload.traffic.rate == 2.0
    else:
        assert plan.cluster.inter_node_bytes_per_s == 100e9
