"""Issue 52, the adversarial round: each finding held by a test of its class.

Request logs (1, 3, 9, 10, 12): a file that is not a log is never echoed; the caps are counted on the bytes
before a line becomes an object; timestamps and token counts are what they say; a reordered Mooncake log
takes the vectorised path. Then a log's and a GPU's names in report.md (5) and the documented bounds (15);
the other classes are in test_adversarial_52_outputs.py. Everything writes inside tmp dirs."""

from __future__ import annotations

import json
import time
import tracemalloc

import numpy as np
import pytest

from dagc.diagnostics import PlanError, render
from dagc.lang import mooncake_log, request_log
from dagc.lang.load import load_plan
from dagc.lang.request_log import LogError, parse_request_log
from conftest import plan_text

WORKLOAD = "workload {{ batch = 8  prompt = 2048  generate = 64  serving = inflight  {} }}"
AZURE = """TIMESTAMP,ContextTokens,GeneratedTokens
2023-11-16 18:17:03.9799600,4808,10
2023-11-16 18:17:04.0319600,3180,8
2023-11-16 18:17:04.0781490,110,27
"""
MOONCAKE = """{"timestamp": 0, "input_length": 6758, "output_length": 500, "hash_ids": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]}
{"timestamp": 0, "input_length": 2290, "output_length": 316, "hash_ids": [0, 42, 43, 44, 45]}
{"timestamp": 3000, "input_length": 915, "output_length": 355, "hash_ids": [0, 462]}
{"timestamp": 5999, "input_length": 1053, "output_length": 26, "hash_ids": [0, 773, 774]}
"""  # noqa: E501
TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0" * 2        # a made-up token of a credential's shape


def log_diagnostic(tmp_path, name: str, content: str | bytes, *, allow=()):
    (tmp_path / name).write_bytes(content.encode() if isinstance(content, str) else content)
    plan = tmp_path / "plan.moe"
    plan.write_text(plan_text(workload=WORKLOAD.format(f'requests from "{name}"')))
    with pytest.raises(PlanError) as exc:
        load_plan(plan, allow_paths=allow)
    (d,) = exc.value.diagnostics
    assert d.code == "E108" and d.hint
    return d


def refused(data: bytes, name: str, limit: int | None = None) -> LogError:
    with pytest.raises(LogError) as exc:
        parse_request_log(data, name, limit)
    return exc.value


# ---------------------------------------------------------------- 1: a file that is no log is never echoed

@pytest.mark.parametrize(("name", "content"), [
    (".env", f"GITHUB_TOKEN={TOKEN}\nAWS_SECRET_ACCESS_KEY=abc\n"),
    ("creds.csv", f"user,{TOKEN}\n"),
    ("TIMESTAMP.csv", f"TIMESTAMP,{TOKEN},GeneratedTokens\n"),
    ("keys.jsonl", json.dumps({TOKEN: 1}) + "\n"),
    ("keys.json", json.dumps({"timestamp": 0, "input_length": 1, "output_length": 1, "hash_ids": [], TOKEN: 0})),
    ("id_ed25519", f"-----BEGIN OPENSSH PRIVATE KEY-----\n{TOKEN}\n"),
])
def test_a_file_that_is_not_a_log_is_placed_never_quoted(tmp_path, name, content):
    d = log_diagnostic(tmp_path, name, content)
    shown = render(d) + d.message + (d.hint or "")
    for secret in (TOKEN, TOKEN[:8], "GITHUB_TOKEN", "AWS_SECRET", "BEGIN OPENSSH", "user"):
        assert secret not in shown, shown
    assert "line 1" in d.message


def test_a_file_outside_the_plan_under_allow_path_is_not_echoed_either(tmp_path):
    secrets, plan_dir = tmp_path / "home", tmp_path / "repo"
    secrets.mkdir()
    plan_dir.mkdir()
    (secrets / "config").write_text(f"GITHUB_TOKEN={TOKEN}\n")
    plan = plan_dir / "plan.moe"
    plan.write_text(plan_text(workload=WORKLOAD.format(f'requests from "{secrets / "config"}"')))
    with pytest.raises(PlanError) as exc:
        load_plan(plan, allow_paths=(tmp_path,))
    assert TOKEN[:8] not in str(exc.value.diagnostics) and "E108" in str(exc.value.diagnostics)


