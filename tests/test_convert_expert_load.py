"""bench/convert_sglang_expert_load.py: SGLang's expert-distribution dump → dagc's expert-load JSON.

The dumps here are written by hand in the shapes SGLang's `eplb/expert_distribution.py` saves (the
script's docstring cites the commit): mode stat's `logical_count` (passes, layers, logical experts),
and per_pass's `records` of `global_physical_count` (layers, physical experts) with
`last_physical_to_logical_map`. Tensors are nested lists (JSON), or numpy arrays behind a stand-in
`torch.load` for the .pt path, so that no test needs PyTorch. Every sum is worked by hand.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT

SCRIPT = ROOT / "bench" / "convert_sglang_expert_load.py"


@pytest.fixture(scope="module")
def conv():
    spec = importlib.util.spec_from_file_location("convert_sglang_expert_load", SCRIPT)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# 3 layers × 4 experts, one pass; layer 0 is dense (no routed experts, all zero).
ONE_PASS = [[[0, 0, 0, 0], [5, 0, 2, 1], [1, 1, 6, 0]]]
# Three passes (SGLang's circular buffer) of the same model; the last slot unused (zeros).
PASSES = [[[0, 0, 0, 0], [5, 0, 2, 1], [1, 1, 6, 0]],
          [[0, 0, 0, 0], [3, 4, 0, 1], [0, 2, 2, 4]],
          [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]]
# Per layer and expert: 5+3+0, 0+4+0, 2+0+0, 1+1+0 and 1+0+0, 1+2+0, 6+2+0, 0+4+0.
PASSES_SUM = [[8, 4, 2, 2], [1, 3, 8, 4]]


def stat_dump(logical_count) -> dict:
    return {"rank": 0, "logical_count": logical_count, "average_utilization_rate_over_window": None}


def write_json(tmp_path: Path, obj, name: str = "dump.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(obj))
    return path


def run(conv, capsys, *argv) -> tuple[int, str]:
    code = conv.main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


# ---------------------------------------------------------------- conversion, worked by hand


def test_dense_layer_dropped_exact_counts(conv):
    assert conv.convert(stat_dump(ONE_PASS)) == {"layers": [[5, 0, 2, 1], [1, 1, 6, 0]]}


def test_leading_passes_summed_exactly(conv):
    assert conv.convert(stat_dump(PASSES)) == {"layers": PASSES_SUM}
    assert conv.layer_counts(stat_dump(PASSES)) == [[0, 0, 0, 0], *PASSES_SUM]


def test_two_dimensional_logical_count_taken_as_is(conv):
    assert conv.convert({"logical_count": [[0, 0], [7, 3]]}) == {"layers": [[7, 3]]}


def test_per_pass_records_fold_physical_slots_into_logical_experts(conv):
    """Two layers, 4 logical experts on 6 physical slots: slot 4 replicates expert 0, slot 5 expert 2
    in layer 1 (in layer 0 the map is the identity plus two replicas of expert 3). Two passes:
    layer 1 = slots (1+2, 0+1, 4+0, 0+0, 3+3, 1+1) → expert 0: 3+6, expert 1: 1, expert 2: 4+2, expert 3: 0."""
    dump = {"records": [{"forward_pass_id": 0, "rank": 0, "gatherer_key": "primary",
                         "global_physical_count": [[0] * 6, [1, 0, 4, 0, 3, 1]]},
                        {"forward_pass_id": 1, "rank": 0, "gatherer_key": "primary",
                         "global_physical_count": [[0] * 6, [2, 1, 0, 0, 3, 1]]}],
            "last_physical_to_logical_map": [[0, 1, 2, 3, 3, 3], [0, 1, 2, 3, 0, 2]]}
    assert conv.convert(dump) == {"layers": [[9, 1, 6, 0]]}


def test_first_moe_layer_and_layer_range(conv):
    counts = conv.layer_counts(stat_dump(PASSES))
    assert conv.choose_layers(counts, first_moe_layer=1) == ([1, 2], [0])
    assert conv.choose_layers(counts, layer_range=(2, None)) == ([2], [])
    assert conv.choose_layers(counts, layer_range=(0, 2)) == ([1], [0])
    with pytest.raises(conv.DumpError, match="would drop layer 1, with 16 tokens"):
        conv.choose_layers(counts, first_moe_layer=2)
    with pytest.raises(conv.DumpError, match="not a range"):
        conv.choose_layers(counts, layer_range=(1, 4))


# ---------------------------------------------------------------- the command line


def test_main_writes_the_file_and_names_the_dropped_layer(conv, tmp_path, capsys):
    out = tmp_path / "expert_load.json"
    code, err = run(conv, capsys, write_json(tmp_path, stat_dump(PASSES)), "-o", out)
    assert code == 0
    assert json.loads(out.read_text()) == {"layers": PASSES_SUM}
    assert out.read_text() == '{"layers": [\n  [8, 4, 2, 2],\n  [1, 3, 8, 4]\n]}\n'
    assert "dropped layers 0 of 3" in err and "2 MoE layers" in err and "32 token-expert pairs" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dump.json", "expert_load.json"]    # no temporary left


def test_several_dumps_are_summed(conv, tmp_path, capsys):
    a = write_json(tmp_path, stat_dump(ONE_PASS), "a.json")
    b = write_json(tmp_path, stat_dump(PASSES[1:]), "b.json")
    code, _ = run(conv, capsys, a, b, "-o", tmp_path / "out.json")
    assert code == 0 and json.loads((tmp_path / "out.json").read_text()) == {"layers": PASSES_SUM}


def test_layers_option_and_kept_empty_layer_warned(conv, tmp_path, capsys):
    dump = write_json(tmp_path, stat_dump([[[0, 0], [4, 1], [0, 0], [2, 2]]]))
    code, err = run(conv, capsys, dump, "-o", tmp_path / "a.json", "--layers", "1:3")
    assert code == 0 and json.loads((tmp_path / "a.json").read_text()) == {"layers": [[4, 1]]}
    assert "dropped layers 2 of 4" in err
    code, err = run(conv, capsys, dump, "-o", tmp_path / "b.json", "--first-moe-layer", "1")
    assert code == 0 and json.loads((tmp_path / "b.json").read_text()) == {"layers": [[4, 1], [0, 0], [2, 2]]}
    assert "warning: layers 2 kept with no tokens" in err


@pytest.mark.parametrize("text, message", [
    (json.dumps(stat_dump([[[0, 0], [1, 2], [3]]])), "logical_count[0][2]: 1 entries where 2"),
    (json.dumps(stat_dump([[[0, 0], [1, 2]], [[0, 0]]])), "logical_count[1]: 1 entries where 2"),
    (json.dumps(stat_dump([[[0, 0], [1, -2]]])), "logical_count[0][1][1] = -2: not a count"),
    (json.dumps(stat_dump([[[0, 0], [1, "2"]]])), "logical_count[0][1][1] = '2': not a count"),
    (json.dumps(stat_dump([[[0, 0], [1, 2.5]]])), "= 2.5: not a count"),
    (json.dumps(stat_dump([[[0, 0], [1, True]]])), "= True: not a count"),
    (json.dumps(stat_dump([[[0, 0], [1, None]]])), "= None: not a count"),
    ('{"logical_count": [[[0, NaN]]]}', "= nan: not a count"),
    (json.dumps(stat_dump([])), "logical_count: empty"),
    (json.dumps(stat_dump([[[[1]]]])), "4-D (1, 1, 1, 1) where a 2-D or 3-D"),
    (json.dumps(stat_dump(7)), "logical_count: int where"),
    (json.dumps(stat_dump([[[0, 0], [0, 0]]])), "no tokens routed"),
    (json.dumps({"rank": 0}), "'logical_count' (mode stat) or 'records'"),
    (json.dumps([[1, 2]]), "a list, where SGLang's dump has"),
    (json.dumps({"records": []}), "records: no forward pass recorded"),
    (json.dumps({"records": [{"rank": 0}], "last_physical_to_logical_map": [[0]]}), "global_physical_count: missing"),
    (json.dumps({"records": [{"global_physical_count": [[1]]}]}), "last_physical_to_logical_map: missing"),
    (json.dumps({"records": [{"global_physical_count": [[1, 2]]}], "last_physical_to_logical_map": [[0]]}),
     "1 layers × 2 experts, where 1 × 1"),
    ("this is not JSON", "not JSON"),
    ("[" * 100_000, "not JSON"),
    (b"\xff\xfe\x00garbage", "not JSON"),
    (b"PK\x03\x04rest of a zip", "a torch.save file (zip), not JSON"),
])
def test_bad_input_exits_2_with_a_message(conv, tmp_path, capsys, text, message):
    path = tmp_path / "dump.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    out = tmp_path / "out.json"
    code, err = run(conv, capsys, path, "-o", out)
    assert code == 2 and message in err, err
    assert not out.exists()
    assert err.count("\n") == 1 and err.startswith("convert_sglang_expert_load: error: ")


def test_missing_directory_and_oversized_inputs(conv, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out.json"
    code, err = run(conv, capsys, tmp_path / "absent.json", "-o", out)
    assert code == 2 and "cannot be read" in err
    code, err = run(conv, capsys, tmp_path, "-o", out)
    assert code == 2 and "not a regular file" in err
    big = write_json(tmp_path, stat_dump(ONE_PASS))
    monkeypatch.setattr(conv, "MAX_INPUT_BYTES", 16)
    code, err = run(conv, capsys, big, "-o", out)
    assert code == 2 and "over the 0 MiB" in err and not out.exists()


@pytest.mark.parametrize("argv, message", [
    (["--layers", "3"], "expected A:B"),
    (["--layers", "a:b"], "not a layer index"),
    (["--layers=-1:2"], "not a layer index"),
    (["--layers", "2:1"], "--layers 2:1 is not a range"),
    (["--first-moe-layer", "-1"], "not a layer index"),
    (["--first-moe-layer", "2"], "would drop layer 1"),
])
def test_bad_options_exit_2(conv, tmp_path, capsys, argv, message):
    code, err = run(conv, capsys, write_json(tmp_path, stat_dump(ONE_PASS)), "-o", tmp_path / "out.json", *argv)
    assert code == 2 and message in err, err
    assert run(conv, capsys, "-o", tmp_path / "o.json")[0] == 2       # no DUMP
    assert run(conv, capsys, write_json(tmp_path, stat_dump(ONE_PASS)))[0] == 2       # no -o


# ---------------------------------------------------------------- the output file


def test_refuses_to_overwrite_and_force_replaces(conv, tmp_path, capsys):
    dump = write_json(tmp_path, stat_dump(ONE_PASS))
    out = tmp_path / "expert_load.json"
    out.write_text("precious\n")
    code, err = run(conv, capsys, dump, "-o", out)
    assert code == 5 and "exists: --force replaces it" in err and out.read_text() == "precious\n"
    code, _ = run(conv, capsys, dump, "-o", out, "--force")
    assert code == 0 and json.loads(out.read_text()) == {"layers": [[5, 0, 2, 1], [1, 1, 6, 0]]}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dump.json", "expert_load.json"]


def test_never_follows_a_symlink_at_out(conv, tmp_path, capsys):
    dump = write_json(tmp_path, stat_dump(ONE_PASS))
    target = tmp_path / "target.txt"
    target.write_text("not yours\n")
    link = tmp_path / "out.json"
    link.symlink_to(target)
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "nowhere")
    for out in (link, dangling):
        for force in ([], ["--force"]):
            code, err = run(conv, capsys, dump, "-o", out, *force)
            assert code == 5 and "is a symlink" in err
    assert target.read_text() == "not yours\n" and not (tmp_path / "nowhere").exists() and link.is_symlink()


def test_out_in_a_missing_directory_or_a_directory(conv, tmp_path, capsys):
    dump = write_json(tmp_path, stat_dump(ONE_PASS))
    code, err = run(conv, capsys, dump, "-o", tmp_path / "no" / "out.json")
    assert code == 5 and "is not a directory" in err
    (tmp_path / "d").mkdir()
    code, err = run(conv, capsys, dump, "-o", tmp_path / "d", "--force")
    assert code == 5 and "not a regular file" in err


def test_an_out_appearing_during_the_run_is_not_overwritten(conv, tmp_path):
    out = tmp_path / "out.json"
    conv.write_atomic(out, "first\n")
    with pytest.raises(conv.OutputRefused):
        conv.write_atomic(out, "second\n")
    assert out.read_text() == "first\n" and os.listdir(tmp_path) == ["out.json"]


# ---------------------------------------------------------------- .pt input: torch only when needed


def test_pt_without_torch_says_where_to_run_it(conv, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)         # `import torch` raises ImportError
    pt = tmp_path / "expert_distribution_recorder_1.pt"
    pt.write_bytes(b"PK\x03\x04")
    code, err = run(conv, capsys, pt, "-o", tmp_path / "out.json")
    assert code == 2 and "needs PyTorch" in err and "where SGLang is installed" in err
    assert not (tmp_path / "out.json").exists()


def fake_torch(monkeypatch, dump) -> list:
    """A `torch` whose load returns `dump` (numpy arrays standing in for tensors) and logs its calls."""
    calls: list = []
    mod = types.ModuleType("torch")

    def load(path, **kwargs):
        calls.append((Path(path).name, kwargs))
        if isinstance(dump, Exception):
            raise dump
        return dump
    mod.load = load     # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torch", mod)
    return calls


def test_pt_stat_dump_through_torch_load(conv, tmp_path, capsys, monkeypatch):
    calls = fake_torch(monkeypatch, stat_dump(np.array(PASSES, dtype=np.int32)))
    pt = tmp_path / "expert_distribution_recorder_1.pt"
    pt.write_bytes(b"PK\x03\x04")
    code, err = run(conv, capsys, pt, "-o", tmp_path / "out.json")
    assert code == 0, err
    assert calls == [(pt.name, {"map_location": "cpu", "weights_only": True})]
    assert json.loads((tmp_path / "out.json").read_text()) == {"layers": PASSES_SUM}


def test_pt_per_pass_dump_through_torch_load(conv, tmp_path, capsys, monkeypatch):
    big = np.full((2, 3), 2**31 - 1, dtype=np.int32)            # int32 passes that overflow int32 when summed
    records = [{"forward_pass_id": i, "rank": 0, "global_physical_count": big,
                "topk_ids_of_layer": np.zeros((2, 5, 8), dtype=np.int32)} for i in range(3)]
    fake_torch(monkeypatch, {"records": records, "last_physical_to_logical_map": np.array([[0, 1, 0], [0, 1, 1]])})
    pt = tmp_path / "expert_distribution_recorder_1_0.pt"
    pt.write_bytes(b"PK\x03\x04")
    code, err = run(conv, capsys, pt, "-o", tmp_path / "out.json")
    assert code == 0, err
    n = 3 * (2**31 - 1)
    assert json.loads((tmp_path / "out.json").read_text()) == {"layers": [[2 * n, n], [n, 2 * n]]}


@pytest.mark.parametrize("dump, message", [
    (RuntimeError("PytorchStreamReader failed reading zip archive"), "not a torch.save file (RuntimeError"),
    ({"logical_count": np.array([[[0, 1], [-1, 0]]])}, "logical_count: a negative count"),
    ({"records": [{"global_physical_count": np.zeros((2, 3))}, {"global_physical_count": np.zeros((2, 4))}],
      "last_physical_to_logical_map": np.zeros((2, 3), dtype=np.int64)}, "of shapes [(2, 3), (2, 4)]"),
    ({"logical_count": np.array([[[0.0, 1.5]]])}, "= 0.0: not a count"),
])
def test_bad_pt_exits_2(conv, tmp_path, capsys, monkeypatch, dump, message):
    fake_torch(monkeypatch, dump)
    pt = tmp_path / "d.pt"
    pt.write_bytes(b"PK\x03\x04")
    code, err = run(conv, capsys, pt, "-o", tmp_path / "out.json")
    assert code == 2 and message in err, err


def test_real_torch_round_trip(conv, tmp_path, capsys):
    torch = pytest.importorskip("torch")
    pt = tmp_path / "expert_distribution_recorder_1.pt"
    torch.save(stat_dump(torch.tensor(PASSES, dtype=torch.int32)), pt)
    code, err = run(conv, capsys, pt, "-o", tmp_path / "out.json")
    assert code == 0, err
    assert json.loads((tmp_path / "out.json").read_text()) == {"layers": PASSES_SUM}
