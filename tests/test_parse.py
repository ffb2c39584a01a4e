"""The language: every SPEC 3 snippet parses; syntax errors are located E001 diagnostics."""

from __future__ import annotations

import pytest
from lark import Token

from dagc.diagnostics import PlanError, render
from dagc.lang.load import load_plan, load_plan_text
from dagc.lang.parse import parse
from dagc.plan.model import AttentionKind, DType
from dagc.plan.workload import Overlap, RequirementKind
from dagc.source import SourceFile
from conftest import plan_text

SPEC_MODEL_FULL = '''
model "my-moe" {            # a model written out in full
  layers = 16
  hidden = 4096
  heads = 32
  kv_heads = 32             # GQA when < heads
  head_dim = 128
  vocab = 32000
  tied = false              # tied embeddings
  weights = bf16            # fp32 | bf16 | fp16 | fp8 | int8 | int4
  kv_cache = bf16
  attention = gqa           # gqa (covers MHA) | mla
  moe {
    experts = 16            # routed experts per MoE layer
    top_k = 2
    ffn = 16384             # intermediate size of one routed expert
    shared = 0              # shared experts per MoE layer
    shared_ffn = 0          # intermediate size of one shared expert (0 = ffn)
    dense_layers = 0        # the first N layers are dense, not MoE
    dense_ffn = 0
    gated = true            # SwiGLU (3 matrices) vs plain MLP (2)
  }
}'''
SPEC_MODEL_PRESET = 'model preset "mixtral-8x7b" { layers = 16 }    # a built-in model, fields overridable'
SPEC_MODEL_MLA = '''model preset "deepseek-v3" {                   # MLA attention: heads count, no kv_heads/head_dim
  attention = mla
  mla { q_lora = 1536  kv_lora = 512  qk_nope = 128  qk_rope = 64  v_head = 128 }
}'''
SPEC_CLUSTER = '''cluster {
  gpus = 16                 # GPUs available
  gpus_per_node = 8
  gpu preset "h100-sxm"     # or: gpu "my-gpu" { memory = 64 GB  flops = 400 TFLOPS  hbm = 1.8 TB/s }
  intra_node = 450 GB/s     # per GPU, one direction (NVLink); default from the preset
  inter_node = 50 GB/s      # per GPU, one direction (network)
  efficiency { compute = 0.6  hbm = 0.8  network = 0.8 }
}'''
SPEC_CLUSTER_CUSTOM = 'cluster { gpus = 16 gpu "my-gpu" { memory = 64 GB  flops = 400 TFLOPS  hbm = 1.8 TB/s } }'
SPEC_WORKLOAD = '''workload {
  batch = 128               # concurrent requests served by the whole deployment
  prompt = 10240            # input tokens per request
  generate = 256            # output tokens per request
  microbatches = 4          # pipeline micro-batches (default: pp)
  routing = uniform         # uniform | imbalance 1.3 (busiest EP rank gets 1.3x the mean tokens)
  overlap = none            # none | microbatch (comm of one micro-batch hides under compute of another)
}'''
SPEC_REQUIRE = '''require {
  ttft <= 10 s
  tpot <= 50 ms
  decode_throughput >= 100 tokens/ms/gpu
  prefill_throughput >= 20000 tokens/s
  throughput >= 1000 tokens/s/gpu      # end to end: (prompt+generate)*batch over total request time
  memory <= 90 %                       # of GPU memory, worst rank
  gpus <= 64
}'''
SPEC_STRATEGIES = [
    "strategy pp 4 < ep 16 ; tp 2 >                    # one unnamed strategy",
    "strategy current  = pp 16 < ep 16 >               # or several, named, compared side by side",
    "strategy balanced = dp 2 < pp 4 < tp 2 ; ep 8 > >",
    "strategy pp 4 [5, 4, 4, 3] < tp 4 sp ; ep 8 etp 2 >   # explicit layers per stage; sp flag on tp",
]


def test_spec_model_full_lowers_exactly():
    plan = load_plan_text(plan_text(model=SPEC_MODEL_FULL))
    m = plan.model
    assert (m.name, m.layers, m.hidden, m.heads, m.kv_heads, m.head_dim, m.vocab) == \
        ("my-moe", 16, 4096, 32, 32, 128, 32000)
    assert m.tied is False and m.weights is DType.BF16 and m.attention is AttentionKind.GQA
    assert (m.moe.experts, m.moe.top_k, m.moe.ffn, m.moe.shared, m.moe.gated) == (16, 2, 16384, 0, True)


def test_spec_model_preset_override():
    plan = load_plan_text(plan_text(model=SPEC_MODEL_PRESET))
    assert plan.model.layers == 16 and plan.model.hidden == 4096 and plan.model.moe.experts == 8


def test_spec_model_mla():
    plan = load_plan_text(plan_text(model=SPEC_MODEL_MLA, strategy="strategy tp 8 ; ep 8",
                                    cluster='cluster { gpus = 8 gpu preset "h200" }'))
    mla = plan.model.mla
    assert plan.model.attention is AttentionKind.MLA
    assert (mla.q_lora, mla.kv_lora, mla.qk_nope, mla.qk_rope, mla.v_head) == (1536, 512, 128, 64, 128)


