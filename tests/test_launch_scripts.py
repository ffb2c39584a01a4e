"""`dagc launch -o DIR` for every engine: one shell script a command, in the order the commands start, each the
command it prints (its environment exported, the command `exec`ed), executable; TensorRT-LLM's YAML beside them;
a file dagc did not write never replaced; nothing outside DIR; nothing written, and said, when nothing launches."""

from __future__ import annotations

import os
import re
import shlex
import subprocess

import pytest

from dagc.cli.main import main
from dagc.export.output_marker import MANIFEST_HEAD, MARKER, MARKER_TEXT
from conftest import plan_text

QWEN = 'model preset "qwen3-30b-a3b"'
TWO_NODES = 'cluster { gpus = 16  gpus_per_node = 8  gpu preset "h100-sxm" }'
BESIDE = '"$(dirname -- "$0")"/'


def _printed(out: str) -> list[tuple[int, str]]:
    """The commands `dagc launch` printed for one engine: (node, command line), in order."""
    found, node = [], -1
    for line in out.splitlines():
        if line.startswith("node ") and line.endswith(":"):
            node = int(line[5:-1])
        elif line.startswith("  ") and not line.startswith("  /") and node >= 0:
            found.append((node, line.strip()))
        elif line.startswith(("scripts", "note", "file")):
            node = -1
    return found


def _as_printed(script: str) -> str:
    """The command line a script runs, written as `dagc launch` prints it (`NAME=value … command`)."""
    lines = script.splitlines()
    env = [line.removeprefix("export ") for line in lines if line.startswith("export ")]
    (run,) = [line.removeprefix("exec ") for line in lines if line.startswith("exec ")]
    return " ".join([*env, run])


@pytest.mark.parametrize("engine, strategy, cluster, scripts", [
    ("sglang", "dp 2 < tp 4 ; ep 4 >", None, ["sglang-dp-2-tp-4-ep-4-1-node0.sh", "sglang-dp-2-tp-4-ep-4-2-node0.sh"]),
    ("vllm", "dep = tp 2 ; ep 8", None, ["vllm-dep-1-node0.sh"]),
    ("vllm", "pp 2 < tp 8 >", TWO_NODES, ["vllm-pp-2-tp-8-1-node0.sh", "vllm-pp-2-tp-8-2-node1.sh",
                                          "vllm-pp-2-tp-8-3-node0.sh"]),
    ("trtllm", "dep = tp 1 ; ep 8", None, ["trtllm-dep-1-node0.sh", "trtllm-dep.yml"]),
])
def test_output_writes_one_script_a_command_in_order(capsys, write_plan, tmp_path, engine, strategy, cluster,
                                                     scripts):
    parts = {"model": QWEN, "strategy": f"strategy {strategy}", **({"cluster": cluster} if cluster else {})}
    path = write_plan(plan_text(**parts))
    out_dir = tmp_path / "launch"
    assert main(["launch", str(path), "--engine", engine, "-o", str(out_dir)]) == 0
    out = capsys.readouterr().out
    assert sorted(p.name for p in out_dir.iterdir()) == sorted([*scripts, MARKER])       # the manifest beside them
    printed = _printed(out)
    files = sorted(p for p in out_dir.iterdir() if p.suffix == ".sh")
    assert len(files) == len(printed)
    for f, (node, command) in zip(files, printed, strict=True):
        text = f.read_text()
        lines = text.splitlines()
        assert lines[0] == "#!/bin/sh" and lines[1].endswith("(dagc launch)") and f.name.endswith(f"-node{node}.sh")
        # the very command printed for that node, its files named from the script's directory (where they are)
        assert _as_printed(text).replace(BESIDE, f"{out_dir}/") == command
        assert f"  {out_dir}/{f.name}" in out
        assert os.stat(f).st_mode & 0o100                        # executable
        assert subprocess.run(["sh", "-n", str(f)], capture_output=True).returncode == 0   # POSIX sh parses it
        if "$NODE0_ADDR" in command:
            assert ': "${NODE0_ADDR:?set NODE0_ADDR to the address of node 0}"' in lines
    # run again: dagc's own scripts are replaced, nothing else appears
    assert main(["launch", str(path), "--engine", engine, "-o", str(out_dir)]) == 0
    assert sorted(p.name for p in out_dir.iterdir()) == sorted([*scripts, MARKER])
    assert (out_dir / MARKER).read_text() == MARKER_TEXT + MANIFEST_HEAD + "".join(f"{n}\n" for n in sorted(scripts))


