"""Streaming rows out of .xlsx and .csv files, with Excel's row numbers kept.

Memory stays flat whatever the file size: openpyxl in read-only mode and csv read line by line.
"""

from __future__ import annotations

import codecs
import csv
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

from tracker.imports.normalise import cell_text, is_blank

SUFFIXES = (".xlsx", ".csv")
#: look this far down for the header row (official lists often start with a title line)
HEADER_SCAN_ROWS = 10


class FileUnreadable(Exception):
    """The file as a whole cannot be read (not a row problem); the message says what to do."""


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


def _xlsx_rows(path: Path) -> tuple[Iterator[tuple[int, list[Any]]], Callable[[], None], int]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        # data_only=False: a formula cell comes back as its text ("=SUM(..)") and is kept as text
        workbook = load_workbook(path, read_only=True, data_only=False)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
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
        except (ParseError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as exc:
            raise FileUnreadable(
                f"Excel 文件第 {expected} 行附近内容已损坏，无法读取；"
                "请在 Excel 中打开并另存为 .xlsx 后再上传") from exc

    return rows(), workbook.close, total


@contextmanager
def open_sheet(path: str | Path, looks_like_header: Callable[[list[Any]], int] | None = None):
    """Yield a Sheet for the first worksheet / the CSV; header found in the first rows."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise FileUnreadable("不支持旧版 .xls 文件：请在 Excel 中另存为 .xlsx 后再上传")
    if suffix not in SUFFIXES:
        raise FileUnreadable("只能导入 .xlsx 或 .csv 文件")
    if not path.exists():
        raise FileUnreadable("找不到已上传的文件")
    rows, close, total = _xlsx_rows(path) if suffix == ".xlsx" else _csv_rows(path)
    try:
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
