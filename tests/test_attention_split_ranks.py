"""A decode pass whose attention-DP groups hold different requests keys its attention split's ops by the distinct
requests a group holds (`dagc.ir.ops.attention_split_ranks_key`, `dagc.schedule.timer.Timer.ranks_alike`): passes
with the same distinct values share those ops' entries, and every decode step is the float a timer keying them by
each group's requests gives — on several strategies, at every count of requests of a replica and at two contexts,
under vLLM (CUDA graphs) and the plain reference. Where the engine's compute and memory scales differ an op's price
reads its totals, which differ between such passes: there the split stays each group's."""

from __future__ import annotations

import pytest

from dagc.ir.dag import Phase
from dagc.ir.ops import attention_split_ranks_key
from dagc.lang.load import load_plan_text
from dagc.schedule.timer import Timer
from dagc.serve.step_prices import StepPrices
from dagc.verdict.check import check

PLAN = """model preset "qwen3-30b-a3b"
cluster {{ gpus = 8  gpu preset "h200"  engine = {engine} }}
workload {{ batch = {batch}  prompt = 2000  generate = 300  serving = inflight }}
strategy {strategy}
"""


def _prices(strategy: str, engine: str, batch: int, ranks_alike: bool) -> tuple[StepPrices, int]:
    """A strategy's step prices on a fresh timer of its own, the ranks key on or off, and a replica's most requests."""
    plan = load_plan_text(PLAN.format(strategy=strategy, engine=engine, batch=batch))
    r = check(plan)[0]
    timer = Timer(plan)
    assert timer.ranks_alike  # the engine's two scales alike: on by default
    timer.ranks_alike = ranks_alike
    return StepPrices(plan, r.strategy, r.layout, timer), batch // r.layout.dp


