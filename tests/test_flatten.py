"""The flatten pass (`dagc.lang.flatten`): strategy declarations into degrees, E101/E201/E202/E204,
and the rule registry naming the pass for the codes it emits."""

from __future__ import annotations

import pytest

from dagc.lang.flatten import MAX_DEGREE, flatten
from dagc.lang.load import parse_strategy
from dagc.lang.lower import lower
from dagc.lang.parse import parse
from dagc.rules import RULES, explain, rule
from dagc.rules.base import Rule
from dagc.source import SourceFile


def flat(text: str):
    strategy, diags = flatten(parse_strategy(text))
    assert diags == []
    return strategy


def found(text: str) -> list[tuple[str, int, str, str]]:
    strategy, diags = flatten(parse_strategy(text))
    assert strategy is None
    return [(d.code, d.span.column, d.span.text, d.message) for d in diags]


@pytest.mark.parametrize("text, degrees", [
    # (dp, pp, pp_split, tp, cp, sp, ep, etp)
    ("pp 4 [5, 4, 4, 3] < tp 4 sp ; ep 8 etp 2 >", (1, 4, (5, 4, 4, 3), 4, 1, True, 8, 2)),
    ("dp 2 < pp 4 < tp 2 ; ep 8 > >", (2, 4, None, 2, 1, False, 8, 1)),
    ("pp 4 < ep 16 ; tp 2 >", (1, 4, None, 2, 1, False, 16, 1)),
    ("tp 4 cp 2", (1, 1, None, 4, 2, False, None, None)),
    ("etp 2", (1, 1, None, 1, 1, False, 1, 2)),
])
def test_degrees(text, degrees):
    s = flat(text)
    assert (s.dp, s.pp, s.pp_split, s.tp, s.cp, s.sp, s.ep, s.etp) == degrees
    assert s.text == text and s.name is None


def test_spans_of_every_axis():
    s = flat("pp 4 [5, 4, 4, 3] < tp 4 sp ; ep 8 etp 2 >")
    assert {k: v.text for k, v in s.spans.items()} == {
        "pp": "pp 4", "tp": "tp 4", "sp": "sp", "ep": "ep 8", "etp": "etp 2", "split": "[5, 4, 4, 3]",
        "strategy": "pp 4 [5, 4, 4, 3] < tp 4 sp ; ep 8 etp 2 >"}
    assert s.span_of("cp").text == s.text   # an axis not written points at the whole strategy


@pytest.mark.parametrize("text, expected", [
    ("pp 2 < dp 2 < tp 2 > >", [("E201", 8, "dp 2", "`dp` must be the outermost axis (dp ⊃ pp ⊃ in-stage domains)")]),
    ("tp 2 < ep 4 >", [("E201", 1, "tp 2", "`<` opened by the in-stage axis `tp`: only dp, pp and the pools (prefill, "
                        "decode) open a scope")]),
    ("pp 4 tp 2", [("E201", 1, "pp 4", "`pp 4` must enclose the in-stage axes in `< … >`, not sit beside them")]),
    ("tp 2 ; cp 2", [("E201", 1, "tp 2 ; cp 2",
                      "a stage has at most two domains: attention (tp, cp, sp) and expert (ep, etp)")]),
    ("tp 2 ep 4", [("E202", 1, "tp 2 ep 4", "`tp 2` and `ep 4` are written in one domain, which reads as their "
                    "product (8 GPUs); attention and expert axes run on the same GPUs of a stage")]),
    ("tp 2 tp 4", [("E204", 6, "tp 4", "`tp` is repeated in this scope")]),
    ("tp 0", [("E204", 1, "tp 0", "`tp 0`: a degree is a whole number of at least 1")]),
    ("tp 1.5", [("E204", 1, "tp 1.5", "`tp 1.5`: a degree is a whole number of at least 1")]),
    ("tp", [("E204", 1, "tp", "`tp` needs a degree")]),
    ("sp 2", [("E204", 1, "sp 2", "`sp` is a flag on tp and takes no degree")]),
    ("tp [1]", [("E204", 4, "[1]", "only `pp` takes an explicit `[…]` layer split"),
                ("E204", 1, "tp", "`tp` needs a degree")]),
    # at the degree, as written (it read `2.09715e+06`, under the whole axis)
    (f"tp {2 * MAX_DEGREE}", [("E204", 4, f"{2 * MAX_DEGREE}",
                               "`tp` degree 2097152 is beyond any cluster (at most 1,048,576)")]),
    ("tp 99999999999999999999999999999", [("E204", 4, "99999999999999999999999999999",
                                           "`tp` degree 999999999999999999999999… is beyond any cluster (at most "
                                           "1,048,576)")]),
    ("tq 8", [("E101", 1, "tq", "unknown axis `tq`")]),
])
def test_structural_errors(text, expected):
    assert found(text) == expected


