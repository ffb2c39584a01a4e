"""Engine-measured kernel tables → a dagc kernel profile (`dagc kernels import`, docs/kernels.md).

Input: the silicon tables NVIDIA's `aiconfigurator-core` package ships (the optional extra
`engines`, `pip install -e '.[engines]'` in dagc's checkout): per system (`h200_sxm`, …), engine (`trtllm`,
`sglang`, `vllm`) and release, parquet
tables of kernel latencies measured in that engine — GEMM, fused MoE, context and generation
attention, MLA generation. Output: a profile in dagc's own format (`dagc.kernels.format`), which
records where every table came from.

The mapping (each latency in ms → seconds):
- `gemm_perf` (m, n, k, `gemm_dtype` bfloat16 | fp8) → `tables.gemm` (M, N, K); fp8_block rows are fp8
  where no per-tensor fp8 row has the shape;
- `moe_perf`, rows of a `balanced` distribution (tokens spread evenly; dagc applies its own busiest
  rank) → `tables.fused_moe` (tokens, hidden, inter, top-k, experts, moe tp, moe ep): the whole fused
  layer — permutation and activation included, so dagc's glue is not added again; of several kernel
  sources at one shape the fastest, as an engine's autotuner picks;
- `context_attention_perf` (full attention, bf16) → `tables.attn_prefill` (B, S, H, Hkv, D);
- `generation_attention_perf` (full attention, bf16 KV cache, beam 1) → `tables.attn_decode`, the
  context being `isl + step`;
- `generation_mla_perf` (bf16 KV cache) → `tables.mla_decode`, heads per rank as measured;
- `context_mla_perf` (bf16) → `tables.attn_prefill` rows of H = Hkv = heads per rank and D = 160, the shape
  dagc prices DeepSeek's MLA prefill in (q·k over 192 dims, v over 128);
- the engine's `custom_allreduce_perf` and NCCL's `nccl_perf` (`all_reduce`, half) → `tables.all_reduce`.
The grouped-GEMM and memory tables, and the per-kernel floor, which the engines' tables do not
hold, are dagc's own profile's for that GPU (`base`): dagc prices the ops no engine table covers
with them, and its provenance says so. The profile's `glue` says how the engine runs dagc's glue steps
(`dagc.plan.engines.ENGINE_GLUE`, docs/kernels.md): fused into a measured kernel, or one kernel each.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from ..extras import extra_install

__all__ = ["ENGINES", "SYSTEM_GPUS", "EngineImportError", "available", "convert", "data_root",
           "import_profile", "package_version", "profile_engine"]

ENGINES = ("trtllm", "sglang", "vllm")
# aiconfigurator's system names → dagc's GPU presets (the peaks of the profile)
SYSTEM_GPUS = {"h100_sxm": "h100-sxm", "h200_sxm": "h200", "b200_sxm": "b200", "b300_sxm": "b300",
               "gb200": "gb200", "gb300": "gb300", "a100_sxm": "a100-80g"}
TABLES = {"gemm": ("gemm", "gemm_perf"), "moe": ("moe", "moe_perf"),
          "context_attention": ("attention", "context_attention_perf"),
          "generation_attention": ("attention", "generation_attention_perf"),
          "generation_mla": ("mla", "generation_mla_perf"),
          "context_mla": ("mla", "context_mla_perf"),
          "wideep_generation_moe": ("moe", "wideep_generation_moe_perf"),
          "wideep_context_moe": ("moe", "wideep_context_moe_perf"),
          "custom_allreduce": ("comm", "custom_allreduce_perf")}
NCCL = ("comm", "nccl", "nccl_perf")          # NCCL's own tables: <system>/comm/nccl/<NCCL version>/nccl_perf
MLA_PREFILL_HEAD_DIM = 160       # (qk_nope 128 + qk_rope 64 + v_head 128) / 2: dagc's MLA prefill kernel shape
_KV = {"bfloat16": "bf16", "fp8": "fp8"}      # the KV caches of the decode tables, as dagc names them
# MoE tables → the profile's `kernel` and the even distribution of each (`dagc.kernels.series.MOE_KERNELS`)
MOE_KERNELS = (("moe", "fused", "balanced"), ("wideep_generation_moe", "deepep_ll", "uniform"),
               ("wideep_context_moe", "deepep_normal", "uniform"))
_DTYPES = {"bfloat16": "bf16", "fp8": "fp8", "fp8_block": "fp8", "nvfp4": "nvfp4", "w4a16_mxfp4": "mxfp4"}
Rows = list[dict[str, Any]]


class EngineImportError(ValueError):
    """A system, engine or release that is not there (the message names what is), or a missing extra."""


class MissingExtraError(EngineImportError):
    """The optional extra that holds the engine tables is not installed: the name was not the fault."""


def data_root() -> Path:
    """The tables' folder of the installed `aiconfigurator-core`, found without importing the package.

    Raises:
        EngineImportError: the package is not installed (the message says how to install it).
    """
    import importlib.util
    import sys
    try:
        blocked = "aiconfigurator_core" in sys.modules and sys.modules["aiconfigurator_core"] is None
        spec = None if blocked else importlib.util.find_spec("aiconfigurator_core")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError("engine kernel tables need the optional extra `engines` (aiconfigurator-core): "
                                + extra_install("engines"))
    return Path(next(iter(spec.submodule_search_locations))) / "systems" / "data"


def package_version() -> str:
    """The installed aiconfigurator-core's version ("unknown" when its metadata is missing)."""
    try:
        return metadata.version("aiconfigurator-core")
    except metadata.PackageNotFoundError:
        return "unknown"


