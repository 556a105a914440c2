"""Merging two records of one firm, and undoing the merge from what was recorded.

Every child row (contacts, yearly figures, titles, applications, tenancies, stage moves,
reminders, sent mail, activities, filings, audit history) moves to the survivor; where both
sides hold the one row a unique key allows (the same fiscal year's figures, the same filing)
the chosen side's row stays and the other is kept whole in the merge record. The merged-away
record is archived and points at the survivor; it is never deleted, so an undo can move every
row back and restore both records field by field.

Services flush; the caller commits once, and the after-save pipeline (tracker.changes) then
recomputes both firms' eligibility and reminders.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Date, DateTime, Numeric, Table, and_, delete, insert, or_, select, update

from tracker import changes
from tracker.audit import services as audit
from tracker.audit.models import AuditEvent
from tracker.bulk.models import MergeRecord
from tracker.clock import now_utc
from tracker.enterprises import services as enterprises
from tracker.enterprises.models import Activity, AnnualMetrics, Contact, Enterprise
from tracker.errors import FieldError
from tracker.extensions import db
from tracker.incubation.models import Tenancy
from tracker.ladder import services as ladder
from tracker.ladder.models import Application, Qualification, StageTransition
from tracker.reminders.models import Filing, OutboxMessage, Reminder

#: fields a bureau user picks per side on the merge form (the status follows the survivor)
MERGE_FIELDS = (
    "name", "uscc", "zone", "street", "founded_on", "tech_field", "industry_tags", "officer_id",
    "address", "website", "description", "registered_in_tianjin", "resident_enterprise",
    "restricted_industry", "integrity_record_clean", "honours", "innovation_score",
)
#: fields an undo writes back on each record (derived keys follow through the mapper events)
RESTORED_FIELDS = (*MERGE_FIELDS, "uscc_override_reason", "status", "merged_into_id",
                   "current_rung")

#: child tables and the column naming the firm; every one is moved (and moved back)
CHILD_TABLES: tuple[tuple[type, str], ...] = (
    (Contact, "enterprise_id"), (AnnualMetrics, "enterprise_id"), (Activity, "enterprise_id"),
    (Qualification, "enterprise_id"), (Application, "enterprise_id"),
    (Tenancy, "enterprise_id"), (StageTransition, "enterprise_id"),
    (Reminder, "enterprise_id"), (OutboxMessage, "enterprise_id"), (Filing, "enterprise_id"),
    (AuditEvent, "enterprise_id"),
)
#: child tables with a unique key per firm: (model, the key's other columns)
UNIQUE_PER_FIRM: tuple[tuple[type, tuple[str, ...]], ...] = (
    (AnnualMetrics, ("fiscal_year",)), (Filing, ("kind", "year")),
)


class MergeError(FieldError):
    """A merge or undo refused, with a message a bureau user can act on."""


# --- rows as JSON and back ------------------------------------------------------------------

def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def row_dict(table: Table, row: Any) -> dict[str, Any]:
    """One row (a Row or a model instance) as JSON-ready values of every column."""
    mapping = row._mapping if hasattr(row, "_mapping") else None
    return {c.key: _plain(mapping[c] if mapping is not None else getattr(row, c.key))
            for c in table.columns}


def row_values(table: Table, data: dict[str, Any]) -> dict[str, Any]:
    """row_dict's output turned back into column values (dates, times, decimals)."""
    values: dict[str, Any] = {}
    for column in table.columns:
        if column.key not in data:
            continue
        value = data[column.key]
        kind = getattr(column.type, "impl", column.type)  # through TypeDecorators (UTCDateTime)
        if value is not None and isinstance(value, str):
            if isinstance(kind, DateTime):
                value = datetime.fromisoformat(value)
            elif isinstance(kind, Date):
                value = date.fromisoformat(value)
            elif isinstance(kind, Numeric):
                value = Decimal(value)
        values[column.key] = value
    return values


