"""Enterprise pages: list, record, edit, archive, contacts, yearly figures, activities."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import bindparam, select

from tracker.accounts.access import editor_required, tenant_editor_required
from tracker.accounts.scope import get_enterprise_or_404
from tracker.accounts.services import active_officers, officer_choices
from tracker.audit.models import AuditEvent
from tracker.enterprises import panels, queries, services
from tracker.enterprises.forms import (
    TRI_STATE_FIELDS,
    ActivityForm,
    ArchiveForm,
    ContactForm,
    EnterpriseForm,
    MetricsForm,
    tri_state_raw,
    tri_state_value,
)
from tracker.enterprises.models import (
    METRIC_LABELS,
    MONEY_FIELDS,
    Activity,
    AnnualMetrics,
    Contact,
)
from tracker.enterprises.zones import TECH_FIELDS, ZONES
from tracker.extensions import db
from tracker.forms_support import Outcome, commit_or_report, flash_form_errors, page_status
from tracker.money import wan_to_yuan, yuan_to_wan
from tracker.pagination import requested_size

bp = Blueprint("enterprises", __name__, url_prefix="/enterprises")


@bp.get("/")
@login_required
def index():
    filters = queries.EnterpriseFilters.from_args(request.args)
    size = requested_size()
    page = queries.page(current_user, filters, size=size, after=request.args.get("after"),
                        before=request.args.get("before"))
    total = queries.capped_count(current_user, filters)
    return render_template(
        "enterprises/index.html", page=page, total=total, filters=filters, size=size,
        zones=ZONES, fields=TECH_FIELDS, sorts=queries.SORT_LABELS,
        officers=officer_choices()[1:], extra_filters=queries.describe_extra(filters.extra),
    )


def _form_data(form: EnterpriseForm) -> dict:
    data = {
        "uscc": form.uscc.data,
        "uscc_override_reason": (form.uscc_override_reason.data or "").strip() or None,
        "name": form.name.data,
        "zone": form.zone.data,
        "street": form.street.data,
        "founded_on": form.founded_on.data,
        "tech_field": form.tech_field.data or None,
        "industry_tags": [t.strip() for t in (form.industry_tags.data or "").replace("，", ",")
                          .split(",") if t.strip()],
        "officer_id": form.officer_id.data,
        "address": form.address.data,
        "website": form.website.data,
        "description": form.description.data,
        "honours": sorted(form.honours.data or []),
        "innovation_score": form.innovation_score.data,
    }
    for name in TRI_STATE_FIELDS:
        data[name] = tri_state_value(getattr(form, name).data)
    return data


@bp.route("/new", methods=["GET", "POST"])
@editor_required
def new():
    form = EnterpriseForm()
    form.officer_id.choices = officer_choices()
    if request.method == "GET":
        form.officer_id.data = current_user.id
        if current_user.zone:
            form.zone.data = current_user.zone
    saved: Outcome | None = None
    if form.validate_on_submit():
        data = _form_data(form)
        saved = commit_or_report(form, lambda: services.create_enterprise(data,
                                                                          user=current_user))
        if saved.ok:
            flash(_("已登记企业 %(name)s", name=saved.result.name), "success")
            return redirect(url_for(".detail", enterprise_id=saved.result.id))
    return render_template("enterprises/form.html", form=form, enterprise=None), \
        page_status(form, saved)


@bp.get("/<int:enterprise_id>")
@login_required
def detail(enterprise_id: int):
    enterprise = get_enterprise_or_404(current_user, enterprise_id)
    timeline = _timeline(enterprise.id, limit=12)
    extra = [(panel, panel.context(enterprise, current_user)) for panel in panels.panels()]
    # The inline forms show to tenant-data editors only: nobody else pays for building them.
    # `officers` stays referenced until the page is rendered, so the firm's officer (one of
    # them) is found in the session's identity map rather than queried again.
    forms, officers = {}, []
    if current_user.can_edit_tenant_data:
        officers = active_officers()
        forms = {"activity_form": _activity_form(officers),
                 "contact_form": ContactForm(prefix="contact")}
    return render_template(
        "enterprises/detail.html", enterprise=enterprise, timeline=timeline, panels=extra,
        metric_labels=METRIC_LABELS, money_fields=MONEY_FIELDS, **forms,
    )


def _activity_form(officers: list | None = None) -> ActivityForm:
    form = ActivityForm(prefix="activity")
    form.owner_id.choices = officer_choices(officers)
    return form


#: built once, run with the firm's id (and the limit): the page shows the latest on every view
_EVENTS = (select(AuditEvent).where(AuditEvent.enterprise_id == bindparam("enterprise_id"))
           .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()))
_ACTIVITIES = (select(Activity).where(Activity.enterprise_id == bindparam("enterprise_id"))
               .order_by(Activity.created_at.desc(), Activity.id.desc()))
_LATEST_EVENTS, _LATEST_ACTIVITIES = (q.limit(bindparam("limit")) for q in (_EVENTS, _ACTIVITIES))


def _timeline(enterprise_id: int, *, limit: int | None = None) -> list[dict]:
    """Audit events and activities merged newest first (two queries, whatever the length)."""
    params = {"enterprise_id": enterprise_id, "limit": limit}
    events_q, acts_q = (_LATEST_EVENTS, _LATEST_ACTIVITIES) if limit else (_EVENTS, _ACTIVITIES)
    items = [{"at": e.at, "type": "audit", "obj": e} for e in db.session.scalars(events_q, params)]
    items += [{"at": a.created_at, "type": "activity", "obj": a}
              for a in db.session.scalars(acts_q, params)]
    items.sort(key=lambda item: item["at"], reverse=True)
    return items[:limit] if limit else items


@bp.get("/<int:enterprise_id>/history")
@login_required
def history(enterprise_id: int):
    enterprise = get_enterprise_or_404(current_user, enterprise_id)
    return render_template("enterprises/history.html", enterprise=enterprise,
                           timeline=_timeline(enterprise.id))


@bp.route("/<int:enterprise_id>/edit", methods=["GET", "POST"])
@editor_required
def edit(enterprise_id: int):
    enterprise = get_enterprise_or_404(current_user, enterprise_id)
    form = EnterpriseForm(obj=enterprise)
    form.officer_id.choices = officer_choices()
    if request.method == "GET":
        form.version.data = enterprise.version
        form.industry_tags.data = ", ".join(enterprise.industry_tags or [])
        for name in TRI_STATE_FIELDS:
            getattr(form, name).data = tri_state_raw(getattr(enterprise, name))
    saved: Outcome | None = None
    if form.validate_on_submit():
        data = _form_data(form)
        saved = commit_or_report(
            form,
            lambda: services.update_enterprise(enterprise, data, user=current_user,
                                               expected_version=form.version.data or None),
            current_version=lambda: get_enterprise_or_404(current_user, enterprise_id).version,
        )
        if saved.ok:
            changes = saved.result
            flash(_("已保存 %(n)d 项修改", n=len(changes)) if changes else _("没有修改"),
                  "success")
            return redirect(url_for(".detail", enterprise_id=enterprise.id))
    return (render_template("enterprises/form.html", form=form, enterprise=enterprise),
            page_status(form, saved))


@bp.route("/<int:enterprise_id>/archive", methods=["GET", "POST"])
@editor_required
def archive(enterprise_id: int):
    enterprise = get_enterprise_or_404(current_user, enterprise_id)
    form = ArchiveForm()
    if request.method == "GET":
        form.version.data = enterprise.version
        return render_template("enterprises/archive.html", enterprise=enterprise, form=form)
    if form.validate_on_submit():
        restoring = enterprise.archived
        saved = commit_or_report(None, lambda: services.set_archived(
            enterprise, not restoring, expected_version=form.version.data,
            reason=form.reason.data or ""), record=enterprise, lock=form)
        if saved.ok:
            flash(_("已恢复") if restoring else _("已归档（可随时恢复）"), "success")
    return redirect(url_for(".detail", enterprise_id=enterprise.id))


def _submit_inline(form, save, success: str) -> None:
    """Run a form embedded in the enterprise page; problems come back as flash messages."""
    if not form.validate_on_submit():
        flash_form_errors(form)
        return
    if commit_or_report(None, save).ok:
        flash(success, "success")


@bp.post("/<int:enterprise_id>/contacts")
@tenant_editor_required
def contact_add(enterprise_id: int):
    enterprise = get_enterprise_or_404(current_user, enterprise_id)
    form = ContactForm(prefix="contact")
    _submit_inline(form, lambda: services.save_contact(enterprise, form.data), _("已添加联系人"))
    return redirect(url_for(".detail", enterprise_id=enterprise.id) + "#contacts")


def _contact_or_404(enterprise_id: int, contact_id: int) -> tuple:
    enterprise = get_enterprise_or_404(current_user, enterprise_id)
    contact = db.session.get(Contact, contact_id)
    if contact is None or contact.enterprise_id != enterprise.id:
        abort(404)
    return enterprise, contact


@bp.route("/<int:enterprise_id>/contacts/<int:contact_id>", methods=["GET", "POST"])
@tenant_editor_required
def contact_edit(enterprise_id: int, contact_id: int):
    enterprise, contact = _contact_or_404(enterprise_id, contact_id)
    form = ContactForm(obj=contact)
    saved: Outcome | None = None
    if form.validate_on_submit():
        saved = commit_or_report(form, lambda: services.save_contact(enterprise, form.data,
                                                                     contact))
        if saved.ok:
            flash(_("已保存"), "success")
            return redirect(url_for(".detail", enterprise_id=enterprise.id) + "#contacts")
    return render_template("enterprises/contact_form.html", form=form, enterprise=enterprise,
                           contact=contact), page_status(form, saved)


@bp.post("/<int:enterprise_id>/contacts/<int:contact_id>/delete")
@tenant_editor_required
def contact_delete(enterprise_id: int, contact_id: int):
    enterprise, contact = _contact_or_404(enterprise_id, contact_id)
    services.remove_contact(contact)
    db.session.commit()
    flash(_("已删除联系人"), "success")
    return redirect(url_for(".detail", enterprise_id=enterprise.id) + "#contacts")


@bp.route("/<int:enterprise_id>/metrics/new", methods=["GET", "POST"],
          defaults={"year": None})
@bp.route("/<int:enterprise_id>/metrics/<int:year>", methods=["GET", "POST"])
@tenant_editor_required
def metrics(enterprise_id: int, year: int | None):
    enterprise = get_enterprise_or_404(current_user, enterprise_id)
    row = None
    if year is not None:
        row = db.session.scalar(select(AnnualMetrics).where(
            AnnualMetrics.enterprise_id == enterprise.id, AnnualMetrics.fiscal_year == year))
        if row is None:
            abort(404)
    form = MetricsForm(obj=row)
    if request.method == "GET" and row is not None:
        form.version.data = row.version
        for name in MONEY_FIELDS:
            getattr(form, name).data = yuan_to_wan(getattr(row, name))
    saved: Outcome | None = None
    submitted = form.validate_on_submit()
    if submitted and year is None and db.session.scalar(
            select(AnnualMetrics.id).where(AnnualMetrics.enterprise_id == enterprise.id,
                                           AnnualMetrics.fiscal_year == form.fiscal_year.data)):
        # The new-year form starts blank: saving it over a year on file would erase its figures.
        form.fiscal_year.errors = [*form.fiscal_year.errors, _(
            "%(y)s 年度已有数据，请在年度数据表中点击该年度修改", y=form.fiscal_year.data)]
    elif submitted:
        values = {}
        for name in METRIC_LABELS:
            value = getattr(form, name).data
            values[name] = wan_to_yuan(value) if name in MONEY_FIELDS else value
        saved = commit_or_report(form, lambda: services.save_metrics(
            enterprise, form.fiscal_year.data, values,
            expected_version=form.version.data or None))
        if saved.ok:
            flash(_("已保存 %(y)s 年度数据", y=form.fiscal_year.data), "success")
            return redirect(url_for(".detail", enterprise_id=enterprise.id) + "#metrics")
    return render_template("enterprises/metrics_form.html", form=form, enterprise=enterprise,
                           row=row, money_fields=MONEY_FIELDS,
                           metric_names=list(METRIC_LABELS)), page_status(form, saved)


@bp.post("/<int:enterprise_id>/activities")
@tenant_editor_required
def activity_add(enterprise_id: int):
    enterprise = get_enterprise_or_404(current_user, enterprise_id)
    form = _activity_form()
    _submit_inline(
        form,
        lambda: services.add_activity(enterprise, form.data, created_by_id=current_user.id),
        _("已记录"),
    )
    return redirect(url_for(".detail", enterprise_id=enterprise.id) + "#timeline")


@bp.post("/<int:enterprise_id>/activities/<int:activity_id>/done")
@tenant_editor_required
def activity_done(enterprise_id: int, activity_id: int):
    enterprise = get_enterprise_or_404(current_user, enterprise_id)
    activity = db.session.get(Activity, activity_id)
    if activity is None or activity.enterprise_id != enterprise.id:
        abort(404)
    services.complete_task(activity)
    db.session.commit()
    flash(_("已标记完成：%(subject)s", subject=activity.subject), "success")
    return redirect(url_for(".detail", enterprise_id=enterprise.id) + "#timeline")
