"""How imported rows become qualifications and tenancies: through the features' own services.

Granting goes through tracker.ladder.services (rung, stage transition, audit) and moving in through
tracker.incubation.services (term rules, stage transition, audit). Corrections of an existing row
to match an official list stay here. All flush, never commit.
"""

from __future__ import annotations

from typing import Any

from tracker.audit import services as audit
from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.incubation import services as incubation_services
from tracker.incubation.models import Carrier, Tenancy
from tracker.ladder import services as ladder_services
from tracker.ladder.models import Qualification

#: why an imported term differs from the carrier's default (the list is the record)
IMPORTED_TERM_REASON = "孵化期按导入名单登记"

QUALIFICATION_FIELDS = ("kind", "number", "granted_on", "valid_until", "batch", "source")
TENANCY_FIELDS = ("carrier_id", "moved_in_on", "term_ends_on", "status", "ended_on",
                  "graduation_basis", "area_m2")


def _correct(entity_type: str, obj: Qualification | Tenancy, data: dict[str, Any],
             fields: tuple[str, ...]) -> dict:
    """Apply a listed row's values to a stored one; audit and signal what changed."""
    changes = audit.apply_changes(obj, data, fields)
    if changes:
        db.session.flush()
        audit.record(entity_type, obj.id, "update", changes, enterprise_id=obj.enterprise_id)
    return changes


def grant_qualification(enterprise: Enterprise, data: dict[str, Any]) -> Qualification:
    """Record a qualification from an official list, as the ladder does for any grant."""
    return ladder_services.grant_qualification(
        enterprise, data["kind"], data.get("number"), data["granted_on"],
        valid_until=data.get("valid_until"), batch=data.get("batch"), source="import",
        evidence=data.get("batch"),
    )


def update_qualification(qualification: Qualification, data: dict[str, Any]) -> dict:
    """Bring number, dates and batch in line with the official list; returns the changes."""
    return _correct("qualification", qualification, data, QUALIFICATION_FIELDS)


def open_tenancy(enterprise: Enterprise, carrier: Carrier, data: dict[str, Any]) -> Tenancy:
    """Record a firm moving into a carrier; listed status and end date are applied after."""
    # the service keeps the reason only when the listed term differs from the carrier's default
    tenancy = incubation_services.open_tenancy(
        enterprise, carrier, data["moved_in_on"], term_ends_on=data.get("term_ends_on"),
        term_override_reason=IMPORTED_TERM_REASON, source="import", area_m2=data.get("area_m2"),
    )
    later = {k: v for k, v in data.items()
             if k in ("status", "ended_on", "graduation_basis") and v is not None}
    if later:
        update_tenancy(tenancy, later)  # audits only what actually changes
    return tenancy


def update_tenancy(tenancy: Tenancy, data: dict[str, Any]) -> dict:
    """Apply the listed dates, status and area; returns the changes."""
    return _correct("tenancy", tenancy, data, TENANCY_FIELDS)
