"""What `dagc search --rate R` prints: the best strategies simulated at R requests/s, ranked by goodput per GPU,
whether each keeps up and meets the requirements there, and the conclusion with the line to check it by.

Input: a `RankedAtRate` of `dagc.search.at_rate`, its plan and a rich console. Output: a table and lines on the
console.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rich.console import Console

from ..diagnostics import printable
from ..export.at_rate import rate_arg, set_options
from ..export.bands_words import met_caveat
from ..rules.requirement_text import requirement_value_text
from ..search.verify import RATE_VERIFIED
from ..units import Dimension, count_text, format_figure, format_si, said_list
from .print_search import DRAFTED_NOTE, UNSURE_NOTE, meets_text, unsure_of, unsure_row, written_names
from .search_columns import table_columns
from .shell_words import path_word
from .tables import print_fitted

if TYPE_CHECKING:
    from ..plan.plan import Plan
    from ..search.at_rate import AtRate, RankedAtRate

RATE_COLUMNS = ("#", "strategy", "GPUs", "goodput (requests/s/GPU)", "served (requests/s)", "TTFT p99", "TPOT p90",
                "overloaded", "meets requirements")     # the TTFT and TPOT percentiles: `rate_columns`


def rate_columns(ranked: RankedAtRate) -> tuple[str, ...]:
    """`RATE_COLUMNS` with the TTFT and TPOT percentiles the plan's requirements bound (`ranked.percentiles`)."""
    ttft, tpot = ranked.percentiles
    return tuple(f"TTFT p{ttft}" if h == "TTFT p99" else f"TPOT p{tpot}" if h == "TPOT p90" else h
                 for h in RATE_COLUMNS)


def print_at_rate(out: Console, ranked: RankedAtRate, top: int, plan: Plan | None = None,
                  plan_path: str | None = None) -> None:
    """`dagc search --rate R`: the best strategies simulated at R requests/s, by goodput per GPU, and whether
    each meets the requirements at R (with `plan`, a load requirement missed by its name); the conclusion's
    commands name `plan_path` (`print_rate_conclusion`)."""
    tr = ranked.traffic
    how = (f"of {printable(tr.log.file)}, its times scaled to that rate" if tr.log is not None
           else f"{tr.arrival}, seed {tr.seed}")
    out.print(f"at {_rate(ranked.rate)}: {tr.requests:,} requests ({how}) "
              f"simulated through each of the {len(ranked.ranked):,} best strategies, ranked those meeting every "
              "requirement and keeping up first, then those keeping up, each by goodput per GPU (requests/s served "
              "within every latency requirement, per GPU), those within 1 % of one another (the runs' noise) by "
              "their headroom, the least margin of their load requirements (margins within 1 % of the "
              "target of one another are even: the next-least margin decides)"
              + (f"; {ranked.skipped:,} not simulated (`dagc check` rejects them at this workload)"
                 if ranked.skipped else "")
              + (f"; {ranked.beyond:,} more, on more GPUs, not simulated: a strategy serves at most the rate, so its "
                 "goodput per GPU is at most the rate over its GPUs, short of the rows shown"
                 if ranked.beyond else ""), markup=False)
    names = written_names(plan) if plan is not None else {}
    rows = []
    ttft, tpot = ranked.percentiles
    shown = ranked.ranked[:top]
    # a row of its own batch (the search's varied one, or replicas of a strategy each with the batch it ran): its text
    # alone would read as another row's strategy at the plan's batch
    batches = any(a.candidate.batch is not None for a in shown)
    drafted = any(a.candidate.speculative_tokens is not None for a in shown)     # `--vary speculative`
    unsure: list[str] = []          # the rows' odds, told under the table: a cell says only their class
    for k, a in enumerate(shown, 1):
        load, c = a.load.figures, a.candidate
        batch = c.batch if c.batch is not None else plan.workload.batch if plan is not None else None
        said = unsure_of(zip(a.requirements, a.odds, strict=True), names) if c.meets_requirements else []
        if said:
            unsure.append(unsure_row(k, said))
        rows.append((str(k), c.text, *((f"{batch:,}" if batch is not None else "—",) if batches else ()),
                     *((str(c.speculative_tokens) if c.speculative_tokens is not None else "—",) if drafted else ()),
                     str(c.gpus),
                     format_figure(a.goodput_per_gpu), format_figure(load.served_requests_per_s),
                     _time(load.ttft_s.at(ttft)), _time(load.tpot_s.at(tpot)),
                     _overloaded(a), meets_text(c, names, bool(said))))
    headers = rate_columns(ranked)
    headers = (*headers[:2], *(("batch",) if batches else ()), *(("drafted",) if drafted else ()), *headers[2:])
    # goodput per GPU, the figure it ranks by, never left out (`dagc.cli.search_columns`)
    print_fitted(out, f"best {len(rows)} at {_rate(ranked.rate)}",
                 table_columns(headers, ("goodput (requests/s/GPU)",)), rows)
    if batches:
        out.print("batch: the requests in flight a row ran with over all its replicas, which its strategy text "
                  "does not carry (replicas of a strategy each keep the batch it ran alone): paste a row with "
                  "`--set workload.batch=N`", markup=False)
    if drafted:
        out.print(DRAFTED_NOTE, markup=False)
    out.print(meets_note(ranked.rate), markup=False)
    if unsure:
        out.print(UNSURE_NOTE + "; ".join(unsure), markup=False)
    if any(_overloaded(a) == "behind" for a in ranked.ranked[:top]):
        out.print("overloaded: yes when the run's queue keeps growing past its noise; behind when it cannot carry the "
                  "rate though its run is too short to show it (the requests in flight it needs are more than its "
                  "cap, or its capacity is below the rate): `dagc check` says which", markup=False)
    print_rate_conclusion(out, ranked, plan, plan_path)


