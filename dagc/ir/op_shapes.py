"""The shapes the op catalogue's figures are computed at (SPEC 5, 6): what `dagc.ir.ops` and its
figure modules (`dagc.ir.op_attention`, `dagc.ir.op_moe`) share.

Input: a `Model`, a `Workload`, a `Layout`, a phase, the requests of one micro-batch per
attention-DP group, and a stage. Output: `Shapes` — per-rank token counts of one (phase,
micro-batch shape, stage placement) and the helpers that turn figures into `OpTemplate`s and
`Kernel`s — with `RankDims` (the model's per-rank dimensions), `Recipe` (how one op is made) and
`Peak`. `Shapes` makes each template once under its key (`template`); `dagc.ir.ops.OpShapes` names
the keys (`Op`) and their recipes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import numpy as np

from ..enums import FastEnum
from ..layout.eplb import ExpertSplit, ep_nodes
from ..layout.layout import Layout
from ..layout.mix import shares
from ..layout.routing import busiest_rank_factor
from ..layout.shards import ACTIVATION_BYTES, RankDims, expected_distinct_experts
from ..layout.window import decode_context
from ..plan.engines import EngineTerms
from ..plan.model import DType, Model
from ..plan.strategy import Axis
from ..plan.workload import Workload
from .cuda_graphs import graph_size, graphed_tokens
from .dag import Kernel, KernelClass, OpKind, OpTemplate, Phase, StagePass, Vec
from .step_tokens import rank_tokens

__all__ = ["AB", "ALIGN_ROWS", "REFERENCE", "Peak", "Projection", "RankDims", "Recipe", "Shapes", "Work",
           "chunk_prompt_tokens", "decode_context", "experts_inside_tp", "graph_size", "graphed_tokens", "phase_chunk"]

AB = ACTIVATION_BYTES
# A figure given either per rank (`Vec`) or as a number, the same on every rank (`Shapes.vec` makes its vector)
Figure = float | Vec

# The reference implementation whose kernels dagc costs: plain, unfused PyTorch, as the calibration's
# end-to-end runs (bench/calibration/measure_e2e.py) execute a layer. Each entry is how many kernels
# a step launches; every launch costs at least the profile's per-kernel floor. Serving engines fuse
# several of these (docs/cost-model.md says what that means for the estimates).
REFERENCE: dict[str, int] = {
    "rope": 26,              # q and k: positions → cos, sin, two casts, 4 multiplies, add, sub, cat (13 each)
    "o_layout": 1,           # attention output transposed to tokens × heads·dim
    "kv_write": 2,           # the decode token's K and V copied into the cache
    "residual_add": 1,
    "routing_index": 24,     # top-k weights normalised, per-expert counts, padded offsets (cumsums), argsort,
                             # row positions and gathers of the sorted assignments
    "zero_fill": 2,          # the padded expert input and the combined output zeroed
    "combine_weights": 3,    # expert outputs gathered back to assignment order and scaled by their weights
}
ALIGN_ROWS = 16              # rows per expert are padded to a multiple of this for the grouped GEMM


class Peak(FastEnum):
    """Which dtype's peak FLOPs a compute op runs at."""

    WEIGHTS = "weights"          # matmuls against the model's weights
    EXPERTS = "experts"          # matmuls against the experts' weights (`moe { weights = … }`, else the model's)
    KV_CACHE = "kv_cache"        # attention against the KV cache (fp8 cache: the fp8 peak)
    NONE = "none"                # communication




def chunk_prompt_tokens(workload: Workload, lay: Layout) -> int:
    """In flight: the prompt tokens a mixed step's chunk carries on the busiest attention-DP rank
    (`dagc.layout.mix.Shares.chunk_prompt_tokens`)."""
    return shares(workload, lay).chunk_prompt_tokens


def phase_chunk(workload: Workload, lay: Layout, phase: Phase) -> int:
    """The prompt tokens of the chunk a pass of `phase` carries: `chunk_prompt_tokens` in a mixed step,
    none otherwise (what the caches of shapes are keyed by beside the phase and the requests)."""
    return chunk_prompt_tokens(workload, lay) if phase is Phase.MIXED else 0


