"""The results page of the navbar search (a plain GET form: it works without JavaScript)."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from tracker.search import queries

bp = Blueprint("search", __name__, url_prefix="/search")


@bp.get("/")
@login_required
def results():
    found = queries.search(current_user, request.args.get("q"))
    return render_template("search/results.html", results=found)
