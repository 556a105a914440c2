"""issue 14 "Done means": after `flask demo load` a newcomer sees meaningful charts — trends
over many months that move, a funnel with cohorts that reached HNTE, medians per rung,
figures in every chart (the demo has enough history) — and the zone officer's are their own."""

from __future__ import annotations

from datetime import date

from tracker.clock import frozen
from tracker.dashboard import charts
from tracker.demo import load_demo
from tracker.extensions import db

DAY = date(2026, 12, 1)


def _panels(user) -> dict[str, dict]:
    return {panel["id"]: panel for name in charts.CHARTS
            for panel in charts.payload(name, user)}


def test_the_demo_gives_every_chart_something_to_show(app):
    from sqlalchemy import select

    from tracker.accounts.models import User

    with frozen(DAY):
        load_demo()
        db.session.commit()
        bureau = db.session.scalar(select(User).where(User.email == "bureau@demo.binhai"))
        zone = db.session.scalar(select(User).where(User.email == "zone@demo.binhai"))
        with app.test_request_context("/"):
            panels = _panels(bureau)
            mine = _panels(zone)
    trend = panels["trend-rung"]
    assert len(trend["categories"]) >= 24  # two years of month-ends and today
    hnte = next(s for s in trend["series"] if s["name"] == "国家高新技术企业")["values"]
    assert len(set(hnte)) >= 3, hnte  # it moves over time
    cohorts = panels["funnel-cohorts"]
    assert len(cohorts["categories"]) >= 3
    registered, *reached = (s["values"] for s in cohorts["series"])
    assert sum(registered) > 0 and sum(reached[-1]) > 0  # some cohorts reached HNTE
    assert panels["funnel-stays"]["categories"]  # medians per rung
    for panel_id in ("zones-rung", "fields-rung", "incubation-tenants",
                     "workload-expiring", "trend-carrier_kind"):
        assert any(any(v for v in s["values"] if v) for s in panels[panel_id]["series"]), \
            panel_id
    # the zone officer's zone matrix has their zone only, and fewer firms than the bureau's
    assert len(mine["zones-rung"]["categories"]) == 1
    total = sum(sum(s["values"]) for s in panels["zones-rung"]["series"])
    theirs = sum(sum(s["values"]) for s in mine["zones-rung"]["series"])
    assert 0 < theirs < total
