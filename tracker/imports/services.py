"""Import jobs: storing the upload, running the engine for a job, progress, undo.

Services flush; the view, task or CLI command commits once.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import Date, Numeric, delete, func, select, update

from tracker.accounts.models import User
from tracker.audit import services as audit
from tracker.clock import now_utc
from tracker.enterprises.models import Activity, AnnualMetrics, Contact, Enterprise
from tracker.extensions import db
from tracker.imports import columns, engine
from tracker.imports.models import ImportChange, ImportJob, MappingPreset
from tracker.imports.reader import FileUnreadable, open_sheet
from tracker.incubation import services as incubation_services
from tracker.incubation.models import StatusProposal, Tenancy
from tracker.labels import AUDIT_LABELS
from tracker.ladder import services as ladder_services
from tracker.ladder.models import Application, EligibilityResult, Qualification, StageTransition

ENTITY_MODELS = {"enterprise": Enterprise, "contact": Contact, "metrics": AnnualMetrics,
                 "qualification": Qualification, "tenancy": Tenancy,
                 "tenancy_proposal": StatusProposal}


class UndoRefused(Exception):
    """The import cannot be undone safely; `problems` says what changed since."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


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
                          official_list=bool(opts.get("official_list")))


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
    total = (job.options or {}).get("estimated_rows") or job.rows
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
            "counts": {k: v for k, v in job.counts().items() if k != "errors"},
            "error_count": len(job.errors or [])}


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
        job.status, job.message, job.finished_at = "failed", str(exc), now_utc()
        db.session.flush()
        return job
    job = db.session.get(ImportJob, job_id)  # the engine emptied the session
    job.dry_run = dry_run
    job.rows, job.valid = result.rows, result.valid
    job.created, job.updated, job.unchanged = result.created, result.updated, result.unchanged
    job.errors = result.errors
    job.finished_at = now_utc()
    if dry_run:
        job.status = "previewed"
        job.message = None
    elif result.written:
        job.status = "done"
        job.message = (f"已导入 {result.valid} 行，跳过 {result.rows - result.valid} 行有错误的行"
                       if result.error_count else None)
    else:
        job.status = "rejected"
        job.message = (f"文件中有 {result.rows - result.valid} 行错误，按“全部或全不”规则"
                       "没有导入任何一行；请修正后重新上传，或选择“只导入正确的行”")
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


def undo_job(job: ImportJob, *, user_id: int | None) -> int:
    """Delete what the import created and put back what it changed; refuses on later edits."""
    if job.status != "done":
        raise UndoRefused(["只有已完成的导入才能撤销"])
    changes = db.session.scalars(select(ImportChange).where(ImportChange.job_id == job.id)
                                 .order_by(ImportChange.id.desc())).all()
    created = {(c.entity_type, c.entity_id) for c in changes if c.action == "create"}
    stored = _load_changed(changes)
    problems: list[str] = []
    targets = []
    for change in changes:
        model = ENTITY_MODELS[change.entity_type]
        obj = stored.get((change.entity_type, change.entity_id))
        if obj is None:
            problems.append(f"第 {change.row} 行的记录已被删除")
            continue
        if not _matches(obj, change.after):
            problems.append(f"第 {change.row} 行的{AUDIT_LABELS[change.entity_type]}在导入后"
                            "又被修改过")
            continue
        if change.entity_type == "enterprise" and change.action == "create":
            problems += _dependants(obj, change.row, created)
        targets.append((change, model, obj))
    if problems:
        raise UndoRefused(problems)
    touched: set[int] = set()
    for change, model, obj in targets:
        if change.action == "create":
            _detach_derived(change.entity_type, obj)
            audit.record(change.entity_type, obj.id, "delete",
                         audit.changed_fields(change.after, {}),
                         enterprise_id=change.enterprise_id, actor_id=user_id,
                         summary=f"撤销导入任务 #{job.id}")
            db.session.delete(obj)
        else:
            restored = {name: _restore_value(model, name, value)
                        for name, value in change.before.items()}
            audit.record(change.entity_type, obj.id, "update",
                         audit.apply_changes(obj, restored, list(restored)),
                         enterprise_id=change.enterprise_id, actor_id=user_id,
                         summary=f"撤销导入任务 #{job.id}")
            if change.entity_type == "tenancy" and "status" in restored:
                incubation_services.forget_closing(obj)  # the stay is open again
        db.session.flush()
        if change.enterprise_id:
            touched.add(change.enterprise_id)
    for enterprise_id in touched:
        enterprise = db.session.get(Enterprise, enterprise_id)
        if enterprise is not None:  # rung and dated history fall back when a title goes
            ladder_services.rebuild_ladder_history(enterprise, source="import",
                                                   reason=f"撤销导入任务 #{job.id}",
                                                   actor_id=user_id)
    job.status, job.undone_at, job.undone_by_id = "undone", now_utc(), user_id
    audit.record("import", job.id, "restore", {}, actor_id=user_id,
                 summary=f"撤销导入任务 #{job.id}（{len(targets)} 项）")
    db.session.flush()
    return len(targets)


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

    Stage transitions stay (history is kept) but stop pointing at the deleted row; results
    and transitions of a firm the import created go with the firm.
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


def _dependants(enterprise: Enterprise, row: int, created: set[tuple[str, int]]) -> list[str]:
    """Records added by hand to a firm this import created: deleting it would lose them."""
    problems = []
    checks = ((Qualification, "qualification", "资质"), (Tenancy, "tenancy", "入驻记录"))
    for model, entity_type, label in checks:
        ids = db.session.scalars(select(model.id).where(model.enterprise_id == enterprise.id))
        if any((entity_type, i) not in created for i in ids):
            problems.append(f"第 {row} 行导入的企业「{enterprise.name}」已有其他{label}，"
                            "不能删除")
    for model, label in ((Application, "申报记录"), (Activity, "走访或备注")):
        others = db.session.scalar(select(func.count()).select_from(model)
                                   .where(model.enterprise_id == enterprise.id))
        if others:
            problems.append(f"第 {row} 行导入的企业「{enterprise.name}」已有{label}，不能删除")
    contact_ids = db.session.scalars(select(Contact.id)
                                     .where(Contact.enterprise_id == enterprise.id))
    if any(("contact", i) not in created for i in contact_ids):
        problems.append(f"第 {row} 行导入的企业「{enterprise.name}」已有其他联系人，不能删除")
    metric_ids = db.session.scalars(select(AnnualMetrics.id)
                                    .where(AnnualMetrics.enterprise_id == enterprise.id))
    if any(("metrics", i) not in created for i in metric_ids):
        problems.append(f"第 {row} 行导入的企业「{enterprise.name}」已有其他年度数据，不能删除")
    return problems


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
