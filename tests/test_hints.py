"""Hints never change what the user meant (issue 39): a did-you-mean names only a value of the same
meaning — the same GPU (model, form, memory), the same unit — a unit of another factor is converted
with the factor said aloud, a count with a multiplier (`2k`) is refused with the number to write,
and no hint rests on edit distance alone."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.fields import (
    CLUSTER_FIELDS,
    MODEL_FIELDS,
    WORKLOAD_FIELDS,
    did_you_mean,
    nearest,
)
from dagc.lang.flatten import flatten
from dagc.lang.hints import gpu_hint, unit_hint
from dagc.lang.load import load_plan_text, parse_strategy
from dagc.plan.model import DType
from dagc.plan.presets import GPU_PRESETS, MODEL_PRESETS
from dagc.plan.strategy import Axis
from dagc.units import UNITS, Dimension
from conftest import plan_text

OBJECTIVES = ["tokens-per-gpu", "min-gpus", "ttft", "tpot", "throughput"]


def hint_of(text: str, code: str = "E101") -> tuple[str, str]:
    """The one `code` diagnostic of a plan text: the text under its caret and its hint."""
    with pytest.raises(PlanError) as exc:
        load_plan_text(text)
    (d,) = [d for d in exc.value.diagnostics if d.code == code]
    assert d.span is not None and d.hint is not None
    return d.span.text, d.hint


# ------------------------------------------------------------------ no hint from distance alone

@pytest.mark.parametrize("vocabulary", [list(GPU_PRESETS), list(MODEL_PRESETS), [d.value for d in DType],
                                        [a.value for a in Axis], OBJECTIVES,
                                        list(MODEL_FIELDS), list(WORKLOAD_FIELDS), list(CLUSTER_FIELDS)],
                         ids=["gpus", "models", "dtypes", "axes", "objectives", "model fields",
                              "workload fields", "cluster fields"])
def test_a_known_name_never_suggests_another_of_its_kind(vocabulary):
    """Every name of a vocabulary, looked up among the others, finds none: `h200` is not `h100-sxm`,
    `fp8` not `fp4`, `tp` not `ep`, `GB` not `GiB`, `mixtral-8x7b` not `mixtral-8x22b`."""
    for name in vocabulary:
        others = [n for n in vocabulary if n != name]
        assert nearest(name, others) is None, (name, nearest(name, others))


@pytest.mark.parametrize("word, choices, meant", [
    ("Mixtral-8x7B", MODEL_PRESETS, "mixtral-8x7b"),      # another case
    ("top-k", ["top_k", "experts"], "top_k"),              # another separator
    ("presset", ["preset", "from"], "preset"),             # a doubled letter
    ("microbatch", ["microbatches", "overlap"], "microbatches"),   # a plural
    ("workloda", ["workload", "model"], "workload"),       # two letters swapped
    ("deepseek-v3", ["deepseek-v3"], "deepseek-v3"),
    ("deepsek-v3", MODEL_PRESETS, "deepseek-v3"),          # one letter missing outside the numbered parts
    ("qwen3-30b", MODEL_PRESETS, "qwen3-30b-a3b"),         # the leading parts of one name alone: that name
    ("qwen3-235b", MODEL_PRESETS, "qwen3-235b-a22b"),
    # a number's letter left off, the rest whole (a size without its `b`): until 2026-12-02 `gpt-oss-120` and
    # `mixtral-8x7` were told every preset, a numbered part matched whole
    ("gpt-oss-120", MODEL_PRESETS, "gpt-oss-120b"),
    ("mixtral-8x7", MODEL_PRESETS, "mixtral-8x7b"),
    ("qwen3-30b-a3", MODEL_PRESETS, "qwen3-30b-a3b"),
    # three letters, the one four-letter name with a letter left out, though a doubled letter made the plain form two
    # (`tf`): until 2026-11-30 examples/mistakes/typos.moe's `ttf` was told every requirement, not `ttft`
    ("ttf", ["ttft", "tpot", "memory", "gpus", "goodput"], "ttft"),
])
def test_a_name_written_another_way_is_suggested(word, choices, meant):
    assert nearest(word, choices) == meant and did_you_mean(word, choices) == f"did you mean `{meant}`?"


@pytest.mark.parametrize("word, choices", [
    ("qwen3-30", MODEL_PRESETS),           # the numbers differ from every preset's
    ("gpt-oss-12", MODEL_PRESETS),         # a digit left off: another number (`h20` is not `h200`)
    ("h20", ["h200", "h100"]),
    ("qwen3-235", MODEL_PRESETS),          # a size's `b` left off and the parts after it: two readings at once
    ("h300", ["h200", "b300"]),            # one letter from `b300`, one digit from `h200`: neither
    ("mixtral-8x21b", MODEL_PRESETS),      # one digit from 8x22b: another model
    ("fp4", ["fp8", "bf16"]),              # one digit: another dtype
    ("ex", ["ep", "tp"]),                  # short codes are one letter apart by design
    ("throughput-per-gpu", OBJECTIVES),    # `throughput` is not per GPU
    ("bf8", ["bf16", "fp8"]),
])
def test_a_name_merely_near_another_is_not_suggested(word, choices):
    assert nearest(word, choices) is None
    assert did_you_mean(word, choices).startswith("expected one of: ")


# ------------------------------------------------------------------ model presets' other names

@pytest.mark.parametrize("written", ["deepseek-r1", "DeepSeek-R1", "deepseek-ai/DeepSeek-R1", "deepseek_r1"])
def test_deepseek_r1_is_told_to_be_deepseek_v3_and_why(written):
    """Until 2026-12-02 `model preset "deepseek-r1"` was told the twelve presets alone."""
    at, hint = hint_of(plan_text(model=f'model preset "{written}"'))
    assert at == f'"{written}"'
    assert hint.startswith("DeepSeek-R1 has DeepSeek-V3's architecture: use `deepseek-v3` (its config.json is ")


def test_another_name_of_a_presets_model_without_preset_is_told_the_preset():
    """`model "deepseek-r1"` (no `preset`, no fields) is E103: until 2026-12-02 its hint said to write the fields in a
    block, though `model preset "deepseek-v3"` is that model."""
    at, hint = hint_of(plan_text(model='model "deepseek-r1"'), "E103")
    assert at == 'model "deepseek-r1"'
    assert hint.startswith('use `model preset "deepseek-v3"`: DeepSeek-R1 has DeepSeek-V3\'s architecture (its ')


@pytest.mark.parametrize("written, preset", [("Kimi-K2-Instruct", "kimi-k2"),
                                             ("moonshotai/Kimi-K2-Instruct", "kimi-k2"),
                                             ("Mixtral-8x22B-Instruct-v0.1", "mixtral-8x22b"),
                                             ("Llama-4-Scout-17B-16E-Instruct", "llama-4-scout")])
def test_a_preset_written_as_its_hugging_face_name_is_told_the_preset(written, preset):
    assert hint_of(plan_text(model=f'model preset "{written}"'))[1] == \
        f"the `{preset}` preset is made from {written.rsplit('/')[-1]}'s config.json: use `{preset}`"


@pytest.mark.parametrize("written, preset", [("Qwen3-235B-A22B-Instruct-2507", "qwen3-235b-a22b"),
                                             ("Qwen3-30B-A3B-Thinking-2507", "qwen3-30b-a3b"),
                                             ("Kimi-K2-Instruct-0905", "kimi-k2"), ("deepseek-r2", "deepseek-v3"),
                                             ("llama-4-behemoth", None)])
def test_a_model_of_another_architecture_is_not_told_a_preset(written, preset):
    """The 2507 Qwen3 checkpoints and Kimi-K2-Instruct-0905 have another context length than the presets': each is
    told its preset's model is another (to be used with its own fields), never to use it (dagc.lang.preset_family)."""
    hint = hint_of(plan_text(model=f'model preset "{written}"'))[1]
    if preset is None:      # two other models of the family (until 2026-12-03 `deepseek-r2` got every preset alone,
        assert hint.startswith(f"dagc has no preset of `{written}`; `llama-4-maverick` and `llama-4-scout` are other "
                               "models of its family")      # though `deepseek-v2` was told its family)
        return
    told = f"dagc has no preset of `{written.lower()}`; `{preset}` is another model of its family"
    assert hint.startswith(told), hint
    assert f'`model preset "{preset}" {{ … }}` with your fields' in hint and "use `" not in hint


