"""The `require` statement: each `name op value` line → a `Requirement`.

Input: the lines as written (`WrittenRequirement`, from the parse tree) and the `Collector` of the plan's
diagnostics. Output: the `Requirement`s, SI targets, or located diagnostics: an unknown name (E101, with
the nearest; for a percentile, the ones dagc reports), a latency judged only on the simulated load
written without its percentile (E101), the same name and operator twice (E104), a value in the wrong
dimension (E102), a memory requirement of 0 or less (E104: a GPU holding nothing runs nothing; one that
leaves nothing beyond the runtime's reserve is W527, judged on the cluster). Whether the workload sends the
traffic a load requirement needs is checked once the plan is whole (`dagc.lang.lower`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lark import Token

from ..plan.workload import PERCENTILE_KINDS, Requirement, RequirementKind
from ..source import Span
from ..units import Dimension, lookup
from .blocks import Bad, Collector, Value, ValueKind, read_value, unit_dimension
from .fields import (
    LOAD_ONLY,
    REQUIREMENT_DIMENSIONS,
    REQUIREMENT_NAMES,
    Field,
    did_you_mean,
    nearest,
    requirement_name,
    set_path,
)
from .unit_slips import token_rate_hint

__all__ = ["MEMORY_FLOOR", "WrittenRequirement", "lower_requirements", "percentile_hint"]
_NUMBER = re.compile(r"[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][+-]?[0-9]+)?")
_PER_GPU = re.compile(r"\s*(?:/|per\s*)gpu\Z", re.IGNORECASE)       # `GB/gpu`, `GiB/GPU`: the memory of each GPU

MEMORY_FLOOR = 1e-9        # the least share of a GPU a memory requirement may write (`memory <= 0 %` is E104)


@dataclass(frozen=True)
class WrittenRequirement:
    """`name op value` inside `require { … }`, as written."""

    name: Token
    op: Token
    value: Value
    span: Span
    name_span: Span


def lower_requirements(out: Collector, written: list[WrittenRequirement]) -> tuple[Requirement, ...]:
    """The requirements of the lines `written`, each checked (module docstring)."""
    lowered = []
    seen: set[tuple[str, str]] = set()
    for req in written:
        name = str(req.name)
        named = requirement_name(name)
        if named is None:
            base = name.rpartition("_p")[0]
            out.error("E101", f"unknown requirement `{name}`", req.name_span, _latency_hint(req) or _memory_hint(
                req) or _benchmark_hint(req) or percentile_hint(name) or _communication_hint(name) or (
                f"dagc reports the percentiles 50, 90, 95 and 99: `{base}_p50` … `{base}_p99`"
                if base in PERCENTILE_KINDS else _field_hint(req) or did_you_mean(name, REQUIREMENT_NAMES)))
            continue
        kind, percentile = named
        if kind in LOAD_ONLY and percentile is None and kind is not RequirementKind.GOODPUT:
            out.error("E101", f"`{name}` is judged on the simulated load's percentiles", req.name_span,
                      f"write `{name}_p50`, `{name}_p90`, `{name}_p95` or `{name}_p99`")
            continue
        if (name, str(req.op)) in seen:
            out.error("E104", f"`{name} {req.op}` is required twice", req.span, "keep one of the two lines")
            continue
        seen.add((name, str(req.op)))
        one = _requirement(out, kind, req, percentile)
        if one is not None:
            lowered.append(one)
    return tuple(lowered)


def _latency_hint(req: WrittenRequirement) -> str | None:
    """`latency <= 50 ms` (seed 004's "Latency: 50ms"): the requirements a latency may be, its value kept; of a
    percentile (`latency_p99`, `p99_latency`: until 2026-11-30 the list of every requirement), that percentile's."""
    m = re.fullmatch(r"latency(?:[-_ ]?p(50|90|95|99))?|p(50|90|95|99)[-_ ]?latency", str(req.name).lower())
    if m is None:
        return None
    rhs = f"{req.op} " + " ".join(" ".join(str(t).split()) for t in req.value.tokens)
    n = m.group(1) or m.group(2)
    if n is not None:
        return (f"`{req.name}` is not one of dagc's requirements: between two tokens of a request it is "
                f"`tpot_p{n} {rhs}`, to the first token `ttft_p{n} {rhs}`, a request's whole time `e2e_p{n} {rhs}`")
    return (f"`{req.name}` is not one of dagc's requirements: between two tokens of a request it is `tpot {rhs}`, "
            f"to the first token `ttft {rhs}`, a request's whole time under traffic `e2e_p50 {rhs}` (or another "
            "percentile)")


def _field_hint(req: WrittenRequirement) -> str | None:
    """A block's field written as a requirement (`batch <= 64`, `prompt >= 1024`): the field, in its block; None for a
    name that is a slip of a requirement's (`tffts`) or no field (until 2026-11-30 the list of every requirement)."""
    name = str(req.name)
    path = set_path(name) if nearest(name, REQUIREMENT_NAMES) is None else None
    if path is None:
        return None
    value = " ".join(" ".join(str(t).split()) for t in req.value.tokens)
    block = " { … } ".join(path.split(".")[:-1]) + " { … }"
    return f"`{name}` is a field of `{block}`, not a requirement: write `{name} = {value}` there"


# a throughput as serving benchmarks name it (`vllm bench serve`'s and SGLang's `output_throughput`,
# `total_token_throughput`, `request_throughput`; AIPerf's `output_token_throughput`) → dagc's requirement
_BENCHMARK_NAMES = {
    **dict.fromkeys(("outputthroughput", "outputtokenthroughput", "outputtokenspers", "outputtokenspersecond",
                     "generationthroughput", "outputtps", "decodetps"), "decode_throughput"),
    **dict.fromkeys(("totaltokenthroughput", "totalthroughput", "totaltokenspers", "tokenthroughput"), "throughput"),
    **dict.fromkeys(("inputthroughput", "inputtokenthroughput", "prefilltps"), "prefill_throughput"),
    **dict.fromkeys(("requestthroughput", "requestgoodput", "requestspers", "requestspersecond"), "goodput"),
}
# one request's rate of tokens (AIPerf's `output_token_throughput_per_user`, "tokens/s per user"): 1 / its TPOT
_PER_USER = re.compile(r"(?:output)?(?:tokens?|tps|throughput)(?:pers(?:econd)?)?peruser|(?:output)?tokenthroughput"
                       r"peruser|tokensperuser|interactivity")


def _benchmark_hint(req: WrittenRequirement) -> str | None:
    """A throughput named as a serving benchmark's results name it (`output_throughput >= 1000 tokens/s`): dagc's
    requirement of that quantity, its value kept; a request's rate of tokens (`tokens_per_user >= 30 tokens/s`): the
    TPOT it is (`tpot <= 33.33 ms`); None for another name (until 2026-12-02 the list of every requirement)."""
    flat = re.sub(r"[-_ .]", "", str(req.name).lower())
    rhs = " ".join(" ".join(str(t).split()) for t in req.value.tokens)
    if _PER_USER.fullmatch(flat):
        number = _NUMBER.match(rhs)
        unit = rhs[number.end():].strip() if number is not None else ""
        said = token_rate_hint(f"{number[0]} {unit or 'tokens/s'}", unit or "tokens/s", Dimension.TIME, "tpot <=") \
            if number is not None else None
        if said is not None and "; write `" in said:        # the TPOT of the rate written (a bare number: tokens/s)
            write = said.partition("; ")[2] + ("" if unit else f" ({rhs} read as tokens/s)")
        else:
            write = "write `tpot <= 33.33 ms` for 30 tokens/s a request"
        return f"`{req.name}` is one request's rate of tokens, the inverse of its TPOT, which dagc bounds: {write}"
    name = _BENCHMARK_NAMES.get(flat)
    if name is None:
        return None
    if name == "goodput":       # a floor, as each of these: `--set` writes a requirement of unknown name as a ceiling
        return (f"did you mean `goodput >= {rhs}`? (requests a second served within every latency target of "
                "`require`, under the workload's traffic; the requests sent a second are the workload's `rate`)")
    said = {"decode_throughput": "generated tokens", "throughput": "prompt and generated tokens",
            "prefill_throughput": "prompt tokens"}[name]
    return (f"did you mean `{name} >= {rhs}`? (the {said} a second of the whole deployment; `/gpu` after the "
            "unit bounds each GPU's share)")


_COMMUNICATION = re.compile(r"(?:^|[-_])comm(?:unication)?s?(?:[-_]|$)", re.IGNORECASE)


def _communication_hint(name: str) -> str | None:
    """`comm_overhead < 20 %` (seed 004's "Communication Overhead: <20%"): dagc judges no share of communication, and
    says where it reports one; the requirements on what it costs."""
    if _COMMUNICATION.search(name) is None:
        return None
    return ("dagc judges no share of communication: `dagc check` prints it on its `critical path` lines (`TP comm "
            "18.38 ms (9 %)`), report.json in `metrics.critical_path` (`tp_comm_s`, `ep_comm_s`, `pp_comm_s`); require "
            "what it costs, `tpot`, `ttft` or a throughput")


_MEMORY_WORDS = re.compile(r"(?:gpu[-_]?)?(?:mem|memory|hbm|vram)[-_]?(?:util|utilization|utilisation|usage|use|used"
                           r"|fraction|share|percent)?", re.IGNORECASE)


def _memory_hint(req: WrittenRequirement) -> str | None:
    """`memory_utilization <= 90 %`, `gpu_memory_utilization <= 0.9` (vLLM's `--gpu-memory-utilization`), `mem <= 90 %`:
    dagc's `memory`, the value kept (until 2026-11-30 the list of every requirement's name)."""
    if str(req.name).lower() == "memory" or not _MEMORY_WORDS.fullmatch(str(req.name)):
        return None
    rhs = f"{req.op} " + " ".join(" ".join(str(t).split()) for t in req.value.tokens)
    return (f"did you mean `memory {rhs}`? (the worst GPU's weights, KV cache, activations and reserve, as a share of "
            "its memory or a size; `dagc launch` derives vLLM's `--gpu-memory-utilization` from it)")


def _memory_per_gpu(out: Collector, req: WrittenRequirement) -> bool:
    """`memory <= 64 GB/gpu` (seed 004's "<64GB per GPU"): E101 whose hint keeps the size, the `/gpu` dropped —
    a memory requirement bounds each GPU's already — where it said "a ratio in `%`, e.g. `memory <= 64 %`"."""
    if req.value.kind is not ValueKind.QUANTITY:
        return False
    text, span = str(req.value.tokens[0]), req.value.token_spans[0]
    number = _NUMBER.match(text)
    unit_text = text[number.end():].strip() if number else ""
    stem = _PER_GPU.sub("", unit_text)
    size = lookup(stem)
    if stem == unit_text or lookup(unit_text) is not None or size is None or size.dimension is not Dimension.SIZE:
        return False
    assert number is not None
    out.error("E101", f"unknown unit `{unit_text}`", span.source.span(span.end - len(unit_text), span.end),
              f"`memory` bounds each GPU's memory already: write `memory {req.op} {number.group(0)} {stem}`")
    return True


def percentile_hint(name: str) -> str | None:
    """`ttft_99`, `TTFT-P99`, `p99_ttft`, `ttft99`, `ttft_99p`, `ttft_99th`, and the names of `vllm bench serve`'s
    results (`median_ttft_ms`, `p99_e2el_ms`, `ttft_p99_ms`): the percentile written another way (`ttft_p99`,
    `ttft_p50`, `e2e_p99`); a mean, which dagc does not judge (`mean_tpot_ms`): the percentiles it does."""
    kinds = "|".join(sorted(PERCENTILE_KINDS, key=len, reverse=True))
    name = re.sub(r"[-_ ]?ms$", "", name.lower()).replace("e2el", "e2e").replace("median", "p50")
    if mean := re.fullmatch(rf"(?:mean|avg)[-_ ]?(?P<k>{kinds})|(?P<k2>{kinds})[-_ ]?(?:mean|avg)", name):
        kind = mean.group("k") or mean.group("k2")
        steady = f", or the steady state's `{kind}`" if kind in ("ttft", "tpot") else ""
        return f"dagc judges percentiles of the load, not a mean: `{kind}_p50` (the median) … `{kind}_p99`{steady}"
    m = (re.fullmatch(rf"(?P<k>{kinds})[-_ ]?p?(?P<n>\d+)(?:p|th)?", name)
         or re.fullmatch(rf"p?(?P<n>\d+)(?:p|th)?[-_ ]?(?P<k>{kinds})", name))
    if m is None:
        return None
    kind, n = m.group("k").lower(), m.group("n")
    if n not in ("50", "90", "95", "99"):
        return f"dagc reports the percentiles 50, 90, 95 and 99: `{kind}_p50` … `{kind}_p99`"
    return f"did you mean `{kind}_p{n}`?"


def _requirement(out: Collector, kind: RequirementKind, req: WrittenRequirement,
                 percentile: int | None) -> Requirement | None:
    # memory may be bounded as a share of the GPU (`90 %`) or in bytes (`70 GB`).
    if kind is RequirementKind.MEMORY and _memory_per_gpu(out, req):
        return None
    memory_is_fraction = not (kind is RequirementKind.MEMORY and unit_dimension(req.value) is Dimension.SIZE)
    dim = REQUIREMENT_DIMENSIONS[kind]
    spec = Field("quantity", dim if memory_is_fraction else Dimension.SIZE, 0.0, 1e30)
    if kind is RequirementKind.MEMORY:      # a GPU holding nothing runs nothing: a memory bound of 0 or less is E104
        spec = Field("ratio", dim, MEMORY_FLOOR, 1.0, above_zero=True) if memory_is_fraction else \
            Field("quantity", Dimension.SIZE, 1.0, 1e30, above_zero=True)
    v = read_value(out, req.value, spec, f"require.{req.name}", str(req.op))
    if isinstance(v, Bad):
        return None
    target, per_gpu = v if isinstance(v, tuple) else (v, False)
    assert isinstance(target, int | float), "a quantity reads as a number"     # `reads_as` of its spec
    text = " ".join(" ".join(str(t).split()) for t in (req.name, req.op, *req.value.tokens))
    return Requirement(kind=kind, op=str(req.op), target=float(target), per_gpu=per_gpu,
                       memory_is_fraction=memory_is_fraction, percentile=percentile, text=text, span=req.span)
