"""Fixtures for import/export tests: a private upload folder and spreadsheet writers."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import Workbook

ENTERPRISE_HEADERS = ["企业名称", "统一社会信用代码", "成立日期", "所属区域", "技术领域",
                      "联系人", "联系邮箱", "从业人数", "营业收入（万元）"]


@pytest.fixture(autouse=True)
def upload_dir(app, tmp_path, monkeypatch):
    """Every test stores its uploads in its own temporary folder."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(folder))
    return folder


@pytest.fixture
def write_xlsx(tmp_path):
    """Write rows (first row = header) to an .xlsx file and return its path."""

    def _write(rows: list[list], name: str = "list.xlsx") -> Path:
        workbook = Workbook()
        sheet = workbook.active
        for row in rows:
            sheet.append(row)
        path = tmp_path / name
        workbook.save(path)
        return path

    return _write


@pytest.fixture
def write_csv(tmp_path):
    """Write rows to a .csv file in the given encoding and return its path."""

    def _write(rows: list[list], encoding: str = "utf-8", name: str = "list.csv") -> Path:
        path = tmp_path / name
        with path.open("w", encoding=encoding, newline="") as handle:
            csv.writer(handle).writerows(rows)
        return path

    return _write
