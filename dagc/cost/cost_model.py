"""The cost model's constants (SPEC 6.4, 6.5) and what a plan's times rest on.

Input: the plan's `Cluster`. Output: `CostModel`, the named constants every duration reads (the
kernel profile or the constant-efficiency roofline, the GPU's peaks, the link bandwidths and
latencies, the efficiencies), all overridable from the plan's `cluster` block
(`CostModel.from_cluster`); and `cost_basis` / `cost_basis_text`, what the times rest on, for
reports and the terminal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Required, TypedDict

from ..diagnostics import code, printable
from ..ir.dag import OpKind
from ..kernels.kernels import KernelProfile, for_gpu, nearest_profile
from ..plan.cluster import DEFAULT_HBM_EFFICIENCY, DEFAULT_INTRA_LATENCY_S, Cluster, KernelTimes, Vendor, peak_flops
from ..plan.engines import SGLANG_FRONTEND_DOUBT, SGLANG_FRONTEND_S
from ..plan.model import DType
from ..plan.plan import Plan
from ..units import Dimension, format_si, said_list
from .engine_release import release_priced_as
from .engine_scales import blackwell_scale, expert_time_scale

__all__ = ["LAYER_OP", "CostBasis", "CostModel", "MeasuredOn", "blackwell_scale", "calibrated_by", "cost_basis",
           "cost_basis_text", "engine_text", "expert_time_scale"]

# The op that carries the engine's time per layer (`EngineTerms.layer_s`): each layer's pass runs one QKV projection
LAYER_OP = OpKind.QKV_PROJ


@dataclass(frozen=True)
class CostModel:
    """The named constants of the cost model, all overridable from the plan's cluster block."""

    profile: KernelTimes | None     # None: the constant-efficiency roofline (a GPU defined by its efficiencies)
    gpu_flops_16bit: float
    gpu_flops_8bit: float | None
    gpu_flops_4bit: float | None
    hbm_bytes_per_s: float
    intra_node_bytes_per_s: float
    inter_node_bytes_per_s: float
    compute_efficiency: float       # with a profile: a scale of the measured speed (1.0: as measured)
    hbm_efficiency: float           # with a profile: the same for memory-bound kernels
    network_efficiency: float
    intra_latency_s: float
    inter_latency_s: float
    # the profile's measured all-reduce prices a node's all-reduces: the plan keeps the GPU's own NVLink
    # bandwidth and latency, which the measurement was made on
    measured_all_reduce: bool = False
    # How the cluster's engine runs dagc's glue steps (`dagc.plan.engines.ENGINE_GLUE`), a measured profile's own
    # glue winning where it says something (it was measured in its engine): step → launches, 0 fused away
    glue: Mapping[str, int] = field(default_factory=dict, hash=False)
    step_s: float = 0.0             # the engine's host time per step (`EngineTerms.step_s`), once in every step
    step_request_s: float = 0.0     # … and per request of the step (`EngineTerms.step_request_s`)
    layer_s: float = 0.0            # … and per layer of the step (`EngineTerms.layer_s`), once in every layer's pass
    # the engine's multipliers of a compute-bound and a memory-bound op's time (`EngineTerms.compute_time_scale`,
    # a calibration's), blended by how bound the op is (`time_scale`)
    compute_time_scale: float = 1.0
    memory_time_scale: float = 1.0
    # the engine's multiplier of a routed-expert grouped GEMM's time on this GPU (`expert_time_scale`): it divides
    # those kernels' compute efficiency, so an op's price carries it as it carries the plan's efficiencies
    expert_time_scale: float = 1.0
    # a node of a full mesh of links (`Gpu.mesh_link_bytes_per_s`: MI300X), else None (a switch)
    mesh_link_bytes_per_s: float | None = None

    @classmethod
    def from_cluster(cls, c: Cluster) -> CostModel:
        """The cluster's kernel profile (its GPU's own by default, else the nearest profiled GPU's at
        this GPU's peaks); a GPU preset defined by constant efficiencies (`generic-400t`, the seed
        reports' GPU) without a profile keeps the constant-efficiency roofline."""
        eff, gpu = c.efficiency, c.gpu
        if c.kernels is None and gpu.compute_efficiency is not None:
            profile, compute, hbm = None, eff.compute or gpu.compute_efficiency, eff.hbm or gpu.hbm_efficiency
        else:
            profile = c.kernels if c.kernels is not None else for_gpu(nearest_profile(gpu), gpu)
            compute, hbm = eff.compute or 1.0, eff.hbm or 1.0
        return cls(profile=profile, gpu_flops_16bit=gpu.flops_16bit, gpu_flops_8bit=gpu.flops_8bit,
                   gpu_flops_4bit=gpu.flops_4bit, hbm_bytes_per_s=gpu.hbm_bytes_per_s,
                   intra_node_bytes_per_s=c.intra_node_bytes_per_s,
                   inter_node_bytes_per_s=c.inter_node_bytes_per_s, compute_efficiency=compute,
                   hbm_efficiency=hbm or DEFAULT_HBM_EFFICIENCY, network_efficiency=eff.network,
                   intra_latency_s=c.latency.intra_s, inter_latency_s=c.latency.inter_s,
                   measured_all_reduce=(c.intra_node_bytes_per_s == gpu.intra_node_bytes_per_s
                                        and c.latency.intra_s == DEFAULT_INTRA_LATENCY_S),
                   glue={**c.engine.terms.glue, **(profile.glue if profile is not None else {})},
                   step_s=c.engine.terms.step_s, step_request_s=c.engine.terms.step_request_s,
                   layer_s=c.engine.terms.layer_s,
                   compute_time_scale=c.engine.terms.compute_time_scale,
                   memory_time_scale=c.engine.terms.memory_time_scale * blackwell_scale(c),
                   expert_time_scale=expert_time_scale(c), mesh_link_bytes_per_s=gpu.mesh_link_bytes_per_s)

    def time_scale(self, flops: float, hbm_bytes: float, dtype: DType) -> float:
        """The multiplier of a compute op's time (its FLOPs and HBM bytes, its peak's dtype) in this engine:
        `compute_time_scale` · f + `memory_time_scale` · (1 − f), f the share of its roofline's compute time,
        (FLOPs / peak) / (FLOPs / peak + bytes / HBM bandwidth): a prefill's GEMMs are compute-bound, a decode
        step's weight and KV reads memory-bound. 1 at the engine's own terms.

        Example:
            >>> from dagc.plan.cluster import Cluster
            >>> from dagc.plan.presets import GPU_PRESETS
            >>> cm = CostModel.from_cluster(Cluster(gpus=8, gpu=GPU_PRESETS["h100-sxm"], intra_node_bytes_per_s=450e9))
            >>> import dataclasses
            >>> cm = dataclasses.replace(cm, compute_time_scale=2.0, memory_time_scale=0.5)
            >>> cm.time_scale(1e15, 0.0, DType.BF16), cm.time_scale(0.0, 1e9, DType.BF16)
            (2.0, 0.5)
        """
        c, m = self.compute_time_scale, self.memory_time_scale
        if c == m:
            return c
        f = self.compute_share(flops, hbm_bytes, dtype)
        return c * f + m * (1.0 - f)

    def host_s(self, requests: float) -> float:
        """The engine's host time of a step of `requests` requests (one engine process's): `step_s` and
        `step_request_s` for each (`dagc.cost.cost.host_step_s`, `dagc.cost.op_price.OpPrice.seconds`).

        Example:
            >>> import dataclasses
            >>> from dagc.plan.cluster import Cluster
            >>> from dagc.plan.presets import GPU_PRESETS
            >>> cm = CostModel.from_cluster(Cluster(gpus=8, gpu=GPU_PRESETS["h100-sxm"], intra_node_bytes_per_s=450e9))
            >>> round(dataclasses.replace(cm, step_s=1e-3, step_request_s=50e-6).host_s(4), 9)
            0.0012
        """
        return self.step_s + self.step_request_s * requests

    def compute_share(self, flops: float, hbm_bytes: float, dtype: DType) -> float:
        """The share of compute in a compute op's roofline time, (FLOPs / peak) / (FLOPs / peak + bytes / HBM
        bandwidth) (1 with neither): what `time_scale` blends the two multipliers by."""
        tc, tm = flops / self.peak_flops(dtype), hbm_bytes / self.hbm_bytes_per_s
        return tc / (tc + tm) if tc + tm > 0 else 1.0

    def peak_flops(self, dtype: DType) -> float:
        return peak_flops(self.gpu_flops_16bit, self.gpu_flops_8bit, dtype, self.gpu_flops_4bit)

    def link(self, crosses_nodes: bool, group: int = 0) -> tuple[float, float]:
        """(effective bandwidth in bytes/s, latency in s) of a group's slowest link; inside a node that is a full mesh
        (`mesh_link_bytes_per_s`), a GPU of a group of `group` exchanges over its `group` − 1 links to the others, at
        most the node's bandwidth (`node_bytes_per_s`).

        Example:
            >>> from dagc.plan.cluster import Cluster
            >>> from dagc.plan.presets import GPU_PRESETS
            >>> cm = CostModel.from_cluster(Cluster(gpus=8, gpu=GPU_PRESETS["mi300x"], intra_node_bytes_per_s=448e9))
            >>> [round(cm.link(False, n)[0] / 1e9 / cm.network_efficiency) for n in (2, 4, 8)]
            [64, 192, 448]
        """
        if crosses_nodes:
            return self.inter_node_bytes_per_s * self.network_efficiency, self.inter_latency_s
        return self.node_bytes_per_s(group) * self.network_efficiency, self.intra_latency_s

    def node_bytes_per_s(self, group: int) -> float:
        """A GPU's bandwidth to the others of a group of `group` GPUs inside a node: the node's (`intra_node`), or on
        a full mesh of links the `group` − 1 links to them, at most that (a group of 1 or an unknown size: the
        node's). Until 2026-12-03 a mesh's every group was priced at its GPU's seven links: an MI300X `tp 2` pair's
        all-reduce 7× too fast."""
        if self.mesh_link_bytes_per_s is None or group <= 1:
            return self.intra_node_bytes_per_s
        return min(self.intra_node_bytes_per_s, (group - 1) * self.mesh_link_bytes_per_s)


