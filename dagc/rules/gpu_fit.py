"""What a strategy that uses more GPUs than the cluster has (E401) could change to fit: the hint's degrees.

Input: the plan's model and GPUs and the strategy's layout. Output: `fit_hint`, the hint of E401 naming the
changes that fit, each of one kind — fewer replicas or stages (dp, pp) at the same stage group, or a smaller
stage group (tp, ep) at the same replicas and stages — with the GPUs each uses; each degree it names splits the
heads (tp: `kv_heads_fit`) or the experts and their redundant slots (ep) evenly, and keeps at most a stage per
layer (pp), so the rules that check those (E301, E302, E303) do not refuse it in turn.
"""

from __future__ import annotations

from ..layout.layout import Layout
from ..plan.model import Model
from ..plan.params import weight_bytes
from ..units import count_text, format_bytes
from .structure import tp_values

__all__ = ["fit_hint", "tp_within_node_hint"]

_G_RULE = "G = max(tp·cp, ep·etp), never their product"


def fit_hint(model: Model, gpus: int, lay: Layout, usable: float | None = None, where: str = "") -> str:
    """E401's hint: the changes that fit `gpus` (`_fewer_copies`, `_smaller_group`), then how G is counted; `where`
    says after the count whose GPUs they are (a disaggregated pool's: what the other pool leaves). With
    `usable`, the bytes a GPU holds less its reserve, a change whose replica's GPUs could not hold the model's weights
    even split evenly over them is not named: E402 would refuse it whatever its degrees (Qwen3-235B-A22B in bf16,
    `dp 2 < tp 8 ; ep 8 >` on 12 H100s, was told "a stage group of 4 at dp 2 — tp 4 ; ep 4", 109.5 GiB of weights a
    rank, until 2026-11-30).

    Example:
        >>> from types import SimpleNamespace as N
        >>> m = N(heads=32, kv_heads=4, attention=None, moe=N(experts=128), layers=48)      # Qwen3-30B-A3B's
        >>> lay = N(dp=1, pp=2, tp=4, cp=1, ep=8, etp=1, redundant=0, group_size=8, expert_domain_written=True)
        >>> fit_hint(m, 8, lay)       # doctest: +NORMALIZE_WHITESPACE
        'on 8 GPUs: pp 1 (1 × 1 × 8 GPUs), or a stage group of 4 at pp 2 — tp 4 ; ep 4 (1 × 2 × 4 GPUs);
         G = max(tp·cp, ep·etp), never their product'
    """
    found = [(w, replica) for w, replica in (_fewer_copies(model, gpus, lay), _smaller_group(model, gpus, lay)) if w]
    weights = weight_bytes(model) if usable is not None else 0.0
    ways = [w for w, replica in found if usable is None or weights <= replica * usable]
    if not ways and found:      # each would overflow a GPU with its weights alone
        return (f"on {count_text(gpus, 'GPU')}{where}, fewer replicas or a smaller stage group would not hold the "
                f"model's "
                f"{format_bytes(weights)} of weights ({format_bytes(usable or 0.0)} a GPU, its reserve "
                f"taken off): {'more stages a replica (pp), or ' if weights <= gpus * (usable or 0.0) else ''}"
                f"more GPUs; {_G_RULE}")
    if not ways:
        return f"lower dp or pp, or shrink the stage group; {_G_RULE}"
    return f"on {count_text(gpus, 'GPU')}{where}: " + ", or ".join(ways) + f"; {_G_RULE}"


def _fewer_copies(model: Model, gpus: int, lay: Layout) -> tuple[str | None, int]:
    """The replicas and stages (dp, pp) that fit beside the stage group as written, the most GPUs they use (dp
    lowered before pp on a tie: a replica is a copy, a stage a split of the layers), and a replica's GPUs; None when
    the stage group does not fit, or splits the heads or the experts unevenly (E301, E302: fewer copies would not mend
    it)."""
    g = lay.group_size
    if g > gpus or not _splits_evenly(model, lay):
        return None, 0
    stages = min(lay.pp, model.layers)          # never more stages than layers (E303)
    best = max(((dp, pp) for dp in range(1, lay.dp + 1) for pp in range(1, stages + 1) if dp * pp * g <= gpus),
               key=lambda d: (d[0] * d[1], d[1]))
    dp, pp = best
    said = []
    if dp != lay.dp:
        said.append(f"dp {dp}")
    if pp != lay.pp:
        said.append(f"pp {pp}")
    return f"{' and '.join(said)} ({_product_text(dp, pp, g)})", pp * g