def test_every_preset_is_named_by_its_own_hugging_face_repository():
    """A preset's repository (dagc launch's `HF_IDS`), its organisation written, names it: `model preset
    "deepseek-ai/DeepSeek-V3"`, the id `dagc launch` prints for `deepseek-v3`, was told the twelve presets (until
    2026-12-02: the test took a repository spelt as its preset for one that named it)."""
    from dagc.lang.model import preset_hint
    from dagc.launch.launch import HF_IDS
    for preset, hf_id in HF_IDS.items():
        hint = preset_hint(hf_id)
        assert hint.endswith(f"use `{preset}`") or hint.startswith(f"did you mean `{preset}`?"), (preset, hf_id)


@pytest.mark.parametrize("model", ['model preset "deepseek-ai/DeepSeek-V3"', 'model "deepseek-ai/DeepSeek-V3"'])
def test_a_presets_repository_with_its_organisation_is_told_the_preset(model):
    code = "E101" if "preset" in model else "E103"
    at, hint = hint_of(plan_text(model=model), code)
    if code == "E101":
        assert hint == "did you mean `deepseek-v3`? (a preset is named without the Hugging Face organisation, " \
                       "`deepseek-ai/`)"
    else:
        assert hint == 'did you mean `model preset "deepseek-v3"`?'


