"""Applications (申报): bids for a rung along their pipeline; approving grants the title."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _

from tracker.audit import services as audit
from tracker.clock import today
from tracker.enterprises.models import Enterprise
from tracker.errors import check_version
from tracker.extensions import db
from tracker.ladder.models import APPLICATION_STATUSES, APPLICATION_TRANSITIONS, Application
from tracker.ladder.rules import KINDS
from tracker.ladder.services.common import APPLICATION_FIELDS, LadderError
from tracker.ladder.services.qualifications import grant_qualification


def create_application(enterprise: Enterprise, data: dict[str, Any], *,
                       actor_id: int | None = None) -> Application:
    """Open a bid for a rung in a year and batch; audited."""
    errors = {}
    if data.get("kind") not in KINDS:
        errors["kind"] = _("请选择申报类型")
    year = data.get("year")
    if not isinstance(year, int) or not 2000 <= year <= today().year + 1:
        errors["year"] = _("申报年度应在 2000–%(latest)s 之间", latest=today().year + 1)
    if errors:
        raise LadderError(errors)
    application = Application(
        enterprise_id=enterprise.id, kind=data["kind"], year=year,
        batch=(data.get("batch") or "").strip() or None, status="planned",
        owner_id=data.get("owner_id"), deadline=data.get("deadline"),
        notes=(data.get("notes") or "").strip() or None,
    )
    db.session.add(application)
    db.session.flush()
    audit.record("application", application.id, "create",
                 audit.changed_fields({}, audit.snapshot(application, APPLICATION_FIELDS)),
                 enterprise_id=enterprise.id, actor_id=actor_id,
                 summary=f"{year} {KINDS[application.kind]}")
    return application


def update_application(application: Application, data: dict[str, Any], *,
                       expected_version: int | None = None,
                       actor_id: int | None = None) -> dict[str, list[Any]]:
    """Change batch, owner, deadline or notes (status moves go through move_application)."""
    check_version(application, expected_version)
    values = {k: data[k] for k in ("batch", "owner_id", "deadline", "notes") if k in data}
    for key in ("batch", "notes"):
        if key in values:
            values[key] = (values[key] or "").strip() or None
    changes = audit.apply_changes(application, values, APPLICATION_FIELDS)
    if changes:
        db.session.flush()
        audit.record("application", application.id, "update", changes,
                     enterprise_id=application.enterprise_id, actor_id=actor_id,
                     summary=f"{application.year} {KINDS[application.kind]}")
    return changes


def year_and_batch(year: int, batch: str | None) -> str:
    """"2026年第二批" from year 2026 and batch "第二批" or "2026年第二批" (the year said once)."""
    batch = (batch or "").strip()
    return batch if batch.startswith(str(year)) else f"{year}年{batch}"


def allowed_moves(application: Application) -> tuple[str, ...]:
    """Statuses this application may move to next."""
    return APPLICATION_TRANSITIONS.get(application.status, ())


def move_application(
    application: Application,
    to_status: str,
    *,
    expected_version: int | None = None,
    actor_id: int | None = None,
    note: str | None = None,
    number: str | None = None,
    granted_on: date | None = None,
    valid_until: date | None = None,
) -> Application:
    """Move along the pipeline; approving creates the qualification in the same step."""
    check_version(application, expected_version)
    if to_status not in APPLICATION_STATUSES:
        raise LadderError({"status": _("未知的申报状态")})
    if to_status not in allowed_moves(application):
        raise LadderError({"status": (
            _("不能从「%(old)s」变为「%(new)s」", old=_(APPLICATION_STATUSES[application.status]),
              new=_(APPLICATION_STATUSES[to_status])))})
    old = application.status
    enterprise = db.session.get(Enterprise, application.enterprise_id)
    changes: dict[str, list[Any]] = {"status": [old, to_status]}
    if to_status == "approved":
        qualification = grant_qualification(
            enterprise, application.kind, number, granted_on or today(), valid_until,
            application.batch, source="application", actor_id=actor_id,
            evidence=f"申报 #{application.id}"
                     f"（{year_and_batch(application.year, application.batch)}）",
        )
        application.qualification_id = qualification.id
        changes["qualification_id"] = [None, qualification.id]
    application.status = to_status
    if note:
        application.notes = ((application.notes or "") + f"\n{today().isoformat()} {note}").strip()
    db.session.flush()
    action = {"approved": "approve", "rejected": "reject"}.get(to_status, "update")
    audit.record("application", application.id, action, changes,
                 enterprise_id=enterprise.id, actor_id=actor_id,
                 summary=f"{KINDS[application.kind]}：{APPLICATION_STATUSES[old]} → "
                         f"{APPLICATION_STATUSES[to_status]}" + (f"（{note}）" if note else ""))
    return application
