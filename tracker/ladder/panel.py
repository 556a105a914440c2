"""The ladder panel on the enterprise page: rung, qualifications, history, results, applications."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from tracker.clock import today
from tracker.extensions import db
from tracker.ladder import results, services, validity
from tracker.ladder.models import APPLICATION_STATUSES, QUALIFICATION_STATUSES, Application
from tracker.ladder.rules import KINDS

#: built once, run with the firm's id: building a statement and its cache key costs about as
#: much as the ORM's running it, on every view of the page (issue 12)
_APPLICATIONS = (
    select(Application).where(Application.enterprise_id == bindparam("enterprise_id"))
    .options(joinedload(Application.owner))
    .order_by(Application.year.desc(), Application.id.desc()))


def panel_context(enterprise: Any, user: Any) -> dict[str, Any]:
    """Everything the panel shows, in a handful of queries."""
    day = today()
    quals = services.qualifications_of(enterprise.id)
    applications = list(db.session.scalars(_APPLICATIONS, {"enterprise_id": enterprise.id}))
    return {
        "ladder_today": day,
        "qualifications": [
            {"q": q, "status": q.status_on(day),
             "notes": validity.number_notes(q.kind, q.number, q.granted_on),
             "marker": validity.tech_sme_marker(q.number) if q.kind == "tech_sme" else None}
            for q in quals
        ],
        "history": list(reversed(services.ladder_history(enterprise.id, day))),
        "results": results.results_for(enterprise.id),
        "stale_since": enterprise.eligibility_stale_since,
        "applications": applications,
        "moves": services.allowed_moves,
        "kinds": KINDS,
        "app_statuses": APPLICATION_STATUSES,
        "qual_statuses": QUALIFICATION_STATUSES,
        "can_edit": user.can_edit,
    }