def _release_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """A release's sort key: numbers compared as numbers (0.5.10 after 0.5.9), a pre-release (rc, dev, post
    counted as after) below its release."""
    parts = re.findall(r"\d+|[a-z]+", name.lower())
    return tuple((0, int(p)) if p.isdigit() else ((-1 if p in ("rc", "dev", "a", "b") else 1), p) for p in parts)


def available(root: Path) -> dict[str, dict[str, list[str]]]:
    """system → engine → the releases whose GEMM table exists, oldest first."""
    out: dict[str, dict[str, list[str]]] = {}
    for system in sorted(p.name for p in root.iterdir() if p.is_dir()):
        for engine in ENGINES:
            folder = root / system / "gemm" / engine
            releases = sorted((p.name for p in folder.iterdir() if (p / "gemm_perf.parquet").is_file()),
                              key=_release_key) if folder.is_dir() else []
            if releases:
                out.setdefault(system, {})[engine] = releases
    return out


def _choose(found: Mapping[str, Mapping[str, list[str]]], system: str, engine: str, release: str | None) -> str:
    if system not in found:
        raise EngineImportError(f"unknown system {system!r}; the tables hold: {', '.join(sorted(found))}")
    if engine not in found[system]:
        raise EngineImportError(f"no {engine} tables for {system}; engines: {', '.join(found[system])}")
    releases = found[system][engine]
    if release is None:
        return releases[-1]
    if release not in releases:
        raise EngineImportError(f"no {engine} release {release!r} for {system}; releases: {', '.join(releases)}")
    return release


def _table(root: Path, system: str, engine: str, release: str | None, kind: str) -> Path | None:
    """The table of `kind` of this release, or of the newest release of the engine up to it that has one
    (the engines' tables are collected separately: a release may lack some); None: the newest."""
    family, name = NCCL[::2] if kind == "nccl" else TABLES[kind]
    folder = root / system / family / engine
    if not folder.is_dir():
        return None
    cands = sorted((p.name for p in folder.iterdir() if (p / f"{name}.parquet").is_file()), key=_release_key)
    usable = [r for r in cands if release is None or _release_key(r) <= _release_key(release)] or cands
    return folder / usable[-1] / f"{name}.parquet" if usable else None


def _ms(row: Mapping[str, Any]) -> float:
    return float(row["latency"]) / 1e3


