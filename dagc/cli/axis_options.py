"""A serving engine's parallelism option written to dagc (`dagc check plan.moe --tp 4`, vLLM's
`--tensor-parallel-size 4`, SGLang's `--ep-size 8`, TensorRT-LLM's `--pp_size 2`, vLLM's `--enable-expert-parallel`):
dagc reads parallel degrees from a strategy, so the note names the `--strategy` that says the same, the axes nested
as the language nests them. Until 2026-12-02 argparse's refusal was followed by the nearest spelling among the
command's own options — `--tp 2` "did you mean `--set`?", `--pp 2` and `--ep 4` "did you mean `--help`?" — or by
nothing (`--tensor-parallel-size 4`).

Input: the command's parser, the command line and the words it did not recognise. Output: the note, or None when
none of the words is such an option.
"""

from __future__ import annotations

import argparse

__all__ = ["axis_option_note"]

_EXPERT_FLAGS = ("enable-expert-parallel", "enable-ep-moe")         # vLLM's, SGLang's older: EP over the server's GPUs


def _axis(option: str) -> str | None:
    """The axis an engine's option gives the degree of (`dagc.lang.fields.axis_field`, the table a degree written as
    a plan's field is read by: vLLM `--tensor-parallel-size`, Megatron-Core `--expert-model-parallel-size`,
    TensorRT-LLM `--moe_expert_parallel_size`, SGLang `--tp-size`), else None.

    Example:
        >>> [_axis(o) for o in ("--tp", "--tensor-parallel-size", "--ep-size", "--pp_size", "--top", "--tpot")]
        ['tp', 'tp', 'ep', 'pp', None, None]
    """
    # imported here: the quick commands' parser (`dagc presets`, `--version`) loads no plan machinery
    from ..lang.fields import axis_field
    return axis_field(option.lstrip("-"))


def _strategy(degrees: dict[str, str]) -> str:
    """The degrees as a strategy: dp ⊃ pp ⊃ attention ; experts.

    Example:
        >>> _strategy({"ep": "4", "tp": "2", "pp": "2", "dp": "2"})
        'dp 2 < pp 2 < tp 2 ; ep 4 > >'
    """
    said = {a: f"{a} {d}" for a, d in degrees.items()}
    stage = " ; ".join(d for d in (" ".join(said[a] for a in ("tp", "cp") if a in said),
                                    " ".join(said[a] for a in ("ep", "etp") if a in said)) if d)
    outers = [said[a] for a in ("dp", "pp") if a in said]
    return "".join(f"{o} < " for o in outers) + (stage or "tp 1") + " >" * len(outers)


def axis_option_note(command: argparse.ArgumentParser, argv: list[str], words: list[str]) -> str | None:
    """The note for the engine's parallelism options among the unrecognised `words` (each one's degree: the word
    after it on the command line `argv`, or after its `=`; `N` when none is written; with vLLM's
    `--enable-expert-parallel`, the experts over the server's GPUs, EP = TP × DP, its DP the attention's): the
    `--strategy` that gives them, or, for a command that takes no strategy (`dagc search`, `dagc fleet`: they rank
    every strategy), the `dagc check` of that strategy.

    Example:
        >>> from dagc.cli.parser import build_parser
        >>> from dagc.cli.option_homes import _commands
        >>> check = _commands(build_parser())["check"]
        >>> axis_option_note(check, ["check", "p.moe", "--tp", "2", "--ep", "4"], ["--tp", "2", "--ep", "4"])
        "dagc reads parallel degrees from a strategy, not from options: `--strategy 'tp 2 ; ep 4'`"
        >>> vllm = ["--tensor-parallel-size", "2", "--data-parallel-size", "4", "--enable-expert-parallel"]
        >>> axis_option_note(check, ["check", "p.moe", *vllm], vllm)[-26:]
        "`--strategy 'tp 2 ; ep 8'`"
    """
    degrees: dict[str, str] = {}
    written = False
    expert = False
    for k, word in enumerate(argv):
        option, eq, glued = word.partition("=")
        if word not in words and option not in words or not option.startswith("-"):
            continue
        if option.lstrip("-").lower().replace("_", "-") in _EXPERT_FLAGS:
            expert = written = True
            continue
        if (axis := _axis(option)) is None:
            continue
        value = glued if eq else (argv[k + 1] if k + 1 < len(argv) else "")
        degrees[axis], written = value if value.isdigit() else "N", True
    if not written:
        return None
    if expert and "ep" not in degrees:        # vLLM: the experts over every GPU of the server, EP = DP × TP,
        tp, dp = degrees.get("tp", "1"), degrees.pop("dp", "1")       # its DP the attention's within a stage
        known = tp.isdigit() and dp.isdigit() and tp + dp != "11"      # neither written: the GPUs are not said
        degrees["ep"] = str(int(tp) * int(dp)) if known else "E"
        degrees.setdefault("tp", "1")
    strategy = _strategy(degrees)
    note = "dagc reads parallel degrees from a strategy, not from options"
    if any("--strategy" in a.option_strings for a in command._actions):
        return f"{note}: `--strategy '{strategy}'`"
    return (f"{note}; `{command.prog}` ranks every strategy — `dagc check PLAN --strategy '{strategy}'` checks that "
            f"one")
