"""A manifest's independent problems are said in one run, each at its place: a user whose manifest had four (a
misspelt key, a run file outside its directory, a `set` value in an unknown unit, a run of another model) needed
four runs of `dagc calibrate` to see them, one a run."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_calibrate_manifest_sets import PLAN, RUN

from dagc.calibrate.manifest import jobs_of_manifest
from dagc.diagnostics import PlanError

MANIFEST = '''plan = "qwen.moe"
[[run]]
file = "runs/other-model.json"
[[run]]
file = "../elsewhere/run.json"
[[run]]
file = "runs/rate8.json"
set = ["workload.rate=8 req/s"]
[[run]]
file = "runs/rate4.json"
stratgy = "tp 2"
'''


def test_every_independent_problem_of_a_manifest_is_said_in_one_run(tmp_path: Path):
    home = tmp_path / "m"
    (home / "runs").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (home / "qwen.moe").write_text(PLAN)
    (home / "runs" / "other-model.json").write_text(RUN.replace('"model_id":"Qwen/Qwen3-30B-A3B"',
                                                                '"model_id":"Qwen/Qwen3-235B-A22B"') + "\n")
    (home / "runs" / "rate8.json").write_text(RUN.replace('"request_rate":4.0', '"request_rate":8.0') + "\n")
    (home / "runs" / "rate4.json").write_text(RUN + "\n")
    (tmp_path / "elsewhere" / "run.json").write_text(RUN + "\n")
    (home / "m.toml").write_text(MANIFEST)
    with pytest.raises(PlanError) as exc:
        jobs_of_manifest(home / "m.toml")
    found = [(d.code, d.span.source.path.rpartition("/")[2], d.span.line, d.message) for d in exc.value.diagnostics]
    assert [f[:3] for f in found] == [("E110", "other-model.json", 1), ("E110", "m.toml", 5), ("E101", "m.toml", 8),
                                      ("E110", "m.toml", 11)]
    assert "the run measured `Qwen/Qwen3-235B-A22B`" in found[0][3]
    assert found[1][3].startswith("run entry 2: `file` names a file outside the manifest's directory")
    assert found[2][3].startswith("run entry 3: a `set` value: unknown unit")
    assert found[3][3] == "run entry 4: no key `stratgy` (did you mean `strategy`?)"


def _set_refused(tmp_path: Path, option: str):
    (tmp_path / "runs").mkdir(exist_ok=True)
    (tmp_path / "qwen.moe").write_text(PLAN)
    (tmp_path / "runs" / "rate4.json").write_text(RUN + "\n")
    (tmp_path / "m.toml").write_text(f'plan = "qwen.moe"\n[[run]]\nfile = "runs/rate4.json"\nset = ["{option}"]\n')
    with pytest.raises(PlanError) as exc:
        jobs_of_manifest(tmp_path / "m.toml")
    (d,) = exc.value.diagnostics
    return d


def test_an_unknown_unit_in_a_set_value_is_shown_as_written(tmp_path: Path):
    """It read `unknown unit `…``, then `did you mean requests/s? (`…` is requests per second …)`: the one token
    the user must change was hidden."""
    d = _set_refused(tmp_path, "workload.rate=4 req/s")
    assert (d.code, d.span.line, d.span.column) == ("E101", 4, 25)
    assert d.message == "run entry 1: a `set` value: unknown unit `req/s`"
    assert d.hint == 'did you mean `requests/s`? (`req/s` is requests per second: `"workload.rate=4 requests/s"`)'


def test_only_a_unit_like_token_is_shown_never_more_of_the_value(tmp_path: Path):
    # a token no unit is written like (too long to be one) stays the manifest's, said `…`
    d = _set_refused(tmp_path, "workload.rate=4 SECRETSECRETSECRETSECRETSECRET")
    assert d.code == "E101" and "SECRET" not in d.message + (d.hint or "") and "`…`" in d.message


@pytest.mark.parametrize("manifest, at", [
    ('plan = "qwen.moe"\n[[run]]\nfile = "runs/vllm-runs.json"\nruns = 1\n', (4, 1)),                   # was 3:9
    ('{"plan": "qwen.moe", "run": [{"file": "runs/vllm-runs.json", "runs": 1}]}', (1, 63)),   # was 1:40
    ('plan = "qwen.moe"\nsets = ["workload.rate=4 requests/s"]\n[[run]]\nfile = "runs/vllm-runs.json"\n', (2, 1)),
])
def test_an_unknown_key_is_located_at_itself_not_at_its_letters_in_a_value(tmp_path: Path, manifest, at):
    """`runs = 1` after `file = "runs/…"` was located in the file's name, at the first `runs` of the entry."""
    (tmp_path / "runs").mkdir()
    (tmp_path / "qwen.moe").write_text(PLAN)
    (tmp_path / "runs" / "vllm-runs.json").write_text(RUN + "\n")
    (tmp_path / "m.toml").write_text(manifest)
    with pytest.raises(PlanError) as exc:
        jobs_of_manifest(tmp_path / "m.toml")
    (d,) = exc.value.diagnostics
    key = "sets` (did you mean `set`?)" if "sets" in manifest else "runs` (did you mean `run`?)"
    assert d.code == "E110" and d.message.endswith(f"no key `{key}")
    assert (d.span.line, d.span.column) == at


