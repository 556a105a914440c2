"""Bulk actions from the enterprise list; likely duplicates, the merge form and its undo."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from tracker.accounts.access import editor_required, roles_required, safe_next
from tracker.accounts.roles import Role
from tracker.accounts.scope import enterprise_edit_scope
from tracker.accounts.services import officer_choices
from tracker.bulk import actions, duplicates, merge
from tracker.bulk.forms import BulkForm, MergeForm, UndoForm
from tracker.bulk.models import MergeRecord
from tracker.clock import today
from tracker.enterprises import uscc
from tracker.enterprises.models import Enterprise
from tracker.enterprises.queries import EnterpriseFilters
from tracker.enterprises.zones import TECH_FIELDS, ZONES
from tracker.errors import check_version
from tracker.extensions import db
from tracker.forms_support import commit_or_report, flash_form_errors, page_status
from tracker.imports import exports
from tracker.inputs import parse_int
from tracker.labels import FIELD_NAMES
from tracker.vocabulary import KINDS

bp = Blueprint("bulk", __name__, url_prefix="/bulk")

#: merging is a bureau decision (design.md roles): zone staff see likely duplicates nowhere
bureau_required = roles_required(Role.ADMIN, Role.BUREAU)


def bulk_form() -> BulkForm:
    """The toolbar as the list renders it (officers to pick, this year's applications)."""
    form = BulkForm()
    form.officer_id.choices = officer_choices()
    if form.year.data is None:
        form.year.data = today().year
    return form


@bp.post("/enterprises")
@editor_required
def enterprises():
    form = bulk_form()
    back = safe_next(form.next.data, url_for("enterprises.index"))
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(back)
    action = request.form.get("action", "")
    if action not in actions.ACTIONS:
        flash(_("请选择要执行的操作"), "danger")
        return redirect(back)
    try:
        firms = actions.editable_firms(current_user,
                                       actions.parse_ids(request.form.getlist("ids")))
    except actions.BulkError as exc:
        for message in exc.errors.values():
            flash(message, "danger")
        return redirect(back)
    batch_id = actions.new_batch()
    if action == "export":
        actions.record_export(firms, batch_id=batch_id)
        db.session.commit()
        rows = exports.enterprise_rows(current_user, EnterpriseFilters(status="all"),
                                       ids=[f.id for f in firms])
        return exports.xlsx_response(f"企业名单-选中{len(firms)}家-{today():%Y%m%d}.xlsx",
                                     [("企业名单", exports.ENTERPRISE_COLUMNS, rows)])
    if action == "assign":
        saved = commit_or_report(None, lambda: actions.assign_officer(
            firms, form.officer_id.data, user=current_user, batch_id=batch_id))
        message = _("已为 %(n)d 家企业更换联系专员（共选 %(total)d 家）",
                    n=saved.result or 0, total=len(firms))
    elif action == "archive":
        saved = commit_or_report(None, lambda: actions.archive(
            firms, form.reason.data or _("批量归档"), batch_id=batch_id))
        message = _("已归档 %(n)d 家企业（共选 %(total)d 家，可逐一恢复）",
                    n=saved.result or 0, total=len(firms))
    else:
        data = {"kind": form.kind.data, "year": form.year.data or today().year,
                "batch": form.batch.data,
                "owner_id": current_user.id}
        saved = commit_or_report(None, lambda: actions.start_applications(
            firms, data, user=current_user, batch_id=batch_id))
        kind = KINDS.get(form.kind.data)
        message = _("已为 %(n)d 家企业创建 %(year)s 年%(kind)s申报",
                    n=saved.result or 0, year=data["year"], kind=_(kind) if kind else "")
    if saved.ok:
        flash(message, "success")
    return redirect(back)


# --- likely duplicates -------------------------------------------------------------------------

@bp.get("/duplicates")
@bureau_required
def duplicates_page():
    tab = "legacy" if request.args.get("tab") == "legacy" else "names"
    groups, legacy, next_after = [], [], None
    if tab == "names":
        groups, next_after = duplicates.name_groups(current_user,
                                                    after=request.args.get("after") or None)
    else:
        legacy, next_after = duplicates.legacy_records(
            current_user, after=parse_int(request.args.get("after", "")))
    recent = db.session.scalars(select(MergeRecord).order_by(MergeRecord.id.desc())
                                .limit(10)).all()
    return render_template("bulk/duplicates.html", tab=tab, groups=groups, legacy=legacy,
                           next_after=next_after, recent=recent)


def _firm_for_merge(raw: str | None) -> Enterprise:
    """A firm the user may merge, named by id or by its credit code (as typed on the page)."""
    raw = (raw or "").strip()
    enterprise_id = parse_int(raw)
    match = (Enterprise.id == enterprise_id if enterprise_id is not None
             else Enterprise.uscc == uscc.normalise(raw))
    firm = db.session.scalar(select(Enterprise).where(enterprise_edit_scope(current_user),
                                                      match))
    if firm is None:
        abort(404)
    return firm


@bp.route("/merge", methods=["GET", "POST"])
@bureau_required
def merge_page():
    a = _firm_for_merge(request.values.get("a"))
    b = _firm_for_merge(request.values.get("b"))
    form = MergeForm()
    form.survivor.choices = [(str(a.id), a.name), (str(b.id), b.name)]
    saved = None
    if request.method == "GET":
        form.survivor.data = a.id
    elif form.validate_on_submit():
        survivor, loser = (a, b) if form.survivor.data != b.id else (b, a)
        choices = {}
        for name in (*merge.MERGE_FIELDS,
                     *(f"year:{y}" for y in merge.conflicting_years(a.id, b.id))):
            picked = parse_int(request.form.get(name, ""))
            if picked in (a.id, b.id):
                choices[name] = "survivor" if picked == survivor.id else "loser"
        def save():
            # the values compared on the form must still be the records' values
            check_version(a, request.form.get("a_version"))
            check_version(b, request.form.get("b_version"))
            return merge.merge_enterprises(survivor, loser, choices, user=current_user)

        saved = commit_or_report(form, save)
        if saved.ok:
            flash(_("已合并：%(loser)s 的全部记录已并入 %(survivor)s（可撤销）",
                    loser=loser.name, survivor=survivor.name), "success")
            return redirect(url_for(".merge_record", merge_id=saved.result.id))
    rows = [(name, FIELD_NAMES.get(name, name), _shown(a, name), _shown(b, name),
             getattr(a, name) != getattr(b, name)) for name in merge.MERGE_FIELDS]
    return render_template("bulk/merge.html", form=form, a=a, b=b, rows=rows,
                           years=merge.conflicting_years(a.id, b.id),
                           overlaps=merge.overlapping_tenancies(a.id, b.id)
                           + merge.overlapping_tenancies(b.id, a.id)), page_status(form, saved)


def _shown(firm: Enterprise, name: str) -> str:
    """A field's value as the merge form shows it (labels, not codes)."""
    value = getattr(firm, name)
    if value is None or value == []:
        return "—"
    if name == "zone":
        return _(ZONES.get(value, (value,))[0])
    if name == "tech_field":
        return _(TECH_FIELDS.get(value, value))
    if name == "officer_id":
        return firm.officer.name if firm.officer else str(value)
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)


@bp.get("/merges/<int:merge_id>")
@bureau_required
def merge_record(merge_id: int):
    record = db.session.get(MergeRecord, merge_id) or abort(404)
    moved = {table: len(ids) for table, ids in (record.moved or {}).items() if ids}
    removed = {table: len(rows) for table, rows in (record.removed or {}).items() if rows}
    return render_template("bulk/merge_record.html", record=record, moved=moved,
                           removed=removed, form=UndoForm(),
                           later=merge.later_merge(record) if not record.undone_at else None)


@bp.post("/merges/<int:merge_id>/undo")
@bureau_required
def undo(merge_id: int):
    record = db.session.get(MergeRecord, merge_id) or abort(404)
    form = UndoForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
    elif commit_or_report(None, lambda: merge.undo_merge(record, user=current_user)).ok:
        flash(_("已撤销合并，两条企业记录及其全部关联记录已恢复"), "success")
    return redirect(url_for(".merge_record", merge_id=merge_id))
