"""The next chunks are read by a thread of their own while the import writes (reader.read_ahead).

What the consumer sees must be exactly what reading in line gives: the same items in the same
order, an error raised where its item would have come (after the items before it), the budget
of the request that runs a small file itself; and leaving early stops the reader before the
file is closed.
"""

from __future__ import annotations

import contextvars
import threading
import time

import pytest

from tracker.imports import engine
from tracker.imports.reader import (
    FileUnreadable,
    RowBudgetExceeded,
    open_sheet,
    read_ahead,
    row_budget,
)


def _readers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "import-read-ahead"]


def test_items_come_in_order_from_another_thread():
    seen_in = set()

    def items():
        for n in range(1000):
            seen_in.add(threading.current_thread().name)
            yield n

    with read_ahead(items()) as ahead:
        assert list(ahead) == list(range(1000))
    assert threading.current_thread().name not in seen_in


def test_an_error_comes_after_the_items_before_it():
    def items():
        yield from range(5)
        raise FileUnreadable("第 6 行已损坏")

    got = []

    def take_all(ahead) -> None:
        for item in ahead:
            got.append(item)

    with read_ahead(items()) as ahead, pytest.raises(FileUnreadable, match="第 6 行"):
        take_all(ahead)
    assert got == [0, 1, 2, 3, 4]


def test_leaving_early_stops_the_reader():
    produced = []

    def endless():
        n = 0
        while True:
            produced.append(n)
            yield n
            n += 1

    with read_ahead(endless(), depth=2) as ahead:
        assert _readers()
        assert next(ahead) == 0
        time.sleep(0.2)  # the reader fills the hand-off and waits
    assert _readers() == []  # stopped and joined on the way out
    assert len(produced) <= 4  # the one taken, two waiting, one held while the hand-off was full


def test_the_callers_context_holds_in_the_reader():
    setting = contextvars.ContextVar("setting", default="unset")

    def items():
        yield setting.get()

    token = setting.set("the caller's")
    try:
        with read_ahead(items()) as ahead:
            assert list(ahead) == ["the caller's"]
    finally:
        setting.reset(token)


def test_a_row_budget_exceeded_ahead_is_raised_to_the_consumer(write_xlsx):
    path = write_xlsx([["企业名称", "统一社会信用代码"],
                       *([f"公司{n}", f"code{n}"] for n in range(40))])
    with row_budget(20), open_sheet(path) as sheet, read_ahead(sheet.rows) as ahead, \
            pytest.raises(RowBudgetExceeded):
        list(ahead)


def test_an_import_reads_ahead(write_xlsx, monkeypatch):
    """The engine takes its chunks through read_ahead (the bench measures what it saves)."""
    used = []
    original = engine.read_ahead

    def counting(items, *args, **kwargs):
        used.append(True)
        return original(items, *args, **kwargs)

    monkeypatch.setattr(engine, "read_ahead", counting)
    path = write_xlsx([["企业名称", "统一社会信用代码"], ["天津预读公司", "91120116MA05XXXX0X"]])
    from tests.imports.helpers import run_file

    run_file(path, "enterprises", dry_run=True)
    assert used == [True]
