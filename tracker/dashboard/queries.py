"""Aggregates for the dashboard; every figure goes through the scoping function."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from tracker.accounts.scope import enterprise_scope
from tracker.enterprises.models import Activity, Enterprise
from tracker.extensions import db


def enterprises_by_zone(user: Any) -> dict[str, int]:
    rows = db.session.execute(
        select(Enterprise.zone, func.count(Enterprise.id))
        .where(enterprise_scope(user), Enterprise.status == "active")
        .group_by(Enterprise.zone)
    )
    return {zone: n for zone, n in rows}


def enterprises_by_rung(user: Any) -> dict[str | None, int]:
    rows = db.session.execute(
        select(Enterprise.current_rung, func.count(Enterprise.id))
        .where(enterprise_scope(user), Enterprise.status == "active")
        .group_by(Enterprise.current_rung)
    )
    return {rung: n for rung, n in rows}


def open_tasks(user: Any, limit: int = 10) -> list[Activity]:
    return list(db.session.scalars(
        select(Activity).join(Enterprise)
        .where(enterprise_scope(user), Activity.kind == "task", Activity.done_at.is_(None),
               Activity.owner_id == user.id)
        .order_by(Activity.due_on).limit(limit)
    ))
