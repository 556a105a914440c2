"""Plan targets the dashboard measures progress against.

Defaults come from 滨海新区科技创新"十四五"规划 (issued Oct 2021; domain.md §5.2) and the 2020
baseline from the plan's official Q&A (domain.md §5.3). Admins may record other years or revised
values; a stored Target overrides the default for the same metric and year.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from tracker.audit import services as audit
from tracker.clock import now_utc
from tracker.errors import FieldError
from tracker.extensions import db
from tracker.models_base import UTCDateTime

PLAN_DOCUMENT = "滨海新区科技创新“十四五”规划（2021年10月）"

#: metric code -> (label, 2025 target, 2020 baseline or None)
PLAN_2025: dict[str, tuple[str, int, int | None]] = {
    "hnte": ("国家级高新技术企业", 5800, 3270),
    "chuying": ("雏鹰企业", 2100, None),
    "dengling": ("瞪羚企业", 210, None),
    "leader_any": ("科技领军(培育)企业", 160, None),
    "national_maker_space": ("国家级众创空间", 28, None),
    "national_incubator": ("国家级孵化器", 20, None),
}


class Target(db.Model):
    """An admin-recorded target value for a metric in a year."""

    __tablename__ = "targets"
    __table_args__ = (UniqueConstraint("metric", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    metric: Mapped[str] = mapped_column(String(40))
    year: Mapped[int] = mapped_column()
    value: Mapped[int] = mapped_column()
    #: the document the number comes from
    source: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)


@dataclass(frozen=True)
class TargetLine:
    metric: str
    label: str
    year: int
    target: int
    baseline: int | None
    source: str


def targets_for(year: int = 2025) -> list[TargetLine]:
    """Plan defaults for `year`, overridden by what admins stored."""
    stored = {t.metric: t for t in db.session.scalars(select(Target).where(Target.year == year))}
    lines = []
    for metric, (label, value, baseline) in PLAN_2025.items():
        row = stored.get(metric)
        if row is not None:
            lines.append(TargetLine(metric, label, year, row.value, baseline, row.source))
        elif year == 2025:
            lines.append(TargetLine(metric, label, year, value, baseline, PLAN_DOCUMENT))
    return lines


#: the years and values the admin may record (the form's limits, checked here for every channel)
TARGET_YEARS = (2020, 2050)
MAX_TARGET = 10_000_000


def save_target(metric: str, year: int, value: int, source: str, *,
                actor_id: int | None = None) -> Target:
    """Record the target for a metric and year (create or overwrite), audited; flushes.

    The admin page and `flask targets set` both call this, so a target typed in a shell is
    checked and audited exactly like one saved on the page.
    """
    errors = {}
    if metric not in PLAN_2025:
        errors["metric"] = "没有这个规划指标"
    if not isinstance(year, int) or not TARGET_YEARS[0] <= year <= TARGET_YEARS[1]:
        errors["year"] = f"年度应在 {TARGET_YEARS[0]}–{TARGET_YEARS[1]} 之间"
    if not isinstance(value, int) or not 0 <= value <= MAX_TARGET:
        errors["value"] = f"目标值应在 0–{MAX_TARGET:,} 之间"
    if not (source or "").strip() or len(source) > 200:
        errors["source"] = "请填写依据文件（200 字以内）"
    if errors:
        raise FieldError(errors)
    row = db.session.scalar(select(Target).where(Target.metric == metric, Target.year == year))
    before = {"value": row.value, "source": row.source} if row else {}
    if row is None:
        row = Target(metric=metric, year=year)
        db.session.add(row)
    row.value, row.source = value, source
    db.session.flush()
    audit.record("target", row.id, "update" if before else "create",
                 audit.changed_fields(before, {"value": row.value, "source": row.source}),
                 actor_id=actor_id, summary=f"{row.metric} {row.year}")
    return row


def progress(current: int, target: int) -> float:
    """Share of the target reached, capped at 100 % for the bar."""
    if target <= 0:
        return 0.0
    return min(100.0, round(100.0 * current / target, 1))
