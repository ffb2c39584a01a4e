"""How close a search comes to the requirements none of its candidates meets: what `dagc search` says when its
Pareto front is empty (docs/search.md, "Ranking"), so that a user told "no candidate meets the requirements" sees
which line is out of reach and by how much, without reading every row.

Input: the plan and the search's ranked candidates (after the rows shown were re-scored, `dagc.search.shown`).
Output: each requirement that no candidate meets on the figures it carries, with the candidate that comes closest
(its largest margin: the least short) and its place in the ranking. Each candidate's requirements are judged as
the optimal verdict judges the search's best (`dagc.verdict.optimal.judged_on`): a load requirement on its run
under the plan's traffic, when the search simulated it, the others on its steady state, GPUs and memory.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..plan.plan import Plan
from ..verdict.optimal import judged_on
from ..verdict.verdict import RequirementResult
from .result import Candidate

__all__ = ["closest_to_missed"]


def closest_to_missed(plan: Plan, ranked: Sequence[Candidate]) -> tuple[tuple[RequirementResult, int], ...]:
    """Each requirement of `plan` that no candidate of `ranked` meets, with the judgement of the candidate closest
    to it and that candidate's index in `ranked` (the first of several as close); a requirement some candidate
    meets, or one judged on no candidate's figures (a load line where none was simulated), is left out."""
    requirements = plan.requirements
    judged = [judged_on(c, requirements) for c in ranked]
    out = []
    for j in range(len(requirements)):
        results = [(margin, -k, rs[j]) for k, rs in enumerate(judged) if (margin := rs[j].margin) is not None]
        if results and not any(r.met for _, _, r in results):
            _, k, r = max(results, key=lambda x: (x[0], x[1]))
            out.append((r, -k))
    return tuple(out)
