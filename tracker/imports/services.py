"""Import jobs: storing the upload, running the engine for a job, progress, undo.

Services flush; the view, task or CLI command commits once.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext
from sqlalchemy import Date, Numeric, delete, func, or_, select, update

from tracker.accounts.models import User
from tracker.audit import services as audit
from tracker.bulk.models import MergeRecord
from tracker.clock import now_utc
from tracker.enterprises.models import AnnualMetrics, Contact, Enterprise
from tracker.extensions import db
from tracker.imports import columns, engine
from tracker.imports.models import ImportChange, ImportJob, MappingPreset
from tracker.imports.reader import FileUnreadable, open_sheet
from tracker.incubation import services as incubation_services
from tracker.incubation.models import StatusProposal, Tenancy
from tracker.labels import AUDIT_LABELS
from tracker.ladder import services as ladder_services
from tracker.ladder.models import EligibilityResult, Qualification, StageTransition
from tracker.messages import Message, render, source_text, stored

ENTITY_MODELS = {"enterprise": Enterprise, "contact": Contact, "metrics": AnnualMetrics,
                 "qualification": Qualification, "tenancy": Tenancy,
                 "tenancy_proposal": StatusProposal}


#: tables whose rows point at a firm but that an undo may not delete along with it, by what a
#: person calls them; a table missing here still blocks the undo, under its table name
DEPENDANT_LABELS = {
    "reminders": "提醒记录", "reminder_filings": "报表报送记录",
    "reminder_outbox": "已发出的提醒邮件", "applications": "申报记录", "activities": "走访或备注",
    "tenant_reports": "在孵企业报送", "tenancy_proposals": "状态变更申请",
}
#: per kind of record an undo deletes, the referencing tables it handles itself: the import's
#: own rows (checked one by one) or what is derived and loosened in _detach_derived
_UNDO_HANDLED = {
    "enterprise": ("contacts", "annual_metrics", "qualifications", "tenancies",
                   "eligibility_results", "stage_transitions"),
    "qualification": ("stage_transitions",),
    "tenancy": ("stage_transitions", "tenancies"),
}


class UndoRefused(Exception):
    """The import cannot be undone safely; `rows` says which rows and why ({row, reason})."""

    def __init__(self, rows: list[dict[str, Any]]):
        self.rows = rows
        self.problems = [Message("第 %(row)s 行：%(reason)s", row=r["row"], reason=r["reason"])
                         if r.get("row") else r["reason"] for r in rows]
        super().__init__("; ".join(self.problems))


def upload_dir() -> Path:
    path = Path(current_app.config["UPLOAD_DIR"]) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def stored_file(job: ImportJob) -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / job.stored_path


def store_upload(stream, filename: str) -> str:
    """Save an uploaded file under UPLOAD_DIR; returns the path relative to UPLOAD_DIR."""
    suffix = Path(filename).suffix.lower()
    name = f"{uuid.uuid4().hex}{suffix}"
    target = upload_dir() / name
    with target.open("wb") as out:
        while chunk := stream.read(1 << 16):
            out.write(chunk)
    return f"imports/{name}"


def create_job(kind: str, stored_path: str, filename: str, *, user_id: int | None) -> ImportJob:
    """Read the header row of a stored file and make a job; FileUnreadable when it cannot."""
    if kind not in columns.KIND_FIELDS:
        raise ValueError(kind)
    path = Path(current_app.config["UPLOAD_DIR"]) / stored_path
    with open_sheet(path, engine.header_score(kind)) as sheet:
        headers = sheet.headers
        total = sheet.total
    limit = current_app.config.get("IMPORT_MAX_ROWS", 100_000)
    if total and total > limit:
        raise FileUnreadable(f"文件约有 {total:,} 行，超过单次导入上限 {limit:,} 行；"
                             "请拆分后分批导入")
    job = ImportJob(kind=kind, filename=filename[:255], stored_path=stored_path,
                    created_by_id=user_id, headers=headers,
                    options={"mapping": columns.auto_mapping(kind, headers),
                             "year": engine.default_year(), "estimated_rows": total or 0})
    db.session.add(job)
    db.session.flush()
    return job


def job_options(job: ImportJob, *, dry_run: bool) -> engine.Options:
    opts = job.options or {}
    return engine.Options(kind=job.kind, mapping=dict(opts.get("mapping") or {}),
                          year=int(opts.get("year") or engine.default_year()), dry_run=dry_run,
                          keep_valid=bool(opts.get("keep_valid")),
                          qualification_kind=opts.get("qualification_kind") or None,
                          official_list=bool(opts.get("official_list")),
                          accept_warnings=bool(opts.get("accept_warnings")))


def progress_path(job_id: int) -> Path:
    return upload_dir() / f"job-{job_id}.progress.json"


def write_progress(job_id: int, done: int, total: int | None) -> None:
    """Progress goes to a small file, not the database: the import's transaction is still open."""
    target = progress_path(job_id)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps({"done": done, "total": total}))
    os.replace(tmp, target)


