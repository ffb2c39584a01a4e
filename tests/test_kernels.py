"""Kernel profiles (dagc.kernels.kernels): loading, validation diagnostics, interpolation, and the plan's
`kernels` / `reserve` fields. Hand-computed figures come from a two-point profile written here."""

from __future__ import annotations

import copy
import json
import math
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from dagc.diagnostics import PlanError
from dagc.kernels.kernels import (
    BUILTIN_PROFILES,
    KERNELS_CODE,
    MAX_PROFILE_BYTES,
    MEMORY_OPS,
    KernelProfile,
    builtin_profile,
    for_gpu,
    load_profile_file,
    nearest_profile,
    parse_profile,
    profile_names,
)
from dagc.lang.load import load_plan, load_plan_text
from dagc.plan.cluster import DEFAULT_RESERVE_BYTES, Gpu, KernelTimes
from dagc.plan.presets import GPU_PRESETS
from dagc.source import SourceFile
from conftest import ROOT, plan_text

DATA = ROOT / "dagc" / "data" / "kernels"
PLAN = SourceFile("plan.moe", 'cluster { kernels from "prof.json" }')
AT = PLAN.span(26, 37)   # the quoted path


def raw(name: str) -> dict:
    return json.loads((DATA / f"{name}.json").read_text())


# ---------------------------------------------------------------- loading


def test_builtins_load_lazily_and_are_cached():
    assert profile_names() == ("h100-sxm", "h200")
    assert set(BUILTIN_PROFILES) == {"h100-sxm", "h200"} and len(BUILTIN_PROFILES) == 2
    for name in profile_names():
        p = BUILTIN_PROFILES[name]
        assert isinstance(p, KernelProfile) and isinstance(p, KernelTimes)
        assert p is builtin_profile(name) and p.name == name
        assert p.provenance.source == f"bench/calibration/{name}-ops.json"
        assert p.floor_s == raw(name)["floor"]["kernel_s"] and 2e-6 < p.floor_s < 4e-6
    assert builtin_profile("h200").has_table("mla_decode") and not builtin_profile("h100-sxm").has_table("mla_decode")
    with pytest.raises(KeyError):
        builtin_profile("h300")


def test_profiles_are_immutable_hashable_and_pickle():
    p = builtin_profile("h100-sxm")
    with pytest.raises(AttributeError):
        p.floor_s = 1.0  # type: ignore[misc]
    q = pickle.loads(pickle.dumps(p))
    assert q == p and hash(q) == hash(p) and q != builtin_profile("h200")
    assert q.gemm_s(100, 4096, 4096) == p.gemm_s(100, 4096, 4096)


