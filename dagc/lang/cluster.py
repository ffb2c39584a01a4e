"""The `cluster` statement: its GPU, kernel profile, efficiencies and latencies (SPEC 3.2).

Input: the items of the `cluster { … }` block (`dagc.lang.blocks`), the plan's import roots and a
`Collector`. Output: a frozen `Cluster` (`lower_cluster`) with the kernel profile it names
(`kernels = "h200"`, `kernels from "file.json"`, or the GPU preset's own) applied to its GPU's
peaks and the serving engine it names (`dagc.lang.engine`), or None when the collector holds the
reasons (E101, E103, E104, E105).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from ..diagnostics import PlanError, code, quote
from ..kernels.kernels import KernelProfile, builtin_profile, for_gpu, load_profile_file, profile_names
from ..plan.cluster import DEFAULT_RESERVE_BYTES, Cluster, Efficiency, Gpu, Latency
from ..plan.engines import Engine
from ..plan.presets import GPU_KERNEL_PROFILES, GPU_PRESETS
from ..source import Span
from .block_fields import (
    ClusterFields,
    EfficiencyFields,
    GpuFields,
    LatencyFields,
    cluster_fields,
    efficiency_fields,
    gpu_fields,
    latency_fields,
)
from .blocks import BAD, Bad, Collector, Item, ItemKind, read_block
from .engine import default_engine, lower_engine
from .fields import (
    CLUSTER_BLOCK_FIELDS,
    EFFICIENCY_FIELDS,
    GPU_FIELDS,
    LATENCY_FIELDS,
    SUBBLOCKS,
    Field,
    FieldValue,
    Inner,
)
from .hints import gpu_hint
from .model import ImportRoots
from .near_file import in_directory, near_file

__all__ = ["CLUSTER_BLOCK_FIELDS", "lower_cluster"]


def lower_cluster(out: Collector, roots: ImportRoots, block: tuple[Item, ...], span: Span) -> Cluster | None:
    """The cluster written in `block` (the statement at `span`), or None when `out` holds why not."""
    values, subs = read_block(out, block, "cluster", CLUSTER_BLOCK_FIELDS,
                              Inner(SUBBLOCKS["cluster"], files=("kernels",), gpu=True))
    fields = cluster_fields(values)          # those that read: `values` says which did not, and which are written
    gpu = None
    if "gpu" not in subs:
        out.error("E103", "the cluster has no `gpu`", span,
                  'add `gpu preset "h100-sxm"` or a custom `gpu "name" { … }`')
    else:
        gpu = _gpu(out, subs["gpu"])
    kernels = _kernels(out, roots, fields, subs)
    engine = lower_engine(out, fields.get("engine"), next((i.value.span for i in block if i.name == "engine"
                                                           and i.value is not None), None))
    if gpu is not None and "reserve" in fields and fields["reserve"] >= gpu.memory_bytes:
        out.error("E104", "`reserve` is at least the GPU's whole memory", out.spans["cluster.reserve"],
                  "the reserve is what the runtime keeps per GPU, a few GiB (default 4 GiB)")
    eff = _subblock(out, subs, "efficiency", EFFICIENCY_FIELDS)
    lat = _subblock(out, subs, "latency", LATENCY_FIELDS)
    if "gpus" not in values and "cluster.gpus" not in out.guessed:     # `nodes = 2` (E101) says `gpus` already
        out.error("E103", "the cluster has no `gpus`", span, "add `gpus = …` (GPUs available)")
    if any(v is BAD for v in (*values.values(), *eff.values(), *lat.values())):
        return None
    if gpu is None or "gpus" not in values or kernels is BAD or engine is BAD:
        return None
    if kernels is None and subs["gpu"].kind is ItemKind.GPU_PRESET and gpu.name in GPU_KERNEL_PROFILES:
        kernels = builtin_profile(GPU_KERNEL_PROFILES[gpu.name])
    profile = for_gpu(kernels, gpu) if isinstance(kernels, KernelProfile) else None
    engine = engine if isinstance(engine, Engine) else default_engine(profile)
    cluster = _cluster(fields, gpu, _efficiency(efficiency_fields(eff)), _latency(latency_fields(lat)))
    return cluster.model_copy(update={"kernels": profile, "engine": engine})


def _subblock(out: Collector, subs: dict[str, Item], name: str,
              fields: dict[str, Field]) -> dict[str, FieldValue | Bad]:
    if name not in subs:
        return {}
    values, _ = read_block(out, subs[name].block, f"cluster.{name}", fields)
    return values


def _kernels(out: Collector, roots: ImportRoots, values: ClusterFields,
             subs: dict[str, Item]) -> KernelProfile | None | Bad:
    """The profile the cluster names (`kernels = "h200"` or `kernels from "file.json"`), None
    when it names none, BAD when it names one that cannot be used (already reported)."""
    if "kernels" in subs:
        item = subs["kernels"]
        assert item.label_span is not None, "a `from` entry has its path"
        path = roots.resolve(out, item.label, item.label_span, "the kernel profile")
        if path is None:
            return BAD
        try:
            return load_profile_file(path, item.label_span)
        except PlanError as exc:
            # a slip of a file's name beside it, or a directory: `_file_hint`
            out.diags.extend(replace(d, hint=_file_hint(path, item.label, d.message) or d.hint)
                             for d in exc.diagnostics)
            return BAD
    name = values.get("kernels")
    if name is None:                 # none written, or one that did not read (said, and the cluster is not built)
        return None
    if ":" in name:
        return _engine_profile(out, name)
    if name not in profile_names():
        shown = quote(name)
        same = gpu_hint(name, {p: GPU_PRESETS[p] for p in profile_names() if p in GPU_PRESETS})
        return out.error("E101", f"unknown kernel profile `{shown}`", out.spans["cluster.kernels"],
                         (same.partition("?")[0] + "? " if same.startswith("did you mean") else "")
                         + "built-in profiles: "
                         + ", ".join(f"`{n}`" for n in profile_names())
                         + '; or measure your own and write `kernels from "file.json"` (docs/kernels.md)')
    return builtin_profile(name)


def _engine_profile(out: Collector, name: str) -> KernelProfile | Bad:
    """`kernels = "ENGINE:SYSTEM"` or `"ENGINE:SYSTEM@RELEASE"`: the engine-measured tables of the optional
    extra, converted as `dagc kernels import` converts them (docs/kernels.md)."""
    import json

    from ..kernels.engine_import import EngineImportError, MissingExtraError, import_profile
    from ..kernels.kernels import parse_profile
    engine, _, rest = name.partition(":")
    system, _, release = rest.partition("@")
    try:
        doc = import_profile(system, engine, release or None)
    except EngineImportError as exc:
        # the name is not at fault when the tables are not installed: say how to do without them, not how to write it
        hint = ("install the extra, or leave `kernels` out and dagc prices the GPU on its built-in profile; a "
                "profile made elsewhere by `dagc kernels import` is read with `kernels from \"FILE.json\"`"
                if isinstance(exc, MissingExtraError) else
                'write `kernels = "ENGINE:SYSTEM[@RELEASE]"`, e.g. `"trtllm:h200_sxm"`; `dagc kernels list` shows '
                "what the installed tables hold")
        return out.error("E101", f"engine kernel profile {code(name)}: {quote(str(exc), 300)}",
                         out.spans["cluster.kernels"], hint)
    try:
        return parse_profile(json.dumps(doc), f"{engine}:{system}")
    except PlanError as exc:
        out.diags.extend(exc.diagnostics)
        return BAD


def _gpu(out: Collector, item: Item) -> Gpu | None:
    out.spans["cluster.gpu"] = item.span
    if item.kind is ItemKind.GPU_PRESET:
        if item.label not in GPU_PRESETS:
            out.error("E101", f"unknown GPU preset `{item.label}`", item.label_span,   # `--set cluster.gpu=8`: a count
                      "`gpu` is the GPU type (a preset such as `h200`); the number of GPUs is `gpus`: "
                      f"`gpus = {item.label}` (with --set: `--set cluster.gpus={item.label}`)" if item.label.isdigit()
                      else gpu_hint(item.label, GPU_PRESETS))
            return None
        return GPU_PRESETS[item.label]
    if "`" in item.label:       # report.md's sentences name the GPU: its backticks would open code spans there
        out.error("E104", f"a GPU's name holds no backtick: {code(item.label)}", item.label_span,
                  "dagc's reports quote the name in their sentences: write it without `` ` ``, e.g. "
                  f"`gpu \"{item.label.replace('`', '')}\"`")
        return None
    read, _ = read_block(out, item.block, "gpu", GPU_FIELDS)
    if any(v is BAD for v in read.values()):
        return None
    values = gpu_fields(read)
    missing = [k for k in ("memory", "flops", "hbm") if k not in values]
    if missing:
        said = [k for k in missing if f"gpu.{k}" not in out.guessed]     # a typo of it says so already
        preset = item.label.lower() if item.label.lower() in GPU_PRESETS else None    # `gpu "h800" { memory = … }`
        if said:
            out.error("E103", f'gpu "{item.label}" has no `{said[0]}`', item.span,
                      f'`{preset}` is a preset: `gpu preset "{preset}"` takes its figures; or, as a custom GPU, '
                      "write its memory, flops and hbm" if preset else "a custom GPU needs memory, flops and hbm, "
                      "e.g. `memory = 64 GB  flops = 400 TFLOPS  hbm = 1.8 TB/s`")
        return None
    if _implausible(out, values, item):
        return None
    return Gpu(name=item.label, memory_bytes=values["memory"], flops_16bit=values["flops"],
               flops_8bit=values.get("fp8_flops"), flops_4bit=values.get("fp4_flops"),
               hbm_bytes_per_s=values["hbm"],
               intra_node_bytes_per_s=values.get("intra_node", Gpu.model_fields["intra_node_bytes_per_s"].default))


# What an accelerator can be (docs/limits.md, "Custom GPUs"): two orders of magnitude around every datasheet
# of 2016–2026 (a V100's 16 GB and 0.9 TB/s, a GB300's 288 GB and 8 TB/s, 5 PFLOP/s of dense fp8).
PLAUSIBLE = {"memory": (1e6, 100e12, "1 MB", "100 TB"), "flops": (1e12, 100e15, "1 TFLOP/s", "100 PFLOP/s"),
             "fp8_flops": (1e12, 200e15, "1 TFLOP/s", "200 PFLOP/s"),
             "fp4_flops": (1e12, 400e15, "1 TFLOP/s", "400 PFLOP/s"),
             "hbm": (10e9, 1e15, "10 GB/s", "1 PB/s"), "intra_node": (1e9, 100e12, "1 GB/s", "100 TB/s")}
INTENSITY = (1.0, 20_000.0)      # bf16 FLOPs per HBM byte: a V100 ~140, an H100 ~300, a B200 ~280


def _implausible(out: Collector, values: GpuFields, item: Item) -> bool:
    """E107 for a custom GPU's figure no accelerator has, or a compute-to-bandwidth ratio none has."""
    bad = False
    figures: Mapping[str, object] = values          # by the name PLAUSIBLE gives: every GPU field is a float
    for key, (lo, hi, low_text, high_text) in PLAUSIBLE.items():
        if isinstance(x := figures.get(key), float) and not lo <= x <= hi:
            out.error("E107", f'gpu "{quote(item.label)}": `{key}` is outside what any accelerator has '
                      f"({low_text} to {high_text})", out.spans.get(f"gpu.{key}", item.span),
                      "check the unit (GB vs GiB, TB/s vs GB/s, TFLOPS vs PFLOPS) against the datasheet")
            bad = True
    for low, high, word in (("flops", "fp8_flops", "8-bit"), ("fp8_flops", "fp4_flops", "4-bit"),
                            ("flops", "fp4_flops", "4-bit")):
        # no accelerator computes a narrower type slower than a wider one (until 2026-12-03 accepted, and its 8-bit
        # matmuls priced slower than its bf16 ones)
        a, b = figures.get(low), figures.get(high)
        if not bad and isinstance(a, float) and isinstance(b, float) and b < a:
            out.error("E107", f'gpu "{quote(item.label)}": `{high}` is below `{low}`: no accelerator computes '
                      f"{word} matmuls slower", out.spans.get(f"gpu.{high}", item.span),
                      f"check its unit against the datasheet; without {word} tensor cores leave `{high}` out: "
                      f"{word} weights then run at `flops`")
            bad = True
    ratio = values["flops"] / values["hbm"]
    if not bad and not INTENSITY[0] <= ratio <= INTENSITY[1]:
        out.error("E107", f'gpu "{quote(item.label)}": {ratio:,.0f} bf16 FLOPs per byte of HBM bandwidth; '
                  f"accelerators have {INTENSITY[0]:g} to {INTENSITY[1]:,.0f}", out.spans.get("gpu.hbm", item.span),
                  "`flops` and `hbm` are likely in the wrong units: an H100 is 989 TFLOPS and 3.35 TB/s")
        bad = True
    return bad


