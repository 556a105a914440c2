"""Carrier pages, tenancies, the proposal review queue and tenant reports.

Every lookup goes through carrier_scope / tenancy_scope / enterprise_scope: out of scope is 404.
"""

from __future__ import annotations

from datetime import date

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import false, func, select
from sqlalchemy.orm import contains_eager, joinedload

from tracker.accounts.access import roles_required, tenant_editor_required
from tracker.accounts.roles import EDITOR_ROLES, Role
from tracker.accounts.scope import (
    carrier_scope,
    counted_tenancies,
    enterprise_scope,
    get_carrier_or_404,
    get_tenancy_or_404,
    may_edit_tenancy,
    may_see_enterprise,
    tenancy_scope,
)
from tracker.audit.models import AuditEvent
from tracker.clock import today
from tracker.enterprises import uscc as uscc_codes
from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.forms_support import Outcome, commit_or_report, page_status
from tracker.incubation import criteria, services
from tracker.incubation.forms import (
    CarrierForm,
    ConfirmForm,
    CycleForm,
    DecisionForm,
    ProposalForm,
    ReportForm,
    TenancyEditForm,
    TenancyOpenForm,
)
from tracker.incubation.models import (
    CARRIER_KINDS,
    CARRIER_SCHEMES,
    GRADUATION_BASES,
    LEVEL_LABELS,
    PROPOSAL_ACTIONS,
    PROPOSAL_STATUSES,
    REPORT_FIELDS,
    REPORT_MONEY_FIELDS,
    TENANCY_STATUSES,
    Carrier,
    ReportingCycle,
    StatusProposal,
    Tenancy,
    TenantReport,
)
from tracker.money import wan_to_yuan, yuan_to_wan
from tracker.pagination import SortKey, both_ways, keyset_page, requested_size, requested_sort
from tracker.spreadsheets import Column, csv_stream

bp = Blueprint("incubation", __name__, url_prefix="/incubation")

#: carriers and reporting cycles are defined by the bureau, not by zone staff or managers
BUREAU_ROLES = (Role.ADMIN, Role.BUREAU)


def incubation_labels() -> dict:
    """Label maps for incubation templates, the enterprise-page panel and the dashboard card."""
    return {"carrier_kinds": CARRIER_KINDS, "carrier_schemes": CARRIER_SCHEMES,
            "level_labels": LEVEL_LABELS, "graduation_bases": GRADUATION_BASES,
            "proposal_actions": PROPOSAL_ACTIONS, "proposal_statuses": PROPOSAL_STATUSES,
            "tenancy_statuses": TENANCY_STATUSES}


# --------------------------------------------------------------------------------------------
# Carriers
# --------------------------------------------------------------------------------------------


#: the carrier list's sortable columns (whitelist; each reversible with "-")
CARRIER_SORTS = {
    **both_ways("name", [SortKey(Carrier.name_pinyin), SortKey(Carrier.id, kind="int")]),
    **both_ways("created", [SortKey(Carrier.created_at, kind="datetime"),
                            SortKey(Carrier.id, kind="int")]),
}
#: a carrier's tenants: by move-in (newest first by default), term end, or firm name in pinyin
TENANT_SORTS = {
    **both_ways("moved_in", [SortKey(Tenancy.moved_in_on, kind="date"),
                             SortKey(Tenancy.id, kind="int")]),
    **both_ways("term_ends", [SortKey(Tenancy.term_ends_on, kind="date"),
                              SortKey(Tenancy.id, kind="int")]),
    **both_ways("name", [SortKey(Enterprise.name_pinyin), SortKey(Tenancy.id, kind="int")]),
}


def _tenant_values(keys: list[SortKey]):
    """A tenancy row's sort values; the firm's name key is read from its joined firm."""
    return lambda t: [getattr(t.enterprise if k.column.table is Enterprise.__table__ else t,
                              k.column.key) for k in keys]