def _product_text(dp: int, pp: int, group: int) -> str:
    """The GPUs a change uses as their product, its noun agreeing with it (`1 × 1 × 1 GPU`, `1 × 2 × 4 GPUs`): until
    2026-11-30 every count in E401's hint said `GPUs`, one included (`on 1 GPUs`)."""
    return f"{dp} × {pp} × {group} {'GPU' if dp * pp * group == 1 else 'GPUs'}"


def _splits_evenly(model: Model, lay: Layout) -> bool:
    """Whether the stage group as written splits the heads (tp) and the experts with their redundant slots (ep)."""
    if lay.tp not in tp_values(model):
        return False
    if not lay.expert_domain_written or model.moe is None:
        return True
    return (model.moe.experts + lay.redundant) % lay.ep == 0


def _smaller_group(model: Model, gpus: int, lay: Layout) -> tuple[str | None, int]:
    """The largest stage group that fits beside the replicas and stages as written — or, where not even a group of
    two does, beside one replica of one stage —, and its degrees: the largest tp that splits the heads and whose
    tp·cp fits, the largest ep that splits the experts and their redundant slots and whose ep·etp fits (etp lowered to
    1 when it alone does not), and a replica's GPUs; None when no group fits, the degrees found do not change the
    strategy, or the stages as written are more than the layers (E303: `pp 32 < ep 8 >` of 16 layers on 64 GPUs was
    told "a stage group of 2 at pp 32", which E303 refuses in turn, until 2026-11-29)."""
    dp, pp = (lay.dp, lay.pp) if gpus // (lay.dp * lay.pp) >= 2 else (1, 1)
    room = gpus // (dp * pp)
    if pp > model.layers or room < 1 or room >= lay.group_size or lay.cp > room:
        return None, 0
    tp = max((t for t in tp_values(model) if t <= lay.tp and t * lay.cp <= room), default=1)
    words = [f"tp {tp}" + (f" cp {lay.cp}" if lay.cp > 1 else "")]
    ep, etp = 1, 1
    if lay.expert_domain_written and model.moe is not None:
        slots = model.moe.experts + lay.redundant
        etp = lay.etp if lay.etp <= room else 1
        ep = max((e for e in range(1, min(lay.ep, room // etp) + 1) if slots % e == 0), default=1)
        words.append(f"ep {ep}" + (f" etp {etp}" if etp > 1 else ""))
    group = max(tp * lay.cp, ep * etp)
    if (tp, ep, etp) == (lay.tp, lay.ep, lay.etp) or group > room:
        return None, 0
    at = _copies_text(dp, pp, lay)
    return (f"a stage group of {group}{f' at {at}' if at else ''} — {' ; '.join(words)} "
            f"({_product_text(dp, pp, group)})",
            pp * group)


def _copies_text(dp: int, pp: int, lay: Layout) -> str:
    """The replicas and stages a smaller group keeps, for the hint: `pp 2`, `dp 2 and pp 4`; those lowered to one
    named (`pp 1`); nothing when the strategy writes neither."""
    said = []
    if dp > 1 or lay.dp > 1:
        said.append(f"dp {dp}")
    if pp > 1 or lay.pp > 1:
        said.append(f"pp {pp}")
    return " and ".join(said)


def tp_within_node_hint(node: int) -> str:
    """W502's hint: a tp that divides a node's GPUs keeps every group inside one (`tp 4` on nodes of 6 straddles them:
    until 2026-12-03 hinted "keep tp ≤ 6").

    Example:
        >>> tp_within_node_hint(6)
        'use a tp that divides the 6 GPUs of a node (1, 2, 3 or 6) and pp or ep across nodes'
    """
    divisors = [d for d in range(1, node + 1) if node % d == 0]
    said = ", ".join(map(str, divisors[:-1])) + f" or {divisors[-1]}" if len(divisors) > 1 else str(divisors[0])
    return f"use a tp that divides the {node} GPUs of a node ({said}) and pp or ep across nodes"
