"""What a strategy's tokens cost, as report.json's `cost`, `dagc check`'s and report.md's Cost line state it: on
the GPUs the strategy uses, and with every GPU the cluster rents charged, as `dagc fleet` ranks clusters.

Input: a `StrategyResult`. Output: `strategy_cost` — report.json's `cost`, `dagc.serve.price.token_cost`'s
figures on the GPUs the strategy uses and the same figures with every rented GPU charged (`rented_…`) — and
`cost_sentence`, the Cost line. A plan whose strategy leaves GPUs of its cluster idle (W505) pays for them all the
same: the line leads with what the rented cluster costs a million tokens and gives the figure on the GPUs used
beside it, as the fleet's line does (docs/outputs.md, `cost`).
"""

from __future__ import annotations

from ..serve.price import TokenCost, basis_text, request_tokens, token_cost
from ..verdict.check import StrategyResult

__all__ = ["StrategyCost", "cost_sentence", "strategy_cost", "sustained_cap", "sustained_goodput"]

class StrategyCost(TokenCost):
    """report.json's `cost` (docs/outputs.md): `TokenCost`'s figures, on the GPUs the strategy uses, then the
    GPUs used and rented, the cluster's rent per hour and the figures with every rented GPU charged."""

    gpus_used: int | None
    gpus_rented: int
    rent_per_hour: float | None
    rented_gpu_hours_per_million_tokens: float | None
    rented_per_million_tokens: float | None
    rented_gpu_hours_per_million_output_tokens: float | None
    rented_per_million_output_tokens: float | None
    rented_gpu_hours_per_million_input_tokens: float | None
    rented_per_million_input_tokens: float | None


def strategy_cost(result: StrategyResult) -> StrategyCost | None:
    """report.json's `cost` of a strategy (None without metrics): `dagc.serve.price.token_cost` on its goodput
    under the plan's traffic where it was simulated, else on its steady state — what `dagc check`, report.md
    and report.json state, on the basis `dagc fleet` prices a pick on — and the same figures with every GPU the
    cluster rents charged (`rented_…`: × the cluster's GPUs / the strategy's, as `dagc fleet` ranks by)."""
    if not result.metrics:
        return None
    w, load, cluster = result.plan.workload, result.load, result.plan.cluster
    goodput = None if load is None else sustained_goodput(result)
    used = result.gpus_used
    prompt, generate = (w.prompt, w.generate) if load is None else request_tokens(load.load, w.prompt, w.generate)
    cost = token_cost(result.metrics, cluster.price_per_gpu_hour, prompt, generate, goodput, used)
    scale = max(cluster.gpus, used) / used if used else 1.0

    def rent(figure: float | None) -> float | None:
        return None if figure is None else figure * scale
    price = cluster.price_per_gpu_hour
    return StrategyCost(
        **cost, gpus_used=used, gpus_rented=cluster.gpus, rent_per_hour=None if price is None else price * cluster.gpus,
        rented_gpu_hours_per_million_tokens=rent(cost["gpu_hours_per_million_tokens"]),
        rented_per_million_tokens=rent(cost["per_million_tokens"]),
        rented_gpu_hours_per_million_output_tokens=rent(cost["gpu_hours_per_million_output_tokens"]),
        rented_per_million_output_tokens=rent(cost["per_million_output_tokens"]),
        rented_gpu_hours_per_million_input_tokens=rent(cost["gpu_hours_per_million_input_tokens"]),
        rented_per_million_input_tokens=rent(cost["per_million_input_tokens"]))


