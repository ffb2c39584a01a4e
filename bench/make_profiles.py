"""Convert measured kernel timings (bench/calibration/*-ops.json) into dagc kernel profiles.

Usage:
    python bench/make_profiles.py                       # the built-in profiles, into dagc/data/kernels/
    python bench/make_profiles.py --input my-ops.json --name my-gpu \\
        --bf16-tflops 989 --fp8-tflops 1979 --hbm-tbps 3.35 --output my-gpu.json

The input is what bench/calibration/measure_ops.py writes. Graph-timed sections (`g_*`) are
used wherever they exist, the eager section only where there is no graph-timed one (attention
prefill, and the HBM copy that stands for the `copy` memory op; both are large ops, for which the
two methods agree). The output is deterministic: sorted keys, rows sorted by shape.
See docs/kernels.md for the format.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CALIBRATION = ROOT / "bench" / "calibration"
OUT_DIR = ROOT / "dagc" / "data" / "kernels"

# Datasheet peaks (dense) the efficiencies are computed against: FLOP/s bf16, FLOP/s fp8, HBM bytes/s.
BUILTIN = {
    "h100-sxm": ("h100-sxm-ops.json", 989e12, 1979e12, 3.35e12),
    "h200": ("h200-ops.json", 989e12, 1979e12, 4.8e12),
}
METHOD = ("median of CUDA-event timings after warm-up; g_* sections: the op repeated over distinct buffers "
          "inside one CUDA graph (cold L2, no launch gaps), graph time / repetitions; attn_prefill and the "
          "memory op `copy`: eager, one launch (large ops, where both methods agree)")
GLUE_OPS = ("rms_norm", "silu_mul", "router_topk", "permute", "unpermute")


def _row(r: dict, keys: tuple[str, ...], **extra) -> dict:
    out = {k: r[k] for k in keys}
    out.update(extra)
    out["seconds"] = r["s"]
    return out


def _order(row: dict) -> tuple:
    """Rows by name (dtype, op) first, then by their numbers in key order: a stable, readable order."""
    names = tuple(str(v) for k, v in sorted(row.items()) if isinstance(v, str))
    numbers = tuple(float(v) for k, v in sorted(row.items()) if not isinstance(v, str) and k != "seconds")
    return names, numbers


def convert(raw: dict, name: str, source: str, bf16: float, fp8: float | None, hbm: float) -> dict:
    """The profile (a JSON-ready dict) for one measured ops file."""
    s = raw["sections"]
    gemm = [_row(r, ("M", "N", "K", "flops", "bytes"), dtype="bf16") for r in s["g_gemm_bf16"]]
    gemm += [_row(r, ("M", "N", "K", "flops", "bytes"), dtype="fp8") for r in s["g_gemm_fp8"]]
    grouped = [_row(r, ("E", "tokens_per_expert", "K", "N", "flops", "bytes"), dtype="bf16")
               for r in s["g_grouped_mm"]]
    prefill = [_row(r, ("B", "S", "H", "Hkv", "D", "flops", "bytes")) for r in s["attn_prefill"]]
    decode = [_row(r, ("B", "ctx", "H", "Hkv", "D", "flops", "bytes")) for r in s["g_attn_decode"]]
    memory = [{"op": r["op"], "bytes": r["bytes"], "seconds": r["s"]} for r in s["g_glue"] if r["op"] in GLUE_OPS]
    memory += [{"op": "copy", "bytes": r["bytes"], "seconds": r["copy_s"]} for r in s["hbm"] if "copy_s" in r]
    tables: dict[str, list[dict]] = {"gemm": gemm, "grouped_gemm": grouped, "attn_prefill": prefill,
                                     "attn_decode": decode, "memory": memory}
    if "g_mla_decode" in s:
        tables["mla_decode"] = [_row(r, ("B", "ctx", "heads", "flops", "bytes"), kv_lora=512, rope=64)
                                for r in s["g_mla_decode"]]
    for rows in tables.values():
        rows.sort(key=_order)
    graph_rows = [r["s"] for key, rows in s.items() if key.startswith("g_") for r in rows]
    timing = {"gemm": "graph", "grouped_gemm": "graph", "attn_prefill": "eager", "attn_decode": "graph",
              "memory": "graph (copy: eager, >= 64 MiB)"}
    if "mla_decode" in tables:
        timing["mla_decode"] = "graph"
    return {
        "format": "dagc-kernel-profile",
        "version": 1,
        "name": name,
        "provenance": {
            "gpu": raw["device"], "software": f"PyTorch {raw['torch']}", "date": str(raw["measured"]).split(",")[0],
            "method": METHOD, "source": source, "timing": timing,
        },
        "peaks": {"bf16_flops_per_s": bf16, "fp8_flops_per_s": fp8, "hbm_bytes_per_s": hbm},
        "floor": {
            "tiny_kernel_s": s["launch"]["graph_tiny_kernel_s"],
            "kernel_s": min(graph_rows),
            "eager_kernel_s": s["launch"]["eager_tiny_kernel_s"],
            "method": "kernel_s: the fastest graph-timed op of the file (a real kernel with real work); "
                      "tiny_kernel_s: an empty kernel inside a CUDA graph, for reference; "
                      "eager_kernel_s: one tiny kernel launched eagerly (host-bound), the floor of eager prefill",
        },
        "tables": tables,
    }


def write(profile: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(profile, sort_keys=True, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", type=Path, help="a measure_ops.py output file (default: the built-in ones)")
    ap.add_argument("--name", help="the profile's name (with --input)")
    ap.add_argument("--bf16-tflops", type=float, help="datasheet dense bf16 peak of the measured GPU")
    ap.add_argument("--fp8-tflops", type=float, help="datasheet dense fp8 peak (omit: no fp8 units)")
    ap.add_argument("--hbm-tbps", type=float, help="datasheet HBM bandwidth, TB/s")
    ap.add_argument("--output", type=Path, help="where to write the profile (with --input)")
    args = ap.parse_args(argv)
    if args.input is None:
        for name, (file, bf16, fp8, hbm) in BUILTIN.items():
            raw = json.loads((CALIBRATION / file).read_text())
            write(convert(raw, name, f"bench/calibration/{file}", bf16, fp8, hbm), OUT_DIR / f"{name}.json")
        return 0
    if not (args.name and args.bf16_tflops and args.hbm_tbps):
        ap.error("--input needs --name, --bf16-tflops and --hbm-tbps")
    raw = json.loads(args.input.read_text())
    fp8 = args.fp8_tflops * 1e12 if args.fp8_tflops else None
    profile = convert(raw, args.name, args.input.name, args.bf16_tflops * 1e12, fp8, args.hbm_tbps * 1e12)
    write(profile, args.output or Path(f"{args.name}.json"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
