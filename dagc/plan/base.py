"""The base of every model of the plan: a frozen pydantic model that forbids unknown fields.

Input: nothing (a type). Output: `Frozen`, which `Model`, `Cluster`, `Workload`, `Strategy`
and `Plan` derive from: what `dagc.lang.lower` builds cannot be changed afterwards.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Frozen"]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)