def sustained_goodput(result: StrategyResult) -> float | None:
    """The goodput a strategy is charged on (requests/s): its run's under the plan's traffic, but for a deployment
    that does not carry its traffic at most what it sustains — its capacity where judged, else its steady state's
    request rate. A run past its capacity serves a burst above it before its queue shows (Kimi K2's `tp 1 ; ep 64`
    at 60 requests/s "served" 30.34 against a capacity of 13.91), and charging that made an overloaded deployment
    cheaper the further it was pushed (until 2026-11-28: 0.791 $ per million tokens at 60 requests/s, 2.00 $ at 12).
    The steady state's request rate counts the run's own tokens a request (a request log's): until 2026-11-29 20
    requests of 220 tokens, 10.18 a second served, were charged at 0.4456 a second (its tokens/s over the workload's
    4,500 a request), 45.33 $ per million tokens."""
    load, m, w = result.load, result.metrics, result.plan.workload
    if load is None:
        return None
    goodput = load.figures.goodput_requests_per_s
    if load.carries_traffic:
        return goodput
    if load.capacity_requests_per_s is not None:
        return min(goodput, load.capacity_requests_per_s)
    prompt, generate = request_tokens(load.load, w.prompt, w.generate)      # a request log's own lengths
    steady = m.throughput_tokens_per_s / (prompt + generate) if m is not None else None
    return goodput if steady is None else min(goodput, steady)


def sustained_cap(result: StrategyResult) -> tuple[str, float] | None:
    """What `sustained_goodput` brought the run's goodput down to, in words, and that goodput (`basis_text`'s
    `capped`): "its capacity" or "its steady state's request rate"; None when it charged the run's own."""
    load = result.load
    if load is None:
        return None
    run, charged = load.figures.goodput_requests_per_s, sustained_goodput(result)
    if charged is None or not charged < run:
        return None
    what = "its capacity" if load.capacity_requests_per_s is not None and charged == load.capacity_requests_per_s \
        else "its steady state's request rate"
    return what, run


def _money(value: float | None) -> str:
    return "—" if value is None else f"{value:,.3f} $"


def cost_sentence(c: StrategyCost, traffic: bool = False, capped: tuple[str, float] | None = None) -> str:
    """The cost line of the reports (`strategy_cost` with a price), its basis said (`traffic`: the plan has
    traffic; `capped`: the goodput brought down to what it sustains, `sustained_cap`; `dagc.serve.price.basis_text`);
    where the strategy leaves GPUs of the cluster idle, every rented GPU
    charged, the cost on the GPUs it uses beside it.

    Example:
        >>> c = {"price_per_gpu_hour": 2.0, "basis": "steady_state", "tokens_per_s": 10000.0, "gpus_used": 2,
        ...      "gpus_rented": 8, "per_million_tokens": 0.1, "per_million_output_tokens": 0.2,
        ...      "per_million_input_tokens": 0.2, "rented_per_million_tokens": 0.4,
        ...      "rented_per_million_output_tokens": 0.8, "rented_per_million_input_tokens": 0.8}
        >>> cost_sentence(c).split("; ")[1]
        'the plan sends no traffic), 0.400 $ per million tokens (input and output) with all 8 GPUs the cluster rents \
charged, 0.100 $ on the 2 the strategy uses (6 idle)'

    """
    used, rented = c["gpus_used"], c["gpus_rented"]
    every, output, prompt = c["per_million_tokens"], c["per_million_output_tokens"], c["per_million_input_tokens"]
    if every is None and c["basis"] == "goodput":     # a goodput of 0: no token to charge the GPUs' time to
        return (f"at {c['price_per_gpu_hour']:,.2f} $/h per GPU, {basis_text(c, traffic, capped)}: no cost per token "
                "— no request is served within every target, so the GPUs' time buys no token counted; meet the latency "
                "targets first (the requirements above say which miss)")
    charged = tail = ""
    if used is not None and rented > used:       # W505: the idle GPUs are rented all the same
        every, output, prompt = (c["rented_per_million_tokens"], c["rented_per_million_output_tokens"],
                                 c["rented_per_million_input_tokens"])
        charged = (f" with all {rented:,} GPUs the cluster rents charged, {_money(c['per_million_tokens'])} on the "
                   f"{used:,} the strategy uses ({rented - used:,} idle)")
        tail = ", every rented GPU charged"
    return (f"at {c['price_per_gpu_hour']:,.2f} $/h per GPU, {basis_text(c, traffic, capped)}, {_money(every)} per "
            f"million tokens (input and output){charged}; the whole cost over the output tokens alone, as serving "
            f"benchmarks quote it, {_money(output)} per million output tokens, and over the input tokens alone "
            f"{_money(prompt)} per million input tokens{tail}")
