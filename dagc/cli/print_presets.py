"""What `dagc presets` prints: the built-in models, GPUs and kernel profiles as tables, or as JSON.

Input: the rows of each table, as `dagc.cli.builtin_text` reads them from dagc/data/presets.json
(without loading the compiler), and a rich console. Output: the tables on the console.
`preset_rows` computes the same rows from the built-in data, and `preset_fields` every preset's
fields (what `dagc presets --format json` prints); the data file is generated from both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console

from ..units import Dimension, exact_text, format_gpu_memory, format_params, format_si
from .builtin_text import Rows
from .tables import Col, print_fitted

if TYPE_CHECKING:
    from ..jsontypes import JSON, JSONObject
    from ..plan.cluster import Gpu

# Each table's columns and their importance (`dagc.cli.tables.Col.rank`): a preset's name is what a plan
# writes, never left out nor broken; a figure never breaks; the text of a kernel profile wraps between words.
PRESET_COLUMNS: dict[str, tuple[Col, ...]] = {
    "model presets": (Col("preset", 0, "left"), Col("layers", 2), Col("hidden", 2), Col("heads/kv", 2),
                      Col("vocab", 3), Col("experts/top_k", 1), Col("expert ffn", 3), Col("params", 1),
                      Col("active", 1), Col("context", 3)),
    "GPU presets": (Col("preset", 0, "left"), Col("memory", 1), Col("16-bit", 1), Col("fp8", 2),
                    Col("fp4", 3), Col("HBM", 1), Col("intra-node", 2), Col("per node", 3),
                    Col("kernel profile", 3, "left", wrap=True, floor=10)),
    'kernel profiles (cluster { kernels = "…" })': (Col("profile", 0, "left"), Col("measured on", 1, "left", wrap=True),
                                                    Col("software", 2, "left", wrap=True, floor=12),
                                                    Col("date", 3, "left"), Col("per-kernel floor", 1)),
}


def print_presets(out: Console, *tables: Rows) -> None:
    """The tables of `dagc presets`, one per title of PRESET_COLUMNS (rows from `preset_rows`), fitted to the
    console's width."""
    for (title, columns), rows in zip(PRESET_COLUMNS.items(), tables, strict=True):
        print_fitted(out, title, columns, rows)


def preset_rows() -> tuple[Rows, Rows, Rows]:
    """The rows of `dagc presets` (models, GPUs, kernel profiles), computed from the built-in data.

    `dagc presets` prints them from dagc/data/presets.json (`dagc.cli.builtin_text`), generated from this
    function so that the command loads no compiler module; tests/test_startup.py keeps the two equal.
    """
    from ..kernels.kernels import builtin_profile, profile_names
    from ..lang.model import model_from_preset
    from ..plan.params import active_params, total_params
    from ..plan.presets import GPU_PRESETS, MODEL_PRESETS
    models = []
    for name in MODEL_PRESETS:
        m = model_from_preset(name)
        heads = f"{m.heads} (MLA)" if m.attention.value == "mla" else f"{m.heads}/{m.kv_heads}"
        models.append((name, str(m.layers), str(m.hidden), heads, str(m.vocab), f"{m.moe.experts}/{m.moe.top_k}",
                       str(m.moe.ffn), format_params(total_params(m)), format_params(active_params(m)),
                       f"{m.context_length:,}" if m.context_length else "—"))
    # a preset's figures as a plan writes them, every digit (`1.979 PFLOPS`, `3.35 TB/s`): rounded to one decimal
    # they read `2.0 PFLOPS` and `3.4 TB/s`, which a user copying them into `gpu { … }` would get wrong
    gpus = [(g.name, format_gpu_memory(g.memory_bytes), exact_text(g.flops_16bit, Dimension.COMPUTE),
             exact_text(g.flops_8bit, Dimension.COMPUTE) if g.flops_8bit else "—",
             exact_text(g.flops_4bit, Dimension.COMPUTE) if g.flops_4bit else "—",
             exact_text(g.hbm_bytes_per_s, Dimension.BANDWIDTH),
             exact_text(g.intra_node_bytes_per_s, Dimension.BANDWIDTH), str(_domain(g)), _profile_of(g))
            for g in GPU_PRESETS.values()]
    profiles = []
    for name in profile_names():
        p = builtin_profile(name)
        profiles.append((name, p.provenance.gpu, p.provenance.software, p.provenance.date,
                         format_si(p.floor_s, Dimension.TIME)))
    return tuple(models), tuple(gpus), tuple(profiles)


def preset_fields() -> JSONObject:
    """Every built-in preset with its fields, what `dagc presets --format json` prints: each model's
    fields in the plan language's names (as `model preset "…"` reads them) with its parameter counts,
    each GPU's figures in SI units with its NVLink domain (the cluster's default `gpus_per_node`) and
    the kernel profile its estimates use, and each built-in kernel profile's provenance."""
    from ..kernels.kernels import builtin_profile, nearest_profile, profile_names
    from ..lang.model import model_from_preset
    from ..plan.params import active_params, total_params
    from ..plan.presets import GPU_PRESETS, MODEL_PRESETS, PUBLISHED_PARAMS
    models: JSONObject = {}
    for name, fields in MODEL_PRESETS.items():
        m = model_from_preset(name)
        written: JSON = {k: dict(v) if isinstance(v, dict) else v for k, v in fields.items()}
        models[name] = {"fields": written, "params_total": total_params(m), "params_active": active_params(m),
                        "params_published": PUBLISHED_PARAMS.get(name)}
    gpus: JSONObject = {}
    for g in GPU_PRESETS.values():
        profile = None if g.compute_efficiency is not None and g.name not in profile_names() \
            else nearest_profile(g).name
        gpus[g.name] = {**g.model_dump(mode="json", exclude={"name", "nvlink_domain"}), "gpus_per_node": _domain(g),
                        "kernel_profile": profile, "kernel_profile_measured": g.name in profile_names()}
    profiles: JSONObject = {}
    for name in profile_names():
        v = builtin_profile(name).provenance
        profiles[name] = {"measured_on": v.gpu, "software": v.software, "date": v.date,
                          "floor_s": builtin_profile(name).floor_s}
    return {"models": models, "gpus": gpus, "profiles": profiles}


def _domain(gpu: Gpu) -> int:
    """The GPUs of a node (one NVLink domain) a cluster of `gpu` has when the plan does not say."""
    from ..plan.cluster import DEFAULT_GPUS_PER_NODE
    return gpu.nvlink_domain or DEFAULT_GPUS_PER_NODE


def _profile_of(gpu: Gpu) -> str:
    """The profile a GPU preset's estimates use by default."""
    from ..kernels.kernels import nearest_profile, profile_names
    if gpu.name in profile_names():
        return gpu.name
    if gpu.compute_efficiency is not None:
        return "— (constant efficiencies)"
    return f"{nearest_profile(gpu).name}'s, at its peaks"
