"""The spreadsheet writer: .xlsx and .csv downloads with Chinese headers, 万元 columns and
formula neutralising. What goes in the rows is the caller's business (imports.exports builds the
scoped lists; incubation and reminders their own).
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from flask import Response, request, send_file, stream_with_context
from flask_babel import gettext
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from tracker.clock import to_local, today
from tracker.money import yuan_to_wan

#: a cell starting with one of these would be run by Excel as a formula (CSV injection)
DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
WAN_FORMAT = "#,##0.00####"


@dataclass(frozen=True)
class Column:
    header: str
    #: text, date, int, wan (value in 元, shown in 万元), number
    kind: str = "text"
    width: int = 14

    @property
    def title(self) -> str:
        """The header in the reader's language (the catalogue holds the English)."""
        return gettext(self.header)


XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def export_response(name: str, columns: list[Column], rows: Iterable[list[Any]]) -> Response:
    """A download of `rows`: CSV when ?format=csv (streamed), else an .xlsx workbook."""
    stamp = today().strftime("%Y%m%d")
    if request.args.get("format") == "csv":
        filename = quote(f"{name}-{stamp}.csv")
        return Response(stream_with_context(csv_stream(columns, rows)),
                        mimetype="text/csv; charset=utf-8",
                        headers={"Content-Disposition":
                                 f"attachment; filename=export.csv; filename*=UTF-8''{filename}"})
    return xlsx_response(f"{name}-{stamp}.xlsx", [(name, columns, rows)])


def xlsx_response(download_name: str, sheets: list[tuple[str, list[Column], Iterable[list[Any]]]]
                  ) -> Response:
    """A workbook of `sheets` sent as a download named `download_name`."""
    return send_file(xlsx_file(sheets), as_attachment=True, download_name=download_name,
                     mimetype=XLSX_MIMETYPE)


def neutralise(value: Any) -> Any:
    """Text that Excel would treat as a formula gets a leading apostrophe; numbers pass."""
    if isinstance(value, str) and value.startswith(DANGEROUS_PREFIXES):
        return "'" + value
    return value


def _csv_text(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "wan":
        amount = yuan_to_wan(value)
        text = format(amount.normalize(), "f")
        whole, _dot, frac = text.partition(".")
        return f"{whole}.{frac.ljust(2, '0')}"
    if isinstance(value, datetime):
        return to_local(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(neutralise(value)) if isinstance(value, str) else str(value)


def csv_stream(columns: list[Column], rows: Iterable[list[Any]]) -> Iterator[bytes]:
    """UTF-8 with BOM: the encoding Excel opens without mangling Chinese."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([c.title for c in columns])
    yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([_csv_text(v, c.kind) for v, c in zip(row, columns, strict=True)])
        yield buffer.getvalue().encode("utf-8")


def xlsx_file(sheets: list[tuple[str, list[Column], Iterable[list[Any]]]]):
    """A write-only workbook (flat memory) spooled to a temporary file, rewound for sending."""
    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    for title, columns, rows in sheets:
        sheet = workbook.create_sheet(title[:31])
        for index, column in enumerate(columns):
            letter = _letter(index)
            sheet.column_dimensions[letter].width = column.width
        header = []
        for column in columns:
            cell = WriteOnlyCell(sheet, value=column.title)
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        for row in rows:
            cells = []
            for value, column in zip(row, columns, strict=True):
                if column.kind == "wan":
                    cell = WriteOnlyCell(sheet, value=yuan_to_wan(value))
                    cell.number_format = WAN_FORMAT
                elif isinstance(value, datetime):
                    cell = WriteOnlyCell(sheet, value=to_local(value).replace(tzinfo=None))
                    cell.number_format = "yyyy-mm-dd hh:mm"
                elif isinstance(value, date):
                    cell = WriteOnlyCell(sheet, value=value)
                    cell.number_format = "yyyy-mm-dd"
                else:
                    # A str cell starting with "=" would be saved as a formula: neutralise first.
                    cell = WriteOnlyCell(sheet, value=neutralise(value))
                    if isinstance(value, str):
                        cell.data_type = "s"
                cells.append(cell)
            sheet.append(cells)
    handle = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # noqa: SIM115 - sent, then closed
    workbook.save(handle)
    handle.seek(0)
    return handle


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)
