"""Keep Python's cyclic garbage collector off the objects a service process builds at start-up.

The knowledge index, the tokenizer's vocabulary, the loaded libraries and the app make hundreds
of thousands of long-lived objects. Every full collection walked them all: about 140 ms on
2 cores, dozens of times a minute under load, during which the event loop that acknowledges
webhooks stood still (most of the slowest acknowledgements). Frozen after start-up, they are
skipped; whatever is made later is collected as before. Frozen objects are still freed when
nothing refers to them: an index replaced by a rebuild holds no reference cycles, so it goes
(`tests/service/test_frozen_rebuild.py`).
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Collect once, then leave every object alive now out of later collections. For a
    process's entry point only: in a process that keeps building and dropping whole apps (the
    tests), frozen cyclic garbage would never be freed."""
    gc.collect()
    gc.freeze()