def _table(model: type) -> Table:
    return model.__table__  # type: ignore[attr-defined]


# --- merge -----------------------------------------------------------------------------------

def conflicting_years(survivor_id: int, loser_id: int) -> list[int]:
    """Fiscal years with figures on both records: the merge form asks which side wins."""
    a, b = _table(AnnualMetrics).alias("a"), _table(AnnualMetrics).alias("b")
    return list(db.session.scalars(
        select(a.c.fiscal_year).join(b, a.c.fiscal_year == b.c.fiscal_year)
        .where(a.c.enterprise_id == survivor_id, b.c.enterprise_id == loser_id)
        .order_by(a.c.fiscal_year)))


def overlapping_tenancies(survivor_id: int, loser_id: int) -> list[tuple[int, int]]:
    """Pairs of stays (survivor's, loser's) that overlap: one firm is at one carrier at a time."""
    a, b = _table(Tenancy).alias("a"), _table(Tenancy).alias("b")
    far = date(9999, 12, 31)
    a_end = db.func.coalesce(a.c.ended_on, far)
    b_end = db.func.coalesce(b.c.ended_on, far)
    return [tuple(r) for r in db.session.execute(
        select(a.c.id, b.c.id).join(b, and_(a.c.moved_in_on < b_end, b.c.moved_in_on < a_end))
        .where(a.c.enterprise_id == survivor_id, b.c.enterprise_id == loser_id))]


def _check_mergeable(survivor: Enterprise, loser: Enterprise) -> None:
    if survivor.id == loser.id:
        raise MergeError({"survivor": _("请选择两条不同的企业记录")})
    for firm in (survivor, loser):
        if firm.merged_into_id is not None:
            raise MergeError({"survivor": _("%(name)s 已被合并，请先撤销那次合并",
                                            name=firm.name)})
    if overlapping := overlapping_tenancies(survivor.id, loser.id):
        pairs = "、".join(f"#{a}/#{b}" for a, b in overlapping)
        raise MergeError({"tenancies": _(
            "两条记录的入驻期间重叠（%(pairs)s）：同一企业同一时间只能在一个载体，"
            "请先更正入驻记录再合并", pairs=pairs)})


def _placeholder_uscc(enterprise_id: int) -> str:
    """A code no real firm has (fails the check), for a merged-away record whose code moved."""
    return f"M{enterprise_id:017d}"


def _ladder_rows(ids: list[int]) -> list[dict[str, Any]]:
    table = _table(StageTransition)
    return [row_dict(table, r) for r in db.session.execute(
        select(table).where(table.c.chain == "ladder", table.c.enterprise_id.in_(ids))
        .order_by(table.c.id))]


