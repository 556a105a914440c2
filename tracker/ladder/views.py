"""Ladder pages: the board, qualifications, applications, gap report, self-assessment, settings."""

from __future__ import annotations

import json
from decimal import Decimal
from functools import partial
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from tracker import snapshots
from tracker.accounts.access import editor_required, roles_required, safe_next
from tracker.accounts.roles import Role
from tracker.accounts.scope import get_enterprise_or_404
from tracker.accounts.services import active_officers, officer_choices
from tracker.clock import today
from tracker.enterprises.zones import TECH_FIELDS, ZONES
from tracker.extensions import db
from tracker.forms_support import Outcome, commit_or_report, flash_form_errors, page_status
from tracker.inputs import arg_int
from tracker.ladder import board_cards, gaps, queries, results, services, validity
from tracker.ladder.facts import ENTERPRISE_FLAGS, YEAR_FIELDS, build_facts
from tracker.ladder.forms import (
    ApplicationEditForm,
    ApplicationForm,
    ApproveForm,
    BatchForm,
    MoveForm,
    QualificationForm,
    RevokeForm,
    SelfAssessmentForm,
    ThresholdForm,
    self_assessment_form,
)
from tracker.ladder.models import (
    APPLICATION_STATUSES,
    LadderBatch,
    LocalThreshold,
)
from tracker.ladder.rules import KINDS, LOCALLY_CONFIGURED_KINDS, FactsError, fiscal_years_needed
from tracker.ladder.thresholds import change_local_thresholds
from tracker.money import WAN, plain_number
from tracker.pagination import requested_size

bp = Blueprint("ladder", __name__, url_prefix="/ladder")


# --------------------------------------------------------------------------------------------
# Board
# --------------------------------------------------------------------------------------------


@bp.get("/board")
@login_required
def board():
    view = request.args.get("view", "rungs")
    if view not in queries.BOARD_VIEWS:
        view = "rungs"
    filters = queries.BoardFilters.from_args(request.args)
    size = requested_size()
    context: dict[str, Any] = {}
    if view == "rungs":
        user = current_user._get_current_object()
        # firms per rung over the whole register: a few minutes old at most, the age shown
        context["counts"], context["counted_at"] = snapshots.cached(
            f"board_counts:{filters.zone}:{filters.tech_field}:{filters.officer_id}", user,
            lambda: queries.rung_counts(user, filters))
        columns = queries.rung_cards(current_user, filters)
        steps = queries.next_steps([f for column in columns.values() for f in column])
        context["columns"] = board_cards.cards(columns, steps)
    elif view in ("candidates", "near"):
        fetch = queries.candidates if view == "candidates" else queries.near_misses
        context["page"] = fetch(current_user, filters, size=size,
                                after=request.args.get("after"),
                                before=request.args.get("before"))
    else:
        context["app_columns"], context["app_counts"] = queries.application_columns(
            current_user, filters)
        context["year"] = filters.year or today().year
    return render_template(
        "ladder/board.html", view=view, views=queries.BOARD_VIEWS, filters=filters,
        zones=ZONES, fields=TECH_FIELDS, officers=active_officers(), kinds=KINDS,
        statuses=APPLICATION_STATUSES, moves=services.allowed_moves, **context,
    )


# --------------------------------------------------------------------------------------------
# Qualifications
# --------------------------------------------------------------------------------------------


def _back(enterprise_id: int, anchor: str = "ladder") -> str:
    return url_for("enterprises.detail", enterprise_id=enterprise_id) + f"#{anchor}"


def _attach_upload(form, qualification) -> None:
    upload = form.evidence.data
    if upload and getattr(upload, "filename", ""):
        services.store_evidence(qualification, upload.filename, upload.stream,
                                actor_id=current_user.id)


@bp.route("/enterprises/<int:enterprise_id>/qualifications/new", methods=["GET", "POST"])
@editor_required
def qualification_new(enterprise_id: int):
    enterprise = get_enterprise_or_404(current_user, enterprise_id)
    form = QualificationForm()
    if request.method == "GET" and request.args.get("kind") in KINDS:
        form.kind.data = request.args["kind"]

    def grant() -> Any:
        qualification = services.grant_qualification(
            enterprise, form.kind.data, form.number.data, form.granted_on.data,
            form.valid_until.data, form.batch.data, source="manual",
            evidence=form.evidence_note.data or None, actor_id=current_user.id,
        )
        _attach_upload(form, qualification)
        return qualification

    if form.validate_on_submit() and (saved := commit_or_report(form, grant)).ok:
        qualification = saved.result
        for note in validity.number_notes(qualification.kind, qualification.number,
                                          qualification.granted_on):
            flash(note["message"], "warning" if note["level"] == "warning" else "info")
        flash(_("已登记资质：%(k)s", k=KINDS[qualification.kind]), "success")
        return redirect(_back(enterprise.id))
    return render_template("ladder/qualification_form.html", form=form, enterprise=enterprise,
                           qualification=None), page_status(form)