# ------------------------------------------------------------------ GPUs

@pytest.mark.parametrize("written, hint", [
    ("h200-sxm", "did you mean `h200`? (the SXM module)"),
    ("H200", "did you mean `h200`? (the SXM module)"),
    ("nvidia-h100-sxm5-80gb", "did you mean `h100-sxm`? (the SXM module)"),
    ("h100", "did you mean `h100-sxm`? (the SXM module)"),
    ("gb200-nvl72", "did you mean `gb200`? (the NVL72 rack's GPU)"),
    ("b200-180gb", "did you mean `b200`? (the SXM module)"),
    ("h100sxm", "did you mean `h100-sxm`?"),                 # a separator left out: not parsed, but spelled so
    ("H100_SXM", "did you mean `h100-sxm`? (the SXM module)"),
])
def test_a_gpu_is_suggested_only_when_it_is_the_same_gpu(written, hint):
    assert gpu_hint(written, GPU_PRESETS) == hint


@pytest.mark.parametrize("written, named", [
    ("h100-pcie", "`h100-sxm` is an H100 with 80 GiB (the SXM module)"),    # another form
    ("h200-nvl", "`h200` is an H200 with 140 GiB (the SXM module)"),
    ("a100-40gb", "`a100-80g` is an A100 with 80 GiB (the SXM module)"),    # another memory
    ("h100-94gb", "`h100-sxm` is an H100 with 80 GiB"),
])
def test_a_gpu_of_the_same_model_but_another_form_or_memory_is_named_as_another_gpu(written, named):
    hint = gpu_hint(written, GPU_PRESETS)
    assert hint.startswith("no built-in GPU is that one: ") and named in hint and "did you mean" not in hint
    assert f'`gpu "{written}" {{ memory = …  flops = …  hbm = … }}`' in hint


@pytest.mark.parametrize("written", ["rtx4090", "mi300a", "h300", "generic"])
def test_an_unknown_gpu_gets_the_list_and_the_custom_form(written):
    hint = gpu_hint(written, GPU_PRESETS)
    assert hint.startswith("built-in GPUs: `h100-sxm`, `h200`") and "did you mean" not in hint


def test_no_gpu_preset_suggests_another_preset():
    for name in GPU_PRESETS:
        others = {k: g for k, g in GPU_PRESETS.items() if k != name}
        assert not gpu_hint(name, others).startswith("did you mean"), name


def test_the_plans_own_diagnostic_for_h200_sxm():
    text = plan_text(cluster='cluster { gpus = 8  gpu preset "h200-sxm" }')
    assert hint_of(text) == ('"h200-sxm"', "did you mean `h200`? (the SXM module)")


def test_a_kernel_profile_is_suggested_as_the_same_gpu():
    text = plan_text(cluster='cluster { gpus = 8  gpu preset "h100-sxm"  kernels = "H200-SXM" }')
    _, hint = hint_of(text)
    assert hint.startswith("did you mean `h200`? built-in profiles: ")
    _, hint = hint_of(text.replace("H200-SXM", "h100-pcie"))
    assert hint.startswith("built-in profiles: ")


