"""A fleet's cluster whose GPU has no kernel profile of its own (MI300X, B200: priced by the h200 profile at their
peaks) is marked in the table, in the terminal and in fleet.md, with a note under it, as `dagc check` names the
profile on its Times line; a GPU with its own profile is not."""

from __future__ import annotations

from fleet_answers import ranked
from rich.console import Console

from dagc.cli.print_fleet import print_fleet
from dagc.export.fleet_json import fleet_json
from dagc.export.fleet_out import fleet_md
from dagc.fleet.cluster import cluster_json
from dagc.lang.fleet import Fleet, FleetGpu, FleetPoint
from dagc.lang.load import load_plan_text

PLAN = ('model preset "qwen3-30b-a3b"\ncluster { gpus = 2  gpu preset "GPU" }\n'
        "workload { batch = 64  prompt = 1000  generate = 300  serving = inflight }\nstrategy tp 1\n")


def test_the_cluster_says_the_kernel_profile_its_times_rest_on():
    assert cluster_json(load_plan_text(PLAN.replace("GPU", "mi300x")))["kernel_profile"] == "h200@mi300x"
    assert cluster_json(load_plan_text(PLAN.replace("GPU", "h200")))["kernel_profile"] == "h200"


def _answer(gpu: str, profile: str, price: float, meets: bool = True) -> dict:
    """2 GPUs serving 2 requests/s of 1,300 tokens with `tp 1` on one of them."""
    load = {"goodput_requests_per_s": 2.0, "ttft_s": {"p99": 0.0738}, "tpot_s": {"p90": 0.02}}
    per_million = price / 3600 / (2.0 * 1300) * 1e6
    return {"cluster": {"gpu": gpu, "gpus": 2, "gpus_per_node": 8, "engine": "vllm@0.33.0",
                        "price_per_gpu_hour": price, "kernel_profile": profile},
            "meets_requirements": meets, "pick": {"strategy": "tp 1", "gpus": 1, "score": 1.0, "load": load},
            "instances": 2, "per_million_tokens": per_million, "gpu_hours_per_million_tokens": per_million / price,
            "rent_per_hour": 2 * price, "binding": "tpot_p90 <= 30 ms"}


def test_a_borrowed_profile_is_marked_in_the_table_and_said_under_it():
    fleet = Fleet((FleetGpu("mi300x", "2.10 $/h", 2.10, None), FleetGpu("h200", "3.49 $/h", 3.49, None)), (), 2.0,
                  None)
    answers = [(FleetPoint(0, "mi300x", "2.10 $/h", (("gpus", "2"),), 0, None, 1.0, rate=2.0),
                _answer("mi300x", "h200@mi300x", 2.10)),
               (FleetPoint(1, "h200", "3.49 $/h", (("gpus", "2"),), 1, None, 1.0, rate=2.0),
                _answer("h200", "h200", 3.49))]
    r = ranked(fleet, answers, "tokens-per-gpu")
    console = Console(width=1000, record=True)
    print_fleet(console, r, 10)
    text = " ".join(console.export_text().split())
    assert "│ 1 │ 2 x mi300x, h200's profile │" in text and "│ 2 │ 2 x h200 │" in text
    assert ("h200's profile: mi300x has no kernel profile of its own: its times are the h200's measured "
            "efficiencies at its peaks, with the engines' terms fitted on NVIDIA runs — an assumption, not a "
            "measurement") in text
    md = fleet_md(fleet_json(r), "fleet")
    row = next(line for line in md.splitlines() if line.startswith("| 1 |"))
    assert row.startswith("| 1 | 2 x mi300x, h200's profile | vllm@0.33.0 |")
    assert "mi300x has no kernel profile of its own" in md
    assert "h200 has no kernel profile" not in md


def test_an_engine_release_priced_with_the_newest_terms_is_said_under_the_table():
    # trial 50: `engine = [vllm@0.8.5, vllm]` gave both clusters the same figures and said nothing of whose terms
    # priced 0.8.5 (`dagc check`'s engine line says it; until 2026-12-01 the fleet did not)
    fleet = Fleet((FleetGpu("h200", "3.49 $/h", 3.49, None),), (), 2.0, None)
    old = _answer("h200", "h200", 3.49)
    old["cluster"]["engine"] = "vllm@0.8.5"
    answers = [(FleetPoint(0, "h200", "3.49 $/h", (("engine", "vllm@0.8.5"),), 0, None, 1.0, rate=2.0), old),
               (FleetPoint(1, "h200", "3.49 $/h", (("engine", "vllm"),), 0, None, 1.0, rate=2.0),
                _answer("h200", "h200", 3.49))]
    r = ranked(fleet, answers, "tokens-per-gpu")
    console = Console(width=1000, record=True)
    print_fleet(console, r, 10)
    said = "vllm@0.8.5: its terms here are vLLM 0.33.0's: dagc has none of 0.8.5's own"
    assert said in " ".join(console.export_text().split())
    md = fleet_md(fleet_json(r), "fleet")
    assert said.replace(":", "\\:") in md and "vllm@0.33.0\\: its terms" not in md     # md_text escapes a colon


def test_no_engine_note_when_every_release_has_its_own_terms():
    fleet = Fleet((FleetGpu("h200", "3.49 $/h", 3.49, None),), (), 2.0, None)
    answers = [(FleetPoint(0, "h200", "3.49 $/h", (("gpus", "2"),), 0, None, 1.0, rate=2.0),
                _answer("h200", "h200", 3.49))]
    console = Console(width=1000, record=True)
    print_fleet(console, ranked(fleet, answers, "tokens-per-gpu"), 10)
    assert "its terms here are" not in console.export_text()
