"""A service process leaves what start-up built out of later garbage collections, and still
collects what it makes afterwards. Run in a child interpreter: freezing is process-wide."""

from __future__ import annotations

import subprocess
import sys

CHILD = """
import gc
from talkme_consultant.helpers.collector import freeze_startup_objects

class Node:
    def __init__(self):
        self.me = self

built_at_start = [Node() for _ in range(1000)]
freeze_startup_objects()
print(gc.get_freeze_count() >= 1000)

gc.disable()  # only the explicit collection below may find the cycles
for _ in range(1000):
    Node()
print(gc.collect() >= 1000)
"""


def test_startup_objects_are_frozen_and_later_garbage_is_still_collected() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == ["True", "True"]