# ------------------------------------------------------------------ units

@pytest.mark.parametrize("written, unit, dim, hint", [
    ("400", "Gb/s", Dimension.BANDWIDTH,
     "`Gb/s` is gigabits per second, 8 bits a byte: 400 Gb/s = 50 GB/s; write `f = 50 GB/s`"),
    ("800", "Gbps", Dimension.BANDWIDTH,
     "`Gbps` is gigabits per second, 8 bits a byte: 800 Gbps = 100 GB/s; write `f = 100 GB/s`"),
    ("80", "Gb", Dimension.SIZE, "`Gb` is gigabits, 8 bits a byte: 80 Gb = 10 GB; write `f = 10 GB`"),
    ("50", "GBps", Dimension.BANDWIDTH, "did you mean `GB/s`? (`GBps` is gigabytes per second: `f = 50 GB/s`)"),
    ("989", "TFLOP/s", Dimension.COMPUTE,
     "did you mean `TFLOPS`? (`TFLOP/s` is teraFLOP per second: `f = 989 TFLOPS`)"),
    ("2", "sec", Dimension.TIME, "did you mean `s`? (`sec` is seconds: `f = 2 s`)"),
    ("2", "min", Dimension.TIME, "`min` is minutes: 2 min = 120 s; write `f = 120 s`"),
    ("500", "MiB/s", Dimension.BANDWIDTH, "`MiB/s` is mebibytes per second: 500 MiB/s = 524.3 MB/s; "
                                          "write `f = 524.3 MB/s`"),
    ("90", "percent", Dimension.RATIO, "did you mean `%`? (`percent` is per cent: `f = 90 %`)"),
    ("100", "tok/s/gpu", Dimension.THROUGHPUT,
     "did you mean `tokens/s/gpu`? (`tok/s/gpu` is tokens/s/gpu: `f = 100 tokens/s/gpu`)"),
    ("80", "gb", Dimension.SIZE, "`gb` could be gigabytes (`f = 80 GB`) or gigabits, 8 bits a byte (`f = 10 GB`)"),
    ("400", "Gb/s", Dimension.SIZE, "`Gb/s` is gigabits per second, a bandwidth; `f` takes a size, e.g. `f = 80 GB`"),
    ("80", "GB/h", Dimension.SIZE, "`f` takes a size in `B`, `KB`, `KiB`, `MB`, `MiB`, `GB`, `GiB`, `TB`, `TiB`, "
                                   "e.g. `f = 80 GB`"),
])
def test_a_unit_is_suggested_only_with_its_meaning_and_factor_said(written, unit, dim, hint):
    assert unit_hint(written, unit, dim, "f", "f =") == hint


@pytest.mark.parametrize("unit", sorted(UNITS))
def test_a_units_case_changed_is_never_read_as_another_factor(unit):
    """`gb` for `GB`, `Mb/s` for `MB/s`, `MS` for `ms`: a did-you-mean names a unit of the same
    factor; a reading of another factor is said with its own number."""
    dim = UNITS[unit].dimension
    for written in {unit.swapcase(), unit.lower(), unit.upper()} - set(UNITS):
        hint = unit_hint("8", written, dim, "f", "f =")
        if hint.startswith("did you mean `"):
            meant = hint.split("`")[1]
            assert UNITS[meant].factor == UNITS[unit].factor, (written, hint)


def test_gigabits_in_a_plan_are_converted_aloud_never_silently_swapped():
    text = plan_text(cluster='cluster { gpus = 8  gpu preset "h100-sxm"  inter_node = 400 Gb/s }')
    assert hint_of(text) == ("Gb/s", "`Gb/s` is gigabits per second, 8 bits a byte: 400 Gb/s = 50 GB/s; "
                                     "write `inter_node = 50 GB/s`")


def test_a_throughput_requirement_keeps_its_per_gpu():
    text = plan_text(require="require { decode_throughput >= 100 tok/s/gpu }")
    assert hint_of(text)[1].startswith("did you mean `tokens/s/gpu`?")


# ------------------------------------------------------------------ counts written with a multiplier