# ---------------------------------------------------------------- 3: caps counted on the bytes, before any line object

@pytest.fixture
def no_line_parsed(monkeypatch):
    """Parsing the lines fails the test: a refusal must come from counting the bytes."""
    def never(lines, name):
        raise AssertionError("the log's lines were parsed before its size was judged")
    monkeypatch.setattr(request_log, "mooncake_log", never)
    monkeypatch.setattr(request_log, "azure_log", never)


@pytest.mark.parametrize(("line", "name"), [(b"{}\n", "t.jsonl"), (b"\n", "t.jsonl"), (b"\n", "t.csv"),
                                            (b"1,1,1\n", "t.csv"), (b"x", "t.csv")])
def test_more_lines_than_the_cap_are_refused_by_counting(monkeypatch, no_line_parsed, line, name):
    monkeypatch.setattr(request_log, "MAX_LOG_REQUESTS", 100)
    header = 1 if name.endswith(".csv") else 0
    data = (line if line.endswith(b"\n") else line + b"\n") * (101 + header)
    exc = refused(data, name)
    assert exc.line is None and "more than 100 requests" in exc.message and "requests = N" in exc.hint
    if line.strip():
        assert refused(data[:-1], name).line is None      # the last line need not end in a newline


def test_a_log_at_the_cap_is_read_and_requests_n_reads_only_n(monkeypatch):
    monkeypatch.setattr(request_log, "MAX_LOG_REQUESTS", 4)
    assert parse_request_log(MOONCAKE.encode(), "t.jsonl").requests == 4
    assert parse_request_log(AZURE.encode(), "t.csv").requests == 3
    longer = MOONCAKE + MOONCAKE.replace('"timestamp": 0,', '"timestamp": 6000,')
    assert refused(longer.encode(), "t.jsonl").line is None
    assert parse_request_log(longer.encode(), "t.jsonl", limit=4).requests == 4     # the rest is never read
    assert parse_request_log((longer + "SECRET\n" * 9).encode(), "t.jsonl", limit=2).requests == 2


def test_the_byte_cap_applies_to_the_lines_read(monkeypatch):
    monkeypatch.setattr(request_log, "MAX_LOG_BYTES", len(MOONCAKE) - 1)
    data = MOONCAKE.encode()
    assert "larger than" in refused(data, "t.jsonl").message
    assert parse_request_log(data, "t.jsonl", limit=2).requests == 2       # the first two lie within the bytes
    assert "larger than" in refused(data, "t.jsonl", limit=4).message


def test_a_refused_log_costs_neither_memory_nor_time():
    data = b"{}\n" * (6 << 20)            # 18 MiB, 6 M lines: three times the request cap
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        exc = refused(data, "t.jsonl")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "more than 2,000,000 requests" in exc.message
    assert peak < 1 << 20 and time.perf_counter() - t0 < 2.0      # not a line, not a copy of the bytes


def test_running_out_of_memory_is_a_diagnostic_not_a_traceback(tmp_path, monkeypatch):
    def exhausted(data, name, limit=None):
        raise MemoryError
    monkeypatch.setattr(request_log, "parse_request_log", exhausted)
    d = log_diagnostic(tmp_path, "t.csv", AZURE)
    assert "does not fit in this machine's memory" in d.message and d.span.text == '"t.csv"'


# ---------------------------------------------------------------- 9, 10: times and counts are what they say

@pytest.mark.parametrize("stamp", ["9999-01-01 00:00:00", "2262-04-12 00:00:00", "1600-01-01 00:00:00", "2023",
                                   "now", "today", "2023-11-16", "2023-11-16 18:17", "1" * 1_000_000,
                                   "2023-11-16 18:17:04.0781490" + "0" * 10, "２０２３-11-16 18:17:04",
                                   "2023-11-16 18:17:04Z", " 2023-11-16 18:17:04", "2023-02-30 00:00:00"])
def test_a_timestamp_is_a_date_and_time_in_range(stamp):
    data = AZURE.replace("2023-11-16 18:17:04.0781490", stamp).encode()
    exc = refused(data, "t.csv")
    assert exc.line == 4 and "not a date and time" in exc.message and "1678 to 2261" in exc.hint


