"""The enterprise record and what hangs off it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    DDL,
    JSON,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
    text,
)
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.clock import now_utc
from tracker.enterprises import uscc as uscc_check
from tracker.extensions import db
from tracker.models_base import UTCDateTime
from tracker.names import name_key, pinyin_keys

#: money columns hold 元 exactly; the UI converts to and from 万元
Money = Numeric(18, 2)

ENTERPRISE_STATUSES = {"active": "正常", "archived": "已归档"}
#: AnnualMetrics.period_months of a complete fiscal year
FULL_YEAR_MONTHS = 12


class Enterprise(db.Model):
    __tablename__ = "enterprises"
    __table_args__ = (
        Index("ix_enterprises_zone_name", "zone", "name"),
        Index("ix_enterprises_name_id", "name", "id"),
        # Name search (ILIKE '%…%') on PostgreSQL: trigrams, which pg_trgm builds for Chinese
        # characters too under a UTF-8 database. SQLite has no such index; there it is a plain
        # one (kept so one model and one migration serve both).
        Index("ix_enterprises_name_trgm", "name", postgresql_using="gin",
              postgresql_ops={"name": "gin_trgm_ops"}),
        # Likely duplicates: one GROUP BY over the keys of the records not merged away.
        Index("ix_enterprises_name_key", "name_key",
              postgresql_where=text("merged_into_id IS NULL"),
              sqlite_where=text("merged_into_id IS NULL")),
        # Legacy records to review (a code failing the check): few, read in id order.
        Index("ix_enterprises_invalid_uscc", "id",
              postgresql_where=text("NOT uscc_valid"), sqlite_where=text("NOT uscc_valid")),
        # Pinyin order and the navbar's pinyin search: the list sorts by (name_pinyin, id) and
        # the search reads a prefix range of either key, both straight off these.
        Index("ix_enterprises_pinyin_id", "name_pinyin", "id"),
        Index("ix_enterprises_initials", "name_initials"),
        Index("ix_enterprises_active_pinyin", "name_pinyin", "id",
              postgresql_where=text("status = 'active'"), sqlite_where=text("status = 'active'")),
        # The navbar's pinyin search inside the keys ("beiyang" in tianjinbeiyang…): trigrams,
        # PostgreSQL only (SQLite scans the keys in pinyin order).
        Index("ix_enterprises_pinyin_trgm", "name_pinyin", postgresql_using="gin",
              postgresql_ops={"name_pinyin": "gin_trgm_ops"}).ddl_if(dialect="postgresql"),
        Index("ix_enterprises_initials_trgm", "name_initials", postgresql_using="gin",
              postgresql_ops={"name_initials": "gin_trgm_ops"}).ddl_if(dialect="postgresql"),
        Index("ix_enterprises_zone_pinyin", "zone", "name_pinyin", "id"),
        Index("ix_enterprises_active_rung_pinyin", "current_rung", "name_pinyin", "id",
              postgresql_where=text("status = 'active'"), sqlite_where=text("status = 'active'")),
        # The dashboard's counts per zone, rung and field: one ordered GROUP BY read off this
        # index alone (the rows themselves are wide), whatever the size of the register.
        Index("ix_enterprises_status_zone_rung_field", "status", "zone", "current_rung",
              "tech_field"),
        # Joins from child rows (candidates, titles, transitions) that only need the firm's
        # status, rung and zone: an index-only probe instead of reading the wide row.
        Index("ix_enterprises_id_status_rung_zone", "id", "status", "current_rung", "zone"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: 统一社会信用代码, normalised; the business key
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    #: why a code that fails the GB 32100 check was accepted (old real codes do)
    uscc_override_reason: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str] = mapped_column(String(200))
    #: tracker.names.name_key(name), kept by the mapper events below: likely duplicates are the
    #: firms sharing one key (an indexed GROUP BY, not a comparison of every pair)
    name_key: Mapped[str | None] = mapped_column(String(200))
    #: whether `uscc` passes the GB 32100 check; false marks a legacy record to review
    uscc_valid: Mapped[bool] = mapped_column(default=True, server_default=sa_true())
    #: set when a bureau user merged this record into another (tracker.bulk.merge); the
    #: record stays, archived, so the merge can be undone
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"))
    #: the name in pinyin and its initials (tracker.names.pinyin_keys), written whenever `name`
    #: is saved (derived_columns below), so every save path keeps them
    name_pinyin: Mapped[str] = mapped_column(String(600), default="", server_default="")
    name_initials: Mapped[str] = mapped_column(String(200), default="", server_default="")
    zone: Mapped[str] = mapped_column(String(20), index=True)
    street: Mapped[str | None] = mapped_column(String(100))
    founded_on: Mapped[date | None] = mapped_column()
    tech_field: Mapped[str | None] = mapped_column(String(40), index=True)
    #: free industry tags, e.g. ["信创", "生物制造"]
    industry_tags: Mapped[list] = mapped_column(JSON, default=list)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="active", index=True)
    address: Mapped[str | None] = mapped_column(String(300))
    website: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)

    # Facts the rules engine reads (eligibility.md "enterprise" block); None means unknown.
    registered_in_tianjin: Mapped[bool | None] = mapped_column(default=True)
    resident_enterprise: Mapped[bool | None] = mapped_column(default=True)
    restricted_industry: Mapped[bool | None] = mapped_column(default=False)
    integrity_record_clean: Mapped[bool | None] = mapped_column(default=True)
    #: honour codes from eligibility.md (provincial_rd_institution, sci_award ...)
    honours: Mapped[list] = mapped_column(JSON, default=list)
    innovation_score: Mapped[int | None] = mapped_column()

    #: cached ladder position, derived from valid qualifications (never typed in)
    current_rung: Mapped[str | None] = mapped_column(String(30), index=True)
    #: since when the stored eligibility results lag this firm's facts (a recompute handed to
    #: a worker, or one that failed); NULL when they are fresh. The catch-up run clears it.
    eligibility_stale_since: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    officer = relationship("User", foreign_keys=[officer_id])
    contacts = relationship(
        "Contact", back_populates="enterprise", order_by="Contact.id",
        cascade="all, delete-orphan",
    )
    metrics = relationship(
        "AnnualMetrics", back_populates="enterprise",
        order_by="AnnualMetrics.fiscal_year.desc()", cascade="all, delete-orphan",
    )
    activities = relationship("Activity", back_populates="enterprise", cascade="all")
    tenancies = relationship(
        "Tenancy", back_populates="enterprise", order_by="Tenancy.moved_in_on"
    )

    @property
    def archived(self) -> bool:
        return self.status == "archived"

    def __repr__(self) -> str:
        return f"<Enterprise {self.uscc} {self.name}>"


class Contact(db.Model):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    #: whether reminders about this firm go to this person
    receives_reminders: Mapped[bool] = mapped_column(default=True)
    #: set from the unsubscribe link in an email; reminders then skip this contact
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locale: Mapped[str] = mapped_column(String(10), default="zh_CN")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    #: optimistic lock: an edit made from an older version is refused, not silently lost
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    enterprise = relationship("Enterprise", back_populates="contacts")


#: fields of AnnualMetrics that hold money (元)
MONEY_FIELDS = (
    "revenue", "total_income", "total_assets", "net_assets", "total_cost",
    "rd_expense", "rd_expense_domestic", "high_tech_income", "investment_raised",
)
COUNT_FIELDS = ("employees", "tech_staff", "class1_ip", "class2_ip")
METRIC_LABELS = {
    "employees": "从业人数",
    "tech_staff": "科技人员数",
    "revenue": "营业收入",
    "total_income": "总收入",
    "total_assets": "资产总额",
    "net_assets": "净资产",
    "total_cost": "成本费用总额",
    "rd_expense": "研发费用",
    "rd_expense_domestic": "境内研发费用",
    "high_tech_income": "高新技术产品（服务）收入",
    "class1_ip": "Ⅰ类知识产权",
    "class2_ip": "Ⅱ类知识产权",
    "investment_raised": "获得投资",
}


class AnnualMetrics(db.Model):
    """One row per enterprise and fiscal year, with where the figures came from."""

    __tablename__ = "annual_metrics"
    __table_args__ = (UniqueConstraint("enterprise_id", "fiscal_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    fiscal_year: Mapped[int] = mapped_column()
    employees: Mapped[int | None] = mapped_column()
    tech_staff: Mapped[int | None] = mapped_column()
    revenue: Mapped[Decimal | None] = mapped_column(Money)
    total_income: Mapped[Decimal | None] = mapped_column(Money)
    total_assets: Mapped[Decimal | None] = mapped_column(Money)
    net_assets: Mapped[Decimal | None] = mapped_column(Money)
    total_cost: Mapped[Decimal | None] = mapped_column(Money)
    rd_expense: Mapped[Decimal | None] = mapped_column(Money)
    rd_expense_domestic: Mapped[Decimal | None] = mapped_column(Money)
    high_tech_income: Mapped[Decimal | None] = mapped_column(Money)
    class1_ip: Mapped[int | None] = mapped_column()
    class2_ip: Mapped[int | None] = mapped_column()
    investment_raised: Mapped[Decimal | None] = mapped_column(Money)
    #: manual, import, tenant_report, api
    source: Mapped[str] = mapped_column(String(30), default="manual")
    #: months of the fiscal year the figures cover: 12 for a full year; a tenant's quarterly
    #: report gives year-to-date figures (3, 6, 9) that must never pass for a full year
    period_months: Mapped[int] = mapped_column(default=FULL_YEAR_MONTHS,
                                               server_default=str(FULL_YEAR_MONTHS))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    enterprise = relationship("Enterprise", back_populates="metrics")

    @property
    def is_partial(self) -> bool:
        """Year-to-date figures: kept apart from every rule and total that reads a full year."""
        return (self.period_months or FULL_YEAR_MONTHS) < FULL_YEAR_MONTHS


ACTIVITY_KINDS = {"note": "备注", "visit": "走访", "call": "电话", "task": "待办"}


class Activity(db.Model):
    """A note, visit, call or follow-up task on an enterprise."""

    __tablename__ = "activities"
    __table_args__ = (Index("ix_activities_enterprise_created", "enterprise_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    kind: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(Text)
    occurred_on: Mapped[date | None] = mapped_column()
    #: follow-up tasks only
    due_on: Mapped[date | None] = mapped_column(index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    enterprise = relationship("Enterprise", back_populates="activities")
    owner = relationship("User", foreign_keys=[owner_id])
    created_by = relationship("User", foreign_keys=[created_by_id])


# The trigram operator class must exist before the table's indexes are created (create_all in
# tests and fresh installs; the migration creates it too).
event.listen(Enterprise.__table__, "before_create",
             DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"))


def derived_columns(name: str | None, uscc: str | None,
                    spell: Callable[[str | None], tuple[str, str]] = pinyin_keys
                    ) -> dict[str, Any]:
    """The columns computed from a firm's name and code, for every writer: the mapper events
    below for ORM saves (form, API, import, undo, merge), and multi-row Core inserts (imports,
    the generator, which passes a cached `spell`) that pass them along."""
    name_pinyin, name_initials = spell(name)
    return {"name_key": name_key(name) or None, "uscc_valid": uscc_check.is_valid(uscc or ""),
            "name_pinyin": name_pinyin, "name_initials": name_initials}


@event.listens_for(Enterprise, "before_insert")
def _derive_keys(_mapper, _connection, target: Enterprise) -> None:
    """Every channel that saves a firm (form, API, import, merge) keeps the derived keys."""
    for column, value in derived_columns(target.name, target.uscc).items():
        setattr(target, column, value)


@event.listens_for(Enterprise, "before_update")
def _rederive_keys(mapper, connection, target: Enterprise) -> None:
    """As _derive_keys, when the name or the code changed (spelling a name costs ~10 ms:
    an import correcting the figures of 50,000 firms must not spell each name again)."""
    state = inspect(target)
    if (state.attrs.name.history.has_changes() or state.attrs.uscc.history.has_changes()
            or target.name_pinyin is None):  # a row written before the keys existed
        _derive_keys(mapper, connection, target)
