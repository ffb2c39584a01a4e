"""A strategy written the way other tools write parallel degrees, for E001's and E101's hints: `tp=8`,
`tp 8, ep 16`, `TP=1 + EP=16`, `tp 8 x ep 2`, `TP8EP2`, `pp 2 < tp 4, ep 8 >`, `TP2-EP4-PP2-DP2`, an engine's flags
(`--tp-size 16 --ep-size 16`, `tensor_parallel_size 8`: `_ENGINE_AXES`). The parser stops
at the `=`'s number, the `,` or the `+` (the lowering at the axis `x`, or at a hyphenated word), where its own hint
can only say what a strategy is in general ("remove it" would leave `tp 8 ep 16`, E202); read leniently — each axis
by its name in any case, its degree after a space, `=` or `:`, right after the name or after a hyphen (`EP-16`), the
axes apart by spaces, `,`, `+`, `*`, `&`, `|`, `/`, `×`, `x` (also glued, `EP16xTP4`), a dash or a hyphen, `;` or
the scope's `<` `>` — the statement names its axes and degrees, and the hint writes them as dagc reads them: `tp 8 ;
ep 16`, dp and pp enclosing the stage in `< >`."""

from __future__ import annotations

import bisect
import functools
import re

from ..source import SourceFile
from .dp_attention import dp_attention_stage

__all__ = ["rewrite_hint", "split_leaves_it_wrong", "strategy_hint", "strategy_rewrite"]

_AXIS_ORDER = ("dp", "pp", "tp", "cp", "sp", "ep", "etp")   # the canonical order, outer to inner, attention first
# an axis and its degree: apart by spaces, `=` or `:`, glued, or joined by a hyphen right after the axis (`EP-16`)
_PAIR = re.compile(r"(?<![A-Za-z_])(?P<axis>[A-Za-z]+)(?:(?:[ \t]*[=:]?[ \t]*|-)(?P<degree>[0-9]+))?(?![0-9_])")
_SEPARATORS = re.compile(r"[\s,;+*&|/×—–<>()-]*")      # `(pp 2) tp 4 ; ep 16`, `pp 2 > tp 4 ; ep 16` too
_BY = "x"          # `tp 8 x ep 2`: a word between axes, read as a separator
_GLUED_BY = re.compile(r"(?<=[0-9])[xX](?=[A-Za-z])")       # `EP16xTP4xPP1`: the `x` glued between a degree and an axis
# An engine's flag for a parallel degree (ENGINES.md), without case, dashes or underscores → dagc's axis: SGLang's
# `--tp-size N` is the stage's GPUs and `--ep-size E` the experts' share of them (`tp N ; ep E`), vLLM's and
# TensorRT-LLM's tensor and pipeline sizes are dagc's, Megatron-Core's `--…-model-parallel-size` too. Not the data
# parallel sizes: vLLM's `--data-parallel-size` with experts is attention DP inside a stage, SGLang's `--dp-size`
# whole replicas, so a rewrite would pick one meaning.
_ENGINE_AXES = {**{w: "tp" for w in ("tpsize", "tensorparallelsize", "tensormodelparallelsize")},
                **{w: "pp" for w in ("ppsize", "pipelineparallelsize", "pipelinemodelparallelsize")},
                **{w: "ep" for w in ("epsize", "expertparallelsize", "expertmodelparallelsize")},
                **{w: "cp" for w in ("cpsize", "contextparallelsize")},
                **{w: "etp" for w in ("experttensorparallelsize", "moetpsize", "moetensorparallelsize")}}
_DATA_FLAGS = ("dpsize", "dataparallelsize")      # counted differently by each engine (`data_parallel_hint`)
# an engine's switch that spreads the experts over the tensor-parallel GPUs, no degree of its own: vLLM's
# `--enable-expert-parallel` (EP = TP × DP; without a DP size, `tp N ; ep N`) and SGLang's `--enable-ep-moe` (its
# `ep_size` = `tp_size`)
_EXPERT_SWITCH = re.compile(r"(?<![A-Za-z0-9_-])-{0,2}enable[-_](?:expert[-_]parallel|ep[-_]moe)(?![A-Za-z0-9_-])",
                            re.IGNORECASE)