def convert(tables: Mapping[str, Rows], base: Mapping[str, Any], *, name: str, gpu: str, source: str,
            peaks: Mapping[str, Any], glue: Mapping[str, int] | None = None) -> dict[str, Any]:
    """A dagc profile (JSON object) from the engine's rows by kind (`TABLES`' keys; any may be missing or
    empty) over `base`, dagc's own profile for the GPU (grouped GEMM, memory, floor, and any table the
    engine lacks); `glue`: how the engine runs dagc's glue steps (`ENGINE_GLUE`)."""
    out_tables = dict(base["tables"])
    used: list[str] = []
    _put(out_tables, used, "gemm", _gemm(tables), ("dtype", "M", "N", "K"))
    _put(out_tables, used, "fused_moe", _fused_moe(tables),
         ("kernel", "dtype", "tokens", "hidden", "inter", "topk", "experts", "tp", "ep"))
    _put(out_tables, used, "attn_prefill", _attn_prefill(tables), ("B", "S", "H", "Hkv", "D"))
    _put(out_tables, used, "attn_decode", _attn_decode(tables), ("kv", "B", "ctx", "H", "Hkv", "D"))
    mla = [{"B": int(r["batch_size"]), "ctx": int(r["isl"]) + int(r["step"]), "heads": int(r["num_heads"]),
            "kv": _KV[r["kv_cache_dtype"]], "seconds": _ms(r)}
           for r in tables.get("generation_mla", ()) if r["kv_cache_dtype"] in _KV]
    _put(out_tables, used, "mla_decode", mla, ("kv", "B", "ctx", "heads"))
    _put(out_tables, used, "all_reduce", _all_reduce(tables), ("gpus", "bytes"))
    out: dict[str, Any] = {"format": "dagc-kernel-profile", "version": 1, "name": name, "peaks": dict(peaks),
                           "floor": dict(base["floor"]), "tables": out_tables}
    if glue:
        out["glue"] = dict(glue)
    return {**out,
            "provenance": {"gpu": gpu, "software": source, "date": "as collected by the package",
                           "method": _method(tables, base, out_tables, used)[:2000], "source": source}}


def _gemm(tables: Mapping[str, Rows]) -> Rows:
    """The engine's GEMM rows in bf16, fp8 and fp8 with block scales (those only where no per-tensor row
    has the same shape)."""
    gemm = [{"dtype": _DTYPES[r["gemm_dtype"]], "M": int(r["m"]), "N": int(r["n"]), "K": int(r["k"]),
             "seconds": _ms(r), "_block": r["gemm_dtype"] == "fp8_block"}
            for r in tables.get("gemm", ()) if r["gemm_dtype"] in ("bfloat16", "fp8", "fp8_block")]
    exact = {(g["dtype"], g["M"], g["N"], g["K"]) for g in gemm if not g["_block"]}
    return [{k: v for k, v in g.items() if k != "_block"} for g in gemm
            if not g["_block"] or (g["dtype"], g["M"], g["N"], g["K"]) not in exact]


def _fused_moe(tables: Mapping[str, Rows]) -> Rows:
    """The fused layer's rows (Triton, CUTLASS, …) of even routing, and SGLang's wide-EP DeepEP/DeepGEMM rows of
    uniform routing (their only even one): decode-sized steps under DeepEP's low-latency kernels, prefill
    under its normal ones (`MOE_KERNELS`)."""
    return [{"kernel": kernel, "dtype": _DTYPES[r["moe_dtype"]], "tokens": int(r["num_tokens"]),
             "hidden": int(r["hidden_size"]), "inter": int(r["inter_size"]), "topk": int(r["topk"]),
             "experts": int(r["num_experts"]), "tp": int(r["moe_tp_size"]), "ep": int(r["moe_ep_size"]),
             "seconds": _ms(r)}
            for kind, kernel, even in MOE_KERNELS for r in tables.get(kind, ())
            if r["distribution"] == even and r["moe_dtype"] in _DTYPES]