def progress_seen(job_id: int) -> datetime | None:
    """When the worker last wrote progress: its sign of life while the transaction is open."""
    try:
        return datetime.fromtimestamp(progress_path(job_id).stat().st_mtime, UTC)
    except OSError:
        return None


def read_progress(job: ImportJob) -> dict[str, Any]:
    finished = job.status not in ("queued", "running")
    undoing = undo_pending(job)
    total = ((job.options or {}).get("undo_total") if undoing
             else (job.options or {}).get("estimated_rows")) or job.rows
    done = total if finished else 0
    path = progress_path(job.id)
    if not finished and path.exists():
        try:
            data = json.loads(path.read_text())
            done, total = data.get("done", 0), data.get("total") or total
        except (OSError, ValueError):
            pass
    return {"status": job.status, "done": done, "total": total, "finished": finished,
            "attempts": job.attempts,
            "undo": undoing,
            "counts": {k: v for k, v in job.counts().items() if k != "errors"},
            "error_count": len(job.errors or [])}


def _set_message(job: ImportJob, parts: list[Any]) -> None:
    """The job's summary: Chinese text in `message` (as before), ids and parameters in
    options["message"] so pages and the CLI show it in their reader's language."""
    job.message = "；".join(source_text(p) for p in parts) or None
    opts = dict(job.options or {})
    if parts:  # with the text it renders, so a message set later elsewhere (cancel) wins
        opts["message"] = {"text": job.message, "parts": [stored(p) for p in parts]}
    else:
        opts.pop("message", None)
    job.options = opts


def job_message(job: ImportJob) -> str | None:
    """The job's summary in the reader's language (a job stored before ids: as stored)."""
    kept = (job.options or {}).get("message")
    parts = kept.get("parts") if isinstance(kept, dict) and kept.get("text") == job.message \
        else None
    if not parts:
        return render(job.message) if job.message else None
    text = render(parts[0])
    for part in parts[1:]:  # whole sentences: English puts a space between them
        text = gettext("%(before)s；%(after)s", before=text, after=render(part))
    return text


def run_job(job_id: int, *, dry_run: bool, user: Any = None) -> ImportJob:
    """Run (or preview) a job through the engine and record the outcome on it."""
    job = db.session.get(ImportJob, job_id)
    if user is None and job.created_by_id is not None:
        user = db.session.get(User, job.created_by_id)
    options = job_options(job, dry_run=dry_run)
    path = stored_file(job)
    try:
        result = engine.run(path, options, user=user, job_id=job.id,
                            progress=lambda done, total: write_progress(job_id, done, total))
    except FileUnreadable as exc:
        job = db.session.get(ImportJob, job_id)
        job.status, job.finished_at = "failed", now_utc()
        _set_message(job, [exc.args[0] if exc.args else str(exc)])
        db.session.flush()
        return job
    job = db.session.get(ImportJob, job_id)  # the engine emptied the session
    job.dry_run = dry_run
    job.rows, job.valid = result.rows, result.valid
    job.created, job.updated, job.unchanged = result.created, result.updated, result.unchanged
    job.errors = result.errors
    job.warnings, job.preview = result.warnings, result.preview
    job.finished_at = now_utc()
    if dry_run:
        job.status = "previewed"
        _set_message(job, [])
    elif result.written:
        job.status = "done"
        _set_message(job, [Message("已导入 %(valid)s 行，跳过 %(skipped)s 行有错误的行",
                                   valid=result.valid, skipped=result.rows - result.valid)]
                     if result.error_count else [])
    else:
        job.status = "rejected"
        refusals = []
        if result.error_count and not options.keep_valid:
            refusals.append(Message("文件中有 %(n)s 行错误，按“全部或全不”规则没有导入任何一行；"
                                    "请修正后重新上传，或选择“只导入正确的行”",
                                    n=result.rows - result.valid))
        if result.held_for_warnings:
            refusals.append(Message("有 %(n)s 条数据可疑警告尚未确认，没有导入任何一行；"
                                    "请核对警告清单，确认无误后勾选“已核对上列可疑数据警告，仍要导入”再正式导入"
                                    "（命令行：--accept-warnings）", n=len(result.warnings)))
        _set_message(job, refusals)
    options_copy = dict(job.options or {})
    options_copy["estimated_rows"] = result.rows
    job.options = options_copy
    db.session.flush()
    path = progress_path(job_id)
    if path.exists():
        path.unlink()
    return job


