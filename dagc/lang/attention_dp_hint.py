"""E101's hint for attention data parallelism written as an axis of its own — `adp 4 ; ep 4`, as docs/language.md
writes its degree (`adp = G / (tp·cp)`), or as SGLang, vLLM and TensorRT-LLM call it (`dp-attention 4`, `attn_dp`,
`attention_dp`, `dpa`): it is no axis, but what the stage group leaves over the attention domain, so the stage is
written without it, the expert domain setting the group — `tp 1 ; ep 4`, four attention-DP ranks of one GPU. Until
2026-12-02 such a stage was told the list of axes (`axes are dp (data), pp (pipeline), …`).

Input: the unknown axis and the stage's domains as written. Output: the hint, or None for another name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..plan.strategy import AxisNode

__all__ = ["attention_dp_hint"]

# attention data parallelism in the words of dagc's docs and the engines' flags, lowered, without `-`, `_`, `.`
_NAMES = re.compile(r"adp|dpa|a?dp(?:attn|attention)|(?:attn|attention)dp|attentiondataparallel(?:ism)?|"
                    r"dataparallelattention|enabledpattention")
_ATTENTION, _EXPERT = ("tp", "cp", "sp"), ("ep", "etp")


def _degree(axes: Sequence[AxisNode], name: str) -> int | None:
    """The whole degree of `name` among `axes`: 1 when it is not written, None when it is written without a whole
    degree of at least 1 (its own error says so)."""
    found = next((a for a in axes if a.name == name), None)
    if found is None:
        return 1
    d = found.degree
    return int(d) if d is not None and d >= 1 and d == int(d) and d <= 2**20 else None


def attention_dp_hint(a: AxisNode, stage: Sequence[Sequence[AxisNode]]) -> str | None:
    """The hint for `a`, an unknown axis in the stage `stage`, when it names attention data parallelism (module
    docstring); None otherwise.

    Example:
        >>> from dagc.lang.load import parse_strategy
        >>> def hint(text):
        ...     scope = parse_strategy(text).scope
        ...     return attention_dp_hint(next(a for d in scope for a in d if a.name not in ("tp", "ep")), scope)
        >>> hint("adp 4 ; ep 4")[-71:]
        'the stage is `tp 1 ; ep 4` (4 GPUs: 4 attention-DP ranks of 1 GPU each)'
        >>> hint("tp 2 dp-attention 4 ; ep 8")[-72:]
        'the stage is `tp 2 ; ep 8` (8 GPUs: 4 attention-DP ranks of 2 GPUs each)'
    """
    if _NAMES.fullmatch(re.sub(r"[-_.]", "", a.name.lower())) is None:
        return None
    said = ("attention data parallelism is no axis of its own: it is what the stage group leaves over the attention "
            f"domain, adp = G / (tp·cp) with G = max(tp·cp, ep·etp); without `{a.name}`")
    axes = [x for d in stage for x in d if x is not a]
    names = [x.name for x in axes]
    if any(n not in (*_ATTENTION, *_EXPERT) for n in names) or len(set(names)) != len(names):
        return said + " a stage of 8 GPUs, `tp 1 ; ep 8`, has 8 attention-DP ranks of 1 GPU each"
    degrees = [_degree(axes, n) for n in ("tp", "cp", "ep", "etp")]
    ranks = int(a.degree) if a.degree is not None and a.degree >= 1 and a.degree == int(a.degree) else None
    if ranks is None or None in degrees:
        return said + " a stage of 8 GPUs, `tp 1 ; ep 8`, has 8 attention-DP ranks of 1 GPU each"
    tp, cp, ep, etp = (d or 1 for d in degrees)
    group = ranks * tp * cp
    attention = " ".join(f"{x.name} {x.degree:g}" if x.degree is not None else x.name
                         for x in axes if x.name in _ATTENTION) or "tp 1"
    if "ep" not in names and "etp" not in names:
        experts = f"ep {group}"                  # the experts spread over the whole group, as DP attention serves them
    elif ep * etp == group:
        experts = " ".join(f"{x.name} {x.degree:g}" for x in axes if x.name in _EXPERT)
    else:
        return (said + f", {ranks} attention-DP ranks of {tp * cp} GPU{'s' if tp * cp > 1 else ''} are a stage "
                f"group of {group} GPUs, which the expert domain (ep·etp = {ep * etp}) must fill: e.g. "
                f"`{attention} ; ep {group}`")
    return (said + f" the stage is `{attention} ; {experts}` ({group} GPUs: {ranks} attention-DP ranks of "
            f"{tp * cp} GPU{'s' if tp * cp > 1 else ''} each)")