def test_timestamps_at_the_ends_of_the_range_are_read():
    data = AZURE.replace("2023-11-16 18:17:03.9799600", "2023-11-16T18:17:03").encode()
    assert parse_request_log(data, "t.csv").arrival[1] == pytest.approx(1.03196)
    edges = "TIMESTAMP,ContextTokens,GeneratedTokens\n1678-01-01 00:00:00,1,1\n2261-12-31 00:00:00,1,1\n"
    assert refused(edges.encode(), "t.csv").line == 3       # read to 583 years apart: past the span a log may have
    assert "within 1e+09 s" in refused(edges.encode(), "t.csv").message


@pytest.mark.parametrize("count", ["٣١٨٠", "3_180", " 3180", "3180 ", "+3180", "3180.0", "0x10", "", "3１80",
                                   "9" * 5000])
def test_a_token_count_is_ascii_digits(count):
    exc = refused(AZURE.replace(",3180,", f",{count},").encode(), "t.csv")
    assert exc.line == 3 and "`ContextTokens`" in exc.message
    said = "more than 4,294,967,296 tokens" if count.isascii() and count.isdigit() else "not a whole number"
    assert said in exc.message


def test_leading_zeros_are_a_whole_number():
    assert parse_request_log(AZURE.replace(",3180,", ",03180,").encode(), "t.csv").prompt.tolist()[1] == 3180


# ---------------------------------------------------------------- 12: a reordered Mooncake log takes the fast path

def reordered(text: str, compact: bool = False) -> str:
    seps = (",", ":") if compact else (", ", ": ")
    return "".join(json.dumps(dict(reversed(json.loads(line).items())), separators=seps) + "\n"
                   for line in text.splitlines())


@pytest.mark.parametrize("compact", [False, True])
def test_a_reordered_mooncake_log_is_read_without_json(monkeypatch, compact):
    expected = parse_request_log(MOONCAKE.encode(), "t.jsonl")
    def no_json(lines, first):
        raise AssertionError("a plain log was read as JSON")
    monkeypatch.setattr(mooncake_log, "_json_lines", no_json)
    got = parse_request_log(reordered(MOONCAKE, compact).encode(), "t.jsonl")
    assert got.digest == expected.digest and got.hash_ids.tolist() == expected.hash_ids.tolist()


@pytest.mark.parametrize("ids", ["[0 462]", "[0, 462,]", "[, 0]", "[0,, 462]", "[0, 99999999999999999999]",
                                 "[0, -1]", "[0, 4.5]", "[true]"])
def test_an_id_list_the_fast_path_cannot_read_is_judged_as_json(ids):
    assert refused(MOONCAKE.replace("[0, 462]", ids).encode(), "t.jsonl").line == 3


def test_chunks_keep_line_numbers_and_give_the_whole_log(monkeypatch):
    monkeypatch.setattr(mooncake_log, "CHUNK_LINES", 3)
    lines = MOONCAKE.splitlines()
    mixed = "\n".join([lines[0], reordered(lines[1]).strip(), *lines[2:], lines[3].replace('"timestamp": 5999',
                                                                                            '"timestamp": 7000')])
    log = parse_request_log(mixed.encode(), "t.jsonl")
    assert log.requests == 5 and log.hash_offsets.tolist() == [0, 14, 19, 21, 24, 27]
    np.testing.assert_array_equal(log.arrival, [0.0, 0.0, 3.0, 5.999, 7.0])
    bad = mixed.replace('"timestamp": 7000', '"timestamp": 7000, "SECRET": 1')
    exc = refused(bad.encode(), "t.jsonl")
    assert exc.line == 5 and "SECRET" not in exc.message


# ---------------------------------------------------------------- 5: a log's and a GPU's names are text in report.md

