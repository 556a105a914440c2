"""Adapters that write qualifications and tenancies until the ladder/incubation services land.

Each is ONE function so the lead can point it at tracker.ladder.services.grant_qualification or
tracker.incubation.services.open_tenancy with a one-line change. They flush, never commit,
and audit every change.
"""

from __future__ import annotations

from typing import Any

from tracker.audit import services as audit
from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.incubation.models import Carrier, Tenancy
from tracker.ladder.models import Qualification
from tracker.signals import enterprise_changed

QUALIFICATION_FIELDS = ("kind", "number", "granted_on", "valid_until", "batch", "source")
TENANCY_FIELDS = ("carrier_id", "moved_in_on", "term_ends_on", "status", "ended_on",
                  "graduation_basis", "area_m2")


def grant_qualification(enterprise: Enterprise, data: dict[str, Any]) -> Qualification:
    """Record a qualification from an official list (swap for ladder.services later)."""
    qualification = Qualification(enterprise_id=enterprise.id, source="import", **data)
    db.session.add(qualification)
    db.session.flush()
    audit.record("qualification", qualification.id, "create",
                 audit.changed_fields({}, audit.snapshot(qualification, QUALIFICATION_FIELDS)),
                 enterprise_id=enterprise.id)
    enterprise_changed.send(enterprise.id)
    return qualification


def update_qualification(qualification: Qualification, data: dict[str, Any]) -> dict:
    """Bring number, dates and batch in line with the official list; returns the changes."""
    before = audit.snapshot(qualification, QUALIFICATION_FIELDS)
    for key, value in data.items():
        setattr(qualification, key, value)
    changes = audit.changed_fields(before, audit.snapshot(qualification, QUALIFICATION_FIELDS))
    if changes:
        db.session.flush()
        audit.record("qualification", qualification.id, "update", changes,
                     enterprise_id=qualification.enterprise_id)
        enterprise_changed.send(qualification.enterprise_id)
    return changes


def open_tenancy(enterprise: Enterprise, carrier: Carrier, data: dict[str, Any]) -> Tenancy:
    """Record a firm moving into a carrier (swap for incubation.services later)."""
    tenancy = Tenancy(enterprise_id=enterprise.id, carrier_id=carrier.id, **data)
    db.session.add(tenancy)
    db.session.flush()
    audit.record("tenancy", tenancy.id, "create",
                 audit.changed_fields({}, audit.snapshot(tenancy, TENANCY_FIELDS)),
                 enterprise_id=enterprise.id, summary=carrier.name)
    enterprise_changed.send(enterprise.id)
    return tenancy


def update_tenancy(tenancy: Tenancy, data: dict[str, Any]) -> dict:
    """Apply the listed dates, status and area; returns the changes."""
    before = audit.snapshot(tenancy, TENANCY_FIELDS)
    for key, value in data.items():
        setattr(tenancy, key, value)
    changes = audit.changed_fields(before, audit.snapshot(tenancy, TENANCY_FIELDS))
    if changes:
        db.session.flush()
        audit.record("tenancy", tenancy.id, "update", changes,
                     enterprise_id=tenancy.enterprise_id)
        enterprise_changed.send(tenancy.enterprise_id)
    return changes