@bp.get("/carriers")
@login_required
def carriers():
    query = select(Carrier).where(carrier_scope(current_user))
    show_archived = request.args.get("archived") == "1"
    if not show_archived:
        query = query.where(Carrier.archived.is_(False))
    if kind := request.args.get("kind"):
        query = query.where(Carrier.kind == kind)
    sort = requested_sort(CARRIER_SORTS, "name")
    page = keyset_page(db.session, query, CARRIER_SORTS[sort],
                       size=requested_size(), after=request.args.get("after"),
                       before=request.args.get("before"))
    counts: dict[int, dict[str, int]] = {}
    ids = [c.id for c in page.items]
    if ids:
        rows = db.session.execute(
            select(Tenancy.carrier_id, Tenancy.status, func.count(Tenancy.id))
            .where(Tenancy.carrier_id.in_(ids), counted_tenancies(current_user))
            .group_by(Tenancy.carrier_id, Tenancy.status))
        for carrier_id, status, n in rows:
            counts.setdefault(carrier_id, {})[status] = n
    return render_template("incubation/carriers.html", page=page, counts=counts,
                           show_archived=show_archived, sort=sort, size=requested_size())


def _carrier_form_data(form: CarrierForm) -> dict:
    return {
        "name": form.name.data, "kind": form.kind.data, "scheme": form.scheme.data,
        "specialised": bool(form.specialised.data), "operator": form.operator.data,
        "zone": form.zone.data or None, "address": form.address.data,
        "area_m2": form.area_m2.data, "workstations": form.workstations.data,
        "recognised_on": form.recognised_on.data,
        "default_term_months": form.default_term_months.data,
    }


@bp.route("/carriers/new", methods=["GET", "POST"])
@roles_required(*BUREAU_ROLES)
def carrier_new():
    form = CarrierForm()
    if form.validate_on_submit():
        saved = commit_or_report(form, lambda: services.save_carrier(_carrier_form_data(form)))
        if saved.ok:
            flash(_("已登记载体 %(name)s", name=saved.result.name), "success")
            return redirect(url_for(".carrier", carrier_id=saved.result.id))
    return render_template("incubation/carrier_form.html", form=form,
                           carrier=None), page_status(form)


@bp.route("/carriers/<int:carrier_id>/edit", methods=["GET", "POST"])
@roles_required(*BUREAU_ROLES)
def carrier_edit(carrier_id: int):
    carrier = get_carrier_or_404(current_user, carrier_id)
    form = CarrierForm(obj=carrier)  # its version too
    saved: Outcome | None = None
    if form.validate_on_submit():
        saved = commit_or_report(form, lambda: services.save_carrier(
            _carrier_form_data(form), carrier, expected_version=form.version.data or None),
            current_version=lambda: get_carrier_or_404(current_user, carrier_id).version)
        if saved.ok:
            flash(_("已保存"), "success")
            return redirect(url_for(".carrier", carrier_id=carrier.id))
    return render_template("incubation/carrier_form.html", form=form,
                           carrier=carrier), page_status(form, saved)


#: the carrier page's tenant download (the imports page exports all carriers' tenancies)
TENANT_COLUMNS = [
    Column("企业名称"), Column("统一社会信用代码"), Column("入驻日期", "date"),
    Column("孵化期满", "date"), Column("状态"), Column("结束日期", "date"), Column("毕业依据"),
    Column("租用面积(m²)", "number"),
]


def _tenants_query(carrier: Carrier, status: str, later_hnte: bool = False,
                   on: date | None = None):
    query = (select(Tenancy).join(Enterprise, Tenancy.enterprise_id == Enterprise.id)
             .options(contains_eager(Tenancy.enterprise))
             .where(tenancy_scope(current_user), Tenancy.carrier_id == carrier.id))
    if status in TENANCY_STATUSES:
        query = query.where(Tenancy.status == status)
    if later_hnte:
        query = query.where(services.graduated_then_hnte())
    if on is not None:
        query = query.where(services.resident_on(on))
    return query


