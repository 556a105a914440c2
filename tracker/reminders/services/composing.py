"""Composing the email of a reminder: subject, text and HTML parts, the unsubscribe token."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from tracker import mail
from tracker.accounts.models import User
from tracker.clock import today
from tracker.enterprises.models import Contact, Enterprise
from tracker.extensions import db
from tracker.incubation.models import Tenancy
from tracker.ladder.models import Application, Qualification
from tracker.ladder.rules import KINDS
from tracker.reminders.models import RULE_KINDS, Reminder

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
