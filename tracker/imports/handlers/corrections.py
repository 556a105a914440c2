"""Firms on file corrected by an enterprise list, a chunk at a time.

A row whose firm is registered is checked here without the database (the services' own
checks), then written with the rest of its chunk: every record changed in memory, one flush
(the ORM batches each table's UPDATEs and INSERTs, bumps each changed record's version and
the after-save pipeline collects the touched firms from it), then the audit events and the
undo notes in one INSERT each. The history is the one update_enterprise, save_contact and
save_metrics write row by row (their code path stays for rows not staged: see apply).
A chunk the database refuses is rolled back and retried row by row by the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert

from tracker.audit import services as audit
from tracker.enterprises import services as enterprises
from tracker.enterprises.models import FULL_YEAR_MONTHS, AnnualMetrics, Contact, Enterprise
from tracker.errors import FieldError
from tracker.extensions import db
from tracker.imports import columns
from tracker.imports.handlers.base import Handler, Row, Values
from tracker.imports.models import ImportChange


@dataclass
class Correction:
    """What one checked row changes in its firm on file (written by write_corrections)."""

    enterprise: Enterprise
    #: prepare_update's values for the firm itself
    values: dict[str, Any]
    #: (the matched contact or None for a new one, contact_values' values); None: untouched
    contact: tuple[Contact | None, dict[str, Any]] | None = None
    #: (fiscal year, figures, the year's stored figures or None); None: untouched
    metrics: tuple[int, dict[str, Any], AnnualMetrics | None] | None = None
    #: what writing it did, filled in by write_corrections
    done: dict[str, Any] = field(default_factory=dict)


def contact_data(values: dict[str, Any]) -> dict[str, Any]:
    """The row's contact columns as save_contact's data."""
    data = {"name": values["contact_name"]}
    for key, attr in (("contact_title", "title"), ("contact_phone", "phone"),
                      ("contact_email", "email")):
        if key in values:
            data[attr] = values[key]
    return data


def match_contact(existing: list[Contact], data: dict[str, Any]) -> Contact | None:
    """The firm's contact the row means: the same email, else the same name."""
    contact = None
    if data.get("email"):
        contact = next((c for c in existing if (c.email or "") == data["email"]), None)
    return contact or next((c for c in existing if c.name == data["name"]), None)


def stage_correction(handler: Any, row: Row, enterprise: Enterprise) -> Correction | None:
    """The row's changes if every service check passes without the database, else None.

    None sends the row through apply, which reports what the services refuse.
    """
    v = row.values
    data = {f.attr: v[f.key] for f in columns.ENTERPRISE_FIELDS
            if f.group == "enterprise" and f.key in v}
    try:
        values = enterprises.prepare_update(data, user=handler.user)
        before = audit.snapshot(enterprise, enterprises.ENTERPRISE_FIELDS)
        if {**before, **audit.snapshot(Values(values), list(values))} == before:
            values = {}  # setting equal values would only cost the flush a look at the firm
        correction = Correction(enterprise, values)
        if v.get("contact_name"):
            correction.contact = _stage_contact(handler, enterprise, contact_data(v))
    except FieldError:
        return None
    figures = {f.attr: v[f.key] for f in columns.ENTERPRISE_FIELDS
               if f.group == "metrics" and f.key in v}
    if figures:
        year = v.get("fiscal_year") or handler.options.year
        if enterprises.metric_errors(figures, year):
            return None
        existing = handler.metrics.get((enterprise.id, year))
        if existing is None or existing.is_partial or _differs(existing, figures):
            handler.warn_implausible(row, enterprise.id, year, existing, figures)
            correction.metrics = (year, figures, existing)
    return correction


def _differs(metrics: AnnualMetrics, figures: dict[str, Any]) -> bool:
    """Whether the row's figures change a full year on file (as the audit renders them)."""
    before = audit.snapshot(metrics, enterprises.METRIC_AUDIT_FIELDS)
    return {**before, **audit.snapshot(Values(figures), list(figures))} != before


def _stage_contact(handler: Any, enterprise: Enterprise, data: dict[str, Any]
                   ) -> tuple[Contact | None, dict[str, Any]] | None:
    contact = match_contact(handler.contacts.get(enterprise.id, []), data)
    if contact is None:
        data["receives_reminders"] = bool(data.get("email"))
        return None, enterprises.contact_values(data)
    fields = enterprises.CONTACT_FIELDS
    before = audit.snapshot(contact, fields)
    if {**before, **{k: audit.snapshot(Values(data), [k])[k] for k in data}} == before:
        return None  # nothing the row says differs from the stored contact
    return contact, enterprises.contact_values({**{k: getattr(contact, k) for k in fields},
                                                **data})