@bp.get("/carriers/<int:carrier_id>")
@login_required
def carrier(carrier_id: int):
    carrier = get_carrier_or_404(current_user, carrier_id)
    status = request.args.get("status", "incubating")
    later_hnte = request.args.get("later_hnte") == "1"
    try:
        on = date.fromisoformat(request.args.get("on", ""))
    except ValueError:
        on = None
    tenants = _tenants_query(carrier, status, later_hnte, on)
    # the dashboard's carrier figures link here; the count is the one they show
    tenant_total = db.session.scalar(select(func.count()).select_from(
        tenants.with_only_columns(Tenancy.id).subquery()))
    sort = requested_sort(TENANT_SORTS, "-moved_in")
    keys = TENANT_SORTS[sort]
    page = keyset_page(
        db.session, tenants, keys, row_values=_tenant_values(keys),
        size=requested_size(), after=request.args.get("after"), before=request.args.get("before"))
    check = services.carrier_check(carrier, user=current_user)
    rented = db.session.scalar(select(func.sum(Tenancy.area_m2)).where(
        Tenancy.carrier_id == carrier.id, Tenancy.status == "incubating",
        counted_tenancies(current_user)))
    pending = db.session.scalars(
        select(StatusProposal).join(Tenancy, StatusProposal.tenancy_id == Tenancy.id)
        .options(joinedload(StatusProposal.tenancy).joinedload(Tenancy.enterprise))
        .where(tenancy_scope(current_user), Tenancy.carrier_id == carrier.id,
               StatusProposal.status == "pending")
        .order_by(StatusProposal.proposed_at)).all()
    pending_ids = {p.tenancy_id for p in pending}
    return render_template(
        "incubation/carrier.html", carrier=carrier, page=page, status=status, check=check,
        rented=rented, pending=pending, pending_ids=pending_ids, tenant_total=tenant_total,
        later_hnte=later_hnte, on=on, sort=sort, size=requested_size(),
        can_open=current_user.role in EDITOR_ROLES and not carrier.archived,
    )


@bp.get("/carriers/<int:carrier_id>/tenants.csv")
@login_required
def carrier_export(carrier_id: int):
    carrier = get_carrier_or_404(current_user, carrier_id)
    rows = db.session.scalars(_tenants_query(carrier, request.args.get("status", "all"))
                              .order_by(Tenancy.moved_in_on, Tenancy.id)).all()
    body = csv_stream(TENANT_COLUMNS, (
        [t.enterprise.name, t.enterprise.uscc, t.moved_in_on, t.term_ends_on,
         TENANCY_STATUSES.get(t.status, t.status), t.ended_on,
         GRADUATION_BASES.get(t.graduation_basis), t.area_m2] for t in rows))
    filename = f"tenants-{carrier.id}.csv"
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={filename}"})


# --------------------------------------------------------------------------------------------
# Tenancies
# --------------------------------------------------------------------------------------------


@bp.route("/carriers/<int:carrier_id>/tenancies/new", methods=["GET", "POST"])
@roles_required(*EDITOR_ROLES)
def tenancy_new(carrier_id: int):
    carrier = get_carrier_or_404(current_user, carrier_id)
    form = TenancyOpenForm()
    if request.method == "GET":
        form.uscc.data = request.args.get("uscc", "")
    if form.validate_on_submit():
        enterprise = db.session.scalar(select(Enterprise).where(
            enterprise_scope(current_user),
            Enterprise.uscc == uscc_codes.normalise(form.uscc.data)))
        if enterprise is None:
            form.uscc.errors = [_("未找到该统一社会信用代码对应的企业（或不在您的管辖范围内）")]
        else:
            saved = commit_or_report(form, lambda: services.open_tenancy(
                enterprise, carrier, form.moved_in_on.data, form.term_ends_on.data,
                form.term_override_reason.data, area_m2=form.area_m2.data,
                user=current_user))
            if saved.ok:
                tenancy = saved.result
                flash(_("已登记入驻：%(name)s", name=enterprise.name), "success")
                for warning in tenancy.warnings:
                    flash(_("入驻条件提示：%(w)s", w=warning), "warning")
                return redirect(url_for(".tenancy", tenancy_id=tenancy.id))
    return render_template("incubation/tenancy_new.html", form=form, carrier=carrier,
                           default_end=services.default_term_end(carrier, today())
                           ), page_status(form)


