"""A deployment that does not carry its traffic is charged on at most what it sustains (`sustained_goodput`): its
capacity where judged, else its steady state's request rate — not the burst a run past its capacity serves before its
queue shows, which made an overloaded deployment cheaper the further it was pushed (a user's trial: Kimi K2's
`tp 1 ; ep 64` at 0.791 $ per million tokens at 60 requests/s, against 2.00 $ at 12 within its capacity)."""

from __future__ import annotations

from types import SimpleNamespace as N

from dagc.export.cost_words import sustained_goodput


def _result(goodput: float, carries: bool, capacity: float | None, throughput: float = 12_000.0) -> N:
    load = N(figures=N(goodput_requests_per_s=goodput), carries_traffic=carries, capacity_requests_per_s=capacity,
             load=N(prompt=None, output_tokens=None))        # the run: the workload's lengths
    return N(load=load, metrics=N(throughput_tokens_per_s=throughput),
             plan=N(workload=N(prompt=1000, generate=200)))


def test_an_overloaded_run_is_charged_at_most_its_capacity_else_its_steady_rate():
    assert sustained_goodput(_result(30.34, False, 13.91)) == 13.91
    assert sustained_goodput(_result(30.34, False, None)) == 12_000.0 / 1200          # the steady state's 10 a second
    assert sustained_goodput(_result(8.0, False, 13.91)) == 8.0        # serving less than it could: that
    assert sustained_goodput(_result(30.34, True, 13.91)) == 30.34     # carrying its traffic: what it serves
    assert sustained_goodput(N(load=None, metrics=None, plan=N(workload=None))) is None


def test_the_cost_line_says_what_the_goodput_charged_was_brought_down_to():
    """The Cost line beside a Load line of "goodput 6 requests/s" said "on its goodput under the plan's traffic (5.496
    requests/s …)" (a user's trial, Mixtral 8x22B on 8 H200 past its capacity of 5.496): it now says the 5.496 is its
    capacity, below what its run served (`sustained_cap`)."""
    from dagc.export.cost_words import sustained_cap
    from dagc.serve.price import basis_text

    assert sustained_cap(_result(6.0, False, 5.496)) == ("its capacity", 6.0)
    assert sustained_cap(_result(30.34, False, None)) == ("its steady state's request rate", 30.34)
    assert sustained_cap(_result(8.0, False, 13.91)) is None and sustained_cap(_result(30.34, True, 13.91)) is None
    said = basis_text({"basis": "goodput", "goodput_requests_per_s": 5.496, "tokens_per_s": 13_190.0},
                      True, ("its capacity", 6.0))
    assert said == ("on the goodput it sustains under the plan's traffic (5.496 requests/s, 13,190 tokens/s: its "
                    "capacity, below the 6 requests/s its run served within every target, which a longer run does "
                    "not keep)")
