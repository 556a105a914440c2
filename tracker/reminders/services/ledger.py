"""Ledger actions (views call these, then commit once): resend, retry, mark handled,
filings, unsubscribe, digest choice, rule and official-cycle edits."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, select, update
from sqlalchemy.exc import IntegrityError

from tracker import ledger_changes
from tracker.accounts.models import User
from tracker.audit import services as audit
from tracker.clock import now_utc, today
from tracker.enterprises.models import Contact
from tracker.errors import FieldError
from tracker.extensions import db
from tracker.reminders.defaults import digest_rule
from tracker.reminders.models import (
    FILING_KINDS,
    PROGRAMMES,
    Filing,
    OfficialCycle,
    Reminder,
    ReminderRule,
)

#: rule kinds whose "mark handled" means the periodic report was filed for that year
FILING_RULES = {
    "hnte_annual_report": "hnte_annual_report",
    "hnte_annual_report_escalation": "hnte_annual_report",
    "tech_sme_refile": "tech_sme_refile",
    "tenant_report_overdue": "tenant_report",
}


class ActionError(ValueError):
    """An action that does not apply to the reminder's current state."""


def resend(reminder: Reminder) -> None:
    """Queue a finished or failed reminder again (the same Message-ID is reused)."""
    if reminder.status in ("pending", "sending"):
        raise ActionError(_("该提醒正在等待发送，无需重发"))
    if reminder.channel != "email" and reminder.status == "digested":
        raise ActionError(_("该提醒已并入每日汇总，请重发汇总邮件"))
    before = reminder.status
    reminder.status = "pending"
    reminder.channel = "email"
    reminder.next_attempt_at = None
    reminder.last_error = None
    reminder.attempts = 0  # a fresh budget: the deadline counts from the due date, not tries
    db.session.flush()
    audit.record("reminder", reminder.id, "resend", {"status": [before, "pending"]},
                 enterprise_id=reminder.enterprise_id, summary=reminder.to_address)


def retry_all(query: Select) -> int:
    """Queue again every failed or expired reminder the ledger's filter `query` selects."""
    ids = select(query.with_only_columns(Reminder.id).order_by(None).subquery().c.id)
    queued = db.session.execute(
        update(Reminder).where(Reminder.id.in_(ids), Reminder.status.in_(("failed", "expired")))
        .values(status="pending", channel="email", attempts=0, next_attempt_at=None,
                last_error=None, lease_until=None)
        .returning(Reminder.id, Reminder.enterprise_id)
        .execution_options(synchronize_session=False)).all()
    ledger_changes.note(firm for _rid, firm in queued)
    rows = [rid for rid, _firm in queued]
    if rows:
        audit.record("reminder", rows[0], "retry_all", {"count": [None, len(rows)]},
                     summary=_("批量重发 %(n)s 条失败或过期的提醒", n=len(rows)))
    db.session.flush()
    return len(rows)


def mark_handled(reminder: Reminder, user: User) -> None:
    """The matter is dealt with; for report rules this records the report as filed."""
    if reminder.status == "handled":
        raise ActionError(_("该提醒已标记为已处理"))
    before = reminder.status
    reminder.status = "handled"
    reminder.handled_at = now_utc()
    reminder.handled_by_id = user.id
    filing_kind = FILING_RULES.get(reminder.rule.kind)
    if filing_kind and reminder.enterprise_id:
        record_filing(reminder.enterprise_id, filing_kind, reminder.occurrence_on.year, user)
        # the same matter for other recipients is dealt with too
        handled = db.session.execute(
            update(Reminder).where(
                Reminder.rule_id == reminder.rule_id, Reminder.subject_id == reminder.subject_id,
                Reminder.subject_type == reminder.subject_type,
                Reminder.occurrence_on == reminder.occurrence_on,
                Reminder.status == "pending", Reminder.id != reminder.id)
            .values(status="handled", handled_at=now_utc(), handled_by_id=user.id)
            .returning(Reminder.enterprise_id).execution_options(synchronize_session=False))
        ledger_changes.note(firm for (firm,) in handled)
    db.session.flush()
    audit.record("reminder", reminder.id, "handle", {"status": [before, "handled"]},
                 enterprise_id=reminder.enterprise_id, actor_id=user.id,
                 summary=reminder.rule.name)


