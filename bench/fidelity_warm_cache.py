"""SGLang's cookbook runs with the prompts of the runs before them cached: an experiment, not the corpus's plans.

Usage:
    python bench/fidelity_warm_cache.py          # each cookbook run cold and warm, and the held-out TTFT with them

The SGLang cookbook's speed benchmarks (`sglang-cookbook-qwen3-b200`, `sglang-cookbook-deepseek-r1-b200`, both held
out) run each scenario at 1, 16 and 64 or 100 clients in a row under one deployment command (Qwen3's summarising
scenario prints none of its own), with `sglang.bench_serving --dataset-name random` at its default seed. That client
draws the prompt lengths with `np.random.seed(1)` (`input_lens = np.random.randint(max(int(input_len * range_ratio),
1), input_len + 1, size=num_prompts)`, then the output lengths the same way from `int(output_len * range_ratio)`)
and fills the i-th prompt with the tokens of the i-th ShareGPT conversation of a list shuffled from
`random.seed(1)`, repeated or cut to its length (python/sglang/bench_serving.py, `sample_random_requests`): the
first N prompts of a run are the N prompts of a run of N before it, token for token. The draws reproduce every total
the cookbook prints (`DRAWN`, tests/test_fidelity_warm_cache.py). SGLang keeps a radix cache of every prompt it has
prefilled unless launched with `--disable-radix-cache` (the cookbook's commands are not): on one server, a run finds
the prompts of the runs before it cached and prefills each of them as one token.

Since 2026-12-01 the corpus's plans state each run warm (`warm = N`, docs/language.md: the first N prompts in the
prefix cache when the run starts) over dagc's own draws of the lengths (`lengths = uniform`). This script replays
each of the six runs from a Mooncake log of its drawn lengths (`requests from`) twice: cold, and warm — the prompts
the runs before it sent (its plan's `warm`, `warm_of`: the 10 of the 1-client run before a 16-client one, the 80 of the
16-client run before a 64- or 100-client one) written as one-token prompts, which is what their prefill is (as it
did before `warm` existed); their decode then reads a one-token prompt's KV cache instead of the whole prompt's,
which moves TPOT a little, not TTFT. A
summarising run may also find the first up to 1,000 tokens of each prompt cached from the reasoning scenario's
runs if they shared its server (the cookbook does not say); that is left out. The held-out half's TTFT median and
worst |error| are then computed from bench/corpus_results.json with the six runs' figures replaced by the warm
ones. docs/cost-model.md ("The held-out half's TTFT residuals") gives the figures.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
for p in (ROOT, ROOT / "bench"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import fidelity_corpus as fc  # noqa: E402  (bench/, on the path above)

from dagc.lang.load import load_plan_text  # noqa: E402

SEED = 1                 # sglang.bench_serving's `--seed` default
BLOCK_TOKENS = 512       # a Mooncake log's tokens per hash id
# Each run's prompts the runs before it on the same server sent, as its plan's `warm` says: the scenario's 1-client
# run sends 10, its 16-client run 80 (the cookbook's `--num-prompts`).
RUNS = ("qwen3-235b-b200-tp8-chat-c16", "qwen3-235b-b200-tp8-chat-c100", "qwen3-235b-b200-tp8-summarize-c16",
        "qwen3-235b-b200-tp8-summarize-c64", "dsr1-b200-tp8-chat-c16", "dsr1-b200-tp8-chat-c100")


def warm_of(run: fc.Run) -> int:
    """The prompts the run's plan caches before it starts (`warm = N`; 0 without)."""
    found = re.search(r"\bwarm = (\d+)", run.plan)
    return int(found.group(1)) if found else 0


def drawn(prompts: int, input_len: int, output_len: int, range_ratio: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The prompt and output lengths `sglang.bench_serving --dataset-name random` draws at its default seed."""
    rng = np.random.RandomState(SEED)
    ins = rng.randint(max(int(input_len * range_ratio), 1), input_len + 1, size=prompts)
    outs = rng.randint(int(output_len * range_ratio), output_len + 1, size=prompts)
    return ins, outs


def log_lines(ins: np.ndarray, outs: np.ndarray, cached: int) -> list[str]:
    """A Mooncake log of the drawn requests, each prompt its own blocks; the first `cached` prompts one token (their
    prefill once the radix cache holds the rest), every output at least one token (the log's least)."""
    lines, block = [], 0
    for i, (prompt, output) in enumerate(zip(ins.tolist(), outs.tolist(), strict=True)):
        tokens = 1 if i < cached else int(prompt)
        blocks = -(-tokens // BLOCK_TOKENS)
        lines.append(json.dumps({"timestamp": 0, "input_length": tokens, "output_length": max(int(output), 1),
                                 "hash_ids": list(range(block, block + blocks))}))
        block += blocks
    return lines


def replayed_ttft_ms(run: fc.Run, lines: list[str], folder: Path) -> float:
    """dagc's client TTFT of `run` with its requests replayed from `lines` (its plan's drawn lengths left out)."""
    path = folder / f"{run.id}.jsonl"
    path.write_text("\n".join(lines) + "\n")
    text = re.sub(r"\s*\bwarm = \d+", "", re.sub(r"  lengths = uniform  length_cv = [0-9.]+", "", run.plan))
    text = re.sub(r"requests = (\d+)", rf'requests = \1\n  requests from "{path.name}"', text, count=1)
    plan = load_plan_text(fc.with_engine(text, run.engine, run.release), f"{run.id}.moe", base_dir=folder)
    cluster = plan.cluster.model_copy(update={"reserve_bytes": fc.engine_reserve(run, plan, run.engine)})
    figures, why = fc.dagc_figures(plan.model_copy(update={"cluster": cluster}), run.client)
    if why is not None:
        raise RuntimeError(f"{run.id}: {why}")
    return float(figures["ttft_ms"])


def main() -> int:
    results = json.loads((ROOT / "bench" / "corpus_results.json").read_text())["runs"]
    corpus = {r["run"]: r for r in results}
    warm: dict[str, float] = {}
    print(f"{'run':36} {'measured':>9} {'corpus':>9} {'cold':>9} {'warm':>9}   TTFT ms (error)")
    with tempfile.TemporaryDirectory() as tmp:
        for run_id in RUNS:
            _, run = fc.published(run_id)
            cached = warm_of(run)
            s = run.settings
            ins, outs = drawn(int(s["num-prompts"]), int(s["random-input-len"]), int(s["random-output-len"]))
            cold = replayed_ttft_ms(run, log_lines(ins, outs, 0), Path(tmp))
            warm[run_id] = replayed_ttft_ms(run, log_lines(ins, outs, cached), Path(tmp))
            m = run.measured["ttft_ms"]
            cells = [corpus[run_id]["dagc"]["ttft_ms"], cold, warm[run_id]]
            print(f"{run_id:36} {m:9.1f} " + " ".join(f"{x:9.1f}" for x in cells) + "   "
                  + " ".join(f"{(x - m) / m * 100:+6.1f} %" for x in cells))
    errors = [abs((warm.get(r["run"], r["dagc"][k]) - r["measured"][k]) / r["measured"][k]) for r in results
              if r["half"] == "held-out" for k in r["errors"] if fc.quantity(k) == "TTFT"]
    print(f"held-out TTFT with the warm figures: n={len(errors)} median |error| "
          f"{statistics.median(errors) * 100:.1f} %, worst {max(errors) * 100:.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
