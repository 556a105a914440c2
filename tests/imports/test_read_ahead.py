"""The next chunks are read by a process of its own while the import writes (reader.read_ahead).

What the consumer sees must be exactly what reading in line gives: the same items in the same
order, an error raised where its item would have come (after the items before it), the budget
of the request that runs a small file itself; a reader that dies says so instead of ending the
file early; and leaving early kills and reaps the reader.
"""

from __future__ import annotations

import contextvars
import os
import time

import pytest

from tracker.imports import engine
from tracker.imports.reader import (
    FileUnreadable,
    ReaderLost,
    RowBudgetExceeded,
    open_sheet,
    read_ahead,
    row_budget,
)


def _take_all(ahead, into: list) -> None:
    for item in ahead:
        into.append(item)


def test_items_come_in_order_from_another_process():
    def items():
        for n in range(1000):
            yield n, os.getpid()

    with read_ahead(items()) as ahead:
        got = list(ahead)
    assert [n for n, _pid in got] == list(range(1000))
    assert {pid for _n, pid in got} == {ahead.pid} != {os.getpid()}


def test_an_error_comes_after_the_items_before_it():
    def items():
        yield from range(5)
        raise FileUnreadable("第 6 行已损坏")

    got = []
    with read_ahead(items()) as ahead, pytest.raises(FileUnreadable, match="第 6 行"):
        _take_all(ahead, got)
    assert got == [0, 1, 2, 3, 4]


def test_an_error_that_cannot_travel_is_told_by_its_text():
    class Local(Exception):  # a class inside a function cannot be pickled
        pass

    def items():
        yield 1
        raise Local("单元格无法解析")

    with read_ahead(items()) as ahead:
        taken = iter(ahead)
        assert next(taken) == 1
        with pytest.raises(RuntimeError, match="Local: 单元格无法解析"):
            next(taken)


def test_a_reader_that_dies_is_not_the_end_of_the_file():
    def items():
        yield from range(3)
        os._exit(1)  # as the kernel's out-of-memory killer would end it

    got = []
    with read_ahead(items()) as ahead, pytest.raises(ReaderLost):
        _take_all(ahead, got)
    assert got == [0, 1, 2]


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_leaving_early_kills_and_reaps_the_reader():
    def endless():
        n = 0
        while True:
            yield n
            n += 1

    with read_ahead(endless()) as ahead:
        assert next(iter(ahead)) == 0
        time.sleep(0.1)  # the reader fills the pipe and waits
        assert not _gone(ahead.pid)
    assert _gone(ahead.pid)  # killed, and reaped: no zombie left behind
    with pytest.raises(ChildProcessError):
        os.waitpid(ahead.pid, os.WNOHANG)


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


def test_new_firms_are_prepared_ahead_not_by_the_writer(app, write_xlsx, monkeypatch):
    """A new firm's cleaning, checks and pinyin keys are worked out in the reader (prepare):
    the process that writes spells no name itself."""
    from sqlalchemy import select

    from tracker.enterprises import services as enterprise_services
    from tracker.enterprises.models import Enterprise
    from tracker.enterprises.uscc import make_code
    from tracker.extensions import db
    from tracker.imports.handlers import enterprises as handler_module

    spelled_here = []  # the reader's calls land in its own copy of this list

    def counting(original):
        def spell(*args, **kwargs):
            spelled_here.append(args[0])
            return original(*args, **kwargs)
        return spell

    for module in (handler_module, enterprise_services):
        monkeypatch.setattr(module, "derived_columns", counting(module.derived_columns))
    code = make_code(424242)
    path = write_xlsx([["企业名称", "统一社会信用代码", "所属区域"],
                       ["天津预读科技有限公司", code, "高新区"]])
    from tests.imports.helpers import run_file

    job = run_file(path, "enterprises")
    assert job.counts()["created"] == 1
    firm = db.session.scalar(select(Enterprise).where(Enterprise.uscc == code))
    assert (firm.name_pinyin, firm.name_initials) == ("tianjinyudukejiyouxiangongsi", "tjydkjyxgs")
    assert spelled_here == []


def test_the_reader_may_not_use_the_callers_database(app):
    """The reader shares the caller's connections: a statement from it is refused, not sent."""
    from sqlalchemy import text

    from tracker.extensions import db

    db.session.execute(text("SELECT 1"))  # the caller's transaction holds a connection

    def items():
        yield 1
        yield db.session.execute(text("SELECT 2")).scalar()

    with read_ahead(items()) as ahead:
        taken = iter(ahead)
        assert next(taken) == 1
        with pytest.raises(RuntimeError, match="may not use the database"):
            next(taken)
    assert db.session.execute(text("SELECT 3")).scalar() == 3  # the caller's is as it was
