"""What a fleet's list is told of a `...` dagc cannot continue (docs/fleet.md, "The `fleet` statement").

Input: the list's values as written (`...` for the ellipsis) and where the ellipsis stands. Output: the E104's message
and hint — which say what is wrong with this run, and write the line in the forms a fleet reads: each value listed
(`gpus = [8, 4]`), or a run of whole numbers, two before `...` (their difference its step) and the last after it,
counting up (`gpus = [8, 16, ..., 64]`). Until 2026-12-02 `[8, ..., 4]` read "`...` continues whole numbers" with a
run not the user's, and `[16, 8, ..., 64]` was hinted `16, 8, ..., -440`, a negative count of GPUs.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["ELLIPSIS", "run_error"]

ELLIPSIS = "..."


def _line(name: str, texts: Sequence[str], start: int, end: int, run: Sequence[str]) -> str:
    """`name = [...]`: the list as written, `texts[start:end]` replaced by `run`."""
    return f"`{name} = [{', '.join([*texts[:start], *run, *texts[end:]])}]`"


def _number(texts: Sequence[str], k: int) -> int | None:
    return int(texts[k]) if 0 <= k < len(texts) and texts[k].isascii() and texts[k].isdigit() else None


def run_error(name: str, texts: Sequence[str], i: int) -> tuple[str, str] | None:
    """The message and hint for the `...` at `texts[i]`, None when it continues a run dagc reads (a step above 0,
    the last value after the second on that step).

    Example:
        >>> run_error("gpus", ["8", "...", "4"], 1)[1]
        'list each value, `gpus = [8, 4]`, or write a run: two values before `...`, their difference its step, and \
the last after it, `gpus = [8, 16, ..., 64]`'
        >>> run_error("gpus", ["16", "8", "...", "64"], 2)
        ('`16, 8, ..., 64` counts down (steps of -8): a run counts up to the value after `...`', \
'write it upward: `gpus = [8, 16, ..., 64]`')
        >>> run_error("gpus", ["8", "16", "...", "64"], 2) is None
        True
    """
    a, b, c = (_number(texts, k) for k in (i - 2, i - 1, i + 1))
    listed = list(dict.fromkeys(t for t in texts if t != ELLIPSIS))         # each once: a value twice is E104 too
    each = f"list each value, {_line(name, listed, 0, 0, ())}"
    if a is None or b is None or c is None:
        example = f"`{name} = [8, 16, ..., 64]`"
        if a is None and b is not None and c is not None and c > b:     # `[8, ..., 64]`: its first and last written
            step = b if c > 2 * b and (c - 2 * b) % b == 0 else 1
            example = _line(name, texts, i - 1, i + 2, (str(b), str(b + step), ELLIPSIS, str(c)))
        return (f"`...` in the fleet's `{name}` continues a run of whole numbers: it needs two before it and one after "
                "it", f"{each}, or write a run: two values before `...`, their difference its step, and the last after "
                      f"it, {example}")
    step, written = b - a, f"`{a}, {b}, ..., {c}`"
    if step == 0:
        run = (str(a), str(a + a), ELLIPSIS, str(c))
        return (f"{written} has no step: the two values before `...` are equal",
                f"{each}, or give the run its step: {_line(name, texts, i - 2, i + 2, run)}")
    if step < 0:
        low, high, size = min(a, b, c), max(a, b, c), -step
        high = low + size * ((high - low) // size)
        if high <= low + size:
            return f"{written} counts down (steps of {step}): a run counts up to the value after `...`", each
        run = (str(low), str(low + size), ELLIPSIS, str(high))
        return (f"{written} counts down (steps of {step}): a run counts up to the value after `...`",
                f"write it upward: {_line(name, texts, i - 2, i + 2, run)}")
    if c <= b:
        run = (str(a), str(b), ELLIPSIS, str(b + 2 * step))
        return (f"{written} ends at {c}, not above {b}: the value after `...` is the run's last",
                f"{each}, or end the run above {b}: {_line(name, texts, i - 2, i + 2, run)}")
    if (c - b) % step:
        below = b + step * ((c - b) // step)
        ends = [str(x) for x in (below, below + step) if x > b]
        return (f"{written} does not reach {c} in steps of {step}",
                "the last value is the second plus a whole number of steps: "
                + " or ".join(_line(name, texts, i - 2, i + 2, (str(a), str(b), ELLIPSIS, x)) for x in ends))
    return None