def test_spec_model_from(tmp_path):
    (tmp_path / "config.json").write_text(
        '{"num_hidden_layers": 4, "hidden_size": 1024, "num_attention_heads": 8, "vocab_size": 1000,'
        ' "intermediate_size": 512, "num_local_experts": 4, "num_experts_per_tok": 2}')
    path = tmp_path / "p.moe"
    path.write_text(plan_text(model='model from "config.json"                       # a Hugging Face config.json'))
    assert load_plan(path).model.moe.experts == 4


def test_spec_cluster_and_units():
    c = load_plan_text(plan_text(cluster=SPEC_CLUSTER)).cluster
    assert (c.gpus, c.gpus_per_node, c.gpu.name) == (16, 8, "h100-sxm")
    assert c.intra_node_bytes_per_s == 450e9 and c.inter_node_bytes_per_s == 50e9
    assert (c.efficiency.compute, c.efficiency.hbm, c.efficiency.network) == (0.6, 0.8, 0.8)


def test_spec_custom_gpu():
    g = load_plan_text(plan_text(cluster=SPEC_CLUSTER_CUSTOM)).cluster.gpu
    assert (g.name, g.memory_bytes, g.flops_16bit, g.hbm_bytes_per_s) == ("my-gpu", 64e9, 400e12, 1.8e12)


def test_spec_workload():
    w = load_plan_text(plan_text(workload=SPEC_WORKLOAD)).workload
    assert (w.batch, w.prompt, w.generate, w.microbatches, w.routing_imbalance, w.overlap) == \
        (128, 10240, 256, 4, 1.0, Overlap.NONE)
    w = load_plan_text(plan_text(workload="workload { batch = 8 prompt = 8 generate = 8 routing = imbalance 1.3 "
                                          "overlap = microbatch }")).workload
    assert w.routing_imbalance == 1.3 and w.overlap is Overlap.MICROBATCH


def test_spec_require():
    reqs = load_plan_text(plan_text(require=SPEC_REQUIRE)).requirements
    got = {(r.kind, r.op): (r.target, r.per_gpu) for r in reqs}
    assert got[(RequirementKind.TTFT, "<=")] == (10.0, False)
    assert got[(RequirementKind.TPOT, "<=")] == (pytest.approx(0.05), False)
    assert got[(RequirementKind.DECODE_THROUGHPUT, ">=")] == (100_000.0, True)
    assert got[(RequirementKind.PREFILL_THROUGHPUT, ">=")] == (20000.0, False)
    assert got[(RequirementKind.THROUGHPUT, ">=")] == (1000.0, True)
    assert got[(RequirementKind.MEMORY, "<=")] == (pytest.approx(0.9), False)
    assert got[(RequirementKind.GPUS, "<=")] == (64.0, False)


@pytest.mark.parametrize("line, name, text", [
    (SPEC_STRATEGIES[0], None, "pp 4 < ep 16 ; tp 2 >"),
    (SPEC_STRATEGIES[1], "current", "pp 16 < ep 16 >"),
    (SPEC_STRATEGIES[2], "balanced", "dp 2 < pp 4 < tp 2 ; ep 8 > >"),
    (SPEC_STRATEGIES[3], None, "pp 4 [5, 4, 4, 3] < tp 4 sp ; ep 8 etp 2 >"),
])
def test_spec_strategies_parse(line, name, text):
    plan = load_plan_text(plan_text(strategy=line))
    assert [(s.name, s.text) for s in plan.strategies] == [(name, text)]


def test_spec_all_statements_in_one_plan_any_order():
    text = "\n".join([SPEC_REQUIRE, *SPEC_STRATEGIES[1:3], SPEC_WORKLOAD, SPEC_CLUSTER, SPEC_MODEL_FULL])
    plan = load_plan_text(text)
    assert [s.name for s in plan.strategies] == ["current", "balanced"]
    assert plan.strategies[1].text == "dp 2 < pp 4 < tp 2 ; ep 8 > >"


@pytest.mark.parametrize("text, line, col, words", [
    ("cluster { gpus: 8 }", 1, 15, "`=`"),
    ("strategy pp 4 < ep 16", 1, 21, "`>`"),
    ("model preset mixtral", 1, 14, "quoted string"),
    ("workload {\n  batch 4\n}", 2, 9, "`=`"),
    ("require { ttft = 4 s }", 1, 16, "comparison"),
    ('model preset "mixtral-8x7b\ncluster { gpus = 8 }', 1, 14, "unterminated string"),
])
def test_syntax_errors_are_located(text, line, col, words):
    with pytest.raises(PlanError) as exc:
        parse(SourceFile("p.moe", text))
    d = exc.value.diagnostics[0]
    assert d.code == "E001" and (d.span.line, d.span.column) == (line, col)
    assert words in d.message
    rendered = render(d)
    assert rendered.startswith(f"p.moe:{line}:{col}: error[E001]") and "^" in rendered


