"""Scoped exports: the enterprise, qualification and tenancy lists and the leadership workbook.

Every query here starts from the role's scoping function, so an export never holds more than
the list page shows. The writer itself (xlsx/csv, 万元, formula neutralising) is
tracker.spreadsheets, re-exported here for the views that use it through this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import aliased

from tracker.accounts.models import User
from tracker.accounts.scope import enterprise_scope, tenancy_scope
from tracker.clock import today
from tracker.enterprises.models import FULL_YEAR_MONTHS, AnnualMetrics, Contact, Enterprise
from tracker.enterprises.queries import EnterpriseFilters, filtered_query, sort_order
from tracker.enterprises.zones import ZONES
from tracker.extensions import db
from tracker.incubation.models import TENANCY_STATUSES, Carrier, Tenancy
from tracker.indicators import services as indicators
from tracker.inputs import parse_int
from tracker.labels import value_label
from tracker.ladder.models import QUALIFICATION_STATUSES, Qualification
from tracker.messages import render_problem
from tracker.spreadsheets import Column
from tracker.spreadsheets import export_response as export_response  # re-exported for views
from tracker.spreadsheets import neutralise as neutralise
from tracker.spreadsheets import xlsx_response as xlsx_response
from tracker.vocabulary import KINDS


def _label(field: str, code: str | None, entity_type: str | None = None) -> str | None:
    """A code as the reader's language names it (tracker.labels), blank when there is none."""
    return value_label(field, code, entity_type) if code else None


# --- enterprises -------------------------------------------------------------------------

ENTERPRISE_COLUMNS = [
    Column("企业名称", width=32), Column("统一社会信用代码", width=22), Column("所属区域"),
    Column("所属街镇"), Column("成立日期", "date"), Column("技术领域", width=18),
    Column("当前梯度"), Column("状态", width=8), Column("联系专员"), Column("联系人"),
    Column("联系电话"), Column("联系邮箱", width=24), Column("数据年度", "int", 10),
    Column("从业人数", "int", 10), Column("科技人员数", "int", 10),
    Column("营业收入（万元）", "wan"), Column("研发费用（万元）", "wan"),
    Column("资产总额（万元）", "wan"), Column("更新时间", width=18),
]


def enterprise_rows(user: User, filters: EnterpriseFilters, *,
                    ids: list[int] | None = None) -> Iterator[list[Any]]:
    """The filtered, scoped list with each firm's latest full-year figures and first contact.

    `ids` narrows it to firms ticked on the list (the bulk export).
    """
    latest_year = (select(func.max(AnnualMetrics.fiscal_year))
                   .where(AnnualMetrics.enterprise_id == Enterprise.id,
                          AnnualMetrics.period_months >= FULL_YEAR_MONTHS)
                   .correlate(Enterprise).scalar_subquery())
    first_contact = (select(func.min(Contact.id)).where(Contact.enterprise_id == Enterprise.id)
                     .correlate(Enterprise).scalar_subquery())
    officer = aliased(User)
    query = (filtered_query(user, filters)
             .outerjoin(AnnualMetrics, and_(AnnualMetrics.enterprise_id == Enterprise.id,
                                            AnnualMetrics.fiscal_year == latest_year))
             .outerjoin(Contact, Contact.id == first_contact)
             .outerjoin(officer, officer.id == Enterprise.officer_id)
             .add_columns(AnnualMetrics, Contact, officer.name)
             .order_by(*sort_order(filters.sort))
             .execution_options(yield_per=500))
    if ids is not None:
        query = query.where(Enterprise.id.in_(ids))
    for firm, metrics, contact, officer_name in db.session.execute(query):
        yield [
            firm.name, firm.uscc, _label("zone", firm.zone), firm.street, firm.founded_on,
            _label("tech_field", firm.tech_field), _label("current_rung", firm.current_rung),
            _label("status", "archived" if firm.archived else "active", "enterprise"),
            officer_name,
            contact.name if contact else None, contact.phone if contact else None,
            contact.email if contact else None,
            metrics.fiscal_year if metrics else None, metrics.employees if metrics else None,
            metrics.tech_staff if metrics else None, metrics.revenue if metrics else None,
            metrics.rd_expense if metrics else None, metrics.total_assets if metrics else None,
            firm.updated_at,
        ]


