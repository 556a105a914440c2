"""Undoing an import whose firm was merged afterwards (tracker/bulk/merge.py).

The merge moved rows between the two records and archived one of them: deleting or restoring
what the import wrote would undo part of the merge behind its back. The undo refuses, and
says per row that the firm was merged, with the merge record to look at (or undo) first.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import csrf_from, login
from tests.factories import make_enterprise, make_user, valid_uscc
from tests.imports.conftest import ENTERPRISE_HEADERS
from tests.imports.helpers import run_file
from tracker.bulk.merge import merge_enterprises
from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.imports import services
from tracker.imports.models import ImportJob


def _row(n: int) -> list:
    values = {"企业名称": f"天津合并撤销公司{n}", "统一社会信用代码": valid_uscc(95000 + n),
              "成立日期": "2019-03-05", "所属区域": "高新区", "技术领域": "电子信息",
              "联系人": f"联系人{n}", "联系邮箱": f"m{n}@example.com", "从业人数": "120",
              "营业收入（万元）": "1,234.5"}
    return [values[h] for h in ENTERPRISE_HEADERS]


def _import_then_merge(write_xlsx, bureau, imported_side: str):
    job = run_file(write_xlsx([ENTERPRISE_HEADERS, _row(1), _row(2)]), "enterprises",
                   user=bureau)
    assert job.created == 2
    db.session.commit()
    imported = db.session.scalar(select(Enterprise).where(
        Enterprise.uscc == valid_uscc(95001)))
    other = make_enterprise(name="另一条记录")
    if imported_side == "loser":
        record = merge_enterprises(other, imported, {}, user=bureau)
    else:
        record = merge_enterprises(imported, other, {}, user=bureau)
    db.session.commit()
    return job, record


@pytest.mark.parametrize("imported_side", ["loser", "survivor"])
def test_undo_explains_per_row_that_the_firm_was_merged(write_xlsx, imported_side):
    bureau = make_user("bureau")
    job, record = _import_then_merge(write_xlsx, bureau, imported_side)
    with pytest.raises(services.UndoRefused) as refused:
        services.undo_job(job, user_id=bureau.id)
    rows = refused.value.rows
    assert [r["row"] for r in rows] == [2]  # one reason for the merged firm's row, no other
    assert rows[0]["merge_id"] == record.id
    assert rows[0]["reason"].msgid == ("导入的企业「%(name)s」之后已与另一条企业记录合并"
                                       "（合并记录 #%(merge)s），不能撤销；请先撤销该合并")
    assert f"#{record.id}" in str(refused.value)
    # all or nothing: the other imported firm is still there
    assert db.session.scalar(select(Enterprise).where(
        Enterprise.uscc == valid_uscc(95002))) is not None


def test_undo_page_lists_the_merged_row_with_a_link_to_the_merge(client, write_xlsx):
    bureau = make_user("bureau")
    login(client, bureau)
    job, record = _import_then_merge(write_xlsx, bureau, "loser")
    confirm = client.get(f"/imports/{job.id}/undo").get_data(as_text=True)
    response = client.post(f"/imports/{job.id}/undo", data={"csrf_token": csrf_from(confirm)},
                           follow_redirects=True)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    refused = html[html.index('id="undo-refused"'):]
    assert '<td class="num">2</td>' in refused
    assert f'href="/bulk/merges/{record.id}"' in refused
    assert db.session.get(ImportJob, job.id).status == "done"