def test_make_profiles_is_deterministic(tmp_path):
    import importlib.util
    spec = importlib.util.spec_from_file_location("make_profiles", ROOT / "bench" / "make_profiles.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    src = json.loads((ROOT / "bench" / "calibration" / "h200-ops.json").read_text())
    out = tmp_path / "h200.json"
    mod.write(mod.convert(src, "h200", "bench/calibration/h200-ops.json", 989e12, 1979e12, 4.8e12), out)
    assert out.read_text() == (DATA / "h200.json").read_text()


# ---------------------------------------------------------------- validation: a located E105, never a traceback


def broken(tmp_path: Path, text: str | bytes) -> PlanError:
    path = tmp_path / "prof.json"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    with pytest.raises(PlanError) as exc:
        load_profile_file(path, AT)
    return exc.value


def one(err: PlanError):
    (d,) = err.diagnostics
    assert d.code == KERNELS_CODE == "E105" and d.span == AT
    return d


def edited(**changes) -> str:
    doc = copy.deepcopy(raw("h100-sxm"))
    for path, value in changes.items():
        *keys, last = path.split("__")
        node = doc
        for k in keys:
            node = node[int(k)] if k.isdigit() else node[k]
        if value is None:
            del node[last]
        else:
            node[last] = value
    return json.dumps(doc)


@pytest.mark.parametrize(("text", "says"), [
    ('{"format": "dagc-kernel-profile", "version": 1, SECRET', "not valid JSON"),
    ("[1, 2, 3]", "not a dagc kernel profile"),
    (json.dumps({"format": "something-else", "SECRET": 1}), "not a dagc kernel profile"),
    ("[" * 100_000, "nests too deeply"),
    ("1" * 5000, "not valid JSON"),
])
def test_broken_or_foreign_json(tmp_path, text, says):
    d = one(broken(tmp_path, text))
    assert says in d.message and "SECRET" not in d.message + (d.hint or "")


@pytest.mark.parametrize(("changes", "says"), [
    (dict(version=2), "version"),
    (dict(version="1"), "version"),
    (dict(tables__memory=None), "tables.memory: Field required"),
    (dict(tables__gemm=[]), "tables.gemm"),
    (dict(tables__gemm__3__seconds=-1e-5), "tables.gemm[3].seconds"),
    (dict(tables__attn_decode__0__B=0), "tables.attn_decode[0].B"),
    (dict(tables__gemm__0__dtype="SECRET"), "tables.gemm[0].dtype"),
    (dict(peaks__hbm_bytes_per_s=0), "peaks.hbm_bytes_per_s"),
    (dict(floor=None), "floor"),
    (dict(tables__memory__0__op="memcpy"), "tables.memory[0].op"),
    (dict(SECRET="x"), "SECRET: Extra inputs are not permitted"),
    # values no measurement has (docs/limits.md, "Kernel profiles"): refused, never a traceback downstream
    (dict(tables__gemm__0__seconds=1e300), "tables.gemm[0].seconds: Input should be less than or equal to 3600"),
    (dict(floor__kernel_s=1e300), "floor.kernel_s: Input should be less than or equal to 0.01"),
    (dict(peaks__bf16_flops_per_s=1e-300), "peaks.bf16_flops_per_s: Input should be greater than or equal to"),
    (dict(tables__memory__0__bytes=1e300), "tables.memory[0].bytes"),
    (dict(tables__grouped_gemm__0__tokens_per_expert=1e300), "tables.grouped_gemm[0].tokens_per_expert"),
])
def test_invalid_profiles(tmp_path, changes, says):
    d = one(broken(tmp_path, edited(**changes)))
    assert says in d.message, d.message
    assert "1e-05" not in d.message and "0.00001" not in d.message and "1e+300" not in d.message   # no value echoed


def test_unreadable_paths(tmp_path):
    for path, says in ((tmp_path, "not a regular file"), (tmp_path / "missing.json", "does not exist")):
        with pytest.raises(PlanError) as exc:
            load_profile_file(path, AT)
        assert says in one(exc.value).message
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    with pytest.raises(PlanError) as exc:
        load_profile_file(fifo, AT)     # refused before it is opened: never blocks
    assert "not a regular file" in one(exc.value).message
    assert "larger than" in one(broken(tmp_path, b" " * (MAX_PROFILE_BYTES + 1))).message
    assert "not UTF-8" in one(broken(tmp_path, b'{"format": "\xff"}')).message


def test_a_valid_file_loads(tmp_path):
    path = tmp_path / "prof.json"
    path.write_text(edited(name="mine"))
    p = load_profile_file(path, AT)
    assert p.name == "mine" and p.gemm_s(64, 4096, 4096) == builtin_profile("h100-sxm").gemm_s(64, 4096, 4096)


# ---------------------------------------------------------------- exact at the measured points (their envelope)


def envelope(rows: list[dict], shape_keys: tuple[str, ...], token_keys: tuple[str, ...]) -> np.ndarray:
    """Each point's time as the profile uses it: the least time measured at that point or at any
    point of the same shape with at least as many tokens in every token coordinate."""
    out = []
    for r in rows:
        same = [q for q in rows if all(q[k] == r[k] for k in shape_keys)]
        out.append(min(q["seconds"] for q in same if all(q[k] >= r[k] for k in token_keys)))
    return np.array(out)


def cols(rows: list[dict], *keys: str) -> list[np.ndarray]:
    return [np.array([r[k] for r in rows], dtype=float) for k in keys]


@pytest.mark.parametrize("name", ["h100-sxm", "h200"])
def test_exact_at_every_measured_point(name):
    p, t = builtin_profile(name), raw(name)["tables"]
    checks = []
    for dt in ("bf16", "fp8"):
        rows = [r for r in t["gemm"] if r["dtype"] == dt]
        checks.append((p.gemm_s(*cols(rows, "M", "N", "K"), dt), envelope(rows, ("N", "K"), ("M",)), rows))
    rows = t["grouped_gemm"]
    checks.append((p.grouped_gemm_s(*cols(rows, "E", "tokens_per_expert", "K", "N")),
                   envelope(rows, ("E", "K", "N"), ("tokens_per_expert",)), rows))
    rows = t["attn_prefill"]
    checks.append((p.attn_prefill_s(*cols(rows, "B", "S", "H", "Hkv", "D")),
                   envelope(rows, ("H", "Hkv", "D"), ("S",)), rows))
    rows = t["attn_decode"]
    checks.append((p.attn_decode_s(*cols(rows, "B", "ctx", "H", "Hkv", "D")),
                   envelope(rows, ("H", "Hkv", "D"), ("B", "ctx")), rows))
    if "mla_decode" in t:
        rows = t["mla_decode"]
        checks.append((p.mla_decode_s(*cols(rows, "B", "ctx", "heads")), envelope(rows, ("heads",), ("B", "ctx")),
                       rows))
    for op in MEMORY_OPS:
        rows = [r for r in t["memory"] if r["op"] == op]
        checks.append((p.memory_s(cols(rows, "bytes")[0], op), envelope(rows, ("op",), ("bytes",)), rows))
    on_envelope = 0
    for got, want, rows in checks:
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=0)
        on_envelope += sum(w == r["seconds"] for w, r in zip(want, rows, strict=True))
    total = sum(len(rows) for *_, rows in checks)
    assert on_envelope > 0.75 * total    # most points are their own measurement, the rest the envelope's


