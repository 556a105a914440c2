"""Tenancy lists: stays at carriers opened or brought in line, proposals noted for undo."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tracker.accounts.scope import carrier_scope
from tracker.audit import services as audit
from tracker.errors import FieldError
from tracker.extensions import db
from tracker.imports import columns, writers
from tracker.imports.handlers.base import Handler, Reject, Row, fold
from tracker.incubation.models import Carrier, Tenancy
from tracker.messages import Message


class TenancyHandler(Handler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Only carriers in the user's scope can be named: zone staff neither register a stay at
        # another zone's carrier nor learn which names exist there (the shell sees them all).
        carriers = select(Carrier.name, Carrier.id)
        if self.user is not None:
            carriers = carriers.where(carrier_scope(self.user))
        self.carriers = {fold(name): id_ for name, id_ in db.session.execute(carriers)}

    def duplicate_key(self, row: Row) -> Any:
        return (row.values.get("uscc"), fold(row.values.get("carrier") or ""))

    def preload(self, rows: list[Row]) -> None:
        """The chunk's firms and each one's latest stay per carrier (once per file)."""
        super().preload(rows)
        self.latest: dict[tuple[int, int], Tenancy] = {}
        ids = [e.id for e in self.enterprises.values()]
        if ids:
            for t in db.session.scalars(select(Tenancy).where(Tenancy.enterprise_id.in_(ids))
                                        .order_by(Tenancy.moved_in_on, Tenancy.id)):
                self.latest[(t.enterprise_id, t.carrier_id)] = t

    def check(self, row: Row) -> None:
        v = row.values
        if v.get("carrier") and fold(v["carrier"]) not in self.carriers:
            row.error("carrier", Message("未找到名为「%(carrier)s」的孵化载体"
                                         "（或不在您的管辖范围内），"
                                         "请核对名称或请区科技局先登记该载体",
                                         carrier=v["carrier"]))
        moved, ended = v.get("moved_in_on"), v.get("ended_on")
        if moved and ended and ended < moved:
            row.error("ended_on", Message("毕业/退出日期（%(ended)s）早于入驻日期（%(moved)s）",
                                              ended=ended, moved=moved))
        term = v.get("term_ends_on")
        if moved and term and term <= moved:
            row.error("term_ends_on", Message("孵化期满日期（%(term)s）应晚于入驻日期（%(moved)s）",
                                                  term=term, moved=moved))
        if v.get("status") == "graduated" and "graduation_basis" not in v:
            row.error("graduation_basis", Message("已毕业的企业需要填写毕业依据"), label="毕业依据")

    def apply(self, row: Row) -> str:
        v = row.values
        enterprise = self.registered(row)
        carrier_id = self.carriers[fold(v["carrier"])]
        data = {f.attr: v[f.key] for f in columns.TENANCY_FIELDS
                if f.group == "tenancy" and f.key in v}
        existing = self.latest.get((enterprise.id, carrier_id))
        how = {"official_list": self.options.official_list, "user": self.user}
        try:
            if existing is None:  # the incubation service defaults the term and the status
                carrier = db.session.get(Carrier, carrier_id)
                write = writers.open_tenancy(enterprise, carrier, data, **how)
                tenancy = write.tenancy
                self.note(row, "tenancy", tenancy, "create", {},
                          audit.snapshot(tenancy, writers.TENANCY_FIELDS), enterprise.id)
            else:
                before = audit.snapshot(existing, writers.TENANCY_FIELDS)
                write = writers.update_tenancy(existing, data, **how)
                if write.changes:
                    self.note_update(row, "tenancy", existing, before, write.changes,
                                     enterprise.id)
        except FieldError as exc:
            self.service_errors(row, exc, "tenancy")
            raise Reject from None
        if write.proposal is not None:  # noted so that undoing the import withdraws it
            self.note(row, "tenancy_proposal", write.proposal, "create", {},
                      audit.snapshot(write.proposal, writers.PROPOSAL_FIELDS), enterprise.id)
        if existing is None:
            return "created"
        return "updated" if write.changes or write.proposal is not None else "unchanged"