@bp.get("/tenancies/<int:tenancy_id>")
@login_required
def tenancy(tenancy_id: int):
    tenancy = get_tenancy_or_404(current_user, tenancy_id)
    # A past tenancy is history: a former carrier's manager sees the row, not the firm's figures.
    firm_visible = may_see_enterprise(current_user, tenancy.enterprise_id)
    proposals = db.session.scalars(select(StatusProposal).where(
        StatusProposal.tenancy_id == tenancy.id).order_by(StatusProposal.proposed_at.desc())
    ).all()
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == "tenancy", AuditEvent.entity_id == tenancy.id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(30)).all()
    return render_template(
        "incubation/tenancy.html", tenancy=tenancy, proposals=proposals, events=events,
        checks=(criteria.graduation_checks(services.graduation_facts(tenancy.enterprise))
                if firm_visible else []),
        warnings=(services.entry_warnings(tenancy.enterprise, tenancy.carrier,
                                          tenancy.moved_in_on) if firm_visible else []),
        pending=services.pending_proposal(tenancy), firm_visible=firm_visible,
        may_edit=may_edit_tenancy(current_user, tenancy.id),
        months_in=criteria.months_between(tenancy.moved_in_on,
                                          tenancy.ended_on or today()),
    )


@bp.route("/tenancies/<int:tenancy_id>/edit", methods=["GET", "POST"])
@tenant_editor_required
def tenancy_edit(tenancy_id: int):
    tenancy = get_tenancy_or_404(current_user, tenancy_id, for_edit=True)
    form = TenancyEditForm(obj=tenancy)  # its version too
    saved: Outcome | None = None
    if form.validate_on_submit():
        saved = commit_or_report(form, lambda: services.update_tenancy(tenancy, {
            "moved_in_on": form.moved_in_on.data, "term_ends_on": form.term_ends_on.data,
            "term_override_reason": form.term_override_reason.data,
            "area_m2": form.area_m2.data,
        }, expected_version=form.version.data or None, user=current_user),
            current_version=lambda: get_tenancy_or_404(current_user, tenancy_id).version)
        if saved.ok:
            changes = saved.result
            flash(_("已保存 %(n)d 项修改", n=len(changes)) if changes else _("没有修改"),
                  "success")
            return redirect(url_for(".tenancy", tenancy_id=tenancy.id))
    return render_template("incubation/tenancy_form.html", form=form, tenancy=tenancy,
                           default_end=services.default_term_end(tenancy.carrier,
                                                                 tenancy.moved_in_on)
                           ), page_status(form, saved)


def _next_carrier_choices(exclude_id: int | None) -> list[tuple[str, str]]:
    """Carriers the user may name as a destination (their scope; managers name none)."""
    if current_user.role not in EDITOR_ROLES:
        return []
    rows = db.session.execute(select(Carrier.id, Carrier.name).where(
        carrier_scope(current_user), Carrier.archived.is_(False), Carrier.id != exclude_id)
        .order_by(Carrier.name)).all()
    return [("", "—")] + [(str(i), n) for i, n in rows]


@bp.route("/tenancies/<int:tenancy_id>/propose", methods=["GET", "POST"])
@tenant_editor_required
def propose(tenancy_id: int):
    tenancy = get_tenancy_or_404(current_user, tenancy_id, for_edit=True)
    form = ProposalForm()
    form.next_carrier_id.choices = _next_carrier_choices(tenancy.carrier_id)
    if request.method == "GET":
        form.action.data = request.args.get("action", "graduate")
        form.effective_on.data = today()
    if form.validate_on_submit():
        data = {
            "effective_on": form.effective_on.data,
            "graduation_basis": form.graduation_basis.data or None,
            "evidence": form.evidence.data, "reason": form.reason.data,
            "next_carrier_id": form.next_carrier_id.data if form.next_carrier_id.choices
            else None,
            "next_carrier_note": form.next_carrier_note.data,
        }
        saved = commit_or_report(form, lambda: services.propose(tenancy, form.action.data, data,
                                                     user=current_user))
        if saved.ok:
            flash(_("已提交，等待区科技局审核"), "success")
            return redirect(url_for(".proposal", proposal_id=saved.result.id))
    facts = services.graduation_facts(tenancy.enterprise)
    return render_template("incubation/propose.html", form=form, tenancy=tenancy,
                           checks=criteria.graduation_checks(facts),
                           pending=services.pending_proposal(tenancy)), page_status(form)


# --------------------------------------------------------------------------------------------
# Proposals: the review queue
# --------------------------------------------------------------------------------------------


def _proposal_or_404(proposal_id: int) -> StatusProposal:
    proposal = db.session.scalar(
        select(StatusProposal).join(Tenancy, StatusProposal.tenancy_id == Tenancy.id)
        .where(tenancy_scope(current_user), StatusProposal.id == proposal_id))
    if proposal is None:
        abort(404)
    return proposal