class MeasuredOn(TypedDict):
    """Where a kernel profile was measured: report.json's `cost_model.measured_on`."""

    gpu: str
    software: str
    date: str


class CostBasis(TypedDict, total=False):
    """report.json's `cost_model` (docs/outputs.md): the kernel profile, or the roofline's constant efficiencies."""

    kernel_profile: Required[str | None]
    model: Required[str]
    compute_efficiency: float
    hbm_efficiency: float
    network_efficiency: float
    kernel_floor_s: float
    eager_launch_s: float
    compute_scale: float
    hbm_scale: float
    measured_on: MeasuredOn
    note: str


def cost_basis(cluster: Cluster) -> CostBasis:
    """What a plan's time estimates rest on, for reports: the kernel profile (name and provenance)
    or the constant-efficiency roofline, and the efficiency scales.

    Example:
        >>> from dagc.plan.cluster import Cluster
        >>> from dagc.plan.presets import GPU_PRESETS
        >>> c = Cluster(gpus=8, gpu=GPU_PRESETS["a100-80g"], intra_node_bytes_per_s=300e9)
        >>> cost_basis(c)["kernel_profile"]
        'h100-sxm@a100-80g'
    """
    cm = CostModel.from_cluster(cluster)
    p = cm.profile
    if p is None:
        return {"kernel_profile": None, "model": "roofline with constant efficiencies",
                "compute_efficiency": cm.compute_efficiency, "hbm_efficiency": cm.hbm_efficiency,
                "network_efficiency": cm.network_efficiency}
    out: CostBasis = {"kernel_profile": p.name, "model": "measured kernel profile (docs/cost-model.md)",
                 "kernel_floor_s": p.floor_s, "eager_launch_s": p.eager_floor_s,
                 "compute_scale": cm.compute_efficiency, "hbm_scale": cm.hbm_efficiency,
                 "network_efficiency": cm.network_efficiency}
    if isinstance(p, KernelProfile):
        v = p.provenance
        out["measured_on"] = {"gpu": v.gpu, "software": v.software, "date": v.date}
    if p.name.partition("@")[0] != cluster.gpu.name:
        why = "as the plan asks" if cluster.kernels is not None else f"the {cluster.gpu.name} has no profile of its own"
        out["note"] = f"applied at the {cluster.gpu.name}'s peaks ({why})"
    return out