# ---------------------------------------------------------------- monotone in tokens


SWEEP = np.geomspace(0.25, 1e6, 600)


def rising(t: np.ndarray, axis: int = -1) -> bool:
    """Non-decreasing along `axis`, up to rounding (equal times computed two ways differ in the last bit)."""
    return bool(np.all(np.diff(t, axis=axis) >= -1e-12 * np.delete(t, -1, axis=axis)))


@pytest.mark.parametrize("name", ["h100-sxm", "h200"])
def test_monotone_dense_sweeps(name):
    p = builtin_profile(name)
    for n, k in ((4096, 4096), (5000, 3000), (151936, 2048), (100, 100000), (2048, 7168)):
        for dt in ("bf16", "fp8"):
            assert rising(p.gemm_s(SWEEP, n, k, dt)), (n, k, dt)
    for e, k, n in ((8, 4096, 14336), (16, 7168, 2048), (3, 1000, 1000), (128, 2048, 768)):
        assert rising(p.grouped_gemm_s(e, SWEEP / 10, k, n))
    seq = np.geomspace(1, 2e5, 300)
    for h, hkv in ((32, 8), (40, 40), (16, 2)):
        assert rising(p.attn_prefill_s(3, seq, h, hkv, 128))
        assert rising(p.attn_prefill_s(seq / 100, 2048, h, hkv, 128))
        grid = p.attn_decode_s(np.geomspace(1, 2000, 60)[:, None], np.geomspace(16, 1e6, 70)[None, :], h, hkv, 128)
        assert rising(grid, axis=0) and rising(grid, axis=1)
        mla = p.mla_decode_s(np.geomspace(1, 2000, 40)[:, None], np.geomspace(16, 1e6, 50)[None, :], h)
        assert rising(mla, axis=0) and rising(mla, axis=1)
    for op in MEMORY_OPS:
        assert rising(p.memory_s(np.geomspace(1, 1e11, 500), op))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(16, 200_000), k=st.integers(16, 50_000), experts=st.integers(1, 300),
       dt=st.sampled_from(["bf16", "fp8"]), name=st.sampled_from(["h100-sxm", "h200"]))
