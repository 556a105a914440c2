"""Enterprise lists: new firms registered per chunk, firms on file corrected with their contact
and the year's figures."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tracker import changes
from tracker.audit import services as audit
from tracker.bulk_insert import insert_rows
from tracker.clock import now_utc
from tracker.enterprises import services as enterprises
from tracker.enterprises.models import AnnualMetrics, Contact, Enterprise, derived_columns
from tracker.enterprises.zones import ZONES
from tracker.errors import FieldError
from tracker.extensions import db
from tracker.imports import columns, plausibility
from tracker.imports.handlers.base import Handler, Reject, Row, Values
from tracker.imports.handlers.corrections import (
    Correction,
    contact_data,
    match_contact,
    row_figures,
    stage_correction,
    write_corrections,
)
from tracker.imports.models import ImportChange
from tracker.messages import Message


class EnterpriseHandler(Handler):
    def preload(self, rows: list[Row]) -> None:
        """The chunk's firms with their contacts and the years' figures (a firm comes once)."""
        super().preload(rows)
        self.contacts: dict[int, list[Contact]] = {}
        self.metrics: dict[tuple[int, int], AnnualMetrics] = {}
        ids = [e.id for e in self.enterprises.values()]
        if not ids:
            return
        for contact in db.session.scalars(select(Contact).where(Contact.enterprise_id.in_(ids))
                                          .order_by(Contact.id)):
            self.contacts.setdefault(contact.enterprise_id, []).append(contact)
        years = {r.values.get("fiscal_year") or self.options.year for r in rows}
        years |= {y - 1 for y in years}  # the previous year, for plausibility
        for metrics in db.session.scalars(select(AnnualMetrics).where(
                AnnualMetrics.enterprise_id.in_(ids), AnnualMetrics.fiscal_year.in_(years))):
            self.metrics[(metrics.enterprise_id, metrics.fiscal_year)] = metrics

    def check(self, row: Row) -> None:
        v = row.values
        # the service's own rules, so a dry run refuses exactly what saving would
        metrics = {f.attr: v[f.key] for f in columns.ENTERPRISE_FIELDS
                   if f.group == "metrics" and f.key in v}
        for attr, message in enterprises.metric_errors(metrics, v.get("fiscal_year")).items():
            key = next((f.key for f in columns.ENTERPRISE_FIELDS if f.attr == attr), attr)
            row.error(key, message)
        if problem := enterprises.founded_on_error(v.get("founded_on")):
            row.error("founded_on", problem)
        contact_keys = [k for k in ("contact_title", "contact_phone", "contact_email") if k in v]
        if contact_keys and not v.get("contact_name"):
            row.error("contact_name", Message("填写了联系人电话或邮箱，但缺少联系人姓名"),
                      label="联系人")

    def apply(self, row: Row) -> str:
        v, actor = row.values, self.actor
        data = {f.attr: v[f.key] for f in columns.ENTERPRISE_FIELDS
                if f.group == "enterprise" and f.key in v}
        enterprise = self.enterprises.get(v["uscc"])
        outcome = "unchanged"
        if actor.is_zone and actor.zone not in ZONES:
            row.error("zone", Message("您的账号没有设置所属区域，请联系管理员"), label="所属区域")
            raise Reject
        if enterprise is None:
            if actor.is_zone:
                data.setdefault("zone", actor.zone)
            if not data.get("name"):
                row.error("name", Message("新登记的企业必须填写企业名称"), label="企业名称")
            if v["uscc"] in self.elsewhere:
                row.error("uscc", Message("该企业已由其他区域登记，您无权修改"))
                raise Reject
            if not data.get("zone"):
                row.error("zone", Message("新登记的企业必须填写所属区域"), label="所属区域")
            if row.errors:
                raise Reject
            try:
                enterprise = enterprises.create_enterprise({**data, "uscc": v["uscc"]},
                                                           user=self.user)
            except FieldError as exc:
                self.service_errors(row, exc, "enterprise")
                raise Reject from None
            self.enterprises[enterprise.uscc] = enterprise
            self.note(row, "enterprise", enterprise, "create", {},
                      audit.snapshot(enterprise, enterprises.ENTERPRISE_FIELDS), enterprise.id)
            outcome = "created"
        else:
            before = audit.snapshot(enterprise, enterprises.ENTERPRISE_FIELDS)
            try:
                changes = enterprises.update_enterprise(enterprise, data, expected_version=None,
                                                        user=self.user)
            except FieldError as exc:
                self.service_errors(row, exc, "enterprise")
                raise Reject from None
            if changes:
                self.note_update(row, "enterprise", enterprise, before, changes, enterprise.id)
                outcome = "updated"
        fresh = outcome == "created"
        if self._contact(row, enterprise, fresh) and outcome == "unchanged":
            outcome = "updated"
        if self._metrics(row, enterprise, fresh) and outcome == "unchanged":
            outcome = "updated"
        return outcome

    def prepare(self, row: Row) -> None:
        """The firm stage() registers if the row's code is new, worked out ahead: cleaning, the
        service's checks and the name's pinyin keys are most of a new firm's Python."""
        row.ahead = self._new_firm(row)

    def stage(self, row: Row) -> bool:
        """A row whose every check passes here is written with its chunk.

        A new firm is registered with the chunk's other new firms (multi-row INSERTs); a firm
        on file is corrected with the chunk's other firms on file (corrections.py).
        """
        code, actor = row.values["uscc"], self.actor
        if actor.is_zone and actor.zone not in ZONES:
            return False
        if code in self.enterprises:
            row.staged = stage_correction(self, row, self.enterprises[code])
            return row.staged is not None
        if code in self.elsewhere or row.ahead is None:
            return False
        firm = row.staged = row.ahead
        if firm.metrics is not None:
            year, figures, _source = firm.metrics
            self.warn_implausible(row, None, year, None, figures)
        return True

    def _new_firm(self, row: Row) -> enterprises.NewFirm | None:
        """The row as a new firm with its contact and figures, if every check passes without
        the database (None: stage() leaves the row to apply(), which reports what is refused)."""
        v, actor = row.values, self.actor
        code = v["uscc"]
        data = {f.attr: v[f.key] for f in columns.ENTERPRISE_FIELDS
                if f.group == "enterprise" and f.key in v}
        if actor.is_zone:
            data.setdefault("zone", actor.zone)
        if not data.get("name") or not data.get("zone"):
            return None
        try:
            values = enterprises.prepare_enterprise({**data, "uscc": code}, user=self.user)
            contact = None
            if v.get("contact_name"):
                contact = contact_data(v)
                contact["receives_reminders"] = bool(contact.get("email"))
                contact = enterprises.contact_values(contact)
        except FieldError:
            return None
        if values["uscc"] != code:
            return None  # a code spelt differently from its stored form: checked row by row
        metrics = None
        year, figures = row_figures(v, self.options.year)
        if figures:
            if enterprises.metric_errors(figures, year):
                return None
            metrics = (year, figures, "import")
        return enterprises.NewFirm(values, contact, metrics,
                                   derived=derived_columns(values["name"], values["uscc"]))

    def write_staged(self, rows: list[Row]) -> None:
        corrections = [row for row in rows if isinstance(row.staged, Correction)]
        if corrections:
            write_corrections(self, corrections)
        rows = [row for row in rows if not isinstance(row.staged, Correction)]
        if rows:
            self._register(rows)

    def _register(self, rows: list[Row]) -> None:
        # a commit this big hands eligibility to workers, marking the firms stale: new firms
        # go in marked, so the commit has none of their rows (and index entries) to rewrite
        stale = now_utc() if changes.hands_off(len(rows)) else None
        enterprises.register_many([row.staged for row in rows], actor_id=self.actor.id,
                                  summary=f"导入任务 #{self.job_id}" if self.job_id else None,
                                  stale_since=stale)
        notes = []
        for row in rows:
            enterprise = row.staged.enterprise
            changes.touch(enterprise.id)  # no flush saw the bulk INSERTs
            notes.append(self.change(row, "enterprise", enterprise,
                                     row.staged.snapshots["enterprise"], enterprise.id))
        for row in rows:  # after every firm's note: undo deletes a firm's records before it
            firm = row.staged
            enterprise = firm.enterprise
            if firm.contact_row is not None:
                notes.append(self.change(row, "contact", firm.contact_row,
                                         firm.snapshots["contact"], enterprise.id))
            if firm.metrics_row is not None:
                notes.append(self.change(row, "metrics", firm.metrics_row, {
                    **firm.snapshots["metrics"], "fiscal_year": firm.metrics_row.fiscal_year},
                    enterprise.id))
        if not self.options.dry_run and self.job_id is not None:
            insert_rows(ImportChange.__table__, notes)
        for row in rows:
            self.enterprises[row.staged.enterprise.uscc] = row.staged.enterprise
            row.outcome = "created"

    def _contact(self, row: Row, enterprise: Enterprise, fresh: bool) -> bool:
        v = row.values
        if not v.get("contact_name"):
            return False
        data = contact_data(v)
        contact = match_contact([] if fresh else self.contacts.get(enterprise.id, []), data)
        fields = enterprises.CONTACT_FIELDS
        if contact is None:
            data["receives_reminders"] = bool(data.get("email"))
            try:
                contact = enterprises.save_contact(enterprise, data)
            except FieldError as exc:
                self.service_errors(row, exc, "contact")
                raise Reject from None
            after = audit.snapshot(contact, fields)
            if not fresh:  # a firm on file gains a contact: shown as new values
                self.preview_new(row, "contact", after)
            self.note(row, "contact", contact, "create", {}, after, enterprise.id)
            return True
        before = audit.snapshot(contact, fields)
        wanted = {**before, **{k: audit.snapshot(Values(data), [k])[k] for k in data}}
        if wanted == before:
            return False
        try:
            enterprises.save_contact(enterprise, {**{k: getattr(contact, k) for k in fields},
                                                  **data}, contact)
        except FieldError as exc:
            self.service_errors(row, exc, "contact")
            raise Reject from None
        after = audit.snapshot(contact, fields)
        changes = audit.changed_fields(before, after)
        if not changes:
            return False
        self.note_update(row, "contact", contact, before, changes, enterprise.id)
        return True

    def _metrics(self, row: Row, enterprise: Enterprise, fresh: bool) -> bool:
        v = row.values
        values = {f.attr: v[f.key] for f in columns.ENTERPRISE_FIELDS
                  if f.group == "metrics" and f.key in v}
        if not values:
            return False
        year = v.get("fiscal_year") or self.options.year
        fields = enterprises.METRIC_AUDIT_FIELDS
        existing = None if fresh else self.metrics.get((enterprise.id, year))
        before = audit.snapshot(existing, fields) if existing is not None else {}
        if existing is not None and not existing.is_partial:
            wanted = {**before, **audit.snapshot(Values(values), list(values))}
            if wanted == before:
                return False
        self.warn_implausible(row, enterprise.id, year, existing, values)
        try:
            metrics = enterprises.save_metrics(enterprise, year, values, source="import")
        except FieldError as exc:
            self.service_errors(row, exc, "metrics")
            raise Reject from None
        after = audit.snapshot(metrics, fields)
        if existing is None:
            if not fresh:  # a firm on file gains a year's figures: shown as new values
                self.preview_new(row, "metrics", after, year=year)
            self.note(row, "metrics", metrics, "create", {}, {**after, "fiscal_year": year},
                      enterprise.id)
            return True
        changes = audit.changed_fields(before, after)
        if changes:
            self.note_update(row, "metrics", metrics, before, changes, enterprise.id,
                             year=year)
        return bool(changes)

    def warn_implausible(self, row: Row, enterprise_id: int | None, year: int,
                      existing: AnnualMetrics | None, values: dict[str, Any]) -> None:
        """Warn about figures that are odd against the same year or the previous full year."""
        fields = enterprises.METRIC_FIELDS
        stored = {}  # a partial year is replaced as a whole, not merged with the file's figures
        if existing is not None and not existing.is_partial:
            stored = {f: getattr(existing, f) for f in fields}
        previous_row = self.metrics.get((enterprise_id, year - 1))
        previous = None
        if previous_row is not None and not previous_row.is_partial:
            previous = {f: getattr(previous_row, f) for f in fields}
        for finding in plausibility.check_year({**stored, **values}, values, previous=previous,
                                               previous_year=year - 1):
            key = next((f.key for f in columns.ENTERPRISE_FIELDS
                        if f.group == "metrics" and f.attr == finding.field
                        and f.key in row.values), finding.field)
            row.warn(key, finding.message)