def test_a_log_file_name_and_an_fp4_gpu_name_are_text_in_the_report(tmp_path):
    from markdown_it import MarkdownIt

    from dagc.export.compile import compile_results
    from dagc.verdict.check import check

    evil = "![x](https:evil.example)"
    log = "<img src=x onerror=alert(1)>[l](https:evil.example).csv"
    (tmp_path / log).write_text(AZURE)
    (tmp_path / "p.moe").write_text(
        f'model "m" {{ weights = nvfp4  layers = 4  hidden = 256  heads = 8  kv_heads = 2  head_dim = 32  '
        f'vocab = 1000\n  moe {{ experts = 4  top_k = 2  ffn = 512 }} }}\n'
        f'cluster {{ gpus = 4  gpus_per_node = 2  gpu "{evil}" {{ memory = 80 GB  flops = 400 TFLOPS  '
        "hbm = 2 TB/s } }\n"
        f'workload {{ batch = 8  prompt = 128  generate = 8  serving = inflight  requests from "{log}" }}\n'
        "strategy tp 2 ; ep 2\n")
    plan = load_plan(tmp_path / "p.moe")
    compile_results(plan, check(plan), tmp_path / "o")
    md = (tmp_path / "o" / "report.md").read_text()
    assert "no fp4 units" in md and "## Load" in md and "onerror" in md      # both named, as text
    for t in MarkdownIt("commonmark", {"html": True}).enable("table").parse(md):
        for c in [t, *(t.children or ())]:
            assert c.type not in ("html_inline", "html_block"), c.content
            assert c.type != "image" or c.attrGet("src") in ("dag.svg", "placement.svg", "load_cdf.svg",
                                                            "load_timeline.svg"), c.attrGet("src")
            assert c.type != "link_open" or "evil" not in str(c.attrGet("href"))


# ---------------------------------------------------------------- 15: the bounds the docs state are the ones checked

def _doc_row(field: str) -> str:
    from conftest import ROOT

    (row,) = [line for line in (ROOT / "docs" / "language.md").read_text().splitlines()
              if line.startswith(f"| `{field}` |")]
    return row


def _lowered(tmp_path, traffic: str):
    (tmp_path / "p.moe").write_text(plan_text(workload=WORKLOAD.format(traffic)))
    return load_plan(tmp_path / "p.moe")


def _e104(tmp_path, traffic: str) -> str:
    with pytest.raises(PlanError) as exc:
        _lowered(tmp_path, traffic)
    (d,) = exc.value.diagnostics
    assert d.code == "E104", d
    return d.message


def test_rate_acceptance_and_requests_are_checked_as_documented(tmp_path):
    from dagc.lang.fields import (
        ACCEPTANCE_MIN,
        RATE_LIMIT,
        RATE_MIN,
        REQUESTS_LIMIT,
        SPECULATIVE_FIELDS,
        WORKLOAD_FIELDS,
    )

    assert WORKLOAD_FIELDS["rate"].lo == RATE_MIN == 1e-6 and WORKLOAD_FIELDS["rate"].hi == RATE_LIMIT
    assert SPECULATIVE_FIELDS["acceptance"].lo == ACCEPTANCE_MIN == 1e-9
    assert "at least 10⁻⁶" in _doc_row("rate") and f"{RATE_LIMIT:,.0f}" in _doc_row("rate")
    assert "from 10⁻⁹ to 1" in _doc_row("acceptance")
    assert f"1–{REQUESTS_LIMIT:,}" in _doc_row("requests")
    assert _lowered(tmp_path, "rate = 1e-6 requests/s").workload.traffic.rate == RATE_MIN
    assert "at least 0.000001 requests/s" in _e104(tmp_path, "rate = 9.9e-7 requests/s")
    assert "at least 0.000001 requests/s" in _e104(tmp_path, "rate = 0 requests/s")
    assert _lowered(tmp_path, f"rate = 1 requests/s  requests = {REQUESTS_LIMIT}").workload.traffic.requests \
        == REQUESTS_LIMIT
    assert "too large" in _e104(tmp_path, f"rate = 1 requests/s  requests = {REQUESTS_LIMIT + 1}")
    spec = "speculative {{ method = ngram  tokens = 2  acceptance = {} }}"
    assert _lowered(tmp_path, spec.format("1e-9")).workload.speculative.acceptance == ACCEPTANCE_MIN
    assert "at least" in _e104(tmp_path, spec.format("9e-10"))
    assert "at least" in _e104(tmp_path, spec.format("0"))
