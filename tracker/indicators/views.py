"""The indicator page (period picker), yearly figures with their history, targets and sources."""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from tracker import snapshots
from tracker.clock import today
from tracker.extensions import db
from tracker.forms_support import commit_or_report, page_status
from tracker.indicators import catalogue, services
from tracker.indicators.forms import SourceForm, TargetForm, ValueEditForm, ValueForm
from tracker.indicators.models import IndicatorValue, PlanIndicator, PlanPeriod, PlanTarget
from tracker.indicators.status import STATUS_LABELS
from tracker.inputs import arg_int

bp = Blueprint("indicators", __name__, url_prefix="/dashboard/indicators")

#: audited fields as the history lists them
FIELD_LABELS = {"year": "年度", "value": "数值", "source": "来源", "target": "目标值",
                "target_note": "目标说明", "baseline": "基数", "source_title": "文件标题",
                "source_number": "文号", "source_date": "发布日期"}


@bp.context_processor
def _labels() -> dict:
    return {"field_labels": {name: _(label) for name, label in FIELD_LABELS.items()}}


def _require(edit: bool = False) -> None:
    allowed = services.may_edit if edit else services.may_read
    if not allowed(current_user):
        abort(403)


def plain(value: Decimal | None) -> str:
    """A stored figure as typed into a form: no trailing zeros, no separators."""
    if value is None:
        return ""
    text = format(value.normalize(), "f")
    return text


def _years(period: PlanPeriod) -> list[tuple[int, str]]:
    last = min(period.end_year, today().year)
    return [(year, str(year)) for year in range(last, period.start_year - 1, -1)]


@bp.get("")
@login_required
def index():
    _require()
    periods = services.periods()
    chosen = arg_int("period")
    period = next((p for p in periods if p.id == chosen), None) or services.current_period()
    report = services.report(current_user, period) if period else None
    return render_template("indicators/index.html", periods=periods, period=period,
                           report=report, statuses=STATUS_LABELS, methods=catalogue.METHODS,
                           may_edit=services.may_edit(current_user))


@bp.route("/<int:indicator_id>/periods/<int:period_id>/values", methods=["GET", "POST"])
@login_required
def values(indicator_id: int, period_id: int):
    _require(edit=request.method == "POST")
    indicator = db.session.get(PlanIndicator, indicator_id) or abort(404)
    period = db.session.get(PlanPeriod, period_id) or abort(404)
    form = ValueForm()
    form.year.choices = _years(period)
    saved = None
    # POST needs the edit right (above); the service refuses a computed indicator
    if form.validate_on_submit():
        saved = commit_or_report(form, lambda: services.save_value(
            indicator, period, form.year.data, form.value.data, form.source.data,
            actor_id=current_user.id))
        if saved.ok:
            snapshots.clear()  # the dashboard's card shows these figures
            flash(_("已保存%(year)s年数值", year=form.year.data), "success")
            return redirect(url_for(".values", indicator_id=indicator.id, period_id=period.id))
    rows = services.values_of(indicator)
    return render_template(
        "indicators/values.html", indicator=indicator, period=period, form=form, rows=rows,
        events=services.history("indicator_value", [r.id for r in rows]),
        may_edit=services.may_edit(current_user)), page_status(form, saved)


@bp.route("/values/<int:value_id>/edit", methods=["GET", "POST"])
@login_required
def value_edit(value_id: int):
    _require(edit=True)
    record = db.session.get(IndicatorValue, value_id) or abort(404)
    indicator = record.indicator
    period = next((p for p in services.periods()
                   if p.start_year <= record.year <= p.end_year), None) or abort(404)
    form = ValueEditForm(obj=record)
    form.year.choices = _years(period)
    if request.method == "GET":
        form.value.data = plain(record.value)
    saved = None
    if form.validate_on_submit():
        saved = commit_or_report(form, lambda: services.save_value(
            indicator, period, form.year.data, form.value.data, form.source.data,
            record=record, actor_id=current_user.id))
        if saved.ok:
            snapshots.clear()  # the dashboard's card shows these figures
            flash(_("已修改%(year)s年数值", year=form.year.data), "success")
            return redirect(url_for(".values", indicator_id=indicator.id, period_id=period.id))
    return render_template("indicators/value_form.html", form=form, record=record,
                           indicator=indicator, period=period,
                           events=services.history("indicator_value", [record.id])), \
        page_status(form, saved)


@bp.route("/targets/<int:target_id>", methods=["GET", "POST"])
@login_required
def target_edit(target_id: int):
    _require(edit=True)
    target = db.session.get(PlanTarget, target_id) or abort(404)
    form = TargetForm(obj=target)
    # the baseline of a period is the figure its predecessor ended with
    previous = services.previous_final(current_user, target)
    if request.method == "GET":
        form.target.data, form.baseline.data = plain(target.target), plain(target.baseline)
        if target.baseline is None and previous is not None:
            form.baseline.data = plain(previous)
    saved = None
    if not target.period.closed and form.validate_on_submit():
        saved = commit_or_report(form, lambda: services.save_target(target, {
            "target": form.target.data, "target_note": form.target_note.data,
            "baseline": form.baseline.data}, actor_id=current_user.id))
        if saved.ok:
            snapshots.clear()  # the dashboard's card shows these figures
            flash(_("目标已保存"), "success")
            return redirect(url_for(".index", period=target.period_id))
    status = page_status(form, saved)
    if request.method == "POST" and target.period.closed:
        flash(_("该规划期已结束，目标不再修改"), "danger")
        status = 400
    return render_template("indicators/target_form.html", form=form, target=target,
                           previous=previous,
                           events=services.history("plan_target", [target.id])), status


@bp.route("/periods/<int:period_id>/source", methods=["GET", "POST"])
@login_required
def period_source(period_id: int):
    _require(edit=True)
    period = db.session.get(PlanPeriod, period_id) or abort(404)
    form = SourceForm(obj=period)
    saved = None
    if form.validate_on_submit():
        saved = commit_or_report(form, lambda: services.record_source(period, {
            "source_title": form.source_title.data, "source_number": form.source_number.data,
            "source_date": form.source_date.data}, actor_id=current_user.id))
        if saved.ok:
            snapshots.clear()  # the dashboard's card shows these figures
            flash(_("依据文件已记录，目标已确认"), "success")
            return redirect(url_for(".index", period=period.id))
    return render_template("indicators/source_form.html", form=form, period=period,
                           events=services.history("plan_period", [period.id])), \
        page_status(form, saved)