def meets_note(rate: float) -> str:
    """What the table's `meets requirements` says at `rate`: as `dagc check` judges a row, its capacity bisected for the
    first rows that meet every requirement on their runs (`dagc.search.verify.RATE_VERIFIED` at most), the others on
    their runs alone (until 2026-12-03 the note left the capacity out: a user read a `yes` row as its check's)."""
    return (f"meets requirements: at {_rate(rate)}, every requirement judged, the load's on the run above, as `dagc "
            "check --strategy TEXT --set 'workload.rate=R requests/s'` judges it; its capacity bisected too for the "
            "first row that meets every requirement on its run (when none does, the first row that keeps up) and, "
            f"while that one falls short, the next ({RATE_VERIFIED} at most), the rows below it on their runs alone")


def _overloaded(a: AtRate) -> str:
    """The `overloaded` cell: `yes` (the run's queue keeps growing), `behind` (it does not carry the rate all the
    same: `UnderLoad.not_carried_because`) or `no`."""
    return "yes" if a.load.figures.overloaded else "no" if a.load.carries_traffic else "behind"


ONE_STRATEGY = "`dagc check --strategy TEXT --set 'workload.rate=R requests/s'`"


def rate_conclusion(ranked: RankedAtRate, gpus: int | None = None, check: str = "dagc check",
                    batch: int | None = None, names: dict[str, str] | None = None) -> list[str]:
    """What `search --rate R` concludes, as `check` ends with its verdicts and next steps: the best strategy that
    keeps up with R and meets every requirement, and the line to check it with (its batch set when the search
    varied it); else whether any keeps up, what the best serves, and what to try (`gpus`: the cluster's GPUs;
    `check`: the command its lines begin with, the plan and its `--set`s in it — `check_command`; `batch`: the
    plan's, which each replica of a strategy keeps; `names`: a requirement missed by its name as written,
    `written_names`)."""
    rate, at = ranked.rate, _rate(ranked.rate)
    on = f" on {count_text(gpus, 'GPU')}" if gpus else ""
    if not ranked.ranked:
        why = (f"`dagc check` rejects all {ranked.skipped:,} the search found at this workload" if ranked.skipped
               else "the time budget stopped the search before it found a legal strategy (its counts above); a larger "
                    "`--search-budget S` examines more" if ranked.budget_stopped
               else "the search found no legal strategy (its counts above: the rules reject every one it examined; "
                    "`dagc check --strategy TEXT` says why of one, such as its memory)")
        return [f"conclusion: no strategy{on} could be simulated at {at}: {why}"]
    up = [a for a in ranked.ranked if a.load.carries_traffic]
    good = [a for a in up if a.candidate.meets_requirements]
    if good:
        a = good[0]
        at_batch = f" --set workload.batch={a.candidate.batch}" if a.candidate.batch is not None else ""
        if a.candidate.speculative_tokens is not None:     # `--vary speculative`: the row's own drafted tokens
            at_batch += f" --set workload.speculative.tokens={a.candidate.speculative_tokens}"
        line = (f"{without_sets(check, 'workload.batch') if at_batch else check} --strategy '{a.candidate.text}'"
                f"{at_batch} --set 'workload.rate={rate_arg(rate)} requests/s'")
        behind = sum(1 for x in ranked.ranked if x.capacity_judged and not x.load.carries_traffic)
        if not a.capacity_judged and behind:       # the rows judged with their capacities fell short; not this one
            caveat = met_caveat(a.requirements, a.odds, steady=True)
            return [f"conclusion: `{a.candidate.text}` meets every requirement on its run at {at}, with a goodput "
                    f"of {_figure(a.goodput_per_gpu)} requests/s per GPU on {count_text(a.candidate.gpus, 'GPU')}"
                    + (f" ({caveat})" if caveat else "") + "; its "
                    f"capacity was not judged: the {count_text(behind, 'strategy', 'strategies')} that met above it on "
                    f"{'their runs fall' if behind > 1 else 'its run falls'} short of the rate by "
                    f"{'their capacities' if behind > 1 else 'its capacity'}, as `dagc check` judges them",
                    f"  check it: {line}"]
        caveat = met_caveat(a.requirements, a.odds, steady=True)   # the odds `dagc check` gives the same figures
        fewer = fewer_gpus_line(ranked, a, at, names, batch)
        return [f"conclusion: `{a.candidate.text}` keeps up with {at} and meets every requirement, with a goodput of "
                f"{_figure(a.goodput_per_gpu)} requests/s per GPU on {a.candidate.gpus:,} "
                f"GPU{'' if a.candidate.gpus == 1 else 's'}" + (f"; {caveat}" if caveat else ""),
                f"  check it: {line}", *([fewer] if fewer else [])]
    served = max(ranked.ranked, key=lambda a: a.load.figures.served_requests_per_s)
    most = served.load.figures.served_requests_per_s
    if up:
        a = up[0]
        # each line as written, as `dagc check` judged it at the rate (until 2026-12-01 a load line's text beside a
        # steady-state line's bare name: "misses ttft_p99 <= 100 ms, decode_throughput")
        missed = [q.requirement.text for q in a.requirements if q.met is False] or \
            [*a.candidate.load_missed, *((names or {}).get(n, n) for n in a.candidate.others_missed)]
        return [f"conclusion: {len(up):,} of the {len(ranked.ranked):,} strategies simulated{on} keep up with {at}, "
                f"but none meets every requirement (the best, `{a.candidate.text}`, misses "
                f"{said_list(missed) or 'a requirement'})", _next_when_up(a, at)]
    more = _replicas(served, rate, gpus, check, batch)
    lower = f"the rate it served, to judge its requirements there: --rate {_figure(most).replace(',', '')}"
    return [f"conclusion: no strategy{on} keeps up with {at}; the best serves {_figure(most)} requests/s "
            f"(`{served.candidate.text}`)",
            "  next: " + "; ".join(x for x in (more, lower, f"{ONE_STRATEGY} for one strategy's next steps (a larger "
                                                           "batch, 8-bit weights)") if x)]