def test_a_plan_error_one_entry_s_set_causes_names_that_entry(tmp_path: Path):
    # a manifest of three entries, the second with `cluster.gpus=1` beside its traffic: the plan's `strategy tp 2`
    # is then E401 at the plan's line, which said `the cluster has 1` of a plan that says `gpus = 2`, and not which
    # entry read it so
    (tmp_path / "runs").mkdir()
    (tmp_path / "qwen.moe").write_text(PLAN)
    for r in (4, 8, 16):
        (tmp_path / "runs" / f"rate{r}.json").write_text(RUN.replace('"request_rate":4.0', f'"request_rate":{r}.0'))
    (tmp_path / "m.toml").write_text(
        'plan = "qwen.moe"\n'
        '[[run]]\nfile = "runs/rate8.json"\nset = ["workload.rate=8 requests/s"]\n'
        '[[run]]\nfile = "runs/rate4.json"\nset = ["cluster.gpus=1"]\n'
        '[[run]]\nfile = "runs/rate16.json"\nset = ["workload.rate=16 requests/s"]\n')
    with pytest.raises(PlanError) as exc:
        jobs_of_manifest(tmp_path / "m.toml")
    (d,) = exc.value.diagnostics
    assert d.code == "E401" and d.span.line == 5 and d.span.source.path.endswith("qwen.moe")
    assert d.message == ("run entry 2: its plan, read with the manifest's `set` values: the strategy uses 2 GPUs "
                         "(dp 1 × pp 1 × stage group 2); the cluster has 1")


def test_a_plan_error_of_the_plan_itself_is_said_once_as_before(tmp_path: Path):
    (tmp_path / "runs").mkdir()
    (tmp_path / "qwen.moe").write_text(PLAN.replace("strategy tp 2", "strategy tp 4"))
    for r in (4, 8):
        (tmp_path / "runs" / f"rate{r}.json").write_text(RUN.replace('"request_rate":4.0', f'"request_rate":{r}.0'))
    (tmp_path / "m.toml").write_text(
        'plan = "qwen.moe"\n'
        '[[run]]\nfile = "runs/rate8.json"\nset = ["workload.rate=8 requests/s"]\n'
        '[[run]]\nfile = "runs/rate4.json"\n')
    with pytest.raises(PlanError) as exc:
        jobs_of_manifest(tmp_path / "m.toml")
    assert {d.message for d in exc.value.diagnostics} == {
        "the strategy uses 4 GPUs (dp 1 × pp 1 × stage group 4); the cluster has 2"}


@pytest.mark.parametrize(("text", "line", "message", "hint"), [
    # a top level's default written wrong is every entry's (until 2026-12-03 said of entry 1 alone)
    ('plan = 5\n[[run]]\nfile = "r.json"\n', 1, "every run entry: `plan` is missing or not a path",
     '`plan = "plan.moe"`, from the manifest'),
    ('[[run]]\nfile = "r.json"\nplan = 5\n', 3, "run entry 1: `plan` is missing or not a path",
     '`plan = "plan.moe"`, from the manifest'),
    # a file of one run is told to leave `run` out (until 2026-12-03 "`run = 2`: the second run … (it holds 1)")
    ('plan = "qwen.moe"\n[[run]]\nfile = "r.json"\nrun = "1"\n', 4, "run entry 1: `run` is not a whole number",
     "`r.json` holds one run: leave `run` out"),
    ('plan = "qwen.moe"\n[[run]]\nfile = "two.jsonl"\nrun = "1"\n', 4, "run entry 1: `run` is not a whole number",
     "`run = N`, N from 1 to 2: the runs of `two.jsonl`, counted from 1"),
])
def test_a_manifest_s_wrong_value_is_hinted_what_it_takes(tmp_path: Path, text, line, message, hint):
    (tmp_path / "qwen.moe").write_text(PLAN)
    (tmp_path / "r.json").write_text(RUN + "\n")
    (tmp_path / "two.jsonl").write_text(RUN + "\n" + RUN + "\n")
    (tmp_path / "m.toml").write_text(text)
    with pytest.raises(PlanError) as exc:
        jobs_of_manifest(tmp_path / "m.toml")
    (d,) = exc.value.diagnostics
    assert (d.code, d.span.line, d.message, d.hint) == ("E110", line, message, hint)