def test_monotone_at_random_shapes(n, k, experts, dt, name):
    p = builtin_profile(name)
    tokens = np.sort(np.random.default_rng(n + k).uniform(0.1, 5e4, 64))
    assert rising(p.gemm_s(tokens, n, k, dt))
    assert rising(p.grouped_gemm_s(experts, tokens / 50, k, n, dt))


# ---------------------------------------------------------------- a hand-computed profile


def tiny(floor_s: float = 1e-7) -> KernelProfile:
    """Peaks 1 TFLOP/s, 10 GB/s; GEMM efficiency 0.8 at (M=10, N=K=1000), 0.5 at (M=1000, N=K=1000),
    0.4 at (M=10, N=K=4000); one row for each other table."""
    row = dict(flops=0, bytes=0)
    doc = {
        "format": "dagc-kernel-profile", "version": 1, "name": "tiny",
        "provenance": dict(gpu="paper", software="none", date="2026-11-22", method="by hand", source="test"),
        "peaks": dict(bf16_flops_per_s=1e12, hbm_bytes_per_s=1e10),
        "floor": dict(kernel_s=floor_s),
        "tables": {
            # roofline (M=10, 1000, 1000): bytes 2·(1e4 + 1e6 + 1e4) = 2.04e6 → 2.04e-4 s (flops 2e7 → 2e-5 s)
            # roofline (M=1000, 1000, 1000): flops 2e9 → 2e-3 s (bytes 6e6 → 6e-4 s)
            # roofline (M=10, 4000, 4000): bytes 2·(4e4 + 1.6e7 + 4e4) = 3.216e7 → 3.216e-3 s
            "gemm": [dict(dtype="bf16", M=10, N=1000, K=1000, seconds=2.04e-4 / 0.8, **row),
                     dict(dtype="bf16", M=1000, N=1000, K=1000, seconds=2e-3 / 0.5, **row),
                     dict(dtype="bf16", M=10, N=4000, K=4000, seconds=3.216e-3 / 0.4, **row)],
            "grouped_gemm": [dict(dtype="bf16", E=8, tokens_per_expert=4, K=1000, N=1000, seconds=1e-3, **row)],
            "attn_prefill": [dict(B=1, S=1000, H=8, Hkv=8, D=128, seconds=1e-3, **row)],
            "attn_decode": [dict(B=1, ctx=1000, H=8, Hkv=8, D=128, seconds=1e-4, **row)],
            "memory": [dict(op="copy", bytes=1e6, seconds=2e-4), dict(op="copy", bytes=1e8, seconds=1.25e-2)],
        },
    }
    return parse_profile(json.dumps(doc), "tiny.json")


def test_log_space_interpolation_by_hand():
    p = tiny()
    # M = 100 is halfway between 10 and 1000 in log space: efficiency sqrt(0.8 · 0.5);
    # roofline (100, 1000, 1000): bytes 2·(1e5 + 1e6 + 1e5) = 2.4e6 → 2.4e-4 s (flops 2e8 → 2e-4 s).
    assert p.gemm_s(100, 1000, 1000) == pytest.approx(2.4e-4 / math.sqrt(0.4), rel=1e-12)
    # N = K = 2000 is halfway between the two measured shapes: weights 1/2, 1/2 at M = 10,
    # efficiency sqrt(0.8 · 0.4); roofline bytes 2·(2e4 + 4e6 + 2e4) = 8.08e6 → 8.08e-4 s.
    assert p.gemm_s(10, 2000, 2000) == pytest.approx(8.08e-4 / math.sqrt(0.32), rel=1e-12)
    # beyond the measured tokens the efficiency is clamped: M = 1e4 is compute-bound, 2e10 / 1e12 / 0.5
    assert p.gemm_s(1e4, 1000, 1000) == pytest.approx(0.04, rel=1e-12)
    # memory: 1e6 B at 0.5 of 10 GB/s, 1e8 B at 0.8; 1e7 B halfway: efficiency sqrt(0.4)
    assert p.memory_s(1e7) == pytest.approx(1e7 / 1e10 / math.sqrt(0.4), rel=1e-12)
    # experts streamed: 8 experts, 0.5 token each: the 8·1000·1000 bf16 weights dominate the roofline
    assert p.grouped_gemm_s(8, 0.5, 1000, 1000) == pytest.approx(p.grouped_gemm_s(8, 4, 1000, 1000), rel=0.01)