@pytest.mark.parametrize("text, hint", [
    ("tp 2 ; epp 4", "did you mean `ep`?"),               # after `;`: the expert domain's axes first
    ("tp 2 ; etpp 2 ep 4", "did you mean `etp`?"),
    ("tpp 2 ; ep 4", "did you mean `tp`?"),               # the first domain: attention's
    ("pp 2 < tp 2 ; epp 4 >", "did you mean `ep`?"),
    ("ddp 2 < tp 4 >", "did you mean `dp`?"),             # only dp, pp and the pools open a scope
    ("ppp 2 < tp 4 >", "did you mean `pp`?"),
    ("tp 2 ; zzz 2", "axes are dp (data), pp (pipeline), tp (tensor), cp (context), sp (sequence), ep (expert), "
                     "etp (expert tensor)"),
    ("tp 2 ; ex 2", "axes are dp (data), pp (pipeline), tp (tensor), cp (context), sp (sequence), ep (expert), "
                    "etp (expert tensor)"),          # `ex` is one letter from `ep` — and from nothing it means
    ("tp 2 ; expert 2", "did you mean `ep`?"),           # an axis's name in words
    ("tp8", "write `tp 8`: an axis and its degree are two words"),
    ("tp 2k", "`2k` is not read as a number: write `tp 2000` (or `tp 2048` for 2 × 1,024)"),
])
def test_an_unknown_axis_is_matched_first_among_those_that_fit_where_it_stands(text, hint):
    (d,) = flatten(parse_strategy(text))[1]
    assert d.code == "E101" and d.hint == hint


def test_e202_hint_gives_the_gpus_per_stage():
    (d,) = flatten(parse_strategy("pp 2 < tp 2 ep 4 >"))[1]
    assert d.hint == ("separate the domains with `;`: `tp 2 ; ep 4` uses max(2, 4) = 4 GPUs per stage; or, for their "
                      "product as Megatron-Core counts TP × EP, 8 GPUs a stage, each expert split over 2 GPUs too: "
                      "`tp 2 ; ep 4 etp 2`")


def test_e202_hint_gives_the_product_reading_where_the_cluster_holds_it():
    """Seed 003 counted `EP-16 × TP-4` as 64 GPUs: on 64 GPUs the hint names that reading too (`tp 4 ; ep 16 etp 4`,
    which checks), on 16 only the separated domains (until 2026-11-30 the separated domains alone on both)."""
    from dagc.lang.load import load_plan_text
    from dagc.launch.engine_check import check
    plan = """model "m10b" {{ layers = 16  hidden = 2048  heads = 16  kv_heads = 4  head_dim = 128  vocab = 32000
  moe {{ experts = 16  top_k = 2  ffn = 1024 }} }}
cluster {{ gpus = {gpus}  gpus_per_node = 8  gpu preset "h100-sxm" }}
workload {{ batch = 64  prompt = 2000  generate = 300  serving = inflight }}
strategy a = {strategy}
"""
    for gpus, product in ((64, True), (16, False)):
        (r,) = check(load_plan_text(plan.format(gpus=gpus, strategy="tp 4 ep 16")))
        (d,) = [d for d in r.diagnostics if d.code == "E202"]
        assert d.hint is not None and ("`tp 4 ; ep 16 etp 4`" in d.hint) is product
    (r,) = check(load_plan_text(plan.format(gpus=64, strategy="tp 4 ; ep 16 etp 4")))
    assert r.verdict.correct and r.layout.gpus_used == 64


