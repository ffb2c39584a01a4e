"""`dagc.kernels.engine_import`: aiconfigurator-core's engine tables → a dagc profile, on rows copied from
the real h200_sxm / trtllm 1.3.0rc20 tables (tests/data/aic_h200_trtllm_rows.json, the package's own
column names), without the 80 MB package."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from dagc.kernels.engine_import import TABLES, EngineImportError, available, import_profile
from dagc.kernels.kernels import load_profile_file
from dagc.plan.cluster import FusedMoe
from dagc.plan.engines import ENGINE_GLUE
from dagc.plan.model import DType

ROWS = json.loads((Path(__file__).parent / "data" / "aic_h200_trtllm_rows.json").read_text())


def tree(tmp_path: Path, releases=("1.2.0rc5", "1.3.0rc20", "1.3.0rc10")) -> Path:
    """The package's folder layout: systems/data/<system>/<family>/<engine>/<release>/<table>.parquet,
    each file here holding its rows as JSON (read by `read_rows`)."""
    root = tmp_path / "data"
    for release in releases:
        for kind, (family, name) in TABLES.items():
            if kind not in ROWS:            # TensorRT-LLM has no wide-EP MoE table of even routing
                continue
            folder = root / "h200_sxm" / family / "trtllm" / release
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{name}.parquet").write_text(json.dumps(ROWS[kind]))
    nccl = root / "h200_sxm" / "comm" / "nccl" / "2.29.2"           # NCCL's own, beside the engines'
    nccl.mkdir(parents=True)
    (nccl / "nccl_perf.parquet").write_text(json.dumps(ROWS["nccl"]))
    return root


def read_rows(path: Path) -> list[dict]:
    return json.loads(path.read_text())


def test_releases_sort_as_numbers_and_the_newest_is_the_default(tmp_path):
    root = tree(tmp_path)
    assert available(root) == {"h200_sxm": {"trtllm": ["1.2.0rc5", "1.3.0rc10", "1.3.0rc20"]}}
    doc = import_profile("h200_sxm", "trtllm", root=root, read=read_rows)
    assert doc["name"] == "trtllm-1.3.0rc20-h200" and "trtllm 1.3.0rc20" in doc["provenance"]["source"]


def test_the_converted_profile_loads_and_answers_the_measured_points(tmp_path):
    doc = import_profile("h200_sxm", "trtllm", "1.3.0rc20", root=tree(tmp_path), read=read_rows)
    path = tmp_path / "engine.json"
    path.write_text(json.dumps(doc))
    p = load_profile_file(path)
    moe = {r["num_tokens"]: r["latency"] / 1e3 for r in ROWS["moe"]
           if r["distribution"] == "balanced" and r["moe_dtype"] == "bfloat16"}
    fastest = {n: min(r["latency"] for r in ROWS["moe"] if r["num_tokens"] == n and r["distribution"] == "balanced"
                      and r["moe_dtype"] == "bfloat16") / 1e3 for n in moe}
    shape = FusedMoe(DType.BF16, 4096, 14336, 2, 8, 1, 1)                      # Mixtral's layer on one GPU
    assert p.fused_moe_covers(shape)
    for n, seconds in fastest.items():
        assert float(p.fused_moe_s(n, shape)) == pytest.approx(seconds, rel=1e-12)
    gemm = next(r for r in ROWS["gemm"] if r["gemm_dtype"] == "bfloat16" and r["m"] == 4096)
    assert float(p.gemm_s(4096, 4096, 4096, "bf16")) == pytest.approx(gemm["latency"] / 1e3, rel=1e-9)
    dec = ROWS["generation_attention"][0]
    ctx = dec["isl"] + dec["step"]
    if dec["kv_cache_dtype"] == "bfloat16":
        assert float(p.attn_decode_s(8, ctx, 32, 8, 128)) == pytest.approx(dec["latency"] / 1e3, rel=1e-9)
    # what the engine does not measure is dagc's own H200 profile's, and the provenance says so
    assert doc["tables"]["memory"] and doc["tables"]["grouped_gemm"]
    assert "dagc's own profile `h200` for grouped_gemm, memory" in doc["provenance"]["method"]
    # power-law rows are left out: dagc applies its own busiest rank to even routing
    assert all(r["tokens"] in moe for r in doc["tables"]["fused_moe"])
    # the all-reduce: the engine's custom kernel or NCCL's, the faster at each size; message sizes are bf16 elements
    for gpus, elements in ((8, 524288), (8, 65536), (2, 128)):
        times = [r["latency"] / 1e3 for r in ROWS["custom_allreduce"] if r["num_gpus"] == gpus
                 and r["message_size"] == elements]
        times += [r["latency"] / 1e3 for r in ROWS["nccl"] if r["num_gpus"] == gpus and r["message_size"] == elements
                  and r["op_name"] == "all_reduce" and r["nccl_dtype"] == "half"]
        assert times and float(p.all_reduce_s(gpus, 2 * elements)) == pytest.approx(min(times), rel=1e-12)
    assert not p.all_reduce_covers(4)
    # MLA prefill, bf16, as dagc prices it: multi-head, D = (192 + 128) / 2
    mla = next(r for r in ROWS["context_mla"] if r["kv_cache_dtype"] == "bfloat16")
    assert float(p.attn_prefill_s(mla["batch_size"], mla["isl"], mla["num_heads"], mla["num_heads"], 160)) == \
        pytest.approx(mla["latency"] / 1e3, rel=1e-9)
    # TensorRT-LLM's attention op applies the rotary embedding and writes the KV cache itself
    assert p.glue == ENGINE_GLUE["trtllm"] and p.glue["rope"] == p.glue["kv_write"] == 0


@pytest.mark.parametrize("args, says", [
    (("h300_sxm", "trtllm", None), "unknown system 'h300_sxm'; the tables hold: h200_sxm"),
    (("h200_sxm", "tensorrt", None), "no tensorrt tables for h200_sxm; engines: trtllm"),
    (("h200_sxm", "trtllm", "9.9"), "releases: 1.2.0rc5, 1.3.0rc10, 1.3.0rc20"),
])
def test_unknown_names_list_what_is_there(tmp_path, args, says):
    with pytest.raises(EngineImportError, match=".*") as exc:
        import_profile(*args, root=tree(tmp_path), read=read_rows)
    assert says in str(exc.value)


def test_without_the_extra_the_error_says_how_to_install_it(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "aiconfigurator_core", None)      # unimportable, installed or not
    with pytest.raises(EngineImportError) as exc:
        import_profile("h200_sxm", "trtllm")
    # this interpreter's pip, never `pip install 'dagc[engines]'`: PyPI's `dagc` is another project (dagc.extras)
    assert f"{shlex.quote(sys.executable)} -m pip install 'aiconfigurator-core>=0.12'" in str(exc.value)
    assert "dagc[" not in str(exc.value)


def test_presets_lists_the_engine_profiles_dagc_can_import(tmp_path, monkeypatch, capsys):
    import sys

    import dagc.kernels.engine_import as engine_import
    from dagc.cli.main import main
    root = tree(tmp_path)
    (root / "l40s" / "gemm" / "vllm" / "0.24.0").mkdir(parents=True)
    (root / "l40s" / "gemm" / "vllm" / "0.24.0" / "gemm_perf.parquet").write_text("[]")
    monkeypatch.setattr(engine_import, "data_root", lambda: root)
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    assert "h200_sxm (h200): trtllm 1.3.0rc20 (newest of 3)" in out
    assert "not importable, no dagc GPU preset: l40s" in out
    assert main(["presets", "--format", "json"]) == 0
    found = json.loads(capsys.readouterr().out)["engine_kernel_profiles"]
    assert found["systems"] == {"h200_sxm": {"trtllm": ["1.2.0rc5", "1.3.0rc10", "1.3.0rc20"]}}
    monkeypatch.undo()
    monkeypatch.setitem(sys.modules, "aiconfigurator_core", None)
    assert main(["presets"]) == 0
    assert f"none installed: {shlex.quote(sys.executable)} -m pip install 'aiconfigurator-core>=0.12'" in \
        capsys.readouterr().out


def run(*args: str, cwd: Path):
    """`dagc ARGS` in `cwd`, run in this process (`run_dagc`: the exit code and streams `python -m dagc` gives)."""
    from conftest import run_dagc

    return run_dagc(*args, cwd=cwd)


def test_the_cli_without_the_extra_says_how_to_install_it(tmp_path):
    import subprocess
    import sys
    # the package made unimportable, whether or not this machine has it
    code = ("import sys; sys.modules['aiconfigurator_core'] = None; from dagc.cli.main import main; "
            "sys.exit(main(sys.argv[1:]))")
    r = subprocess.run([sys.executable, "-c", code, "kernels", "import", "--system", "h200_sxm", "--engine", "trtllm",
                        "-o", "p.json"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert r.returncode == 4 and "-m pip install 'aiconfigurator-core>=0.12'" in r.stderr
    assert "Traceback" not in r.stderr
    assert "dagc[" not in r.stderr
    assert not (tmp_path / "p.json").exists()


def test_the_cli_never_replaces_a_file_without_force(tmp_path):
    (tmp_path / "p.json").write_text("mine")
    r = run("kernels", "import", "--system", "h200_sxm", "--engine", "trtllm", "-o", "p.json", cwd=tmp_path)
    assert r.returncode == 5 and "exists" in r.stderr and (tmp_path / "p.json").read_text() == "mine"


def test_launch_defaults_to_the_engine_the_profile_was_measured_in(tmp_path):
    doc = import_profile("h200_sxm", "trtllm", root=tree(tmp_path), read=read_rows)
    (tmp_path / "engine.json").write_text(json.dumps(doc))
    plan = tmp_path / "p.moe"
    plan.write_text('model preset "mixtral-8x7b"\ncluster { gpus = 8  gpu preset "h200"  kernels from "engine.json" }\n'
                    "workload { batch = 8  prompt = 512  generate = 32 }\nstrategy tp 8\n")
    r = run("launch", "p.moe", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "engine: trtllm, as the kernel profile `trtllm-1.3.0rc20-h200` was measured in it" in r.stdout
    assert "trtllm-serve" in r.stdout and "vllm serve" not in r.stdout and "sglang.launch_server" not in r.stdout
    assert "vllm serve" in run("launch", "p.moe", "--engine", "vllm", cwd=tmp_path).stdout


def test_a_plan_naming_an_engine_profile_without_the_extra_is_told_how_to_install_it(monkeypatch):
    import sys

    from dagc.diagnostics import PlanError
    from dagc.lang.load import load_plan_text
    monkeypatch.setitem(sys.modules, "aiconfigurator_core", None)      # unimportable, installed or not
    text = ('model preset "mixtral-8x7b"\ncluster { gpus = 8  gpu preset "h200"  kernels = "trtllm:h200_sxm" }\n'
            "workload { batch = 8  prompt = 512  generate = 32 }\nstrategy tp 8\n")
    with pytest.raises(PlanError) as exc:
        load_plan_text(text)
    (d,) = exc.value.diagnostics
    assert d.code == "E101" and "-m pip install 'aiconfigurator-core>=0.12'" in d.message and "dagc[" not in d.message
    assert d.span.text == 'kernels = "trtllm:h200_sxm"'
    # the name is well written: the hint does not repeat how to write it, but how to do without the extra
    assert d.hint is not None and "ENGINE:SYSTEM" not in d.hint
    assert d.hint.startswith("install the extra, or leave `kernels` out") and 'kernels from "FILE.json"' in d.hint


def test_the_written_profile_gets_the_mode_the_umask_leaves(tmp_path, monkeypatch):
    """`dagc kernels import -o FILE` writes FILE with the mode the umask leaves of 0o666, as every file dagc writes
    (docs/limits.md); until 2026-11-30 it was mkstemp's 0o600, whatever the umask."""
    import os
    import stat

    from dagc.kernels import engine_import
    doc = import_profile("h200_sxm", "trtllm", root=tree(tmp_path), read=read_rows)
    monkeypatch.setattr(engine_import, "import_profile", lambda *args, **kw: doc)
    mask = os.umask(0o027)
    try:
        r = run("kernels", "import", "--system", "h200_sxm", "--engine", "trtllm", "-o", "p.json", cwd=tmp_path)
    finally:
        os.umask(mask)
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE((tmp_path / "p.json").stat().st_mode) == 0o640
    assert json.loads((tmp_path / "p.json").read_text())["name"] == doc["name"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "p.json"]       # no temporary file left