# --- qualifications ----------------------------------------------------------------------

QUALIFICATION_COLUMNS = [
    Column("企业名称", width=32), Column("统一社会信用代码", width=22), Column("所属区域"),
    Column("资质类型", width=18), Column("证书编号", width=20), Column("发证日期", "date"),
    Column("有效期至", "date"), Column("批次", width=16), Column("状态", width=8),
]


@dataclass
class QualificationFilters:
    kind: str = ""
    zone: str = ""
    status: str = ""
    year: int | None = None

    @classmethod
    def from_args(cls, args: Any) -> QualificationFilters:
        return cls(kind=args.get("kind", "") if args.get("kind") in KINDS else "",
                   zone=args.get("zone", "") if args.get("zone") in ZONES else "",
                   status=args.get("status", "") if args.get("status") in
                   QUALIFICATION_STATUSES else "",
                   year=parse_int(args.get("year"), low=1900, high=2100))


def qualification_query(user: User, filters: QualificationFilters, day: date | None = None):
    day = day or today()
    query = (select(Qualification, Enterprise).join(Enterprise,
                                                    Enterprise.id == Qualification.enterprise_id)
             .where(enterprise_scope(user)))
    if filters.kind:
        query = query.where(Qualification.kind == filters.kind)
    if filters.zone:
        query = query.where(Enterprise.zone == filters.zone)
    if filters.year:
        query = query.where(Qualification.granted_on >= date(filters.year, 1, 1),
                            Qualification.granted_on <= date(filters.year, 12, 31))
    revoked = and_(Qualification.revoked_on.is_not(None), Qualification.revoked_on <= day)
    if filters.status == "revoked":
        query = query.where(revoked)
    elif filters.status == "expired":
        query = query.where(~revoked, Qualification.valid_until < day)
    elif filters.status == "valid":
        query = query.where(~revoked, Qualification.granted_on <= day,
                            or_(Qualification.valid_until.is_(None),
                                Qualification.valid_until >= day))
    elif filters.status == "pending":
        query = query.where(~revoked, Qualification.granted_on > day)
    return query


def qualification_rows(user: User, filters: QualificationFilters) -> Iterator[list[Any]]:
    day = today()
    query = (qualification_query(user, filters, day)
             .order_by(Enterprise.name, Qualification.kind, Qualification.granted_on)
             .execution_options(yield_per=500))
    for qualification, firm in db.session.execute(query):
        yield [firm.name, firm.uscc, _label("zone", firm.zone),
               _label("kind", qualification.kind), qualification.number,
               qualification.granted_on, qualification.valid_until, qualification.batch,
               _label("status", qualification.status_on(day), "qualification")]


# --- tenancies ---------------------------------------------------------------------------

TENANCY_COLUMNS = [
    Column("企业名称", width=32), Column("统一社会信用代码", width=22),
    Column("载体名称", width=28), Column("入驻日期", "date"), Column("孵化期满日期", "date"),
    Column("入驻状态", width=10),
    Column("毕业/退出日期", "date"), Column("毕业依据", width=20), Column("入驻面积（平方米）"),
]