def record_filing(enterprise_id: int, kind: str, year: int, user: User | None) -> Filing:
    if kind not in FILING_KINDS:
        raise ActionError(_("未知的报表类型"))
    filing = db.session.scalar(select(Filing).where(
        Filing.enterprise_id == enterprise_id, Filing.kind == kind, Filing.year == year))
    if filing is None:
        filing = Filing(enterprise_id=enterprise_id, kind=kind, year=year, filed_on=today(),
                        recorded_by_id=user.id if user else None)
        db.session.add(filing)
        db.session.flush()
        audit.record("filing", filing.id, "create", {"kind": [None, kind], "year": [None, year]},
                     enterprise_id=enterprise_id, actor_id=user.id if user else None,
                     summary=FILING_KINDS[kind])
    return filing


def unsubscribe(contact: Contact, reminder: Reminder | None) -> int:
    """Stop reminders to this contact; the ledger shows the link that was used."""
    now = now_utc()
    if contact.unsubscribed_at is None:
        contact.unsubscribed_at = now
        audit.record("contact", contact.id, "unsubscribe", {"unsubscribed_at": [None,
                                                                                 now.isoformat()]},
                     enterprise_id=contact.enterprise_id, summary=contact.name)
    if reminder is not None and reminder.unsubscribed_at is None:
        reminder.unsubscribed_at = now
    skipped = db.session.execute(
        update(Reminder).where(Reminder.recipient_type == "contact",
                               Reminder.recipient_id == contact.id,
                               Reminder.status == "pending")
        .values(status="skipped", last_error="收件人已退订")
        .returning(Reminder.enterprise_id).execution_options(synchronize_session=False)).all()
    ledger_changes.note(firm for (firm,) in skipped)
    db.session.flush()
    return len(skipped)


def set_digest(user: User, wants_digest: bool) -> None:
    """Pending items follow the new choice too, so nothing is sent both ways."""
    if user.wants_digest == wants_digest:
        return
    user.wants_digest = wants_digest
    db.session.execute(
        update(Reminder).where(Reminder.recipient_type == "user",
                               Reminder.recipient_id == user.id, Reminder.status == "pending",
                               Reminder.channel == ("email" if wants_digest else "digest"),
                               Reminder.rule_id != digest_rule().id)
        .values(channel="digest" if wants_digest else "email")
        .execution_options(synchronize_session=False))
    db.session.flush()
    audit.record("user", user.id, "update", {"wants_digest": [not wants_digest, wants_digest]},
                 actor_id=user.id, summary=user.email)


def save_rule(rule: ReminderRule, data: dict[str, Any]) -> ReminderRule:
    fields = ("name", "offsets", "recipients", "template", "programme", "enabled")
    before = audit.snapshot(rule, fields)
    for key in fields:
        if key in data:
            setattr(rule, key, data[key])
    db.session.flush()
    changes = audit.changed_fields(before, audit.snapshot(rule, fields))
    if changes:
        audit.record("reminder_rule", rule.id, "update", changes, summary=rule.name)
    return rule


CYCLE_FIELDS = ("programme", "year", "batch", "opens_on", "closes_on", "notes")


def save_cycle(cycle: OfficialCycle | None, data: dict[str, Any]) -> OfficialCycle:
    """Create or edit one official application window; a duplicate batch is refused by field."""
    before = audit.snapshot(cycle, CYCLE_FIELDS) if cycle else {}
    target = cycle or OfficialCycle()
    for key in CYCLE_FIELDS:
        setattr(target, key, data[key])
    try:
        with db.session.begin_nested():
            db.session.add(target)
            db.session.flush()
    except IntegrityError:
        raise FieldError({"batch": _("该项目、年度和批次已存在")}) from None
    audit.record("official_cycle", target.id, "update" if cycle else "create",
                 audit.changed_fields(before, audit.snapshot(target, CYCLE_FIELDS)),
                 summary=f"{PROGRAMMES[target.programme][0]} {target.year} {target.batch}")
    return target


def delete_cycle(cycle: OfficialCycle) -> None:
    """Remove an official window (the admin confirmed); the audit keeps what it was."""
    audit.record("official_cycle", cycle.id, "delete",
                 audit.changed_fields(audit.snapshot(cycle, ("programme", "year", "batch",
                                                              "closes_on")), {}))
    db.session.delete(cycle)
    db.session.flush()
