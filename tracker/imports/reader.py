"""Streaming rows out of .xlsx and .csv files, with Excel's row numbers kept.

Memory stays flat whatever the file size: openpyxl in read-only mode and csv read line by line.
A small upload can still be a bomb (a zip member that inflates a thousandfold, shared strings
openpyxl keeps in memory, a sheet without `<dimension>` holding a million rows), so every limit
of `Limits` is enforced while the bytes and rows stream, and a file over one is refused with
FileUnreadable naming the limit.
"""

from __future__ import annotations

import codecs
import contextvars
import csv
import io
import os
import pickle
import signal
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

from flask import current_app, has_app_context
from sqlalchemy import Engine, event

from tracker.imports.normalise import cell_text, is_blank
from tracker.messages import Message

SUFFIXES = (".xlsx", ".csv")
#: look this far down for the header row (official lists often start with a title line)
HEADER_SCAN_ROWS = 10


class FileUnreadable(Exception):
    """The file as a whole cannot be read (not a row problem); the message says what to do."""


class RowBudgetExceeded(Exception):  # noqa: N818 - a signal to the caller, not an error
    """More rows than the caller's `row_budget` allows here (e.g. in a request): go elsewhere."""


@dataclass(frozen=True)
class Limits:
    """What one uploaded file may cost; each field has a config key IMPORT_<FIELD IN CAPS>."""

    #: uncompressed bytes of any one zip member (a worksheet's XML is the largest)
    max_member_bytes: int = 256 * 1024 * 1024
    #: uncompressed bytes of all members read, together
    max_total_bytes: int = 512 * 1024 * 1024
    #: uncompressed bytes of xl/sharedStrings.xml: openpyxl holds every shared string in memory
    max_shared_strings_bytes: int = 32 * 1024 * 1024
    #: members in the archive (the central directory itself is read into memory)
    max_members: int = 2000
    #: rows after the header (IMPORT_MAX_ROWS)
    max_rows: int = 100_000
    max_columns: int = 200
    #: characters in one cell; 32,767 is Excel's own limit
    max_cell_chars: int = 32_767

    @classmethod
    def from_config(cls) -> Limits:
        """The configured limits (defaults outside an app context)."""
        if not has_app_context():
            return cls()
        config = current_app.config
        return cls(**{f.name: int(config.get("IMPORT_" + f.name.upper(), f.default))
                      for f in fields(cls)})


#: rows this context may still read (None: only the file limits apply); see `row_budget`
_budget: contextvars.ContextVar[int | None] = contextvars.ContextVar("row_budget",
                                                                     default=None)


@contextmanager
def row_budget(rows: int):
    """Inside this block a sheet yields at most `rows` rows, then raises RowBudgetExceeded.

    A request runs a small file itself but must not discover, row by row, that the file is
    large (a workbook without `<dimension>`, or one that lies): it hands the job to the worker.
    """
    token = _budget.set(rows)
    try:
        yield
    finally:
        _budget.reset(token)


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB"


class _CountingStream(io.RawIOBase):
    """A zip member's stream that stops as soon as the inflated bytes pass a limit."""

    def __init__(self, inner: Any, archive: _BoundedZip, name: str, limit: int):
        self._inner, self._archive, self._name, self._limit = inner, archive, name, limit
        self._read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._inner.read(len(buffer))
        self._read += len(data)
        self._archive.charge(self._name, self._read, self._limit, len(data))
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self._inner.close()
        super().close()