def _attn_prefill(tables: Mapping[str, Rows]) -> Rows:
    """Prefill attention over a bf16 KV cache, and MLA prefill (DeepSeek's dims: q·k over 192, v 128) as dagc
    prices it: multi-head, D = (192 + 128) / 2."""
    prefill = [{"B": int(r["batch_size"]), "S": int(r["isl"]), "H": int(r["num_heads"]),
                "Hkv": int(r["num_key_value_heads"]) or int(r["num_heads"]), "D": int(r["head_dim"]), "seconds": _ms(r)}
               for r in tables.get("context_attention", ())
               if _full(r) and r.get("kv_cache_dtype", "bfloat16") == "bfloat16"]
    return prefill + [{"B": int(r["batch_size"]), "S": int(r["isl"]), "H": int(r["num_heads"]),
                       "Hkv": int(r["num_heads"]), "D": MLA_PREFILL_HEAD_DIM, "seconds": _ms(r)}
                      for r in tables.get("context_mla", ()) if r.get("kv_cache_dtype", "bfloat16") == "bfloat16"
                      and r.get("mla_dtype", "bfloat16") == "bfloat16"]


def _attn_decode(tables: Mapping[str, Rows]) -> Rows:
    """Decode attention over a bf16 and over an 8-bit KV cache, each its own rows (`kv`)."""
    return [{"B": int(r["batch_size"]), "ctx": int(r["isl"]) + int(r["step"]), "H": int(r["num_heads"]),
             "Hkv": int(r["num_key_value_heads"]) or int(r["num_heads"]), "D": int(r["head_dim"]),
             "kv": _KV[r.get("kv_cache_dtype", "bfloat16")], "seconds": _ms(r)}
            for r in tables.get("generation_attention", ()) if _full(r) and int(r.get("beam_width", 1)) == 1
            and r.get("kv_cache_dtype", "bfloat16") in _KV]


def _all_reduce(tables: Mapping[str, Rows]) -> Rows:
    """The engine's all-reduce on 2 GPUs or more: its custom kernel or NCCL, the faster at each size (as the
    engine picks), bf16."""
    reduce = [{"gpus": int(r["num_gpus"]), "bytes": 2.0 * float(r["message_size"]), "seconds": _ms(r)}
              for r in tables.get("custom_allreduce", ()) if r.get("allreduce_dtype") == "bfloat16"]
    reduce += [{"gpus": int(r["num_gpus"]), "bytes": 2.0 * float(r["message_size"]), "seconds": _ms(r)}
               for r in tables.get("nccl", ()) if r.get("op_name") == "all_reduce" and r.get("nccl_dtype") == "half"]
    return [r for r in reduce if r["gpus"] >= 2]


def _method(tables: Mapping[str, Rows], base: Mapping[str, Any], out_tables: dict[str, Any], used: list[str]) -> str:
    """The provenance's method: which tables are the engine's (`used`), which the base profile's, and the
    kernels and kernel sources the engine's rows name."""
    kept = [k for k in ("gemm", "grouped_gemm", "attn_prefill", "attn_decode", "memory", "mla_decode")
            if k not in used and out_tables.get(k)]
    sources = sorted({str(r.get("kernel_source")) for rows in tables.values() for r in rows if r.get("kernel_source")})
    moe_sources = "; ".join(f"{kernel} ← {', '.join(found)}" for kind, kernel, _ in MOE_KERNELS
                            if (found := sorted({str(r.get("kernel_source")) for r in tables.get(kind, ())})))
    return (f"engine tables {', '.join(used) or 'none'}; dagc's own profile `{base['name']}` for "
            f"{', '.join(kept) or 'nothing'} and the per-kernel floor; MoE kernels: {moe_sources or '—'}; "
            f"kernel sources: {', '.join(sources) or '—'}")


# Row keys at the format's default value, left out of the written rows (a profile of every table of an engine
# release is some 15 MiB; the file format reads at most 16 MiB).
_DEFAULTS = {"kernel": "fused", "kv": "bf16"}