def cost_basis_text(cluster: Cluster) -> str:
    """One sentence of `cost_basis` for report.md and the terminal."""
    b = cost_basis(cluster)
    if b["kernel_profile"] is None:
        return (f"Times: the roofline at constant efficiencies (compute {b['compute_efficiency']:g}, "
                f"HBM {b['hbm_efficiency']:g}) — this GPU has no measured kernel profile.")
    m = b.get("measured_on")
    # a profile's own words (up to 2,000 characters each), one line: a newline in them would print a line of its own
    where = f", measured on {printable(m['gpu'])} with {printable(m['software'])} ({printable(m['date'])})" if m else ""
    borrowed = f"; {b['note']}" if "note" in b else ""
    return f"Times: kernel profile {code(str(b['kernel_profile']))}{where}{borrowed}."


Calibrated = tuple[str, int, tuple[str, ...], tuple[str | None, ...]]


def calibrated_by(plan: Plan) -> Calibrated | None:
    """The calibration file a plan's engine terms come from, how many runs it was fitted on, the terms it kept at
    the engine's own value and why (`fit.kept_because`, None where the file does not say); None: the engine's own
    terms (docs/cost-model.md)."""
    cal = plan.calibration
    return None if cal is None else (cal.file, len(cal.runs), cal.kept, cal.kept_because)


