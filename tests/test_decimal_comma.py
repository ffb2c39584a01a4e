"""A number written with a decimal comma, as much of Europe writes it — `price = 2,49 $/h`, `rate = 2,5 requests/s`
— is told to write a point, the line as dagc reads it. It read as two values: in the cluster the hint was a
fleet's sweep, `fleet { price = [2, 49] }` (a field no fleet sweeps: pasted, it is E101), and in a fleet's GPU type
`docs/language.md describes what may stand here`. A list without spaces (`gpus = 8,16`) keeps its sweep."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text

HEAD = 'model preset "qwen3-30b-a3b"\n'
WORKLOAD = "workload { batch = 64  prompt = 1024  generate = 300  serving = inflight  rate = 5 requests/s }\n"


def _only_error(text: str) -> tuple[str, str, int, int, str | None]:
    with pytest.raises(PlanError) as exc:
        load_plan_text(text, "p.moe", needs_strategy=False)
    [d] = exc.value.diagnostics
    return d.code, d.message, d.span.line, d.span.column, d.hint


def test_a_clusters_price_with_a_decimal_comma_is_told_to_write_a_point():
    text = HEAD + 'cluster { gpus = 8  gpu preset "h100-sxm"  price = 2,49 $/h }\n' + WORKLOAD
    assert _only_error(text) == ("E001", "unexpected `,` after `price =`", 2, 53,
                                 "a decimal is written with a point: `price = 2.49 $/h`")


def test_a_rate_with_a_decimal_comma_is_told_to_write_a_point():
    text = HEAD + 'cluster { gpus = 8  gpu preset "h100-sxm" }\n' + WORKLOAD.replace("5 requests/s", "2,5 requests/s")
    assert _only_error(text)[4] == "a decimal is written with a point: `rate = 2.5 requests/s`"


def test_a_fleet_gpu_types_price_with_a_decimal_comma_is_told_to_write_a_point():
    text = (HEAD + 'cluster { gpus = 8  gpu preset "h100-sxm" }\n' + WORKLOAD
            + 'fleet {\n  gpu preset "h200" { price = 3,49 $/h }\n  gpus = [1, 2]\n}\n')
    assert _only_error(text) == ("E001", "unexpected `,` after `price =`", 5, 32,
                                 "a decimal is written with a point: `price = 3.49 $/h`")


def test_whole_numbers_with_a_comma_and_no_unit_are_still_a_sweep():
    text = HEAD + 'cluster { gpus = 8,16  gpu preset "h100-sxm" }\n' + WORKLOAD
    assert _only_error(text)[4] == ("a field takes one value; to compare several, sweep them in a fleet: "
                                    "`fleet { gpus = [8, 16] }` (docs/fleet.md)")
