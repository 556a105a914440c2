"""Delivery (claim, send, mark), the reaper, digests and the ledger actions.

Every state change is a guarded UPDATE (`… WHERE status = 'pending'`), so two workers, a
resend and a reaper can race without a reminder being sent twice by us.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import (
    Date,
    Integer,
    Select,
    String,
    and_,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError

from tracker import mail
from tracker.accounts.models import User
from tracker.audit import services as audit
from tracker.clock import LOCAL_TZ, as_utc, now_utc, to_local, today
from tracker.enterprises.models import Contact, Enterprise
from tracker.errors import FieldError
from tracker.extensions import db
from tracker.incubation.models import Tenancy
from tracker.ladder.models import Application, Qualification
from tracker.ladder.rules import KINDS
from tracker.reminders.defaults import digest_rule
from tracker.reminders.models import (
    FILING_KINDS,
    PROGRAMMES,
    RULE_KINDS,
    Filing,
    OfficialCycle,
    OutboxMessage,
    Reminder,
    ReminderRule,
)

log = logging.getLogger(__name__)

#: rule kinds whose "mark handled" means the periodic report was filed for that year
FILING_RULES = {
    "hnte_annual_report": "hnte_annual_report",
    "hnte_annual_report_escalation": "hnte_annual_report",
    "tech_sme_refile": "tech_sme_refile",
    "tenant_report_overdue": "tenant_report",
}


def setting(name: str, default: Any) -> Any:
    return current_app.config.get(name, default)


def due_clause(now: datetime):
    return or_(Reminder.next_attempt_at.is_(None), Reminder.next_attempt_at <= now)


# ---------------------------------------------------------------------------------------------
# Claiming and sending
# ---------------------------------------------------------------------------------------------


def lease_seconds() -> int:
    """A claim holds for one whole conversation plus a margin, renewed before each send."""
    return int(setting("REMINDER_SMTP_TIMEOUT", 20)) + int(setting("REMINDER_STUCK_SECONDS", 600))


def claim(reminder_id: int) -> datetime | None:
    """Move one due pending reminder to `sending`; returns the claim time, or None if taken."""
    now = now_utc()
    result = db.session.execute(
        update(Reminder).where(Reminder.id == reminder_id, Reminder.status == "pending",
                               Reminder.channel == "email", due_clause(now))
        .values(status="sending", claimed_at=now, attempts=Reminder.attempts + 1,
                lease_until=now + timedelta(seconds=lease_seconds()))
        .execution_options(synchronize_session=False)
    )
    return now if result.rowcount == 1 else None


def claim_batch(limit: int) -> list[tuple[int, datetime]]:
    """Claim up to `limit` due reminders; SKIP LOCKED lets concurrent batches not collide."""
    now = now_utc()
    query = (select(Reminder.id).where(Reminder.status == "pending", Reminder.channel == "email",
                                       due_clause(now))
             .order_by(Reminder.id).limit(limit))
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(db.session.scalars(query))
    if not ids:
        return []
    claimed = db.session.scalars(
        update(Reminder).where(Reminder.id.in_(ids), Reminder.status == "pending")
        .values(status="sending", claimed_at=now, attempts=Reminder.attempts + 1,
                lease_until=now + timedelta(seconds=lease_seconds()))
        .returning(Reminder.id).execution_options(synchronize_session=False)
    ).all()
    return [(rid, now) for rid in sorted(claimed)]


def heartbeat(reminder_ids: list[int], claimed_at: datetime) -> set[int]:
    """Renew the lease of rows we still hold (claimed_at is our claim's token).

    A batch renews every row it has yet to send before each conversation, so rows waiting
    their turn are not taken for abandoned; returns the ids still ours.
    """
    if not reminder_ids:
        return set()
    return set(db.session.scalars(
        update(Reminder).where(Reminder.id.in_(reminder_ids), Reminder.status == "sending",
                               Reminder.claimed_at == claimed_at)
        .values(lease_until=now_utc() + timedelta(seconds=lease_seconds()))
        .returning(Reminder.id).execution_options(synchronize_session=False)).all())


def backoff_seconds(attempts: int) -> int:
    """Bounded exponential backoff with jitter: base·2^(n-1), at most REMINDER_BACKOFF_MAX."""
    base = setting("REMINDER_BACKOFF_BASE", 60)
    cap = setting("REMINDER_BACKOFF_MAX", 3600)
    delay = min(cap, base * 2 ** max(attempts - 1, 0))
    return max(1, int(delay * random.uniform(0.8, 1.2)))


def retry_deadline(reminder: Reminder) -> datetime:
    """Until when a transiently failing reminder is worth retrying.

    Until the end of its due date (Beijing time): a reminder still useful tomorrow keeps
    trying. One made on or after its due date (overdue steps, digests) still gets
    REMINDER_RETRY_MIN_HOURS from when it was made.
    """
    end_of_due = datetime.combine(reminder.occurrence_on + timedelta(days=1), time.min,
                                  tzinfo=LOCAL_TZ).astimezone(UTC)
    made = as_utc(reminder.created_at) or now_utc()
    floor = made + timedelta(hours=float(setting("REMINDER_RETRY_MIN_HOURS", 72)))
    return max(end_of_due, floor)


@dataclass
class Outcome:
    status: str  # sent, retry, failed, expired, skipped
    delay: int = 0


def send_claimed(reminder_id: int, claimed_at: datetime) -> Outcome:
    """Send one claimed reminder and record the result; the caller commits before and after."""
    if reminder_id not in heartbeat([reminder_id], claimed_at):
        return Outcome("skipped")  # the reaper took it back: our lease had run out
    db.session.commit()
    reminder = db.session.get(Reminder, reminder_id)
    reason = _no_longer_wanted(reminder)
    if reason:
        _finish(reminder_id, claimed_at, status="skipped", last_error=reason)
        return Outcome("skipped")
    try:
        message, summary = compose(reminder)
    except Exception as exc:  # a broken template must not loop through the reaper forever
        log.exception("cannot compose reminder %s", reminder_id)
        _finish(reminder_id, claimed_at, status="failed", last_error=f"compose: {exc}")
        return Outcome("failed")
    try:
        mail.deliver(message)
    except mail.PermanentMailError as exc:
        _finish(reminder_id, claimed_at, status="failed", last_error=f"permanent: {exc}")
        return Outcome("failed")
    except mail.TransientMailError as exc:
        # never permanent by the clock of attempts alone: retry at the capped interval until
        # the reminder stops being useful, then say so
        delay = backoff_seconds(reminder.attempts)
        retry_at = now_utc() + timedelta(seconds=delay)
        deadline = retry_deadline(reminder)
        if retry_at > deadline:
            _finish(reminder_id, claimed_at, status="expired", next_attempt_at=None,
                    last_error=f"expired: still failing at its deadline "
                               f"{to_local(deadline):%Y-%m-%d %H:%M} after "
                               f"{reminder.attempts} attempts: {exc}")
            return Outcome("expired")
        _finish(reminder_id, claimed_at, status="pending", last_error=f"transient: {exc}",
                next_attempt_at=retry_at)
        return Outcome("retry", delay)
    updated = _finish(reminder_id, claimed_at, status="sent", sent_at=now_utc(),
                      last_error=None, next_attempt_at=None)
    if updated:
        db.session.add(OutboxMessage(
            reminder_id=reminder_id, message_id=message["Message-ID"],
            to_address=reminder.to_address,
            subject=str(message["Subject"]), body_text=summary, transport=mail.transport_name(),
            enterprise_id=reminder.enterprise_id))
    return Outcome("sent")


def _no_longer_wanted(reminder: Reminder) -> str | None:
    """Things that changed since the sweep made the row: opt-outs and archived firms."""
    if reminder.enterprise is not None and reminder.enterprise.status != "active":
        return "企业已归档"
    if reminder.recipient_type == "contact":
        contact = db.session.get(Contact, reminder.recipient_id)
        if contact is None or contact.unsubscribed_at is not None:
            return "收件人已退订或已删除"
        if not contact.receives_reminders:
            return "联系人已设置为不接收提醒"
    return None


def _finish(reminder_id: int, claimed_at: datetime, **values: Any) -> bool:
    result = db.session.execute(
        update(Reminder).where(Reminder.id == reminder_id, Reminder.status == "sending",
                               Reminder.claimed_at == claimed_at)
        .values(lease_until=None, **values).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        log.warning("reminder %s was reclaimed while sending", reminder_id)
    return result.rowcount == 1


def reap(now: datetime | None = None) -> int:
    """Return rows whose sender provably stopped (its lease ran out) to `pending`.

    A live sender renews the lease before every conversation and a conversation is bounded
    by REMINDER_SMTP_TIMEOUT, so an expired lease means nobody is talking to SMTP for it.
    """
    now = now or now_utc()
    stuck_before = now - timedelta(seconds=lease_seconds())
    result = db.session.execute(
        update(Reminder).where(Reminder.status == "sending", or_(
            Reminder.lease_until < now,
            and_(Reminder.lease_until.is_(None), Reminder.claimed_at < stuck_before)))
        .values(status="pending", next_attempt_at=None, lease_until=None,
                last_error="reclaimed: the sender stopped mid-send")
        .execution_options(synchronize_session=False))
    return result.rowcount or 0


def due_pending_count(now: datetime | None = None) -> int:
    now = now or now_utc()
    return db.session.scalar(select(func.count(Reminder.id)).where(
        Reminder.status == "pending", Reminder.channel == "email", due_clause(now))) or 0


# ---------------------------------------------------------------------------------------------
# Composing the email
# ---------------------------------------------------------------------------------------------

_SUBJECTS = {
    "hnte_expiry": "【高企证书到期提醒】%(name)s：证书将于 %(due)s 到期",
    "hnte_annual_report": "【高企年报提醒】%(name)s：请于 %(due)s 前填报年度发展情况报表",
    "hnte_annual_report_escalation": "【高企年报预警】%(name)s：去年未报，今年须于 %(due)s 前填报",
    "tech_sme_refile": "【科技型中小企业】%(name)s：请于 %(due)s 前完成今年的评价信息填报",
    "tenancy_term_ending": "【孵化期届满提醒】%(name)s：孵化期将于 %(due)s 届满",
    "tenant_report_overdue": "【报表逾期】%(name)s：在孵企业统计报表已于 %(due)s 截止",
    "tenant_report_late": "【逾期未报】%(name)s：在孵企业报表已于 %(due)s 截止，尚未报送",
    "application_deadline": "【申报截止提醒】%(name)s：申报材料截止日期 %(due)s",
    "cycle_closing": "【申报批次截止】%(name)s：本批次将于 %(due)s 截止",
    "newly_eligible": "【梯度培育】%(name)s 已达到“%(rung)s”的条件",
    "digest": "【每日提醒汇总】%(due)s：%(count)s 条提醒",
}


def _serializer(salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=salt)


def unsubscribe_token(reminder: Reminder) -> str:
    return _serializer("reminders-unsubscribe").dumps([reminder.recipient_id, reminder.id])


def read_unsubscribe_token(token: str) -> tuple[int, int] | None:
    try:
        contact_id, reminder_id = _serializer("reminders-unsubscribe").loads(token)
        return int(contact_id), int(reminder_id)
    except (BadSignature, ValueError, TypeError):
        return None


def _subject_object(reminder: Reminder) -> Any:
    model = {"qualification": Qualification, "tenancy": Tenancy, "application": Application,
             "enterprise": Enterprise, "user": User}.get(reminder.subject_type)
    return db.session.get(model, reminder.subject_id) if model else None


def _recipient_name(reminder: Reminder) -> str:
    model = Contact if reminder.recipient_type == "contact" else User
    person = db.session.get(model, reminder.recipient_id)
    return person.name if person else reminder.to_address


def email_context(reminder: Reminder) -> dict[str, Any]:
    base = current_app.config["BASE_URL"].rstrip("/")
    rule = reminder.rule
    subject = _subject_object(reminder)
    rung = reminder.occurrence_tag.split(":", 1)[1] if reminder.occurrence_tag.startswith(
        "rung:") else None
    items: list[Reminder] = []
    if rule.kind == "digest":
        items = list(db.session.scalars(select(Reminder).where(Reminder.digest_id == reminder.id)
                                        .order_by(Reminder.occurrence_on, Reminder.id)))
    return {
        "reminder": reminder, "rule": rule, "subject": subject,
        "enterprise": reminder.enterprise, "recipient_name": _recipient_name(reminder),
        "due": reminder.occurrence_on, "days_left": (reminder.occurrence_on - today()).days,
        "rung": rung, "rung_label": KINDS.get(rung or "", ""), "items": items,
        "rule_labels": RULE_KINDS,
        "unsubscribe_url": (f"{base}/reminders/unsubscribe/{unsubscribe_token(reminder)}"
                            if reminder.recipient_type == "contact" else None),
        "ledger_url": f"{base}/reminders/",
        "enterprise_url": (f"{base}/enterprises/{reminder.enterprise_id}"
                           if reminder.enterprise_id else None),
    }


def compose(reminder: Reminder):
    """(message, plain-text body) in the recipient's language, text and HTML parts."""
    ctx = email_context(reminder)
    locale = "en" if (reminder.locale or "").startswith("en") else "zh_CN"
    with force_locale(locale):
        name = reminder.enterprise.name if reminder.enterprise else ""
        subject = _(_SUBJECTS.get(reminder.rule.kind, "【提醒】%(name)s"),
                    name=name, due=reminder.occurrence_on.isoformat(),
                    rung=_(ctx["rung_label"]) if ctx["rung_label"] else "",
                    count=len(ctx["items"]))
        text = render_template(f"emails/{reminder.rule.template}.txt", **ctx)
        html = render_template(f"emails/{reminder.rule.template}.html", **ctx)
    domain = current_app.config["MAIL_FROM"].rpartition("@")[2] or "tracker"
    message = mail.build_message(to=reminder.to_address, subject=subject, text=text, html=html,
                                 message_id=reminder.message_id(domain),
                                 unsubscribe_url=ctx["unsubscribe_url"])
    return message, text


# ---------------------------------------------------------------------------------------------
# Digests
# ---------------------------------------------------------------------------------------------


def build_digests(day: date | None = None) -> list[int]:
    """Fold each digest user's pending items into one digest reminder for `day` (idempotent)."""
    from tracker.reminders.sweep import _insert  # the same ON CONFLICT insert as the sweep

    day = day or today()
    rule = digest_rule()
    users = list(db.session.scalars(
        select(User).where(User.id.in_(
            select(Reminder.recipient_id).where(
                Reminder.recipient_type == "user", Reminder.channel == "digest",
                Reminder.status == "pending")))))
    made: list[int] = []
    for user in users:
        row = select(
            literal(rule.id).label("rule_id"), literal("user", String).label("subject_type"),
            literal(user.id).label("subject_id"), literal(day, Date).label("occurrence_on"),
            literal("daily", String).label("occurrence_tag"),
            cast(null(), Integer).label("enterprise_id"),
            literal("user", String).label("recipient_type"),
            literal(user.id).label("recipient_id"),
            literal(user.email, String).label("to_address"),
            literal(user.locale, String).label("locale"), literal("email", String).label("channel"),
        ).where(true())
        db.session.execute(_insert(row))
        digest = db.session.scalar(select(Reminder).where(
            Reminder.rule_id == rule.id, Reminder.subject_type == "user",
            Reminder.subject_id == user.id, Reminder.occurrence_on == day,
            Reminder.occurrence_tag == "daily", Reminder.recipient_type == "user",
            Reminder.recipient_id == user.id))
        if digest is None or digest.status != "pending":
            continue  # today's digest already went out; the rest waits for tomorrow's
        db.session.execute(
            update(Reminder).where(Reminder.recipient_type == "user",
                                   Reminder.recipient_id == user.id,
                                   Reminder.channel == "digest", Reminder.status == "pending")
            .values(status="digested", digest_id=digest.id)
            .execution_options(synchronize_session=False))
        made.append(digest.id)
    return made


# ---------------------------------------------------------------------------------------------
# Ledger actions (views call these, then commit once)
# ---------------------------------------------------------------------------------------------


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
    rows = db.session.scalars(
        update(Reminder).where(Reminder.id.in_(ids), Reminder.status.in_(("failed", "expired")))
        .values(status="pending", channel="email", attempts=0, next_attempt_at=None,
                last_error=None, lease_until=None)
        .returning(Reminder.id).execution_options(synchronize_session=False)).all()
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
        db.session.execute(
            update(Reminder).where(
                Reminder.rule_id == reminder.rule_id, Reminder.subject_id == reminder.subject_id,
                Reminder.subject_type == reminder.subject_type,
                Reminder.occurrence_on == reminder.occurrence_on,
                Reminder.status == "pending", Reminder.id != reminder.id)
            .values(status="handled", handled_at=now_utc(), handled_by_id=user.id)
            .execution_options(synchronize_session=False))
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
    result = db.session.execute(
        update(Reminder).where(Reminder.recipient_type == "contact",
                               Reminder.recipient_id == contact.id,
                               Reminder.status == "pending")
        .values(status="skipped", last_error="收件人已退订")
        .execution_options(synchronize_session=False))
    db.session.flush()
    return result.rowcount or 0


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
