"""Firms on file corrected by an enterprise list, a chunk at a time.

A row whose firm is registered is checked here without the database (the services' own
checks), then written with the rest of its chunk: new contacts and years' figures in one
flush, the changed values of stored records in one executemany UPDATE per table (the ORM
writes a versioned record one statement at a time), then the audit events and the undo
notes in one INSERT each. The history is the one update_enterprise, save_contact and
save_metrics write row by row (their code path stays for rows not staged: see apply).
A chunk the database refuses is rolled back and retried row by row by the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from tracker import changes
from tracker.audit import services as audit
from tracker.bulk_insert import insert_rows
from tracker.clock import now_utc
from tracker.enterprises import services as enterprises
from tracker.enterprises.models import (
    FULL_YEAR_MONTHS,
    AnnualMetrics,
    Contact,
    Enterprise,
    derived_columns,
)
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


def row_figures(values: dict[str, Any], default_year: int | None
                ) -> tuple[int | None, dict[str, Any]]:
    """(fiscal year, the row's figure columns as AnnualMetrics attributes)."""
    figures = {f.attr: values[f.key] for f in columns.ENTERPRISE_FIELDS
               if f.group == "metrics" and f.key in values}
    return values.get("fiscal_year") or default_year, figures


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
    year, figures = row_figures(v, handler.options.year)
    if figures:
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
    changing, pending = [], {}
    for row in rows:
        c: Correction = row.staged
        if c.values or c.contact is not None or c.metrics is not None:
            _change(c, pending)
            changing.append(row)
        else:
            row.outcome = "unchanged"
    if not changing:
        return
    db.session.flush()  # the new contacts and years' figures
    _update_in_bulk(pending)
    events: list[dict[str, Any]] = []
    handler.collected = []
    try:
        for row in changing:
            row.outcome = _record(handler, row, events)
        audit.record_many(events, actor_id=handler.actor.id,
                          summary=f"导入任务 #{handler.job_id}" if handler.job_id else None)
        if handler.collected:
            insert_rows(ImportChange.__table__, handler.collected)
    finally:
        handler.collected = None


def _change(c: Correction, pending: dict[Any, dict[str, Any]]) -> None:
    """The row's values for its records: new ones are added (the flush writes them), the
    values that differ on stored ones wait in `pending` for the chunk's executemany UPDATE."""
    enterprise = c.enterprise
    before = audit.snapshot(enterprise, enterprises.ENTERPRISE_FIELDS)
    c.done["enterprise"] = (before, audit.changed_fields(before, {
        **before, **audit.snapshot(Values(c.values), list(c.values))}))
    if _set(pending, enterprise, c.values) and (
            {"name", "uscc"} & set(pending[enterprise]) or enterprise.name_pinyin is None):
        new = {k: pending[enterprise].get(k, getattr(enterprise, k)) for k in ("name", "uscc")}
        _set(pending, enterprise, derived_columns(new["name"], new["uscc"]))
    if c.contact is not None:
        contact, values = c.contact
        before = {}
        if contact is None:
            contact = Contact(enterprise=enterprise, **values)
            db.session.add(contact)
        else:
            before = audit.snapshot(contact, enterprises.CONTACT_FIELDS)
            _set(pending, contact, values)
        c.done["contact"] = (contact, before)
    if c.metrics is not None:
        year, figures, metrics = c.metrics
        values = {"source": "import", "period_months": FULL_YEAR_MONTHS}
        before = {}
        if metrics is None:
            metrics = AnnualMetrics(enterprise_id=enterprise.id, fiscal_year=year,
                                    **figures, **values)
            db.session.add(metrics)
        else:
            before = audit.snapshot(metrics, enterprises.METRIC_AUDIT_FIELDS)
            if metrics.is_partial:  # full-year figures replace a partial year entirely
                values.update(dict.fromkeys(enterprises.METRIC_FIELDS))
            _set(pending, metrics, {**values, **figures})
        c.done["metrics"] = (metrics, before)


def _set(pending: dict[Any, dict[str, Any]], record: Any, values: dict[str, Any]) -> bool:
    """Keep the values that differ from the record's (what an ORM flush would write)."""
    differ = {k: v for k, v in values.items() if getattr(record, k) != v}
    if differ:
        pending.setdefault(record, {}).update(differ)
    return record in pending


def _update_in_bulk(pending: dict[Any, dict[str, Any]]) -> None:
    """One executemany UPDATE per table and set of columns, as the ORM's flush would write
    them row by row: checked against each record's version and bumping it, with updated_at,
    the session's records brought up to date and their firms told to the after-save pipeline.
    """
    shapes: dict[tuple[type, tuple[str, ...]], list[Any]] = {}
    for record, values in pending.items():
        shapes.setdefault((type(record), tuple(sorted(values))), []).append(record)
    now = now_utc()
    for (model, keys), records in shapes.items():
        table = model.__table__
        stamped = "updated_at" in table.c
        sets: dict[str, Any] = {k: bindparam(f"v_{k}") for k in keys}
        sets["version"] = table.c.version + 1
        if stamped:
            sets["updated_at"] = bindparam("v_updated_at")
        statement = update(table).where(table.c.id == bindparam("b_id"),
                                        table.c.version == bindparam("b_version")).values(sets)
        params = [{"b_id": r.id, "b_version": r.version, "v_updated_at": now,
                   **{f"v_{k}": pending[r][k] for k in keys}} for r in records]
        if not stamped:
            for p in params:
                del p["v_updated_at"]
        result = db.session.execute(statement, params)
        if db.session.get_bind().dialect.supports_sane_multi_rowcount \
                and result.rowcount != len(params):
            raise StaleDataError(f"UPDATE of {table.name} matched {result.rowcount} of "
                                 f"{len(params)} rows: another writer changed them")
        if model is Enterprise and "zone" in keys:  # as a form's save records it
            from tracker.dashboard.redo import add_zone_moves

            add_zone_moves([(r.id, r.zone, pending[r]["zone"]) for r in records])
        for record in records:
            for key in keys:
                set_committed_value(record, key, pending[record][key])
            set_committed_value(record, "version", record.version + 1)
            if stamped:
                set_committed_value(record, "updated_at", now)
            changes.touch(record.id if model is Enterprise else record.enterprise_id)


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
