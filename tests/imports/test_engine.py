"""Importing enterprises: validation per row, safety modes, upsert, undo, encodings."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests.factories import make_enterprise, make_user, valid_uscc
from tests.imports.conftest import ENTERPRISE_HEADERS
from tests.imports.helpers import run_file
from tracker.audit.models import AuditEvent
from tracker.clock import frozen
from tracker.enterprises import services as enterprise_services
from tracker.enterprises.models import AnnualMetrics, Contact, Enterprise
from tracker.extensions import db
from tracker.imports import services
from tracker.imports.models import ImportChange


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _firm(code: str) -> Enterprise | None:
    return db.session.scalar(select(Enterprise).where(Enterprise.uscc == code))


def good_row(n: int, **overrides) -> list:
    row = {"企业名称": f"  天津导入科技有限公司{n} ",
           "统一社会信用代码": valid_uscc(90000 + n).lower(),
           "成立日期": "2019年3月5日", "所属区域": "高新区", "技术领域": "电子信息",
           "联系人": f"联系人{n}", "联系邮箱": f"c{n}@example.com", "从业人数": "1,234",
           "营业收入（万元）": "1,234.5678"}
    row.update(overrides)
    return [row[h] for h in ENTERPRISE_HEADERS]


@pytest.fixture
def bureau():
    """A bureau officer, who may import firms of every zone."""
    return make_user("bureau")


def test_clean_rows_are_created_with_normalised_values(write_xlsx, bureau):
    path = write_xlsx([ENTERPRISE_HEADERS, good_row(1)])
    with frozen(date(2025, 6, 1)):
        job = run_file(path, "enterprises", user=bureau)
    assert job.counts() == {"rows": 1, "valid": 1, "created": 1, "updated": 0, "unchanged": 0,
                            "errors": []}
    firm = _firm(valid_uscc(90001))
    assert firm.name == "天津导入科技有限公司1"
    assert (firm.zone, firm.tech_field, firm.founded_on) == (
        "hitech", "electronic_information", date(2019, 3, 5))
    contact = db.session.scalar(select(Contact).where(Contact.enterprise_id == firm.id))
    assert (contact.name, contact.email, contact.receives_reminders) == (
        "联系人1", "c1@example.com", True)
    metrics = db.session.scalar(select(AnnualMetrics).where(AnnualMetrics.enterprise_id == firm.id))
    # no year column: the figures belong to the previous calendar year
    assert metrics.fiscal_year == 2024
    assert metrics.employees == 1234
    assert metrics.revenue == Decimal("12345678.00")
    assert metrics.source == "import"


def test_year_option_and_year_column_choose_the_fiscal_year(write_xlsx, bureau):
    path = write_xlsx([ENTERPRISE_HEADERS, good_row(1)])
    run_file(path, "enterprises", user=bureau, year=2022)
    firm = _firm(valid_uscc(90001))
    assert db.session.scalar(select(AnnualMetrics.fiscal_year)
                             .where(AnnualMetrics.enterprise_id == firm.id)) == 2022
    with_year = write_xlsx([[*ENTERPRISE_HEADERS, "年度"], [*good_row(2), "2021年"]], "y.xlsx")
    run_file(with_year, "enterprises", user=bureau, year=2022)
    firm2 = _firm(valid_uscc(90002))
    assert db.session.scalar(select(AnnualMetrics.fiscal_year)
                             .where(AnnualMetrics.enterprise_id == firm2.id)) == 2021


def test_each_error_names_row_column_value_and_expectation(write_xlsx, bureau):
    make_enterprise(uscc=valid_uscc(90050), zone="teda")
    rows = [
        ENTERPRISE_HEADERS,
        good_row(1),
        good_row(2, 统一社会信用代码="91120116MA05"),           # row 3: bad code
        good_row(3, 成立日期="2019/13/05"),                     # row 4: bad date
        good_row(4, 所属区域="火星"),                           # row 5: unknown zone
        good_row(5, 技术领域="量子"),                           # row 6: unknown field
        good_row(6, 从业人数="-3"),                            # row 7: negative
        good_row(7, **{"营业收入（万元）": "很多"}),                     # row 8: not a number
        good_row(8, 联系邮箱="not-an-email"),                  # row 9: bad email
        good_row(9, 企业名称=None),                            # row 10: new firm without a name
        good_row(1, 企业名称="重复"),                           # row 11: duplicate of row 2
        good_row(10, 联系人=None),                             # row 12: email without contact
    ]
    job = run_file(write_xlsx(rows), "enterprises", user=bureau, dry_run=True)
    by_row = {}
    for error in job.errors:
        by_row.setdefault(error["row"], []).append(error)
    assert set(by_row) == {3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
    assert by_row[3][0]["column"] == "统一社会信用代码"
    assert "18位" in by_row[3][0]["message"]
    assert {k: by_row[4][0][k] for k in ("row", "column", "value")} == {
        "row": 4, "column": "成立日期", "value": "2019/13/05"}
    assert by_row[4][0]["msgid"]  # shown in each reader's language (tracker/messages.py)
    assert "2019-03-05" in by_row[4][0]["message"]
    assert by_row[5][0]["value"] == "火星"
    assert "高新区" in by_row[5][0]["message"]
    assert by_row[6][0]["column"] == "技术领域"
    assert by_row[7][0]["value"] == "-3"
    assert by_row[8][0]["column"] == "营业收入（万元）"
    assert by_row[9][0]["column"] == "联系邮箱"
    assert "企业名称" in by_row[10][0]["message"]
    assert "第 2 行重复" in by_row[11][0]["message"]
    assert by_row[12][0]["column"] == "联系人"
    assert (job.rows, job.valid) == (11, 1)


def test_tech_staff_above_employees_is_a_row_error(write_xlsx, bureau):
    headers = ["统一社会信用代码", "企业名称", "所属区域", "从业人数", "科技人员数"]
    path = write_xlsx([headers, [valid_uscc(90001), "甲", "高新区", 10, 20]])
    job = run_file(path, "enterprises", user=bureau, dry_run=True)
    assert job.errors[0]["column"] == "科技人员数"


def test_blank_rows_are_skipped_and_formulas_kept_as_text(write_xlsx, bureau):
    rows = [ENTERPRISE_HEADERS, good_row(1), [None] * 9, ["", " ", None, None, None, None, None,
                                                         None, None],
            good_row(2, 企业名称='=HYPERLINK("http://evil","点我")')]
    job = run_file(write_xlsx(rows), "enterprises", user=bureau)
    assert (job.rows, job.created, job.errors) == (2, 2, [])
    assert _firm(valid_uscc(90002)).name == '=HYPERLINK("http://evil","点我")'


def test_row_numbers_follow_excel_when_a_title_row_sits_above_the_header(write_xlsx, bureau):
    rows = [["2024年度高新区企业名单"], [], ENTERPRISE_HEADERS, good_row(1),
            good_row(2, 所属区域="火星")]
    job = run_file(write_xlsx(rows), "enterprises", user=bureau, dry_run=True)
    assert [e["row"] for e in job.errors] == [5]


def test_dry_run_writes_nothing(write_xlsx, bureau):
    before = (_count(Enterprise), _count(AuditEvent), _count(Contact), _count(AnnualMetrics))
    job = run_file(write_xlsx([ENTERPRISE_HEADERS, good_row(1), good_row(2)]), "enterprises",
                   user=bureau, dry_run=True)
    assert (job.status, job.created) == ("previewed", 2)
    assert (_count(Enterprise), _count(AuditEvent), _count(Contact),
            _count(AnnualMetrics)) == before


def test_all_or_nothing_by_default_and_keep_valid_on_request(write_xlsx, bureau):
    path = write_xlsx([ENTERPRISE_HEADERS, good_row(1), good_row(2, 所属区域="火星"), good_row(3)])
    job = run_file(path, "enterprises", user=bureau)
    assert job.status == "rejected"
    assert (job.valid, job.created, len(job.errors)) == (2, 0, 1)
    assert _firm(valid_uscc(90001)) is None
    job = run_file(path, "enterprises", user=bureau, keep_valid=True)
    assert (job.status, job.created) == ("done", 2)
    assert _firm(valid_uscc(90001)) is not None
    assert _firm(valid_uscc(90002)) is None


def test_reimport_is_idempotent(write_xlsx, bureau):
    path = write_xlsx([ENTERPRISE_HEADERS, good_row(1), good_row(2)])
    run_file(path, "enterprises", user=bureau)
    counts = (_count(Enterprise), _count(Contact), _count(AnnualMetrics), _count(AuditEvent))
    again = run_file(path, "enterprises", user=bureau)
    assert again.counts() == {"rows": 2, "valid": 2, "created": 0, "updated": 0, "unchanged": 2,
                              "errors": []}
    assert (_count(Enterprise), _count(Contact), _count(AnnualMetrics),
            _count(AuditEvent)) == counts


def test_update_by_uscc_changes_only_mapped_non_blank_fields(write_xlsx, bureau):
    firm = make_enterprise(uscc=valid_uscc(90001), name="旧名称", zone="hitech",
                           street="新北街道")
    path = write_xlsx([["统一社会信用代码", "企业名称", "所属区域"],
                       [valid_uscc(90001), "新名称", None]])
    job = run_file(path, "enterprises", user=bureau)
    assert (job.created, job.updated) == (0, 1)
    firm = db.session.get(Enterprise, firm.id)
    assert (firm.name, firm.zone, firm.street) == ("新名称", "hitech", "新北街道")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.entity_type == "enterprise",
                                                       AuditEvent.action == "update"))
    assert event.changes == {"name": ["旧名称", "新名称"]}
    assert event.actor_id == bureau.id
    assert f"#{job.id}" in event.summary


def test_undo_deletes_created_rows_and_restores_updated_fields(write_xlsx, bureau):
    old = make_enterprise(uscc=valid_uscc(90002), name="原名称")
    enterprise_services.save_metrics(old, 2024, {"employees": 5})
    path = write_xlsx([ENTERPRISE_HEADERS, good_row(1), good_row(2)])
    with frozen(date(2025, 6, 1)):
        job = run_file(path, "enterprises", user=bureau)
    assert (job.created, job.updated) == (1, 1)
    assert _count(ImportChange) >= 4
    undone = services.undo_job(job, user_id=bureau.id)
    assert undone >= 4
    assert _firm(valid_uscc(90001)) is None
    old = db.session.get(Enterprise, old.id)
    assert old.name == "原名称"
    assert db.session.scalar(select(AnnualMetrics.employees)
                             .where(AnnualMetrics.enterprise_id == old.id)) == 5
    assert db.session.scalar(select(func.count()).select_from(Contact)
                             .where(Contact.enterprise_id == old.id)) == 0
    assert job.status == "undone"
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.summary.like(f"撤销导入任务 #{job.id}%"))) >= 4
    with pytest.raises(services.UndoRefused):
        services.undo_job(job, user_id=bureau.id)


def test_undo_is_refused_when_a_record_changed_since(write_xlsx, bureau):
    job = run_file(write_xlsx([ENTERPRISE_HEADERS, good_row(1)]), "enterprises", user=bureau)
    firm = _firm(valid_uscc(90001))
    enterprise_services.update_enterprise(firm, {"name": "后来改的名字"}, expected_version=None)
    with pytest.raises(services.UndoRefused, match="第 2 行"):
        services.undo_job(job, user_id=bureau.id)
    assert _firm(valid_uscc(90001)).name == "后来改的名字"


def test_zone_staff_import_only_their_zone(write_xlsx):
    clerk = make_user("zone", zone="hitech")
    make_enterprise(uscc=valid_uscc(90003), zone="teda")
    rows = [ENTERPRISE_HEADERS, good_row(1), good_row(2, 所属区域="经开区"), good_row(3),
            good_row(4, 所属区域=None)]
    job = run_file(write_xlsx(rows), "enterprises", user=clerk, keep_valid=True)
    errors = {e["row"]: e for e in job.errors}
    assert set(errors) == {3, 4}
    assert "本区域" in errors[3]["message"]
    assert "其他区域" in errors[4]["message"]
    assert _firm(valid_uscc(90004)).zone == "hitech"  # blank zone: the clerk's own
    assert _firm(valid_uscc(90003)).zone == "teda"


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig", "utf-8"])
def test_csv_in_chinese_excel_encodings(write_csv, bureau, encoding):
    rows = [ENTERPRISE_HEADERS, good_row(1, **{"营业收入（万元）": "2,000"}), good_row(2)]
    job = run_file(write_csv(rows, encoding), "enterprises", user=bureau)
    assert (job.created, job.errors) == (2, [])
    firm = _firm(valid_uscc(90001))
    assert firm.name == "天津导入科技有限公司1"
    assert db.session.scalar(select(AnnualMetrics.revenue)
                             .where(AnnualMetrics.enterprise_id == firm.id)) == Decimal("20000000")


def test_unreadable_and_incomplete_files_fail_as_a_whole(tmp_path, write_xlsx, bureau):
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    with pytest.raises(services.FileUnreadable, match="xlsx"):
        run_file(broken, "enterprises", user=bureau)
    no_code = write_xlsx([["企业名称", "所属区域"], ["甲", "高新区"]])
    job = run_file(no_code, "enterprises", user=bureau)
    assert job.status == "failed"
    assert "统一社会信用代码" in job.message


def test_mapping_chosen_by_the_user_is_used(write_xlsx, bureau):
    path = write_xlsx([["代码", "公司", "片区"], [valid_uscc(90001), "甲公司", "生态城"]])
    job = run_file(path, "enterprises", user=bureau,
                   mapping={"代码": "uscc", "公司": "name", "片区": "zone"})
    assert job.created == 1
    assert _firm(valid_uscc(90001)).zone == "ecocity"


def test_reimporting_unchanged_firms_costs_no_query_per_row(write_xlsx, bureau):
    from tests.conftest import count_queries

    def statements(first: int, n: int) -> int:
        path = write_xlsx([ENTERPRISE_HEADERS] + [good_row(i) for i in range(first, first + n)],
                          name=f"firms-{first}.xlsx")
        with frozen(date(2025, 6, 1)):
            assert run_file(path, "enterprises", user=bureau).created == n
            with count_queries() as seen:
                assert run_file(path, "enterprises", user=bureau).unchanged == n
        return len(seen)

    assert statements(1, 2) == statements(10, 6)


def test_firms_an_import_creates_carry_their_derived_keys(write_xlsx, bureau):
    """The multi-row insert path fills what the ORM's events fill for a form (duplicate key)."""
    from tracker.names import name_key

    path = write_xlsx([ENTERPRISE_HEADERS, good_row(1)])
    run_file(path, "enterprises", user=bureau)
    firm = db.session.scalar(select(Enterprise).where(Enterprise.uscc == valid_uscc(90001)))
    assert firm.name_key == name_key(firm.name) and firm.uscc_valid
def test_imported_and_renamed_firms_get_pinyin_keys_and_undo_restores_them(write_xlsx, bureau):
    """The pinyin search finds a firm whatever wrote its name: import, import update, undo."""
    make_enterprise(name="天津旧名科技有限公司", uscc=valid_uscc(90077))
    db.session.flush()
    path = write_xlsx([ENTERPRISE_HEADERS, good_row(1),
                       good_row(77, 企业名称="天津新名能源有限公司")])
    job = run_file(path, "enterprises", user=bureau)
    created = _firm(valid_uscc(90001))
    assert created.name_initials == "tjdrkjyxgs1"
    renamed = _firm(valid_uscc(90077))
    assert (renamed.name, renamed.name_initials) == ("天津新名能源有限公司", "tjxmnyyxgs")
    services.undo_job(job, user_id=bureau.id)
    db.session.flush()
    restored = _firm(valid_uscc(90077))
    assert (restored.name, restored.name_initials) == ("天津旧名科技有限公司", "tjjmkjyxgs")