def test_floor_is_respected():
    assert tiny(floor_s=1e-2).gemm_s(10, 1000, 1000) == 1e-2
    for name in profile_names():
        p = builtin_profile(name)
        assert p.gemm_s(1, 16, 16) == p.floor_s and p.memory_s(1.0, "rms_norm") == p.floor_s
        assert np.all(p.attn_decode_s(np.arange(1, 5), 1, 1, 1, 1) >= p.floor_s)


def test_shapes_broadcast_and_scalars_stay_scalars():
    p = builtin_profile("h100-sxm")
    assert isinstance(p.gemm_s(64, 4096, 4096), float)
    assert p.gemm_s(np.ones((2, 3)) * 64, 4096, np.array([4096, 8192, 2048])).shape == (2, 3)


@pytest.mark.parametrize("name", ["h100-sxm", "h200"])
def test_many_shapes_at_once_are_each_shapes_own_seconds(name):
    """A look-up of many shapes at once gives each the very float (==) it gets alone, whichever measured
    shapes each blends and whether past a table's measured batch: the kernel caches keep a shape's seconds
    however it was first asked for (`dagc.cost.compute`)."""
    p = builtin_profile(name)
    rng = np.random.default_rng(11)
    m, n, k = (rng.choice([1.0, 7.0, 64.0, 513.0, 4096.0, 70000.0], 12) for _ in range(3))
    n, k = n * 8, k * 2
    b, c = rng.integers(1, 600, 12).astype(float), rng.integers(1, 200_000, 12).astype(float)
    h, kv = rng.choice([8.0, 32.0, 64.0], 12), rng.choice([1.0, 4.0, 8.0], 12)
    calls = [
        (p.gemm_s, (m, n, k)),
        (p.grouped_gemm_s, (rng.integers(1, 64, 12).astype(float), m / 3, k, n)),
        (p.attn_prefill_s, (b, c / 8, h, kv, np.full(12, 128.0))),
        (p.attn_decode_s, (b, c, h, kv, np.full(12, 128.0), rng.choice([1.0, 2.0], 12))),
        (p.mla_decode_s, (b, c, h)),
        (p.memory_s, (m * n,)),
    ]
    for method, args in calls:
        together = method(*args)
        alone = [float(method(*(a[i] for a in args))) for i in range(12)]
        assert together.tolist() == alone, method.__name__


# ---------------------------------------------------------------- GPUs without their own profile


def test_for_gpu_scales_with_the_gpus_peaks():
    h100 = builtin_profile("h100-sxm")
    a100 = GPU_PRESETS["a100-80g"]
    on_a100 = for_gpu(h100, a100)
    assert on_a100.name == "h100-sxm@a100-80g" and on_a100 != h100 and for_gpu(h100, GPU_PRESETS["h100-sxm"]) is h100
    # memory-bound: time × 3.35 / 2.0; compute-bound: × 989 / 312 (fp8 falls back to the bf16 peak on an A100)
    assert on_a100.memory_s(1e9) == pytest.approx(h100.memory_s(1e9) * 3.35 / 2.0, rel=1e-9)
    assert on_a100.gemm_s(8192, 8192, 8192) == pytest.approx(h100.gemm_s(8192, 8192, 8192) * 989 / 312, rel=1e-9)
    assert on_a100.gemm_s(8192, 8192, 8192, "fp8") > on_a100.gemm_s(8192, 8192, 8192) / 1.5
    fast = Gpu(name="fast", memory_bytes=1e11, flops_16bit=2 * 989e12, flops_8bit=2 * 1979e12, hbm_bytes_per_s=6.7e12)
    assert for_gpu(h100, fast).grouped_gemm_s(8, 3, 4096, 14336) == pytest.approx(
        h100.grouped_gemm_s(8, 3, 4096, 14336) / 2, rel=1e-9)
    assert for_gpu(h100, fast).floor_s == h100.floor_s