def test_flatten_of_a_plan_statement_keeps_its_name():
    text = ('model preset "mixtral-8x7b"  cluster { gpus = 16  gpu preset "h100-sxm" }  '
            "workload { batch = 8  prompt = 8  generate = 8 }  strategy fast = dp 2 < tp 8 >")
    src = SourceFile("p.moe", text)
    s, _ = flatten(lower(parse(src), src).strategies[0])
    assert (s.name, s.label, s.dp, s.tp) == ("fast", "fast", 2, 8)
    assert s.span_of("strategy").text == "strategy fast = dp 2 < tp 8 >"


# ---------------------------------------------------------------------------------------------- the registry


@pytest.mark.parametrize("code", ["E201", "E202", "E204"])
def test_registry_names_flatten_for_its_codes(code):
    r = rule(code)
    assert r is not None and r.check is None and flatten in r.passes
    assert explain(code).startswith(f"{code} (error): ")


def test_every_code_has_a_check_or_names_its_passes():
    for r in RULES:
        assert (r.check is None) != (not r.passes), r.code
    assert {r.code for r in RULES if flatten in r.passes} == {"E101", "E201", "E202", "E204", "E205"}
    assert rule("E203").check is not None and rule("E203").passes == ()
    with pytest.raises(ValueError):
        Rule("X001", rule("E201").severity, "neither", "")


@pytest.mark.parametrize("gpus, written, suggested", [
    (8, "tp 8 ep 16", "tp 8 ; ep 8"),                   # `tp 8 ; ep 16` needs 16 GPUs a stage: E401 on 8
    (8, "dp 2 < tp 8 ep 16 >", "tp 4 ; ep 4"),          # 4 GPUs a stage under dp 2
    (16, "tp 8 ep 16", "tp 8 ; ep 16"),                 # the cluster holds the domains as written
    (8, "tp 2 ep 4", "tp 2 ; ep 4"),
])
def test_e202_hint_suggests_only_what_the_plans_cluster_holds(gpus, written, suggested):
    """The E202 hint of a plan's strategy separates the domains within the GPUs a stage of its cluster holds; the
    strategy it names, written in the plan, breaks no rule of the GPU count (E401, E203)."""
    from dagc.verdict.check import check, load_plan_text

    text = (f'model preset "qwen3-235b-a22b"\ncluster {{ gpus = {gpus}  gpu preset "h200"  engine = vllm }}\n'
            "workload { batch = 8  prompt = 512  generate = 64 }\nstrategy {s}\n")
    plan = load_plan_text(text.replace("{s}", written))
    (result,) = check(plan)
    (e202,) = [d for d in result.diagnostics if d.code == "E202"]
    assert e202.hint is not None and f"`{suggested}` uses" in e202.hint
    fixed = written.replace(written.removeprefix("dp 2 < ").removesuffix(" >"), suggested)
    (result,) = check(load_plan_text(text.replace("{s}", fixed)))
    assert not {"E202", "E203", "E401"} & {d.code for d in result.diagnostics}, result.diagnostics


def test_e202_hint_says_plainly_when_the_cluster_cannot_hold_the_domains():
    """`tp 6 ; ep 16` on 8 GPUs: no degrees of it both fit 8 GPUs a stage and divide one another (E203)."""
    from dagc.lang.domain_hint import separate_hint, stage_gpus

    att, exp = ([a] for a in parse_strategy("tp 6 ep 16").scope[0])
    hint = separate_hint(att, exp, "max(6, 16) = 16", 16, stage_gpus(8, []))
    assert hint == ("separate the domains with `;` — `tp 6 ; ep 16` uses max(6, 16) = 16 GPUs per stage, more than "
                    "the cluster's 8 GPUs — and lower the degrees to what the cluster holds, or give it more GPUs")
