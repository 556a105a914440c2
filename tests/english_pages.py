"""The main pages of each role, with ids taken from the demo data inside the role's scope."""

from __future__ import annotations

from sqlalchemy import select

from tracker.accounts.models import User
from tracker.accounts.scope import carrier_scope, enterprise_scope, tenancy_scope
from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.incubation.models import Carrier, Tenancy
from tracker.ladder.models import Application

#: pages every signed-in role opens (the dashboard's body is rebuilt elsewhere: not scanned here)
COMMON = ["/enterprises/", "/ladder/board", "/ladder/self-assessment", "/incubation/carriers",
          "/reminders/", "/reminders/outbox", "/reminders/cycles", "/reminders/calendar",
          "/imports/export/", "/account/sessions", "/account/password"]
EDITOR = ["/enterprises/new", "/imports/", "/reminders/rules", "/incubation/proposals",
          "/incubation/reports"]
ADMIN = ["/admin/users", "/admin/users/new", "/ladder/admin/thresholds", "/admin/integrity/",
         "/incubation/carriers/new"]


def pages_for(role: str) -> list[str]:
    """URLs of the role's main pages: lists, a firm with its history, gaps and forms, a carrier."""
    user = db.session.scalar(select(User).where(User.role == role).order_by(User.id))
    urls = list(COMMON)
    if role in ("admin", "bureau", "zone"):
        urls += EDITOR
    if role == "admin":
        urls += ADMIN
    firm = db.session.scalar(select(Enterprise).where(enterprise_scope(user))
                             .order_by(Enterprise.id))
    if firm is not None:
        urls += [f"/enterprises/{firm.id}", f"/enterprises/{firm.id}/history",
                 f"/ladder/enterprises/{firm.id}/gaps",
                 f"/ladder/self-assessment?enterprise_id={firm.id}"]
        if role in ("admin", "bureau", "zone"):
            urls += [f"/enterprises/{firm.id}/edit", f"/enterprises/{firm.id}/metrics/new",
                     f"/ladder/enterprises/{firm.id}/qualifications/new",
                     f"/ladder/enterprises/{firm.id}/applications/new"]
    carrier = db.session.scalar(select(Carrier).where(carrier_scope(user)).order_by(Carrier.id))
    if carrier is not None:
        urls.append(f"/incubation/carriers/{carrier.id}")
    stay = db.session.scalar(select(Tenancy).where(tenancy_scope(user)).order_by(Tenancy.id))
    if stay is not None:
        urls.append(f"/incubation/tenancies/{stay.id}")
    if role in ("admin", "bureau"):
        application = db.session.scalar(select(Application).order_by(Application.id))
        if application is not None:
            urls.append(f"/ladder/applications/{application.id}/edit")
    return urls
