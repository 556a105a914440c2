"""An import's changes read in the audit history like every other entry: in words, never as the
stored source code ("年度数据（import）" where a hand-made entry says "（手工录入）")."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from tests.conftest import login
from tests.factories import make_enterprise, make_user, valid_uscc
from tests.imports.conftest import ENTERPRISE_HEADERS
from tests.imports.helpers import run_file
from tracker.audit import services as audit
from tracker.audit.models import AuditEvent
from tracker.clock import frozen
from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.vocabulary import SOURCES

#: the figures' entry as each language shows it (the year: the one before the import's)
SHOWN = {"zh_CN": "2024 年度数据（批量导入）", "en": "2024 yearly figures (Bulk import)"}


def _raw_codes(page: str) -> list[str]:
    """Source codes shown in brackets, as the summary's source part would show them."""
    return [code for code in SOURCES
            for shown in (f"（{code}）", f"({code})") if shown in page]


def _history(client, user, firm_id: int) -> str:
    login(client, user)
    return client.get(f"/enterprises/{firm_id}/history").get_data(as_text=True)


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_a_new_firms_imported_figures_read_in_words(client, write_xlsx, locale):
    bureau = make_user("bureau", locale=locale)
    row = {"企业名称": "天津审计措辞科技有限公司", "统一社会信用代码": valid_uscc(97001),
           "成立日期": "2019-03-05", "所属区域": "高新区", "技术领域": "电子信息",
           "联系人": "赵敏", "联系邮箱": "zhao@example.com", "从业人数": "12",
           "营业收入（万元）": "1,234.5"}
    with frozen(date(2025, 6, 1)):
        job = run_file(write_xlsx([ENTERPRISE_HEADERS, [row[h] for h in ENTERPRISE_HEADERS]]),
                       "enterprises", user=bureau)
    assert job.counts()["created"] == 1
    firm = db.session.scalar(select(Enterprise).where(Enterprise.uscc == valid_uscc(97001)))
    stored = db.session.scalar(select(AuditEvent.summary).where(
        AuditEvent.enterprise_id == firm.id, AuditEvent.entity_type == "metrics"))
    assert stored == "2024 年度数据（批量导入）"  # stored as every other channel stores it
    page = _history(client, bureau, firm.id)
    assert SHOWN[locale] in page, [line for line in page.splitlines() if "2024" in line]
    assert _raw_codes(page) == []


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_entries_stored_with_the_code_before_the_fix_read_in_words_too(client, locale):
    """Histories already hold "2024 年度数据（import）": shown as the label, not rewritten."""
    bureau = make_user("bureau", locale=locale)
    firm = make_enterprise()
    audit.record("metrics", firm.id, "create", {"revenue": [None, "1"]},
                 enterprise_id=firm.id, summary="2024 年度数据（import）")
    page = _history(client, bureau, firm.id)
    assert SHOWN[locale] in page, [line for line in page.splitlines() if "2024" in line]
    assert _raw_codes(page) == []
