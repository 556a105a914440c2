"""Scoped incubation counts and clauses for the dashboard and the carrier pages."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select

from tracker.accounts.scope import tenancy_scope
from tracker.clock import today
from tracker.extensions import db
from tracker.incubation.models import StatusProposal, Tenancy
from tracker.incubation.services.common import GRADUATE_CLAUSE, _count_where
from tracker.ladder.models import Qualification


def dashboard_counts(user: Any, on: date | None = None) -> dict[str, int]:
    """Incubating, graduated this year, terms ending within 90 days and overdue — scoped."""
    on = on or today()
    scoped = tenancy_scope(user)
    incubating = Tenancy.status == "incubating"
    counts = db.session.execute(select(
        _count_where(incubating),
        _count_where(GRADUATE_CLAUSE, Tenancy.ended_on >= date(on.year, 1, 1),
                     Tenancy.ended_on <= on),
        _count_where(incubating, Tenancy.term_ends_on >= on,
                     Tenancy.term_ends_on <= on + timedelta(days=90)),
        _count_where(incubating, Tenancy.term_ends_on < on),
    ).where(scoped)).one()
    pending = db.session.scalar(
        select(func.count(StatusProposal.id))
        .join(Tenancy, StatusProposal.tenancy_id == Tenancy.id)
        .where(scoped, StatusProposal.status == "pending"))
    return {**dict(zip(("incubating", "graduated_this_year", "ending_90", "overdue"), counts,
                       strict=True)),
            "pending": pending or 0}


def graduated_then_hnte() -> Any:
    """A graduated tenancy whose firm was recognised as HNTE on or after it graduated
    (the dashboard's "graduates that later became HNTE" and the carrier page's filter)."""
    return and_(Tenancy.status == "graduated", exists(
        select(Qualification.id).where(Qualification.enterprise_id == Tenancy.enterprise_id,
                                       Qualification.kind == "hnte",
                                       Qualification.granted_on >= Tenancy.ended_on)))


def resident_on(day: date) -> Any:
    """A tenancy that had begun by `day` and had not ended on it (month-end tenant counts)."""
    return and_(
        Tenancy.moved_in_on <= day,
        or_(Tenancy.ended_on > day,
            and_(Tenancy.ended_on.is_(None), Tenancy.status == "incubating")),
    )
