"""'Newly eligible' reminders: which firms now meet the next rung's criteria.

Facts come from `tracker.ladder.facts.build_facts(enterprise, as_of)` when the ladder feature
provides it; until then from `build_facts` below (same shape as eligibility.md), so there is
one place to repoint at merge time.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from importlib import import_module
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.ladder.models import Qualification
from tracker.ladder.rules import KINDS, FactsError, evaluate

_YEAR_KEYS = (
    "employees", "tech_staff", "revenue", "total_income", "total_assets", "total_cost",
    "rd_expense", "rd_expense_domestic", "high_tech_income",
)
_ENTERPRISE_KEYS = ("registered_in_tianjin", "resident_enterprise", "restricted_industry",
                    "integrity_record_clean", "tech_field", "innovation_score")


def _number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral() else float(value)
    return value


def build_facts(enterprise: Enterprise, as_of: date, *,
                held: set[str] | None = None) -> dict[str, Any]:
    """Facts per eligibility.md from the stored record, metrics and valid qualifications."""
    facts_builder = _ladder_builder()
    if facts_builder is not None and facts_builder is not build_facts:
        return facts_builder(enterprise, as_of)
    ent: dict[str, Any] = {k: getattr(enterprise, k) for k in _ENTERPRISE_KEYS}
    if enterprise.founded_on and enterprise.founded_on <= as_of:
        ent["founded_on"] = enterprise.founded_on.isoformat()
    honours = set(enterprise.honours or [])
    if held is None:
        held = {q.kind for q in _qualifications(enterprise) if q.status_on(as_of) == "valid"}
    if "hnte" in held:
        honours.add("hnte_valid")
    ent["honours"] = sorted(honours)
    years: dict[str, dict[str, Any]] = {}
    for row in enterprise.metrics:
        if row.fiscal_year >= as_of.year:
            continue
        years[str(row.fiscal_year)] = {
            k: _number(getattr(row, k)) for k in _YEAR_KEYS if getattr(row, k) is not None
        }
        if row.fiscal_year == as_of.year - 1:
            for key in ("class1_ip", "class2_ip"):
                if getattr(row, key) is not None:
                    ent[key] = getattr(row, key)
    return {"as_of": as_of.isoformat(), "enterprise": ent, "years": years}


def _ladder_builder():
    """tracker.ladder.facts.build_facts, once the ladder branch has landed."""
    try:
        module = import_module("tracker.ladder.facts")
    except ModuleNotFoundError:
        return None
    return getattr(module, "build_facts", None)


def _qualifications(enterprise: Enterprise) -> list[Qualification]:
    return list(db.session.scalars(
        select(Qualification).where(Qualification.enterprise_id == enterprise.id)))


def next_rung(current: str | None) -> str | None:
    """The rung above `current` in ladder order (tech SME first)."""
    order = list(KINDS)
    if current is None or current not in order:
        return order[0]
    index = order.index(current) + 1
    return order[index] if index < len(order) else None


def newly_eligible(as_of: date, enterprise_ids: Iterable[int] | None = None
                   ) -> list[tuple[int, str]]:
    """(enterprise id, rung) for active firms whose next rung evaluates `eligible` on as_of."""
    query = select(Enterprise).where(Enterprise.status == "active").options(
        selectinload(Enterprise.metrics))
    if enterprise_ids is not None:
        query = query.where(Enterprise.id.in_(list(enterprise_ids)))
    held: dict[int, set[str]] = {}
    for q in db.session.scalars(select(Qualification).where(
            Qualification.revoked_on.is_(None),
            *([Qualification.enterprise_id.in_(list(enterprise_ids))]
              if enterprise_ids is not None else []))):
        if q.status_on(as_of) == "valid":
            held.setdefault(q.enterprise_id, set()).add(q.kind)
    found: list[tuple[int, str]] = []
    for enterprise in db.session.scalars(query):
        rung = next_rung(enterprise.current_rung)
        if rung is None or rung in held.get(enterprise.id, set()):
            continue
        facts = build_facts(enterprise, as_of, held=held.get(enterprise.id, set()))
        facts["kinds"] = [rung]
        try:
            result = evaluate(facts)
        except FactsError:
            continue  # malformed stored figures: the gap report shows them, no reminder
        if result["results"] and result["results"][0]["verdict"] == "eligible":
            found.append((enterprise.id, rung))
    return found
