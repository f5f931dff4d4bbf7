"""Pausing Python's cyclic garbage collector while a large document is read and checked.

Loading a whole estate allocates millions of dicts, lists and strings that all stay alive, and the
collector would walk all of them again and again as they pile up (a third of `backstop check`'s time at
60,000 resources). Nothing built there is a reference cycle that needs the collector, and reference
counting still frees everything else, so it is paused for that stretch and resumed afterwards.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic collector for the block; resume it only if it was running (nesting is safe)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
