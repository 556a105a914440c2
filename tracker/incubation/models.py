"""Carriers and tenancies: who incubates where, for how long."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.clock import now_utc
from tracker.extensions import db
from tracker.models_base import UTCDateTime

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
TENANCY_STATUSES = {
    "incubating": "在孵",
    "graduated": "已毕业",
    "exited": "已退出",
    "moved_on": "已转入下一载体",
}


class Carrier(db.Model):
    __tablename__ = "carriers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
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

    tenancies = relationship("Tenancy", back_populates="carrier")


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
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    carrier = relationship("Carrier", back_populates="tenancies")
    enterprise = relationship("Enterprise", back_populates="tenancies")