def tenancy_rows(user: User, args: Any) -> Iterator[list[Any]]:
    query = (select(Tenancy, Enterprise, Carrier)
             .join(Enterprise, Enterprise.id == Tenancy.enterprise_id)
             .join(Carrier, Carrier.id == Tenancy.carrier_id)
             .where(tenancy_scope(user)))
    if (carrier_id := parse_int(args.get("carrier_id"))) is not None:
        query = query.where(Tenancy.carrier_id == carrier_id)
    if args.get("status") in TENANCY_STATUSES:
        query = query.where(Tenancy.status == args["status"])
    query = query.order_by(Carrier.name, Enterprise.name, Tenancy.id).execution_options(
        yield_per=500)
    for tenancy, firm, carrier in db.session.execute(query):
        yield [firm.name, firm.uscc, carrier.name, tenancy.moved_in_on, tenancy.term_ends_on,
               _label("status", tenancy.status, "tenancy"), tenancy.ended_on,
               _label("graduation_basis", tenancy.graduation_basis), tenancy.area_m2]


# --- the leadership workbook -------------------------------------------------------------

EXPIRY_WINDOW_DAYS = 180

#: sheets other features append to the leadership workbook: user -> (title, columns, rows)
_EXTRA_SHEETS: list[Callable[[Any], tuple[str, list[Column], Iterable[list[Any]]]]] = []


def add_leadership_sheet(sheet: Callable[[Any], tuple[str, list[Column], Iterable[list[Any]]]]
                         ) -> None:
    """Append a sheet to the leadership workbook (the dashboard adds its trend data)."""
    if sheet not in _EXTRA_SHEETS:
        _EXTRA_SHEETS.append(sheet)


def leadership_sheets(user: User) -> list[tuple[str, list[Column], Iterable[list[Any]]]]:
    """Counts per rung and zone, this year's new qualifications, certificates expiring soon,
    the plan's indicators."""
    day = today()
    valid = QualificationFilters(status="valid")
    held = qualification_query(user, valid, day).with_only_columns(
        Qualification.kind, Enterprise.zone, func.count(func.distinct(Enterprise.id))
    ).group_by(Qualification.kind, Enterprise.zone)
    counts: dict[tuple[str, str], int] = {(k, z): c for k, z, c in db.session.execute(held)}
    zone_codes = list(ZONES)
    summary_columns = [Column("梯度", width=20),
                       *[Column(ZONES[z][0], "int", 10) for z in zone_codes],
                       Column("合计", "int")]
    summary = []
    for kind, label in KINDS.items():
        values = [counts.get((kind, z), 0) for z in zone_codes]
        summary.append([label, *values, sum(values)])
    new_rows = qualification_rows(user, QualificationFilters(year=day.year))
    soon = (qualification_query(user, valid, day)
            .where(Qualification.valid_until <= day + timedelta(days=EXPIRY_WINDOW_DAYS))
            .order_by(Qualification.valid_until, Enterprise.name))
    expiring = ([f.name, f.uscc, ZONES.get(f.zone, ("",))[0], KINDS.get(q.kind, q.kind),
                 q.number, q.granted_on, q.valid_until, q.batch, "有效"]
                for q, f in db.session.execute(soon))
    return [
        (f"各梯度分区域（{day.isoformat()}）", summary_columns, summary),
        (f"{day.year}年新增资质", QUALIFICATION_COLUMNS, new_rows),
        (f"{EXPIRY_WINDOW_DAYS}天内到期", QUALIFICATION_COLUMNS, expiring),
        *indicator_sheet(user),
        *(sheet(user) for sheet in _EXTRA_SHEETS),
    ]


def indicator_sheet(user: User) -> list[tuple[str, list[Column], Iterable[list[Any]]]]:
    """The plan indicators of every period, for the roles that read the indicator page."""
    if not indicators.may_read(user):
        return []
    columns = [Column(header, width=width) for header, width in indicators.SHEET_HEADERS]
    return [(indicators.SHEET_TITLE, columns, indicators.sheet_rows(user))]


ERROR_COLUMNS = [Column("行号", "int", 8), Column("列", width=20), Column("内容", width=30),
                 Column("问题", width=60)]


def error_rows(errors: list[dict[str, Any]]) -> Iterator[list[Any]]:
    """Stored row errors in the reader's language (see tracker/messages.py)."""
    for stored in errors:
        error = render_problem(stored)
        yield [error["row"], error["column"], error["value"], error["message"]]