class _BoundedZip(zipfile.ZipFile):
    """A ZipFile that refuses members whose declared or actual inflated size is over a limit.

    The central directory's sizes are checked first (cheap, and refuses honest bombs before any
    inflation); they can lie, so the bytes are also counted while they are inflated.
    """

    def __init__(self, path: Path, limits: Limits):
        super().__init__(path, "r")
        self.limits = limits
        self._total = 0
        members = self.infolist()
        if len(members) > limits.max_members:
            raise FileUnreadable(Message("该 Excel 文件包含 %(n)d 个内部部件，超过上限 %(max)d；"
                                   "请另存为只含数据的 .xlsx 后再上传",
                                   n=len(members), max=limits.max_members))
        for info in members:
            self._check(info.filename, info.file_size, self._limit_for(info.filename))
        declared = sum(info.file_size for info in members)
        if declared > limits.max_total_bytes:
            raise self._total_too_large()

    def _limit_for(self, name: str) -> int:
        if name.lower().endswith("sharedstrings.xml"):
            return min(self.limits.max_shared_strings_bytes, self.limits.max_member_bytes)
        return self.limits.max_member_bytes

    def _total_too_large(self) -> FileUnreadable:
        return FileUnreadable(Message("文件解压后总大小超过 %(limit)s 的上限"
                                "（可能是异常或被构造的文件）；请删除无关内容或拆分后再上传",
                                limit=_mb(self.limits.max_total_bytes)))

    def _check(self, name: str, size: int, limit: int) -> None:
        if size <= limit:
            return
        if limit == self.limits.max_shared_strings_bytes:
            raise FileUnreadable(Message("文件中的共享文本（sharedStrings）解压后超过 "
                                         "%(limit)s 的上限"
                                   "（可能是异常或被构造的文件）；请删除无关内容或拆分后再上传",
                                   limit=_mb(limit)))
        raise FileUnreadable(Message("文件中的部件 %(name)s 解压后超过 %(limit)s 的上限"
                               "（可能是异常或被构造的文件）；请删除无关内容或拆分后再上传",
                               name=name[:80], limit=_mb(limit)))

    def charge(self, name: str, read: int, limit: int, more: int) -> None:
        """Count bytes just inflated from `name`; raise once a member or the total is over."""
        self._check(name, read, limit)
        self._total += more
        if self._total > self.limits.max_total_bytes:
            raise self._total_too_large()

    def open(self, name: Any, mode: str = "r", pwd: bytes | None = None, **kwargs: Any) -> Any:
        inner = super().open(name, mode, pwd, **kwargs)
        if mode != "r":
            return inner
        member = name.filename if isinstance(name, zipfile.ZipInfo) else name
        return io.BufferedReader(
            _CountingStream(inner, self, member, self._limit_for(member)), 1 << 16)


def _bounded(rows: Iterator[tuple[int, list[Any]]], limits: Limits
             ) -> Iterator[tuple[int, list[Any]]]:
    """Rows as read, refused as soon as one is too wide or too long, or there are too many.

    The count includes the header and the lines above it (HEADER_SCAN_ROWS at most), so the
    body may have a few rows more than max_rows before the limit trips; never many more.
    """
    budget = _budget.get()
    for count, (number, cells) in enumerate(rows, start=1):
        if budget is not None and count > budget + HEADER_SCAN_ROWS:
            raise RowBudgetExceeded(budget)
        if count > limits.max_rows + HEADER_SCAN_ROWS:
            raise FileUnreadable(Message("文件超过单次导入上限 %(max)s 行；请拆分后分批导入",
                                   max=f"{limits.max_rows:,}"))
        if len(cells) > limits.max_columns:
            if any(not is_blank(c) for c in cells[limits.max_columns:]):
                raise FileUnreadable(Message("第 %(row)d 行超过 %(max)d 列的上限；"
                                             "请删除多余的列后再上传",
                                       row=number, max=limits.max_columns))
            cells = cells[:limits.max_columns]
        for cell in cells:
            if isinstance(cell, str) and len(cell) > limits.max_cell_chars:
                raise FileUnreadable(Message("第 %(row)d 行有单元格超过 %(max)s 个字符的上限",
                                       row=number, max=f"{limits.max_cell_chars:,}"))
        yield number, cells


@dataclass
class Sheet:
    headers: list[str]
    #: Excel's number for the header row
    header_row: int
    #: (excel row number, cell values) for every row below the header
    rows: Iterator[tuple[int, list[Any]]]
    #: rows below the header, when the file tells us cheaply (xlsx dimension, csv line count)
    total: int | None