def _efficiency(eff: EfficiencyFields) -> Efficiency:
    return Efficiency(compute=eff.get("compute"), hbm=eff.get("hbm"), network=eff.get("network", Efficiency().network))


def _latency(lat: LatencyFields) -> Latency:
    return Latency(intra_s=lat.get("intra", Latency().intra_s), inter_s=lat.get("inter", Latency().inter_s))


def _cluster(values: ClusterFields, gpu: Gpu, efficiency: Efficiency, latency: Latency) -> Cluster:
    """The cluster from checked values: efficiencies default to the GPU preset's, then dagc's; the
    node (the NVLink domain) to the GPU preset's domain (72 GPUs of an NVL72 rack), then dagc's."""
    fields: dict[str, object] = {"gpus": values["gpus"], "gpu": gpu,
                                 "intra_node_bytes_per_s": values.get("intra_node", gpu.intra_node_bytes_per_s),
                                 "efficiency": efficiency, "latency": latency}
    if "gpus_per_node" in values:               # else the model's own default: the field is left unset
        fields["gpus_per_node"] = values["gpus_per_node"]
    elif gpu.nvlink_domain is not None:
        fields["gpus_per_node"] = gpu.nvlink_domain
    if "inter_node" in values:
        fields["inter_node_bytes_per_s"] = values["inter_node"]
    fields["reserve_bytes"] = float(values.get("reserve", DEFAULT_RESERVE_BYTES))
    if "price" in values:
        fields["price_per_gpu_hour"] = float(values["price"])
    return Cluster.model_validate(fields)


def _file_hint(path: Path, written: str, message: str) -> str | None:
    """A hint for a kernel profile that did not read: a file of a near name beside a missing one (`near_file`; until
    2026-12-01 "check the path" alone), the profiles in a directory given as one (`in_directory`; until 2026-12-03
    "give the path of a .json file")."""
    if message.endswith(" does not exist"):
        return near_file(path, written, "kernels from")
    if path.is_dir():
        return in_directory(path, written, "kernels from", (".json",), "kernel profiles")
    return None