def fewer_gpus_line(ranked: RankedAtRate, best: AtRate, at: str, names: dict[str, str] | None = None,
                    batch: int | None = None) -> str | None:
    """What the strategies simulated on fewer GPUs than the conclusion's gave at the rate — the answer to "how many GPUs
    do I need?" beside rows that may all use the cluster's (a user's DeepSeek-V3 at 4 requests/s: ten rows on 16 GPUs
    at 0.25 requests/s per GPU, the 8-GPU strategies ranked below them, unsaid until 2026-12-02): the best-ranked of
    them and why it is not the conclusion — it falls behind the rate, or the requirements it misses with their
    figures (by name where its run gives none: `names`, as `rate_conclusion`'s). None when none was simulated on
    fewer GPUs, or one of them meets every requirement and keeps up (the ranking then has a reason of its own, said
    by its rows)."""
    fewer = [x for x in ranked.ranked if x.candidate.gpus < best.candidate.gpus]
    if not fewer or any(x.load.carries_traffic and x.candidate.meets_requirements for x in fewer):
        return None
    x = fewer[0]
    if not x.load.carries_traffic:
        why = f"does not keep up: it serves {_figure(x.load.figures.served_requests_per_s)} requests/s"
    else:
        missed = [f"{q.requirement.text} ({requirement_value_text(q.requirement, q.value)})"
                  for q in x.requirements if q.met is False and q.value is not None] or \
            [*x.candidate.load_missed, *((names or {}).get(n, n) for n in x.candidate.others_missed)]
        why = f"misses {said_list(missed)}" if missed else "misses a requirement"
    wider = f"`--set cluster.gpus={x.candidate.gpus}` searches every strategy on {x.candidate.gpus:,}"
    # a row's batch: its own (the search varied it, or its replicas run more together), else the plan's (`batch`)
    mine, theirs = x.candidate.batch or batch, best.candidate.batch or batch
    note = "" if mine is None or theirs is None or not theirs > mine else (      # replicas run more in flight together
        f"at a batch of {mine:,}, the conclusion's {theirs:,}: `--vary batch` runs each strategy at the largest batch "
        "it serves; ")
    if len(fewer) == 1:
        return (f"  fewer GPUs: the one strategy simulated on fewer than {best.candidate.gpus:,}, `{x.candidate.text}` "
                f"on {count_text(x.candidate.gpus, 'GPU')}, {why} at {at} ({note}{wider})")
    return (f"  fewer GPUs: none of the {len(fewer):,} strategies simulated on fewer than {best.candidate.gpus:,} "
            f"meets every requirement at {at} (the best of them, `{x.candidate.text}` on "
            f"{count_text(x.candidate.gpus, 'GPU')}, {why}; {note}{wider})")


