"""Likely duplicates: firms sharing a folded name key, and legacy records without a valid code.

Both are set-based SQL over stored, indexed columns (Enterprise.name_key, uscc_valid), paged
by key, so the page costs the same at 500k firms as at 500.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from tracker.accounts.scope import enterprise_edit_scope
from tracker.enterprises.models import Enterprise
from tracker.extensions import db

GROUPS_PER_PAGE = 20
LEGACY_PER_PAGE = 50


@dataclass
class DuplicateGroup:
    key: str
    firms: list[Enterprise]


def _candidates(user: Any):
    """Firms a user may merge that are not merged already."""
    return (Enterprise.merged_into_id.is_(None), enterprise_edit_scope(user))


def name_groups(user: Any, *, after: str | None = None, size: int = GROUPS_PER_PAGE
                ) -> tuple[list[DuplicateGroup], str | None]:
    """Groups of two or more firms with one name key, by key; and the key to continue after."""
    keys_q = (select(Enterprise.name_key).where(*_candidates(user),
                                                Enterprise.name_key.is_not(None))
              .group_by(Enterprise.name_key).having(func.count() > 1)
              .order_by(Enterprise.name_key).limit(size + 1))
    if after:
        keys_q = keys_q.where(Enterprise.name_key > after)
    keys = list(db.session.scalars(keys_q))
    more = len(keys) > size
    keys = keys[:size]
    firms: dict[str, list[Enterprise]] = {k: [] for k in keys}
    if keys:
        for firm in db.session.scalars(
                select(Enterprise).where(*_candidates(user), Enterprise.name_key.in_(keys))
                .order_by(Enterprise.name_key, Enterprise.id)):
            firms[firm.name_key].append(firm)
    return [DuplicateGroup(k, firms[k]) for k in keys], (keys[-1] if more else None)


def legacy_records(user: Any, *, after: int | None = None, size: int = LEGACY_PER_PAGE
                   ) -> tuple[list[tuple[Enterprise, int, int | None]], int | None]:
    """Firms whose code fails the check, by id, each with how many other firms share its name
    key and the first of them (to compare with); and the id to continue after."""
    firms_t = Enterprise.__table__
    outer = firms_t.alias("legacy")
    same_key = (firms_t.c.name_key == outer.c.name_key, firms_t.c.id != outer.c.id,
                firms_t.c.merged_into_id.is_(None))
    namesakes = (select(func.count()).select_from(firms_t).where(*same_key)
                 .correlate(outer).scalar_subquery())
    first = (select(func.min(firms_t.c.id)).where(*same_key)
             .correlate(outer).scalar_subquery())
    query = (select(outer.c.id, namesakes.label("namesakes"), first.label("first"))
             .where(~outer.c.uscc_valid, outer.c.merged_into_id.is_(None),
                    outer.c.id.in_(select(Enterprise.id).where(enterprise_edit_scope(user))))
             .order_by(outer.c.id).limit(size + 1))
    if after:
        query = query.where(outer.c.id > after)
    rows = db.session.execute(query).all()
    more = len(rows) > size
    rows = rows[:size]
    firms = {e.id: e for e in db.session.scalars(
        select(Enterprise).where(Enterprise.id.in_([r[0] for r in rows])))}
    return [(firms[r[0]], r[1], r[2]) for r in rows], (rows[-1][0] if more and rows else None)
