"""The dashboard card: this year's applications by status and how many firms are candidates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from tracker.accounts.scope import enterprise_scope
from tracker.clock import today
from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.ladder.models import APPLICATION_STATUSES, Application, EligibilityResult
from tracker.ladder.queries import above_current_rung
from tracker.ladder.rules import KINDS


def card_context(user: Any, kept_candidates: Callable[[Any], dict[str, int] | None] | None = None
                 ) -> dict[str, Any]:
    """Two scoped aggregates, whatever the number of firms.

    `kept_candidates(user)`: the candidate counts from maintained figures, or None when they
    are not current (the dashboard's, wired in by init_app); else the live query counts.
    """
    year = today().year
    by_status = dict(db.session.execute(
        select(Application.status, func.count(Application.id)).join(Application.enterprise)
        .where(enterprise_scope(user), Application.year == year)
        .group_by(Application.status)).all())
    candidates = kept_candidates(user) if kept_candidates else None
    if candidates is None:
        candidates = candidates_live(user)
    return {"ladder_year": year, "ladder_by_status": by_status,
            "ladder_statuses": APPLICATION_STATUSES, "ladder_candidates": candidates,
            "ladder_kinds": KINDS}


def candidates_live(user: Any) -> dict[str, int]:
    """Active firms in scope that are candidates for a rung above theirs, per kind."""
    return dict(db.session.execute(
        # count(*): the partial index ix_eligibility_results_candidates holds no id, and
        # PostgreSQL would read every candidate row to count its (never null) id
        select(EligibilityResult.kind, func.count())
        .join(EligibilityResult.enterprise)
        .where(enterprise_scope(user), Enterprise.status == "active",
               EligibilityResult.candidate.is_(True),
               above_current_rung(EligibilityResult.kind))
        .group_by(EligibilityResult.kind)).all())