@bp.get("/proposals")
@login_required
def proposals():
    default = "pending" if current_user.role in EDITOR_ROLES else "all"
    status = request.args.get("status", default)
    query = (select(StatusProposal).join(Tenancy, StatusProposal.tenancy_id == Tenancy.id)
             .options(joinedload(StatusProposal.tenancy).joinedload(Tenancy.enterprise),
                      joinedload(StatusProposal.tenancy).joinedload(Tenancy.carrier),
                      joinedload(StatusProposal.proposed_by))
             .where(tenancy_scope(current_user)))
    if status in PROPOSAL_STATUSES:
        query = query.where(StatusProposal.status == status)
    page = keyset_page(db.session, query,
                       [SortKey(StatusProposal.id, descending=True, kind="int")],
                       size=requested_size(), after=request.args.get("after"),
                       before=request.args.get("before"))
    return render_template("incubation/proposals.html", page=page, status=status)


@bp.route("/proposals/<int:proposal_id>", methods=["GET", "POST"])
@login_required
def proposal(proposal_id: int):
    proposal = _proposal_or_404(proposal_id)
    tenancy = proposal.tenancy
    form = DecisionForm()
    form.next_carrier_id.choices = _next_carrier_choices(tenancy.carrier_id)
    status = 200
    if request.method == "GET":
        form.version.data = proposal.version
        form.next_carrier_id.data = proposal.next_carrier_id
        form.next_moved_in_on.data = proposal.effective_on
    elif not services.may_decide(current_user, proposal):
        abort(403)
    elif form.validate_on_submit():

        def decide() -> list[tuple[str, str]]:
            """Record the decision; returns what to tell the user once it is committed."""
            if form.decision.data == "approve":
                next_carrier = None
                if form.next_carrier_id.data:
                    next_carrier = get_carrier_or_404(current_user, form.next_carrier_id.data)
                services.approve(proposal, user=current_user, comment=form.comment.data,
                                 next_carrier=next_carrier,
                                 next_moved_in_on=form.next_moved_in_on.data,
                                 expected_version=form.version.data or None)
                return [(_("已批准：%(name)s %(action)s", name=tenancy.enterprise.name,
                           action=_(PROPOSAL_ACTIONS[proposal.action])), "success")] + [
                    (_("入驻条件提示：%(w)s", w=w), "warning")
                    for w in getattr(proposal, "warnings", [])]
            if form.decision.data == "reject":
                services.reject(proposal, user=current_user, comment=form.comment.data,
                                expected_version=form.version.data or None)
                return [(_("已驳回"), "success")]
            abort(400)

        saved = commit_or_report(form, decide, record=proposal,
                                 current_version=lambda: proposal.version,
                                 stale=lambda _version: _("该申请已被他人处理，请刷新后查看"))
        if saved.ok:
            for message, category in saved.result:
                flash(message, category)
            return redirect(url_for(".proposal", proposal_id=proposal.id))
        status = 409 if saved.stale else 400
    # A former carrier keeps the proposal as history, not the firm's present figures.
    firm_visible = may_see_enterprise(current_user, tenancy.enterprise_id)
    return render_template(
        "incubation/proposal.html", proposal=proposal, tenancy=tenancy, form=form,
        confirm=ConfirmForm(), firm_visible=firm_visible,
        checks=(criteria.graduation_checks(services.graduation_facts(tenancy.enterprise))
                if firm_visible else []),
        may_decide=services.may_decide(current_user, proposal),
    ), status