def _restore_value(model, name: str, value: Any) -> Any:
    column = model.__table__.columns.get(name)
    if value is None or column is None:
        return value
    if isinstance(column.type, Date) and isinstance(value, str):
        return date.fromisoformat(value)
    if isinstance(column.type, Numeric) and not isinstance(value, Decimal):
        return Decimal(str(value))
    return value


def _matches(obj: Any, expected: dict[str, Any]) -> bool:
    fields = [k for k in expected if hasattr(obj, k) and k != "fiscal_year"]
    return audit.snapshot(obj, fields) == {k: expected[k] for k in fields}


def undo_pending(job: ImportJob) -> bool:
    """True while an undo of the job waits for or runs on the worker."""
    return job.status in ("queued", "running") and (job.options or {}).get("mode") == "undo"


def request_undo(job: ImportJob, *, user_id: int | None) -> int | None:
    """Undo now when the import is small (the count undone), else queue it for the worker (None).

    IMPORT_SYNC_UNDO (recorded changes) decides; the worker calls undo_job as the page does,
    so both refuse and explain in the same way. Raises UndoRefused (small jobs only).
    """
    if job.status != "done":
        raise UndoRefused([{"row": None, "reason": Message("只有已完成的导入才能撤销")}])
    total = db.session.scalar(select(func.count()).select_from(ImportChange)
                              .where(ImportChange.job_id == job.id)) or 0
    if total <= current_app.config["IMPORT_SYNC_UNDO"]:
        return undo_job(job, user_id=user_id)
    from tracker import jobs as job_states

    options = {k: v for k, v in (job.options or {}).items() if k != "undo_refused"}
    job.options = {**options, "mode": "undo", "undo_by": user_id, "undo_total": total}
    job_states.queue(job)  # the same state machine, reaper and retry as a queued import
    return None


def record_undo_refusal(job: ImportJob, refused: UndoRefused) -> None:
    """Keep why an undo was refused on the job, so its page lists the rows (also for the worker)."""
    if undo_pending(job):
        job.status = "done"
    options = {k: v for k, v in (job.options or {}).items() if k not in ("mode", "undo_by")}
    # each reason as its Chinese text plus id and parameters, shown in the reader's language
    job.options = {**options, "undo_refused": [
        {**r, "reason": source_text(r["reason"]), "reason_message": stored(r["reason"])}
        for r in refused.rows[:1000]]}
    db.session.flush()