def _decodes_as(handle: Any, encoding: str) -> bool:
    """Whether the whole file decodes in `encoding` (read in chunks, from the start)."""
    handle.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) or GB18030, which Chinese Excel writes."""
    with path.open("rb") as handle:
        head = handle.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        for encoding in ("utf-8", "gb18030"):
            if _decodes_as(handle, encoding):
                return encoding
        raise FileUnreadable(
            "无法识别文件编码：请在 Excel 中另存为“CSV UTF-8（逗号分隔）”或 .xlsx 后再上传"
        )


def _csv_rows(path: Path) -> tuple[Iterator[tuple[int, list[Any]]], Callable[[], None], int]:
    encoding = _encoding(path)
    with path.open(encoding=encoding, newline="") as probe:
        sample = probe.read(8192)
        lines = sum(1 for _ in probe) + sample.count("\n")
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t") if sample else csv.excel
    except csv.Error:
        dialect = csv.excel
    handle = path.open(encoding=encoding, newline="")
    reader = csv.reader(handle, dialect)

    def rows():
        number = 0
        try:
            for number, cells in enumerate(reader, start=1):  # noqa: B007 - named in the error
                yield number, cells
        except csv.Error as exc:  # e.g. a field longer than csv.field_size_limit()
            raise FileUnreadable(
                f"第 {number + 1} 行无法读取（单元格过长或引号不匹配）：{exc}"[:300]) from exc

    return rows(), handle.close, lines


@cache
def _excel_reader() -> type:
    """openpyxl's read-only ExcelReader whose sheets learn their size without a pass over them.

    openpyxl looks for a sheet's <dimension> with a parser that only stops at the end of
    <sheetData>: a file written without one (write-only openpyxl, many exporters) was parsed
    through once for nothing before its rows were read. Here the look stops at the first tag
    of <sheetData>; a sheet with a <dimension> gets the same bounds as before.
    """
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet
    from openpyxl.worksheet._reader import DATA_TAG, DIMENSION_TAG
    from openpyxl.worksheet.dimensions import SheetDimension
    from openpyxl.xml.functions import iterparse

    class SizedCheaply(ReadOnlyWorksheet):
        def _get_size(self) -> None:
            source = self._get_source()
            try:
                for _event, element in iterparse(source, events=("start",)):
                    if element.tag == DIMENSION_TAG:
                        bounds = SheetDimension.from_tree(element).boundaries
                        if bounds is not None:
                            (self._min_column, self._min_row, self._max_column,
                             self._max_row) = bounds
                        return
                    if element.tag == DATA_TAG:
                        return
            finally:
                source.close()

    class Reader(ExcelReader):
        def read_worksheets(self) -> None:
            for sheet, rel in self.parser.find_sheets():
                if rel.target not in self.valid_files:
                    continue
                if "chartsheet" in rel.Type:
                    self.read_chartsheet(sheet, rel)
                    continue
                worksheet = SizedCheaply(self.wb, sheet.name, rel.target, self.shared_strings)
                worksheet.sheet_state = sheet.state
                self.wb._sheets.append(worksheet)

    return Reader


def _load_workbook(path: Path, limits: Limits) -> Any:
    """openpyxl's load_workbook in read-only mode, reading through a _BoundedZip."""
    archive = _BoundedZip(path, limits)
    try:
        # data_only=False: a formula cell comes back as its text ("=SUM(..)") and is kept as text
        reader = _excel_reader()(path, read_only=True, data_only=False)
        reader.archive.close()  # its plain ZipFile: every member is read through ours instead
        reader.archive, reader.valid_files = archive, archive.namelist()
        reader.read()
    except BaseException:
        archive.close()
        raise
    return reader.wb


