"""Endpoints (admin actions, audited) and delivery: claim, send, mark, reap, resend.

Every state change of a delivery is a guarded UPDATE (`… WHERE status = 'pending'`, or the
claim's own timestamp), so two workers, a resend and the reaper can race without an event
being sent twice by us for one claim.
"""

from __future__ import annotations

import json
import logging
import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, func, or_, select, update

from tracker.audit import services as audit
from tracker.clock import now_utc, to_local
from tracker.errors import FieldError
from tracker.extensions import db
from tracker.webhooks import http
from tracker.webhooks.events import envelope
from tracker.webhooks.models import (
    EVENT_TYPES,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from tracker.webhooks.policy import lease_seconds, retry_window, setting

log = logging.getLogger(__name__)


def due_clause(now: datetime):
    return or_(WebhookDelivery.next_attempt_at.is_(None), WebhookDelivery.next_attempt_at <= now)


# ---------------------------------------------------------------------------------------------
# Endpoints
# ---------------------------------------------------------------------------------------------


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    url = (data.get("url") or "").strip()
    problem = http.check_url(url) if url else _("请填写接收地址")
    if problem:
        raise FieldError({"url": _("接收地址无效：%(why)s", why=problem)})
    events = [code for code in (data.get("events") or []) if code in EVENT_TYPES]
    if not events:
        raise FieldError({"events": _("请至少选择一种事件")})
    return {"url": url, "description": (data.get("description") or "").strip(),
            "events": sorted(set(events), key=list(EVENT_TYPES).index),
            "active": bool(data.get("active", True))}


def _shown(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {"url": endpoint.url, "description": endpoint.description,
            "events": ",".join(endpoint.events or []), "active": endpoint.active}


def create_endpoint(data: dict[str, Any], *, actor_id: int | None = None) -> WebhookEndpoint:
    """Register an endpoint; the secret is the one given (≥ 16 characters) or a new one."""
    values = _clean(data)
    secret = (data.get("secret") or "").strip() or new_secret()
    if len(secret) < 16:
        raise FieldError({"secret": _("密钥至少 16 个字符（留空则自动生成）")})
    endpoint = WebhookEndpoint(**values, secret=secret,
                               created_by_id=actor_id or audit.current_actor_id())
    db.session.add(endpoint)
    db.session.flush()
    audit.record("webhook_endpoint", endpoint.id, "create",
                 {k: [None, v] for k, v in _shown(endpoint).items()},
                 actor_id=actor_id, summary=endpoint.url)
    return endpoint


def update_endpoint(endpoint: WebhookEndpoint, data: dict[str, Any], *,
                    actor_id: int | None = None) -> WebhookEndpoint:
    before = _shown(endpoint)
    for key, value in _clean(data).items():
        setattr(endpoint, key, value)
    db.session.flush()
    after = _shown(endpoint)
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if changes:
        audit.record("webhook_endpoint", endpoint.id, "update", changes, actor_id=actor_id,
                     summary=endpoint.url)
    return endpoint


def rotate_secret(endpoint: WebhookEndpoint, *, actor_id: int | None = None) -> str:
    """A new secret, effective for every later attempt; returned to be shown once."""
    endpoint.secret = new_secret()
    db.session.flush()
    audit.record("webhook_endpoint", endpoint.id, "rotate_secret", {"secret": ["***", "***"]},
                 actor_id=actor_id, summary=endpoint.url)
    return endpoint.secret


def delete_endpoint(endpoint: WebhookEndpoint, *, actor_id: int | None = None) -> None:
    """Remove the endpoint and its ledger; the events themselves stay."""
    db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    audit.record("webhook_endpoint", endpoint.id, "delete",
                 {k: [v, None] for k, v in _shown(endpoint).items()}, actor_id=actor_id,
                 summary=endpoint.url)
    db.session.delete(endpoint)
    db.session.flush()


# ---------------------------------------------------------------------------------------------
# Claiming and sending
# ---------------------------------------------------------------------------------------------


def claim(delivery_id: int) -> datetime | None:
    """Move one due pending delivery to `sending`; the claim's time, or None if not ours."""
    now = now_utc()
    result = db.session.execute(
        update(WebhookDelivery).where(WebhookDelivery.id == delivery_id,
                                      WebhookDelivery.status == "pending", due_clause(now))
        .values(status="sending", claimed_at=now, attempts=WebhookDelivery.attempts + 1,
                lease_until=now + timedelta(seconds=lease_seconds()))
        .execution_options(synchronize_session=False))
    return now if result.rowcount == 1 else None


def _finish(delivery_id: int, claimed_at: datetime, **values: Any) -> bool:
    """Record the outcome only if the claim is still ours (the reaper may have taken it)."""
    result = db.session.execute(
        update(WebhookDelivery).where(WebhookDelivery.id == delivery_id,
                                      WebhookDelivery.status == "sending",
                                      WebhookDelivery.claimed_at == claimed_at)
        .values(lease_until=None, **values).execution_options(synchronize_session=False))
    return result.rowcount == 1


def backoff_seconds(attempts: int) -> int:
    """Bounded exponential backoff with jitter: base·2^(n-1), at most WEBHOOK_BACKOFF_MAX."""
    base = float(setting("WEBHOOK_BACKOFF_BASE", 30))
    cap = float(setting("WEBHOOK_BACKOFF_MAX", 3600))
    delay = min(cap, base * 2 ** max(attempts - 1, 0))
    return max(1, int(delay * random.uniform(0.8, 1.2)))  # noqa: S311 - jitter, not secrets


@dataclass
class Outcome:
    status: str  # delivered, retry, failed, expired, skipped
    delay: int = 0


def body_of(event: WebhookEvent) -> bytes:
    return json.dumps(envelope(event), ensure_ascii=False, separators=(",", ":"),
                      sort_keys=True).encode()


def _excerpt(data: bytes, limit: int = 300) -> str:
    return data[:limit].decode("utf-8", "replace").strip()


def send_claimed(delivery_id: int, claimed_at: datetime) -> Outcome:
    """POST one claimed delivery and record the result; the caller commits afterwards.

    The task begins its transactions as a reader (no write lock while the receiver answers),
    so none of them may read and then write: on SQLite a read that another connection's
    commit has made stale cannot turn into a write ("database is locked", at once). All the
    request needs is read (no ORM object is touched after the commit, which expires them) and
    that transaction ends before the request; the outcome's write begins its own.
    """
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        return Outcome("skipped")
    endpoint, event = delivery.endpoint, delivery.event
    active, url = endpoint.active, endpoint.url
    if active:
        body = body_of(event)
        timestamp = int(now_utc().timestamp())
        headers = http.signed_headers(endpoint.secret, event_type=event.type,
                                      event_id=event.public_id, delivery_id=delivery.id,
                                      timestamp=timestamp, body=body)
    attempts, retry_until = delivery.attempts, delivery.retry_until
    # the read ends here: no transaction stays open while we wait on the receiver
    db.session.commit()
    if not active:
        _finish(delivery_id, claimed_at, status="failed", next_attempt_at=None,
                last_error=_("接收端已停用"))
        return Outcome("failed")
    code: int | None = None
    try:
        answer = http.post(url, body, headers,
                           timeout=float(setting("WEBHOOK_TIMEOUT", 10)),
                           max_body=int(setting("WEBHOOK_MAX_RESPONSE_BYTES", 65536)))
    except http.DeliveryError as exc:
        problem = f"transient: {exc}"
    else:
        code = answer.status
        if 200 <= code < 300:
            _finish(delivery_id, claimed_at, status="delivered", delivered_at=now_utc(),
                    response_code=code, last_error=None, next_attempt_at=None)
            return Outcome("delivered")
        if 300 <= code < 400:
            _finish(delivery_id, claimed_at, status="failed", response_code=code,
                    next_attempt_at=None,
                    last_error=f"redirect refused: {code} to {answer.location or '?'}")
            return Outcome("failed")
        if 400 <= code < 500 and code not in (408, 425, 429):
            _finish(delivery_id, claimed_at, status="failed", response_code=code,
                    next_attempt_at=None,
                    last_error=f"permanent: HTTP {code}: {_excerpt(answer.body)}")
            return Outcome("failed")
        problem = f"transient: HTTP {code}: {_excerpt(answer.body)}"
    delay = backoff_seconds(attempts)
    retry_at = now_utc() + timedelta(seconds=delay)
    if retry_until is not None and retry_at > retry_until:
        _finish(delivery_id, claimed_at, status="expired", response_code=code,
                next_attempt_at=None,
                last_error=f"expired: still failing at its deadline "
                           f"{to_local(retry_until):%Y-%m-%d %H:%M} after {attempts} "
                           f"attempts: {problem}")
        return Outcome("expired")
    _finish(delivery_id, claimed_at, status="pending", response_code=code,
            next_attempt_at=retry_at, last_error=problem)
    return Outcome("retry", delay)


def reap(now: datetime | None = None) -> int:
    """Return claims whose sender provably stopped (the lease ran out) to `pending`.

    A claim covers one request, bounded by WEBHOOK_TIMEOUT, and the lease adds a margin to
    that deadline: a row still `sending` after its lease has nobody talking to the receiver.
    """
    now = now or now_utc()
    result = db.session.execute(
        update(WebhookDelivery).where(WebhookDelivery.status == "sending",
                                      or_(WebhookDelivery.lease_until.is_(None),
                                          WebhookDelivery.lease_until < now))
        .values(status="pending", next_attempt_at=None, lease_until=None,
                last_error="reclaimed: the sender stopped mid-delivery")
        .execution_options(synchronize_session=False))
    return result.rowcount or 0


def due_ids(limit: int, now: datetime | None = None) -> list[int]:
    now = now or now_utc()
    return list(db.session.scalars(
        select(WebhookDelivery.id).where(WebhookDelivery.status == "pending", due_clause(now))
        .order_by(WebhookDelivery.id).limit(limit)))


def status_counts(endpoint_id: int) -> dict[str, int]:
    return all_status_counts([endpoint_id]).get(endpoint_id, {})


def all_status_counts(endpoint_ids: list[int]) -> dict[int, dict[str, int]]:
    """endpoint -> {status: deliveries}, in one grouped query for the whole list."""
    if not endpoint_ids:
        return {}
    rows = db.session.execute(
        select(WebhookDelivery.endpoint_id, WebhookDelivery.status, func.count())
        .where(WebhookDelivery.endpoint_id.in_(endpoint_ids))
        .group_by(WebhookDelivery.endpoint_id, WebhookDelivery.status)).all()
    counts: dict[int, dict[str, int]] = {}
    for endpoint_id, status, count in rows:
        counts.setdefault(endpoint_id, {})[status] = count
    return counts


class ActionError(ValueError):
    """An action that does not apply to the delivery's current state."""


def resend(delivery: WebhookDelivery, *, actor_id: int | None = None) -> None:
    """Queue a delivery again with a fresh budget (attempts 0, a new retry deadline).

    A row being sent right now is left alone: resending it could deliver it twice at once.
    """
    before = delivery.status
    now = now_utc()
    result = db.session.execute(
        update(WebhookDelivery).where(WebhookDelivery.id == delivery.id,
                                      WebhookDelivery.status != "sending")
        .values(status="pending", attempts=0, next_attempt_at=None, last_error=None,
                response_code=None, delivered_at=None, claimed_at=None, lease_until=None,
                retry_until=now + retry_window())
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise ActionError(_("该投递正在发送中，请稍后再试"))
    db.session.expire(delivery)
    audit.record("webhook_delivery", delivery.id, "resend", {"status": [before, "pending"]},
                 actor_id=actor_id, summary=f"endpoint {delivery.endpoint_id}")