@pytest.mark.parametrize(
    ("strategy", "engine", "batch"),
    [("tp 1 ; ep 8", "vllm", 48), ("tp 1 ; ep 8", "pytorch", 40), ("dp 2 < tp 1 ; ep 4 >", "vllm", 40)],
)
def test_a_decode_step_keyed_by_its_groups_distinct_requests_is_the_same_float(strategy, engine, batch):
    keyed, most = _prices(strategy, engine, batch, True)
    apart, _ = _prices(strategy, engine, batch, False)
    adp = keyed.adp
    assert adp in (4, 8) and most > 2 * adp
    for ell in (2000, 700):
        for n in range(1, most + 1):
            assert keyed.decode(n, ell) == apart.decode(n, ell), (n, ell)
    # every count of requests that is no multiple of the groups holds two distinct values: ⌊n / adp⌋ and ⌈n / adp⌉;
    # keyed by them, each decode op of the split is entered once per pair, not once per count (at the first context:
    # the second prices its attention alone, `dagc.schedule.timer_base.TimerCore.split_attention`)
    made = {key for key in keyed.timer.core.tables.split if key[1][0] is Phase.DECODE}
    each = {key for key in apart.timer.core.tables.split if key[1][0] is Phase.DECODE}
    uneven = [n for n in range(1, most + 1) if n % adp]
    pairs = {(n // adp, -(-n // adp)) for n in uneven}
    assert len(pairs) < len(uneven)
    assert len(made) < len(each)
    ops = {key[0] for key in each}
    assert len(made) == len(ops) * (len(pairs) + len({n // adp for n in range(1, most + 1) if not n % adp}))
    assert len(each) == len(ops) * most


@pytest.mark.parametrize(
    ("strategy", "engine", "batch"),
    [("tp 1 ; ep 8", "vllm", 48), ("tp 1 ; ep 8", "pytorch", 40), ("dp 2 < tp 1 ; ep 4 >", "vllm", 40)],
)
def test_a_mixed_step_keyed_by_its_chunk_groups_and_the_others_distinct_requests_is_the_same_float(
    strategy, engine, batch
):
    """A mixed step keeps the requests of the groups its chunk is on (the first, or every one: `every_rank`) and keys
    the other groups by their distinct requests (since 2026-12-02): every step the float each group's key gives, with
    fewer entries."""
    keyed, most = _prices(strategy, engine, batch, True)
    apart, _ = _prices(strategy, engine, batch, False)
    for ell in (2000, 700):
        for n in range(1, most + 1):
            for p in (1, 300, 2000):
                assert keyed.mixed(n, p, ell) == apart.mixed(n, p, ell), (n, p, ell)
                assert keyed.every_rank().mixed(n, p, ell) == apart.every_rank().mixed(n, p, ell), (n, p, ell)
    made = {key for key in keyed.timer.core.tables.split if key[1][0] is Phase.MIXED}
    each = {key for key in apart.timer.core.tables.split if key[1][0] is Phase.MIXED}
    assert len(made) < len(each)


def test_the_ranks_key_holds_the_distinct_values_and_leaves_other_splits():
    """Worked by hand: 100 requests on 32 groups (4 groups of 4, 28 of 3) and 101 (5 of 4) share one key; 99 (3 of 4,
    29 of 3) too; 96 (every group 3) is the same-everywhere key it was; a mixed pass keeps its chunk's group (the
    first: chunk ranks 1) with its requests and keys the others by theirs; a prefill's split is left as it is."""

    def split(req: tuple[float, ...], phase: Phase = Phase.DECODE) -> tuple:
        return (phase, req, 1, 1, False, 32, 2000, 300, 1, 0)

    hundred = split((4.0,) * 4 + (3.0,) * 28)
    assert (
        attention_split_ranks_key(hundred)
        == attention_split_ranks_key(split((4.0,) * 5 + (3.0,) * 27))
        == attention_split_ranks_key(split((4.0,) * 3 + (3.0,) * 29))
        == (Phase.DECODE, (3.0, 4.0), 1, 1, False, "ranks", 2000, 300, 1, 0)
    )
    assert attention_split_ranks_key(split((4.0,) * 4 + (2.0,) * 28)) != attention_split_ranks_key(hundred)
    assert attention_split_ranks_key(
        split((4.0,) * 4 + (3.0,) * 28)[:6] + (4000, 300, 1, 0)
    ) != attention_split_ranks_key(hundred)
    same = (Phase.DECODE, (3.0,), 1, 1, False, None, 2000, 300, 1, 0)
    assert attention_split_ranks_key(same) is same
    mixed = attention_split_ranks_key(split((4.0,) * 4 + (3.0,) * 28, Phase.MIXED))
    assert mixed == (Phase.MIXED, ((4.0,), (3.0, 4.0)), 1, 1, False, "ranks", 2000, 300, 1, 0)
    assert attention_split_ranks_key(split((4.0,) * 5 + (3.0,) * 27, Phase.MIXED)) == mixed
    assert attention_split_ranks_key(split((3.0,) + (4.0,) * 4 + (3.0,) * 27, Phase.MIXED)) != mixed  # chunk on 3
    prefill = split((4.0,) * 4 + (3.0,) * 28, Phase.PREFILL)
    assert attention_split_ranks_key(prefill) is prefill


def test_an_engine_whose_scales_differ_keys_each_groups_requests():
    """With its compute and memory scales apart an op's price blends them by its totals (the ranks' FLOPs and
    bytes), which differ between passes of the same distinct requests: such a timer keeps each group's split."""
    plan = load_plan_text(PLAN.format(strategy="tp 1 ; ep 8", engine="vllm", batch=40))
    c = plan.cluster
    terms = c.engine.terms.model_copy(update={"compute_time_scale": 1.3})
    scaled = plan.model_copy(
        update={"cluster": c.model_copy(update={"engine": c.engine.model_copy(update={"terms": terms})})}
    )
    assert Timer(plan).ranks_alike and not Timer(scaled).ranks_alike
