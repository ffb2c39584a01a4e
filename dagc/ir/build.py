"""Build the SPMD DAG of a checked plan (SPEC 5).

Input: a `Plan`'s model, cluster and workload, and a `Layout`. Output: a `Dag` with the
prefill (every micro-batch through every stage) and a two-step decode — in flight, a two-step
decode and two mixed steps, whose first micro-batch carries a prompt's chunk — for one
representative DP replica (the busiest one: ceil(batch/dp) requests).

The ops and their per-rank figures come from the op catalogue (`dagc.ir.ops`): numpy vectors
over the local ranks of a stage group, made once per op shape (`OpTemplate`) and shared by
every layer and stage with that shape, so building costs layers × micro-batches small Python
objects, independent of the GPU count.
"""

from __future__ import annotations

from collections.abc import Hashable

from ..layout.layout import Layout, rank_figures
from ..layout.speculative import draft_layer_dense, draft_model, draft_passes, without_speculation
from ..plan.engines import EngineTerms
from ..plan.model import Model
from ..plan.workload import Workload
from .dag import GROUP_BUDGET, NODE_BUDGET, At, Dag, DagTooLarge, Phase, StagePass, estimate_nodes, step_passes
from .ops import Op, OpShapes, layer_ops

__all__ = ["build"]


def build(model: Model, workload: Workload, layout: Layout, budget: int = NODE_BUDGET,
          engine: EngineTerms | None = None) -> Dag:
    """Build the prefill and two-step decode DAG of one representative replica. `engine`: the serving
    engine's terms, whose CUDA graphs pad a step's tokens or run it eagerly (`dagc.ir.op_shapes.graphed_tokens`).

    Example:
        >>> from dagc.verdict.check import load_plan_text
        >>> from dagc.layout.layout import resolve
        >>> from dagc.lang.flatten import flatten
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 16 gpu preset "h100-sxm" } '
        ...                    'workload { batch = 8 prompt = 128 generate = 8 } strategy pp 2 < tp 2 ; ep 8 >')
        >>> lay = resolve(p.model, p.cluster, p.workload, flatten(p.strategies[0])[0])
        >>> dag = build(p.model, p.workload, lay)
        >>> # (prefill + 2 decode steps) × 2 micro-batches × (32 layers × 11 ops + send, recv, embed,
        >>> # final norm, lm_head)
        >>> len(dag) == 3 * 2 * (32 * 11 + 5)
        True

    Raises:
        DagTooLarge: when the DAG would exceed `budget` nodes (`dagc.ir.dag.estimate_nodes`, an upper
            bound) or its stage group `dagc.ir.dag.GROUP_BUDGET` GPUs; nothing is built then, so no
            plan can make dagc build an unbounded graph.
    """
    _check_budget(layout, workload, budget)
    b = _Builder(model, workload, layout, engine)
    for phase, step in step_passes(workload):
        for j in range(layout.microbatches):
            b.microbatch_pass(phase, step, j)
    return b.dag


def _check_budget(layout: Layout, workload: Workload, budget: int) -> None:
    estimate = estimate_nodes(layout, workload)
    if estimate > budget:
        raise DagTooLarge(f"the DAG would have about {estimate:,} nodes, above the budget of {budget:,}")
    if layout.group_size > GROUP_BUDGET:
        raise DagTooLarge(f"a stage group of {layout.group_size:,} GPUs is above the budget of {GROUP_BUDGET:,} "
                          "for per-rank figures")