def undo_job(job: ImportJob, *, user_id: int | None,
             progress: Callable[[int, int], None] | None = None) -> int:
    """Delete what the import created and put back what it changed.

    All or nothing: when any row cannot be undone (edited since, or its firm has records
    the undo may not delete) UndoRefused lists those rows with the reason and nothing changes.
    """
    if job.status != "done" and not undo_pending(job):
        raise UndoRefused([{"row": None, "reason": Message("只有已完成的导入才能撤销")}])
    changes = db.session.scalars(select(ImportChange).where(ImportChange.job_id == job.id)
                                 .order_by(ImportChange.id.desc())).all()
    created = {(c.entity_type, c.entity_id) for c in changes if c.action == "create"}
    stored = _load_changed(changes)
    problems: list[dict[str, Any]] = []
    merged = _merged_since(job, {c.enterprise_id for c in changes if c.enterprise_id})
    explained: set[int] = set()
    targets = []
    for change in changes:
        model = ENTITY_MODELS[change.entity_type]
        record = merged.get(change.enterprise_id)
        if record is not None:  # the merge moved these rows: undoing them would undo it half
            if change.row not in explained:
                explained.add(change.row)
                name = _firm_name(record, change.enterprise_id)
                problems.append({"row": change.row, "merge_id": record.id, "reason": Message(
                    "导入的企业「%(name)s」之后已与另一条企业记录合并（合并记录 #%(merge)s），"
                    "不能撤销；请先撤销该合并", name=name, merge=record.id)})
            continue
        obj = stored.get((change.entity_type, change.entity_id))
        label = AUDIT_LABELS[change.entity_type]
        if obj is None:
            problems.append({"row": change.row,
                             "reason": Message("导入的%(label)s已被删除", label=Message(label))})
            continue
        if not _matches(obj, change.after):
            problems.append({"row": change.row, "reason": Message(
                "导入的%(label)s在导入后又被修改过", label=Message(label))})
            continue
        targets.append((change, model, obj))
    problems += _blockers([(c, o) for c, _m, o in targets if c.action == "create"], created)
    if problems:
        problems.sort(key=lambda p: p["row"] or 0)
        raise UndoRefused(problems)
    touched: set[int] = set()
    for done, (change, model, obj) in enumerate(targets, start=1):
        if change.action == "create":
            if change.entity_type == "tenancy":  # its moves were the import's too
                incubation_services.forget_stay(obj, reason=f"撤销导入任务 #{job.id}",
                                                actor_id=user_id)
            _detach_derived(change.entity_type, obj)
            audit.record(change.entity_type, obj.id, "delete",
                         audit.changed_fields(change.after, {}),
                         enterprise_id=change.enterprise_id, actor_id=user_id,
                         summary=f"撤销导入任务 #{job.id}")
            db.session.delete(obj)
        else:
            restored = {name: _restore_value(model, name, value)
                        for name, value in change.before.items()}
            if change.entity_type == "tenancy" and "moved_in_on" in restored:
                incubation_services.redate_entry(obj, restored["moved_in_on"])
            audit.record(change.entity_type, obj.id, "update",
                         audit.apply_changes(obj, restored, list(restored)),
                         enterprise_id=change.enterprise_id, actor_id=user_id,
                         summary=f"撤销导入任务 #{job.id}")
            if change.entity_type == "tenancy" and "status" in restored:
                incubation_services.forget_closing(obj)  # the stay is open again
        db.session.flush()
        if change.enterprise_id:
            touched.add(change.enterprise_id)
        if progress is not None and (done % 200 == 0 or done == len(targets)):
            progress(done, len(targets))
    for enterprise_id in touched:
        enterprise = db.session.get(Enterprise, enterprise_id)
        if enterprise is not None:  # rung and dated history fall back when a title goes
            ladder_services.rebuild_ladder_history(enterprise, source="import",
                                                   reason=f"撤销导入任务 #{job.id}",
                                                   actor_id=user_id)
    options = {k: v for k, v in (job.options or {}).items()
               if k not in ("mode", "undo_by", "undo_refused")}
    job.options = options
    job.status, job.undone_at, job.undone_by_id = "undone", now_utc(), user_id
    audit.record("import", job.id, "restore", {}, actor_id=user_id,
                 summary=f"撤销导入任务 #{job.id}（{len(targets)} 项）")
    db.session.flush()
    return len(targets)


def _merged_since(job: ImportJob, enterprise_ids: set[int]) -> dict[int, MergeRecord]:
    """The standing merges made after the import that involve its firms (firm id -> merge)."""
    if not enterprise_ids:
        return {}
    since = job.finished_at or job.created_at
    found: dict[int, MergeRecord] = {}
    for batch in _batches(sorted(enterprise_ids)):
        query = select(MergeRecord).where(
            MergeRecord.undone_at.is_(None),
            or_(MergeRecord.survivor_id.in_(batch), MergeRecord.loser_id.in_(batch)))
        if since is not None:
            query = query.where(MergeRecord.at >= since)
        for record in db.session.scalars(query.order_by(MergeRecord.at)):
            for firm_id in (record.survivor_id, record.loser_id):
                if firm_id in enterprise_ids:
                    found.setdefault(firm_id, record)
    return found


def _firm_name(record: MergeRecord, enterprise_id: int) -> str:
    """The imported firm's name as it was before the merge (the merge may have renamed it)."""
    before = record.loser_before if enterprise_id == record.loser_id else record.survivor_before
    return (before or {}).get("name") or str(enterprise_id)


def _load_changed(changes: list[ImportChange]) -> dict[tuple[str, int], Any]:
    """The records an import touched, a few queries per entity type rather than one per row."""
    wanted: dict[str, set[int]] = {}
    for change in changes:
        wanted.setdefault(change.entity_type, set()).add(change.entity_id)
    found: dict[tuple[str, int], Any] = {}
    for entity_type, id_set in wanted.items():
        model, ids = ENTITY_MODELS[entity_type], sorted(id_set)
        for start in range(0, len(ids), 500):
            batch = ids[start:start + 500]
            for obj in db.session.scalars(select(model).where(model.id.in_(batch))):
                found[(entity_type, obj.id)] = obj
    return found