@pytest.mark.parametrize("parts, where, hint", [
    ({"workload": "workload { batch = 64  prompt = 2k  generate = 256 }"}, "k",
     "`2k` is not read as a number: write `prompt = 2000` (or `prompt = 2048` for 2 × 1,024)"),
    ({"cluster": 'cluster { gpus = 1K  gpu preset "h100-sxm" }'}, "K",
     "`1K` is not read as a number: write `gpus = 1000` (or `gpus = 1024` for 1 × 1,024)"),
    ({"require": "require { gpus <= 2k }"}, "k",
     "`2k` is not read as a number: write `gpus <= 2000` (or `gpus <= 2048` for 2 × 1,024)"),
    ({"workload": "workload { batch = 1.5M  prompt = 2048  generate = 256 }"}, "M",
     "`1.5M` is not read as a number: write `batch = 1500000` (or `batch = 1572864` for 1.5 × 1,048,576)"),
])
def test_2k_is_refused_everywhere_with_the_number_to_write(parts, where, hint):
    """`2k` is never read as 2 (nor as 2,000 or 2,048 silently): the hint writes the number out."""
    assert hint_of(plan_text(**parts)) == (where, hint)


def test_a_token_count_may_say_tokens_and_any_other_word_is_not_dropped_silently():
    """`prompt = 2048 tokens` reads as `prefix = 2000 tokens` does (since 2026-12-02; it was refused with a hint to
    drop the word, while `prefix` took it); a misspelt noun or another unit is still refused, never dropped."""
    text = plan_text(workload="workload { batch = 64  prompt = 2048 tokens  generate = 256 token  chunk = 4096 tokens"
                              "  serving = inflight }")
    w = load_plan_text(text).workload
    assert (w.prompt, w.generate, w.chunk) == (2048, 256, 4096)
    text = plan_text(workload="workload { batch = 64  prompt = 2048 tokns  generate = 256 }")
    assert hint_of(text)[1] == "`prompt` takes a plain number: `prompt = 2048`"
    text = plan_text(workload="workload { batch = 64  prompt = 2048 x  generate = 256 }")
    assert hint_of(text)[1] == "`prompt` takes a plain number, without a unit: `2048x` is not one"


# ------------------------------------------------------------------ strategy axes

@pytest.mark.parametrize("strategy, where, hint", [
    ("tp8", "tp8", "write `tp 8`: an axis and its degree are two words"),
    ("tp 2 ; ep4", "ep4", "write `ep 4`: an axis and its degree are two words"),
    ("tp 2k", "k", "`2k` is not read as a number: write `tp 2000` (or `tp 2048` for 2 × 1,024)"),
    ("tensor 8", "tensor", "did you mean `tp`?"),
    ("tp 4 ; ex 2", "ex", "axes are dp (data), pp (pipeline), tp (tensor), cp (context), sp (sequence), "
                          "ep (expert), etp (expert tensor)"),
])
def test_an_axis_hint_explains_instead_of_swapping(strategy, where, hint):
    (d,) = flatten(parse_strategy(strategy))[1]
    assert (d.code, d.span.text, d.hint) == ("E101", where, hint)


@pytest.mark.parametrize("strategy, hint", [
    ("tp 8 with microbatches 2k", "`2k` is not read as a number: write `microbatches 2000` (or `microbatches 2048` "
                                  "for 2 × 1,024)"),
    ("tp 8 with microbatches 4K overlap none", "`4K` is not read as a number: write `microbatches 4000` (or "
                                               "`microbatches 4096` for 4 × 1,024)"),
])
def test_a_strategy_options_2k_gets_the_number_to_write_not_a_premature_end(strategy, hint):
    with pytest.raises(PlanError) as err:
        parse_strategy(strategy)
    (d,) = err.value.diagnostics
    assert (d.code, d.span.text, d.hint) == ("E001", strategy.split("microbatches ")[1][1], hint)


@pytest.mark.parametrize("strategy, where, fixed", [
    ("tp 2 tp 4", "tp 4", "tp 8"),
    ("tp 2 ; ep 2 ep 4", "ep 4", "tp 2 ; ep 8"),
    ("pp 2 [12.5, 19.5] < tp 4 >", "[12.5, 19.5]", "pp 2 [13, 19] < tp 4 >"),
    ("tp 1.5", "tp 1.5", "tp 2"),
])
def test_every_e204_has_a_hint_whose_fix_flattens(strategy, where, fixed):
    """Each E204 says what to write (a repeated axis once with its whole degree, a whole number of layers or a
    whole degree), and what it says to write flattens."""
    (d,) = flatten(parse_strategy(strategy))[1]
    assert (d.code, d.span.text) == ("E204", where) and d.hint
    assert flatten(parse_strategy(fixed))[1] == []