@pytest.mark.parametrize("text, message, hint", [
    # inside a workload: a GPU is not among what may stand there, and a stray number is not a strategy axis
    ("workload { = 3 }", "unexpected `=`; expected `}` or a name", "docs/language.md describes what may stand here"),
    ("workload { 3 }", "unexpected `3`; expected `}` or a name", "fields are written `name = value`"),
    ('model preset "mixtral-8x7b" { 3 }', "unexpected `3`; expected `}` or a name",
     "fields are written `name = value`"),
    # inside the cluster a GPU may stand; after a strategy a number is an axis's degree without its name
    ("cluster { = 3 }", "unexpected `=`; expected `gpu`, `}` or a name",
     "docs/language.md describes what may stand here"),
    ("strategy tp 8 3", "unexpected `3`", "a strategy axis is a name followed by its degree, e.g. `tp 4`"),
])
def test_a_syntax_error_inside_a_block_speaks_of_that_block(text, message, hint):
    with pytest.raises(PlanError) as exc:
        parse(SourceFile("p.moe", text))
    d = exc.value.diagnostics[0]
    assert d.message.startswith(message) and d.hint == hint


def test_an_unterminated_string_says_so_and_shows_it_closed():
    with pytest.raises(PlanError) as exc:
        parse(SourceFile("p.moe", 'model preset "mixtral-8x7b\ncluster { gpus = 8 }'))
    d = exc.value.diagnostics[0]
    assert d.message == 'unterminated string: the `"` opened here is not closed on its line'
    assert d.hint == 'close it on the same line: "mixtral-8x7b"'


def test_a_quote_where_no_string_goes_is_an_unexpected_character():
    with pytest.raises(PlanError) as exc:
        parse(SourceFile("p.moe", 'strategy tp 2 ; ep "4'))
    assert exc.value.diagnostics[0].message.startswith('unexpected character `"`')


def _trees_and_errors(parser, texts):
    """What `parser` makes of each text, as dagc reads it: every rule's name and position, every
    token's type, text and position, in order; or its error."""
    def canonical(node):
        if isinstance(node, Token):
            return ("token", node.type, str(node), node.line, node.column, node.end_line, node.end_column)
        meta = None if node.meta.empty else (node.meta.line, node.meta.column, node.meta.end_line,
                                             node.meta.end_column)
        return ("rule", str(node.data), meta, [canonical(child) for child in node.children])

    out = []
    for text in texts:
        try:
            out.append(canonical(parser.parse(text, start="start")))
        except Exception as exc:                  # the error itself is compared
            out.append(repr(exc))
    return out


def test_the_shipped_parser_is_the_grammars():
    """dagc/data/plan_parser.pickle (bench/make_parser.py) holds the LALR tables of grammar/plan.lark:
    its header names the grammar's SHA-256 (rerun the script after changing the grammar); with the
    Lark it was built by, it parses every example and mistake as the grammar's own parser does —
    trees, positions, errors — and with another Lark it is not used."""
    import hashlib
    from pathlib import Path

    import lark

    from dagc.lang.parse import GRAMMAR_PATH, PARSER_PATH, _shipped_parser, build_parser

    grammar = GRAMMAR_PATH.read_text()
    digest, version = PARSER_PATH.read_bytes().split(b"\n")[:2]
    assert digest.decode() == hashlib.sha256(grammar.encode()).hexdigest(), "run bench/make_parser.py"
    shipped = _shipped_parser(grammar)
    if version.decode() != f"lark {lark.__version__}":
        assert shipped is None
        return
    assert shipped is not None
    examples = Path(__file__).resolve().parent.parent / "examples"
    texts = [p.read_text() for p in sorted(examples.rglob("*.moe"))]
    texts += [text[:cut] for text in texts[:3] for cut in (0, 17, 120, 333)]       # cut short: errors
    assert len(texts) > 20
    assert _trees_and_errors(shipped, texts) == _trees_and_errors(build_parser(grammar), texts)


@pytest.mark.parametrize("content", [b"", b"not a header\n", b"0" * 64 + b"\nlark 0.0\n", None])
def test_a_missing_stale_or_damaged_shipped_parser_is_built_from_the_grammar(tmp_path, monkeypatch, content):
    import dagc.lang.parse as parse_module

    path = tmp_path / "plan_parser.pickle"
    if content is None:          # the right header, then no pickle: damaged
        content = parse_module.parser_header(parse_module.GRAMMAR_PATH.read_text()) + b"\x80garbage"
    if content:
        path.write_bytes(content)
    monkeypatch.setattr(parse_module, "PARSER_PATH", path)
    parse_module._parser.cache_clear()
    try:
        assert parse_module._shipped_parser(parse_module.GRAMMAR_PATH.read_text()) is None
        assert load_plan_text(plan_text()).workload.batch > 0
    finally:
        parse_module._parser.cache_clear()
