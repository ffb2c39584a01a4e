"""Issue 52, the adversarial round, outside request logs: a planted marker cannot make dagc remove the
directory above its output (2), `--svg` replaces only what starts as dagc's plot (13), a model path the
terminal cannot show is E708 (14), EPLB on subnormal loads and on 65,536 slots (6, 7). Everything writes
inside tmp dirs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dagc.lang.load import load_plan

# ---------------------------------------------------------------- 2: a manifest lists only names inside its directory

@pytest.mark.parametrize("entry", ["..", "../", "../victim", "/etc", "a/../..", "./", "a//b", "x/y/z/w"])
def test_a_marker_listing_a_path_outside_is_not_dagcs(tmp_path, monkeypatch, entry):
    import os
    from pathlib import Path

    from dagc.export.compile import compile_results
    from dagc.export.output_dir import MANIFEST_HEAD, MARKER, MARKER_TEXT, check_output_dir
    from dagc.export.write import OutputError
    from dagc.verdict.check import check
    from conftest import ROOT

    plan = load_plan(ROOT / "tests" / "fixtures" / "small.moe")
    victim, out = tmp_path / "victim", tmp_path / "mnt"
    victim.mkdir()
    (victim / "keep.txt").write_text("mine")
    out.mkdir()
    (out / "report.md").write_text("old")
    (out / MARKER).write_text(MARKER_TEXT + MANIFEST_HEAD + f"report.md\n{entry}\n")
    real = os.path.ismount                  # a mount point: the set is moved in entry by entry (simulated)
    monkeypatch.setattr(os.path, "ismount", lambda p: Path(p) == out or real(p))
    with pytest.raises(OutputError, match="not a plain name inside it"):
        check_output_dir(out)
    with pytest.raises(OutputError):
        compile_results(plan, check(plan, plan.strategies[0].text), out)
    assert (victim / "keep.txt").read_text() == "mine" and (out / "report.md").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mnt", "victim"]


# ---------------------------------------------------------------- 13: --svg replaces only what starts as dagc's plot

@pytest.mark.parametrize("text", [
    "my notes\nthe plot is marked <!-- dagc search: Pareto front --> at its top\n",
    '<svg xmlns="http://www.w3.org/2000/svg"><text><!-- dagc search: Pareto front --></text></svg>\n',
    "<svg>\n<title>mine</title>\n<!-- dagc search: Pareto front -->\n</svg>\n",
    "# <!-- dagc search: Pareto front -->\n",
])
def test_a_file_quoting_the_plot_signature_is_not_replaced(tmp_path, text):
    from dagc.export.pareto import PARETO_SIGNATURE
    from dagc.export.write import OutputError, check_own

    mine = tmp_path / "plot.svg"
    mine.write_text(text)
    with pytest.raises(OutputError, match="did not write it"):
        check_own(mine, PARETO_SIGNATURE)
    assert mine.read_text() == text


def test_a_plot_dagc_drew_is_still_its_own(tmp_path):
    from dagc.export.pareto import PARETO_SIGNATURE, pareto_svg
    from dagc.export.write import check_own
    from dagc.search.search import search
    from conftest import ROOT

    plan = load_plan(ROOT / "tests" / "fixtures" / "small.moe")
    drawn = tmp_path / "pareto.svg"
    drawn.write_text(pareto_svg(search(plan, top=2), "small"))
    check_own(drawn, PARETO_SIGNATURE)                  # no error: dagc's own plot is replaced


# ---------------------------------------------------------------- 14: a model path the terminal cannot show is E708

@pytest.mark.parametrize("char", ["\u202e", "\u2066", "\u200b", "\ufeff", "\u0085", "\x7f", "\t", "\u2028"])
def test_a_model_path_with_a_bidi_or_invisible_character_is_e708(monkeypatch, char):
    from dagc.lang.load import load_plan_text
    from dagc.launch import launch as launch_module
    from dagc.launch.engines import launch_result
    from dagc.verdict.check import check
    from conftest import plan_text

    plan = load_plan_text(plan_text(strategy="strategy tp 8"))
    result = check(plan)[0]
    monkeypatch.setattr(launch_module, "model_path", lambda p: launch_module.ModelPath(f"models/a{char}b", "a dir"))
    for x in launch_result(result):
        assert [d.code for d in x.refusals] == ["E708"] and not x.commands, x.refusals
        assert f"U+{ord(char):04X}" in x.refusals[0].message
    monkeypatch.setattr(launch_module, "model_path", lambda p: launch_module.ModelPath("modèles/日本 v2", "a dir"))
    assert all(x.ok for x in launch_result(result))          # letters of any script, and a space, are printable


# ---------------------------------------------------------------- 6, 7: EPLB on subnormal loads, and many slots fast

def _replicas_by_scan(loads, slots):          # DeepSeek's rule as first written: a scan per slot
    count, out = [1] * len(loads), list(range(len(loads)))
    for _ in range(slots - len(loads)):
        best = max(range(len(loads)), key=lambda e: (loads[e] / count[e], -e))
        count[best] += 1
        out.append(best)
    return out


def _pack_by_scan(items, packs):
    per = len(items) // packs
    if per == 1:
        return [[item] for item in items]
    out, load = [[] for _ in range(packs)], [0.0] * packs
    for item in sorted(items, key=lambda x: -x[1]):
        k = min((p for p in range(packs) if len(out[p]) < per), key=lambda p: (load[p], p))
        out[k].append(item)
        load[k] += item[1]
    return out


@pytest.mark.parametrize("seed", range(6))
def test_the_heaps_place_as_the_scans_did(seed):
    from dagc.layout.eplb import pack, replicas

    rng = np.random.default_rng(seed)
    experts, ep = int(rng.choice([4, 8, 16])), int(rng.choice([2, 4]))
    loads = [float(x) for x in rng.integers(0, 4, experts)]          # small integers: ties everywhere
    slots = experts + ep * int(rng.integers(0, 5))
    assert replicas(loads, slots) == _replicas_by_scan(loads, slots)
    items = [(i, float(x)) for i, x in enumerate(rng.integers(0, 3, slots))]
    assert pack(items, ep) == _pack_by_scan(items, ep)


@pytest.mark.parametrize("loads", [[5e-324, 0, 0, 0], [5e-324, 5e-324, 1e-320, 0], [1e-310] * 4])
def test_subnormal_loads_have_a_factor(loads):
    from dagc.layout.eplb import busiest_factor, contiguous_factor, measured_factor
    from dagc.plan.workload import ExpertLoad

    scaled = [x / max(loads) for x in loads]            # a factor is one of shares: the scale does not matter
    assert busiest_factor(loads, ep=2) == busiest_factor(scaled, ep=2) and busiest_factor(loads, ep=2) >= 1
    assert contiguous_factor(loads, ep=2) == contiguous_factor(scaled, ep=2)
    load = ExpertLoad(file="l.json", layers=(tuple(loads),), digest=str(loads))
    assert measured_factor(load, 2, 2, 1) == busiest_factor(scaled, ep=2, redundant=2)


def test_a_plan_with_subnormal_loads_is_checked(tmp_path):
    from dagc.verdict.check import check

    (tmp_path / "load.json").write_text(json.dumps({"layers": [[5e-324] + [0] * 7] * 32}))
    (tmp_path / "p.moe").write_text('model preset "mixtral-8x7b"\ncluster { gpus = 4  gpu preset "h100-sxm" }\n'
                                    'workload { batch = 8  prompt = 2048  generate = 64  routing from "load.json" }\n'
                                    "strategy tp 4 ; ep 4 with redundant 4\nstrategy tp 4 ; ep 4\n")
    for r in check(load_plan(tmp_path / "p.moe")):
        assert r.metrics is not None and r.metrics.decode_tokens_per_s > 0


def test_sixty_five_thousand_redundant_slots_are_placed():
    # a scan per slot took 4 s a layer, 218 s a plan; the heaps' time is measured in bench/, not here
    from dagc.layout.eplb import place

    loads = [float(x) for x in np.random.default_rng(0).integers(1, 1000, 256)]
    p = place(loads, ep=256, redundant=65_536)
    assert [len(r) for r in p.ranks] == [257] * 256 and sum(p.loads) == pytest.approx(sum(loads))


def test_memory_is_judged_before_the_activations_of_a_rank_that_cannot_fit(tmp_path):
    # 65,536 redundant slots of Mixtral's experts: 86 TB of weights a rank. E402 stands on the weights alone,
    # so the activations' working set (EPLB's placement of every layer) is not derived, and the message says so.
    from dagc.verdict.check import check

    (tmp_path / "load.json").write_text(json.dumps({"layers": [[1 + i for i in range(8)]] * 32}))
    (tmp_path / "p.moe").write_text('model preset "mixtral-8x7b"\ncluster { gpus = 8  gpu preset "h100-sxm" }\n'
                                    'workload { batch = 8  prompt = 2048  generate = 64  routing from "load.json" }\n'
                                    "strategy tp 8 ; ep 8 with redundant 65536\n")
    r = check(load_plan(tmp_path / "p.moe"))[0]
    worst = r.memory.worst
    expert_bytes = (8 + 65_536) // 8 * 3 * 4096 * 14336 * 2 * 32         # slots a rank × gated FFN × bf16 × layers
    assert worst.routed_expert_bytes == expert_bytes
    assert not worst.activations_counted and worst.activation_bytes == 0
    e402 = next(d for d in r.diagnostics if d.code == "E402")
    assert "activations (not counted" in e402.message
    (tmp_path / "q.moe").write_text((tmp_path / "p.moe").read_text().replace("65536", "8"))
    fits = check(load_plan(tmp_path / "q.moe"))[0].memory.worst
    assert fits.activations_counted and fits.activation_bytes > 0 and fits.fits
