"""Bulk actions on firms picked from the list: assign an officer, archive, export, apply.

Each goes through the service that owns the record (so the audit, the rung and the after-save
pipeline follow exactly as for one firm), is limited to the firms the user may edit — an id
outside that scope refuses the whole request, it is never silently skipped — and records all
its audit events under one batch id.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from tracker.accounts.scope import enterprise_edit_scope
from tracker.accounts.services import active_officers
from tracker.audit import services as audit
from tracker.enterprises import services as enterprises
from tracker.enterprises.models import Enterprise
from tracker.errors import FieldError
from tracker.extensions import db
from tracker.ladder import services as ladder

#: most firms one request may act on (a page of the list is at most 100)
MAX_IDS = 200
ACTIONS = ("assign", "archive", "export", "apply")


class BulkError(FieldError):
    """The request as a whole was refused; nothing was changed."""


def parse_ids(raw: Iterable[str]) -> list[int]:
    """Distinct positive ids in the order given; refuses junk and too many."""
    ids: list[int] = []
    for value in raw:
        value = (value or "").strip()
        if not value.isdigit() or int(value) <= 0 or len(value) > 12:
            raise BulkError({"ids": _("企业编号无效")})
        if int(value) not in ids:
            ids.append(int(value))
    if not ids:
        raise BulkError({"ids": _("请先勾选企业")})
    if len(ids) > MAX_IDS:
        raise BulkError({"ids": _("一次最多处理 %(max)d 家企业，已选 %(n)d 家",
                                  max=MAX_IDS, n=len(ids))})
    return ids


def editable_firms(user: Any, ids: list[int]) -> list[Enterprise]:
    """The firms, all of them editable by `user`; else BulkError naming how many are not."""
    firms = {e.id: e for e in db.session.scalars(
        select(Enterprise).where(enterprise_edit_scope(user), Enterprise.id.in_(ids)))}
    refused = [i for i in ids if i not in firms]
    if refused:
        raise BulkError({"ids": _("其中 %(n)d 家企业不在您可修改的范围内（或已不存在），"
                                  "未执行任何操作", n=len(refused))})
    return [firms[i] for i in ids]


def new_batch() -> str:
    return uuid.uuid4().hex


def assign_officer(firms: list[Enterprise], officer_id: int | None, *, user: Any,
                   batch_id: str) -> int:
    """Set the liaison officer of each firm (None: none); returns how many changed."""
    if officer_id is not None and officer_id not in {u.id for u in active_officers()}:
        raise BulkError({"officer_id": _("请选择有效的联系专员")})
    changed = 0
    with audit.batch(batch_id):
        for firm in firms:
            if enterprises.update_enterprise(firm, {"officer_id": officer_id},
                                             expected_version=None, user=user):
                changed += 1
    return changed


def archive(firms: list[Enterprise], reason: str, *, batch_id: str) -> int:
    """Archive each active firm (restorable one by one); returns how many were archived."""
    changed = 0
    with audit.batch(batch_id):
        for firm in firms:
            if not firm.archived:
                enterprises.set_archived(firm, True, expected_version=None, reason=reason)
                changed += 1
    return changed


def record_export(firms: list[Enterprise], *, batch_id: str) -> None:
    """An export of named firms leaves a trace on each (who took their data, when)."""
    with audit.batch(batch_id):
        for firm in firms:
            audit.record("enterprise", firm.id, "export", {}, enterprise_id=firm.id,
                         summary=_("批量导出（%(n)d 家）", n=len(firms)))


def start_applications(firms: list[Enterprise], data: dict[str, Any], *, user: Any,
                       batch_id: str) -> int:
    """Open one application (申报) of the same kind, year and batch for each firm."""
    with audit.batch(batch_id):
        for firm in firms:
            ladder.create_application(firm, data, actor_id=getattr(user, "id", None))
    return len(firms)
