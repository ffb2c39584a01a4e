"""A load bound by its step time whose requests never queue for admission says so: "no request waits to be
admitted", not "a request waits 0 ns to be admitted" (dagc.export.binding_text; trial 46, Mixtral 8x7B `tp 2` on
H100s under a service's log, past its TPOT target)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(("wait", "said"), [(0.0, "41.67 in flight on average, no request waits to be admitted."),
                                            (0.25, "41.67 in flight on average, a request waits 250 ms to be "
                                                   "admitted.")])
def test_a_step_bound_load_whose_requests_never_queue_says_none_waits(wait, said):
    # Mixtral 8x7B, `tp 2` on H100s under a service's log past its TPOT: until 2026-11-30 "a request waits 0 ns to be
    # admitted"
    from dagc.export.binding_text import binding_text
    b = {"limit": "step_compute", "step": "decode", "step_s": 0.03125, "step_compute_share": 0.972,
         "step_communication_share": 0.028, "running_mean": 41.67, "admission_wait_s": wait}
    text = binding_text(b)
    assert text is not None and text.endswith(said), text
