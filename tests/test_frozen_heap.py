"""What a test process holds once its tests are collected (dagc's and the tests' modules, the collected tests) is
frozen out of the cyclic garbage collector's passes (`gc.freeze`, tests/conftest.py; docs/tests.md, "Garbage
collection")."""

from __future__ import annotations

import gc


def test_the_collected_tests_are_frozen():
    assert gc.get_freeze_count() > 10_000     # dagc's modules, the tests' and the collected items