def _next_when_up(a: AtRate, at: str) -> str:
    """What to try when strategies keep up but none meets: a strategy's next steps — unless the best misses a
    `goodput` target above the rate, which no strategy meets at it and a lower rate takes further away (until
    2026-11-30 "or a lower rate" was said of it too) — nor when it misses only steady-state lines (a decode
    throughput floor), which the rate does not move (said until 2026-12-01)."""
    target = a.load.binding.goodput_unreachable
    if target is not None:
        return (f"  next: goodput never exceeds the arrival rate, so no strategy meets a goodput of "
                f"{_figure(target)} requests/s at {at}: search at the rate that target asks, --rate "
                f"{rate_arg(target)}, or lower the target to the rate")
    steady = [q.requirement.text for q in a.requirements if q.met is False and not q.requirement.on_load]
    if steady and not a.candidate.load_missed:     # only the steady state's lines, which no rate moves
        return (f"  next: {ONE_STRATEGY} gives one strategy's next steps (a larger batch, 8-bit weights, replicas); "
                f"a lower rate would not help: {said_list(steady)} "
                f"{'is a steady-state figure' if len(steady) == 1 else 'are steady-state figures'}, which the "
                "rate does not move")
    return (f"  next: {ONE_STRATEGY} gives one strategy's next steps (a larger batch, 8-bit weights, replicas); "
            "or a lower rate")


