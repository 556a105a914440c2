"""An import job with row errors and warnings, read in English in a real browser: no Chinese
outside the file's own cells and headers (the English scan of tests/english_scan.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from tests.browser_support import serve_demo_in, switch_to_english
from tests.english_scan import stored_strings, untranslated
from tests.imports.test_messages_language import _rows
from tests.test_browser_english import TEXTS_JS
from tracker.accounts.models import User
from tracker.extensions import db
from tracker.imports import services

pytestmark = [pytest.mark.browser, pytest.mark.live]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """The demo on a live server."""
    with serve_demo_in(tmp_path_factory, "import-english") as served:
        yield served


def _rejected_job(app, folder: Path) -> int:
    workbook = Workbook()
    for row in _rows():
        workbook.active.append(row)
    path = folder / "errors.xlsx"
    workbook.save(path)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "bureau@demo.binhai"))
        with path.open("rb") as stream:
            stored = services.store_upload(stream, path.name)
        job = services.create_job("enterprises", stored, path.name, user_id=user.id)
        job.options = {**job.options, "year": 2024}
        db.session.commit()
        job = services.run_job(job.id, dry_run=False, user=user)
        db.session.commit()
        assert job.status == "rejected" and job.errors and job.warnings
        return job.id


def test_import_job_page_reads_in_english(live_server, signed_in, tmp_path):
    app, base = live_server
    job_id = _rejected_job(app, tmp_path)
    with app.app_context():
        stored = stored_strings()
    page = signed_in(base, "bureau@demo.binhai", viewport={"width": 1366, "height": 900})
    switch_to_english(page)
    response = page.goto(f"{base}/imports/{job_id}")
    assert response is not None and response.status == 200
    assert page.locator("html").get_attribute("lang") == "en"
    left = untranslated(page.evaluate(TEXTS_JS), stored)
    assert not left, sorted(set(left))
    assert "Duplicate of row 2" in page.locator("body").inner_text()