_FLAG = re.compile(r"(?<![A-Za-z0-9_])-{0,2}(?P<word>[A-Za-z]+(?:[-_][A-Za-z]+)+)(?![A-Za-z0-9_])")
_GLUED = re.compile(r"(?<![A-Za-z_])([A-Za-z]+?)([0-9]+)(?![A-Za-z0-9_])")    # `tp8`: an axis glued to its degree
_NAMED = re.compile(r"[ \t]*(?P<name>[A-Za-z_][A-Za-z0-9_\-]*)[ \t]*=[ \t]*")     # `fast = …`: a strategy's name
_STATEMENT = re.compile(r"^[ \t]*(?P<kw>model|cluster|workload|require|strategy|objective|fleet|calibration)\b",
                        re.MULTILINE)


# the hints that say what may stand somewhere in general, which a strategy in another tool's spelling gets in place
_GENERAL = {"docs/language.md describes what may stand here",
            "remove it; docs/language.md describes what may stand here",
            "`<` opens the scope of dp or pp and `>` closes it: `pp 4 < tp 2 >`",
            "a strategy axis is a name followed by its degree, e.g. `tp 4`", "fields are written `name = value`"}


def strategy_hint(src: SourceFile, at: int, hint: str) -> str:
    """E001's `hint` at `at`, or, when it is a general one and the strategy there is written as other tools write
    degrees (`tp=8`, `tp 8, ep 16`), dagc's text of that strategy (or an engine's data-parallel size's readings,
    `data_parallel_hint`); a specific hint (`;;`'s) is kept."""
    return (rewrite_hint(src, at) or data_parallel_hint(src, at) if hint in _GENERAL else None) or hint


def data_parallel_hint(src: SourceFile, at: int) -> str | None:
    """The strategy holding `at` written with an engine's data-parallel size (`--data-parallel-size 4
    --tensor-parallel-size 2`), which vLLM and SGLang count differently: both readings in dagc's axes, for the user
    to pick; None without one, or when its axes do not read.

    Example:
        >>> data_parallel_hint(SourceFile("--strategy", "--tp-size 4 --dp-size 2"), 0)[:50]
        'an engine counts a data-parallel size its own way:'
    """
    bounds = _expression(src, at)
    return None if bounds is None else _data_parallel_at(src.text, bounds[0], bounds[1])


@functools.lru_cache(maxsize=64)        # each unknown axis of one strategy asks again: its expression is read once
def _data_parallel_at(whole: str, start: int, end: int) -> str | None:
    text = whole[start:end].split("#", 1)[0].partition(" with ")[0]
    text = _EXPERT_SWITCH.sub(" ", text)
    dp = [False]

    def word(m: re.Match[str]) -> str:
        if re.sub(r"[-_]", "", m["word"].lower()) in _DATA_FLAGS:
            dp[0] = True
            return "dp"
        return _engine_axis(m["word"]) or m[0]
    degrees = _read(_FLAG.sub(word, text))
    if not dp[0] or degrees is None or set(degrees) - {"dp", "tp", "pp", "ep"}:
        return None
    d, t, p = (int(degrees.get(a) or "1") for a in ("dp", "tp", "pp"))
    e = int(degrees.get("ep") or "1")

    def staged(stage: str) -> str:
        return f"pp {p} < {stage} >" if "pp" in degrees else stage
    vllm, sglang = staged(f"tp {t} ; ep {d * t}"), f"dp {d} < {staged(f'tp {t}' + (f' ; ep {e}' if e > 1 else ''))} >"
    return (f"an engine counts a data-parallel size its own way: vLLM's with `--enable-expert-parallel` is attention "
            f"DP inside the stage, `{vllm}` ({p * d * t} GPUs); SGLang's `--dp-size` whole replicas, `{sglang}` "
            f"({d * p * max(t, e)} GPUs); write the one you mean in dagc's axes (docs/launch.md gives each engine's "
            "flags for a strategy)")


def rewrite_hint(src: SourceFile, at: int) -> str | None:
    """"did you mean …?" with dagc's text of the strategy holding `at` (`strategy_rewrite`), None without one; where
    its DP size times its TP is its EP (`TP2-EP4-PP2-DP2`), also the reading of that DP as attention data parallelism
    inside each stage, as vLLM counts a DP size beside its experts (`attention_dp_reading`)."""
    read = _rewritten(src, at)
    if read is None:
        return None
    rewrite, degrees = read
    return (f"did you mean `{rewrite}`? each axis then its degree, a space apart; the attention axes and the expert "
            f"axes apart by `;`; dp and pp around them in `< >`{attention_dp_reading(degrees)}")


