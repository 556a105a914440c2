"""The landing page after login."""

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from tracker.dashboard import cards, queries
from tracker.enterprises.zones import ZONES

bp = Blueprint("dashboard", __name__)


@bp.get("/")
@login_required
def index():
    by_zone = queries.enterprises_by_zone(current_user)
    return render_template(
        "dashboard/index.html", by_zone=by_zone, zones=ZONES, total=sum(by_zone.values()),
        by_rung=queries.enterprises_by_rung(current_user),
        tasks=queries.open_tasks(current_user),
        cards=[(card, card.context(current_user)) for card in cards.cards()],
    )
