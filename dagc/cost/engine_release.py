"""Whose terms price a plan's engine release, in words: dagc holds one set of terms per engine (`ENGINE_TERMS`, of the
release `engine = NAME` means, `NEWEST`) and prices every release of it with them, but for the few terms a release
before a generation holds of its own (`terms_of`). A plan at another series (`engine = vllm@0.8.5`) is told so in its
engine sentence (`dagc.cost.cost_model.engine_text`), where until 2026-12-01 it read "Engine: vllm 0.8.5, … 1.512 ms
of host time per step …", as if those were 0.8.5's figures (docs/language.md, "engine").

Input: an `Engine`. Output: the clause, or None when the release is of the series whose terms dagc holds.
"""

from __future__ import annotations

from ..plan.engines import ENGINE_SAID, NEWEST, Engine, terms_of
from ..units import said_list

__all__ = ["release_priced_as"]

# the words of each term a release may hold of its own (`HELD_BEFORE`, `_FITTED_FROM` in dagc.plan.engines)
_TERM_WORDS = {"frontend_s": "its front end", "kv_read_per_query_head": "its decode attention's KV reads",
               "hopper_expert_time_scale": "its routed experts' time", "blackwell_expert_time_scale":
               "its routed experts' time"}


def _series(release: str) -> str:
    return ".".join(release.split(".")[:2])


def release_priced_as(engine: Engine) -> str | None:
    """The clause saying which release's terms price `engine`, or None when its release is of the newest's series
    (`NEWEST`: `vllm@0.33.1` is priced as 0.33.0 is, and says nothing) or the engine has no releases (`pytorch`).

    Example:
        >>> from dagc.plan.engines import engine_of
        >>> release_priced_as(engine_of("vllm", "0.8.5"))
        "its terms here are vLLM 0.33.0's: dagc has none of 0.8.5's own"
        >>> release_priced_as(engine_of("trtllm", "0.9.0"))
        "its terms here are TensorRT-LLM 1.2.0's but for its front end and its routed experts' time, which are 0.9.0's"
        >>> release_priced_as(engine_of("vllm", "0.33.1")) is None, release_priced_as(engine_of("vllm")) is None
        (True, True)
    """
    newest = NEWEST.get(engine.name)
    if newest is None or engine.release is None or _series(engine.release) == _series(newest):
        return None
    own, held = terms_of(engine.name, engine.release), terms_of(engine.name, None)
    words = list(dict.fromkeys(w for t, w in _TERM_WORDS.items() if getattr(own, t) != getattr(held, t)))
    said = f"its terms here are {ENGINE_SAID[engine.name]} {newest}'s"
    if not words:
        return f"{said}: dagc has none of {engine.release}'s own"
    return f"{said} but for {said_list(words)}, which are {engine.release}'s"