@bp.route("/qualifications/<int:qualification_id>/edit", methods=["GET", "POST"])
@editor_required
def qualification_edit(qualification_id: int):
    qualification = queries.get_qualification_or_404(current_user, qualification_id)
    enterprise = qualification.enterprise
    form = QualificationForm(obj=qualification)
    form.kind.render_kw = {"disabled": True}
    if request.method == "GET":
        form.version.data = qualification.version
    else:
        form.kind.data = qualification.kind

    def update() -> None:
        services.update_qualification(
            qualification,
            {"number": form.number.data, "granted_on": form.granted_on.data,
             "valid_until": form.valid_until.data, "batch": form.batch.data},
            expected_version=form.version.data or None, actor_id=current_user.id)
        _attach_upload(form, qualification)

    saved: Outcome | None = None
    if form.validate_on_submit():
        saved = commit_or_report(form, update, current_version=lambda: qualification.version)
        if saved.ok:
            flash(_("已保存"), "success")
            return redirect(_back(enterprise.id))
    notes = validity.number_notes(qualification.kind, qualification.number,
                                  qualification.granted_on)
    return render_template("ladder/qualification_form.html", form=form, enterprise=enterprise,
                           qualification=qualification, notes=notes), page_status(form, saved)


@bp.route("/qualifications/<int:qualification_id>/revoke", methods=["GET", "POST"])
@editor_required
def qualification_revoke(qualification_id: int):
    qualification = queries.get_qualification_or_404(current_user, qualification_id)
    form = RevokeForm()
    if request.method == "GET":
        form.version.data = qualification.version
        form.revoked_on.data = today()
    saved: Outcome | None = None
    if form.validate_on_submit():
        saved = commit_or_report(form, lambda: services.revoke_qualification(
            qualification, form.revoked_on.data, form.reason.data, source="manual",
            actor_id=current_user.id, expected_version=form.version.data or None,
            mistaken=bool(form.mistaken.data)), record=qualification)
        if saved.ok:
            flash(_("已撤销该资质"), "success")
            return redirect(_back(qualification.enterprise_id))
    return render_template("ladder/revoke.html", form=form, qualification=qualification,
                           enterprise=qualification.enterprise), page_status(form, saved)


@bp.get("/qualifications/<int:qualification_id>/evidence")
@login_required
def evidence(qualification_id: int):
    qualification = queries.get_qualification_or_404(current_user, qualification_id)
    path = services.evidence_file(qualification)
    if path is None:
        abort(404)
    response = send_file(path, mimetype=qualification.evidence_type,
                         as_attachment=request.args.get("download") == "1",
                         download_name=qualification.evidence_name or path.name)
    # Served inline: the browser must not second-guess the checked type; and never cached
    # by shared proxies, since the file is only for users in scope.
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --------------------------------------------------------------------------------------------
# Applications
# --------------------------------------------------------------------------------------------


@bp.route("/enterprises/<int:enterprise_id>/applications/new", methods=["GET", "POST"])
@editor_required
def application_new(enterprise_id: int):
    enterprise = get_enterprise_or_404(current_user, enterprise_id)
    form = ApplicationForm()
    form.owner_id.choices = officer_choices()
    if request.method == "GET":
        form.year.data = today().year
        form.owner_id.data = current_user.id
        if request.args.get("kind") in KINDS:
            form.kind.data = request.args["kind"]
    if form.validate_on_submit():
        data = {"kind": form.kind.data, "year": form.year.data, "batch": form.batch.data,
                "owner_id": form.owner_id.data, "deadline": form.deadline.data,
                "notes": form.notes.data}
        if commit_or_report(form, lambda: services.create_application(enterprise, data,
                                                           actor_id=current_user.id)).ok:
            flash(_("已创建申报"), "success")
            return redirect(_back(enterprise.id, "applications"))
    return render_template("ladder/application_form.html", form=form,
                           enterprise=enterprise), page_status(form)


@bp.route("/applications/<int:application_id>/edit", methods=["GET", "POST"])
@editor_required
def application_edit(application_id: int):
    application = queries.get_application_or_404(current_user, application_id)
    form = ApplicationEditForm(obj=application)
    form.owner_id.choices = officer_choices()
    if request.method == "GET":
        form.version.data = application.version
    saved: Outcome | None = None
    if form.validate_on_submit():
        saved = commit_or_report(form, lambda: services.update_application(
            application, {"batch": form.batch.data, "owner_id": form.owner_id.data,
                          "deadline": form.deadline.data, "notes": form.notes.data},
            expected_version=form.version.data or None, actor_id=current_user.id),
            current_version=partial(_application_version, application_id))
        if saved.ok:
            flash(_("已保存"), "success")
            return redirect(_back(application.enterprise_id, "applications"))
    return render_template("ladder/application_edit.html", form=form, application=application,
                           enterprise=application.enterprise, kinds=KINDS,
                           statuses=APPLICATION_STATUSES), page_status(form, saved)