def _put(tables: dict[str, Any], used: list[str], name: str, rows: Rows, key: tuple[str, ...]) -> None:
    """The engine's rows as table `name`, when it has any (else the base profile's stays), without the keys at
    their default value."""
    if rows:
        tables[name] = [{k: v for k, v in r.items() if _DEFAULTS.get(k, None) != v} for r in _fastest(rows, key)]
        used.append(name)


def _full(row: Mapping[str, Any]) -> bool:
    """Full (not windowed) attention computed in bf16."""
    return int(row.get("window_size", 0)) == 0 and row.get("attn_dtype", "bfloat16") == "bfloat16"


def _fastest(rows: Iterable[dict[str, Any]], key: tuple[str, ...]) -> Rows:
    """One row per shape, the fastest (an engine picks its fastest kernel), in shape order."""
    best: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in rows:
        k = tuple(r[x] for x in key)
        if k not in best or r["seconds"] < best[k]["seconds"]:
            best[k] = r
    return [best[k] for k in sorted(best)]


def import_profile(system: str, engine: str, release: str | None = None, *, root: Path | None = None,
                   read: Callable[[Path], Rows] | None = None) -> dict[str, Any]:
    """The profile of one system, engine and release (the newest by default), as a JSON object.

    Raises:
        EngineImportError: the extra is missing, or an unknown system, engine or release (named with
            the available ones).
    """
    from ..plan.engines import ENGINE_GLUE  # here: `dagc presets` reads profile_engine without pydantic
    from ..plan.presets import GPU_KERNEL_PROFILES, GPU_PRESETS
    from .kernels import nearest_profile
    root = data_root() if root is None else root
    chosen = _choose(available(root), system, engine, release)
    reader = _read_parquet if read is None else read
    tables = {kind: reader(path) for kind in TABLES if (path := _table(root, system, engine, chosen, kind))}
    if (nccl := _table(root, system, NCCL[1], None, "nccl")) is not None:      # the newest NCCL measured
        tables["nccl"] = reader(nccl)
    preset = GPU_PRESETS.get(SYSTEM_GPUS.get(system, ""))
    if preset is None:
        raise EngineImportError(f"dagc has no GPU preset for system {system!r}; importable: "
                                f"{', '.join(sorted(SYSTEM_GPUS))}")
    own = GPU_KERNEL_PROFILES.get(preset.name)
    base_name = own if own is not None else nearest_profile(preset).name
    base = json.loads((Path(__file__).parent.parent / "data" / "kernels" / f"{base_name}.json").read_text())
    source = f"aiconfigurator-core {package_version()}: {system} / {engine} {chosen}"
    peaks = {"bf16_flops_per_s": preset.flops_16bit, "fp8_flops_per_s": preset.flops_8bit,
             "hbm_bytes_per_s": preset.hbm_bytes_per_s}
    if preset.flops_4bit:
        peaks["fp4_flops_per_s"] = preset.flops_4bit
    return convert(tables, base, name=f"{engine}-{chosen}-{preset.name}"[:64], gpu=system, source=source,
                   peaks=peaks, glue=ENGINE_GLUE[engine])  # type: ignore[index]


def profile_engine(source: str) -> str | None:
    """The engine an imported profile's tables were measured in, from its `provenance.source`
    ("aiconfigurator-core 0.12.0: h200_sxm / trtllm 1.3.0rc20"); None for any other profile.

    Example:
        >>> profile_engine("aiconfigurator-core 0.12.0: h200_sxm / sglang 0.5.14"), profile_engine("bench")
        ('sglang', None)
    """
    found = re.fullmatch(r"aiconfigurator-core \S+: \S+ / (\w+) \S+", source)
    return found.group(1) if found and found.group(1) in ENGINES else None


def _read_parquet(path: Path) -> Rows:
    import pandas  # type: ignore[import-untyped]  # installed with aiconfigurator-core
    rows: Rows = pandas.read_parquet(path).to_dict("records")
    return rows
