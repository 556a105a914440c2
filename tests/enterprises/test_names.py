"""Full-width letters and digits in firm names: folded on every save path and in search."""

from __future__ import annotations

import pytest

from tests.conftest import login
from tests.factories import make_enterprise, make_user, valid_uscc
from tracker.enterprises import services
from tracker.enterprises.queries import EnterpriseFilters, filtered_query
from tracker.extensions import db
from tracker.names import fold_name


@pytest.mark.parametrize(("raw", "folded"), [
    ("ＡＢＣ智能科技有限公司", "ABC智能科技有限公司"),
    ("天津１２３　数据（滨海）有限公司", "天津123 数据（滨海）有限公司"),  # brackets stay Chinese
    ("Ｈ＆Ｍ贸易", "H&M贸易"),
    ("  already ASCII  ", "already ASCII"),
    ("", ""),
])
def test_fold_name(raw, folded):
    assert fold_name(raw) == folded


def test_service_saves_folded_names():
    firm = services.create_enterprise({"uscc": valid_uscc(98001), "name": "ＡＢＣ智能",
                                       "zone": "hitech"})
    assert firm.name == "ABC智能"
    services.update_enterprise(firm, {"name": "ＸＹＺ２智能"}, expected_version=None)
    assert firm.name == "XYZ2智能"


def test_search_finds_full_width_names_with_ascii_and_back():
    user = make_user("bureau")
    firm = services.create_enterprise({"uscc": valid_uscc(98002), "name": "ＡＢＣ海河科技",
                                       "zone": "hitech"})
    for query in ("ABC", "abc", "ＡＢＣ", "ａｂｃ海河"):
        found = db.session.scalars(filtered_query(user, EnterpriseFilters(q=fold_name(query))))
        assert [e.id for e in found] == [firm.id], query


def test_search_page_folds_the_query(client):
    user = make_user("bureau")
    login(client, user)
    make_enterprise(uscc=valid_uscc(98003), name="DEF半导体有限公司")
    page = client.get("/enterprises/?q=ＤＥＦ半导体").get_data(as_text=True)
    assert "DEF半导体有限公司" in page


def test_import_folds_names(write_xlsx_plain):
    from tests.imports.helpers import run_file

    path = write_xlsx_plain([["统一社会信用代码", "企业名称", "所属区域"],
                             [valid_uscc(98004), "ＡＢＣ导入１号", "高新区"]])
    job = run_file(path, "enterprises", user=make_user("bureau"))
    assert job.created == 1
    from sqlalchemy import select

    from tracker.enterprises.models import Enterprise
    assert db.session.scalar(select(Enterprise.name).where(
        Enterprise.uscc == valid_uscc(98004))) == "ABC导入1号"


@pytest.fixture
def write_xlsx_plain(app, tmp_path, monkeypatch):
    """Write rows to an .xlsx (uploads kept in the test's own folder)."""
    from openpyxl import Workbook

    folder = tmp_path / "uploads"
    folder.mkdir()
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(folder))

    def _write(rows):
        workbook = Workbook()
        for row in rows:
            workbook.active.append(row)
        path = tmp_path / "names.xlsx"
        workbook.save(path)
        return path

    return _write
