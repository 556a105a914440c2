"""Carriers and tenancies: who incubates where, for how long."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Numeric, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.clock import now_utc
from tracker.extensions import db
from tracker.models_base import UTCDateTime
from tracker.names import pinyin_keys

#: 国科发区〔2018〕300号 第九条(9): incubation period in principle no longer than 48 months
DEFAULT_TERM_MONTHS = 48

CARRIER_KINDS = {
    "maker_space": "众创空间",
    "incubator": "科技企业孵化器",
    "science_park": "科技园区",
    "university_park": "大学科技园",
}
CARRIER_SCHEMES = {
    "most_2018_national": "国家级孵化器（国科发区〔2018〕300号）",
    "miit_2025_standard": "工信部孵化器 标准级（工信部科〔2025〕131号）",
    "miit_2025_excellent": "工信部孵化器 卓越级（工信部科〔2025〕131号）",
    "national_maker_space": "国家备案众创空间",
    "tianjin_municipal": "天津市级",
    "district": "区级",
    "none": "未认定",
}
#: recognition level derived from the scheme (national, municipal, district, none)
SCHEME_LEVELS = {
    "most_2018_national": "national",
    "miit_2025_standard": "national",
    "miit_2025_excellent": "national",
    "national_maker_space": "national",
    "tianjin_municipal": "municipal",
    "district": "district",
    "none": "none",
}
LEVEL_LABELS = {"national": "国家级", "municipal": "市级", "district": "区级", "none": "未认定"}
TENANCY_STATUSES = {
    "incubating": "在孵",
    "graduated": "已毕业",
    "exited": "已退出",
    "moved_on": "已转入下一载体",
}
#: domain.md §4.3 毕业企业: any one of these
GRADUATION_BASES = {
    "hnte": "经认定的国家高新技术企业",
    "investment": "累计获得天使或风险投资超过500万元",
    "revenue": "连续2年营业收入累计超过1000万元",
    "listed": "被兼并收购或在国内外资本市场挂牌上市",
}
#: status changes that need the bureau's approval, and the status each one leads to
PROPOSAL_ACTIONS = {
    "graduate": "毕业",
    "exit": "退出",
    "move_on": "转入下一载体",
}
ACTION_STATUS = {"graduate": "graduated", "exit": "exited", "move_on": "moved_on"}
PROPOSAL_STATUSES = {
    "pending": "待审核",
    "approved": "已批准",
    "rejected": "已驳回",
    "withdrawn": "已撤回",
}

#: audit field labels for the incubation tables (merged into tracker.labels.FIELD_NAMES)
FIELD_NAMES = {
    "moved_in_on": "入驻日期",
    "term_ends_on": "孵化期满",
    "term_override_reason": "期限调整原因",
    "ended_on": "结束日期",
    "graduation_basis": "毕业依据",
    "graduation_evidence": "毕业证明",
    "end_reason": "结束原因",
    "area_m2": "面积（m²）",
    "carrier_id": "载体",
    "enterprise_id": "企业",
    "previous_tenancy_id": "上一入驻记录",
    "source": "来源",
    "kind": "类型",
    "scheme": "认定体系",
    "operator": "运营机构",
    "workstations": "创业工位",
    "recognised_on": "认定日期",
    "default_term_months": "默认孵化期限",
    "specialised": "专业孵化器",
    "archived": "已归档",
    "action": "变更类型",
    "effective_on": "生效日期",
    "evidence": "证明材料",
    "reason": "说明",
    "next_carrier_id": "转入载体",
    "next_carrier_note": "拟转入载体",
    "decision_comment": "审核意见",
    "new_tenancy_id": "新入驻记录",
    "tenancy_id": "入驻记录",
    "period_start": "统计期起始日",
    "period_end": "统计期截止日",
    "fiscal_year": "数据年度",
    "due_on": "报送截止日期",
}


class Carrier(db.Model):
    __tablename__ = "carriers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    #: the name in pinyin (tracker.names.pinyin_keys), kept by the listener below: the carrier
    #: list sorts Chinese names in pinyin order by it
    name_pinyin: Mapped[str] = mapped_column(String(600), default="", server_default="",
                                             index=True)
    kind: Mapped[str] = mapped_column(String(30))
    scheme: Mapped[str] = mapped_column(String(30), default="none")
    operator: Mapped[str | None] = mapped_column(String(200))
    zone: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(300))
    #: incubation area the carrier controls, in m²
    area_m2: Mapped[int | None] = mapped_column()
    recognised_on: Mapped[date | None] = mapped_column()
    default_term_months: Mapped[int] = mapped_column(default=DEFAULT_TERM_MONTHS)
    archived: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    #: 专业孵化器 (国科发区〔2018〕300号 第九条(八)): lower tenant and graduate bars apply
    specialised: Mapped[bool] = mapped_column(default=False)
    #: 服务场地 workstations (maker spaces may qualify by ≥ 30 instead of ≥ 500 m²)
    workstations: Mapped[int | None] = mapped_column()
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, onupdate=now_utc)
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    tenancies = relationship("Tenancy", back_populates="carrier")
    managers = relationship(
        "User", primaryjoin="and_(User.carrier_id == Carrier.id, User.role == 'carrier_manager')",
        foreign_keys="User.carrier_id", viewonly=True, order_by="User.name",
    )

    @property
    def level(self) -> str:
        """national, municipal, district or none, read off the recognition scheme."""
        return SCHEME_LEVELS.get(self.scheme or "none", "none")


class Tenancy(db.Model):
    __tablename__ = "tenancies"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    carrier_id: Mapped[int] = mapped_column(ForeignKey("carriers.id"), index=True)
    moved_in_on: Mapped[date] = mapped_column()
    term_ends_on: Mapped[date] = mapped_column()
    #: why the term differs from the carrier's default (required when it does)
    term_override_reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="incubating")
    ended_on: Mapped[date | None] = mapped_column()
    #: graduation basis (domain.md §4.3): hnte, investment, revenue, listed
    graduation_basis: Mapped[str | None] = mapped_column(String(20))
    #: floor area rented, m²
    area_m2: Mapped[float | None] = mapped_column(Numeric(10, 1))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    #: last write; the invariant checker compares it with EligibilityResult.computed_at
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)
    version: Mapped[int] = mapped_column(default=1)
    #: the tenancy this one continues (maker space → incubator → park)
    previous_tenancy_id: Mapped[int | None] = mapped_column(ForeignKey("tenancies.id"))
    #: evidence for the graduation basis (listing notice, HNTE certificate number …)
    graduation_evidence: Mapped[str | None] = mapped_column(Text)
    #: why the tenancy ended, as approved
    end_reason: Mapped[str | None] = mapped_column(Text)
    #: manual, import, demo, move_on
    source: Mapped[str | None] = mapped_column(String(20))

    __mapper_args__ = {"version_id_col": version}

    carrier = relationship("Carrier", back_populates="tenancies")
    enterprise = relationship("Enterprise", back_populates="tenancies")
    previous = relationship("Tenancy", remote_side=[id])


class StatusProposal(db.Model):
    """A carrier manager's (or officer's) proposed graduation, exit or move; bureau decides."""

    __tablename__ = "tenancy_proposals"
    __table_args__ = (Index("ix_tenancy_proposals_status_at", "status", "proposed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenancy_id: Mapped[int] = mapped_column(ForeignKey("tenancies.id"), index=True)
    #: graduate, exit, move_on (PROPOSAL_ACTIONS)
    action: Mapped[str] = mapped_column(String(20))
    effective_on: Mapped[date] = mapped_column()
    #: GRADUATION_BASES code; required to graduate, optional when moving on
    graduation_basis: Mapped[str | None] = mapped_column(String(20))
    evidence: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    #: move_on: the next carrier when the proposer may name it, else the note below
    next_carrier_id: Mapped[int | None] = mapped_column(ForeignKey("carriers.id"))
    next_carrier_note: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_comment: Mapped[str | None] = mapped_column(Text)
    #: the tenancy opened when a move was approved
    new_tenancy_id: Mapped[int | None] = mapped_column(ForeignKey("tenancies.id"))
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    tenancy = relationship("Tenancy", foreign_keys=[tenancy_id])
    new_tenancy = relationship("Tenancy", foreign_keys=[new_tenancy_id])
    next_carrier = relationship("Carrier")
    proposed_by = relationship("User", foreign_keys=[proposed_by_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])


class ReportingCycle(db.Model):
    """A periodic tenant report the bureau asks for (e.g. quarterly), with its due date."""

    __tablename__ = "reporting_cycles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    period_start: Mapped[date] = mapped_column()
    period_end: Mapped[date] = mapped_column()
    #: the AnnualMetrics year the figures feed (year-to-date figures of that year)
    fiscal_year: Mapped[int] = mapped_column()
    due_on: Mapped[date] = mapped_column(index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


#: what a tenant report asks for; money in 元, like AnnualMetrics
REPORT_FIELDS = ("revenue", "employees", "rd_expense", "class1_ip", "class2_ip",
                 "investment_raised")
REPORT_MONEY_FIELDS = ("revenue", "rd_expense", "investment_raised")


class TenantReport(db.Model):
    """One tenant's figures for one cycle, filled in by its carrier's manager."""

    __tablename__ = "tenant_reports"
    __table_args__ = (UniqueConstraint("cycle_id", "tenancy_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("reporting_cycles.id"))
    tenancy_id: Mapped[int] = mapped_column(ForeignKey("tenancies.id"), index=True)
    revenue: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    employees: Mapped[int | None] = mapped_column()
    rd_expense: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    class1_ip: Mapped[int | None] = mapped_column()
    class2_ip: Mapped[int | None] = mapped_column()
    investment_raised: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    cycle = relationship("ReportingCycle")
    tenancy = relationship("Tenancy")
    submitted_by = relationship("User")


@event.listens_for(Carrier.name, "set")
def _carrier_name_key(target: Carrier, value: str | None, _old, _initiator) -> None:
    """Keep the pinyin key in step with the name, whoever sets it."""
    target.name_pinyin = pinyin_keys(value)[0]
