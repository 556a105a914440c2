"""The reader learns a sheet's size from its <dimension> without reading the sheet for it."""

from __future__ import annotations

import pytest
from openpyxl import Workbook
from openpyxl.worksheet._reader import WorkSheetParser

from tracker.imports.reader import open_sheet


@pytest.fixture
def no_full_pass(monkeypatch):
    """openpyxl's own look for <dimension> reads to the end of <sheetData> when there is none."""

    def refuse(self):
        raise AssertionError("the sheet was parsed through just to find its dimension")

    monkeypatch.setattr(WorkSheetParser, "parse_dimensions", refuse)


def _write(path, rows, *, write_only: bool):
    workbook = Workbook(write_only=write_only)
    sheet = workbook.create_sheet("名单") if write_only else workbook.active
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


ROWS = [["企业名称", "统一社会信用代码"], *[[f"公司{i}", f"code{i}"] for i in range(1, 31)],
        [None, None], ["公司末", "code-last"]]


def test_a_sheet_without_dimension_is_read_once(tmp_path, app, no_full_pass):
    path = _write(tmp_path / "written.xlsx", ROWS, write_only=True)
    with open_sheet(path) as sheet:
        rows = list(sheet.rows)
    assert sheet.total is None  # nothing says how many rows: no progress total, as before
    assert sheet.headers == ["企业名称", "统一社会信用代码"]
    assert [number for number, _ in rows] == list(range(2, 34))
    assert rows[-1] == (33, ["公司末", "code-last"])


def test_a_sheet_with_dimension_keeps_its_bounds(tmp_path, app, no_full_pass):
    path = _write(tmp_path / "excel.xlsx", ROWS, write_only=False)
    with open_sheet(path) as sheet:
        rows = list(sheet.rows)
    assert sheet.total == 32  # 33 rows, the header's not counted
    assert [number for number, _ in rows] == list(range(2, 34))
    assert rows[0] == (2, ["公司1", "code1"])