def test_trtllm_script_finds_its_yaml_when_moved_and_run_from_elsewhere(capsys, write_plan, tmp_path):
    path = write_plan(plan_text(model=QWEN, strategy="strategy dep = tp 1 ; ep 8"))
    out_dir = tmp_path / "lout"
    assert main(["launch", str(path), "--engine", "trtllm", "-o", str(out_dir)]) == 0
    script = out_dir / "trtllm-dep-1-node0.sh"
    assert f"--extra_llm_api_options {BESIDE}trtllm-dep.yml " in script.read_text()
    moved = tmp_path / "moved here"                 # a space: the script's own path must stay quoted
    out_dir.rename(moved)
    bin_dir = tmp_path / "bin"                      # a stand-in trtllm-serve: prints the YAML it was given, if found
    bin_dir.mkdir()
    fake = bin_dir / "trtllm-serve"
    fake.write_text('#!/bin/sh\nwhile [ $# -gt 0 ]; do\n  if [ "$1" = --extra_llm_api_options ]; then '
                    'test -f "$2" && echo "found $2"; fi\n  shift\ndone\n')
    fake.chmod(0o755)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    run = subprocess.run(["sh", str(moved / script.name)], capture_output=True, text=True, env=env, cwd=elsewhere)
    assert run.returncode == 0, run.stderr
    assert run.stdout == f"found {moved}/trtllm-dep.yml\n"


