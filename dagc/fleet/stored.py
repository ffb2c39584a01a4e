"""A cluster's answer as the results file stores it, typed: what a resumed sweep reads back must have the shape dagc
writes, or that cluster is searched again.

Input: one answer of `fleet-results.jsonl` (JSON data, `dagc.fleet.cluster.answer_cluster` or `failed_answer`).
Output: `StoredAnswer`, the answer parsed — every field the ranking, the terminal, fleet.md, fleet.svg and the best's
capacity read from it checked for its type (a number where a number is read, finite, not negative where a cost or a
count is) — or `AnswerShapeError` naming the first field that is not as dagc writes it (`parse_answer`). The pick's
other figures (its metrics, the load's other percentiles) are kept as they were written (`StoredPick.written`):
read by nothing but the user, in fleet.json. A fresh answer is this type too, built where it is computed
(`dagc.fleet.cluster.answer_cluster`); only `dagc.export.fleet_json` turns one back into JSON.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from ..jsontypes import JSONObject

__all__ = ["ANSWER_KEYS", "AnswerShapeError", "StoredAnswer", "StoredCluster", "StoredPick", "parse_answer"]

# an answer's keys in the order dagc writes them (`answer_cluster`; a failed one's, `failed_answer`, are a few of
# them in the same order)
ANSWER_KEYS = ("cluster", "searched", "simulated", "meets_requirements", "pick", "instances", "tokens_per_s",
               "gpu_hours_per_million_tokens", "per_million_tokens", "rent_per_hour", "binding", "note",
               "carry_check_requests", "carry_check_rejected", "failed")

# bounded so that what the ranking computes from them stays finite (a cost × the cluster's GPUs, a p90 in ms):
# counts as a plan bounds them (docs/limits.md: GPUs 2²⁰, other counts 2⁴⁰), figures far past any dagc computes
_MAX_FIGURE = 1e100
_Count = Annotated[int, Field(ge=0, le=2**40)]
_Positive = Annotated[int, Field(ge=1, le=2**40)]
_Gpus = Annotated[int, Field(ge=1, le=2**20)]
_Figure = Annotated[float, Field(ge=0.0, le=_MAX_FIGURE)]


class _Strict(BaseModel):
    # strict: "1.5" is not a number, 1 not a boolean; no NaN or infinity (json.loads reads `NaN`)
    model_config = ConfigDict(strict=True, allow_inf_nan=False, frozen=True, extra="allow")


class _Percentiles(_Strict):
    p99: _Figure | None = None
    p90: _Figure | None = None


class _Load(_Strict):
    goodput_requests_per_s: _Figure
    ttft_s: _Percentiles
    tpot_s: _Percentiles


class _PickWorkload(_Strict):
    batch: _Positive | None = None


class _Band(_Strict):
    low: float
    high: float


class StoredPick(_Strict):
    """A cluster's pick: the at-rate row of `dagc search --rate` (`dagc.export.search_json.at_rate_json`): the
    figures the fleet reads, typed, and the row as it was written (`written`), for fleet.json."""

    strategy: str
    gpus: _Gpus
    workload: _PickWorkload
    load: _Load
    score: Annotated[float, Field(ge=-_MAX_FIGURE, le=_MAX_FIGURE)] | None = None
    replicas: _Gpus = 1
    goodput_band: _Band | None = None
    _written: JSONObject = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_written(cls, data: object, handler: ModelWrapValidatorHandler[StoredPick]) -> StoredPick:
        pick = handler(data)
        if isinstance(data, dict):
            pick._written = data
        return pick

    @property
    def written(self) -> JSONObject:
        """The pick as it was written: every figure of the at-rate row, in its order."""
        return self._written


class StoredCluster(_Strict):
    """The cluster in report.json's words (`dagc.fleet.cluster.cluster_json`)."""

    model_config = ConfigDict(extra="forbid")
    gpu: str
    gpus: _Gpus
    gpus_per_node: _Gpus
    engine: str
    price_per_gpu_hour: _Figure | None = None
    kernel_profile: Annotated[str, Field(max_length=200)] | None = None


class StoredAnswer(_Strict):
    """A cluster's answer (`dagc.fleet.cluster.answer_cluster`'s keys; a failed one has `failed`). No key of its
    own beyond them: a row of the ranking is the answer spread over its index, label and options, which a stray key
    would overwrite."""

    model_config = ConfigDict(extra="forbid")
    cluster: StoredCluster
    meets_requirements: bool
    pick: StoredPick | None = None
    searched: _Count | None = None
    simulated: _Count | None = None
    instances: _Count | None = None
    tokens_per_s: _Figure | None = None
    gpu_hours_per_million_tokens: _Figure | None = None
    per_million_tokens: _Figure | None = None
    rent_per_hour: _Figure | None = None
    binding: str | None = None
    note: str | None = None
    failed: str | None = None
    carry_check_requests: _Positive | None = None
    carry_check_rejected: _Count = 0


class AnswerShapeError(ValueError):
    """A stored answer that does not have the shape dagc writes: `field` (dotted, `pick.gpus`) and what is wrong."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"answer.{field}: {problem}" if field else f"answer: {problem}")
        self.field = field
        self.problem = problem


def parse_answer(data: object) -> StoredAnswer:
    """`data` as a `StoredAnswer`; `AnswerShapeError` at its first field not as dagc writes it.

    Example:
        >>> parse_answer({"cluster": {"gpu": "h200", "gpus": 1, "gpus_per_node": 8, "engine": "vllm"},
        ...               "meets_requirements": False}).pick is None
        True
        >>> parse_answer({"cluster": {"gpu": "h200", "gpus": 1, "gpus_per_node": 8, "engine": "vllm"},
        ...               "meets_requirements": True, "per_million_tokens": "x"})
        Traceback (most recent call last):
        ...
        dagc.fleet.stored.AnswerShapeError: answer.per_million_tokens: Input should be a valid number
    """
    try:
        return StoredAnswer.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        # pydantic names the model a nested object is read as (`instance of StoredPick`): the file holds JSON
        msg = "Input should be a JSON object" if first["type"] in ("model_type", "dict_type") else str(first["msg"])
        if first["type"] == "less_than_equal":           # pydantic writes 1e100 out in full
            le = first["ctx"]["le"]
            msg = f"Input should be at most {le:,}" if isinstance(le, int) else f"Input should be at most {le:g}"
        raise AnswerShapeError(field, msg) from None
