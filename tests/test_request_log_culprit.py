"""A bad request log is said at the line at fault, in words that fit it (dagc.lang.log_fields,
dagc.lang.mooncake_log, dagc.lang.request_log): a Mooncake time of `Infinity` at its own line, not as the next
line being "earlier"; a token count of `915.0` as not a whole number, not as "not a number"; and a log too large
for the `requests = N` the plan already writes with a hint that does not ask for `requests = N` again."""

from __future__ import annotations

import pytest

from dagc.lang import request_log
from dagc.lang.request_log import LogError, parse_request_log

# The first lines of Mooncake's conversation trace (kvcache-ai/Mooncake, FAST25-release/traces)
MOONCAKE = """{"timestamp": 0, "input_length": 6758, "output_length": 500, "hash_ids": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]}
{"timestamp": 0, "input_length": 2290, "output_length": 316, "hash_ids": [0, 42, 43, 44, 45]}
{"timestamp": 3000, "input_length": 915, "output_length": 355, "hash_ids": [0, 462]}
{"timestamp": 5999, "input_length": 1053, "output_length": 26, "hash_ids": [0, 773, 774]}
"""  # noqa: E501


def said(text: str, name: str = "t.jsonl", limit: int | None = None) -> LogError:
    with pytest.raises(LogError) as exc:
        parse_request_log(text.encode(), name, limit)
    return exc.value


@pytest.mark.parametrize("word", ["Infinity", "1e999"])
def test_an_infinite_time_is_said_at_its_own_line(word):
    # line 3 is the one at fault; line 4's 5999 ms only looks earlier than it (the old code said line 4)
    e = said(MOONCAKE.replace('"timestamp": 3000', f'"timestamp": {word}'))
    # "is not a time within 1e+09 s of the first request's" until 2026-12-03, said of the first request's too
    assert (e.line, e.message) == (3, "`timestamp` is not a finite number")


def test_a_time_that_goes_back_is_still_said_where_it_goes_back():
    e = said(MOONCAKE.replace('"timestamp": 5999', '"timestamp": 2999'))
    assert (e.line, e.message) == (4, "`timestamp` is earlier than the line above's")
    # a line going back comes first in the log: it is said, not the infinite time below it
    e = said(MOONCAKE.replace('"timestamp": 3000', '"timestamp": -1').replace('"timestamp": 5999',
                                                                              '"timestamp": Infinity'))
    assert (e.line, e.message) == (3, "`timestamp` is earlier than the line above's")


@pytest.mark.parametrize("value", ["915.0", "915.5", '"915"', "true"])
def test_a_token_count_that_is_no_whole_number_says_so(value):
    e = said(MOONCAKE.replace('"input_length": 915', f'"input_length": {value}'))
    assert (e.line, e.message) == (3, "`input_length` is not a whole number")
    assert "without a decimal point" in e.hint and value.strip('"') not in e.hint


def test_a_time_that_is_no_number_still_says_so():
    e = said(MOONCAKE.replace('"timestamp": 3000', '"timestamp": "3000"'))
    assert (e.line, e.message) == (3, "`timestamp` is not a number")


def test_too_large_with_requests_written_does_not_ask_for_requests_again(monkeypatch):
    monkeypatch.setattr(request_log, "MAX_LOG_BYTES", 100)
    e = said(MOONCAKE)
    assert "write `requests = N`" in e.hint               # no `requests = N` in the plan: it is the way out
    e = said(MOONCAKE, limit=2)                            # the first two lines are 204 bytes, past the 100
    assert e.message == ("the file is larger than 100 bytes, the most dagc reads of a request log, before its first "
                         "2 requests end")
    assert "write `requests = N`" not in e.hint and "`requests = 2` reads the lines" in e.hint
    monkeypatch.setattr(request_log, "MAX_LOG_BYTES", 300)  # the first two lines lie within it: read
    assert parse_request_log(MOONCAKE.encode(), "t.jsonl", 2).prompt.tolist() == [6758, 2290]


def test_a_negative_count_in_an_azure_log_is_below_1_as_in_a_mooncake_one():
    azure = ("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.9799600,4808,10\n"
             "2023-11-16 18:17:04.0319600,3180,-5\n")
    e = said(azure, "t.csv")              # it was "is not a whole number", hinted "digits 0-9 only"
    assert (e.line, e.message) == (3, "`GeneratedTokens` is below 1: every request has a prompt and an output")
    m = said(MOONCAKE.replace('"output_length": 355', '"output_length": -5'))
    assert m.message == "`output_length` is below 1: every request has a prompt and an output" and m.hint == e.hint
    e = said(azure.replace(",-5", ",+5"), "t.csv")
    assert e.message == "`GeneratedTokens` is not a whole number"


def test_a_time_that_is_no_number_is_said_so_on_the_first_line_too():
    # a new user's `"timestamp": NaN` on line 1 read "is not a time within 1e+09 s of the first request's" (it is the
    # first request), hinted "check the time unit"
    e = said(MOONCAKE.replace('"timestamp": 0', '"timestamp": NaN', 1))
    assert (e.line, e.message, e.hint) == (1, "`timestamp` is not a finite number", "write each request's time as a "
                                           "number")
    # a count below 1 that is negative is no refused request's: the column is not what it is said to be
    e = said(MOONCAKE.replace('"input_length": ', '"input_length": -', 1))
    assert e.message == "`input_length` is below 1: every request has a prompt and an output"
    assert e.hint == "a token count is a whole number from 1: check the column (a negative count is no request's)"