def _replicas(a: AtRate, rate: float, gpus: int | None, check: str = "dagc check", batch: int | None = None
              ) -> str | None:
    """Replicas of the strategy that serves the most, enough to take `rate` if each serves as much (a line to try:
    `dagc check` judges it), with more GPUs when the cluster has too few, each replica with the batch it was
    simulated at (the plan's `batch`, or the search's varied one), so that the batch grows with them; None for a
    strategy already replicated or in pools."""
    text, most = a.candidate.text, a.load.figures.served_requests_per_s
    core, _, options = text.partition(" with ")
    if most <= 0 or core.startswith(("dp ", "prefill ")):
        return None
    n = math.ceil(rate / most * 1.1)            # a tenth to spare: a run near its capacity queues
    need = n * a.candidate.gpus
    strategy = f"dp {n} < {core} >" + (f" with {options}" if options else "")
    more = f" --set cluster.gpus={need}" if gpus is not None and need > gpus else ""
    each = a.candidate.batch if a.candidate.batch is not None else batch
    more += f" --set workload.batch={n * each}" if each is not None else ""
    check = without_sets(check, *(["cluster.gpus"] if " cluster.gpus=" in more else []),
                         *(["workload.batch"] if " workload.batch=" in more else []))
    return (f"{n} replicas of it ({need:,} GPUs) if each serves as much: {check} --strategy '{strategy}'"
            f"{more} --set 'workload.rate={rate_arg(rate)} requests/s'")


def without_sets(check: str, *fields: str) -> str:
    """`check` (a `check_command`) without the `--set`s of `fields`, which the line it begins sets again: a field
    set twice is E104, so the line did not run as printed (`--set cluster.gpus=1 … --set cluster.gpus=5`, the
    searched cluster's count and the replicas' GPUs; until 2026-11-30).

    Example:
        >>> without_sets("dagc check q.moe --set cluster.gpus=1 --set 'cluster.price=2.49 $/h'", "cluster.gpus")
        "dagc check q.moe --set 'cluster.price=2.49 $/h'"
    """
    import re
    for field in fields:
        check = re.sub(rf" --set (?:'{re.escape(field)}=[^']*'|{re.escape(field)}=\S*)", "", check)
    return check


def check_command(plan_path: str | None, plan: Plan | None = None) -> str:
    """The `dagc check` a conclusion's lines begin with: the plan searched (`plan_path`, quoted for a shell)
    and the `--set`s it was searched with, so that the line checks what was searched.

    Example:
        >>> check_command("my plans/q.moe"), check_command(None)
        ("dagc check 'my plans/q.moe'", 'dagc check')
    """
    if plan_path is None:
        return "dagc check"
    # the line sets the rate it concludes on, which replaces a closed loop's fields (`set_options`): not theirs
    return f"dagc check {path_word(plan_path)}" + (set_options(plan) if plan is not None else "")


def print_rate_conclusion(out: Console, ranked: RankedAtRate, plan: Plan | None = None,
                          plan_path: str | None = None) -> None:
    batch = plan.workload.batch if plan is not None and not plan.workload.batch_max else None
    names = written_names(plan) if plan is not None else None
    for line in rate_conclusion(ranked, plan.cluster.gpus if plan is not None else None,
                                check_command(plan_path, plan), batch, names):
        out.print(line, markup=False)


def _figure(value: float) -> str:
    return format_figure(value)


def _rate(value: float) -> str:
    """An arrival rate as `--rate` took it, to its own digits (`1e-06 requests/s`, `14 requests/s`): a rate
    far below one request a second is not 0.0."""
    return f"{value:,.10g} requests/s" if value >= 1 else f"{value:.6g} requests/s"


def _time(value: float | None) -> str:
    return "—" if value is None else format_si(value, Dimension.TIME)