# why `dagc calibrate` kept a term (`fit.kept_because`), as the engine sentence says it of one term and of several;
# a reason the file does not give reads as the runs not telling the term apart (the words before 2026-11-30, which
# said so of every kept term: a term cross-validation dropped too); `room` in the words `dagc calibrate`'s summary
# gives it (since 2026-12-02: the engine line and the summary gave one reason two ways)
_KEPT_WHY = {
    "few": ("it moves the figures of too few runs", "they move the figures of too few runs"),
    "room": ("too few runs to fit it beside the others: no quantity's fit took it",
             "too few runs to fit them beside the others: no quantity's fit took them"),
    "idle": ("fitting it explained the runs no better", "fitting them explained the runs no better"),
    "bound": ("fitted on its quantity alone it went to a bound of its range, which no engine's is",
              "fitted on their quantities alone they went to bounds of their ranges, which no engine's are"),
    "cv": ("the terms without it predicted the runs left out best: cross-validation",
           "the terms without them predicted the runs left out best: cross-validation"),
    "older": ("the file was written before it", "the file was written before them"),
    None: ("the runs cannot tell it apart", "the runs cannot tell them apart"),
}


def _kept_text(kept: tuple[str, ...], because: tuple[str | None, ...], names: tuple[str, ...]) -> str:
    """`a` and `b` the engine's own (why), `c` the engine's own (why): each reason once, of its terms in order."""
    why = {k: (w if w in _KEPT_WHY else None) for k, w in zip(kept, (*because, *[None] * len(kept)), strict=False)}
    groups: dict[str | None, list[str]] = {}
    for t in (t for t in names if t in why):
        groups.setdefault(why[t], []).append(t)
    return ", ".join(f"{_listed(ts)} the engine's own ({_KEPT_WHY[w][len(ts) > 1]})" for w, ts in groups.items())


def _calibrated_text(calibrated: tuple[str, int, tuple[str, ...]] | Calibrated) -> str:
    file, runs, kept = calibrated[:3]
    because = calibrated[3] if len(calibrated) > 3 else ()
    names = ("step_s", "frontend_s", "compute_time_scale", "memory_time_scale", "step_request_s")   # its terms
    fitted = [t for t in names if t not in kept]
    whose = f"{runs} measured run{'s' if runs != 1 else ''}"
    if not fitted:
        move = "moves" if runs == 1 else "move"
        said = f"no term fitted: its {whose} {move} too few figures, and the engine's own stand"
    elif len(fitted) < len(names):
        said = f"{_listed(fitted)} fitted on {whose}, {_kept_text(kept, because, names)}"
    else:
        said = f"its {len(names)} terms fitted on {whose}"
    return f"{said} (calibration from \"{file}\", docs/calibrate.md)."


def _listed(names: list[str]) -> str:
    return said_list([f"`{n}`" for n in names])


