"""Recording events: state changes seen by the after-save pipeline, expiries seen by the clock.

Each event is stored once (its unique key) with the body every delivery of it carries, and a
delivery row is added for every active endpoint subscribed to its type that existed when it
happened. Nothing here sends: the caller's commit publishes the delivery tasks.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from tracker.clock import as_utc, now_utc, today
from tracker.enterprises.models import Enterprise
from tracker.extensions import conflict_insert, db
from tracker.incubation.models import CARRIER_KINDS, GRADUATION_BASES, TENANCY_STATUSES, Tenancy
from tracker.ladder.models import APPLICATION_STATUSES, Application, Qualification
from tracker.vocabulary import KINDS, ZONES
from tracker.webhooks.models import (
    EVENT_TYPES,
    TEST_EVENT,
    WebhookClock,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    WebhookState,
)
from tracker.webhooks.policy import retry_window

#: application statuses that are a decision ("application decided")
DECIDED = ("approved", "rejected")
#: an expiry scan that never ran looks this many days back on its first run
FIRST_SCAN_DAYS = 1


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


# ---------------------------------------------------------------------------------------------
# The resource in a body: ids, names, codes and their labels
# ---------------------------------------------------------------------------------------------


def enterprise_body(firm: Enterprise) -> dict[str, Any]:
    zone = ZONES.get(firm.zone or "", ("", ""))
    return {"id": firm.id, "name": firm.name, "uscc": firm.uscc, "zone": firm.zone,
            "zone_label": zone[0] or None, "rung": firm.current_rung,
            "rung_label": KINDS.get(firm.current_rung or "")}


def qualification_body(q: Qualification) -> dict[str, Any]:
    return {"id": q.id, "kind": q.kind, "kind_label": KINDS.get(q.kind), "number": q.number,
            "granted_on": _day(q.granted_on), "valid_until": _day(q.valid_until),
            "batch": q.batch, "revoked_on": _day(q.revoked_on),
            "revoked_reason": q.revoked_reason}


def tenancy_body(t: Tenancy, previous: str | None) -> dict[str, Any]:
    carrier = t.carrier
    return {"id": t.id, "status": t.status, "status_label": TENANCY_STATUSES.get(t.status),
            "previous_status": previous,
            "previous_status_label": TENANCY_STATUSES.get(previous or ""),
            "moved_in_on": _day(t.moved_in_on), "term_ends_on": _day(t.term_ends_on),
            "ended_on": _day(t.ended_on), "graduation_basis": t.graduation_basis,
            "graduation_basis_label": GRADUATION_BASES.get(t.graduation_basis or ""),
            "carrier": {"id": carrier.id, "name": carrier.name, "kind": carrier.kind,
                        "kind_label": CARRIER_KINDS.get(carrier.kind)}}


def application_body(a: Application) -> dict[str, Any]:
    return {"id": a.id, "kind": a.kind, "kind_label": KINDS.get(a.kind), "year": a.year,
            "batch": a.batch, "status": a.status,
            "status_label": APPLICATION_STATUSES.get(a.status),
            "qualification_id": a.qualification_id}


def envelope(event: WebhookEvent) -> dict[str, Any]:
    """The JSON body of every delivery of this event (the same on each resend)."""
    occurred = event.occurred_at
    return {"id": event.public_id, "type": event.type,
            "type_label": EVENT_TYPES.get(event.type, event.type),
            "occurred_at": occurred.isoformat().replace("+00:00", "Z") if occurred else None,
            "data": event.payload}


# ---------------------------------------------------------------------------------------------
# Events and their deliveries
# ---------------------------------------------------------------------------------------------


def _subscribers(event_type: str, at: datetime) -> list[int]:
    """Active endpoints that want this type and existed when the event happened."""
    rows = db.session.execute(select(WebhookEndpoint.id, WebhookEndpoint.events,
                                     WebhookEndpoint.created_at)
                              .where(WebhookEndpoint.active.is_(True))).all()
    return [row.id for row in rows if event_type in (row.events or [])
            and as_utc(row.created_at) <= at]


def record(event_type: str, subject_type: str, subject_id: int, occurrence: str,
           payload: dict[str, Any], *, enterprise_id: int | None,
           endpoint_ids: Iterable[int] | None = None) -> list[int]:
    """Store the event once (its key) and a pending delivery per subscriber; the new ids.

    A second call with the same key stores nothing and returns no delivery, so a scan that
    runs twice, or two that run at once, deliver the event once.
    """
    at = now_utc()
    targets = list(endpoint_ids) if endpoint_ids is not None else _subscribers(event_type, at)
    if not targets:
        return []
    event_id = db.session.scalar(
        conflict_insert(WebhookEvent.__table__).values(
            public_id=str(uuid.uuid4()), type=event_type, subject_type=subject_type,
            subject_id=subject_id, occurrence=occurrence, enterprise_id=enterprise_id,
            occurred_at=at, payload=payload)
        .on_conflict_do_nothing().returning(WebhookEvent.__table__.c.id))
    if event_id is None:
        return []
    return add_deliveries(event_id, targets)


def add_deliveries(event_id: int, endpoint_ids: Iterable[int]) -> list[int]:
    """One pending delivery per endpoint (the unique key refuses a second)."""
    now = now_utc()
    made = []
    for endpoint_id in endpoint_ids:
        delivery_id = db.session.scalar(
            conflict_insert(WebhookDelivery.__table__).values(
                endpoint_id=endpoint_id, event_id=event_id, status="pending", attempts=0,
                created_at=now, retry_until=now + retry_window())
            .on_conflict_do_nothing().returning(WebhookDelivery.__table__.c.id))
        if delivery_id is not None:
            made.append(delivery_id)
    return made


def record_test(endpoint: WebhookEndpoint) -> list[int]:
    """A test event for one endpoint (the admin's button); a fresh key every time."""
    return record(TEST_EVENT, "endpoint", endpoint.id, str(uuid.uuid4()),
                  {"endpoint": {"id": endpoint.id, "description": endpoint.description},
                   "message": "测试事件 / test event"},
                  enterprise_id=None, endpoint_ids=[endpoint.id])


# ---------------------------------------------------------------------------------------------
# State changes, seen once by the after-save pipeline
# ---------------------------------------------------------------------------------------------


def _advance(subject_type: str, subject_id: int, old: tuple[str, int] | None,
             new: str) -> int | None:
    """Move the watched state from what we read to `new`; the new seq if we won, else None."""
    table = WebhookState.__table__
    if old is None:
        # RETURNING, not rowcount: psycopg reports no count for INSERT … ON CONFLICT here
        return db.session.scalar(
            conflict_insert(table).values(subject_type=subject_type, subject_id=subject_id,
                                          state=new, seq=1)
            .on_conflict_do_nothing().returning(table.c.seq))
    state, seq = old
    return db.session.scalar(
        update(table).where(table.c.subject_type == subject_type,
                            table.c.subject_id == subject_id, table.c.seq == seq)
        .values(state=new, seq=seq + 1).returning(table.c.seq))


def _states(subject_type: str, ids: list[int]) -> dict[int, tuple[str, int]]:
    if not ids:
        return {}
    table = WebhookState.__table__
    rows = db.session.execute(select(table.c.subject_id, table.c.state, table.c.seq).where(
        table.c.subject_type == subject_type, table.c.subject_id.in_(ids))).all()
    return {row.subject_id: (row.state, row.seq) for row in rows}


def observe(enterprise_ids: list[int]) -> list[int]:
    """Record the events these firms' saved records imply since last seen; new delivery ids."""
    if not enterprise_ids:
        return []
    made: list[int] = []
    firms = {f.id: f for f in db.session.scalars(
        select(Enterprise).where(Enterprise.id.in_(enterprise_ids)))}
    if not firms:
        return []

    quals = list(db.session.scalars(select(Qualification).where(
        Qualification.enterprise_id.in_(firms)).order_by(Qualification.id)))
    seen = _states("qualification", [q.id for q in quals])
    for q in quals:
        new = "revoked" if q.revoked_on is not None else "held"
        old = seen.get(q.id)
        if old is not None and old[0] == new:
            continue
        seq = _advance("qualification", q.id, old, new)
        if seq is None:
            continue
        body = {"qualification": qualification_body(q),
                "enterprise": enterprise_body(firms[q.enterprise_id])}
        if old is None or new == "held":
            made += record("qualification.granted", "qualification", q.id, f"s{seq}", body,
                           enterprise_id=q.enterprise_id)
        if new == "revoked":
            made += record("qualification.revoked", "qualification", q.id, f"s{seq}", body,
                           enterprise_id=q.enterprise_id)

    tenancies = list(db.session.scalars(select(Tenancy).where(
        Tenancy.enterprise_id.in_(firms)).order_by(Tenancy.id)))
    seen = _states("tenancy", [t.id for t in tenancies])
    for t in tenancies:
        old = seen.get(t.id)
        if old is not None and old[0] == t.status:
            continue
        seq = _advance("tenancy", t.id, old, t.status)
        if seq is None:
            continue
        made += record("tenancy.status_changed", "tenancy", t.id, f"s{seq}",
                       {"tenancy": tenancy_body(t, old[0] if old else None),
                        "enterprise": enterprise_body(firms[t.enterprise_id])},
                       enterprise_id=t.enterprise_id)

    applications = list(db.session.scalars(select(Application).where(
        Application.enterprise_id.in_(firms)).order_by(Application.id)))
    seen = _states("application", [a.id for a in applications])
    for a in applications:
        old = seen.get(a.id)
        if old is not None and old[0] == a.status:
            continue
        seq = _advance("application", a.id, old, a.status)
        if seq is None or a.status not in DECIDED:
            continue
        made += record("application.decided", "application", a.id, f"s{seq}",
                       {"application": application_body(a),
                        "enterprise": enterprise_body(firms[a.enterprise_id])},
                       enterprise_id=a.enterprise_id)

    seen = _states("enterprise", list(firms))
    for firm in firms.values():
        new = firm.current_rung or ""
        old = seen.get(firm.id)
        if (old[0] if old else "") == new:
            if old is None:
                _advance("enterprise", firm.id, None, new)  # remember the starting point
            continue
        seq = _advance("enterprise", firm.id, old, new)
        if seq is None:
            continue
        previous = old[0] if old and old[0] else None
        made += record("rung.changed", "enterprise", firm.id, f"s{seq}",
                       {"enterprise": enterprise_body(firm), "from": previous,
                        "from_label": KINDS.get(previous or ""), "to": firm.current_rung,
                        "to_label": KINDS.get(firm.current_rung or "")},
                       enterprise_id=firm.id)
    return made


# ---------------------------------------------------------------------------------------------
# Expiries, seen by the clock
# ---------------------------------------------------------------------------------------------


def record_expiries(as_of: date | None = None) -> list[int]:
    """Qualifications whose validity ended since the last scan: one event per expiry.

    The event key is (qualification, its last valid day): a scan that overlaps the previous
    one, or runs twice, finds the key taken; a certificate extended and later expiring again
    is a new expiry.
    """
    day = as_of or today()
    mark = db.session.get(WebhookClock, "expiry")
    since = mark.last_run_on if mark is not None else day - timedelta(days=FIRST_SCAN_DAYS)
    made: list[int] = []
    q = Qualification
    rows = db.session.execute(
        select(q, Enterprise).join(Enterprise, Enterprise.id == q.enterprise_id).where(
            q.valid_until.is_not(None), q.valid_until >= since, q.valid_until < day,
            # revoked before it ran out: that was the end, not an expiry
            (q.revoked_on.is_(None)) | (q.revoked_on > q.valid_until),
        ).order_by(q.id)).all()
    for qualification, firm in rows:
        made += record("qualification.expired", "qualification", qualification.id,
                       qualification.valid_until.isoformat(),
                       {"qualification": qualification_body(qualification),
                        "enterprise": enterprise_body(firm)},
                       enterprise_id=firm.id)
    if mark is None:
        db.session.execute(conflict_insert(WebhookClock.__table__).values(
            name="expiry", last_run_on=day).on_conflict_do_nothing())
    elif mark.last_run_on < day:
        mark.last_run_on = day
    return made