@bp.post("/proposals/<int:proposal_id>/withdraw")
@login_required
def proposal_withdraw(proposal_id: int):
    proposal = _proposal_or_404(proposal_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        if commit_or_report(None, lambda: services.withdraw(proposal, user=current_user)).ok:
            flash(_("已撤回"), "success")
    except PermissionError:
        abort(403)
    return redirect(url_for(".proposal", proposal_id=proposal.id))


# --------------------------------------------------------------------------------------------
# Tenant reports
# --------------------------------------------------------------------------------------------


@bp.get("/reports")
@login_required
def cycles():
    page = keyset_page(db.session, select(ReportingCycle),
                       [SortKey(ReportingCycle.due_on, descending=True, kind="date"),
                        SortKey(ReportingCycle.id, descending=True, kind="int")],
                       size=requested_size(), after=request.args.get("after"),
                       before=request.args.get("before"))
    progress = services.reports_progress(page.items, current_user)
    return render_template("incubation/cycles.html", page=page, progress=progress,
                           can_create=current_user.role in BUREAU_ROLES)


@bp.route("/reports/new", methods=["GET", "POST"])
@roles_required(*BUREAU_ROLES)
def cycle_new():
    form = CycleForm()
    if form.validate_on_submit():
        data = {"name": form.name.data, "period_start": form.period_start.data,
                "period_end": form.period_end.data, "fiscal_year": form.fiscal_year.data,
                "due_on": form.due_on.data}
        saved = commit_or_report(form, lambda: services.create_cycle(data, user=current_user))
        if saved.ok:
            flash(_("已创建报送周期 %(name)s", name=saved.result.name), "success")
            return redirect(url_for(".cycle", cycle_id=saved.result.id))
    return render_template("incubation/cycle_form.html", form=form), page_status(form)


def _cycle_or_404(cycle_id: int) -> ReportingCycle:
    cycle = db.session.get(ReportingCycle, cycle_id)
    if cycle is None:
        abort(404)
    return cycle


@bp.get("/reports/<int:cycle_id>")
@login_required
def cycle(cycle_id: int):
    cycle = _cycle_or_404(cycle_id)
    query = services.reports_query(cycle, current_user).options(
        joinedload(Tenancy.enterprise), joinedload(Tenancy.carrier))
    late_only = request.args.get("late") == "1"
    if late_only:
        query = query.where(TenantReport.id.is_(None)) if today() > cycle.due_on \
            else query.where(false())
    page = keyset_page(db.session, query,
                       [SortKey(Tenancy.id, kind="int")], size=requested_size(),
                       after=request.args.get("after"), before=request.args.get("before"))
    ids = [t.id for t in page.items]
    reports = {}
    if ids:
        reports = {r.tenancy_id: r for r in db.session.scalars(select(TenantReport).where(
            TenantReport.cycle_id == cycle.id, TenantReport.tenancy_id.in_(ids)))}
    return render_template(
        "incubation/cycle.html", cycle=cycle, page=page, reports=reports, late_only=late_only,
        progress=services.report_progress(cycle, current_user),
        is_late=lambda r: services.is_late(cycle, r),
    )


@bp.route("/reports/<int:cycle_id>/tenancies/<int:tenancy_id>", methods=["GET", "POST"])
@tenant_editor_required
def report(cycle_id: int, tenancy_id: int):
    cycle = _cycle_or_404(cycle_id)
    tenancy = get_tenancy_or_404(current_user, tenancy_id)
    if not db.session.scalar(select(Tenancy.id).where(Tenancy.id == tenancy.id,
                                                      services.expected_clause(cycle))):
        abort(404)  # not resident during the cycle: nothing to report
    existing = db.session.scalar(select(TenantReport).where(
        TenantReport.cycle_id == cycle.id, TenantReport.tenancy_id == tenancy.id))
    form = ReportForm(obj=existing)
    if request.method == "GET" and existing is not None:
        for name in REPORT_MONEY_FIELDS:
            getattr(form, name).data = yuan_to_wan(getattr(existing, name))
    saved: Outcome | None = None
    if form.validate_on_submit():
        values = {}
        for name in REPORT_FIELDS:
            value = getattr(form, name).data
            values[name] = wan_to_yuan(value) if name in REPORT_MONEY_FIELDS else value
        saved = commit_or_report(form, lambda: services.submit_report(
            cycle, tenancy, values, user=current_user,
            expected_version=form.version.data or None),
            current_version=lambda: existing.version if existing else 1)
        if saved.ok:
            flash(_("已报送 %(name)s 的数据", name=tenancy.enterprise.name), "success")
            return redirect(url_for(".cycle", cycle_id=cycle.id))
    return render_template("incubation/report_form.html", form=form, cycle=cycle,
                           tenancy=tenancy, report=existing,
                           field_names=list(REPORT_FIELDS)), page_status(form, saved)
