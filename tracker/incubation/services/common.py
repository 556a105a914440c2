"""Small helpers the incubation service modules share: text cleaning, the graduate clause,
filtered counts and "does the firm hold this title" (no service of its own)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, func, or_

from tracker.incubation.models import Tenancy
from tracker.ladder.models import Qualification
from tracker.ladder.services import qualifications_of

#: a graduate counts as such whether it stayed put or moved on with a graduation basis
GRADUATE_CLAUSE = or_(
    Tenancy.status == "graduated",
    and_(Tenancy.status == "moved_on", Tenancy.graduation_basis.is_not(None)),
)


def _clean_text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value).strip() or None


def _count_where(*where: Any) -> Any:
    """count(tenancies) FILTER (WHERE …): several counts over one scan of the tenancies."""
    return func.count(Tenancy.id).filter(and_(*where))


def _holds_valid(enterprise_id: int, kind: str, day: date,
                 held: list[Qualification] | None = None) -> bool:
    """Whether the firm holds a valid `kind` on `day` (from `held` when already loaded)."""
    if held is None:
        held = qualifications_of(enterprise_id)
    return any(q.kind == kind and q.status_on(day) == "valid" for q in held)
