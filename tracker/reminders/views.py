"""Ledger, outbox, rules, cycles, unsubscribe and the calendar feed."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from tracker.accounts import tokens as feed_tokens
from tracker.accounts.access import editor_required, roles_required, safe_next
from tracker.accounts.scope import enterprise_scope, outbox_scope, reminder_scope, tenancy_scope
from tracker.clock import now_utc, today
from tracker.enterprises.models import Contact, Enterprise
from tracker.extensions import csrf, db
from tracker.forms_support import Outcome, commit_or_report, page_status
from tracker.i18n import escaped
from tracker.imports import exports
from tracker.incubation.models import Tenancy
from tracker.inputs import parse_int
from tracker.ladder.models import Application, Qualification
from tracker.names import fold_name
from tracker.pagination import SortKey, both_ways, keyset_page, requested_size, requested_sort
from tracker.reminders import ical, services
from tracker.reminders.counts import status_counts
from tracker.reminders.forms import CycleForm, RuleForm, parse_offsets
from tracker.reminders.models import (
    PROGRAMMES,
    RECIPIENT_KINDS,
    RULE_KINDS,
    STATUSES,
    OfficialCycle,
    OutboxMessage,
    Reminder,
    ReminderRule,
)
from tracker.reminders.tasks import send, send_batch

bp = Blueprint("reminders", __name__, url_prefix="/reminders")


def get_reminder_or_404(reminder_id: int) -> Reminder:
    reminder = db.session.scalar(
        select(Reminder).where(reminder_scope(current_user), Reminder.id == reminder_id))
    if reminder is None:
        abort(404)
    return reminder


def _filtered(args) -> tuple[Any, dict[str, str]]:
    filters = {k: (args.get(k) or "").strip() for k in ("status", "kind", "q", "to", "due_from",
                                                          "due_to", "enterprise_id")}
    query = select(Reminder).where(reminder_scope(current_user)).options(
        joinedload(Reminder.rule), joinedload(Reminder.enterprise))
    if filters["status"] in STATUSES:
        query = query.where(Reminder.status == filters["status"])
    if filters["kind"] in RULE_KINDS:
        query = query.where(Reminder.rule_id.in_(
            select(ReminderRule.id).where(ReminderRule.kind == filters["kind"])))
    if filters["q"]:
        query = query.where(Reminder.enterprise_id.in_(
            select(Enterprise.id).where(Enterprise.name.contains(fold_name(filters["q"])))))
    if filters["to"]:
        query = query.where(Reminder.to_address.contains(filters["to"].lower()))
    if (enterprise_id := parse_int(filters["enterprise_id"])) is not None:
        query = query.where(Reminder.enterprise_id == enterprise_id)
    for key, op in (("due_from", "__ge__"), ("due_to", "__le__")):
        try:
            day = date.fromisoformat(filters[key]) if filters[key] else None
        except ValueError:
            flash(_("日期格式须为 YYYY-MM-DD：%(v)s", v=filters[key]), "warning")
            day = None
        if day:
            query = query.where(getattr(Reminder.occurrence_on, op)(day))
    return query, filters


#: the ledger's sortable columns: newest reminder first by default, or by due date
LEDGER_SORTS = {
    **both_ways("id", [SortKey(Reminder.id, kind="int")]),
    **both_ways("due", [SortKey(Reminder.occurrence_on, kind="date"),
                        SortKey(Reminder.id, kind="int")]),
}


@bp.get("/")
@login_required
def ledger():
    query, filters = _filtered(request.args)
    sort = requested_sort(LEDGER_SORTS, "-id")
    page = keyset_page(db.session, query, LEDGER_SORTS[sort],
                       size=requested_size(), after=request.args.get("after"),
                       before=request.args.get("before"))
    return render_template("reminders/ledger.html", page=page, filters=filters,
                           sort=sort, size=requested_size(),
                           counts=status_counts(current_user), statuses=STATUSES,
                           kinds=RULE_KINDS, status_words=status_words())


#: the ledger as a spreadsheet (same filters and scope as the page)
EXPORT_COLUMNS = [
    exports.Column("企业名称", width=28), exports.Column("提醒类型", width=22),
    exports.Column("事项日期", "date"), exports.Column("收件人", width=28),
    exports.Column("状态", width=12), exports.Column("尝试次数", "int"),
    exports.Column("最近错误", width=40), exports.Column("发送时间", "date", width=18),
]


def _export_rows(query) -> Any:
    for reminder in db.session.scalars(query.order_by(Reminder.id.desc())
                                       .execution_options(yield_per=500)):
        yield [
            reminder.enterprise.name if reminder.enterprise else "",
            RULE_KINDS.get(reminder.rule.kind, reminder.rule.kind),
            reminder.occurrence_on, reminder.to_address,
            STATUSES.get(reminder.status, reminder.status), reminder.attempts,
            reminder.last_error, reminder.sent_at,
        ]


@bp.get("/export")
@login_required
def export():
    """Download the filtered ledger (.xlsx, or .csv with ?format=csv)."""
    query, _filters = _filtered(request.args)
    return exports.export_response("提醒台账", EXPORT_COLUMNS, _export_rows(query))


def _back() -> Any:
    return redirect(safe_next(request.form.get("next"), url_for("reminders.ledger")))


@bp.post("/<bigint:reminder_id>/resend")
@editor_required
def resend(reminder_id: int):
    reminder = get_reminder_or_404(reminder_id)
    try:
        services.resend(reminder)
    except services.ActionError as exc:
        flash(str(exc), "warning")
        return _back()
    from tracker.celery_app import enqueue_after_commit

    enqueue_after_commit(send, reminder.id)
    db.session.commit()
    flash(_("已重新排队发送"), "success")
    return _back()


@bp.post("/retry-failed")
@editor_required
def retry_all():
    """Requeue every failed or expired reminder the ledger filter (query string) selects."""
    query, _filters = _filtered(request.args)
    count = services.retry_all(query)
    if count:
        from tracker.celery_app import enqueue_after_commit

        enqueue_after_commit(send_batch)
    db.session.commit()
    flash(_("已重新排队 %(n)s 条提醒", n=count), "success" if count else "info")
    return _back()


@bp.post("/<bigint:reminder_id>/handle")
@editor_required
def handle(reminder_id: int):
    reminder = get_reminder_or_404(reminder_id)
    try:
        services.mark_handled(reminder, current_user)
    except services.ActionError as exc:
        flash(str(exc), "warning")
        return _back()
    db.session.commit()
    flash(_("已标记为已处理"), "success")
    return _back()


@bp.get("/outbox")
@login_required
def outbox():
    query = select(OutboxMessage).where(outbox_scope(current_user))
    to = (request.args.get("to") or "").strip()
    if to:
        query = query.where(OutboxMessage.to_address.contains(to.lower()))
    page = keyset_page(db.session, query, [SortKey(OutboxMessage.id, descending=True, kind="int")],
                       size=requested_size(), after=request.args.get("after"),
                       before=request.args.get("before"))
    return render_template("reminders/outbox.html", page=page, to=to)


@bp.get("/outbox/<bigint:message_id>")
@login_required
def outbox_message(message_id: int):
    message = db.session.scalar(select(OutboxMessage).where(
        outbox_scope(current_user), OutboxMessage.id == message_id))
    if message is None:
        abort(404)
    return render_template("reminders/outbox_message.html", message=message,
                           body=staff_copy(message.body_text))


#: the signed unsubscribe path as written into a sent mail's text
_UNSUBSCRIBE_LINK = re.compile(r"\S*/reminders/unsubscribe/\S+")


def staff_copy(body: str) -> str:
    """The sent text as staff may read it: the recipient's unsubscribe link neutralised.

    The token in it is live; anyone who could open the outbox could opt the contact out.
    """
    return _UNSUBSCRIBE_LINK.sub(_("〔退订链接（仅收件人可见）〕"), body)


# ---------------------------------------------------------------------------------------------
# Rules and cycles (admins edit; editors read)
# ---------------------------------------------------------------------------------------------


@bp.get("/rules")
@editor_required
def rules():
    rows = db.session.scalars(select(ReminderRule).order_by(ReminderRule.id)).all()
    return render_template("reminders/rules.html", rules=rows, kinds=RULE_KINDS,
                           recipients=RECIPIENT_KINDS, programmes=PROGRAMMES)


@bp.route("/rules/<int:rule_id>/edit", methods=["GET", "POST"])
@roles_required("admin")
def edit_rule(rule_id: int):
    rule = db.session.get(ReminderRule, rule_id) or abort(404)
    form = RuleForm(obj=rule)
    if request.method == "GET":
        form.offsets.data = ", ".join(str(o) for o in rule.offsets or [])
        form.programme.data = rule.programme or ""
    saved: Outcome | None = None
    if form.validate_on_submit():
        saved = commit_or_report(form, lambda: services.save_rule(rule, {
            "name": form.name.data.strip(), "offsets": parse_offsets(form.offsets.data),
            "recipients": list(form.recipients.data), "programme": form.programme.data or None,
            "enabled": bool(form.enabled.data),
        }))
        if saved.ok:
            flash(_("提醒规则已保存"), "success")
            return redirect(url_for("reminders.rules"))
    return render_template("reminders/rule_form.html", form=form, rule=rule,
                           kinds=RULE_KINDS), page_status(form, saved)


@bp.get("/cycles")
@login_required
def cycles():
    rows = db.session.scalars(select(OfficialCycle).order_by(
        OfficialCycle.closes_on.desc(), OfficialCycle.id.desc())).all()
    return render_template("reminders/cycles.html", cycles=rows, programmes=PROGRAMMES)


@bp.route("/cycles/new", methods=["GET", "POST"])
@bp.route("/cycles/<int:cycle_id>/edit", methods=["GET", "POST"])
@roles_required("admin")
def edit_cycle(cycle_id: int | None = None):
    cycle = (db.session.get(OfficialCycle, cycle_id) or abort(404)) if cycle_id else None
    form = CycleForm(obj=cycle)
    saved: Outcome | None = None
    if form.validate_on_submit():
        saved = commit_or_report(form, lambda: services.save_cycle(cycle, {
            "programme": form.programme.data, "year": form.year.data,
            "batch": (form.batch.data or "").strip(), "opens_on": form.opens_on.data,
            "closes_on": form.closes_on.data, "notes": (form.notes.data or "").strip() or None,
        }))
        if saved.ok:
            flash(_("申报日历已保存"), "success")
            return redirect(url_for("reminders.cycles"))
    return render_template("reminders/cycle_form.html", form=form, cycle=cycle), \
        page_status(form, saved)


@bp.post("/cycles/<int:cycle_id>/delete")
@roles_required("admin")
def delete_cycle(cycle_id: int):
    cycle = db.session.get(OfficialCycle, cycle_id) or abort(404)
    if request.form.get("confirm") != "yes":
        flash(_("请勾选确认后再删除"), "warning")
        return redirect(url_for("reminders.edit_cycle", cycle_id=cycle.id))
    services.delete_cycle(cycle)
    db.session.commit()
    flash(_("申报日历已删除"), "success")
    return redirect(url_for("reminders.cycles"))


# ---------------------------------------------------------------------------------------------
# Unsubscribe (no login: the signed token is the credential) and the calendar feed
# ---------------------------------------------------------------------------------------------


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058 one-click POSTs come from mail clients; the form POST is checked below
def unsubscribe(token: str):
    parsed = services.read_unsubscribe_token(token)
    if parsed is None:
        abort(404)
    contact_id, reminder_id = parsed
    contact = db.session.get(Contact, contact_id) or abort(404)
    reminder = db.session.get(Reminder, reminder_id)
    if reminder is not None and (reminder.recipient_type, reminder.recipient_id) != (
            "contact", contact.id):
        abort(404)
    if request.method == "POST" and request.form.get("List-Unsubscribe") == "One-Click":
        # RFC 8058: the signed token in the URL is the credential; repeating it is harmless
        services.unsubscribe(contact, reminder)
        db.session.commit()
        return _("已退订"), 200, {"Content-Type": "text/plain; charset=utf-8"}
    if request.method == "POST":
        csrf.protect()  # the page's own form: a normal CSRF check
        services.unsubscribe(contact, reminder)
        db.session.commit()
        return render_template("reminders/unsubscribe.html", contact=contact, done=True)
    return render_template("reminders/unsubscribe.html", contact=contact, done=False,
                           token=token)


@bp.get("/calendar")
@login_required
def calendar():
    # feed tokens are accounts' (expiring, regenerable rows); issuing the first one commits
    token, feed = feed_tokens.current_calendar_token(current_user)
    db.session.commit()
    return render_template("reminders/calendar.html",
                           feed_url=url_for("reminders.calendar_feed", token=token,
                                            _external=True),
                           feed_expires=feed.expires_at,
                           events=upcoming_deadlines(current_user, today())[:50])


@bp.post("/preferences")
@login_required
def preferences():
    """Officers choose one daily digest instead of one email per reminder."""
    services.set_digest(current_user, request.form.get("wants_digest") == "1")
    db.session.commit()
    flash(_("提醒设置已保存"), "success")
    return redirect(url_for("reminders.calendar"))


@bp.get("/calendar/<token>.ics")
def calendar_feed(token: str):
    user = feed_tokens.user_for_calendar_token(token)
    if user is None:
        abort(404)
    body = ical.render(upcoming_deadlines(user, today()), now_utc(),
                       name=_("创新主体培育提醒 · %(name)s", name=user.name))
    return Response(body, mimetype="text/calendar",
                    headers={"Content-Disposition": 'inline; filename="deadlines.ics"'})


def upcoming_deadlines(user: Any, start: date, days: int = 400) -> list[ical.Event]:
    """Deadlines in the user's scope from `start`: certificates, applications, terms, cycles."""
    end = start + timedelta(days=days)
    events: list[ical.Event] = []
    in_scope = select(Enterprise.id).where(enterprise_scope(user), Enterprise.status == "active")
    q = Qualification
    for qual, name in db.session.execute(
            select(q, Enterprise.name).join(Enterprise, Enterprise.id == q.enterprise_id).where(
                q.kind == "hnte", q.revoked_on.is_(None), q.valid_until.between(start, end),
                q.enterprise_id.in_(in_scope))):
        events.append(ical.Event(f"qualification-{qual.id}", qual.valid_until,
                                 _("%(name)s：高企证书到期", name=name), qual.number or ""))
    a = Application
    for app_, name in db.session.execute(
            select(a, Enterprise.name).join(Enterprise, Enterprise.id == a.enterprise_id).where(
                a.status.in_(("planned", "preparing")), a.deadline.between(start, end),
                a.enterprise_id.in_(in_scope))):
        events.append(ical.Event(f"application-{app_.id}", app_.deadline,
                                 _("%(name)s：申报截止", name=name), app_.batch or ""))
    t = Tenancy
    for tenancy, name in db.session.execute(
            select(t, Enterprise.name).join(Enterprise, Enterprise.id == t.enterprise_id).where(
                tenancy_scope(user), t.status == "incubating",
                t.term_ends_on.between(start, end))):
        events.append(ical.Event(f"tenancy-{tenancy.id}", tenancy.term_ends_on,
                                 _("%(name)s：孵化期届满", name=name), ""))
    for cycle in db.session.scalars(select(OfficialCycle).where(
            OfficialCycle.closes_on.between(start, end))):
        label = PROGRAMMES.get(cycle.programme, (cycle.programme,))[0]
        events.append(ical.Event(f"cycle-{cycle.id}", cycle.closes_on,
                                 _("%(label)s %(year)s %(batch)s 截止", label=_(label),
                                   year=cycle.year, batch=cycle.batch), cycle.notes or ""))
    events.sort(key=lambda e: (e.day, e.uid))
    return events


# ---------------------------------------------------------------------------------------------
# Dashboard card and enterprise panel
# ---------------------------------------------------------------------------------------------


def dashboard_card(user: Any) -> dict[str, Any]:
    return {"reminder_counts": status_counts(user)}


#: the badge colour of each ledger status (templates/reminders/_status.html)
STATUS_BADGES = {"pending": "secondary", "sending": "info", "sent": "success", "failed": "danger",
                 "expired": "danger", "handled": "dark", "skipped": "warning",
                 "digested": "light"}


def status_words() -> dict[str, tuple[str, Any]]:
    """Each status's badge colour and label as the template printed them, looked up once for
    a page's rows rather than per row."""
    return {code: (STATUS_BADGES[code], escaped(label)) for code, label in STATUSES.items()}


def enterprise_panel(enterprise: Enterprise, user: Any) -> dict[str, Any]:
    rows = db.session.scalars(
        select(Reminder).where(Reminder.enterprise_id == enterprise.id, reminder_scope(user))
        .options(joinedload(Reminder.rule)).order_by(Reminder.id.desc()).limit(10)).all()
    return {"panel_reminders": rows, "status_words": status_words()}
