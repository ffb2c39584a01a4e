"""The "Launch" section of report.md (and so of report.html): per serving engine, the commands
that start the strategy, or one line saying why the engine cannot (its E7xx rule).

Input: a `StrategyResult`. Output: markdown lines. The nearest strategy an engine can run is not
searched here (that checks other strategies): `dagc launch` prints it with its figures.
"""

from __future__ import annotations

from ..check import StrategyResult
from ..launch import Launch, shown_commands
from ..launch_engines import launch_result

__all__ = ["launch_md"]


def _engine_md(x: Launch) -> list[str]:
    if not x.ok:
        reasons = "; ".join(f"{d.code} — {d.message}" for d in x.refusals)
        return [f"- **{x.name}** — flags of {x.version} — cannot run it: {reasons}.", ""]
    nodes = x.nodes
    lines = [f"- **{x.name}** — flags of {x.version} — {nodes} node{'s' if nodes > 1 else ''}:", "", "  ```sh"]
    commands, rest = shown_commands(x)
    node = None
    for c in commands:
        if c.node != node:
            node = c.node
            lines.append(f"  # node {node}")
        lines.append(f"  {c.text}")
    if rest:
        lines.append(f"  # … {rest}")
    lines.append("  ```")
    for f in x.files:
        lines += ["", f"  `{f.name}`:", "", "  ```yaml", *(f"  {line}" for line in f.text.splitlines()), "  ```"]
    lines += [""] + [f"  - {n}" for n in x.notes] + ([""] if x.notes else [])
    return lines


def launch_md(r: StrategyResult) -> list[str]:
    """The Launch section of a valid strategy's report; nothing for an invalid one."""
    launches = launch_result(r)
    if not launches:
        return []
    model = launches[0].model
    lines = ["## Launch", "",
             "The commands that start this strategy on each serving engine, from `dagc launch` (which also "
             "names the nearest strategy an engine can run when it cannot; docs/launch.md). "
             f"Model path: `{model.text}` — {model.why}.", ""]
    for x in launches:
        lines += _engine_md(x)
    return lines
