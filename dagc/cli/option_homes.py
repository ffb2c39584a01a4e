"""An option written to a command that does not take it but another does (`dagc check --rate 10`, `dagc check -o
out`): which commands take it, and what the command written does instead. Without it argparse's refusal was
followed by the nearest spelling among the command's own options, `--rate` → `--strategy`, which leads nowhere.

Input: the top-level parser, the command's parser and the words it did not recognise. Output: the note that follows
argparse's message, of the first option among them (`-o`, `--rate=12`), or None when no other command takes it.
"""

from __future__ import annotations

import argparse
import difflib
import re

__all__ = ["after_dashes_note", "choice_hint", "flag_value_note", "option_home_note", "optional_value_note",
           "rate_unit_note", "words_as_written"]

# What a command does instead of another command's option (`{value}`: the value written after it, else an example)
_INSTEAD = {
    ("check", "--rate"): "a check at a rate sets the plan's: `--set 'workload.rate={value} requests/s'`",
    ("compile", "--rate"): "a compile at a rate sets the plan's: `--set 'workload.rate={value} requests/s'`",
    ("check", "--output"): "`dagc check` writes no report: `dagc compile PLAN -o {value}` writes them all",
}
_ALIASES = {"-o": "--output"}


def _commands(root: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    sub = next((a for a in root._actions if isinstance(a, argparse._SubParsersAction)), None)
    return {} if sub is None else dict(sub.choices)


def after_dashes_note(argv: list[str], words: list[str]) -> str | None:
    """The note for an option written after `--`, which argparse reads as a path, not an option: `dagc launch --
    PLAN --strategy a` (until 2026-11-30 told "`--strategy` is an option of `dagc check` … not of `dagc launch`",
    which takes it).

    Example:
        >>> after_dashes_note(["launch", "--", "p.moe", "--strategy", "a"], ["--strategy", "a"])
        '`--strategy` follows `--`, after which every word is read as a path, not as an option: write the options \
before `--`'
    """
    option = next((w for w in words if w.startswith("-")), None)
    if option is None or "--" not in argv or option not in argv[argv.index("--") + 1:]:
        return None
    return (f"`{option.partition('=')[0]}` follows `--`, after which every word is read as a path, not as an option: "
            "write the options before `--`")


def option_home_note(root: argparse.ArgumentParser, command: argparse.ArgumentParser, words: list[str],
                     argv: list[str] | None = None) -> str | None:
    """The note for the first option among `words` that `command` does not take (its value: the word after it on the
    command line `argv`, else among `words`): the commands that take it, and what `command` does instead (`_INSTEAD`).
    Written before the plan (`dagc check --rate 3 plan.moe`), the option's value is the word argparse took for the
    plan, and `words` hold the plan's path after it: until 2026-11-30 the note then said `workload.rate=plan.moe`.
    With nothing left over (`dagc check -o plan.moe`) the word after the option is the plan, not its value.

    Example:
        >>> from dagc.cli.parser import build_parser
        >>> root = build_parser()
        >>> option_home_note(root, _commands(root)["check"], ["--rate", "12"])
        "`--rate` is an option of `dagc search`, not of `dagc check`; a check at a rate sets the plan's: `--set \
'workload.rate=12 requests/s'`"
        >>> option_home_note(root, _commands(root)["check"], ["-o", "p.moe"], ["check", "-o", "reports", "p.moe"])
        '`-o` is an option of `dagc compile`, `dagc search`, `dagc launch`, `dagc calibrate` and `dagc fleet`, not of \
`dagc check`; `dagc check` writes no report: `dagc compile PLAN -o reports` writes them all'
    """
    at = next((k for k, w in enumerate(words) if w.startswith("-")), None)
    if at is None:
        return None
    wrong, after = words[at], words[at + 1:]
    commands = _commands(root)
    name = next((n for n, p in commands.items() if p is command), None)
    option, _, glued = wrong.partition("=")
    homes = [n for n, p in commands.items() if p is not command and any(option in a.option_strings for a in p._actions)]
    if name is None or not homes:
        return None
    # a word left over after the option (`plan.moe` of `--rate 3 plan.moe`) says argparse took its value for the plan
    written = argv[argv.index(wrong) + 1:argv.index(wrong) + 2] if after and argv and wrong in argv else after
    value = glued or next((w for w in written if not w.startswith("-")), "")
    said = " and ".join(", ".join(f"`dagc {h}`" for h in homes).rsplit(", ", 1))
    note = f"`{option}` is an option of {said}, not of `dagc {name}`"
    instead = _INSTEAD.get((name, _ALIASES.get(option, option)))
    if instead is None:
        return note
    return f"{note}; " + instead.format(value=value or ("10" if "rate" in option else "DIR"))


def optional_value_note(command: argparse.ArgumentParser, argv: list[str]) -> str | None:
    """The note for a command missing its argument after an option whose value may be left out, which took the
    word after it for its value: `dagc fleet --ray plan.moe` read the plan as Ray's ADDRESS (until 2026-11-30 told
    "the following arguments are required: plan" alone, though plan.moe stood on the line).

    Example:
        >>> from dagc.cli.parser import build_parser
        >>> optional_value_note(_commands(build_parser())["fleet"], ["fleet", "--ray", "plan.moe"])
        '`--ray` took `plan.moe` for its ADDRESS: write the plan first, `dagc fleet plan.moe --ray`, or `--ray=ADDRESS`'
    """
    optional = {o: a for a in command._actions if a.nargs == "?" for o in a.option_strings}
    at = next((k for k, w in enumerate(argv[:-1]) if w in optional and not argv[k + 1].startswith("-")), None)
    if at is None:
        return None
    option, word = argv[at], argv[at + 1]
    name = command.prog.removeprefix("dagc ")
    return (f"`{option}` took `{word}` for its {optional[option].metavar}: write the plan first, "
            f"`dagc {name} {word} {option}`, or `{option}={optional[option].metavar}`")


_NUMBER = re.compile(r"[+-]?(?:[0-9][0-9_,.]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def words_as_written(words: list[str], argv: list[str]) -> list[str]:
    """The words argparse did not recognise as the command line has them: an option written before the plan with a
    value (`dagc check --rate 3 plan.moe`) left over with the plan's path (`--rate plan.moe`), its value taken for the
    plan; `--rate 3`, as written (until 2026-11-30 "unrecognized arguments: --rate plan.moe").

    Example:
        >>> words_as_written(["--rate", "p.moe"], ["check", "--rate", "3", "p.moe"])
        ['--rate', '3']
        >>> words_as_written(["--rate", "3"], ["check", "p.moe", "--rate", "3"])
        ['--rate', '3']
    """
    at = next((k for k, w in enumerate(words) if w.startswith("-")), None)
    if at is None or words[at] not in argv or at + 1 >= len(words):
        return words
    value = argv[argv.index(words[at]) + 1:argv.index(words[at]) + 2]
    if not value or value[0].startswith("-") or value[0] == words[at + 1]:
        return words
    return [*words[:at + 1], value[0], *words[at + 2:]]


def flag_value_note(command: argparse.ArgumentParser, argv: list[str], words: list[str]) -> str | None:
    """The note for a number after an option that takes no value (`dagc check --no-search 3 plan.moe`), which argparse
    read as the plan, leaving the plan over: until 2026-11-30 told "unrecognized arguments: plan.moe" alone.

    Example:
        >>> from dagc.cli.parser import build_parser
        >>> flag_value_note(_commands(build_parser())["check"], ["check", "--no-search", "3", "p.moe"], ["p.moe"])
        '`--no-search` takes no value: `3` after it was read as the plan, and `p.moe` left over — remove `3`'
    """
    flags = {o for a in command._actions if a.nargs == 0 for o in a.option_strings}
    at = next((k for k, w in enumerate(argv[:-1]) if w in flags and _NUMBER.fullmatch(argv[k + 1])), None)
    left = [w for w in words if not w.startswith("-")]
    if at is None or not left:
        return None
    return (f"`{argv[at]}` takes no value: `{argv[at + 1]}` after it was read as the plan, and `{left[0]}` left over "
            f"— remove `{argv[at + 1]}`")


def rate_unit_note(argv: list[str], words: list[str]) -> str | None:
    """The note for a rate's unit written as a word of its own after `--rate N` (`--rate 4 requests/s`, unquoted),
    which argparse leaves over: until 2026-12-02 told "unrecognized arguments: requests/s" alone.

    Example:
        >>> rate_unit_note(["search", "p.moe", "--rate", "4", "requests/s"], ["requests/s"])[:67]
        "`requests/s` is `--rate 4`'s unit, read as a word of its own: write"
    """
    for k, w in enumerate(argv[2:], start=2):
        if w in words and w.startswith("req") and argv[k - 2] == "--rate":
            return (f"`{w}` is `--rate {argv[k - 1]}`'s unit, read as a word of its own: write `--rate {argv[k - 1]}` "
                    f"(requests/s is its unit) or quote them together, `--rate '{argv[k - 1]} requests/s'`")
    return None


def choice_hint(action: argparse.Action, value: object) -> str | None:
    """The hint after argparse's refusal of a value not among an option's choices: the nearest choice (`vLLM` is
    `vllm`), else, for `--objective`, what each objective optimises, as the plan's `objective = …` is told (until
    2026-11-30 `--objective latency` was told the names alone, which say nothing of TTFT and TPOT being latencies).

    Example:
        >>> from dagc.cli.parser import build_parser
        >>> objective = next(a for a in _commands(build_parser())["search"]._actions if a.dest == "objective")
        >>> choice_hint(objective, "TTFT"), choice_hint(objective, "latency")[:60]
        ('did you mean `ttft`?', 'the objectives: `tokens-per-gpu`: the most decode tokens/s p')
    """
    choices = {str(c).lower(): str(c) for c in action.choices or ()}
    close = difflib.get_close_matches(str(value).lower(), list(choices), n=1)
    if close:
        return f"did you mean `{choices[close[0]]}`?"
    if action.dest != "objective":
        return None
    from ..plan.objective import OBJECTIVES
    return "the objectives: " + "; ".join(f"`{o.name}`: {o.means}" for o in OBJECTIVES.values())