def merge_enterprises(survivor: Enterprise, loser: Enterprise, choices: dict[str, str], *,
                      user: Any = None) -> MergeRecord:
    """Merge `loser` into `survivor`; `choices` maps MERGE_FIELDS (and "year:<fy>") to a side.

    A field or year not named keeps the survivor's value. Refused (MergeError) when either
    record was merged already or their stays at carriers overlap.
    """
    _check_mergeable(survivor, loser)
    db.session.flush()
    batch_id = uuid.uuid4().hex
    firms = _table(Enterprise)
    record = MergeRecord(
        survivor_id=survivor.id, loser_id=loser.id, batch_id=batch_id,
        actor_id=getattr(user, "id", None) or audit.current_actor_id(),
        choices={k: v for k, v in choices.items() if v in ("survivor", "loser")},
        survivor_before=row_dict(firms, survivor), loser_before=row_dict(firms, loser),
        ladder_before=_ladder_rows([survivor.id, loser.id]),
    )
    taken = {f: getattr(loser, f) for f in MERGE_FIELDS
             if choices.get(f) == "loser" and getattr(loser, f) != getattr(survivor, f)}
    if "uscc" in taken:
        taken["uscc_override_reason"] = loser.uscc_override_reason
    with audit.batch(batch_id):
        removed = _resolve_unique_conflicts(survivor.id, loser.id, choices)
        moved = _move_children(loser.id, survivor.id)
        db.session.expire_all()  # the rows moved under the ORM's feet
        if "uscc" in taken:  # the code moves: the merged-away record gets one no firm has
            loser.uscc = _placeholder_uscc(loser.id)
            loser.uscc_override_reason = None
            db.session.flush()
        if taken:
            enterprises.update_enterprise(survivor, taken, expected_version=None, user=user)
        loser.merged_into_id = survivor.id
        enterprises.set_archived(loser, True, expected_version=None,
                                 reason=_("已合并到 %(name)s", name=survivor.name))
        record.moved, record.removed = moved, removed
        db.session.add(record)
        db.session.flush()
        for firm in (survivor, loser):
            ladder.rebuild_ladder_history(firm, source="merge")
        summary = _("合并：%(loser)s（#%(lid)d）并入 %(survivor)s（#%(sid)d）",
                    loser=loser.name, lid=loser.id, survivor=survivor.name, sid=survivor.id)
        moved_counts = {table: [0, len(ids)] for table, ids in moved.items() if ids}
        audit.record("enterprise", survivor.id, "merge", moved_counts,
                     enterprise_id=survivor.id, summary=summary)
        audit.record("enterprise", loser.id, "merge",
                     {"merged_into_id": [None, survivor.id]}, enterprise_id=loser.id,
                     summary=summary)
    changes.touch(survivor.id)
    changes.touch(loser.id)
    return record


def _resolve_unique_conflicts(survivor_id: int, loser_id: int, choices: dict[str, str]
                              ) -> dict[str, list[dict[str, Any]]]:
    """Remove the losing row of each unique clash, keeping it whole for the record."""
    removed: dict[str, list[dict[str, Any]]] = {}
    for model, key in UNIQUE_PER_FIRM:
        table = _table(model)
        mine, theirs = table.alias("mine"), table.alias("theirs")
        pairs = db.session.execute(
            select(mine, theirs.c.id.label("their_id"))
            .join(theirs, and_(*(mine.c[k] == theirs.c[k] for k in key)))
            .where(mine.c.enterprise_id == survivor_id, theirs.c.enterprise_id == loser_id))
        doomed: list[int] = []
        for row in pairs.all():
            side = (choices.get(f"year:{row._mapping[mine.c.fiscal_year]}", "survivor")
                    if model is AnnualMetrics else "survivor")
            if side == "loser":
                removed.setdefault(table.name, []).append(
                    row_dict(table, db.session.execute(
                        select(table).where(table.c.id == row._mapping[mine.c.id])).one()))
                doomed.append(row._mapping[mine.c.id])
            else:
                their_id = row._mapping["their_id"]
                removed.setdefault(table.name, []).append(
                    row_dict(table, db.session.execute(
                        select(table).where(table.c.id == their_id)).one()))
                doomed.append(their_id)
        if doomed:
            db.session.execute(delete(table).where(table.c.id.in_(doomed)))
    return removed


def _move_children(from_id: int, to_id: int) -> dict[str, list[int]]:
    """Point every child row of one firm at the other; returns the ids moved per table."""
    moved: dict[str, list[int]] = {}
    for model, column in CHILD_TABLES:
        table = _table(model)
        ids = list(db.session.scalars(select(table.c.id).where(table.c[column] == from_id)
                                      .order_by(table.c.id)))
        if ids:
            db.session.execute(update(table).where(table.c.id.in_(ids))
                               .values({column: to_id}))
        moved[table.name] = ids
    return moved


# --- undo ------------------------------------------------------------------------------------

