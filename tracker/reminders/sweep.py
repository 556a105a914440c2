"""The sweep: one set-based INSERT … SELECT … ON CONFLICT DO NOTHING per rule.

Each rule kind has a subject query giving (enterprise, subject, due date); offsets turn the due
date into an occurrence tag; recipients are joined in SQL. The UNIQUE key on reminders makes a
second or concurrent sweep insert nothing more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    text,
    true,
    union_all,
)

from tracker import ledger_changes
from tracker.accounts.models import User
from tracker.enterprises.models import Contact, Enterprise
from tracker.extensions import conflict_insert, db
from tracker.incubation.models import Tenancy
from tracker.ladder.inputs import among
from tracker.ladder.models import Application, Qualification
from tracker.reminders.defaults import may_31, seed_if_empty, seed_rules
from tracker.reminders.models import PROGRAMMES, Filing, OfficialCycle, Reminder, ReminderRule

#: applications still being worked on; later stages need no deadline reminder
OPEN_APPLICATION_STATUSES = ("planned", "preparing")
#: how long an overdue reminder (negative offset) may still be sent late
OVERDUE_GRACE_DAYS = 30

KEY_COLUMNS = (
    "rule_id", "subject_type", "subject_id", "occurrence_on", "occurrence_tag",
    "enterprise_id", "recipient_type", "recipient_id", "to_address", "locale", "channel",
)


@dataclass(frozen=True)
class Window:
    """Due dates whose reminder step is due on as_of, and the SQL that names the step."""

    low: date  # exclusive
    high: date  # inclusive
    steps: tuple[tuple[int, date], ...]  # (offset, due dates up to this one), ascending

    def tag(self, due: ColumnElement) -> ColumnElement:
        whens = [(due <= bound, literal(f"d{offset}")) for offset, bound in self.steps]
        return case(*whens, else_=literal("d?"))

    def where(self, due: ColumnElement) -> ColumnElement:
        return and_(due > self.low, due <= self.high)


def window(offsets: Sequence[int], as_of: date) -> Window | None:
    """Offset d is due while as_of + next_smaller_offset < due <= as_of + d.

    A sweep that missed days therefore sends only the latest step, never a burst of old ones;
    the smallest step stays due until the deadline (or OVERDUE_GRACE_DAYS after it).
    """
    values = sorted({int(o) for o in offsets})
    if not values:
        return None
    smallest = values[0]
    low_offset = -1 if smallest >= 0 else smallest - OVERDUE_GRACE_DAYS - 1
    steps = tuple((o, as_of + timedelta(days=o)) for o in values)
    return Window(low=as_of + timedelta(days=low_offset),
                  high=as_of + timedelta(days=values[-1]), steps=steps)


# ---------------------------------------------------------------------------------------------
# Subjects: one Select per rule kind with columns
#   enterprise_id, subject_type, subject_id, occurrence_on, occurrence_tag, owner_id
# ---------------------------------------------------------------------------------------------


def _subject(enterprise_id, subject_type: str, subject_id, due, tag, owner_id=None) -> list:
    return [
        enterprise_id.label("enterprise_id"),
        literal(subject_type, String).label("subject_type"),
        subject_id.label("subject_id"),
        (literal(due, Date) if isinstance(due, date) else due).label("occurrence_on"),
        tag.label("occurrence_tag"),
        (owner_id if owner_id is not None else cast(null(), Integer)).label("owner_id"),
    ]


def _active_enterprise(enterprise_id) -> ColumnElement:
    return exists().where(Enterprise.id == enterprise_id, Enterprise.status == "active")


def _no_filing(enterprise_id, kind: str, year) -> ColumnElement:
    return ~exists().where(Filing.enterprise_id == enterprise_id, Filing.kind == kind,
                           Filing.year == year)


def _cycle_due(programme: str | None, year: int, default: date) -> date:
    """An admin-entered cycle for the programme and year overrides the statutory date."""
    if not programme:
        return default
    closes = db.session.scalar(
        select(func.min(OfficialCycle.closes_on)).where(
            OfficialCycle.programme == programme, OfficialCycle.year == year)
    )
    return closes or default


def _hnte_expiry(rule: ReminderRule, as_of: date, win: Window) -> Select:
    newer = Qualification.__table__.alias("newer")
    q = Qualification
    return select(*_subject(q.enterprise_id, "qualification", q.id, q.valid_until,
                            win.tag(q.valid_until))).where(
        q.kind == "hnte", q.revoked_on.is_(None), q.valid_until.is_not(None),
        win.where(q.valid_until), _active_enterprise(q.enterprise_id),
        # a renewed certificate makes the old one's expiry moot
        ~exists().where(newer.c.enterprise_id == q.enterprise_id, newer.c.kind == "hnte",
                        newer.c.revoked_on.is_(None), newer.c.granted_on > q.granted_on),
    )


def _hnte_holders(year: int, day: date):
    """Enterprises holding an HNTE certificate granted before `year` and valid on `day`."""
    q = Qualification
    return select(q.enterprise_id).where(
        q.kind == "hnte", q.granted_on < date(year, 1, 1),
        or_(q.valid_until.is_(None), q.valid_until >= day),
        or_(q.revoked_on.is_(None), q.revoked_on > day),
    )


def _hnte_annual_report(rule: ReminderRule, as_of: date, win: Window,
                        escalate: bool = False) -> Select | None:
    year = as_of.year
    due = _cycle_due(rule.programme, year, may_31(year))
    if not (win.low < due <= win.high):
        return None
    e = Enterprise
    conditions = [
        e.status == "active", e.id.in_(_hnte_holders(year, date(year, 5, 1))),
        _no_filing(e.id, "hnte_annual_report", year),
    ]
    if escalate:
        # last year's was due too and was not filed either (two misses cancel the status)
        conditions += [e.id.in_(_hnte_holders(year - 1, date(year - 1, 5, 1))),
                       _no_filing(e.id, "hnte_annual_report", year - 1)]
    return select(*_subject(e.id, "enterprise", e.id, due,
                            win.tag(literal(due, Date)))).where(*conditions)


def _tech_sme_refile(rule: ReminderRule, as_of: date, win: Window) -> Select | None:
    year = as_of.year
    due = _cycle_due(rule.programme, year, may_31(year))
    if not (win.low < due <= win.high):
        return None
    q, e = Qualification, Enterprise
    held_last_year = select(q.enterprise_id).where(
        q.kind == "tech_sme", q.revoked_on.is_(None),
        q.granted_on >= date(year - 1, 1, 1), q.granted_on < date(year, 1, 1))
    entered_this_year = select(q.enterprise_id).where(
        q.kind == "tech_sme", q.granted_on >= date(year, 1, 1))
    return select(*_subject(e.id, "enterprise", e.id, due, win.tag(literal(due, Date)))).where(
        e.status == "active", e.id.in_(held_last_year), e.id.not_in(entered_this_year),
        _no_filing(e.id, "tech_sme_refile", year),
    )


def _tenancy_term_ending(rule: ReminderRule, as_of: date, win: Window) -> Select:
    t = Tenancy
    return select(*_subject(t.enterprise_id, "tenancy", t.id, t.term_ends_on,
                            win.tag(t.term_ends_on))).where(
        t.status == "incubating", win.where(t.term_ends_on), _active_enterprise(t.enterprise_id),
    )


def _tenant_report_overdue(rule: ReminderRule, as_of: date, win: Window) -> Select:
    t, c = Tenancy, OfficialCycle
    return select(*_subject(t.enterprise_id, "tenancy", t.id, c.closes_on,
                            win.tag(c.closes_on))).select_from(t).join(
        c, c.programme == (rule.programme or "tenant_report")).where(
        t.status == "incubating", t.moved_in_on <= c.closes_on, win.where(c.closes_on),
        _active_enterprise(t.enterprise_id), _no_filing(t.enterprise_id, "tenant_report", c.year),
    )


def _tenant_report_late(rule: ReminderRule, as_of: date, win: Window) -> Select:
    """Tenancies owing a report for a reporting cycle whose due date passed without it."""
    from tracker.incubation.models import ReportingCycle, TenantReport
    from tracker.incubation.services import expected_clause  # the incubation pages' own rule

    t, c, r = Tenancy, ReportingCycle, TenantReport
    return select(*_subject(t.enterprise_id, "tenancy", t.id, c.due_on,
                            win.tag(c.due_on))).select_from(t).join(c, expected_clause(c)).where(
        t.status == "incubating", win.where(c.due_on), _active_enterprise(t.enterprise_id),
        ~exists().where(r.tenancy_id == t.id, r.cycle_id == c.id),
    )


def _application_deadline(rule: ReminderRule, as_of: date, win: Window) -> Select:
    a = Application
    return select(*_subject(a.enterprise_id, "application", a.id, a.deadline,
                            win.tag(a.deadline), a.owner_id)).where(
        a.status.in_(OPEN_APPLICATION_STATUSES), a.deadline.is_not(None), win.where(a.deadline),
        _active_enterprise(a.enterprise_id),
    )


def _cycle_closing(rule: ReminderRule, as_of: date, win: Window) -> Select | None:
    a, c = Application, OfficialCycle
    kinds = {code: kind for code, (_label, kind) in PROGRAMMES.items() if kind}
    if rule.programme:
        kinds = {k: v for k, v in kinds.items() if k == rule.programme}
    if not kinds:
        return None
    programme_kind = case(*[(c.programme == code, literal(kind)) for code, kind in kinds.items()],
                          else_=literal(""))
    return select(*_subject(a.enterprise_id, "application", a.id, c.closes_on,
                            win.tag(c.closes_on), a.owner_id)).select_from(a).join(
        c, and_(c.year == a.year, a.kind == programme_kind,
                or_(a.batch.is_(None), a.batch == "", a.batch == c.batch))).where(
        a.status.in_(OPEN_APPLICATION_STATUSES), win.where(c.closes_on),
        _active_enterprise(a.enterprise_id),
    )


def _newly_eligible(rule: ReminderRule, as_of: date, win: Window) -> Select:
    """Once per rung and year: the stored verdicts, read in SQL (reminders.eligibility)."""
    from tracker.reminders.eligibility import newly_eligible_select

    found = newly_eligible_select(as_of).subquery("eligible")
    return select(*_subject(found.c.enterprise_id, "enterprise", found.c.enterprise_id,
                            date(as_of.year, 1, 1),
                            literal("rung:", String) + found.c.rung))


SUBJECTS = {
    "hnte_expiry": _hnte_expiry,
    "hnte_annual_report": _hnte_annual_report,
    "hnte_annual_report_escalation": lambda r, a, w: _hnte_annual_report(r, a, w, escalate=True),
    "tech_sme_refile": _tech_sme_refile,
    "tenancy_term_ending": _tenancy_term_ending,
    "tenant_report_overdue": _tenant_report_overdue,
    "tenant_report_late": _tenant_report_late,
    "application_deadline": _application_deadline,
    "cycle_closing": _cycle_closing,
    "newly_eligible": _newly_eligible,
}


# ---------------------------------------------------------------------------------------------
# Recipients, joined to the subjects in SQL
# ---------------------------------------------------------------------------------------------


def _user_columns(rule_id: int, s, user) -> list:
    return [
        literal(rule_id).label("rule_id"), s.c.subject_type, s.c.subject_id, s.c.occurrence_on,
        s.c.occurrence_tag, s.c.enterprise_id,
        literal("user", String).label("recipient_type"), user.id.label("recipient_id"),
        user.email.label("to_address"), user.locale.label("locale"),
        case((user.wants_digest.is_(True), literal("digest")), else_=literal("email"))
        .label("channel"),
    ]


def _recipient_selects(rule: ReminderRule, s) -> list[Select]:
    u, e = User, Enterprise
    parts: list[Select] = []
    for kind in rule.recipients or []:
        if kind == "contacts":
            c = Contact
            parts.append(select(
                literal(rule.id).label("rule_id"), s.c.subject_type, s.c.subject_id,
                s.c.occurrence_on, s.c.occurrence_tag, s.c.enterprise_id,
                literal("contact", String).label("recipient_type"), c.id.label("recipient_id"),
                c.email.label("to_address"), c.locale.label("locale"),
                literal("email", String).label("channel"),
            ).select_from(s).join(c, c.enterprise_id == s.c.enterprise_id).where(
                c.receives_reminders.is_(True), c.unsubscribed_at.is_(None),
                c.email.is_not(None), c.email != "",
            ))
        elif kind == "officer":
            parts.append(select(*_user_columns(rule.id, s, u)).select_from(s)
                         .join(e, e.id == s.c.enterprise_id).join(u, u.id == e.officer_id)
                         .where(u.active.is_(True)))
        elif kind == "owner":
            parts.append(select(*_user_columns(rule.id, s, u)).select_from(s)
                         .join(u, u.id == s.c.owner_id).where(u.active.is_(True)))
        elif kind == "carrier_manager":
            carriers = select(Tenancy.carrier_id).where(
                Tenancy.enterprise_id == s.c.enterprise_id, Tenancy.status == "incubating")
            parts.append(select(*_user_columns(rule.id, s, u)).select_from(s).join(
                u, and_(u.role == "carrier_manager", u.carrier_id.in_(carriers)))
                .where(u.active.is_(True)))
        elif kind == "zone_staff":
            parts.append(select(*_user_columns(rule.id, s, u)).select_from(s)
                         .join(e, e.id == s.c.enterprise_id)
                         .join(u, and_(u.role == "zone", u.zone == e.zone))
                         .where(u.active.is_(True)))
    return parts


def due_select(rule: ReminderRule, as_of: date,
               enterprise_ids: Sequence[int] | None = None) -> Select | None:
    """Every (subject, occurrence, recipient) of `rule` due on `as_of`, as one SELECT."""
    if rule.kind == "digest":
        return None
    win = window(rule.offsets or [0], as_of)
    if win is None:
        return None
    builder = SUBJECTS.get(rule.kind)
    subjects = builder(rule, as_of, win) if builder else None
    if subjects is None:
        return None
    s = subjects.subquery("s")
    if enterprise_ids is not None:
        # one array parameter on PostgreSQL: the ids are repeated in every recipient branch
        s = select(s).where(among(s.c.enterprise_id, list(enterprise_ids))).subquery("s2")
    parts = _recipient_selects(rule, s)
    if not parts:
        return None
    u = union_all(*parts).subquery("due")
    # WHERE true: SQLite needs it to parse INSERT … SELECT … ON CONFLICT unambiguously
    return select(*[u.c[name] for name in KEY_COLUMNS]).where(true())


#: the columns of uq_reminders_key
UNIQUE_KEY = ("rule_id", "subject_type", "subject_id", "occurrence_on", "occurrence_tag",
              "recipient_type", "recipient_id")


def _insert(select_stmt: Select):
    """INSERT only the keys that do not exist yet; ON CONFLICT is just the race guard.

    PostgreSQL draws a sequence value for every row offered to INSERT, conflicting or not, so
    offering every due candidate on every sweep burnt ids by the thousand; the anti-join
    offers only the missing ones.
    """
    due = select_stmt.subquery("candidates")
    existing = Reminder.__table__.alias("existing")
    missing = select(*[due.c[name] for name in KEY_COLUMNS]).where(~exists().where(
        *[existing.c[name] == due.c[name] for name in UNIQUE_KEY]))
    return conflict_insert(Reminder).from_select(list(KEY_COLUMNS), missing) \
        .on_conflict_do_nothing()


def enabled_rules() -> list[ReminderRule]:
    return list(db.session.scalars(
        select(ReminderRule).where(ReminderRule.enabled.is_(True)).order_by(ReminderRule.id)))


def run_sweep(as_of: date, enterprise_ids: Sequence[int] | None = None) -> dict[str, int]:
    """Insert every due reminder that does not exist yet; returns rows inserted per rule code."""
    if enterprise_ids is None:  # the scheduled sweep, not one after a save
        seed_rules()  # a default rule added by a release (by code) reaches existing installations
    else:
        seed_if_empty()
    inserted: dict[str, int] = {}
    for rule in enabled_rules():
        stmt = due_select(rule, as_of, enterprise_ids)
        if stmt is None:
            continue
        # RETURNING, not rowcount: psycopg reports -1 for INSERT … SELECT … ON CONFLICT
        made = db.session.execute(_insert(stmt).returning(Reminder.enterprise_id)).all()
        ledger_changes.note(firm for (firm,) in made)  # the dashboard's counts, at commit
        inserted[rule.code] = len(made)
    refresh_statistics(sum(inserted.values()))
    return inserted


#: autovacuum's default trigger for ANALYZE: 50 rows plus 10 % of the table changed
ANALYZE_BASE_ROWS, ANALYZE_SCALE = 50, 0.1


def refresh_statistics(inserted: int) -> bool:
    """ANALYZE the ledger (PostgreSQL) when this sweep grew it past autovacuum's own trigger.

    The next sweep's anti-join is planned from these statistics. Planned from an empty
    table's (the first sweep after an import or a new rule, on a server whose autovacuum is off
    or has not come round yet) it became nested loops over every candidate × every row:
    measured at 3,000 firms with no statistics anywhere, each later sweep took 15–16 s, 5 s
    with this (the rest is the firm tables' own statistics, autovacuum's job). The sweep that
    made the rows knows at once; autovacuum may take a minute or never come.
    """
    if inserted <= ANALYZE_BASE_ROWS or db.session.get_bind().dialect.name != "postgresql":
        return False
    known = db.session.scalar(text(
        "SELECT reltuples FROM pg_class WHERE oid = 'reminders'::regclass")) or 0
    if inserted <= ANALYZE_BASE_ROWS + ANALYZE_SCALE * max(known, 0):
        return False
    db.session.execute(text("ANALYZE reminders"))  # samples at most 30,000 rows: bounded
    return True


def plan(as_of: date) -> list[dict[str, Any]]:
    """What the sweep would make due on `as_of`, without writing anything."""
    seed_if_empty()
    out: list[dict[str, Any]] = []
    names = dict(db.session.execute(select(Enterprise.id, Enterprise.name)).all())
    for rule in enabled_rules():
        stmt = due_select(rule, as_of)
        if stmt is None:
            continue
        due = stmt.subquery("planned")
        existing = select(Reminder.status).where(
            Reminder.rule_id == due.c.rule_id, Reminder.subject_type == due.c.subject_type,
            Reminder.subject_id == due.c.subject_id,
            Reminder.occurrence_on == due.c.occurrence_on,
            Reminder.occurrence_tag == due.c.occurrence_tag,
            Reminder.recipient_type == due.c.recipient_type,
            Reminder.recipient_id == due.c.recipient_id,
        ).limit(1).scalar_subquery()
        rows = db.session.execute(
            select(due, existing.label("existing_status")).order_by(
                due.c.occurrence_on, due.c.subject_id, due.c.recipient_type, due.c.recipient_id)
        ).mappings()
        for row in rows:
            out.append({
                "rule": rule.code, "kind": rule.kind,
                "subject_type": row["subject_type"], "subject_id": row["subject_id"],
                "enterprise_id": row["enterprise_id"],
                "enterprise": names.get(row["enterprise_id"]),
                "due_on": _iso(row["occurrence_on"]), "step": row["occurrence_tag"],
                "recipient_type": row["recipient_type"], "recipient_id": row["recipient_id"],
                "to": row["to_address"], "locale": row["locale"], "channel": row["channel"],
                "already": row["existing_status"],
            })
    return out


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value[:10]
    return value.isoformat()
