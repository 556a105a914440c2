"""Import/export pages: upload → mapping → dry-run preview → run → job page; exports; reconcile.

Views stay thin: the engine, services and export builders do the work.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from tracker import jobs as job_states
from tracker.accounts.access import editor_required
from tracker.accounts.roles import Role
from tracker.accounts.scope import carrier_scope, get_enterprise_or_404
from tracker.clock import today
from tracker.enterprises.queries import EnterpriseFilters
from tracker.enterprises.zones import ZONES
from tracker.extensions import db
from tracker.forms_support import commit_or_report
from tracker.imports import columns, engine, exports, jobs, reconcile, services, writers
from tracker.imports.forms import ConfirmForm, MappingForm, ReconcileForm, RunForm, UploadForm
from tracker.imports.models import IMPORT_KINDS, JOB_STATUSES, ImportChange, ImportJob
from tracker.imports.normalise import CellError, cell_text, is_blank, parse_date
from tracker.imports.reader import FileUnreadable, open_sheet
from tracker.incubation.models import Carrier
from tracker.ladder.models import QUALIFICATION_STATUSES, Qualification
from tracker.messages import render_problem
from tracker.pagination import SortKey, both_ways, keyset_page, requested_size, requested_sort
from tracker.vocabulary import KINDS

bp = Blueprint("imports", __name__, url_prefix="/imports")

#: the job list's sortable column (newest first unless reversed)
JOB_SORTS = both_ways("created", [SortKey(ImportJob.created_at, kind="datetime"),
                                  SortKey(ImportJob.id, kind="int")])
#: errors shown on the job page; the download holds all of them
ERRORS_ON_PAGE = 200
_TOKEN = re.compile(r"^[0-9a-f]{32}\.(xlsx|csv)$")


def _sees_all_jobs() -> bool:
    return current_user.role in (Role.ADMIN, Role.BUREAU)


def _visible_jobs():
    query = select(ImportJob)
    if not _sees_all_jobs():
        query = query.where(ImportJob.created_by_id == current_user.id)
    return query


def _job_or_404(job_id: int) -> ImportJob:
    job = db.session.scalar(_visible_jobs().where(ImportJob.id == job_id))
    if job is None:
        abort(404)
    return job


def _render_index(form: UploadForm, status: int = 200):
    page = None
    if current_user.can_edit:  # viewers and carrier managers only export
        page = keyset_page(db.session, _visible_jobs().options(joinedload(ImportJob.created_by)),
                           JOB_SORTS[requested_sort(JOB_SORTS, "-created")],
                           size=requested_size(),
                           after=request.args.get("after"), before=request.args.get("before"))
    return render_template("imports/index.html", form=form, page=page, kinds=IMPORT_KINDS,
                           statuses=JOB_STATUSES,
                           max_mb=current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024),
                           max_rows=current_app.config["IMPORT_MAX_ROWS"]), status


@bp.get("/")
@login_required
def index():
    return _render_index(UploadForm())


@bp.errorhandler(413)
def too_large(_error):
    """An upload over MAX_CONTENT_LENGTH: say the limit instead of a bare error page."""
    form = UploadForm(formdata=None)
    limit = current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
    form.file.errors = [_("文件超过 %(mb)d MB 的上传上限：请删除无关的工作表或拆分后分批上传",
                          mb=limit)]
    return _render_index(form, 413)


@bp.post("/upload")
@editor_required
def upload():
    form = UploadForm()
    if not form.validate_on_submit():
        return _render_index(form, 400)
    upload_file = form.file.data
    stored = services.store_upload(upload_file.stream, upload_file.filename or "upload")
    try:
        job = services.create_job(form.kind.data, stored, upload_file.filename or stored,
                                  user_id=current_user.id)
    except FileUnreadable as exc:
        db.session.rollback()
        (Path(current_app.config["UPLOAD_DIR"]) / stored).unlink(missing_ok=True)
        form.file.errors = [*form.file.errors, str(exc)]
        return _render_index(form, 400)
    db.session.commit()
    return redirect(url_for(".mapping", job_id=job.id))


def _samples(job: ImportJob, limit: int = 3) -> list[list[str]]:
    """A few values per column, so the person mapping sees what each column holds."""
    rows: list[list[str]] = []
    try:
        with open_sheet(services.stored_file(job), engine.header_score(job.kind)) as sheet:
            for _no, cells in sheet.rows:
                if all(is_blank(c) for c in cells):
                    continue
                rows.append([cell_text(c) for c in cells])
                if len(rows) >= limit:
                    break
    except FileUnreadable:
        return []
    return [[row[i] if i < len(row) else "" for row in rows] for i in range(len(job.headers))]


def _start(job: ImportJob, *, dry_run: bool) -> None:
    """Run or queue through the one policy (imports.jobs), then commit once."""
    jobs.start(job, dry_run=dry_run, user=current_user._get_current_object())
    db.session.commit()


@bp.route("/<int:job_id>/mapping", methods=["GET", "POST"])
@editor_required
def mapping(job_id: int):
    job = _job_or_404(job_id)
    if job.status in ("queued", "running", "done", "undone"):
        flash(_("该导入已开始或已完成，不能再修改列对应关系"), "warning")
        return redirect(url_for(".job", job_id=job.id))
    fields = columns.KIND_FIELDS[job.kind]
    form = MappingForm(year=(job.options or {}).get("year"),
                       qualification_kind=(job.options or {}).get("qualification_kind") or "",
                       official_list=bool((job.options or {}).get("official_list")))
    current = dict((job.options or {}).get("mapping") or {})
    preset_id = request.args.get("preset", type=int)
    available = services.presets(job.kind)
    if request.method == "GET" and preset_id:
        chosen = next((p for p in available if p.id == preset_id), None)
        if chosen is not None:
            current = services.apply_preset(chosen, job.headers)
            flash(_("已套用方案「%(name)s」", name=chosen.name), "info")
    problems: list[str] = []
    if form.validate_on_submit():
        current = {}
        for index, header in enumerate(job.headers):
            key = request.form.get(f"map-{index}", "")
            if header and key:
                current[header] = key
        problems = columns.check_mapping(job.kind, current)
        if not problems:
            options = dict(job.options or {})
            options.update(mapping=current, year=form.year.data,
                           qualification_kind=form.qualification_kind.data or None,
                           official_list=job.kind == "tenancies" and bool(form.official_list.data))
            job.options = options
            if form.preset_name.data and form.preset_name.data.strip():
                services.save_preset(job.kind, form.preset_name.data, current,
                                     user_id=current_user.id)
            _start(job, dry_run=True)
            return redirect(url_for(".job", job_id=job_id))
    status = 400 if (problems or form.errors) else 200
    return render_template("imports/mapping.html", job=job, form=form, fields=fields,
                           mapping=current, samples=_samples(job), problems=problems,
                           presets=available, kinds=IMPORT_KINDS), status


def _change_counts(job: ImportJob) -> Counter:
    """How many rows of each kind the import created or updated: (entity_type, action) -> n."""
    return Counter(db.session.execute(
        select(ImportChange.entity_type, ImportChange.action)
        .where(ImportChange.job_id == job.id)).all())


@bp.get("/<int:job_id>")
@editor_required
def job(job_id: int):
    job = _job_or_404(job_id)
    changes = _change_counts(job) if job.status in ("done", "undone") else {}
    return render_template("imports/job.html", job=job, kinds=IMPORT_KINDS,
                           statuses=JOB_STATUSES, message=services.job_message(job),
                           errors=[render_problem(e) for e in (job.errors or [])[:ERRORS_ON_PAGE]],
                           warnings=[render_problem(w)
                                     for w in (job.warnings or [])[:ERRORS_ON_PAGE]],
                           preview=(job.preview or [])[:ERRORS_ON_PAGE],
                           run_form=RunForm(keep_valid=(job.options or {}).get("keep_valid")),
                           progress=services.read_progress(job), changes=changes,
                           control_form=ConfirmForm(), retryable=job_states.RETRYABLE,
                           max_attempts=job_states.max_attempts())


def _job_action(job_id: int, act, done: str, refused: str):
    """Retry or cancel through the job state machine; one CSRF check, one commit, one flash."""
    job = _job_or_404(job_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if act(job, actor_id=current_user.id):
        db.session.commit()
        flash(done, "success")
    else:
        flash(refused, "warning")
    return redirect(url_for(".job", job_id=job_id))


@bp.post("/<int:job_id>/retry")
@editor_required
def retry(job_id: int):
    """Send a failed or cancelled job to the worker again."""
    return _job_action(job_id, job_states.retry, _("已重新排队，稍后自动开始"),
                       _("只有失败或已取消的任务可以重试"))


@bp.post("/<int:job_id>/cancel")
@editor_required
def cancel(job_id: int):
    """Stop a queued or running job; a run in progress writes nothing."""
    return _job_action(job_id, job_states.cancel, _("任务已取消，未写入任何数据"),
                       _("任务已结束，无法取消"))


@bp.get("/<int:job_id>/progress.json")
@editor_required
def progress(job_id: int):
    return jsonify(services.read_progress(_job_or_404(job_id)))


@bp.post("/<int:job_id>/run")
@editor_required
def run(job_id: int):
    job = _job_or_404(job_id)
    form = RunForm()
    if not form.validate_on_submit():
        abort(400)
    if job.status not in ("previewed", "rejected"):
        flash(_("请先试运行并查看预览，再正式导入"), "warning")
        return redirect(url_for(".job", job_id=job.id))
    job.options = {**(job.options or {}), "keep_valid": bool(form.keep_valid.data),
                   "accept_warnings": bool(form.accept_warnings.data)}
    _start(job, dry_run=False)
    job = db.session.get(ImportJob, job_id)
    if job.status == "done":
        flash(_("导入完成：新建 %(c)d，更新 %(u)d，未变 %(k)d",
                c=job.created, u=job.updated, k=job.unchanged), "success")
    elif job.status == "rejected":
        flash(services.job_message(job) or _("有错误，未导入"), "danger")
    return redirect(url_for(".job", job_id=job_id))


@bp.get("/<int:job_id>/errors.xlsx")
@editor_required
def errors_download(job_id: int):
    job = _job_or_404(job_id)
    return exports.xlsx_response(_("导入错误-%(id)s.xlsx", id=job.id), [
        (_("错误清单"), exports.ERROR_COLUMNS, exports.error_rows(job.errors or []))])


@bp.get("/<int:job_id>/file")
@editor_required
def original(job_id: int):
    job = _job_or_404(job_id)
    path = services.stored_file(job)
    if not path.exists():
        abort(404)
    return send_file(path, as_attachment=True, download_name=job.filename)


@bp.route("/<int:job_id>/undo", methods=["GET", "POST"])
@editor_required
def undo(job_id: int):
    job = _job_or_404(job_id)
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            count = services.request_undo(job, user_id=current_user.id)
        except services.UndoRefused as exc:
            db.session.rollback()
            job = _job_or_404(job_id)
            if job.status == "done":
                services.record_undo_refusal(job, exc)
                db.session.commit()
            flash(_("无法撤销：下列行在导入后发生了变化或已被其他记录引用，请先手工处理"), "danger")
            return redirect(url_for(".job", job_id=job_id))
        db.session.commit()
        if count is None:
            flash(_("撤销已排队，由后台处理；本页显示进度"), "info")
        else:
            flash(_("已撤销导入：恢复或删除了 %(n)d 项记录", n=count), "success")
        return redirect(url_for(".job", job_id=job_id))
    if job.status != "done":
        flash(_("只有已完成的导入才能撤销"), "warning")
        return redirect(url_for(".job", job_id=job_id))
    return render_template("imports/undo.html", job=job, form=form, changes=_change_counts(job))


@bp.get("/template/<kind>.xlsx")
@editor_required
def template(kind: str):
    """A blank list with the headers the importer recognises, so nobody guesses them."""
    if kind not in columns.KIND_FIELDS:
        abort(404)
    fields = [f for f in columns.KIND_FIELDS[kind] if not f.key.endswith("_yuan")]
    header = [exports.Column(f.label + ("（必填）" if f.required else ""), width=16)
              for f in fields]
    return exports.xlsx_response(f"导入模板-{IMPORT_KINDS[kind]}.xlsx",
                                 [(IMPORT_KINDS[kind], header, [])])


# --- exports -------------------------------------------------------------------------------

@bp.get("/export/enterprises")
@login_required
def export_enterprises():
    filters = EnterpriseFilters.from_args(request.args)
    return exports.export_response("企业名单", exports.ENTERPRISE_COLUMNS,
                 exports.enterprise_rows(current_user, filters))


@bp.get("/export/qualifications")
@login_required
def export_qualifications():
    filters = exports.QualificationFilters.from_args(request.args)
    return exports.export_response("资质名单", exports.QUALIFICATION_COLUMNS,
                 exports.qualification_rows(current_user, filters))


@bp.get("/export/tenancies")
@login_required
def export_tenancies():
    return exports.export_response("入驻名单", exports.TENANCY_COLUMNS,
                 exports.tenancy_rows(current_user, request.args))


@bp.get("/export/report.xlsx")
@login_required
def export_report():
    return exports.xlsx_response(f"梯度培育情况汇报-{today().isoformat()}.xlsx",
                                 exports.leadership_sheets(current_user))


@bp.get("/export/")
@login_required
def export_index():
    carriers = db.session.scalars(select(Carrier).where(carrier_scope(current_user))
                                  .order_by(Carrier.name)).all()
    return render_template("imports/exports.html", kinds=KINDS, zones=ZONES,
                           statuses=QUALIFICATION_STATUSES, carriers=carriers)


# --- reconciliation ----------------------------------------------------------------------

@bp.route("/reconcile", methods=["GET", "POST"])
@editor_required
def reconcile_upload():
    form = ReconcileForm(year=today().year)
    if form.validate_on_submit():
        upload_file = form.file.data
        stored = services.store_upload(upload_file.stream, upload_file.filename or "list")
        path = Path(current_app.config["UPLOAD_DIR"]) / stored
        try:  # parsed here, once; every view of the report reads the cached list
            reconcile.cached_list(path, form.kind.data)
        except FileUnreadable as exc:
            path.unlink(missing_ok=True)
            form.file.errors = [*form.file.errors, str(exc)]
        else:
            return redirect(url_for(".reconcile_report", token=path.name, kind=form.kind.data,
                                    year=form.year.data or ""))
    return render_template("imports/reconcile_upload.html", form=form), 400 if form.errors \
        else 200


def _token_path(token: str) -> Path:
    if not _TOKEN.match(token):
        abort(404)
    path = services.upload_dir() / token
    if not path.exists():
        abort(404)
    return path


@bp.get("/reconcile/<token>")
@editor_required
def reconcile_report(token: str):
    path = _token_path(token)
    kind = request.args.get("kind", "")
    if kind not in KINDS:
        abort(404)
    year = request.args.get("year", type=int)
    try:
        report = reconcile.reconcile(path, kind, current_user, year=year)
    except FileUnreadable as exc:
        flash(str(exc), "danger")
        return redirect(url_for(".reconcile_upload"))
    return render_template("imports/reconcile.html", report=report, token=token, kind=kind,
                           year=year, kinds=KINDS, form=ConfirmForm())


@bp.post("/reconcile/<token>/apply")
@editor_required
def reconcile_apply(token: str):
    _token_path(token)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    kind = request.form.get("kind", "")
    if kind not in KINDS:
        abort(400)
    enterprise = get_enterprise_or_404(current_user, request.form.get("enterprise_id", type=int))
    data = {"kind": kind, "number": request.form.get("number") or None,
            "batch": request.form.get("batch") or None}
    try:
        for key in ("granted_on", "valid_until"):
            raw = request.form.get(key)
            data[key] = parse_date(raw) if raw else None
    except CellError:
        abort(400)
    if data["granted_on"] is None:
        abort(400)
    qualification_id = request.form.get("qualification_id", type=int)
    if qualification_id:
        qualification = db.session.get(Qualification, qualification_id)
        if qualification is None or qualification.enterprise_id != enterprise.id:
            abort(404)
        listed = {k: v for k, v in data.items() if v is not None}
        done = _("已按名单更新「%(name)s」的资质", name=enterprise.name)
        outcome = commit_or_report(None, lambda: writers.update_qualification(qualification,
                                                                              listed))
    else:
        done = _("已按名单登记「%(name)s」的资质", name=enterprise.name)
        outcome = commit_or_report(None, lambda: writers.grant_qualification(enterprise, data))
    if outcome.ok:
        flash(done, "success")
    return redirect(url_for(".reconcile_report", token=token, kind=kind,
                            year=request.form.get("year", "")))


@bp.app_template_filter("import_date")
def import_date(value: date | None) -> str:
    return value.isoformat() if value else "—"