def _application_version(application_id: int) -> int:
    """The version now stored, read again after a refused save's rollback."""
    return queries.get_application_or_404(current_user, application_id).version


@bp.post("/applications/<int:application_id>/move")
@editor_required
def application_move(application_id: int):
    application = queries.get_application_or_404(current_user, application_id)
    form = MoveForm()
    back = safe_next(request.form.get("next"), _back(application.enterprise_id, "applications"))
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(back)
    if form.to_status.data == "approved":
        return redirect(url_for(".application_approve", application_id=application.id))
    if commit_or_report(None, lambda: services.move_application(
            application, form.to_status.data, expected_version=form.version.data or None,
            actor_id=current_user.id, note=form.note.data),
            record=application, lock=form,
            current_version=partial(_application_version, application_id)).ok:
        flash(_("申报状态已更新为「%(s)s」", s=APPLICATION_STATUSES[application.status]),
              "success")
    return redirect(back)


@bp.route("/applications/<int:application_id>/approve", methods=["GET", "POST"])
@editor_required
def application_approve(application_id: int):
    application = queries.get_application_or_404(current_user, application_id)
    form = ApproveForm()
    if request.method == "GET":
        form.version.data = application.version
        form.granted_on.data = today()
    saved: Outcome | None = None
    if form.validate_on_submit():
        saved = commit_or_report(form, lambda: services.move_application(
            application, "approved", expected_version=form.version.data or None,
            actor_id=current_user.id, note=form.note.data, number=form.number.data,
            granted_on=form.granted_on.data, valid_until=form.valid_until.data),
            record=application, current_version=partial(_application_version, application_id))
        if saved.ok:
            flash(_("已批准，资质已登记"), "success")
            return redirect(_back(application.enterprise_id))
    return render_template("ladder/approve.html", form=form, application=application,
                           enterprise=application.enterprise, kinds=KINDS), page_status(form, saved)


# --------------------------------------------------------------------------------------------
# Gap report and self-assessment
# --------------------------------------------------------------------------------------------


@bp.get("/enterprises/<int:enterprise_id>/gaps")
@login_required
def gap_report(enterprise_id: int):
    enterprise = get_enterprise_or_404(current_user, enterprise_id)
    as_of = today()
    quals = services.qualifications_of(enterprise.id)
    try:
        evaluation = results.evaluate_enterprise(enterprise, as_of, qualifications=quals)
        errors = []
    except FactsError as exc:
        evaluation, errors = {"as_of": as_of.isoformat(), "results": []}, exc.errors
    lines = {r["kind"]: gaps.why_not_yet(r) for r in evaluation["results"]}
    held = {q.kind for q in quals if q.status_on(as_of) == "valid"}
    return render_template("ladder/gaps.html", enterprise=enterprise, evaluation=evaluation,
                           lines=lines, errors=errors, kinds=KINDS, held=held)


def _tri(raw: str) -> bool | None:
    return {"1": True, "0": False}.get(raw)


def facts_from_form(form: SelfAssessmentForm) -> dict[str, Any]:
    """The eligibility.md facts typed on the self-assessment form (money 万元 -> 元)."""
    as_of = form.as_of.data
    ent: dict[str, Any] = {
        "founded_on": form.founded_on.data.isoformat() if form.founded_on.data else None,
        "tech_field": form.tech_field.data or None,
        "class1_ip": form.class1_ip.data, "class2_ip": form.class2_ip.data,
        "honours": list(form.honours.data or []),
        "innovation_score": form.innovation_score.data,
    }
    for name in ENTERPRISE_FLAGS:
        ent[name] = _tri(getattr(form, name).data)
    years = {}
    for offset, sub in enumerate(form.year_forms, start=1):
        row = {}
        for key in YEAR_FIELDS:
            value = sub[key].data
            if value is None:
                continue
            row[key] = plain_number(value * WAN if isinstance(value, Decimal) else value)
        if row:
            years[str(as_of.year - offset)] = row
    facts: dict[str, Any] = {"as_of": as_of.isoformat(),
                             "enterprise": {k: v for k, v in ent.items() if v is not None},
                             "years": years}
    if form.kinds.data:
        facts["kinds"] = list(form.kinds.data)
    return facts


