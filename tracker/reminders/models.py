"""Reminder rules (admin-edited data), official cycles, filings and the delivery ledger."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.clock import now_utc
from tracker.extensions import db
from tracker.models_base import UTCDateTime

#: what a rule watches; each has one set-based query in tracker.reminders.sweep
RULE_KINDS = {
    "hnte_expiry": "高企证书到期",
    "hnte_annual_report": "高企年度发展情况报表",
    "hnte_annual_report_escalation": "高企年报连续两年未报（升级）",
    "tech_sme_refile": "科技型中小企业年度重新评价",
    "tenancy_term_ending": "孵化期届满",
    "tenant_report_overdue": "在孵企业报表逾期",
    "tenant_report_late": "逾期未报（催报）",
    "application_deadline": "申报截止",
    "cycle_closing": "申报批次截止",
    "newly_eligible": "新达到上一梯度条件",
    "digest": "每日汇总",
}
RECIPIENT_KINDS = {
    "contacts": "企业联系人",
    "officer": "联络专员",
    "carrier_manager": "载体管理员",
    "zone_staff": "开发区/街镇工作人员",
    "owner": "申报负责人",
}
#: ledger statuses; only `pending` rows are ever sent
STATUSES = {
    "pending": "待发送",
    "sending": "发送中",
    "sent": "已发送",
    "failed": "发送失败",
    "expired": "已过期（未能送达）",
    "handled": "已处理",
    "skipped": "已跳过（退订）",
    "digested": "已并入汇总",
}
#: programmes an official cycle can belong to, and the application kind each one concerns
PROGRAMMES = {
    "hnte_application": ("高新技术企业认定申报", "hnte"),
    "tech_sme_evaluation": ("科技型中小企业评价", "tech_sme"),
    "chuying_application": ("雏鹰企业评价", "chuying"),
    "dengling_application": ("瞪羚企业评价", "dengling"),
    "leader_application": ("科技领军企业评价", "leader"),
    "hnte_annual_report": ("高企年度发展情况报表", None),
    "tenant_report": ("在孵企业统计报表（火炬统计）", None),
}
#: what a filing records having been filed (the reminders stop once it is)
FILING_KINDS = {
    "hnte_annual_report": "高企年度发展情况报表",
    "tech_sme_refile": "科技型中小企业评价信息",
    "tenant_report": "在孵企业统计报表",
}


class ReminderRule(db.Model):
    """What is due when and to whom; admins edit it, the sweep reads it."""

    __tablename__ = "reminder_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: stable code the seed uses to find its own rows again
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: one of RULE_KINDS
    kind: Mapped[str] = mapped_column(String(40))
    #: days before the due date (negative: after it, for "overdue")
    offsets: Mapped[list] = mapped_column(JSON, default=list)
    #: codes from RECIPIENT_KINDS
    recipients: Mapped[list] = mapped_column(JSON, default=list)
    #: templates/emails/<template>.txt|.html
    template: Mapped[str] = mapped_column(String(60))
    #: cycle programme for cycle_closing / tenant_report_overdue rules
    programme: Mapped[str | None] = mapped_column(String(40))
    enabled: Mapped[bool] = mapped_column(default=True)
    #: the official basis shown to admins (domain.md section)
    basis: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class OfficialCycle(db.Model):
    """A dated window of an official programme (a batch), edited by admins."""

    __tablename__ = "official_cycles"
    __table_args__ = (UniqueConstraint("programme", "year", "batch"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme: Mapped[str] = mapped_column(String(40))
    year: Mapped[int] = mapped_column()
    batch: Mapped[str] = mapped_column(String(100), default="")
    opens_on: Mapped[date | None] = mapped_column()
    closes_on: Mapped[date] = mapped_column(index=True)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class Filing(db.Model):
    """A periodic report recorded as filed for a year; reminders about it then stop."""

    __tablename__ = "reminder_filings"
    __table_args__ = (UniqueConstraint("enterprise_id", "kind", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    kind: Mapped[str] = mapped_column(String(40))
    year: Mapped[int] = mapped_column()
    filed_on: Mapped[date] = mapped_column()
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


#: 64-bit ids: every sweep may insert many rows over the years (SQLite's INTEGER is 64-bit
#: already and must stay INTEGER to remain the rowid alias)
BigId = BigInteger().with_variant(Integer, "sqlite")


class Reminder(db.Model):
    """One reminder per (rule, subject, occurrence, recipient), with its delivery status."""

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint(
            "rule_id", "subject_type", "subject_id", "occurrence_on", "occurrence_tag",
            "recipient_type", "recipient_id", name="uq_reminders_key",
        ),
        # the send path and the reaper only ever look at unfinished rows
        Index("ix_reminders_status_next", "status", "next_attempt_at"),
        Index("ix_reminders_enterprise", "enterprise_id", "id"),
        # the ledger sorted by due date, paged by keyset
        Index("ix_reminders_occurrence_id", "occurrence_on", "id"),
        # the ledger's capped counts in a scope: per status, the scope's firms' rows, and the
        # user's own (digests, officer copies); tracker.reminders.counts
        Index("ix_reminders_status_enterprise", "status", "enterprise_id"),
        Index("ix_reminders_user_status", "recipient_id", "status",
              postgresql_where=text("recipient_type = 'user'"),
              sqlite_where=text("recipient_type = 'user'")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("reminder_rules.id"))
    #: qualification, tenancy, application, enterprise or user (digests)
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int] = mapped_column()
    #: the due date the reminder is about
    occurrence_on: Mapped[date] = mapped_column()
    #: which step of the rule: "d90" (90 days before), "d-1" (a day late), "rung:hnte" …
    occurrence_tag: Mapped[str] = mapped_column(String(40))
    #: user or contact
    recipient_type: Mapped[str] = mapped_column(String(10))
    recipient_id: Mapped[int] = mapped_column()
    #: address and language at the time the reminder was made
    to_address: Mapped[str] = mapped_column(String(254))
    locale: Mapped[str] = mapped_column(String(10), default="zh_CN")
    #: email, or digest for officers who chose one daily digest
    channel: Mapped[str] = mapped_column(String(10), default="email")
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the sender's claim holds until then; it renews it (heartbeat) while it works, and the
    #: reaper only takes back rows whose lease ran out
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: the recipient used this reminder's unsubscribe link
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the digest reminder this item was folded into
    digest_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("reminders.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    rule = relationship("ReminderRule")
    enterprise = relationship("Enterprise")

    def message_id(self, domain: str) -> str:
        """Stable per reminder, so a resend after a crash is recognisably the same message."""
        return f"<reminder-{self.id}.{self.rule_id}.{self.occurrence_on:%Y%m%d}@{domain}>"


class OutboxMessage(db.Model):
    """Every message handed to the mail server (or the mail folder), for the outbox page."""

    __tablename__ = "reminder_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    reminder_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("reminders.id"),
                                                    index=True)
    message_id: Mapped[str] = mapped_column(String(200))
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    transport: Mapped[str] = mapped_column(String(20))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, index=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)


class SweepState(db.Model):
    """The scheduled sweep's one row: the day of its last full pass and the requests since.

    Within a day the windows and cycle dates stand still, so after that day's full pass only
    changed firms (sweep_marks) can become due, unless something read for every firm changed
    (a rule, a cycle, a user): that asks for another full pass by raising `requested`; a full
    pass records the request count it started from in `served`.
    """

    __tablename__ = "sweep_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    full_pass_on: Mapped[date | None] = mapped_column()
    requested: Mapped[int] = mapped_column(BigInteger, default=0)
    served: Mapped[int] = mapped_column(BigInteger, default=0)


class SweepMark(db.Model):
    """A firm whose reminder inputs changed outside an inline sweep since the last pass.

    Written in the change's own transaction; the next scheduled sweep takes the marks it
    handles with DELETE … RETURNING inside its own, so a later mark waits for the next pass.
    """

    __tablename__ = "sweep_marks"

    enterprise_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
