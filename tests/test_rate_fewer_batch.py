"""`dagc search --rate`'s "fewer GPUs" line says at which batch the strategies on fewer GPUs ran, when the conclusion
runs more requests in flight (replicas of a strategy, each with the plan's batch): a new user read "none of the 20
strategies simulated on fewer than 4 meets every requirement at 20 requests/s" beside `dp 4 < tp 1 >` at batch 256,
while `tp 1 ; ep 2` on 2 GPUs met every requirement at batch 256 (its check: goodput 18.4 requests/s) — the 2-GPU
rows had run the plan's 64."""

from __future__ import annotations

from types import SimpleNamespace as N

from dagc.cli.print_rate import fewer_gpus_line


def _row(text: str, gpus: int, batch: int | None, served: float, carries: bool) -> N:
    return N(candidate=N(text=text, gpus=gpus, batch=batch, meets_requirements=carries, load_missed=(),
                         others_missed=()),
             load=N(carries_traffic=carries, figures=N(served_requests_per_s=served)), requirements=())


def test_the_fewer_gpus_line_names_the_batch_they_ran_at() -> None:
    best = _row("dp 4 < tp 1 > with microbatches 1 overlap none", 4, 256, 20.0, True)
    fewer = _row("tp 2 ; ep 2 with microbatches 1 overlap none", 2, None, 7.251, False)
    ranked = N(ranked=[best, fewer])
    line = fewer_gpus_line(ranked, best, "20 requests/s", None, 64)      # type: ignore[arg-type]
    assert line == ("  fewer GPUs: the one strategy simulated on fewer than 4, `tp 2 ; ep 2 with microbatches 1 "
                    "overlap none` on 2 GPUs, does not keep up: it serves 7.251 requests/s at 20 requests/s (at a "
                    "batch of 64, the conclusion's 256: `--vary batch` runs each strategy at the largest batch it "
                    "serves; `--set cluster.gpus=2` searches every strategy on 2)")
    # at the conclusion's own batch, nothing to say of it
    same = fewer_gpus_line(N(ranked=[_row("tp 4", 4, None, 20.0, True), fewer]), _row("tp 4", 4, None, 20.0, True),
                           "20 requests/s", None, 64)                   # type: ignore[arg-type]
    assert same is not None and "--vary batch" not in same