def _detach_derived(entity_type: str, obj: Any) -> None:
    """Before an imported row goes, loosen what was derived from it.

    Ladder transitions stay (history is kept, then rebuilt) but stop pointing at the deleted
    title; a deleted stay's incubation moves went before (incubation.forget_stay); results and
    transitions of a firm the import created go with the firm.
    """
    if entity_type == "qualification":
        db.session.execute(update(StageTransition)
                           .where(StageTransition.qualification_id == obj.id)
                           .values(qualification_id=None))
    elif entity_type == "tenancy":
        db.session.execute(update(StageTransition).where(StageTransition.tenancy_id == obj.id)
                           .values(tenancy_id=None))
        db.session.execute(update(Tenancy).where(Tenancy.previous_tenancy_id == obj.id)
                           .values(previous_tenancy_id=None))
    elif entity_type == "enterprise":
        db.session.execute(delete(EligibilityResult)
                           .where(EligibilityResult.enterprise_id == obj.id))
        db.session.execute(delete(StageTransition)
                           .where(StageTransition.enterprise_id == obj.id))


def _references(table_name: str) -> list[tuple[Any, Any]]:
    """(table, column) for every foreign key pointing at `table_name`, read from the schema.

    Read rather than listed so that a feature adding a table that points at firms, titles or
    tenancies cannot make an undo fail at the database (a 500) instead of explaining itself.
    """
    found = []
    for table in db.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == table_name:
                found.append((table, fk.parent))
    return found


def _batches(ids: list[int], size: int = 500) -> list[list[int]]:
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def _blockers(to_delete: list[tuple[ImportChange, Any]], created: set[tuple[str, int]]
              ) -> list[dict[str, Any]]:
    """Rows whose created record cannot go: other records came to depend on it after the import.

    A few grouped queries per referencing table, not one per row.
    """
    rows: list[dict[str, Any]] = []
    by_type: dict[str, dict[int, tuple[ImportChange, Any]]] = {}
    for change, obj in to_delete:
        by_type.setdefault(change.entity_type, {})[obj.id] = (change, obj)
    own = {"contact": Contact, "metrics": AnnualMetrics, "qualification": Qualification,
           "tenancy": Tenancy}
    for entity_type, targets in by_type.items():
        model = ENTITY_MODELS[entity_type]
        ids = sorted(targets)
        handled = set(_UNDO_HANDLED.get(entity_type, ()))
        if entity_type == "enterprise":
            # the firm's own titles, stays, contacts and figures go with it only if imported
            for kind, child in own.items():
                for batch in _batches(ids):
                    for child_id, parent_id in db.session.execute(
                            select(child.id, child.enterprise_id)
                            .where(child.enterprise_id.in_(batch))):
                        if (kind, child_id) not in created:
                            change, obj = targets[parent_id]
                            rows.append({"row": change.row, "reason": Message(
                                "导入的企业「%(name)s」之后又登记了其他%(kind)s，不能删除",
                                name=obj.name, kind=Message(AUDIT_LABELS[kind]))})
        for table, column in _references(model.__tablename__):
            if table.name in handled:
                continue
            label = DEPENDANT_LABELS.get(table.name, table.name)
            for batch in _batches(ids):
                for target_id, count in db.session.execute(
                        select(column, func.count()).select_from(table)
                        .where(column.in_(batch)).group_by(column)):
                    change, _obj = targets[target_id]
                    rows.append({"row": change.row, "reason": Message(
                        "导入的%(entity)s之后已有 %(count)s 条%(label)s，不能删除",
                        entity=Message(AUDIT_LABELS[entity_type]), count=count,
                        label=Message(label))})
    return rows


def save_preset(kind: str, name: str, mapping: dict[str, str], *, user_id: int | None
                ) -> MappingPreset:
    """Create or replace a named mapping for this kind of list."""
    name = name.strip()[:100]
    preset = db.session.scalar(select(MappingPreset).where(MappingPreset.kind == kind,
                                                           MappingPreset.name == name))
    if preset is None:
        preset = MappingPreset(kind=kind, name=name, created_by_id=user_id)
        db.session.add(preset)
    preset.mapping = {k: v for k, v in mapping.items() if v}
    db.session.flush()
    return preset


def presets(kind: str) -> list[MappingPreset]:
    return list(db.session.scalars(select(MappingPreset).where(MappingPreset.kind == kind)
                                   .order_by(MappingPreset.name)))


def apply_preset(preset: MappingPreset, headers: list[str]) -> dict[str, str]:
    """A preset's mapping for the headers this file has (others auto-detected)."""
    mapping = columns.auto_mapping(preset.kind, headers)
    for header in headers:
        if header in preset.mapping:
            mapping[header] = preset.mapping[header]
    return {h: k for h, k in mapping.items() if k}