def _xlsx_rows(path: Path, limits: Limits
               ) -> tuple[Iterator[tuple[int, list[Any]]], Callable[[], None], int]:
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = _load_workbook(path, limits)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError,
            ParseError) as exc:
        raise FileUnreadable(
            "无法打开该 Excel 文件（可能已损坏或不是 .xlsx 格式）；"
            "请在 Excel 中另存为 .xlsx 后再上传"
        ) from exc
    sheet = workbook.worksheets[0]
    total = sheet.max_row or 0

    def rows():
        expected = 1
        try:
            for row in sheet.iter_rows():
                number = next((c.row for c in row if getattr(c, "row", None)), expected)
                expected = number + 1
                yield number, [c.value for c in row]
        except FileUnreadable:
            raise
        except (ParseError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as exc:
            raise FileUnreadable(
                f"Excel 文件第 {expected} 行附近内容已损坏，无法读取；"
                "请在 Excel 中打开并另存为 .xlsx 后再上传") from exc

    return rows(), workbook.close, total


@contextmanager
def open_sheet(path: str | Path, looks_like_header: Callable[[list[Any]], int] | None = None,
               limits: Limits | None = None):
    """Yield a Sheet for the first worksheet / the CSV; header found in the first rows.

    `limits` defaults to the configured ones; a file over any raises FileUnreadable.
    """
    path = Path(path)
    limits = limits or Limits.from_config()
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise FileUnreadable("不支持旧版 .xls 文件：请在 Excel 中另存为 .xlsx 后再上传")
    if suffix not in SUFFIXES:
        raise FileUnreadable("只能导入 .xlsx 或 .csv 文件")
    if not path.exists():
        raise FileUnreadable("找不到已上传的文件")
    raw, close, total = _xlsx_rows(path, limits) if suffix == ".xlsx" else _csv_rows(path)
    try:
        rows = _bounded(raw, limits)
        buffered: list[tuple[int, list[Any]]] = []
        for item in rows:
            buffered.append(item)
            if len(buffered) >= HEADER_SCAN_ROWS:
                break
        non_blank = [(no, cells) for no, cells in buffered
                     if any(not is_blank(c) for c in cells)]
        if not non_blank:
            raise FileUnreadable("文件中没有数据（第一个工作表为空）")
        header_row, header_cells = non_blank[0]
        if looks_like_header is not None:
            best = max(non_blank, key=lambda item: looks_like_header(item[1]))
            if looks_like_header(best[1]) > looks_like_header(header_cells):
                header_row, header_cells = best
        headers = [cell_text(c).strip() for c in header_cells]
        while headers and not headers[-1]:
            headers.pop()

        def body():
            for no, cells in buffered:
                if no > header_row:
                    yield no, cells
            yield from rows

        yield Sheet(headers=headers, header_row=header_row, rows=body(),
                    total=max(total - header_row, 0) if total else None)
    finally:
        close()


#: bytes of pickled items buffered on each side of the pipe (a 500-row chunk is ~1 MB)
_PIPE_BUFFER = 1 << 20


class ReaderLost(RuntimeError):
    """The process reading ahead ended without saying so (killed, out of memory)."""


class _Ahead:
    """The consumer's side of read_ahead: the items as the child sends them."""

    def __init__(self, pid: int, source: Any) -> None:
        self.pid, self._source = pid, source

    def __iter__(self) -> Iterator[Any]:
        while True:
            try:
                # our own child's items through a private pipe, not outside data
                kind, payload = pickle.load(self._source)  # noqa: S301
            except EOFError:
                raise ReaderLost("导入的读取进程意外结束，请重试") from None
            if kind == "item":
                yield payload
            elif kind == "error":
                raise payload
            else:
                return


def _send_all(items: Iterator[Any], sink: Any) -> None:
    """The child's side: each item, then the end or the error met, pickled into the pipe."""
    try:
        for item in items:
            pickle.dump(("item", item), sink)
            sink.flush()  # one item at a time: the pipe's buffer is how far ahead it reads
    except BrokenPipeError:
        return  # the consumer left early
    except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
        try:
            message = pickle.dumps(("error", exc))
        except Exception:  # noqa: BLE001 - an error that cannot travel is told by its text
            message = pickle.dumps(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
        sink.write(message)
    else:
        pickle.dump(("end", None), sink)
    sink.flush()


def _no_database_here(*_args: Any) -> None:
    """The reader shares the caller's database connections (their sockets and transaction): a
    statement from it would interleave with the caller's, so it is refused before it is sent."""
    raise RuntimeError("the import's reader process may not use the database")


@contextmanager
def read_ahead(items: Iterator[Any]) -> Iterator[Iterable[Any]]:
    """`items` produced by a child process while the caller consumes them.

    Parsing a sheet and checking its rows is pure Python, and so is much of writing them:
    in one process the two took turns on one interpreter lock, and each time the database
    answered the writer waited for the lock (a 50,000-row list spent 14 s in the driver for
    10 s of server time). The child is forked with the caller's state (the open file, the
    handler, the context variables), pickles each item into a pipe, and leaves by os._exit:
    it shares the caller's database sockets and must run none of its clean-up. The pipe's
    buffer keeps it about one item ahead. What it raises is raised to the consumer where its
    item would have come; leaving the block kills and reaps it. Without fork (not Linux or
    macOS), the items are taken in line.
    """
    if not hasattr(os, "fork"):
        yield items
        return
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: nothing after this returns into the caller's code
        try:
            os.close(read_end)
            event.listen(Engine, "before_cursor_execute", _no_database_here)
            with os.fdopen(write_end, "wb", buffering=_PIPE_BUFFER) as sink:
                _send_all(items, sink)
        finally:
            os._exit(0)
    os.close(write_end)
    source = os.fdopen(read_end, "rb", buffering=_PIPE_BUFFER)
    try:
        yield _Ahead(pid, source)
    finally:
        source.close()
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with suppress(ChildProcessError):
            os.waitpid(pid, 0)
