"""A launch file the user changed is the user's: `dagc compile -o DIR` and `dagc search -o DIR`, which write no launch
file, carry it as it stands and never refuse DIR for it (a trial's: an edited script an earlier launch left, taken
off the manifest by a later launch, made both refuse DIR), and one whose digest line was deleted is replaced only
when it is byte for byte what this launch writes, bar that line (docs/launch.md)."""

from __future__ import annotations

from dagc.cli.main import main
from dagc.export.output_marker import MANIFEST_HEAD, MARKER, MARKER_TEXT
from conftest import plan_text

QWEN = 'model preset "qwen3-30b-a3b"'
PLAN = plan_text(model=QWEN, strategy="strategy dep = tp 2 ; ep 8\nstrategy wide = tp 1 ; ep 8")
DEP, WIDE = "sglang-dep-1-node0.sh", "sglang-wide-1-node0.sh"
DIGEST = "# dagc launch wrote this file; sha256 of the lines above: "


def _launch(path, out_dir, strategy: str) -> list[str]:
    return ["launch", str(path), "--engine", "sglang", "--strategy", strategy, "-o", str(out_dir)]


def _listed(out_dir) -> list[str]:
    return (out_dir / MARKER).read_text().removeprefix(MARKER_TEXT + MANIFEST_HEAD).splitlines()


def test_compile_and_search_carry_an_edited_launch_file_a_later_launch_took_off_the_manifest(
        write_plan, tmp_path, capsys):
    path = write_plan(PLAN)
    out_dir = tmp_path / "d"
    assert main(_launch(path, out_dir, "dep")) == 0
    edited = (out_dir / DEP).read_text().replace("exec ", "NCCL_DEBUG=INFO exec ")
    (out_dir / DEP).write_text(edited)
    capsys.readouterr()
    assert main(_launch(path, out_dir, "wide")) == 0             # `dep`'s script is not written again: kept, named
    err = capsys.readouterr().err
    assert f"note: kept {out_dir / DEP}: an earlier dagc launch wrote it into this directory" in err
    assert _listed(out_dir) == [WIDE]                             # the user's now: off the manifest
    assert main(["compile", str(path), "-o", str(out_dir), "-q"]) == 0
    assert (out_dir / DEP).read_text() == edited and (out_dir / "dep" / "report.md").is_file()
    assert DEP in _listed(out_dir) and WIDE in _listed(out_dir)
    (out_dir / MARKER).write_text(MARKER_TEXT + MANIFEST_HEAD + "".join(f"{n}\n" for n in _listed(out_dir)
                                                                       if n != DEP))
    capsys.readouterr()
    assert main(["search", str(path), "-o", str(out_dir), "--top", "1"]) == 0, capsys.readouterr().err
    assert (out_dir / DEP).read_text() == edited and (out_dir / "pareto.svg").is_file()
    # a file of the user's under another name is still refused: compile replaces its directory whole
    (out_dir / "notes.txt").write_text("mine\n")
    assert main(["compile", str(path), "-o", str(out_dir), "-q"]) == 5
    assert "it holds `notes.txt`, which dagc did not write" in capsys.readouterr().err


def test_a_launch_file_whose_digest_line_was_deleted_is_the_users(write_plan, tmp_path, capsys):
    path = write_plan(PLAN)
    out_dir = tmp_path / "d"
    assert main(_launch(path, out_dir, "dep")) == 0
    text = (out_dir / DEP).read_text()
    assert text.splitlines()[-1].startswith(DIGEST)
    body = text[: text.rstrip("\n").rfind("\n") + 1]
    # the digest line deleted, the command edited: until now read as an older dagc's file, and overwritten
    mine = body.replace("exec ", "NCCL_DEBUG=INFO exec ")
    (out_dir / DEP).write_text(mine)
    capsys.readouterr()
    assert main(_launch(path, out_dir, "dep")) == 5
    assert f"cannot write {out_dir / DEP}: the file exists and dagc did not write it, or it was changed since" \
        in capsys.readouterr().err
    assert (out_dir / DEP).read_text() == mine
    # the digest line deleted and nothing else: what a dagc before digests wrote, byte for byte: replaced
    (out_dir / DEP).write_text(body)
    assert main(_launch(path, out_dir, "dep")) == 0
    assert (out_dir / DEP).read_text() == text


def test_a_listed_launch_file_without_its_digest_line_is_kept_not_removed(write_plan, tmp_path, capsys):
    path = write_plan(PLAN)
    out_dir = tmp_path / "d"
    assert main(_launch(path, out_dir, "dep")) == 0
    text = (out_dir / DEP).read_text()
    body = text[: text.rstrip("\n").rfind("\n") + 1]
    (out_dir / DEP).write_text(body)
    capsys.readouterr()
    assert main(_launch(path, out_dir, "wide")) == 0
    err = capsys.readouterr().err
    assert (out_dir / DEP).read_text() == body and "removed" not in err
    assert f"note: kept {out_dir / DEP}" in err and _listed(out_dir) == [WIDE]
