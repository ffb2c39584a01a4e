"""SGLang's data-parallel attention written as its flags, for E001's and E101's hints (`dagc.lang.strategy_slips`):
`--tp-size 16 --attn-dp-size 4 --ep-size 16`, as `dagc launch --engine sglang` writes `tp 4 ; ep 16`, or the older
`--tp-size 16 --dp-size 4 --enable-dp-attention --ep-size 16`. SGLang's `--tp-size N` is every GPU of the server;
with `A` attention-DP ranks each attends with tensor parallelism N / A (dagc's `tp`), and its MoE runs over all N:
`--ep-size E` experts' shares, each split N / E ways (`ep E etp N/E`), without it split N ways (`etp N`). Until
2026-11-30 such a strategy got "remove it" — dagc's own SGLang command, pasted back, among them.

Input: a strategy expression as written. Output: dagc's stage for it (`tp 4 ; ep 16`), or None when it is not
SGLang's DP attention in flags, or its sizes do not divide.
"""

from __future__ import annotations

import re

__all__ = ["dp_attention_stage"]

# SGLang's switch of DP attention (`--enable-dp-attention`): `--dp-size` then counts attention-DP ranks
_SWITCH = re.compile(r"(?<![A-Za-z0-9_-])-{0,2}enable[-_]dp[-_]attention(?![A-Za-z0-9_-])", re.IGNORECASE)
# a flag and its size, apart by spaces or `=` (`--tp-size 16`, `--tp 16`, `tp_size=16`)
_FLAG = re.compile(r"(?<![\w-])-{0,2}(?P<flag>[A-Za-z][A-Za-z_-]*?)[ \t]*[= \t][ \t]*(?P<n>[0-9]+)(?![0-9])")
_NAMES = {**dict.fromkeys(("tp", "tpsize", "tensorparallelsize"), "tp"),
          **dict.fromkeys(("ep", "epsize", "expertparallelsize"), "ep"),
          **dict.fromkeys(("dp", "dpsize", "dataparallelsize"), "dp"), "attndpsize": "adp"}


def dp_attention_stage(expression: str) -> str | None:
    """dagc's stage for SGLang's DP attention in flags; None for anything else.

    Example:
        >>> dp_attention_stage("--tp-size 16 --attn-dp-size 4 --ep-size 16")
        'tp 4 ; ep 16'
        >>> dp_attention_stage("--tp 8 --dp 8 --enable-dp-attention"), dp_attention_stage("--tp 8 --dp 2 --ep 4")
        ('tp 1 ; etp 8', None)
    """
    switched = _SWITCH.search(expression) is not None
    rest = _SWITCH.sub(" ", expression)
    sizes: dict[str, int] = {}
    end = 0
    for m in _FLAG.finditer(rest):
        key = _NAMES.get(re.sub(r"[-_]", "", m["flag"].lower()))
        if rest[end:m.start()].strip() or key is None or key in sizes:
            return None
        sizes[key], end = int(m["n"]), m.end()
    ranks = sizes.get("adp") if "dp" not in sizes else sizes["dp"] if switched and "adp" not in sizes else None
    n, e = sizes.get("tp", 0), sizes.get("ep", 1)
    if rest[end:].strip() or not ranks or not n or n % ranks or not e or n % e:
        return None
    experts = f"ep {e}" + (f" etp {n // e}" if n > e else "") if e > 1 else f"etp {n}"
    return f"tp {n // ranks} ; {experts}"