@dataclass(frozen=True, slots=True)
class Work:
    """A compute op's work: per rank its tokens, flops, HBM bytes, activation bytes and output bytes; over all
    ranks its distinct tokens and flops (`tokens_total`, `flops_total`)."""

    tokens: Vec
    flops: Vec
    hbm: Vec
    act: Vec
    tokens_total: float
    flops_total: float
    out: Figure


@dataclass(frozen=True, slots=True)
class Projection:
    """A projection's weights: per rank (`params_r`) and in full, its input and output widths per rank."""

    params_r: float
    params_full: float
    in_w: float
    out_w: float

    @property
    def flops_per_row(self) -> float:
        """The FLOPs of one distinct row through the whole projection (its `flops_total` a row)."""
        return 2 * self.params_full


@dataclass(frozen=True)
class Recipe:
    """How one op is made: its node kind, the axis of its group, its peak, its figures, and what
    those figures read of the shapes beside the plan's model and workload (`reads`: equal keys make
    equal templates, so the search's timer prices an op once per key)."""

    kind: OpKind
    group: Axis | None
    peak: Peak
    figures: Callable[[Shapes, Recipe], OpTemplate]
    reads: Callable[[Shapes], Hashable]
    # A template whose totals alone read a count over the ranks (distinct tokens, requests or assignments): that
    # count and the FLOPs of each (`tokens_total`, and `flops_total` their product), which `reads` leaves out
    distinct: Callable[[Shapes], tuple[float, float]] | None = None


def experts_inside_tp(lay: Layout) -> bool:
    """Whether each EP group is one attention TP group (`tp N ; ep N`): after the TP
    collective every rank holds all the group's tokens, so experts run on them without an
    all-to-all and the TP reduce sums their outputs (SPEC 6.5)."""
    size = lay.ep * lay.etp
    return size > 1 and lay.cp == 1 and lay.tp == size


# `Shapes.vec` of a number other than zero, by the ranks' count and the number: read-only, so the shapes of as many
# ranks share it (a step's passes ask for the model's dimensions on every new shape). Zero (either sign, which compare
# equal) and NaN are made by each shape, as before
_VECS: dict[tuple[int, float], np.ndarray] = {}
_VECS_MAX = 1 << 14


def _number_vec(ranks: int, value: float) -> np.ndarray:
    """`value` on each of `ranks` ranks, read-only: made once for every shape but zero and NaN (`_VECS`)."""
    if value == 0.0 or value != value:
        out = np.full(ranks, value)
        out.flags.writeable = False
        return out
    key = (ranks, value)
    hit = _VECS.get(key)
    if hit is None:
        if len(_VECS) >= _VECS_MAX:
            _VECS.clear()
        hit = _VECS[key] = np.full(ranks, value)
        hit.flags.writeable = False
    return hit



# `x.sum()` and `x.max(…)`: numpy's own reductions (over every axis: `axis=None`), called without their Python wrappers
_max = np.maximum.reduce


def _sum(x: Vec) -> float:
    return float(np.add.reduce(x, axis=None))
@functools.lru_cache(maxsize=256)
def _attention_groups(ranks: int, per_group: int) -> np.ndarray:
    """Each of a stage group's `ranks` ranks' attention-DP group, groups of `per_group` consecutive ranks (read-only:
    shared by every shape of that stage group)."""
    out = np.arange(ranks) // per_group
    out.flags.writeable = False
    return out


