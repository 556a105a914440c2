"""Aggregates for the dashboard; every figure goes through the scoping functions."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import case, distinct, func, literal, select

from tracker.accounts.scope import carrier_scope, enterprise_scope
from tracker.clock import today
from tracker.dashboard import aggregates
from tracker.enterprises.models import Activity, Enterprise
from tracker.extensions import db
from tracker.incubation.models import Carrier
from tracker.ladder.models import Qualification

#: carrier schemes that count as national for the plan targets
NATIONAL_INCUBATOR_SCHEMES = ("most_2018_national", "miit_2025_standard", "miit_2025_excellent")
NATIONAL_MAKER_SPACE_SCHEMES = ("national_maker_space",)


def active_counts(user: Any) -> dict[tuple[str | None, str | None, str | None], int]:
    """Active firms in scope per (zone, current rung, technology field), one GROUP BY.

    Read off ix_enterprises_status_zone_rung_field alone (in its order, no sort): the zone and
    rung totals and the charts' zone × rung and field × rung matrices are sums of these few
    hundred cells, instead of one scan of the wide firm rows per figure. Read off the
    maintained per-zone figures when they are current (tracker.dashboard.aggregates).
    """
    kept = aggregates.read(user, "firms")
    if kept is not None:
        return {cell: n for cell, n in kept.items() if n}
    return active_counts_live(user)


def active_counts_live(user: Any) -> dict[tuple[str | None, str | None, str | None], int]:
    """The straightforward GROUP BY over the firms in scope (what the maintained rows equal)."""
    rows = db.session.execute(
        select(Enterprise.zone, Enterprise.current_rung, Enterprise.tech_field, func.count())
        .where(enterprise_scope(user), Enterprise.status == "active")
        .group_by(Enterprise.zone, Enterprise.current_rung, Enterprise.tech_field)
    )
    return {(zone, rung, field): n for zone, rung, field, n in rows}


def zone_and_rung_totals(user: Any) -> tuple[dict[str, int], dict[str | None, int]]:
    """Active firms in scope per zone and per current rung, from one query."""
    by_zone: dict[str, int] = {}
    by_rung: dict[str | None, int] = {}
    for (zone, rung, _field), n in active_counts(user).items():
        by_zone[zone] = by_zone.get(zone, 0) + n
        by_rung[rung] = by_rung.get(rung, 0) + n
    return by_zone, by_rung


def enterprises_by_zone(user: Any) -> dict[str, int]:
    return zone_and_rung_totals(user)[0]


def enterprises_by_rung(user: Any) -> dict[str | None, int]:
    return zone_and_rung_totals(user)[1]


#: the plan counts 科技领军 and 科技领军培育 together
_METRIC_OF_KIND = case(
    (Qualification.kind.in_(("leader", "leader_cultivation")), literal("leader_any")),
    else_=Qualification.kind,
)


def holders_by_kind(user: Any, on: date) -> dict[str, int]:
    """Firms holding a valid qualification of each metric on `on` (one query; today's from
    the maintained per-zone figures when they are current)."""
    if on == today():
        kept = aggregates.holders(user)
        if kept is not None:
            return kept
    return holders_live(user, on)


def holders_live(user: Any, on: date) -> dict[str, int]:
    """The straightforward count of valid titles' holders in scope (one query)."""
    rows = db.session.execute(
        select(_METRIC_OF_KIND, func.count(distinct(Qualification.enterprise_id)))
        .join(Enterprise, Enterprise.id == Qualification.enterprise_id)
        .where(
            enterprise_scope(user),
            Enterprise.status == "active",
            Qualification.valid_on(on),
        )
        .group_by(_METRIC_OF_KIND)
    )
    return {metric: n for metric, n in rows}


def national_carriers(user: Any) -> dict[str, int]:
    rows = db.session.execute(
        select(Carrier.scheme, func.count(Carrier.id))
        .where(carrier_scope(user), Carrier.archived.is_(False))
        .group_by(Carrier.scheme)
    )
    by_scheme = {scheme: n for scheme, n in rows}
    return {
        "national_incubator": sum(by_scheme.get(s, 0) for s in NATIONAL_INCUBATOR_SCHEMES),
        "national_maker_space": sum(by_scheme.get(s, 0) for s in NATIONAL_MAKER_SPACE_SCHEMES),
    }


def open_tasks(user: Any, limit: int = 10) -> list[Activity]:
    return list(db.session.scalars(
        select(Activity).join(Enterprise)
        .where(enterprise_scope(user), Activity.kind == "task", Activity.done_at.is_(None),
               Activity.owner_id == user.id)
        .order_by(Activity.due_on).limit(limit)
    ))