def attention_dp_reading(degrees: dict[str, str]) -> str:
    """The other reading of a DP size whose product with the TP size is the EP size (ENGINES.md: vLLM's
    `--data-parallel-size` with `--enable-expert-parallel` is attention DP inside the stage, EP = DP × TP): "" when
    the degrees have other axes, or no such DP.

    Example:
        >>> attention_dp_reading({"tp": "2", "ep": "4", "pp": "2", "dp": "2"}).split("EP = DP × TP), ")[1]
        '`pp 2 < tp 2 ; ep 4 >`: 8 GPUs, not 16'
        >>> attention_dp_reading({"tp": "4", "ep": "4", "dp": "2"})
        ''
    """
    if set(degrees) - {"dp", "pp", "tp", "ep"} or not {"dp", "ep"} <= set(degrees):
        return ""
    d, t, p, e = (int(degrees.get(a) or "1") for a in ("dp", "tp", "pp", "ep"))
    if d < 2 or e != d * t:
        return ""
    stage = f"tp {t} ; ep {e}"
    inside = f"pp {p} < {stage} >" if "pp" in degrees else stage
    return (f"; or, if DP is attention data parallelism inside each stage (as vLLM counts a DP size beside its "
            f"experts, EP = DP × TP), `{inside}`: {p * e:,} GPUs, not {d * p * e:,}")


def strategy_rewrite(src: SourceFile, at: int) -> str | None:
    """The strategy the statement holding position `at` means, in dagc's own text, when its expression —
    up to a `with` — is axes and degrees apart by the separators other tools use; None when `at` is not in a
    strategy, or the expression holds anything else (a scope `<`, a split `[`, an unknown word, an axis twice).

    Example:
        >>> from dagc.source import SourceFile
        >>> src = SourceFile("p.moe", "strategy tp=1, ep=16 with overlap none")
        >>> strategy_rewrite(src, 12), strategy_rewrite(SourceFile("--strategy", "fast = dp 2, TP 4"), 11)
        ('tp 1 ; ep 16 with overlap none', 'fast = dp 2 < tp 4 >')
        >>> [strategy_rewrite(SourceFile("--strategy", s), 0) for s in ("tp 8 x ep 2", "TP8EP2", "pp 2 < tp 4, ep 8 >")]
        ['tp 8 ; ep 2', 'tp 8 ; ep 2', 'pp 2 < tp 4 ; ep 8 >']
    """
    read = _rewritten(src, at)
    return None if read is None else read[0]


def _rewritten(src: SourceFile, at: int) -> tuple[str, dict[str, str]] | None:
    """`strategy_rewrite`'s text and the degrees it read."""
    bounds = _expression(src, at)
    return None if bounds is None else _rewritten_at(src.text, *bounds)


@functools.lru_cache(maxsize=64)        # each unknown axis of one strategy asks again: its expression is read once
def _rewritten_at(whole: str, start: int, end: int, name: str) -> tuple[str, dict[str, str]] | None:
    text = whole[start:end].split("#", 1)[0]
    expression, with_, options = text.partition(" with ")
    options = " ".join(options.replace(">", " ").split())    # written inside a scope: its `>`s close the stage below
    tail = f" with {options}" if with_ and options else ""
    if (attention_dp := dp_attention_stage(expression)) is not None:    # SGLang's DP attention, in its flags
        return name + attention_dp + tail, {}
    switched = _EXPERT_SWITCH.sub(" ", expression)
    degrees = _read(_FLAG.sub(lambda m: _engine_axis(m["word"]) or m[0], switched))
    if degrees is None or (switched != expression and not _experts_switched(degrees)):
        return None
    stage = " ; ".join(d for d in (_domain(degrees, ("tp", "cp", "sp")), _domain(degrees, ("ep", "etp"))) if d)
    if not stage:
        return None
    for outer in ("pp", "dp"):
        if outer in degrees:
            stage = f"{outer} {degrees[outer]} < {stage} >"
    if stage == " ".join(expression.split()):
        return None                             # read as written: the parser stopped at something else
    return name + stage + tail, degrees


