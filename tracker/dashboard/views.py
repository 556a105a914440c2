"""The landing page after login and the admin's plan targets."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from tracker.accounts.access import roles_required
from tracker.accounts.roles import GLOBAL_READ_ROLES, Role
from tracker.audit import services as audit
from tracker.clock import today
from tracker.dashboard import cards, queries, targets
from tracker.dashboard.forms import TargetForm
from tracker.enterprises.zones import ZONES
from tracker.extensions import db

bp = Blueprint("dashboard", __name__)


@bp.get("/")
@login_required
def index():
    by_zone = queries.enterprises_by_zone(current_user)
    year = request.args.get("year", 2025, type=int)
    plan = []
    # Area-wide targets mean nothing against one zone's or one carrier's figures.
    if current_user.role in GLOBAL_READ_ROLES:
        current = queries.current_values(current_user, today())
        plan = [
            (line, current.get(line.metric, 0),
             targets.progress(current.get(line.metric, 0), line.target))
            for line in targets.targets_for(year)
        ]
    return render_template(
        "dashboard/index.html", by_zone=by_zone, zones=ZONES, total=sum(by_zone.values()),
        by_rung=queries.enterprises_by_rung(current_user),
        tasks=queries.open_tasks(current_user), plan=plan, plan_year=year,
        cards=[(card, card.context(current_user)) for card in cards.cards()],
    )


@bp.route("/admin/targets", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def target_admin():
    form = TargetForm()
    if request.method == "GET":
        form.year.data = 2025
        form.source.data = targets.PLAN_DOCUMENT
    if form.validate_on_submit():
        row = db.session.scalar(select(targets.Target).where(
            targets.Target.metric == form.metric.data, targets.Target.year == form.year.data))
        before = {"value": row.value, "source": row.source} if row else {}
        if row is None:
            row = targets.Target(metric=form.metric.data, year=form.year.data)
            db.session.add(row)
        row.value, row.source = form.value.data, form.source.data
        db.session.flush()
        audit.record("target", row.id, "update" if before else "create",
                     audit.changed_fields(before, {"value": row.value, "source": row.source}),
                     summary=f"{row.metric} {row.year}")
        db.session.commit()
        flash(_("已保存"), "success")
        return redirect(url_for(".target_admin"))
    stored = db.session.scalars(
        select(targets.Target).order_by(targets.Target.year, targets.Target.metric)).all()
    return render_template("dashboard/targets.html", form=form, stored=stored,
                           plan=targets.PLAN_2025, plan_document=targets.PLAN_DOCUMENT)