def _prefill(form: SelfAssessmentForm, enterprise) -> None:
    """Start the form from a firm's stored records (still editable: a what-if)."""
    facts = build_facts(enterprise, form.as_of.data)
    ent = facts["enterprise"]
    form.founded_on.data = enterprise.founded_on
    form.tech_field.data = ent.get("tech_field") or ""
    form.class1_ip.data, form.class2_ip.data = ent.get("class1_ip"), ent.get("class2_ip")
    form.honours.data = ent.get("honours", [])
    form.innovation_score.data = ent.get("innovation_score")
    for name in ENTERPRISE_FLAGS:
        value = ent.get(name)
        getattr(form, name).data = "" if value is None else ("1" if value else "0")
    for offset, sub in enumerate(form.year_forms, start=1):
        row = facts["years"].get(str(form.as_of.data.year - offset), {})
        for key in YEAR_FIELDS:
            value = row.get(key)
            if value is not None and key not in ("employees", "tech_staff"):
                value = Decimal(str(value)) / WAN
            sub[key].data = value


@bp.route("/self-assessment", methods=["GET", "POST"])
@login_required
def self_assessment():
    form = self_assessment_form(fiscal_years_needed(services.local_thresholds()))
    evaluation = facts = None
    errors: list[dict[str, str]] = []
    enterprise = None
    if request.method == "GET":
        form.as_of.data = today()
        if (enterprise_id := arg_int("enterprise_id")) is not None:
            enterprise = get_enterprise_or_404(current_user, enterprise_id)
            _prefill(form, enterprise)
    status = 200
    if form.validate_on_submit() or enterprise is not None:
        # Prefilled from a firm: show its result at once; the form stays open for what-ifs.
        facts = facts_from_form(form)
        try:
            evaluation = results.evaluate_facts(facts)
        except FactsError as exc:
            errors = exc.errors
            status = 422
    elif form.errors:
        status = 400
    lines = {r["kind"]: gaps.why_not_yet(r) for r in (evaluation or {}).get("results", [])}
    as_of = form.as_of.data or today()
    return render_template(
        "ladder/self_assessment.html", form=form, evaluation=evaluation, errors=errors,
        facts_json=json.dumps(facts, ensure_ascii=False, indent=2) if facts else None,
        lines=lines, kinds=KINDS, year_fields=YEAR_FIELDS, enterprise=enterprise,
        fiscal_years=[as_of.year - n for n in range(1, form.year_count + 1)],
        locally_configured=LOCALLY_CONFIGURED_KINDS,
    ), status


# --------------------------------------------------------------------------------------------
# Admin settings: local thresholds and batch validity
# --------------------------------------------------------------------------------------------

_MONEY_KEYS = ("min_revenue", "min_avg_rd_expense")


def _threshold_form(kind: str, row: LocalThreshold | None) -> ThresholdForm:
    form = ThresholdForm(prefix=kind)
    if request.method == "GET" or request.form.get("kind") != kind:
        values = dict(row.values) if row else {}
        for key, field in form._fields.items():
            if key in values:
                value = values[key]
                field.data = Decimal(str(value)) / WAN if key in _MONEY_KEYS else value
        form.version.data = row.version if row else ""
    return form


@bp.route("/admin/thresholds", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def thresholds():
    rows = {r.kind: r for r in db.session.scalars(select(LocalThreshold))}
    forms = {kind: _threshold_form(kind, rows.get(kind)) for kind in LOCALLY_CONFIGURED_KINDS}
    batch_form = BatchForm(prefix="batch")
    status = 200
    kind = request.form.get("kind")
    if request.method == "POST" and kind in forms:
        form = forms[kind]
        if form.validate_on_submit():
            values: dict[str, Any] = {}
            for key, field in form._fields.items():
                if key in ("version", "csrf_token") or field.data in (None, ""):
                    continue
                values[key] = field.data * WAN if key in _MONEY_KEYS else field.data

            saved = commit_or_report(form, lambda: change_local_thresholds(
                kind, values, actor_id=current_user.id,
                expected_version=form.version.data or None), record=rows.get(kind))
            if saved.ok:
                flash(_("已保存%(k)s本地阈值，资格结果将重新计算", k=KINDS[kind]), "success")
                return redirect(url_for(".thresholds"))
            status = 409 if saved.stale else 400
        else:
            status = 400
    elif request.method == "POST" and kind == "batch":
        if batch_form.validate_on_submit():
            saved = commit_or_report(batch_form, lambda: services.set_batch_validity(
                batch_form.kind.data, batch_form.batch.data, batch_form.valid_until.data,
                batch_form.note.data or None, actor_id=current_user.id))
            if saved.ok:
                flash(_("已设置批次有效期，影响 %(n)d 项资质", n=saved.result), "success")
                return redirect(url_for(".thresholds"))
        status = 400
    batches = list(db.session.scalars(select(LadderBatch).order_by(LadderBatch.kind,
                                                                    LadderBatch.batch)))
    return render_template("ladder/thresholds.html", forms=forms, rows=rows, kinds=KINDS,
                           batch_form=batch_form, batches=batches), status

