"""Importing official qualification lists and tenancies, and the CLI contract."""

import json
from datetime import date

import pytest
from sqlalchemy import select

from tests.factories import make_carrier, make_enterprise, make_user, valid_uscc
from tests.imports.helpers import run_file
from tracker.extensions import db
from tracker.imports import services
from tracker.incubation.models import Tenancy
from tracker.ladder.models import Qualification
from tracker.ladder.validity import default_valid_until

QUAL_HEADERS = ["序号", "企业名称", "统一社会信用代码", "证书编号", "发证日期", "批次"]


@pytest.fixture
def bureau():
    """A bureau officer."""
    return make_user("bureau")


@pytest.mark.parametrize(
    ("kind", "granted", "until"),
    [("hnte", date(2023, 12, 8), date(2026, 12, 7)),
     ("hnte", date(2024, 2, 29), date(2027, 2, 28)),
     ("tech_sme", date(2024, 5, 20), date(2024, 12, 31)),
     ("chuying", date(2024, 5, 20), None)],
)
def test_default_validity_follows_the_official_rules(kind, granted, until):
    assert default_valid_until(kind, granted) == until


def test_hnte_list_creates_qualifications_and_reimport_is_unchanged(write_xlsx, bureau):
    firm = make_enterprise(uscc=valid_uscc(91001))
    path = write_xlsx([QUAL_HEADERS,
                       [1, firm.name, firm.uscc, "GR202312000123", "2023年12月8日", "2023年第二批"],
                       [2, "未登记公司", valid_uscc(91002), "GR202312000124", "2023-12-08", None]])
    job = run_file(path, "qualifications", user=bureau, keep_valid=True)
    assert (job.created, job.valid) == (1, 1)
    assert job.errors[0]["row"] == 3
    assert "尚未登记" in job.errors[0]["message"]
    qualification = db.session.scalar(select(Qualification))
    assert (qualification.kind, qualification.number, qualification.valid_until,
            qualification.source) == ("hnte", "GR202312000123", date(2026, 12, 7), "import")
    again = run_file(path, "qualifications", user=bureau, keep_valid=True)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)


def test_corrected_dates_update_the_qualification_and_undo_restores(write_xlsx, bureau):
    firm = make_enterprise(uscc=valid_uscc(91001))
    first = write_xlsx([QUAL_HEADERS, [1, firm.name, firm.uscc, "GR202312000123", "2023-12-08",
                                       None]])
    run_file(first, "qualifications", user=bureau)
    fixed = write_xlsx([["统一社会信用代码", "证书编号", "发证日期", "有效期至"],
                        [firm.uscc, "GR202312000123", "2023-12-08", "2026-12-08"]], "fixed.xlsx")
    job = run_file(fixed, "qualifications", user=bureau)
    assert job.updated == 1
    assert db.session.scalar(select(Qualification.valid_until)) == date(2026, 12, 8)
    services.undo_job(job, user_id=bureau.id)
    assert db.session.scalar(select(Qualification.valid_until)) == date(2026, 12, 7)


def test_list_without_kind_needs_a_chosen_kind(write_xlsx, bureau):
    firm = make_enterprise(uscc=valid_uscc(91001))
    path = write_xlsx([["统一社会信用代码", "入库登记编号", "入库日期"],
                       [firm.uscc, "202412011600001234", "2024-05-20"]])
    job = run_file(path, "qualifications", user=bureau, dry_run=True)
    assert job.errors[0]["column"] == "资质类型"
    job = run_file(path, "qualifications", user=bureau, qualification_kind="tech_sme")
    assert job.created == 1
    assert db.session.scalar(select(Qualification.valid_until)) == date(2024, 12, 31)


def test_zone_staff_cannot_import_qualifications_of_other_zones(write_xlsx):
    other = make_enterprise(uscc=valid_uscc(91001), zone="teda")
    path = write_xlsx([QUAL_HEADERS, [1, other.name, other.uscc, "GR1", "2023-12-08", None]])
    job = run_file(path, "qualifications", user=make_user("zone", zone="hitech"))
    assert job.status == "rejected"
    assert "管辖范围" in job.errors[0]["message"]


def test_tenancies_with_default_term_and_unknown_carrier(write_xlsx, bureau):
    carrier = make_carrier(name="滨海高新区创业中心", default_term_months=48)
    firm = make_enterprise(uscc=valid_uscc(91001))
    path = write_xlsx([["统一社会信用代码", "载体名称", "入驻日期", "入驻面积（平方米）"],
                       [firm.uscc, " 滨海高新区创业中心 ", "2024/03/01", "1,200.5"],
                       [firm.uscc, "不存在的孵化器", "2024/03/01", None]])
    job = run_file(path, "tenancies", user=bureau, keep_valid=True)
    assert job.created == 1
    assert job.errors[0]["row"] == 3
    assert "不存在的孵化器" in job.errors[0]["message"]
    tenancy = db.session.scalar(select(Tenancy))
    assert (tenancy.carrier_id, tenancy.moved_in_on, tenancy.term_ends_on, tenancy.status) == (
        carrier.id, date(2024, 3, 1), date(2028, 3, 1), "incubating")
    assert tenancy.term_override_reason is None  # the carrier's default term needs no reason
    again = run_file(path, "tenancies", user=bureau, keep_valid=True)
    assert again.unchanged == 1