def test_kernels_list_without_the_extra_lists_the_built_in_profiles_and_exits_0(monkeypatch, capsys):
    """Listing what is installed is no input error when the extra is not: the built-in profiles, then a note that
    the engine tables need the extra (until 2026-12-02, `error: engine kernel tables need …` and exit 4)."""
    import sys

    from dagc.cli.main import main
    monkeypatch.setitem(sys.modules, "aiconfigurator_core", None)      # unimportable, installed or not
    assert main(["kernels", "list"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    out = captured.out
    assert out.index("kernel profiles") < out.index("h200") < out.index("engine kernel tables")
    assert "│ h100-sxm │" in out
    assert "  none installed: engine kernel tables need the optional extra `engines` (aiconfigurator-core): " \
           f"{shlex.quote(sys.executable)} -m pip install 'aiconfigurator-core>=0.12'" in out


def test_kernels_list_with_the_extra_lists_its_systems_under_the_built_in_profiles(tmp_path, monkeypatch, capsys):
    import dagc.kernels.engine_import as engine_import
    from dagc.cli.main import main
    monkeypatch.setattr(engine_import, "data_root", lambda: tree(tmp_path))
    assert main(["kernels", "list"]) == 0
    out = capsys.readouterr().out
    assert out.index("│ h200 ") < out.index("engine kernel tables")
    assert "\n  h200_sxm: trtllm 1.2.0rc5, 1.3.0rc10, 1.3.0rc20\n" in out