class _Builder:
    """Appends one micro-batch's pass through every stage at a time, in topological order."""

    def __init__(self, model: Model, workload: Workload, layout: Layout, engine: EngineTerms | None = None):
        self.model, self.workload, self.layout, self.engine = model, workload, layout, engine
        self.dims = layout.dims
        self.reqs = layout.requests()
        self.dag = Dag(layout.group_size, layout.pp, layout.dp, layout.microbatches)
        # by (phase, requests, offset in the node, last stage), or ("draft", requests, offset)
        self.shapes: dict[tuple[Hashable, ...], OpShapes] = {}
        self.layer_plans = {dense: layer_ops(layout, model, dense) for dense in (True, False)}
        self.lm_head_of: dict[tuple[Phase, int, int], int] = {}     # (phase, micro-batch, step) → its LM head

    def shape(self, phase: Phase, j: int, stage: int) -> OpShapes:
        lay = self.layout
        if phase is Phase.MIXED and j > 0:          # a mixed step's chunk rides in its first micro-batch
            phase = Phase.DECODE
        # Stages whose first rank sits at the same offset in a node have the same templates.
        key = (phase, tuple(self.reqs[j]), (stage * lay.group_size) % lay.gpus_per_node, stage == lay.pp - 1)
        if key not in self.shapes:
            at = StagePass(phase, self.reqs[j], stage)
            self.shapes[key] = OpShapes(self.model, self.workload, lay, self.dims, at, engine=self.engine)
        return self.shapes[key]

    def microbatch_pass(self, phase: Phase, step: int, j: int) -> None:
        dag, last_stage = self.dag, self.layout.pp - 1
        prev: list[int] = []
        for stage, (first_layer, end_layer) in enumerate(self.layout.stage_layers):
            s, at = self.shape(phase, j, stage), At(phase, step, stage, j)
            if stage == 0:
                # A second step starts from the token the first one produced.
                preds = [self.lm_head_of[(phase, j, 0)]] if step == 1 else []
                prev = [dag.add(s.get(Op.EMBED), at, -1, preds, pos=-1.0)]
            for layer in range(first_layer, end_layer):
                prev = self.layer(s, at, layer, prev)
            if stage == last_stage:
                layers = self.model.layers
                norm = dag.add(s.get(Op.FINAL_NORM), at, -1, prev, pos=layers + 0.1)
                head = dag.add(s.get(Op.LM_HEAD), at, -1, [norm], pos=layers + 0.2)
                if phase is not Phase.PREFILL:
                    head = self.draft(at, head)
                self.lm_head_of[(phase, j, step)] = head
            else:
                boundary = end_layer - 1 + 0.995
                send = dag.add(s.get(Op.SEND), at, -1, prev, pos=boundary)
                # The recv is the same transfer, seen from the receiving stage.
                recv = dag.add(s.get(Op.RECV), At(phase, step, stage + 1, j), -1, prev, pos=boundary)
                dag.tie(send, recv)
                prev = [recv]

    def draft(self, on: At, head: int) -> int:
        """Speculative decoding's draft passes after a decode step's LM head (`dagc.layout.speculative`):
        each a layer of the draft's kind (numbered after the model's, as the MTP module is) and the final
        norm and LM head, on one position per request; returns the last op."""
        passes = draft_passes(self.workload)
        if not passes:
            return head
        lay, dag, stage, j = self.layout, self.dag, on.stage, on.mb
        key = ("draft", tuple(self.reqs[j]), (stage * lay.group_size) % lay.gpus_per_node)
        drafted = draft_model(self.model, self.workload)        # EAGLE's: its own FFN, attention and LM head
        if key not in self.shapes:
            dims = self.dims if drafted is self.model else rank_figures(drafted, lay.tp, lay.cp, lay.sp)[1]
            self.shapes[key] = OpShapes(drafted, without_speculation(self.workload), lay, dims,
                                        StagePass(Phase.DECODE, self.reqs[j], stage), engine=self.engine)
        s = self.shapes[key]
        ops, outputs = layer_ops(lay, drafted, draft_layer_dense(self.model, self.workload))
        for p in range(passes):
            layer, at = self.model.layers + p, self.model.layers + 1 + p   # after the step's LM head (layers + 0.2)
            ids: list[int] = []
            for seq, lop in enumerate(ops):
                pred_ids = [x for q in lop.preds for x in ([head] if q < 0 else [ids[q]])]
                ids.append(dag.add(s.get(lop.op), on, layer, pred_ids, pos=at + seq / 100))
            norm = dag.add(s.get(Op.FINAL_NORM), on, -1, [ids[k] for k in outputs], pos=at + 0.91)
            head = dag.add(s.get(Op.LM_HEAD), on, -1, [norm], pos=at + 0.92)
        return head

    def layer(self, s: OpShapes, at: At, layer: int, prev: list[int]) -> list[int]:
        """Append one layer's ops after `prev`; returns the ops whose outputs leave the layer."""
        ops, outputs = self.layer_plans[not self.model.is_moe_layer(layer)]
        ids: list[int] = []
        add = self.dag.add
        for seq, lop in enumerate(ops):
            preds = lop.preds
            if len(preds) == 1:              # most ops: one predecessor, the op before or the layer's input
                pred_ids = list(prev) if preds[0] < 0 else [ids[preds[0]]]
            else:
                pred_ids = [x for p in preds for x in (prev if p < 0 else (ids[p],))]
            ids.append(add(s.get(lop.op), at, layer, pred_ids, pos=layer + seq / 100))
        return [ids[k] for k in outputs]
