"""Read-only enterprise endpoints, scoped exactly like the pages."""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify, request
from flask_login import current_user

from tracker.accounts.scope import get_enterprise_or_404
from tracker.api.views import bp
from tracker.enterprises import queries
from tracker.enterprises.models import MONEY_FIELDS, Enterprise
from tracker.enterprises.services import METRIC_FIELDS
from tracker.pagination import requested_size


def _money(value: Any) -> str | None:
    return None if value is None else format(value, "f")


def enterprise_summary(enterprise: Enterprise) -> dict[str, Any]:
    return {
        "id": enterprise.id,
        "uscc": enterprise.uscc,
        "name": enterprise.name,
        "zone": enterprise.zone,
        "tech_field": enterprise.tech_field,
        "founded_on": enterprise.founded_on.isoformat() if enterprise.founded_on else None,
        "current_rung": enterprise.current_rung,
        "status": enterprise.status,
        "officer_id": enterprise.officer_id,
        "updated_at": enterprise.updated_at.isoformat(),
    }


@bp.get("/enterprises")
def enterprises():
    """The enterprise list as JSON: same filters, sort and keyset cursor as the list page."""
    if not current_user.is_authenticated:
        abort(401)
    filters = queries.EnterpriseFilters.from_args(request.args)
    size = requested_size()
    page = queries.page(current_user, filters, size=size, after=request.args.get("after"))
    total = queries.capped_count(current_user, filters)
    return jsonify({
        # beyond COUNT_CAP matches the count stops: "count" is then a lower bound
        "count": total.n,
        "count_is_lower_bound": total.capped,
        "items": [enterprise_summary(e) for e in page.items],
        "next": page.next_cursor,
    })


@bp.get("/enterprises/<int:enterprise_id>")
def enterprise(enterprise_id: int):
    if not current_user.is_authenticated:
        abort(401)
    item = get_enterprise_or_404(current_user, enterprise_id)
    data = enterprise_summary(item)
    data["metrics"] = [
        {"fiscal_year": m.fiscal_year, "source": m.source, "period_months": m.period_months,
         "is_partial": m.is_partial,
         **{name: (_money(getattr(m, name)) if name in MONEY_FIELDS else getattr(m, name))
            for name in METRIC_FIELDS}}
        for m in item.metrics
    ]
    data["contacts"] = [
        {"name": c.name, "title": c.title, "email": c.email, "phone": c.phone}
        for c in item.contacts
    ]
    return jsonify(data)
