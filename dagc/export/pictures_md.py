"""report.md's pictures (`pictures_md`): placement.svg, the DAG drawn (dag.svg) or why it is not, the trace and the
Pareto front, each as the strategy's files hold it (`dagc.export.strategy_files`)."""

from __future__ import annotations

from .md_escape import md_prose

__all__ = ["pictures_md"]


# What dag.svg draws and what the trace holds, by the mode of the DAG drawn — a disaggregated strategy's decode
# instance's, `decode` (dagc.export.dot._mb0_prefill, dagc.export.trace_pools)
_DAG_SHOWS = {"static": "prefill micro-batch 0", "inflight": "the first mixed step's micro-batch 0, with its chunk",
              "decode": "one decode instance's first decode step, micro-batch 0",
              "prefill": "one prefill instance's prefill, micro-batch 0"}
_POOLS_TRACE = "a prefill instance's prefill and its KV transfer, then the decode instance's two decode steps"
_TRACE_SHOWS = {"static": "prefill, then two decode steps", "inflight": "two decode steps, then two mixed steps",
                "decode": _POOLS_TRACE, "prefill": _POOLS_TRACE}


def pictures_md(links: dict[str, str], mode: str, undrawn: str | None = None) -> list[str]:
    """report.md's "Pictures and trace": what `links` names (placement.svg, dag.svg, the trace, pareto.svg), and,
    given `undrawn` — why Graphviz drew no dag.svg, as the terminal's warning says it —, that the DAG has no picture
    and where its source is (until 2026-12-01 only the terminal said so: report.md had no DAG and no link to dag.dot).

    Example:
        >>> said = "dot took longer than 1 s and was stopped; dag.dot written, no SVG"
        >>> pictures_md({}, "static", said)[2]
        'No picture of the DAG: dot took longer than 1 s and was stopped (`--dot-timeout`). Its source is \
[dag.dot](dag.dot): `dot -Tsvg dag.dot -o dag.svg` draws it.'
    """
    if not links and undrawn is None:
        return []
    lines = ["## Pictures and trace", ""]
    if "placement.svg" in links:
        lines += ["Which GPU holds what ([placement.svg](placement.svg)):", "", "![placement](placement.svg)", ""]
    if "dag.svg" in links:
        lines += [f"The DAG, {_DAG_SHOWS[mode]} ([dag.svg](dag.svg), source [dag.dot](dag.dot); the "
                  "critical path is red):", "", "![DAG](dag.svg)", ""]
    elif undrawn is not None:
        lines += [_undrawn_md(undrawn), ""]
    if "trace" in links:
        lines += [f"The timeline: [{links['trace']}]({links['trace']}) — open it in "
                  f"[Perfetto](https://ui.perfetto.dev) ({_TRACE_SHOWS[mode]}).", ""]
    if "pareto.svg" in links:
        target = links["pareto.svg"]
        lines += [f"This strategy among every legal one the search evaluated ([pareto.svg]({target})):", "",
                  f"![Pareto front]({target})", ""]
    return lines


def _undrawn_md(warning: str) -> str:
    """The sentence saying dag.svg was not drawn, from the renderer's warning (`dagc.export.render.Rendered`)."""
    why = warning.removesuffix("; dag.dot written, no SVG").split(". dag.dot written", 1)[0]
    stopped = " (`--dot-timeout`)" if "longer than" in why else ""
    return (f"No picture of the DAG: {md_prose(why)}{stopped}. Its source is [dag.dot](dag.dot): "
            "`dot -Tsvg dag.dot -o dag.svg` draws it.")
