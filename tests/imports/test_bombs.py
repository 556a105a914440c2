"""Spreadsheet bombs: small uploads that inflate, or stream rows for ever, are refused early.

The bombs are built here, not stored: a zip whose shared strings inflate a thousandfold, a
zip whose central directory lies about that size, a sheet without `<dimension>` holding far
more rows than allowed. Memory is measured in a subprocess (tracemalloc), so a limit that
does not hold cannot take the test runner down with it.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from flask import current_app

from tests.conftest import csrf_from, login
from tests.factories import make_user, valid_uscc
from tracker.celery_app import _PENDING_KEY
from tracker.extensions import db
from tracker.imports import jobs, services
from tracker.imports.reader import FileUnreadable, Limits, _BoundedZip, open_sheet

from .helpers import run_file

ROOT = Path(__file__).resolve().parents[2]

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
_SHEET_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>'
               '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
               '<sheetData>')
_SHEET_TAIL = "</sheetData></worksheet>"


def _inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def build_xlsx(path: Path, rows: list[list[str]], *, shared_strings_mb: int = 0,
               extra_rows: int = 0) -> Path:
    """A minimal workbook, no `<dimension>`: `rows` as inline text, then `extra_rows` generated
    valid enterprise rows, and a shared-strings part of `shared_strings_mb` inflated MB."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(_SHEET_HEAD.encode())
            number = 0
            for number, cells in enumerate(rows, start=1):
                sheet.write(f'<row r="{number}">'.encode() + "".join(
                    _inline(f"{chr(65 + i)}{number}", v) for i, v in enumerate(cells)).encode()
                    + b"</row>")
            for i in range(extra_rows):
                n = number + 1 + i
                sheet.write((f'<row r="{n}">' + _inline(f"A{n}", f"炸弹公司{i}")
                             + _inline(f"B{n}", valid_uscc(500000 + i)) + "</row>").encode())
            sheet.write(_SHEET_TAIL.encode())
        with archive.open("xl/sharedStrings.xml", "w") as strings:
            strings.write(b'<?xml version="1.0" encoding="UTF-8"?>'
                          b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
            item = b"<si><t>" + b"A" * 1000 + b"</t></si>"
            chunk = item * 1024  # about 1 MB
            for _ in range(shared_strings_mb):
                strings.write(chunk)
            strings.write(b"</sst>")
    return path


def _lie_about_size(path: Path, member: str, size: int) -> None:
    """Rewrite the declared inflated size of `member` in its local header and the directory."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    data = bytearray(path.read_bytes())
    declared = info.file_size.to_bytes(4, "little")
    central = data.rfind(b"PK\x01\x02" , 0, data.rfind(member.encode()))
    assert data[central + 24:central + 28] == declared  # uncompressed size in the directory
    data[central + 24:central + 28] = size.to_bytes(4, "little")
    local = info.header_offset
    assert data[local + 22:local + 26] == declared  # and in the local header
    data[local + 22:local + 26] = size.to_bytes(4, "little")
    path.write_bytes(bytes(data))


_MEASURE = """
import json, sys, tracemalloc
from tracker.imports.reader import FileUnreadable, Limits, _BoundedZip, open_sheet
tracemalloc.start()
outcome = "read"
try:
    with open_sheet(sys.argv[1]) as sheet:
        for _ in sheet.rows:
            pass
except FileUnreadable as exc:
    outcome = str(exc)
except Exception as exc:
    outcome = "crash: " + repr(exc)
print(json.dumps({"outcome": outcome, "peak": tracemalloc.get_traced_memory()[1]}))
"""


def _read_in_subprocess(path: Path) -> dict:
    """Open the file with the default limits in a fresh interpreter; its outcome and peak."""
    done = subprocess.run([sys.executable, "-c", _MEASURE, str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


HEADER = ["企业名称", "统一社会信用代码"]


def test_a_shared_strings_bomb_is_refused_before_it_fills_memory(tmp_path):
    bomb = build_xlsx(tmp_path / "bomb.xlsx", [HEADER, ["甲公司", valid_uscc(1)]],
                      shared_strings_mb=120)
    assert bomb.stat().st_size < 1024 * 1024  # the upload itself is small
    measured = _read_in_subprocess(bomb)
    assert "sharedStrings" in measured["outcome"], measured
    assert "32 MB" in measured["outcome"]  # names the limit
    assert measured["peak"] < 20 * 1024 * 1024, measured


def test_declared_sizes_that_lie_do_not_get_past_the_count(tmp_path):
    """The central directory says 1 KB; inflating is stopped all the same."""
    bomb = build_xlsx(tmp_path / "liar.xlsx", [HEADER, ["甲公司", valid_uscc(1)]],
                      shared_strings_mb=120)
    _lie_about_size(bomb, "xl/sharedStrings.xml", 1024)
    measured = _read_in_subprocess(bomb)
    assert not measured["outcome"].startswith(("read", "crash")), measured
    assert measured["peak"] < 20 * 1024 * 1024, measured


def test_each_size_limit_is_named_in_the_refusal(tmp_path):
    """Shared strings and total size, each refused with the limit it broke."""
    path = build_xlsx(tmp_path / "ok.xlsx", [HEADER, ["甲公司", valid_uscc(1)]],
                      shared_strings_mb=2)
    with pytest.raises(FileUnreadable, match="sharedStrings"), \
            open_sheet(path, limits=Limits(max_shared_strings_bytes=1024 * 1024)):
        pass
    with pytest.raises(FileUnreadable, match="解压后总大小"), \
            open_sheet(path, limits=Limits(max_total_bytes=1024 * 1024)):
        pass
    with open_sheet(path) as sheet:  # within the defaults it reads
        assert sheet.headers == HEADER


def test_inflating_stops_at_the_limit_even_past_a_directory_check(tmp_path):
    """The bytes are counted as they inflate, whatever the directory said.

    Python's zipfile already stops at the declared size (a lie then fails the CRC check), so
    the directory is edited in memory after the check to stand for a reader that trusts it.
    """
    path = build_xlsx(tmp_path / "ok.xlsx", [HEADER, ["甲公司", valid_uscc(1)]],
                      shared_strings_mb=3)
    archive = _BoundedZip(path, Limits(max_shared_strings_bytes=4 * 1024 * 1024,
                                       max_total_bytes=5 * 1024 * 1024))
    archive.limits = Limits(max_shared_strings_bytes=1024 * 1024)  # checked against 4 MB
    with pytest.raises(FileUnreadable, match="sharedStrings"):
        archive.read("xl/sharedStrings.xml")
    archive = _BoundedZip(path, Limits(max_total_bytes=5 * 1024 * 1024))
    archive.limits = Limits(max_total_bytes=2 * 1024 * 1024)
    archive.read("xl/worksheets/sheet1.xml")
    with pytest.raises(FileUnreadable, match="解压后总大小"):
        archive.read("xl/sharedStrings.xml")


def test_a_sheet_without_dimension_stops_at_the_row_limit(app, tmp_path, monkeypatch):
    """600,000 rows in the issue; the same shape with a lower limit keeps the test quick."""
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 200)
    path = build_xlsx(tmp_path / "long.xlsx", [HEADER], extra_rows=3000)
    job = run_file(path, "enterprises", dry_run=True)
    assert job.status == "failed"
    assert "200" in job.message and "上限" in job.message
    assert job.rows == 0


def test_a_request_never_reads_past_its_row_budget(app, tmp_path, monkeypatch):
    """A file whose size is guessed small but holds many rows goes to the worker mid-read."""
    monkeypatch.setitem(app.config, "IMPORT_SYNC_ROWS", 50)
    monkeypatch.setattr(jobs, "BYTES_PER_ROW_GUESS", 10 ** 9)  # whatever the guess says
    path = build_xlsx(tmp_path / "sneaky.xlsx", [HEADER], extra_rows=400)
    target = Path(current_app.config["UPLOAD_DIR"]) / "imports"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, target / path.name)
    user = make_user("bureau")
    job = services.create_job("enterprises", f"imports/{path.name}", path.name,
                              user_id=user.id)
    assert job.options["estimated_rows"] == 0  # no <dimension>: unknown
    started = jobs.start(job, dry_run=True, user=user)
    assert (started.status, started.options["mode"], started.rows) == ("queued", "dry_run", 0)
    queued = [(task.name, args) for task, args, _kw in db.session().info.get(_PENDING_KEY, [])]
    assert queued == [("imports.run_job", (job.id,))]


@pytest.mark.parametrize(("row", "match"), [
    (["甲公司", valid_uscc(1)] + [""] * 250 + ["x"], "250 列|200 列"),
    (["甲" * 40_000, valid_uscc(1)], "32,767 个字符"),
])
def test_wide_rows_and_long_cells_are_refused(write_csv, row, match):
    path = write_csv([HEADER, row])
    with pytest.raises(FileUnreadable, match=match), open_sheet(path) as sheet:
        list(sheet.rows)


def test_a_long_cell_in_a_workbook_is_refused(tmp_path):
    path = build_xlsx(tmp_path / "long-cell.xlsx", [HEADER, ["甲" * 40_000, valid_uscc(1)]])
    with pytest.raises(FileUnreadable, match="32,767"), open_sheet(path) as sheet:
        list(sheet.rows)


def test_the_upload_page_refuses_a_bomb_with_the_limit(client, tmp_path, upload_dir):
    login(client, make_user("bureau"))
    bomb = build_xlsx(tmp_path / "bomb.xlsx", [HEADER, ["甲公司", valid_uscc(1)]],
                      shared_strings_mb=40)
    token = csrf_from(client.get("/imports/").get_data(as_text=True))
    response = client.post("/imports/upload", data={
        "csrf_token": token, "kind": "enterprises",
        "file": (io.BytesIO(bomb.read_bytes()), bomb.name)}, content_type="multipart/form-data")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "sharedStrings" in html and "32 MB" in html
    assert list((upload_dir / "imports").iterdir()) == []