def _experts_switched(degrees: dict[str, str]) -> bool:
    """Whether an engine's expert switch (`_EXPERT_SWITCH`) reads in dagc's axes: the experts then spread over the
    tensor-parallel GPUs (`ep` = `tp`, set here unless written), which needs a `tp` and no data-parallel size (whose
    engines count it differently: `data_parallel_hint`)."""
    if "tp" not in degrees or "dp" in degrees:
        return False
    degrees.setdefault("ep", degrees["tp"])
    return True


def split_leaves_it_wrong(src: SourceFile, at: int) -> bool:
    """Whether the strategy holding `at` needs more than its glued axes split from their degrees (`tp8` → `tp 8`)
    to read: `tp2 ep2` split is `tp 2 ep 2`, E202 — its rewrite `tp 2 ; ep 2` is the hint; `tp 2 ; ep4` split reads.

    Example:
        >>> [split_leaves_it_wrong(SourceFile("--strategy", s), 0) for s in ("tp2 ep2", "tp 2 ; ep4", "tp8")]
        [True, False, False]
    """
    bounds = _expression(src, at)
    return bounds is not None and _split_differs(src.text, *bounds)


@functools.lru_cache(maxsize=64)
def _split_differs(whole: str, start: int, end: int, name: str) -> bool:
    read = _rewritten_at(whole, start, end, name)
    if read is None:
        return False
    text = whole[start:end].split("#", 1)[0]
    return name + " ".join(_GLUED.sub(lambda m: f"{m[1].lower()} {m[2]}", text).split()) != read[0]


def _expression(src: SourceFile, at: int) -> tuple[int, int, str] | None:
    """Where the strategy expression holding `at` begins and ends — after `strategy` and its name (a name that
    is no axis, `fast =`), up to the next statement; the whole text of a `--strategy` — and the name as dagc
    prints it (`fast = `, or ""). None outside a strategy."""
    if src.path == "--strategy":
        start, end = 0, len(src.text)
    else:
        starts, ends, words = _statements(src.text)
        k = bisect.bisect_right(starts, at)          # the statements before `at` (their keywords' starts)
        if k == 0 or words[k - 1] != "strategy":
            return None
        start, end = ends[k - 1], starts[k] if k < len(starts) else len(src.text)
    named = _NAMED.match(src.text, start, end)
    if named is not None and named["name"].lower() not in _AXIS_ORDER and _engine_axis(named["name"]) is None:
        return named.end(), end, f"{named['name']} = "
    return start, end, ""


@functools.lru_cache(maxsize=8)
def _statements(text: str) -> tuple[list[int], list[int], list[str]]:
    """Where each statement of a plan's `text` begins, where its keyword ends, and the keyword (`_STATEMENT`): found
    once a text, not again for each axis a hint is asked of (until 2026-11-30, time N² for N unknown axes)."""
    found = list(_STATEMENT.finditer(text))
    return [m.start() for m in found], [m.end() for m in found], [m["kw"] for m in found]


def _engine_axis(word: str) -> str | None:
    """dagc's axis for an engine's flag of a parallel degree (`tp-size`, `tensor_parallel_size`), None for any other
    word."""
    return _ENGINE_AXES.get(re.sub(r"[-_]", "", word.lower()))


def _read(expression: str) -> dict[str, str] | None:
    """Each axis's degree (`sp` a flag, ""), when the expression is nothing but axes, their degrees and
    separators, each axis once and written with something another tool would write; else None."""
    degrees: dict[str, str] = {}
    last = 0
    expression = _GLUED_BY.sub(" x ", expression)       # `EP16xTP4`: the `x` read as `tp 8 x ep 2`'s
    for m in _PAIR.finditer(expression):
        axis = m["axis"].lower()
        between = expression[last:m.start()]
        if axis == _BY and m["degree"] is None and degrees and _SEPARATORS.fullmatch(between) is not None:
            last = m.end()
            continue
        if _SEPARATORS.fullmatch(between) is None or axis in degrees or axis not in _AXIS_ORDER \
                or (m["degree"] is None) != (axis == "sp"):
            return None
        degrees[axis] = m["degree"] or ""
        last = m.end()
    if not degrees or _SEPARATORS.fullmatch(expression[last:]) is None:
        return None
    return degrees


def _domain(degrees: dict[str, str], axes: tuple[str, ...]) -> str:
    return " ".join(f"{a} {degrees[a]}".rstrip() for a in axes if a in degrees)