class Shapes:
    """The per-rank shapes of one (phase, micro-batch shape, stage placement); each op template made once.

    A mixed step (in flight) is a decode step whose first attention-DP group also runs `chunk`
    prompt tokens of one prompt (`chunk_prompt_tokens`): the step ends at that group, the slowest,
    and its experts see those tokens too. The builder gives it to one micro-batch of the step.
    """

    def __init__(self, m: Model, w: Workload, lay: Layout, d: RankDims, at: StagePass,
                 engine: EngineTerms | None = None):
        """`at`: the pass (its `chunk`, when given, a mixed step's: the search's lower bounds price a smaller one
        than the layout's). `engine`: the serving engine's terms, whose CUDA graphs pad a step's tokens or run it
        eagerly (`graphed_tokens`); None: every decode and mixed step graphed at its own size."""
        phase, req, stage, chunk = at.phase, at.req, at.stage, at.chunk
        self.m, self.w, self.lay, self.d, self.phase = m, w, lay, d, phase
        g = lay.group_size
        a_idx = _attention_groups(g, lay.tp * lay.cp)
        self.n_seq = req[a_idx]                                   # requests of each rank's attention group
        # decode: one position per request, or with speculative decoding the drafted ones and the next
        per_seq = w.prompt if phase is Phase.PREFILL else w.step_positions
        self.chunk = phase_chunk(w, lay, phase) if chunk is None else chunk   # a mixed step's chunk's prompt tokens
        # … of them on each rank: the first attention group's, or the first `Workload.chunk_ranks` groups'
        self.chunk_groups = min(max(1, w.chunk_ranks), int(a_idx[-1]) + 1)
        self.c = np.where(a_idx < self.chunk_groups, self.chunk / lay.cp, 0.0)
        # tokens through linear ops, per rank (padded to the engine's CUDA graph), and whether launched eagerly
        self.engine = engine
        self.t, self.eager = graphed_tokens(rank_tokens(self.n_seq, per_seq, lay.cp, self.c), phase, engine, per_seq)
        # Each rank routes and dispatches its share of its attention group's tokens — unless the
        # expert group lies inside the TP group, which already holds every token (no all-to-all).
        self.u = self.t if experts_inside_tp(lay) else self.t / lay.tp
        requests = _sum(req)
        self.T = float(requests * per_seq + self.chunk * self.chunk_groups)     # distinct tokens of the stage
        self.R = float(requests)                                  # requests of the micro-batch
        # the most requests one engine process schedules in the step (one attention group's, a mixed step's prompt
        # among them): what the engine's host time per request counts (`EngineTerms.step_request_s`, carried by
        # the embedding)
        self.host_requests = float(_max(self.n_seq + (self.c > 0), axis=None, initial=0.0))
        self.stage = stage
        self.start_rank = stage * g
        self._cache: dict[Hashable, OpTemplate] = {}
        self._vecs: dict[float, np.ndarray] = {}           # `vec` of numbers
        self.zero = np.zeros(g)

    # ----------------------------------------------------------- what the figures read
    # The per-rank vectors as keys (their bytes: equal vectors, equal keys, whatever the layout
    # they came from), for the recipes' `reads`.
    @functools.cached_property
    def t_key(self) -> tuple[str, bytes, bool]:
        """`t`, the tokens through linear ops per rank, with the phase (eager or graphed kernels)."""
        return self.phase.value, self.t.tobytes(), self.eager

    @functools.cached_property
    def u_key(self) -> tuple[str, bytes, bool, bool]:
        """`u`, the tokens each rank routes, with the phase, whether the experts sit inside the TP
        group (then the EP groups' tokens are one rank's, not the sum: `expert_origin`) and whether eager."""
        return self.phase.value, self.u.tobytes(), experts_inside_tp(self.lay), self.eager

    @functools.cached_property
    def seq_key(self) -> tuple[str, bytes, int, bytes, bool]:
        """`n_seq`, the requests of each rank's attention group, with the phase, a mixed step's chunk, the
        tokens of the linear ops beside them (padded to a CUDA graph) and whether eager."""
        return self.phase.value, self.n_seq.tobytes(), self.chunk, self.t.tobytes(), self.eager

    @functools.cached_property
    def rows_key(self) -> tuple[str, bytes, bool]:
        """`n_seq` with the phase and whether eager: what an op on one row per request reads (the final norm and the
        LM head, `dagc.ir.op_attention`), not a mixed step's chunk nor the tokens of the linear ops beside them, so
        that the steps of `n` requests and any chunk that run alike (graphed, or eager) share them."""
        return self.phase.value, self.n_seq.tobytes(), self.eager

    def placement_key(self, size: int, span: int | None = None) -> tuple[bool, int]:
        """What a collective of `size` ranks (blocks of `span`) reads of where the stage sits."""
        return self.crosses(size, span), self.nodes(size, span)

    def template(self, key: Hashable, recipe: Recipe) -> OpTemplate:
        """The template `recipe` makes at this shape, made once under `key`, then shared."""
        tpl = self._cache.get(key)
        if tpl is None:
            tpl = self._cache[key] = recipe.figures(self, recipe)
        return tpl

    # ----------------------------------------------------------- helpers
    def crosses(self, size: int, span: int | None = None) -> bool:
        """Whether a group of `size` ranks (spread over blocks of `span`) of this stage spans nodes."""
        return size > 1 and self.lay.blocks_cross_nodes(self.start_rank, self.lay.group_size, span or size)

    def nodes(self, size: int, span: int | None = None) -> int:
        """Nodes a group of `size` ranks (spread over blocks of `span`) spans: 1 inside a node."""
        if not self.crosses(size, span):
            return 1
        return min(size, max(2, -(-(span or size) // self.lay.gpus_per_node)))

    def peak_dtype(self, peak: Peak) -> DType:
        if peak is Peak.KV_CACHE:
            return DType.FP8 if self.m.kv_cache.is_8bit_or_less else DType.BF16
        return self.m.expert_weights if peak is Peak.EXPERTS else self.m.weights

    def compute(self, r: Recipe, w: Work, kernels: tuple[Kernel, ...], requests: float = 0.0,
                fused: Kernel | None = None) -> OpTemplate:
        """A compute op's template; `requests`: the embedding's (`OpTemplate.requests`); `fused`: its engine kernel
        (`OpTemplate.fused`)."""
        out = float(_sum(w.out) if isinstance(w.out, np.ndarray) else w.out)
        return OpTemplate(kind=r.kind, group=None, group_size=1, tokens=w.tokens, flops=w.flops, hbm_bytes=w.hbm,
                          comm_bytes=self.zero, act_bytes=w.act, tokens_total=float(w.tokens_total),
                          flops_total=float(w.flops_total), hbm_bytes_total=float(_sum(w.hbm)), comm_bytes_total=0.0,
                          out_bytes_total=out, peak_dtype=self.peak_dtype(r.peak), kernels=kernels, fused=fused,
                          requests=requests)

    # ----------------------------------------------------------- kernels
    def vec(self, x: Figure) -> Vec:
        """`x` as a per-rank vector (read-only; a number's vector is made once per shape)."""
        if type(x) is float:                              # a number (the usual case): its vector made once
            hit = self._vecs.get(x)
            if hit is not None:
                return hit
            value = x
        elif isinstance(x, (int, float)):                 # np.float64 is a float
            value = float(x)
        elif isinstance(x, np.ndarray) and x.shape == self.zero.shape and x.dtype == np.float64:
            if not x.flags.writeable:                     # read-only already (a vector made here): itself
                return x
            view = x.view()
            view.setflags(write=False)
            return view
        elif np.ndim(x) == 0:
            value = float(x)
        else:
            return np.broadcast_to(np.asarray(x, dtype=np.float64), self.zero.shape)
        hit = self._vecs.get(value)
        if hit is None:
            hit = self._vecs[value] = _number_vec(self.zero.shape[0], value)
        return hit

    def kernel(self, name: str, cls: KernelClass, shape: tuple[Vec, ...], dtype: DType = DType.BF16,
               memory_op: str = "copy", launches: int = 1, one_pass: float = 1.0) -> Kernel:
        """A kernel of this shape's ops: eager in prefill (engines capture decode in CUDA graphs, not
        prefill). Every kernel of the catalogue is made here."""
        return Kernel(name, cls, shape, dtype, memory_op, launches, eager=self.eager, one_pass=one_pass)

    def gemm(self, name: str, m: Figure, n: float, k: float, dtype: DType | None = None) -> Kernel:
        return self.kernel(name, KernelClass.GEMM, (self.vec(m), self.vec(n), self.vec(k)), dtype or self.m.weights)

    def memory_pass(self, name: str, nbytes: Figure, op: str, launches: int = 1, one_pass: float = 1.0) -> Kernel:
        return self.kernel(name, KernelClass.MEMORY, (self.vec(nbytes),), memory_op=op, launches=launches,
                           one_pass=one_pass)

    def ffn_kernels(self, tokens: Vec, ffn_r: float, dtype: DType | None = None) -> tuple[Kernel, ...]:
        """A dense FFN on `tokens` rows with `ffn_r` intermediate columns per rank: the up (gate·up fused
        when gated) GEMM, the activation, the down GEMM (weights in `dtype`, by default the model's)."""
        d = self.d
        up_n = (d.gate - 1) * ffn_r
        act_bytes = (6 if d.gate == 3 else 4) * tokens * ffn_r
        return (self.gemm("gate_up" if d.gate == 3 else "up", tokens, up_n, d.h, dtype),
                self.memory_pass("activation", act_bytes, "silu_mul"),
                self.gemm("down", tokens, d.h, ffn_r, dtype))

    def residual_add(self, tokens: Vec) -> Kernel:
        """x + f(x): two reads and a write of the hidden state."""
        return self.memory_pass("residual_add", 3 * AB * tokens * self.d.h, "copy", REFERENCE["residual_add"])

    def comm(self, r: Recipe, n: int, tokens: Vec, nbytes: Vec, crosses: bool, nodes: int = 1) -> OpTemplate:
        return OpTemplate(kind=r.kind, group=r.group, group_size=n, tokens=tokens, flops=self.zero,
                          hbm_bytes=self.zero, comm_bytes=nbytes, act_bytes=nbytes, tokens_total=float(_sum(tokens)),
                          flops_total=0.0, hbm_bytes_total=0.0, comm_bytes_total=float(_sum(nbytes)),
                          out_bytes_total=float(_sum(nbytes)), crosses_nodes=crosses, nodes=nodes)

    def matmul(self, r: Recipe, p: Projection, tokens: Vec, distinct: float, kernels: tuple[Kernel, ...] | None = None,
               wb: float | None = None) -> OpTemplate:
        """A projection of `p.params_r` weights per rank (`wb` bytes each, by default the model's) on
        `tokens` rows (`distinct` of them over the ranks); by default one GEMM."""
        act = tokens * (p.in_w + p.out_w) * AB
        if kernels is None:
            kernels = (self.gemm(r.kind.value, tokens, p.params_r / p.in_w, p.in_w),)
        weights = p.params_r * (self.d.wb if wb is None else wb)
        return self.compute(r, Work(tokens, 2 * p.params_r * tokens, weights + act, act, distinct,
                                    p.flops_per_row * distinct, tokens * p.out_w * AB), kernels)

    @functools.cached_property
    def expert_origin(self) -> np.ndarray:
        """Distinct tokens entering each EP group (inside a TP group every rank holds all of them)."""
        lay = self.lay
        groups = self.u.reshape(-1, lay.ep * lay.etp)         # EP groups are consecutive local ranks
        return groups[:, 0] if experts_inside_tp(lay) else groups.sum(axis=1)

    @functools.cached_property
    def expert_tokens(self) -> tuple[np.ndarray, np.ndarray]:
        """Token-expert assignments per rank and distinct experts hit per rank."""
        lay, moe = self.lay, self.m.moe
        origin = self.expert_origin
        busiest = float(origin.max()) if origin.size else 0.0
        split = ExpertSplit(moe.experts, lay.ep, lay.redundant, ep_nodes(lay.ep, lay.etp, lay.gpus_per_node), lay.eplb,
                            moe.groups)
        x = busiest_rank_factor(self.w.routing, busiest, moe.top_k, split)
        factor = np.full(lay.ep, 1.0 if lay.ep == 1 else (lay.ep - x) / (lay.ep - 1))
        factor[0] = x if lay.ep > 1 else 1.0                  # ep index 0 is the busiest
        return self._expert_rows(factor)

    @functools.cached_property
    def expert_tokens_mean(self) -> tuple[np.ndarray, np.ndarray]:
        """`expert_tokens` with every rank of an EP group at the group's mean assignments, no routing
        statistics needed: the factors of `expert_tokens` average to one over an EP group, so its
        busiest rank has at least these rows (and the same experts hit)."""
        return self._expert_rows(np.ones(self.lay.ep))

    def _expert_rows(self, factor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Assignments and distinct experts hit per rank when EP index i takes `factor[i]` times its
        group's mean assignments."""
        lay, moe = self.lay, self.m.moe
        size = lay.ep * lay.etp
        origin = self.expert_origin
        mean = origin * moe.top_k / lay.ep                    # assignments per ep index
        ep_idx = (np.arange(size) // lay.etp) % lay.ep
        e = (mean[:, None] * factor[ep_idx][None, :]).reshape(-1)
        slots = moe.experts + lay.redundant                   # each slot read once it takes a row
        hit = np.repeat(expected_distinct_experts(slots, moe.top_k, origin, local=slots // lay.ep), size)
        return e, hit

