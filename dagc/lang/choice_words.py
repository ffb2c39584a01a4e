"""The other names of a choice field's values (engines', papers'), and E101's hint for a value dagc does not know
(`choice_hint`), used by `dagc.lang.blocks`, `dagc.lang.flatten` and `dagc.lang.field_words`.

Input: a field, the word written, the field's choices. Output: the hint: what the word means under dagc's name when it
is another name of a value (`CHOICE_WORDS`), else `dagc.lang.fields.did_you_mean`'s.
"""

from __future__ import annotations

from collections.abc import Collection

from .fields import did_you_mean, nearest, spelling

__all__ = ["CHOICE_WORDS", "choice_hint"]

_IN_FLIGHT = ("write `serving = inflight`: continuous (in-flight) batching, requests joining and leaving the batch "
              "every step, as vLLM, SGLang and TensorRT-LLM serve")
_POOLS = ("disaggregated prefill and decode is a strategy of two pools, served in flight: write `serving = inflight` "
          "and `strategy prefill N < … > decode M < … >`, e.g. `prefill 2 < tp 8 > decode 1 < tp 2 ; ep 8 >`")
_EAGLE = ("write `method = eagle`: dagc prices an EAGLE draft, EAGLE-3's included, as one decoder layer of the model's "
          "width and an LM head over 32,000 draft tokens (docs/cost-model.md, \"Speculative decoding\")")
_MTP = ("write `method = mtp`: the model's multi-token-prediction layer drafts (SGLang's NEXTN, vLLM's "
        "`deepseek_mtp`)")
_OVERLAP_ON = ("`overlap` is `none` or `microbatch`: write `overlap = microbatch`, one micro-batch's communication "
               "hidden under another's compute (with `microbatches` 2 or more: one alone has nothing to hide under)")
_OVERLAP_OFF = "`overlap` is `none` or `microbatch`: write `overlap = none`, communication blocking compute"
# A choice's other names (engines', papers'), by field and spelling (`spelling`): what dagc calls them
CHOICE_WORDS: dict[str, dict[str, str]] = {"serving": {
    **dict.fromkeys(("continuous", "continuousbatching", "inflightbatching", "dynamic", "dynamicbatching"), _IN_FLIGHT),
    **dict.fromkeys(("disaggregated", "disaggregation", "disagg", "pd", "pddisaggregated", "pddisaggregation"),
                    _POOLS)},
    # the engines' names of a drafting method (vLLM's `speculative_config.method`, SGLang's `--speculative-algorithm`)
    "chunked_prefill": {**dict.fromkeys(("true", "yes", "enabled", "enable", "1"), "write `chunked_prefill = on`"),
                        **dict.fromkeys(("false", "no", "disabled", "disable", "0"), "write `chunked_prefill = off`")},
    # `overlap = true`: on and off, as a flag reads (until 2026-11-30 told the two values alone)
    "overlap": {**dict.fromkeys(("true", "yes", "on", "enabled", "enable", "1"), _OVERLAP_ON),
                **dict.fromkeys(("false", "no", "off", "disabled", "disable", "0"), _OVERLAP_OFF)},
    "method": {**dict.fromkeys(("eagle3", "eagle2", "eagle1"), _EAGLE),
               **dict.fromkeys(("nextn", "deepseekmtp", "mtpnextn"), _MTP)}}


def choice_hint(field: str, word: str, choices: Collection[str]) -> str:
    """E101's hint for `word`, not one of a choice field's `choices`: what it means under dagc's name when it is
    another name of one (`CHOICE_WORDS`), else `did_you_mean`'s.

    Example:
        >>> choice_hint("serving", "Continuous", ("static", "inflight"))[:28]
        'write `serving = inflight`: '
        >>> choice_hint("serving", "statc", ("static", "inflight"))
        'did you mean `static`?'
        >>> choice_hint("serving", "continous", ("static", "inflight"))[:28]      # a slip of another name too
        'write `serving = inflight`: '
    """
    words = CHOICE_WORDS.get(field, {})
    slip = None if nearest(word, choices) else nearest(word, words)
    return words.get(spelling(word)) or (words[slip] if slip else None) or did_you_mean(word, choices)
