"""The scripts `dagc launch -o DIR` writes: one a command of a launch, in the order the commands start.

Input: a `Launch` that can run (`Launch.ok`). Output: `GeneratedFile`s, `<engine>-<strategy>-<n>-node<k>.sh`, the
n-th command (from 1, zero-padded to the count) to run on node k. Each is a POSIX shell script: a `#!/bin/sh` line,
then dagc's own header line (ending with `OWN_HEADER_END`, so that `dagc launch -o` may replace it and nothing
else), a check that each `$NODE<k>_ADDR` it reads is set, the command's environment exported, and the command
`exec`ed — the script is the process (a server, a Ray node, the router), as a service manager or `srun` expects.
A file the launch writes beside the scripts (TensorRT-LLM's YAML) is named from the script's own directory,
`"$(dirname -- "$0")"/NAME`, so the scripts and their files may move together to another directory or node.

One script a command, not one a node: the commands are listed in the order they must start (vLLM's Ray head
before its workers, before the server on the head node; a disaggregated deployment's servers before their
router), and one node may run several (the servers of replicas that share it), each a process of its own. Only
the listed commands have scripts (`shown_commands`: the first `MAX_LISTED_REPLICAS` replicas); `dagc launch`
says what the others run.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
import shlex

from .launch import OWN_HEADER_END, Command, GeneratedFile, Launch, shown_commands, strategy_file_stem

__all__ = ["SHEBANG", "absolute_model", "command_scripts"]

SHEBANG = "#!/bin/sh"
_NODE_ADDR = re.compile(r"\$NODE(\d+)_ADDR")


def command_scripts(x: Launch, here: str | None = None) -> list[GeneratedFile]:
    """The scripts of `x`'s listed commands (none when it cannot run), named after the engine and the strategy
    (`dagc.launch.launch.strategy_file_stem`). A model directory relative to where dagc runs (`model from`
    config.json) is written absolute, joined to `here` (that directory; None: left as written), so that the
    script names it from any directory it is run in.

    Example:
        >>> from dagc.launch.launch import Command, ModelPath
        >>> x = Launch("vllm", "vLLM", "vLLM 0.33.0", "tp 8", 16, 8, 1, ModelPath("m", ""), commands=(
        ...     Command(0, 0, ("ray", "start", "--head")),
        ...     Command(1, 0, ("ray", "start", "--address", "$NODE0_ADDR:6379", "--block")),
        ...     Command(0, 0, ("vllm", "serve", "m"), (("VLLM_HOST_IP", "$NODE0_ADDR"),))))
        >>> [f.name for f in command_scripts(x)]
        ['vllm-tp-8-1-node0.sh', 'vllm-tp-8-2-node1.sh', 'vllm-tp-8-3-node0.sh']
        >>> print(command_scripts(x)[2].text, end="")
        #!/bin/sh
        # vLLM 0.33.0 · strategy `tp 8` · command 3 of 3, on node 0 (dagc launch)
        : "${NODE0_ADDR:?set NODE0_ADDR to the address of node 0}"
        export VLLM_HOST_IP=$NODE0_ADDR
        exec vllm serve m
    """
    if not x.ok:
        return []
    commands, _ = shown_commands(x)
    beside = {f.name: f.text for f in x.files}
    width = len(str(len(commands)))
    out = []
    for n, c in enumerate(commands, 1):
        # a file the command reads with `$NODE<k>_ADDR` in it (TensorRT-LLM's disaggregated router's URLs): the
        # script writes it again with the addresses, and the command reads that copy
        placed = {b: t for b in map(posixpath.basename, c.argv) if _NODE_ADDR.search(t := beside.get(b, ""))}
        argv = _absolute(c.argv, x, here)
        nodes = sorted({int(k) for text in (c.text, *placed.values()) for k in _NODE_ADDR.findall(text)})
        lines = [SHEBANG, f"# {x.version} · strategy `{_one_line(x.strategy)}` · command {n} of {len(commands)}, on "
                 f"node {c.node} {OWN_HEADER_END}",
                 *(f': "${{NODE{k}_ADDR:?set NODE{k}_ADDR to the address of node {k}}}"' for k in nodes),
                 *(_resolved(name, text) for name, text in placed.items()),
                 *(f"export {w}" for w in c.env_words), f"exec {_argv_text(argv, frozenset(beside), placed)}"]
        name = f"{x.engine}-{strategy_file_stem(x.strategy)}-{n:0{width}d}-node{c.node}.sh"
        out.append(GeneratedFile(name, "\n".join(lines) + "\n"))
    return out


def absolute_model(x: Launch, here: str) -> Launch:
    """`x` with its model directory, where it is relative to where dagc runs (`model from` config.json), joined to
    `here` (that directory) in its commands and its model path: what `dagc launch` prints and writes, so that the
    command names the same directory from wherever it is pasted (`hf/Qwen3-30B-A3B`, relative, would be read as a
    Hugging Face repository id there).

    Example:
        >>> from dagc.launch.launch import ModelPath
        >>> x = Launch("vllm", "vLLM", "vLLM 0.33.0", "tp 8", 8, 8, 1, ModelPath("./hf/q", "", local=True),
        ...            commands=(Command(0, 0, ("vllm", "serve", "./hf/q", "--port", "8000")),))
        >>> y = absolute_model(x, "/home/u")
        >>> y.model.text, y.commands[0].argv[2]
        ('/home/u/hf/q', '/home/u/hf/q')
    """
    if not x.model.local or posixpath.isabs(x.model.text):
        return x
    whole = posixpath.normpath(posixpath.join(here, x.model.text))
    commands = tuple(dataclasses.replace(c, argv=_absolute(c.argv, x, here)) for c in x.commands)
    return dataclasses.replace(x, model=dataclasses.replace(x.model, text=whole), commands=commands)


def _absolute(argv: tuple[str, ...], x: Launch, here: str | None) -> tuple[str, ...]:
    """`argv` with `x`'s model directory, where it is relative, joined to `here` (normalised: `.` is `here`).

    Example:
        >>> from dagc.launch.launch import ModelPath
        >>> x = Launch("vllm", "vLLM", "vLLM 0.33.0", "tp 8", 8, 8, 1, ModelPath(".", "", local=True))
        >>> _absolute(("vllm", "serve", "."), x, "/home/u/m")
        ('vllm', 'serve', '/home/u/m')
    """
    model = x.model.text
    if here is None or not x.model.local or posixpath.isabs(model):
        return argv
    whole = posixpath.normpath(posixpath.join(here, model))
    return tuple(whole if a == model else a for a in argv)


def _resolved_name(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return f"{stem}.resolved.{ext}" if dot else f"{name}.resolved"


def _resolved(name: str, text: str) -> str:
    """The line that writes file `name` (beside the script) again as `_resolved_name`, each `$NODE<k>_ADDR` in it
    the node's address from the environment (`sed`, in every POSIX shell's reach).

    Example:
        >>> print(_resolved("d.yml", 'urls: ["$NODE1_ADDR:8002"]'))
        sed -e 's|\\$NODE1_ADDR|'"$NODE1_ADDR"'|g' "$(dirname -- "$0")"/d.yml > "$(dirname -- "$0")"/d.resolved.yml
    """
    nodes = sorted({int(k) for k in _NODE_ADDR.findall(text)})
    edits = " ".join(f"-e 's|\\$NODE{k}_ADDR|'\"$NODE{k}_ADDR\"'|g'" for k in nodes)
    here = '"$(dirname -- "$0")"/'
    return f"sed {edits} {here}{shlex.quote(name)} > {here}{shlex.quote(_resolved_name(name))}"


def _argv_text(argv: tuple[str, ...], beside: frozenset[str], placed: dict[str, str] | None = None) -> str:
    """The command's words for the shell, each file of the launch (its path as dagc was told, `-o DIR/NAME`)
    named from the script's directory instead, where it is written beside the script (`placed`: read as the copy
    `_resolved` writes).

    Example:
        >>> _argv_text(("trtllm-serve", "m", "--config", "out dir/t.yml"), frozenset({"t.yml"}))
        'trtllm-serve m --config "$(dirname -- "$0")"/t.yml'
    """
    def one(a: str) -> str:
        base = posixpath.basename(a)
        if base not in beside:
            return Command(0, 0, (a,)).argv_text
        return f'"$(dirname -- "$0")"/{shlex.quote(_resolved_name(base) if placed and base in placed else base)}'
    return " ".join(one(a) for a in argv)


def _one_line(text: str) -> str:
    return " ".join(text.split())
