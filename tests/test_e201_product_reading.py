"""E201 for dp or pp written beside `tp T` and `ep E` in one domain (`ep 16 tp 4 pp 1`, as seed 001 counts EP-16 ×
TP-4 on 64 GPUs): the hint separates the domains, max(T, E) GPUs a stage, and names the product's reading beside it,
`ep E etp T`, as E202's hint does for the same axes without pp. Until 2026-12-02 it gave the separated domains alone:
a user who meant 64 GPUs pasted a strategy of 16, unsaid."""

from __future__ import annotations

from dagc.lang.flatten import flatten
from dagc.lang.load import parse_strategy


def _hint(text: str, gpus: int | None) -> str:
    strategy, diags = flatten(parse_strategy(text), gpus)
    assert strategy is None
    (d,) = [d for d in diags if d.code == "E201"]
    return d.hint or ""


def test_seed_001s_layout_is_told_both_readings() -> None:
    assert _hint("ep 16 tp 4 pp 1", 64) == (
        "write `pp 1 < tp 4 ; ep 16 >`: `tp 4 ; ep 16` share a stage's max(4, 16) = 16 GPUs; or, for their product "
        "as Megatron-Core counts TP × EP, 64 GPUs a stage, each expert split over 4 GPUs too: "
        "`pp 1 < tp 4 ; ep 16 etp 4 >`")


def test_both_readings_paste_as_they_are_said() -> None:
    for pasted, gpus in (("pp 1 < tp 4 ; ep 16 >", 16), ("pp 1 < tp 4 ; ep 16 etp 4 >", 64)):
        strategy, diags = flatten(parse_strategy(pasted), 64)
        assert diags == [] and strategy is not None
        assert strategy.pp * max(strategy.tp, strategy.ep * strategy.etp) == gpus


def test_the_product_is_named_only_where_the_cluster_holds_it() -> None:
    # dp 2 × pp 2 × 4 × 8 = 128 GPUs: more than 64
    assert _hint("dp 2 tp 4 ep 8 pp 2", 64) == "write `dp 2 < pp 2 < tp 4 ; ep 8 > >`"
    assert _hint("dp 2 tp 4 ep 8 pp 2", 128).endswith("`dp 2 < pp 2 < tp 4 ; ep 8 etp 4 > >`")


def test_domains_already_separated_keep_the_plain_hint() -> None:
    assert _hint("ep 16 ; tp 4 ; pp 1", 64) == "write `pp 1 < tp 4 ; ep 16 >`"
    assert _hint("tp 4 ep 1 pp 2", 64) == "write `pp 2 < tp 4 ; ep 1 >`"