def test_trtllm_router_script_starts_on_its_yaml_with_the_nodes_addresses(capsys, write_plan, tmp_path):
    """TensorRT-LLM's disaggregated router reads its servers' URLs from its YAML, which does not expand
    `$NODE<k>_ADDR`: its script writes the file again with the addresses and starts the router on that copy."""
    path = write_plan(plan_text(model=QWEN, cluster=TWO_NODES,
                                workload="workload { batch = 64  prompt = 2000  generate = 200  serving = inflight "
                                         "rate = 4 requests/s  requests = 200 }",
                                strategy="strategy pd = prefill 2 < tp 4 > decode 1 < tp 1 ; ep 8 >"))
    out_dir = tmp_path / "launch"
    assert main(["launch", str(path), "--engine", "trtllm", "--strategy", "pd", "-o", str(out_dir)]) == 0
    (router,) = [p for p in out_dir.glob("*.sh") if "exec trtllm-serve disaggregated" in p.read_text()]
    assert "$NODE1_ADDR" in (out_dir / "trtllm-pd-disagg.yml").read_text()
    bin_dir = tmp_path / "bin"                      # a stand-in trtllm-serve: prints the file it was given
    bin_dir.mkdir()
    fake = bin_dir / "trtllm-serve"
    fake.write_text('#!/bin/sh\n[ "$1" = disaggregated ] && [ "$2" = -c ] && cat "$3"\n')
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "NODE0_ADDR": "10.0.0.1",
           "NODE1_ADDR": "node-b.example"}
    run = subprocess.run(["sh", str(router)], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    urls = [line.strip() for line in run.stdout.splitlines() if line.strip().startswith("- ")]
    assert urls == ['- "10.0.0.1:8000"', '- "10.0.0.1:8001"', '- "node-b.example:8000"']
    assert not re.search(r"\$NODE\d+_ADDR", run.stdout)
    missing = subprocess.run(["sh", str(router)], capture_output=True, text=True, cwd=tmp_path,
                             env={k: v for k, v in env.items() if k != "NODE1_ADDR"})
    assert missing.returncode != 0 and "set NODE1_ADDR to the address of node 1" in missing.stderr


def test_a_node_addr_a_script_reads_must_be_set(capsys, write_plan, tmp_path):
    path = write_plan(plan_text(model=QWEN, cluster=TWO_NODES, strategy="strategy pp 2 < tp 8 >"))
    out_dir = tmp_path / "launch"
    assert main(["launch", str(path), "--engine", "vllm", "-o", str(out_dir)]) == 0
    worker = out_dir / "vllm-pp-2-tp-8-2-node1.sh"
    assert "$NODE0_ADDR" in worker.read_text()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NODE")}
    run = subprocess.run(["sh", str(worker)], capture_output=True, text=True, env=env)
    assert run.returncode != 0 and "set NODE0_ADDR to the address of node 0" in run.stderr


def test_a_file_of_the_users_under_a_scripts_name_is_never_replaced(capsys, write_plan, tmp_path):
    path = write_plan(plan_text(model=QWEN, strategy="strategy dep = tp 2 ; ep 8"))
    out_dir = tmp_path / "launch"
    out_dir.mkdir()
    mine = out_dir / "sglang-dep-1-node0.sh"
    mine.write_text("#!/bin/sh\n# my own launcher\nexec true\n")
    assert main(["launch", str(path), "--engine", "sglang", "-o", str(out_dir)]) == 5
    assert "dagc did not write it" in capsys.readouterr().err
    assert mine.read_text() == "#!/bin/sh\n# my own launcher\nexec true\n" and len(list(out_dir.iterdir())) == 1


def test_a_strategy_name_never_leads_a_script_out_of_the_directory(capsys, write_plan, tmp_path):
    path = write_plan(plan_text(model=QWEN, strategy="strategy dep = tp 2 ; ep 8"))
    out_dir = tmp_path / "a" / "launch"
    assert main(["launch", str(path), "--engine", "sglang", "--strategy", "dp 2 < tp 2 ; ep 4 >",
                 "-o", str(out_dir)]) == 0
    assert sorted(p.name for p in out_dir.iterdir()) == [MARKER, "sglang-dp-2-tp-2-ep-4-1-node0.sh",
                                                         "sglang-dp-2-tp-2-ep-4-2-node0.sh"]
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["launch"]


def test_nothing_launchable_writes_nothing_and_says_so(capsys, write_plan, tmp_path):
    path = write_plan(plan_text(model=QWEN, strategy="strategy tp 8 ; ep 4 etp 2"))
    out_dir = tmp_path / "launch"
    assert main(["launch", str(path), "--engine", "vllm", "-o", str(out_dir)]) == 3
    err = capsys.readouterr().err
    assert f"note: nothing written into {out_dir}: no strategy can be launched" in err
    assert not out_dir.exists()


# ------------------------------------------------------------------ what an earlier launch into DIR left

SG16 = 'cluster { gpus = 16  gpus_per_node = 8  gpu preset "h100-sxm" }'
TWO = ["sglang-dep-1-node0.sh", "sglang-dep-2-node1.sh"]


def _two_then_one(write_plan, tmp_path, capsys) -> tuple[object, str]:
    """`dep` on two nodes (two SGLang scripts), then on one (`--set cluster.gpus=8`): the second launch's stderr."""
    path = write_plan(plan_text(model=QWEN, cluster=SG16, strategy="strategy dep = tp 1 ; ep 16"))
    out_dir = tmp_path / "launch"
    assert main(["launch", str(path), "--engine", "sglang", "-o", str(out_dir)]) == 0
    assert sorted(p.name for p in out_dir.iterdir()) == [MARKER, *TWO]
    assert "command 2 of 2" in (out_dir / TWO[1]).read_text()
    capsys.readouterr()
    assert main(["launch", str(path), "--engine", "sglang", "--set", "cluster.gpus=8", "--strategy",
                 "dep = tp 1 ; ep 8", "-o", str(out_dir)]) == 0
    return out_dir, capsys.readouterr().err


def test_a_launch_removes_the_scripts_an_earlier_launch_wrote_that_it_does_not(write_plan, tmp_path, capsys):
    """The trial's: a second launch for one node left `…-node1.sh` ("command 2 of 2", another server) silently."""
    out_dir, err = _two_then_one(write_plan, tmp_path, capsys)
    assert sorted(p.name for p in out_dir.iterdir()) == [MARKER, TWO[0]]
    assert "command 1 of 1" in (out_dir / TWO[0]).read_text()
    assert f"note: removed {out_dir / TWO[1]}: an earlier dagc launch wrote it into this directory" in err
    assert (out_dir / MARKER).read_text() == MARKER_TEXT + MANIFEST_HEAD + TWO[0] + "\n"


def test_a_launch_on_another_engine_keeps_the_first_engines_scripts(write_plan, tmp_path, capsys):
    """`--engine sglang` then `--engine vllm` into one DIR: the SGLang scripts stay (and stay listed) beside vLLM's;
    until 2026-11-28 the second launch removed them as an earlier deployment's."""
    path = write_plan(plan_text(model=QWEN, cluster=SG16, strategy="strategy dep = tp 1 ; ep 16"))
    out_dir = tmp_path / "launch"
    assert main(["launch", str(path), "--engine", "sglang", "-o", str(out_dir)]) == 0
    assert main(["launch", str(path), "--engine", "vllm", "-o", str(out_dir)]) == 0
    names = sorted(p.name for p in out_dir.iterdir())
    assert [n for n in names if n.startswith("sglang-")] == TWO
    vllm = [n for n in names if n.startswith("vllm-")]
    assert vllm and "removed" not in capsys.readouterr().err
    listed = (out_dir / MARKER).read_text().removeprefix(MARKER_TEXT + MANIFEST_HEAD).split()
    assert listed == sorted([*TWO, *vllm])


def test_a_listed_file_the_user_replaced_or_a_link_is_never_removed_nor_followed(write_plan, tmp_path, capsys):
    path = write_plan(plan_text(model=QWEN, cluster=SG16, strategy="strategy dep = tp 1 ; ep 16"))
    out_dir = tmp_path / "launch"
    assert main(["launch", str(path), "--engine", "sglang", "-o", str(out_dir)]) == 0
    mine = out_dir / TWO[1]
    mine.write_text("#!/bin/sh\n# my own node 1\nexec true\n")         # listed, but no longer dagc's
    target = tmp_path / "elsewhere.sh"                                   # a link dagc must not follow
    target.write_text("#!/bin/sh\n# x (dagc launch)\nexec true\n")
    (out_dir / "sglang-old-1-node0.sh").symlink_to(target)
    (out_dir / MARKER).write_text((out_dir / MARKER).read_text() + "sglang-old-1-node0.sh\n")
    capsys.readouterr()
    assert main(["launch", str(path), "--engine", "sglang", "--set", "cluster.gpus=8", "--strategy",
                 "dep = tp 1 ; ep 8", "-o", str(out_dir)]) == 0
    assert mine.read_text() == "#!/bin/sh\n# my own node 1\nexec true\n"
    assert (out_dir / "sglang-old-1-node0.sh").is_symlink() and target.read_text().endswith("exec true\n")
    assert "removed" not in capsys.readouterr().err
    # neither is listed any more: not dagc's now
    assert (out_dir / MARKER).read_text() == MARKER_TEXT + MANIFEST_HEAD + TWO[0] + "\n"


def test_an_unlisted_launch_file_of_an_older_dagc_is_named_and_kept(write_plan, tmp_path, capsys):
    """A directory an older dagc launch wrote has no manifest: its scripts are named, not removed."""
    path = write_plan(plan_text(model=QWEN, cluster=SG16, strategy="strategy dep = tp 1 ; ep 16"))
    out_dir = tmp_path / "launch"
    assert main(["launch", str(path), "--engine", "sglang", "-o", str(out_dir)]) == 0
    (out_dir / MARKER).unlink()
    capsys.readouterr()
    assert main(["launch", str(path), "--engine", "sglang", "--set", "cluster.gpus=8", "--strategy",
                 "dep = tp 1 ; ep 8", "-o", str(out_dir)]) == 0
    err = capsys.readouterr().err
    assert sorted(p.name for p in out_dir.iterdir()) == [MARKER, *TWO]
    assert f"warning: {out_dir / TWO[1]} is named and headed as a dagc launch file but no .dagc-output lists it" in err


def test_a_compile_directory_keeps_its_report_and_lists_the_scripts_too(write_plan, tmp_path, capsys):
    path = write_plan(plan_text(model=QWEN, strategy="strategy dep = tp 2 ; ep 8"))
    out_dir = tmp_path / "c"
    out_dir.mkdir()
    (out_dir / "report.md").write_text("# report\n")
    (out_dir / MARKER).write_text(MARKER_TEXT + MANIFEST_HEAD + "report.md\n")
    assert main(["launch", str(path), "--engine", "sglang", "-o", str(out_dir)]) == 0
    assert (out_dir / "report.md").read_text() == "# report\n"
    assert (out_dir / MARKER).read_text() == MARKER_TEXT + MANIFEST_HEAD + "report.md\nsglang-dep-1-node0.sh\n"


def test_a_marker_that_is_not_dagcs_is_refused_before_anything_is_written(write_plan, tmp_path, capsys):
    path = write_plan(plan_text(model=QWEN, strategy="strategy dep = tp 2 ; ep 8"))
    out_dir = tmp_path / "launch"
    out_dir.mkdir()
    (out_dir / MARKER).write_text("my notes\n")
    assert main(["launch", str(path), "--engine", "sglang", "-o", str(out_dir)]) == 5
    assert sorted(p.name for p in out_dir.iterdir()) == [MARKER]


def test_a_launch_file_edited_under_dagcs_header_is_neither_replaced_nor_removed(write_plan, tmp_path, capsys):
    """Every launch file ends with the SHA-256 of the lines above it; one edited since keeps dagc's header but not
    its digest: a later launch that would write it refuses (exit 5), and one that no longer writes it keeps it."""
    import hashlib
    path = write_plan(plan_text(model=QWEN, cluster=SG16, strategy="strategy dep = tp 1 ; ep 16"))
    out_dir = tmp_path / "launch"
    assert main(["launch", str(path), "--engine", "sglang", "-o", str(out_dir)]) == 0
    text = (out_dir / TWO[1]).read_text()
    body, last = text[: text.rstrip("\n").rfind("\n") + 1], text.rstrip("\n").rsplit("\n", 1)[1]
    digest = hashlib.sha256(body.encode()).hexdigest()
    assert last == "# dagc launch wrote this file; sha256 of the lines above: " + digest
    (out_dir / TWO[1]).write_text(body.replace("exec ", "NCCL_DEBUG=INFO exec ") + last + "\n")
    capsys.readouterr()
    assert main(["launch", str(path), "--engine", "sglang", "--set", "cluster.gpus=8", "--strategy",
                 "dep = tp 1 ; ep 8", "-o", str(out_dir)]) == 0
    err = capsys.readouterr().err
    assert "NCCL_DEBUG=INFO exec " in (out_dir / TWO[1]).read_text() and "removed" not in err
    assert TWO[1] not in (out_dir / MARKER).read_text().splitlines()      # the user's now: off the manifest


def test_a_compile_into_a_launch_directory_keeps_the_launch_files_as_they_stand(write_plan, tmp_path, capsys):
    """A second trial's: `dagc compile -o DIR` after `dagc launch -o DIR` removed every launch file, the user's
    replacements and edits among them — they are the launch's to tidy, never a compile's."""
    path = write_plan(plan_text(model=QWEN, cluster=SG16, strategy="strategy dep = tp 1 ; ep 16"))
    out_dir = tmp_path / "launch"
    assert main(["launch", str(path), "--engine", "sglang", "-o", str(out_dir)]) == 0
    edited = (out_dir / TWO[0]).read_text() + "# my edit\n"
    (out_dir / TWO[0]).write_text(edited)
    (out_dir / TWO[1]).write_text("#!/bin/sh\n# my own node 1\nexec true\n")
    (out_dir / TWO[1]).chmod(0o755)
    capsys.readouterr()
    assert main(["compile", str(path), "-o", str(out_dir), "-q"]) == 0
    assert (out_dir / TWO[0]).read_text() == edited
    assert (out_dir / TWO[1]).read_text() == "#!/bin/sh\n# my own node 1\nexec true\n"
    assert (out_dir / TWO[1]).stat().st_mode & 0o777 == 0o755
    assert (out_dir / "dep" / "report.md").is_file()
    listed = (out_dir / MARKER).read_text().splitlines()
    assert TWO[0] in listed and TWO[1] in listed and "dep/report.md" in listed
    # a launch after it replaces neither: the first node's script, edited under dagc's header, is the user's now
    # (its digest line no longer matches: until 2026-11-28 it was overwritten), and the launch refuses (exit 5)
    again = ["launch", str(path), "--engine", "sglang", "--set", "cluster.gpus=8", "--strategy", "dep = tp 1 ; ep 8",
             "-o", str(out_dir)]
    assert main(again) == 5
    assert f"cannot write {out_dir / TWO[0]}: the file exists and dagc did not write it, or it was changed since" \
        in capsys.readouterr().err
    assert (out_dir / TWO[0]).read_text() == edited
    (out_dir / TWO[0]).unlink()                     # moved away: the launch then writes it, and still tidies
    assert main(again) == 0
    assert (out_dir / TWO[1]).read_text() == "#!/bin/sh\n# my own node 1\nexec true\n"
    assert (out_dir / "dep" / "report.md").is_file()


def test_every_ray_node_of_a_vllm_launch_blocks_as_its_scripts_process(capsys, write_plan, tmp_path):
    """A script is the process it starts (docs/launch.md, "-o DIR"): the Ray head too. `ray start --head` without
    `--block` returns once its daemons are up, and srun or a service manager then ends the head before `vllm serve`
    reaches it; until 2026-11-30 only the workers' scripts blocked."""
    path = write_plan(plan_text(model=QWEN, cluster=TWO_NODES, strategy="strategy pp 2 < tp 8 >"))
    out_dir = tmp_path / "launch"
    assert main(["launch", str(path), "--engine", "vllm", "-o", str(out_dir)]) == 0
    starts = [(node, c) for node, c in _printed(capsys.readouterr().out) if c.startswith("ray start")]
    assert starts == [(0, "ray start --head --port 6379 --block"),
                      (1, "ray start --address $NODE0_ADDR:6379 --block")]
    assert (out_dir / "vllm-pp-2-tp-8-1-node0.sh").read_text().splitlines()[2] == \
        "exec ray start --head --port 6379 --block"


def test_each_script_is_listed_as_one_shell_word_to_paste(capsys, write_plan, tmp_path):
    """The scripts are listed to be run, each on its node: a `-o DIR` with a space, `;` and `$(…)` is listed quoted,
    one shell word naming the script (until 2026-11-30 the path stood bare: pasted, the shell split it at the space and
    the `;` and ran `$(…)`); the printed YAML path of TensorRT-LLM's command was quoted already."""
    path = write_plan(plan_text(model=QWEN, strategy="strategy dep = tp 1 ; ep 8"))
    out_dir = tmp_path / "o u;$(touch PWNED)"
    assert main(["launch", str(path), "--engine", "vllm", "-o", str(out_dir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    listed = lines[lines.index("scripts (written; one a command above, in its order, each to run on its node):") + 1]
    assert listed == f"  '{out_dir}/vllm-dep-1-node0.sh'"
    assert shlex.split(listed) == [str(out_dir / "vllm-dep-1-node0.sh")]