def later_merge(record: MergeRecord) -> MergeRecord | None:
    """A merge made after this one that still stands and touches either firm."""
    ids = (record.survivor_id, record.loser_id)
    return db.session.scalar(
        select(MergeRecord).where(
            MergeRecord.id > record.id, MergeRecord.undone_at.is_(None),
            or_(MergeRecord.survivor_id.in_(ids), MergeRecord.loser_id.in_(ids)))
        .order_by(MergeRecord.id).limit(1))


def undo_merge(record: MergeRecord, *, user: Any = None) -> None:
    """Put both records back as they were and move every recorded row back to the loser.

    Rows added to the survivor since the merge stay with it; rows since deleted stay deleted.
    """
    if record.undone_at is not None:
        raise MergeError({"merge": _("这次合并已经撤销")})
    if later := later_merge(record):
        raise MergeError({"merge": _("之后还有一次涉及这些企业的合并（#%(id)d），请先撤销它",
                                     id=later.id)})
    survivor = db.session.get(Enterprise, record.survivor_id)
    loser = db.session.get(Enterprise, record.loser_id)
    if survivor is None or loser is None or loser.merged_into_id != survivor.id:
        raise MergeError({"merge": _("企业记录已变化，无法撤销这次合并")})
    codes = {record.survivor_before["uscc"], record.loser_before["uscc"]}
    clash = db.session.scalar(select(Enterprise.name).where(
        Enterprise.uscc.in_(codes), Enterprise.id.not_in((survivor.id, loser.id))))
    if clash:
        raise MergeError({"merge": _("统一社会信用代码已被 %(name)s 使用，无法撤销", name=clash)})
    db.session.flush()
    with audit.batch(record.batch_id):
        for model, column in CHILD_TABLES:
            table = _table(model)
            ids = record.moved.get(table.name) or []
            for start in range(0, len(ids), 500):
                db.session.execute(update(table).where(
                    table.c.id.in_(ids[start:start + 500]), table.c[column] == survivor.id)
                    .values({column: loser.id}))
        for name, rows in (record.removed or {}).items():
            table = db.metadata.tables[name]
            db.session.execute(insert(table), [row_values(table, r) for r in rows])
        transitions = _table(StageTransition)
        db.session.execute(delete(transitions).where(
            transitions.c.chain == "ladder",
            transitions.c.enterprise_id.in_((survivor.id, loser.id))))
        if record.ladder_before:
            db.session.execute(insert(transitions),
                               [row_values(transitions, r) for r in record.ladder_before])
        db.session.expire_all()
        if loser.uscc == _placeholder_uscc(loser.id):  # the survivor frees the loser's code
            restored = {survivor.id: _restore(survivor, record.survivor_before)}
            restored[loser.id] = _restore(loser, record.loser_before)
        else:
            restored = {loser.id: _restore(loser, record.loser_before)}
            restored[survivor.id] = _restore(survivor, record.survivor_before)
        for firm in (survivor, loser):
            ladder.rebuild_ladder_history(firm, source="merge")
        record.undone_at = now_utc()
        record.undone_by_id = getattr(user, "id", None) or audit.current_actor_id()
        db.session.flush()
        summary = _("撤销合并 #%(id)d：%(loser)s 与 %(survivor)s 恢复为两条记录",
                    id=record.id, loser=loser.name, survivor=survivor.name)
        for firm in (survivor, loser):
            audit.record("enterprise", firm.id, "unmerge", restored[firm.id],
                         enterprise_id=firm.id, summary=summary)
    changes.touch(survivor.id)
    changes.touch(loser.id)


def _restore(firm: Enterprise, before: dict[str, Any]) -> dict[str, list[Any]]:
    """Write the recorded fields back; returns what changed, for the audit event."""
    values = row_values(_table(Enterprise), {k: before[k] for k in RESTORED_FIELDS if k in before})
    changed = audit.apply_changes(firm, values, (*enterprises.ENTERPRISE_FIELDS,
                                                 "merged_into_id"))
    db.session.flush()
    return changed