def write_corrections(handler: Handler, rows: list[Row]) -> None:
    """Write the chunk's corrections: one flush, then the audit events and the undo notes."""
    changing = []
    for row in rows:
        c: Correction = row.staged
        if c.values or c.contact is not None or c.metrics is not None:
            _change(c)
            changing.append(row)
        else:
            row.outcome = "unchanged"
    if not changing:
        return
    db.session.flush()
    events: list[dict[str, Any]] = []
    handler.collected = []
    try:
        for row in changing:
            row.outcome = _record(handler, row, events)
        audit.record_many(events, actor_id=handler.actor.id,
                          summary=f"导入任务 #{handler.job_id}" if handler.job_id else None)
        if handler.collected:
            db.session.execute(insert(ImportChange), handler.collected)
    finally:
        handler.collected = None


def _change(c: Correction) -> None:
    """Set the row's values on its records (new ones are added): the flush writes them."""
    enterprise = c.enterprise
    c.done["enterprise"] = (audit.snapshot(enterprise, enterprises.ENTERPRISE_FIELDS),
                            audit.apply_changes(enterprise, c.values,
                                                enterprises.ENTERPRISE_FIELDS))
    if c.contact is not None:
        contact, values = c.contact
        before: dict[str, Any] = {}
        if contact is None:
            contact = Contact(enterprise=enterprise)
            db.session.add(contact)
        else:
            before = audit.snapshot(contact, enterprises.CONTACT_FIELDS)
        for key, value in values.items():
            setattr(contact, key, value)
        c.done["contact"] = (contact, before)
    if c.metrics is not None:
        year, figures, metrics = c.metrics
        before = {}
        if metrics is None:
            metrics = AnnualMetrics(enterprise_id=enterprise.id, fiscal_year=year)
            db.session.add(metrics)
        else:
            before = audit.snapshot(metrics, enterprises.METRIC_AUDIT_FIELDS)
            if metrics.is_partial:  # full-year figures replace a partial year entirely
                for key in enterprises.METRIC_FIELDS:
                    setattr(metrics, key, None)
        for key, value in figures.items():
            setattr(metrics, key, value)
        metrics.source, metrics.period_months = "import", FULL_YEAR_MONTHS
        c.done["metrics"] = (metrics, before)


def _record(handler: Handler, row: Row, events: list[dict[str, Any]]) -> str:
    """The row's audit events and undo notes, as the row-by-row path writes them."""
    c: Correction = row.staged
    enterprise = c.enterprise
    outcome = "unchanged"
    before, changes = c.done["enterprise"]
    if changes:
        events.append({"entity_type": "enterprise", "entity_id": enterprise.id,
                       "action": "update", "changes": changes, "enterprise_id": enterprise.id})
        handler.note_update(row, "enterprise", enterprise, before, changes, enterprise.id)
        outcome = "updated"
    if "contact" in c.done:
        contact, before = c.done["contact"]
        after = audit.snapshot(contact, enterprises.CONTACT_FIELDS)
        changes = audit.changed_fields(before, after)
        if changes:
            events.append({"entity_type": "contact", "entity_id": contact.id,
                           "action": "update" if before else "create", "changes": changes,
                           "enterprise_id": enterprise.id, "summary": contact.name})
        if not before:
            handler.preview_new(row, "contact", after)
            handler.note(row, "contact", contact, "create", {}, after, enterprise.id)
            outcome = "updated"
        elif changes:
            handler.note_update(row, "contact", contact, before, changes, enterprise.id)
            outcome = "updated"
    if "metrics" in c.done:
        metrics, before = c.done["metrics"]
        year = metrics.fiscal_year
        after = audit.snapshot(metrics, enterprises.METRIC_AUDIT_FIELDS)
        changes = audit.changed_fields(before, after)
        if changes:
            events.append({"entity_type": "metrics", "entity_id": metrics.id,
                           "action": "update" if before else "create", "changes": changes,
                           "enterprise_id": enterprise.id,
                           "summary": enterprises.metrics_summary(year, "import")})
        if not before:
            handler.preview_new(row, "metrics", after, year=year)
            handler.note(row, "metrics", metrics, "create", {}, {**after, "fiscal_year": year},
                         enterprise.id)
            outcome = "updated"
        elif changes:
            handler.note_update(row, "metrics", metrics, before, changes, enterprise.id,
                                year=year)
            outcome = "updated"
    return outcome
