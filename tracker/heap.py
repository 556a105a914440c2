"""Long runs that allocate millions of short-lived objects: keep the collector off the rest."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def long_lived_objects_frozen() -> Iterator[None]:
    """The objects alive before the run are left out of the garbage collector's full passes.

    A run over thousands of firms (a full recompute, an import) allocates millions of
    short-lived objects, and every few thousand firms that triggers a full collection, which
    walks everything the process holds (the app, the mappers, the compiled statements,
    pypinyin's tables of a million entries) though none of it is garbage. Frozen (gc.freeze),
    those objects are not walked; what the run itself allocates is collected as before, and
    they are handed back to the collector afterwards.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
