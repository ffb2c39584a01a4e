"""Request logs (`requests from "…"`, dagc.lang.request_log), the traffic fields around them (dagc.lang.traffic)
and the requests a traffic sends (dagc.serve.requests): real lines of both public formats read to exact
arrays, every bad log a located E108 naming the log's line and never its content, fuzzed bytes a diagnostic
and never a traceback, drawn lengths seeded, near their means and at least 1, shared prefixes as hash ids."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from dagc.diagnostics import PlanError, render
from dagc.lang import request_log
from dagc.lang.load import load_plan
from dagc.lang.request_log import LogError, parse_request_log
from dagc.plan.workload import Traffic, Workload
from dagc.serve.requests import DRAW_LIMIT, draw_lengths, prefix_hash_ids, requests_of
from conftest import plan_text

# The first lines of the Azure LLM inference trace 2023 (AzurePublicDataset, data/AzureLLMInferenceTrace_code.csv)
AZURE_2023 = """TIMESTAMP,ContextTokens,GeneratedTokens
2023-11-16 18:17:03.9799600,4808,10
2023-11-16 18:17:04.0319600,3180,8
2023-11-16 18:17:04.0781490,110,27
2023-11-16 18:17:04.1206440,7433,14
"""
# The 2024 release's timestamps carry their UTC offset (AzureLLMInferenceTrace_code_1week.csv)
AZURE_2024 = """TIMESTAMP,ContextTokens,GeneratedTokens
2024-05-10 00:00:00.009930+00:00,2048,28
2024-05-10 00:00:00.509930+00:00,374,44
2024-05-10 00:00:02.000000+00:00,15,1
"""
# The first lines of Mooncake's conversation trace (kvcache-ai/Mooncake, FAST25-release/traces)
MOONCAKE = """{"timestamp": 0, "input_length": 6758, "output_length": 500, "hash_ids": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]}
{"timestamp": 0, "input_length": 2290, "output_length": 316, "hash_ids": [0, 42, 43, 44, 45]}
{"timestamp": 3000, "input_length": 915, "output_length": 355, "hash_ids": [0, 462]}
{"timestamp": 5999, "input_length": 1053, "output_length": 26, "hash_ids": [0, 773, 774]}
"""  # noqa: E501

WORKLOAD = "workload {{ batch = 8  prompt = 2048  generate = 64  serving = inflight  {} }}"


def plan(tmp_path, traffic: str, files: dict[str, str | bytes] | None = None):
    for name, text in (files or {}).items():
        (tmp_path / name).write_bytes(text.encode() if isinstance(text, str) else text)
    path = tmp_path / "plan.moe"
    path.write_text(plan_text(workload=WORKLOAD.format(traffic)))
    return load_plan(path)


def diagnostic(tmp_path, traffic: str, files: dict[str, str | bytes] | None = None):
    with pytest.raises(PlanError) as exc:
        plan(tmp_path, traffic, files)
    (d,) = exc.value.diagnostics
    return d


# ---------------------------------------------------------------- the two formats, exact figures

def test_azure_2023_log_reads_to_exact_arrays(tmp_path):
    traffic = plan(tmp_path, 'requests from "trace.csv"', {"trace.csv": AZURE_2023}).workload.traffic
    log = traffic.log
    assert (log.format, log.file, log.first_line, traffic.requests, traffic.rate) == ("azure", "trace.csv", 2, 4, None)
    np.testing.assert_allclose(log.arrival, [0.0, 0.052, 0.098189, 0.140684], atol=1e-9)
    assert log.prompt.tolist() == [4808, 3180, 110, 7433] and log.output.tolist() == [10, 8, 27, 14]
    assert log.hash_ids is None and log.prompt.dtype == np.int64 and log.arrival.dtype == np.float64


def test_azure_2024_timestamps_with_their_utc_offset(tmp_path):
    log = parse_request_log(AZURE_2024.encode(), "week.csv")
    np.testing.assert_allclose(log.arrival, [0.0, 0.5, 1.99007], atol=1e-9)
    assert log.prompt.tolist() == [2048, 374, 15] and log.output.tolist() == [28, 44, 1]
    mixed = AZURE_2024.replace("00:00:02.000000+00:00", "02:00:02.000000+02:00")     # the same instant
    np.testing.assert_allclose(parse_request_log(mixed.encode(), "week.csv").arrival, [0.0, 0.5, 1.99007], atol=1e-9)


def test_iso_8601_stamps_with_z_read_as_utc():
    # a production log's stamps as RFC 3339 and JavaScript write them: `T` and `Z` (UTC); "not a date and time"
    # until 2026-11-30. `Z` and `+02:00` mixed are each their own offset: 02:00:01.75+02:00 is 00:00:01.75 UTC
    iso = ("TIMESTAMP,ContextTokens,GeneratedTokens\n2025-01-01T00:00:00Z,1000,200\n"
           "2025-01-01T00:00:00.250Z,900,20\n2025-01-01T02:00:01.750+02:00,10,1\n")
    log = parse_request_log(iso.encode(), "prod.csv")
    np.testing.assert_allclose(log.arrival, [0.0, 0.25, 1.75], atol=1e-12)
    assert log.prompt.tolist() == [1000, 900, 10] and log.output.tolist() == [200, 20, 1]
    with pytest.raises(LogError, match="`TIMESTAMP` has no UTC offset, the first line's has one") as e:
        parse_request_log(iso.replace(".250Z", ".250").encode(), "prod.csv")
    assert e.value.line == 3


def test_mooncake_log_reads_to_exact_arrays_and_hash_ids(tmp_path):
    log = plan(tmp_path, 'requests from "trace.jsonl"', {"trace.jsonl": MOONCAKE}).workload.traffic.log
    assert (log.format, log.block_tokens, log.first_line) == ("mooncake", 512, 1)
    assert log.arrival.tolist() == [0.0, 0.0, 3.0, 5.999]
    assert log.prompt.tolist() == [6758, 2290, 915, 1053] and log.output.tolist() == [500, 316, 355, 26]
    assert log.hash_offsets.tolist() == [0, 14, 19, 21, 24]
    assert log.hash_ids.tolist() == [*range(14), 0, 42, 43, 44, 45, 0, 462, 0, 773, 774]


def test_quoted_csv_fields_read_as_unquoted():
    # RFC 4180's quotes, as spreadsheets and csv.QUOTE_ALL write them: until 2026-11-30 the header's column 1 was "no
    # column of an Azure log" and a quoted stamp "not a date and time"; a stray quote is still refused at its line
    quoted = ('"TIMESTAMP","ContextTokens","GeneratedTokens"\n"2023-11-16 18:17:03.9799600","4808","10"\n'
              '"2023-11-16 18:17:04.0319600",3180,8\n')
    log = parse_request_log(quoted.encode(), "q.csv")
    np.testing.assert_allclose(log.arrival, [0.0, 0.052], atol=1e-9)
    assert log.prompt.tolist() == [4808, 3180] and log.output.tolist() == [10, 8]
    with pytest.raises(LogError, match="`ContextTokens` is not a whole number") as e:
        parse_request_log(quoted.replace(',3180,', ',"31"80,').encode(), "q.csv")
    assert e.value.line == 3


def test_a_mooncake_line_without_hash_ids_shares_no_prefix():
    # docs/language.md: `hash_ids` may be left out (its table listed it as a field like the others until 2026-11-30)
    log = parse_request_log(b'{"timestamp": 0, "input_length": 1024, "output_length": 100}\n'
                            b'{"timestamp": 300, "input_length": 1100, "output_length": 200, "hash_ids": [1, 2]}\n',
                            "t.jsonl")
    assert log.arrival.tolist() == [0.0, 0.3] and log.hash_offsets.tolist() == [0, 0, 2]
    assert log.hash_ids.tolist() == [1, 2]


def test_a_mooncake_log_written_otherwise_reads_the_same():
    as_written = parse_request_log(MOONCAKE.encode(), "t.jsonl")
    reordered = "\n".join(json.dumps(dict(reversed(json.loads(line).items()))) for line in MOONCAKE.splitlines())
    for other in (reordered, MOONCAKE.replace(", ", ",")):
        assert parse_request_log(other.encode(), "t.jsonl").digest == as_written.digest
    long = MOONCAKE.replace('"input_length": 915', '"input_length": ' + "9" * 5000)
    with pytest.raises(LogError) as exc:
        parse_request_log(long.encode(), "t.jsonl")
    assert exc.value.line == 3


def test_format_is_told_by_extension_then_content():
    assert parse_request_log(MOONCAKE.encode(), "trace.txt").format == "mooncake"
    assert parse_request_log(AZURE_2023.encode(), "trace").format == "azure"
    assert parse_request_log(AZURE_2023.replace("\n", "\r\n").encode(), "t.csv").prompt.tolist()[0] == 4808


def test_equal_logs_have_equal_digests_and_the_arrays_are_read_only():
    a, b = parse_request_log(MOONCAKE.encode(), "a.jsonl"), parse_request_log(MOONCAKE.encode(), "b.jsonl")
    assert a.digest == b.digest and a == b and hash(a) == hash(b)
    assert parse_request_log(MOONCAKE.encode(), "a.jsonl", limit=2).digest != a.digest
    with pytest.raises(ValueError):
        a.prompt[0] = 1


# ---------------------------------------------------------------- requests, rate and concurrency with a log

def test_requests_takes_the_first_n_and_rate_scales_the_times(tmp_path):
    files = {"trace.jsonl": MOONCAKE}
    traffic = plan(tmp_path, 'requests from "trace.jsonl"  requests = 3  rate = 4 requests/s', files).workload.traffic
    assert traffic.requests == 3 and traffic.log.requests == 3          # only the first 3 lines are read
    r = requests_of(traffic, Workload(batch=8, prompt=2048, generate=64))
    np.testing.assert_allclose(r.arrival, [0.0, 0.0, 0.5])          # 2 gaps over 3 s → 2 gaps over 0.5 s
    assert r.prompt.tolist() == [6758, 2290, 915] and r.hash_offsets.tolist() == [0, 14, 19, 21]
    assert r.hash_ids.tolist() == [*range(14), 0, 42, 43, 44, 45, 0, 462]


def test_the_log_replays_at_its_own_times_or_in_a_closed_loop(tmp_path):
    w = Workload(batch=8, prompt=2048, generate=64)
    own = plan(tmp_path, 'requests from "t.csv"', {"t.csv": AZURE_2023}).workload.traffic
    assert requests_of(own, w).arrival.tolist() == own.log.arrival.tolist()
    closed = plan(tmp_path, 'requests from "t.csv"  concurrency = 2  ramp = 0 s').workload.traffic
    r = requests_of(closed, w)
    assert r.arrival is None and r.prompt.tolist() == [4808, 3180, 110, 7433]
    assert requests_of(closed.at_rate(1.0), w).arrival[-1] == pytest.approx(3.0)


def test_a_prefix_on_an_azure_log_is_hash_ids(tmp_path):
    traffic = plan(tmp_path, 'requests from "t.csv"  prefix = 100 tokens', {"t.csv": AZURE_2023}).workload.traffic
    r = requests_of(traffic, Workload(batch=8, prompt=2048, generate=64))
    assert r.block_tokens == 100 and r.hash_offsets.tolist() == [0, 49, 81, 83, 158]
    firsts = r.hash_ids[r.hash_offsets[:-1]]
    assert firsts.tolist() == [0, 0, 0, 0] and len(set(r.hash_ids.tolist())) == 158 - 3


# ---------------------------------------------------------------- bad logs: located, named, never echoed

BAD_LOGS = {
    "unknown column": ("t.csv", "TIMESTAMP,Context,GeneratedTokens\n2023-11-16 18:17:03.9799600,1,1\n", 1),
    "missing column": ("t.csv", "TIMESTAMP,ContextTokens\n2023-11-16 18:17:03.9799600,1\n", 1),
    "column twice": ("t.csv", "TIMESTAMP,ContextTokens,ContextTokens\n", 1),
    "fields": ("t.csv", AZURE_2023 + "2023-11-16 18:17:05.0,SECRET\n", 6),
    "empty line": ("t.csv", AZURE_2023.replace("\n2023-11-16 18:17:04.03", "\n\n2023-11-16 18:17:04.03"), 3),
    "not whole": ("t.csv", AZURE_2023.replace(",3180,", ",31.80,"), 3),
    "zero": ("t.csv", AZURE_2023.replace(",27\n", ",0\n"), 4),
    "negative": ("t.csv", AZURE_2023.replace(",4808,", ",-4808,"), 2),
    "too many tokens": ("t.csv", AZURE_2023.replace(",4808,", ",99999999999,"), 2),
    "not a time": ("t.csv", AZURE_2023.replace("2023-11-16 18:17:04.0781490", "SECRET o'clock"), 4),
    "out of order": ("t.csv", AZURE_2023.replace("18:17:04.0781490", "18:17:02.0781490"), 4),
    "offset missing": ("t.csv", AZURE_2024.replace("00:00:00.509930+00:00", "00:00:00.509930+00:00:0"), 3),
    "header only": ("t.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n", None),
    "empty": ("t.csv", "", None),
    "binary": ("t.csv", b"TIMESTAMP\x00SECRET", None),
    "not utf-8": ("t.csv", AZURE_2023.encode() + b"2023-11-16 18:17:05.0,\xff\xfe,1\n", 6),
    "not json": ("t.jsonl", MOONCAKE + '{"timestamp": 6000, SECRET}\n', 5),
    "json array": ("t.jsonl", MOONCAKE.replace('{"timestamp": 3000', '[1, 2]\n{"timestamp": 3000'), 3),
    "two objects": ("t.jsonl", MOONCAKE.replace("}\n{", "} {", 1), 1),
    "no key": ("t.jsonl", MOONCAKE.replace('"output_length": 316, ', ""), 2),
    "unknown key": ("t.jsonl", MOONCAKE.replace('"output_length": 316,', '"output_length": 316, "session_id": 1,'), 2),
    "string length": ("t.jsonl", MOONCAKE.replace('"input_length": 915', '"input_length": "SECRET"'), 3),
    "bool length": ("t.jsonl", MOONCAKE.replace('"input_length": 915', '"input_length": true'), 3),
    "float length": ("t.jsonl", MOONCAKE.replace('"input_length": 915', '"input_length": 915.5'), 3),
    "zero output": ("t.jsonl", MOONCAKE.replace('"output_length": 26', '"output_length": 0'), 4),
    "nan time": ("t.jsonl", MOONCAKE.replace('"timestamp": 3000', '"timestamp": NaN'), 3),
    "huge time": ("t.jsonl", MOONCAKE.replace('"timestamp": 5999', '"timestamp": 1e300'), 4),
    "time back": ("t.jsonl", MOONCAKE.replace('"timestamp": 5999', '"timestamp": 2999'), 4),
    "hash ids": ("t.jsonl", MOONCAKE.replace("[0, 462]", '"SECRET"'), 3),
    "hash id": ("t.jsonl", MOONCAKE.replace("[0, 462]", "[0, -462]"), 3),
    "more ids": ("t.jsonl", MOONCAKE.replace("[0, 462]", "[0, 462, 463]"), 3),
    "blank": ("t.jsonl", "\n" + MOONCAKE, 1),
}


@pytest.mark.parametrize("case", sorted(BAD_LOGS))
def test_a_bad_log_is_a_located_e108_naming_its_line(tmp_path, case):
    name, content, line = BAD_LOGS[case]
    d = diagnostic(tmp_path, f'requests from "{name}"', {name: content})
    assert d.code == "E108" and d.span.text == f'"{name}"' and d.span.line == 3 and d.hint
    assert d.message.startswith(f"request log `{name}`")
    if line is not None:
        assert f"`{name}` line {line}:" in d.message, d.message
    shown = render(d)
    assert "SECRET" not in shown and "^" in shown and "plan.moe:3:" in shown
    if case.startswith("unknown"):          # a header or key that is no log's is placed, never quoted (issue 52)
        assert "Context" not in d.message and "session_id" not in d.message
        assert ("column 2 is no column" if name == "t.csv" else "a field is no field") in d.message, d.message


@pytest.mark.parametrize(("kind", "said"), [("dir", "a directory"), ("fifo", "a pipe"), ("missing", "not exist")])
def test_only_a_regular_file_is_read(tmp_path, kind, said):
    target = tmp_path / "t.csv"
    if kind == "dir":
        target.mkdir()
    elif kind == "fifo":
        os.mkfifo(target)
    d = diagnostic(tmp_path, 'requests from "t.csv"')
    assert d.code == "E108" and said in d.message


def test_a_path_outside_the_plan_is_refused(tmp_path):
    d = diagnostic(tmp_path, 'requests from "../elsewhere.csv"')
    assert d.code == "E002"


def test_byte_and_request_bounds(tmp_path, monkeypatch):
    monkeypatch.setattr(request_log, "MAX_LOG_BYTES", len(AZURE_2023) - 10)
    d = diagnostic(tmp_path, 'requests from "t.csv"', {"t.csv": AZURE_2023})
    assert d.code == "E108" and "larger than" in d.message
    # the first requests of a larger log are within the bound
    assert plan(tmp_path, 'requests from "t.csv"  requests = 2').workload.traffic.log.prompt.tolist() == [4808, 3180]
    d = diagnostic(tmp_path, 'requests from "t.csv"  requests = 4')
    assert "larger than" in d.message
    monkeypatch.setattr(request_log, "MAX_LOG_BYTES", 1 << 20)
    monkeypatch.setattr(request_log, "MAX_LOG_REQUESTS", 3)
    d = diagnostic(tmp_path, 'requests from "t.csv"')
    assert "more than 3 requests" in d.message and "requests = N" in d.hint
    assert plan(tmp_path, 'requests from "t.csv"  requests = 3').workload.traffic.requests == 3


# ---------------------------------------------------------------- fields that do not go with a log (E104)

@pytest.mark.parametrize(("traffic", "field"), [
    ('requests from "t.jsonl"  arrival = uniform', "arrival"),
    ('requests from "t.jsonl"  lengths = lognormal', "lengths"),
    ('requests from "t.jsonl"  seed = 2', "seed"),
    ('requests from "t.jsonl"  ramp = 1 s', "ramp"),
    ('requests from "t.jsonl"  prefix = 10', "prefix"),
    ('requests from "t.jsonl"  rate = 1 requests/s  concurrency = 4', "concurrency"),
    ('requests from "t.jsonl"  requests = 5', "requests"),
    ('requests from "t.jsonl"  requests = 2  rate = 1 requests/s', "rate"),
    ('requests from "t.csv"  prefix = 110', "prefix"),
])
def test_fields_that_do_not_go_with_a_log(tmp_path, traffic, field):
    d = diagnostic(tmp_path, traffic, {"t.jsonl": MOONCAKE, "t.csv": AZURE_2023})
    assert d.code == "E104" and d.span.text.startswith(field), (d.message, d.span.text)


def test_a_prefix_too_long_for_a_log_names_the_shortest_prompts_line(tmp_path):
    d = diagnostic(tmp_path, 'requests from "t.csv"  prefix = 110 tokens', {"t.csv": AZURE_2023})
    assert "line 4 of `t.csv`" in d.message
    # its length, and the most that fits (until 2026-12-01 "write fewer tokens than the log's shortest prompt")
    assert d.message.endswith("line 4 of `t.csv`, the log's shortest: 110 tokens")
    assert d.hint.endswith("every request shares: write `prefix = 109` or fewer")
    plan(tmp_path, 'requests from "t.csv"  prefix = 109 tokens', {"t.csv": AZURE_2023})     # which the plan takes
    one = AZURE_2023.replace(",110,", ",1,")
    d = diagnostic(tmp_path, 'requests from "t.csv"  prefix = 1', {"t.csv": one})
    assert d.hint.endswith("a prompt of 1 token has no room for one: remove `prefix`")


@pytest.mark.parametrize(("traffic", "field"), [
    ("rate = 1 requests/s  length_cv = 0.3", "length_cv"),
    ("rate = 1 requests/s  lengths = uniform  length_cv = 0.6", "length_cv"),
    ("rate = 1 requests/s  lengths = exponential  length_cv = 1.5", "length_cv"),
    ("rate = 1 requests/s  prefix = 2048 tokens", "prefix"),
    ("rate = 1 requests/s  requests = 10_000_000  prefix = 1", "prefix"),
    ("lengths = uniform", "lengths"),
])
def test_length_and_prefix_fields_are_checked(tmp_path, traffic, field):
    d = diagnostic(tmp_path, traffic)
    assert d.code == "E104" and d.span.text.startswith(field), (d.message, d.span.text)


# ---------------------------------------------------------------- drawn lengths and a shared prefix

@pytest.mark.parametrize("kind", ["uniform", "exponential", "lognormal"])
@pytest.mark.parametrize("cv", [None, 0.25])
def test_drawn_lengths_are_seeded_near_their_mean_and_at_least_1(kind, cv):
    x = draw_lengths(kind, 2000, cv, 200_000, np.random.default_rng(7))
    assert np.array_equal(x, draw_lengths(kind, 2000, cv, 200_000, np.random.default_rng(7)))
    assert x.dtype == np.int64 and x.min() >= 1 and x.max() <= DRAW_LIMIT * 2000
    assert x.mean() == pytest.approx(2000, rel=0.01)
    spread = {"uniform": 0.5, "exponential": 1.0, "lognormal": 0.5}[kind] if cv is None else cv
    assert x.std() / x.mean() == pytest.approx(spread, rel=0.05)


def test_short_lengths_stay_at_least_one():
    assert draw_lengths("lognormal", 1, 4.0, 10_000, np.random.default_rng(0)).min() == 1
    assert draw_lengths("fixed", 5, None, 3, np.random.default_rng(0)).tolist() == [5, 5, 5]


def test_requests_with_lengths_and_a_prefix(tmp_path):
    traffic = plan(tmp_path, "rate = 5 requests/s  requests = 4000  seed = 3  lengths = lognormal  length_cv = 0.8 "
                   " prefix = 1000 tokens").workload.traffic
    assert (traffic.lengths, traffic.length_cv, traffic.prefix) == ("lognormal", 0.8, 1000)
    w = Workload(batch=8, prompt=2048, generate=64)
    r, again = requests_of(traffic, w), requests_of(traffic, w)
    assert np.array_equal(r.prompt, again.prompt) and np.array_equal(r.hash_ids, again.hash_ids)
    assert r.prompt.min() >= 1001 and r.prompt.mean() == pytest.approx(2048, rel=0.05)
    assert r.output.min() >= 1 and r.output.mean() == pytest.approx(64, rel=0.05)
    assert r.block_tokens == 500 and r.hash_offsets[-1] == len(r.hash_ids)
    starts = r.hash_offsets[:-1]
    assert (r.hash_ids[starts] == 0).all() and (r.hash_ids[starts + 1] == 1).all()      # two shared blocks
    own = np.delete(r.hash_ids, np.concatenate([starts, starts + 1]))
    assert len(np.unique(own)) == len(own) and own.min() == 2                             # the rest each its own
    other = requests_of(traffic.model_copy(update={"seed": 4}), w)
    assert not np.array_equal(r.prompt, other.prompt)


def test_prefix_hash_ids_by_hand():
    ids, offsets, block = prefix_hash_ids(np.array([1500, 1100, 1001]), 1000)
    assert block == 500 and offsets.tolist() == [0, 3, 6, 9]
    assert ids.tolist() == [0, 1, 2, 0, 1, 3, 0, 1, 4]


def test_fixed_traffic_without_prefix_is_as_before():
    r = requests_of(Traffic(requests=4, rate=2.0), Workload(batch=8, prompt=300, generate=20))
    expected = np.cumsum(np.random.default_rng(0).exponential(0.5, 4))
    assert np.array_equal(r.arrival, expected) and r.prompt.tolist() == [300] * 4 and r.hash_ids is None


# ---------------------------------------------------------------- fuzzing: a diagnostic, never a traceback

_LINES = st.sampled_from([
    "TIMESTAMP,ContextTokens,GeneratedTokens", "2023-11-16 18:17:03.9799600,4808,10", "2024-05-10 00:00:00.1+00:00,1,1",
    '{"timestamp": 0, "input_length": 600, "output_length": 9, "hash_ids": [0, 1]}', '{"timestamp": 1e400}',
    '{"input_length": 99999999999999999999999}', '{"timestamp": 1' + '0' * 400 + '}', "", ",,", "{", "[]",
    "NaT,1,1", '{"hash_ids": [1.5]}'])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(st.one_of(_LINES, st.text(max_size=40)), max_size=8), name=st.sampled_from(["t.csv", "t.jsonl",
       "t"]), limit=st.one_of(st.none(), st.integers(1, 5)))
def test_fuzzed_logs_read_or_say_why(lines, name, limit):
    try:
        log = parse_request_log("\n".join(lines).encode("utf-8", "surrogatepass"), name, limit)
    except LogError as exc:
        assert exc.message and exc.hint and (exc.line is None or exc.line >= 1)
        return
    assert log.requests >= 1 and (log.prompt >= 1).all() and (np.diff(log.arrival) >= 0).all()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=200))
def test_fuzzed_bytes_read_or_say_why(data):
    for name in ("t.csv", "t.jsonl"):
        try:
            parse_request_log(data, name)
        except LogError:
            pass


_TRAFFIC = st.lists(st.sampled_from([
    "rate = 3 requests/s", "concurrency = 2", "requests = 2", "requests = 9", "arrival = uniform", "seed = 5",
    "ramp = 0 s", "lengths = uniform", "lengths = exponential", "lengths = lognormal", "length_cv = 0.3",
    "length_cv = 2", "prefix = 100 tokens", "prefix = 3000", 'requests from "t.csv"', 'requests from "t.jsonl"',
    'requests from "gone.csv"', "lengths = fixed", "prefix = 0"]), max_size=5, unique=True)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(fields=_TRAFFIC)
def test_any_traffic_loads_and_sends_or_is_a_diagnostic(tmp_path, fields):
    try:
        traffic = plan(tmp_path, "  ".join(fields), {"t.csv": AZURE_2023, "t.jsonl": MOONCAKE}).workload.traffic
    except PlanError as exc:
        assert exc.diagnostics and all(d.span is not None and d.code in ("E002", "E104", "E108")
                                       for d in exc.diagnostics)
        return
    if traffic is None:
        assert not fields
        return
    r = requests_of(traffic, Workload(batch=8, prompt=2048, generate=64))
    assert len(r) == traffic.requests and r.prompt.min() >= 1 and r.output.min() >= 1
    assert (r.arrival is None) == (traffic.concurrency is not None)
    if r.hash_ids is not None:
        assert r.hash_offsets[-1] == len(r.hash_ids) and len(r.hash_offsets) == len(r) + 1


@pytest.mark.parametrize(("stamps", "line", "said"), [
    (["1e999"], 1, "`timestamp` is not a finite number"),
    (["-1e308", "1e308"], 2, "`timestamp` is not a time within 1e+09 s of the first request's"),
    (["1e308", "-1e308"], 2, "`timestamp` is earlier than the line above's"),
])
def test_a_mooncake_time_past_a_float_is_said_without_numpy_s_warnings(stamps, line, said):
    """Until 2026-12-03 numpy's `RuntimeWarning: invalid value encountered in subtract`, with dagc's source line,
    came before the E108, and two finite times too far apart for a float's difference read "not a finite number"."""
    import warnings

    text = "".join(f'{{"timestamp":{t},"input_length":100,"output_length":10}}\n' for t in stamps)
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # a warning would fail the test, not print
        with pytest.raises(LogError) as e:
            parse_request_log(text.encode(), "l.jsonl")
    assert (e.value.line, e.value.message) == (line, said)


def test_a_nul_byte_is_said_at_its_line():
    """A late NUL byte in a large log: until 2026-12-03 "the file is binary" at no line."""
    data = b"TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.9799600,4808,10\ngarbage\xff\x00line\n"
    with pytest.raises(LogError) as e:
        parse_request_log(data, "t.csv")
    assert (e.value.line, e.value.message) == (3, "a NUL byte: the file is binary, not a request log")


def test_a_count_past_any_context_is_hinted_its_column_not_a_failed_request():
    data = b"TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.9799600,99999999999999999999,10\n"
    with pytest.raises(LogError) as e:
        parse_request_log(data, "t.csv")
    assert e.value.message.startswith("`ContextTokens` is more than ")
    assert e.value.hint == "no model's context holds that many: is it the column of the token counts?"
    zero = b"TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.9799600,0,10\n"
    with pytest.raises(LogError) as e:
        parse_request_log(zero, "t.csv")
    assert e.value.hint == "drop requests that were refused or failed from the log"