def test_nearest_profile_by_bandwidth():
    near = {g: nearest_profile(GPU_PRESETS[g]).name for g in GPU_PRESETS}
    assert near == {"h100-sxm": "h100-sxm", "h200": "h200", "h800": "h100-sxm", "h20": "h100-sxm",
                    "a100-80g": "h100-sxm", "b200": "h200", "b300": "h200", "gb200": "h200", "gb300": "h200",
                    "mi300x": "h200", "generic-400t": "h100-sxm"}


# ---------------------------------------------------------------- the plan: kernels, reserve, presets


def cluster(text: str):
    return load_plan_text(plan_text(cluster=f"cluster {{ gpus = 8  {text} }}")).cluster


def errors(text: str, **kw) -> list:
    with pytest.raises(PlanError) as exc:
        load_plan_text(plan_text(cluster=f"cluster {{ gpus = 8  {text} }}"), **kw)
    return exc.value.diagnostics


def test_default_profile_and_reserve_per_preset():
    assert DEFAULT_RESERVE_BYTES == 4 * 2**30
    for gpu, profile in (("h100-sxm", "h100-sxm"), ("h200", "h200"), ("b200", None), ("h800", None)):
        c = cluster(f'gpu preset "{gpu}"')
        assert (c.kernels.name if c.kernels else None) == profile and c.reserve_bytes == DEFAULT_RESERVE_BYTES
    assert cluster('gpu "mine" { memory = 64 GB  flops = 400 TFLOPS  hbm = 1.8 TB/s }').kernels is None


def test_kernels_by_name_and_reserve():
    c = cluster('gpu preset "h200"  kernels = "h200"  reserve = 2 GiB')
    assert c.kernels is builtin_profile("h200") and c.reserve_bytes == 2 * 2**30
    # another GPU's profile: its efficiencies on this GPU's peaks
    assert cluster('gpu preset "b200"  kernels = "h100-sxm"').kernels.name == "h100-sxm@b200"
    assert cluster('gpu preset "h100-sxm"  reserve = 0 GB').reserve_bytes == 0.0


def test_unknown_kernels_name_lists_the_builtins():
    (d,) = errors('gpu preset "h100-sxm"  kernels = "h100"')
    assert d.code == "E101" and "`h100`" in d.message and d.span.text.startswith("kernels")
    assert "`h100-sxm`, `h200`" in d.hint and "did you mean `h100-sxm`" in d.hint


@pytest.mark.parametrize(("text", "code"), [
    ('gpu preset "h100-sxm"  reserve = 3 ms', "E102"),
    ('gpu preset "h100-sxm"  reserve = 90 GB', "E104"),
    ('gpu preset "h100-sxm"  kernels = "h200"  kernels from "x.json"', "E104"),
    ('gpu preset "h100-sxm"  gpus_per_node from "x.json"', "E104"),
    ('gpu preset "h100-sxm"  kernel from "x.json"', "E101"),
    ('gpu preset "h100-sxm"  kernels = 3', "E102"),
    ('gpu preset "h100-sxm"  kernels from "x.json"', "E002"),     # a plan given as text reads no files
])
def test_bad_kernels_and_reserve(text, code):
    assert code in {d.code for d in errors(text)}


def test_kernels_from_a_file_beside_the_plan(tmp_path):
    (tmp_path / "prof.json").write_text(edited(name="mine", peaks__hbm_bytes_per_s=3.35e12))
    plan = tmp_path / "plan.moe"
    plan.write_text(plan_text(cluster='cluster { gpus = 8 kernels from "prof.json"  gpu preset "h100-sxm" }'))
    assert load_plan(plan).cluster.kernels.name == "mine"
    (tmp_path / "prof.json").write_text(edited(version=7))
    with pytest.raises(PlanError) as exc:
        load_plan(plan)
    (d,) = exc.value.diagnostics
    assert d.code == "E105" and d.span.text == '"prof.json"' and d.span.source.path == str(plan)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "prof.json").write_text(edited())
    plan = tmp_path / "plans" / "plan.moe"
    plan.parent.mkdir()
    plan.write_text(plan_text(cluster='cluster { gpus = 8 kernels from "../elsewhere/prof.json" gpu preset "h200" }'))
    with pytest.raises(PlanError) as exc:
        load_plan(plan)
    assert [d.code for d in exc.value.diagnostics] == ["E002"]
    assert load_plan(plan, allow_paths=[outside]).cluster.kernels.name == "h100-sxm@h200"


