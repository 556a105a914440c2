"""Admin pages: endpoints (register, edit, rotate the secret, delete) and their deliveries."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from tracker.accounts.access import roles_required
from tracker.extensions import db
from tracker.forms_support import Outcome, commit_or_report, page_status
from tracker.pagination import SortKey, keyset_page, requested_size
from tracker.webhooks import events, services
from tracker.webhooks.forms import EditEndpointForm, NewEndpointForm
from tracker.webhooks.models import (
    DELIVERY_STATUSES,
    EVENT_TYPES,
    WebhookDelivery,
    WebhookEndpoint,
)
from tracker.webhooks.tasks import enqueue

bp = Blueprint("webhooks", __name__, url_prefix="/admin/webhooks")


def _endpoint_or_404(endpoint_id: int) -> WebhookEndpoint:
    return db.session.get(WebhookEndpoint, endpoint_id) or abort(404)


def _data(form) -> dict:
    return {"url": form.url.data, "description": form.description.data,
            "events": form.events.data or [], "active": form.active.data}


@bp.get("/")
@roles_required("admin")
def index():
    endpoints = db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)).all()
    found = services.all_status_counts([e.id for e in endpoints])
    counts = {e.id: found.get(e.id, {}) for e in endpoints}
    return render_template("webhooks/index.html", endpoints=endpoints, counts=counts,
                           event_types=EVENT_TYPES, statuses=DELIVERY_STATUSES)


@bp.route("/new", methods=["GET", "POST"])
@roles_required("admin")
def new():
    form = NewEndpointForm()
    saved: Outcome | None = None
    if form.validate_on_submit():
        saved = commit_or_report(form, lambda: services.create_endpoint(
            {**_data(form), "secret": form.secret.data}, actor_id=current_user.id))
        if saved.ok:
            # the one time the secret is shown: on this answer, never in a cookie or a URL
            return render_template("webhooks/secret.html", endpoint=saved.result,
                                   secret=saved.result.secret, created=True)
    return render_template("webhooks/form.html", form=form, endpoint=None), \
        page_status(form, saved)


@bp.route("/<int:endpoint_id>/edit", methods=["GET", "POST"])
@roles_required("admin")
def edit(endpoint_id: int):
    endpoint = _endpoint_or_404(endpoint_id)
    form = EditEndpointForm(obj=endpoint)
    saved: Outcome | None = None
    if form.validate_on_submit():
        saved = commit_or_report(form, lambda: services.update_endpoint(
            endpoint, _data(form), actor_id=current_user.id))
        if saved.ok:
            flash(_("接收端已保存"), "success")
            return redirect(url_for("webhooks.deliveries", endpoint_id=endpoint.id))
    return render_template("webhooks/form.html", form=form, endpoint=endpoint), \
        page_status(form, saved)


@bp.post("/<int:endpoint_id>/secret")
@roles_required("admin")
def rotate(endpoint_id: int):
    endpoint = _endpoint_or_404(endpoint_id)
    secret = services.rotate_secret(endpoint, actor_id=current_user.id)
    db.session.commit()
    return render_template("webhooks/secret.html", endpoint=endpoint, secret=secret,
                           created=False)


@bp.post("/<int:endpoint_id>/delete")
@roles_required("admin")
def delete(endpoint_id: int):
    endpoint = _endpoint_or_404(endpoint_id)
    if request.form.get("confirm") != "yes":
        flash(_("请勾选确认后再删除"), "warning")
        return redirect(url_for("webhooks.edit", endpoint_id=endpoint.id))
    services.delete_endpoint(endpoint, actor_id=current_user.id)
    db.session.commit()
    flash(_("接收端已删除"), "success")
    return redirect(url_for("webhooks.index"))


@bp.post("/<int:endpoint_id>/test")
@roles_required("admin")
def send_test(endpoint_id: int):
    endpoint = _endpoint_or_404(endpoint_id)
    enqueue(events.record_test(endpoint))
    db.session.commit()
    flash(_("测试事件已排队发送"), "success")
    return redirect(url_for("webhooks.deliveries", endpoint_id=endpoint.id))


@bp.get("/<int:endpoint_id>")
@roles_required("admin")
def deliveries(endpoint_id: int):
    endpoint = _endpoint_or_404(endpoint_id)
    query = (select(WebhookDelivery).options(joinedload(WebhookDelivery.event))
             .where(WebhookDelivery.endpoint_id == endpoint.id))
    status = request.args.get("status", "")
    if status in DELIVERY_STATUSES:
        query = query.where(WebhookDelivery.status == status)
    else:
        status = ""
    page = keyset_page(db.session, query,
                       [SortKey(WebhookDelivery.id, descending=True, kind="int")],
                       size=requested_size(), after=request.args.get("after"),
                       before=request.args.get("before"))
    return render_template("webhooks/deliveries.html", endpoint=endpoint, page=page,
                           status=status, statuses=DELIVERY_STATUSES,
                           counts=services.status_counts(endpoint.id), event_types=EVENT_TYPES)


@bp.post("/deliveries/<bigint:delivery_id>/resend")
@roles_required("admin")
def resend(delivery_id: int):
    delivery = db.session.get(WebhookDelivery, delivery_id) or abort(404)
    try:
        services.resend(delivery, actor_id=current_user.id)
    except services.ActionError as exc:
        flash(str(exc), "warning")
    else:
        enqueue([delivery.id])
        db.session.commit()
        flash(_("已重新排队发送"), "success")
    return redirect(url_for("webhooks.deliveries", endpoint_id=delivery.endpoint_id))
