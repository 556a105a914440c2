"""The landing page after login, its charts, and the retired target page's redirect."""

from flask import Blueprint, abort, jsonify, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from tracker import snapshots
from tracker.clock import to_local
from tracker.dashboard import aggregates, cards, charts, exports, queries
from tracker.enterprises.zones import ZONES

bp = Blueprint("dashboard", __name__)


@bp.get("/")
@login_required
def index():
    user = current_user._get_current_object()
    # the full-register aggregates, a few minutes old at most (their age is shown)
    # (both totals are sums of one index-only GROUP BY: one query, not one per total)
    (by_zone, by_rung), computed_at = snapshots.cached(
        "by_zone_and_rung", user, lambda: queries.zone_and_rung_totals(user))
    # The plan's indicators are the indicators feature's card (the current period, its status).
    shown = []
    for card in cards.cards():
        if cards.is_cacheable(card.name):
            context, at = snapshots.cached(f"card:{card.name}", user,
                                           lambda card=card: card.context(user))
            computed_at = min(computed_at, at)
        else:
            context = card.context(user)
        shown.append((card, context))
    kept_at = aggregates.updated_at(user)  # figures read off the maintained tables: their age
    if kept_at is not None:
        computed_at = min(computed_at, kept_at)
    return render_template(
        "dashboard/index.html", by_zone=by_zone, zones=ZONES, total=sum(by_zone.values()),
        by_rung=by_rung, tasks=queries.open_tasks(current_user),
        cards=shown, computed_at=computed_at, charts=charts.CHARTS,
    )


def _chart_panels(name: str) -> tuple[list[dict], object]:
    """The chart's panels for the user's scope, a few minutes old at most (with their age)."""
    if name not in charts.CHARTS:
        abort(404)
    user = current_user._get_current_object()
    return snapshots.cached(f"chart:{name}:{get_locale()}", user,
                            lambda: charts.payload(name, user))


@bp.get("/dashboard/charts/<chart>.json")
@login_required
def chart_data(chart: str):
    """A chart's figures with the list URL of each, for static/dashboard.js."""
    panels, computed_at = _chart_panels(chart)
    return jsonify(chart=chart, title=_(charts.CHARTS[chart][0]), panels=panels,
                   computed_at=computed_at.isoformat(),
                   computed_local=to_local(computed_at).strftime("%Y-%m-%d %H:%M"),
                   xlsx=url_for(".chart_export", chart=chart))


@bp.get("/dashboard/charts/<chart>.xlsx")
@login_required
def chart_export(chart: str):
    """The same figures as a workbook: one sheet per panel."""
    panels, computed_at = _chart_panels(chart)
    return exports.chart_workbook(chart, panels, computed_at)


@bp.get("/admin/targets")
def target_admin():
    """The retired target page: plan periods hold the targets now; old bookmarks land there."""
    return redirect(url_for("indicators.index"), 301)
