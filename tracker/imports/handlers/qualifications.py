"""Qualification lists: titles granted to registered firms, or corrected when already held."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tracker.audit import services as audit
from tracker.errors import FieldError
from tracker.extensions import db
from tracker.imports import writers
from tracker.imports.handlers.base import Handler, Reject, Row
from tracker.ladder.models import Qualification
from tracker.messages import Message


class QualificationHandler(Handler):
    def kind_of(self, row: Row) -> str | None:
        v = row.values
        if v.get("kind"):
            return v["kind"]
        if self.options.qualification_kind:
            return self.options.qualification_kind
        number = (v.get("number") or "").upper()
        if number.startswith("GR"):  # HNTE certificates: GR + year + province + serial (§2.4)
            return "hnte"
        return None

    def duplicate_key(self, row: Row) -> Any:
        return (row.values.get("uscc"), self.kind_of(row))

    def preload(self, rows: list[Row]) -> None:
        """The chunk's firms and the titles they hold (a firm and kind come once per file)."""
        super().preload(rows)
        self.held: dict[tuple[int, str], list[Qualification]] = {}
        ids = [e.id for e in self.enterprises.values()]
        if ids:
            for q in db.session.scalars(select(Qualification).where(
                    Qualification.enterprise_id.in_(ids))):
                self.held.setdefault((q.enterprise_id, q.kind), []).append(q)

    def check(self, row: Row) -> None:
        v = row.values
        if self.kind_of(row) is None:
            row.error("kind", Message("无法确定资质类型：请增加“资质类型”列，"
                                      "或在导入时选择名单类型"),
                      label="资质类型")
        if not v.get("granted_on"):
            row.error("granted_on", Message("缺少发证日期（认定/入库日期）"), label="发证日期")
        granted, until = v.get("granted_on"), v.get("valid_until")
        if granted and until and until < granted:
            row.error("valid_until", Message("有效期至（%(until)s）早于发证日期（%(granted)s）",
                                                 until=until, granted=granted))
        revoked = v.get("revoked_on")
        if granted and revoked and revoked < granted:
            row.error("revoked_on", Message("撤销日期（%(revoked)s）早于发证日期（%(granted)s）",
                                                revoked=revoked, granted=granted))

    def apply(self, row: Row) -> str:
        v = row.values
        enterprise = self.registered(row)
        kind = self.kind_of(row)
        data: dict[str, Any] = {"kind": kind, "granted_on": v["granted_on"]}
        for key in ("number", "valid_until", "batch", "revoked_on", "revoked_reason"):
            if key in v:
                data[key] = v[key]
        held = self.held.get((enterprise.id, kind), [])
        match = None
        if data.get("number"):
            match = next((q for q in held if q.number == data["number"]), None)
        match = match or next((q for q in held if q.granted_on == data["granted_on"]), None)
        if match is None:
            try:
                qualification = writers.grant_qualification(enterprise, data)
            except FieldError as exc:
                self.service_errors(row, exc, "qualification")
                raise Reject from None
            self.note(row, "qualification", qualification, "create", {},
                      audit.snapshot(qualification, writers.QUALIFICATION_FIELDS), enterprise.id)
            return "created"
        try:
            return self.correct(row, "qualification", match, writers.QUALIFICATION_FIELDS,
                                writers.update_qualification, data, enterprise.id)
        except FieldError as exc:
            self.service_errors(row, exc, "qualification")
            raise Reject from None