def test_cli_prints_the_json_contract(app, write_xlsx):
    firm = make_enterprise(uscc=valid_uscc(91001))
    path = write_xlsx([["企业名称", "统一社会信用代码", "所属区域", "从业人数"],
                       [firm.name, firm.uscc, "高新区", 12],
                       ["新公司", valid_uscc(91002), "保税区", "x"]])
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import", "enterprises", str(path), "--dry-run", "--json",
                                 "--year", "2023"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    # the contract's keys stay; written, warnings and changes were added after it
    assert set(data) == {"rows", "valid", "created", "updated", "unchanged", "errors",
                         "written", "warnings", "changes"}
    assert (data["rows"], data["valid"], data["created"], data["updated"]) == (2, 1, 0, 1)
    # each error keeps its Chinese message and adds the catalogue id with its parameters
    assert data["errors"] == [{"row": 3, "column": "从业人数", "value": "x",
                               "message": "应为数字，可带千位分隔符，如 1,234.56",
                               "msgid": "应为数字，可带千位分隔符，如 1,234.56", "params": {}}]


def test_cli_exits_2_when_the_file_cannot_be_read(app, tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"garbage")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import", "enterprises", str(bad), "--json"])
    assert result.exit_code == 2
    assert "error" in json.loads(result.output)
    missing = runner.invoke(args=["import", "tenancies", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2


def test_imported_title_moves_the_rung_and_undo_moves_it_back(write_xlsx, bureau):
    from tracker.clock import frozen
    from tracker.ladder.models import StageTransition

    firm = make_enterprise(uscc=valid_uscc(91003))
    path = write_xlsx([QUAL_HEADERS, [1, firm.name, firm.uscc, "GR202512000777", "2025-11-20",
                                      "2025年第一批"]])
    with frozen(date(2026, 6, 1)):
        job = run_file(path, "qualifications", user=bureau)
        assert job.created == 1
        # the engine expunges rows as it streams, so read the firm afresh
        assert db.session.get(type(firm), firm.id).current_rung == "hnte"
        services.undo_job(job, user_id=bureau.id)
        assert db.session.get(type(firm), firm.id).current_rung is None
    # an undone import never happened: the history shows no stay on a title nobody held,
    # and the audit keeps the record of the move and its withdrawal
    moves = db.session.scalars(select(StageTransition).where(
        StageTransition.enterprise_id == firm.id).order_by(StageTransition.id)).all()
    assert moves == []
    from tracker.audit.models import AuditEvent

    rungs = db.session.scalars(select(AuditEvent.changes).where(
        AuditEvent.enterprise_id == firm.id, AuditEvent.action == "transition")
        .order_by(AuditEvent.id)).all()
    assert [c["current_rung"] for c in rungs] == [[None, "hnte"], ["hnte", None]]


def test_imported_tenancy_opens_through_the_incubation_rules(write_xlsx, bureau):
    from tracker.ladder.models import StageTransition

    carrier = make_carrier(name="名单孵化器")
    firm = make_enterprise(uscc=valid_uscc(91004), founded_on=date(2023, 1, 1))
    path = write_xlsx([["企业名称", "统一社会信用代码", "载体名称", "入驻日期", "孵化期满日期"],
                       [firm.name, firm.uscc, carrier.name, "2024-01-31", "2029-01-31"]])
    job = run_file(path, "tenancies", user=bureau)
    assert job.created == 1, job.errors
    tenancy = db.session.scalar(select(Tenancy).where(Tenancy.enterprise_id == firm.id))
    assert tenancy.term_ends_on == date(2029, 1, 31)
    assert tenancy.term_override_reason  # differs from the 48-month default, so a reason is kept
    assert db.session.scalar(select(StageTransition).where(
        StageTransition.tenancy_id == tenancy.id, StageTransition.chain == "incubation"))


def test_rows_the_feature_services_refuse_become_row_errors(write_xlsx, bureau):
    from tracker.clock import frozen

    carrier = make_carrier(name="名单孵化器")
    firm = make_enterprise(uscc=valid_uscc(91005), founded_on=date(2020, 1, 1))
    with frozen(date(2026, 6, 1)):
        quals = write_xlsx([QUAL_HEADERS, [1, firm.name, firm.uscc, "GR202612000001",
                                           "2026-12-01", None]])
        job = run_file(quals, "qualifications", user=bureau)
        assert (job.status, job.created) == ("rejected", 0)
        assert [(e["row"], e["column"]) for e in job.errors] == [(2, "发证日期")]
        assert "晚于今天" in job.errors[0]["message"]
        stays = write_xlsx([["企业名称", "统一社会信用代码", "载体名称", "入驻日期"],
                            [firm.name, firm.uscc, carrier.name, "2026-12-01"]])
        job = run_file(stays, "tenancies", user=bureau)
        assert (job.status, job.created) == ("rejected", 0)
        assert [(e["row"], e["column"]) for e in job.errors] == [(2, "入驻日期")]
        assert "晚于今天" in job.errors[0]["message"]


def test_reimporting_an_unchanged_list_costs_no_query_per_row(write_xlsx, bureau):
    from tests.conftest import count_queries

    carrier = make_carrier(name="名单孵化器")
    firms = [make_enterprise(uscc=valid_uscc(91100 + i)) for i in range(8)]

    def statements(kind: str, rows: list[list]) -> int:
        path = write_xlsx(rows, name=f"{kind}-{len(rows)}.xlsx")
        assert run_file(path, kind, user=bureau).created == len(rows) - 1
        with count_queries() as seen:
            assert run_file(path, kind, user=bureau).unchanged == len(rows) - 1
        return len(seen)

    for kind, header, row in (
            ("qualifications", QUAL_HEADERS,
             lambda i, f: [i, f.name, f.uscc, f"GR20231200{i:04d}", "2023-12-08", None]),
            ("tenancies", ["统一社会信用代码", "载体名称", "入驻日期"],
             lambda i, f: [f.uscc, carrier.name, "2024-03-01"])):
        few = statements(kind, [header] + [row(i, f) for i, f in enumerate(firms[:2])])
        many = statements(kind, [header] + [row(i, f) for i, f in enumerate(firms[2:], 2)])
        assert many == few, kind