def engine_text(cluster: Cluster, calibrated: tuple[str, int, tuple[str, ...]] | Calibrated | None = None) -> str:
    """The serving engine a plan's figures are priced for, one sentence (the terminal and report.md);
    `calibrated`: the calibration file (`calibration from "FILE"`), its runs, the terms it kept and why
    (`calibrated_by`).

    Example:
        >>> from dagc.plan.cluster import Cluster
        >>> from dagc.plan.engines import engine_of
        >>> from dagc.plan.presets import GPU_PRESETS
        >>> c = Cluster(gpus=8, gpu=GPU_PRESETS["h100-sxm"], intra_node_bytes_per_s=450e9, engine=engine_of("sglang"))
        >>> engine_text(c)[:52]
        'Engine: sglang 0.5.23, its fused glue kernels and CU'
        >>> "CUDA graphs, no host time per step on the GPU's path" in engine_text(c)      # SGLang's overlap: 0
        True
        >>> "1.512 ms of host time per step" in engine_text(c.model_copy(update={"engine": engine_of("vllm")}))
        True
        >>> trtllm = c.model_copy(update={"engine": engine_of("trtllm")})
        >>> "by an all-gather" in engine_text(trtllm), "all-gather" in engine_text(c)
        (True, False)
        >>> engine_text(c, ("cal.json", 6, ())).split("; ")[-1]
        'its 5 terms fitted on 6 measured runs (calibration from "cal.json", docs/calibrate.md).'
        >>> engine_text(c, ("cal.json", 3, ("step_s", "frontend_s", "step_request_s"))).split("; ")[-1][:79]
        '`compute_time_scale` and `memory_time_scale` fitted on 3 measured runs, `step_s'
        >>> engine_text(c, ("one.json", 1, ("step_s", "frontend_s", "compute_time_scale", "memory_time_scale",
        ...                                 "step_request_s"))).split("; ")[-1][:45]
        'no term fitted: its 1 measured run moves too '
    """
    e = cluster.engine
    if e.name == "pytorch":
        return ("Engine: pytorch, the plain reference: unfused kernels, every decode and mixed step in a CUDA graph "
                "at its own size, no host time per step or per request, no front end (docs/cost-model.md, "
                "\"The engine\").")
    t = e.terms
    # a calibration that fitted `step_request_s` to 0 says so: "`step_request_s` fitted" beside no figure of it read
    # as a term left out (until 2026-11-30)
    host = _host_terms(cluster, calibrated is not None and "step_request_s" not in calibrated[2])
    where = ("(docs/cost-model.md, \"The engine\")." if calibrated is None else
             f"(docs/cost-model.md, \"The engine\"); {_calibrated_text(calibrated)}")
    queue = (f" and {format_si(t.ingest_s, Dimension.TIME)} of its one server's time per request, on which a burst "
             "queues" if t.ingest_s else "")
    # a release of another series than the one dagc's terms are of says whose terms price it (`release_priced_as`)
    priced = release_priced_as(e) if calibrated is None else None
    doubt = f" ({SGLANG_FRONTEND_DOUBT})" if calibrated is None and t.frontend_s == SGLANG_FRONTEND_S else ""
    graphs = "HIP graphs" if cluster.gpu.vendor is Vendor.AMD else "CUDA graphs"     # ROCm's (until 2026-12-03 CUDA)
    return (f"Engine: {e.name} {e.release}{f' ({priced})' if priced else ''}, its fused glue kernels and {graphs}, "
            f"{host}, and a front end of {format_si(t.frontend_s, Dimension.TIME)} per request that the client's TTFT "
            f"and latency add{doubt}{queue} {where}")


def _host_terms(cluster: Cluster, per_request: bool = False) -> str:
    """What `engine_text` says of the engine's terms beside its glue and graphs: its host time (`per_request`: its
    time per request said when it is 0 too), its kernels' scales, its attention's and its EP exchange's ways, its KV
    cache's share."""
    t = cluster.engine.terms
    host = (f"{format_si(t.step_s, Dimension.TIME)} of host time per step" if t.step_s > 0 else
            "no host time per step on the GPU's path")
    if t.step_request_s > 0:
        host += f" and {format_si(t.step_request_s, Dimension.TIME)} per request the step runs"
    elif per_request:
        host += " and none per request the step runs"
    if t.layer_s > 0:
        host += f", {format_si(t.layer_s, Dimension.TIME)} per layer a step passes through"
    if (t.compute_time_scale, t.memory_time_scale) != (1.0, 1.0):
        host += (f", its kernels {t.compute_time_scale:.3g}× the profile's time where compute-bound and "
                 f"{t.memory_time_scale:.3g}× where memory-bound")
    if blackwell_scale(cluster) != 1.0:
        host += (f", on this Blackwell GPU its memory-bound kernels {blackwell_scale(cluster):.3g}× the scaled H200 "
                 "profile's time")
    if expert_time_scale(cluster) != 1.0:
        host += (f", on this {'Blackwell' if cluster.gpu.flops_4bit else 'Hopper'} GPU its routed experts' grouped "
                 f"GEMMs {expert_time_scale(cluster):.3g}× the profile's time")
    if t.kv_read_per_query_head:
        host += ", its decode attention reading each KV head's cache once per query head of its group"
    if t.ep_all_gather:             # `dagc.ir.op_moe.gathers_tokens`
        host += (", its experts on attention-DP ranks given every rank's tokens by an all-gather and their outputs "
                 "back by a reduce-scatter (an all-to-all only for an EP group larger than the top-k on a multi-node "
                 "NVLink domain)")
    if t.kv_cache_share != 1.0:     # a calibration's (`dagc.memory.memory.kv_room`)
        host += (f", in flight its KV cache {t.kv_cache_share:.3g} of what the weights, activations and reserve "
                 "leave (`kv_cache_share`)")
    return host
