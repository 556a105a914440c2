"""Recording audit events from services (never from views)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import g, has_request_context
from flask_login import current_user

from tracker.audit.models import AuditEvent
from tracker.bulk_insert import insert_rows
from tracker.extensions import db


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")  # plain digits, never 3.1584E+8
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | tuple):
        return sorted(value)
    return value


#: values _jsonable returns as they are (looked up by exact type: most values are these)
_PLAIN = frozenset((str, int, float, bool, type(None)))


def snapshot(obj: Any, fields: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """The audited fields of a model instance as JSON-ready values."""
    values = {}
    for name in fields:  # an import snapshots each new record: plain values skip _jsonable
        value = getattr(obj, name)
        values[name] = value if type(value) in _PLAIN else _jsonable(value)
    return values


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {
        name: [before.get(name), value]
        for name, value in after.items()
        if before.get(name) != value
    }


def apply_changes(obj: Any, values: dict[str, Any],
                  fields: list[str] | tuple[str, ...]) -> dict[str, list[Any]]:
    """Set `values` on `obj`; returns what changed among its audited `fields`, for record()."""
    before = snapshot(obj, fields)
    for key, value in values.items():
        setattr(obj, key, value)
    return changed_fields(before, snapshot(obj, fields))


def current_actor_id() -> int | None:
    """The logged-in user making this request, or None for the system (tasks, CLI)."""
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.id
    return None


def current_channel() -> str | None:
    """The API token a request authenticated with, named for the audit; None for the pages."""
    if has_request_context():
        token = g.get("api_token")
        if token is not None:
            return f"api-token:{token.id} {token.name or ''}".strip()[:120]
    return None
_BATCH_KEY = "audit_batch_id"


@contextmanager
def batch(batch_id: str) -> Iterator[str]:
    """Every event recorded inside the block carries `batch_id` (a bulk action's shared id).

    Kept on the session, so the services called for each firm need not pass it along.
    """
    info = db.session().info
    previous = info.get(_BATCH_KEY)
    info[_BATCH_KEY] = batch_id
    try:
        yield batch_id
    finally:
        if previous is None:
            info.pop(_BATCH_KEY, None)
        else:
            info[_BATCH_KEY] = previous


def record(
    entity_type: str,
    entity_id: int | None,
    action: str,
    changes: dict[str, list[Any]] | None = None,
    *,
    enterprise_id: int | None = None,
    actor_id: int | None = None,
    summary: str | None = None,
) -> AuditEvent:
    """Add an audit event to the session; the caller's commit makes it permanent."""
    event = AuditEvent(
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        changes=changes or {},
        enterprise_id=enterprise_id,
        actor_id=actor_id if actor_id is not None else current_actor_id(),
        summary=summary,
        channel=current_channel(),
        batch_id=db.session().info.get(_BATCH_KEY),
    )
    db.session.add(event)
    return event


def record_many(events: list[dict[str, Any]], *, actor_id: int | None = None,
                summary: str | None = None) -> None:
    """Insert many audit events in one statement, without an ORM object each (bulk writers).

    Each dict holds record()'s arguments (entity_type, entity_id, action, changes,
    enterprise_id, and optionally actor_id and summary); `actor_id` and `summary` fill in
    what an event leaves empty, as an import stamps its job on the events it causes.
    """
    if not events:
        return
    actor = actor_id if actor_id is not None else current_actor_id()
    rows = [{"entity_type": e["entity_type"], "entity_id": e["entity_id"],
             "action": e["action"], "changes": e.get("changes") or {},
             "enterprise_id": e.get("enterprise_id"),
             "actor_id": e.get("actor_id") if e.get("actor_id") is not None else actor,
             "summary": e.get("summary") or summary} for e in events]
    insert_rows(AuditEvent.__table__, rows)  # no ORM bookkeeping per row
