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


#: net allocations between the collector's young passes during an import (the default, 700,
#: means a pass every few rows: thousands per file, each moving the chunk's rows a generation
#: up until full passes walk them again; a chunk's rows die with the chunk, so few passes find
#: anything). Cyclic garbage still triggers a pass once this many objects pile up: memory stays
#: bounded, a few MB higher.
YOUNG_THRESHOLD = 50_000


@contextmanager
def fewer_collections(young: int = YOUNG_THRESHOLD) -> Iterator[None]:
    """Run the collector's young pass every `young` net allocations, then as before."""
    previous = gc.get_threshold()
    gc.set_threshold(young, *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)