def test_preset_memory_is_what_the_device_reports():
    mib = {g.name: g.memory_bytes / 2**20 for g in GPU_PRESETS.values()}
    assert mib == {"h100-sxm": 81_559, "h200": 143_771, "h800": 81_559, "h20": 97_871, "a100-80g": 81_920,
                   "b200": 183_359, "b300": 275_040, "gb200": 189_471, "gb300": 284_208, "mi300x": 196_288,
                   "generic-400t": 64e9 / 2**20}


def test_zero_work_costs_the_floor_without_warnings():
    import warnings
    p = builtin_profile("h200")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert p.gemm_s(0, 4096, 0) == p.floor_s and p.gemm_s(np.zeros(3), 0, 4096).tolist() == [p.floor_s] * 3
        assert p.grouped_gemm_s(0, 0, 4096, 1536) == p.floor_s and p.memory_s(0.0, "permute") == p.floor_s
        assert p.attn_decode_s(0, 0, 32, 8, 128) == p.floor_s and p.attn_prefill_s(0, 0, 0, 0, 0) == p.floor_s
        assert p.mla_decode_s(0, 1024, 128) == p.floor_s


@settings(max_examples=25, deadline=None)
@given(n=st.integers(16, 200_000), k=st.integers(16, 50_000), experts=st.integers(1, 300),
       dt=st.sampled_from(["bf16", "fp8"]), name=st.sampled_from(["h100-sxm", "h200"]))
def test_lower_seconds_bound_the_seconds_and_rise_with_the_shape(n, k, experts, dt, name):
    """`lower=True` (the search's op floor, `dagc.cost.cost.template_lower_s`): at most the interpolated
    seconds at every shape, inside and beyond the measured range, and non-decreasing in every
    coordinate, so a smaller shape's lower seconds bound a larger shape's seconds."""
    p = builtin_profile(name)
    tokens = np.sort(np.random.default_rng(n + k).uniform(0.1, 5e4, 64))
    ctx = np.sort(np.random.default_rng(n).uniform(16, 2e5, 64))
    pairs = [
        (p.gemm_s(tokens, n, k, dt), p.gemm_s(tokens, n, k, dt, lower=True)),
        (p.grouped_gemm_s(experts, tokens / 50, k, n, dt),
         p.grouped_gemm_s(experts, tokens / 50, k, n, dt, lower=True)),
        (p.attn_prefill_s(1, tokens, 32, 8, 128), p.attn_prefill_s(1, tokens, 32, 8, 128, lower=True)),
        (p.attn_decode_s(experts, ctx, 32, 8, 128), p.attn_decode_s(experts, ctx, 32, 8, 128, lower=True)),
        (p.mla_decode_s(experts, ctx, 16), p.mla_decode_s(experts, ctx, 16, lower=True)),
        *((p.memory_s(tokens * k, op), p.memory_s(tokens * k, op, lower=True)) for op in MEMORY_OPS),
    ]
    for seconds, lower in pairs:
        assert (lower >= p.floor_s).all() and (lower <= seconds * (1 + 1e-12)).all()
        assert rising(lower)
    assert (p.grouped_gemm_s(experts, 1.0, k, n, dt, lower=True)
            <= p.grouped_gemm_s(experts + 1, 1.0, k, n, dt, lower=True))


def test_lower_seconds_by_hand():
    """The roofline over the largest efficiency measured: the tiny profile's GEMMs peak at 0.8."""
    p = tiny()
    # roofline (100, 1000, 1000): 2.4e-4 s; the best measured efficiency 0.8
    assert p.gemm_s(100, 1000, 1000, lower=True) == pytest.approx(2.4e-4 / 0.8, rel=1e-12)
    # memory: best efficiency 0.8 (1e8 B in 1.25e-2 s at 10 GB/s)
    assert p.memory_s(1e7, lower=True) == pytest.approx(1e7 / 1e10 / 0.8, rel=1e-12)