@pytest.mark.parametrize(("last", "word", "meant"), [("requre { ttft <= 2 s }", "requre", "require"),
                                                      ("worklaod { batch = 4 }", "worklaod", "workload"),
                                                      ("clustre { gpus = 8 }", "clustre", "cluster")])
def test_a_misspelt_block_after_a_strategy_is_named_where_it_stands(last, word, meant):
    """A block keyword misspelt on the line after `strategy …` is read into the strategy's expression until its `{`:
    E001 names the word at its own place and the keyword meant, as it does at the top of the file."""
    text = ('model preset "mixtral-8x7b"\ncluster { gpus = 8  gpu preset "h100-sxm" }\n'
            f"workload {{ batch = 64  prompt = 2048  generate = 256 }}\nstrategy tp 8\n{last}\n")
    with pytest.raises(PlanError) as exc:
        load_plan_text(text)
    d = exc.value.diagnostics[0]
    assert (d.code, d.message, d.hint) == ("E001", f"unexpected `{word}`", f"did you mean `{meant}`?")
    assert (d.span.line, d.span.column, d.span.end - d.span.start) == (5, 1, len(word))


def test_a_strategy_name_before_a_brace_is_no_slip():
    """`strategy tp 8 {`: no keyword misspelt, the `{` itself is what is wrong (the hint about blocks)."""
    with pytest.raises(PlanError) as exc:
        load_plan_text('model preset "mixtral-8x7b"\ncluster { gpus = 8  gpu preset "h100-sxm" }\n'
                       "workload { batch = 64  prompt = 2048  generate = 256 }\nstrategy tp 8 {\n")
    assert exc.value.diagnostics[0].hint.startswith("`{ … }` opens the blocks")


def test_pools_written_with_braces_are_shown_their_angle_brackets():
    """`prefill 2 { tp 2 } decode 3 { tp 2 }`, as a new user wrote the pools of a disaggregated strategy: the hint
    shows how a strategy's scopes and pools are written, not only where braces belong."""
    with pytest.raises(PlanError) as exc:
        load_plan_text('model preset "qwen3-30b-a3b"\ncluster { gpus = 8  gpu preset "h200" }\n'
                       "workload { batch = 64  prompt = 2048  generate = 256  serving = inflight }\n"
                       "strategy pd = prefill 2 { tp 2 } decode 3 { tp 2 }\n")
    d = exc.value.diagnostics[0]
    assert (d.code, d.span.line, d.span.column) == ("E001", 4, 25)
    assert "`prefill 2 < tp 2 > decode 3 < tp 2 >`" in d.hint


@pytest.mark.parametrize("written, hint", [
    # seed 004's "16 GPUs (64GB VRAM each)": until 2026-11-30 the list of presets, no word of which has 64 GB
    ("64GB", "a GPU preset is named by its model, not its memory: of the built-in GPUs, `generic-400t` has 64 GB; "
             'or describe yours as `gpu "64GB" { memory = 64 GB  flops = …  hbm = … }`'),
    ("80gb", "a GPU preset is named by its model, not its memory: of the built-in GPUs, `h100-sxm`, `h800` and "
             '`a100-80g` have 80 GB; or describe yours as `gpu "80gb" { memory = 80 GB  flops = …  hbm = … }`'),
    ("48G", "a GPU preset is named by its model, not its memory: no built-in GPU has 48 GB; "
            'describe yours as `gpu "48G" { memory = 48 GB  flops = …  hbm = … }`'),
])
def test_a_gpu_named_by_its_memory_alone_is_told_the_presets_of_that_memory(written, hint):
    assert gpu_hint(written, GPU_PRESETS) == hint
    snippet = hint.rsplit("`gpu ", 1)[1].rstrip("`").replace("flops = …", "flops = 400 TFLOPS")
    load_plan_text(plan_text(cluster="cluster { gpus = 8  gpu " + snippet.replace("hbm = …", "hbm = 2 TB/s") + " }"))
