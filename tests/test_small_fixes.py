"""Small things a user notices: each with the page or record where it showed."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select

from tests.conftest import csrf_from, login
from tests.factories import make_carrier, make_enterprise, make_user
from tracker.enterprises import services as enterprises
from tracker.extensions import db
from tracker.ladder import services as ladder
from tracker.ladder.models import StageTransition


def test_approved_application_names_its_year_once():
    firm = make_enterprise()
    application = ladder.create_application(
        firm, {"kind": "hnte", "year": 2026, "batch": "2026年第二批"})
    for status in ("preparing", "submitted"):
        ladder.move_application(application, status)
    ladder.move_application(application, "approved", number="GR202612000001",
                            granted_on=date(2026, 11, 1))
    evidence = db.session.scalars(select(StageTransition.evidence).where(
        StageTransition.enterprise_id == firm.id, StageTransition.to_stage == "hnte")).one()
    assert evidence == f"申报 #{application.id}（2026年第二批）"


def _active_nav(html: str) -> list[str]:
    return re.findall(r'<a class="nav-link active"[^>]*>([^<]+)</a>', html)


def test_one_navigation_item_is_active_on_ladder_pages(client):
    login(client, make_user("bureau"))
    assert _active_nav(client.get("/ladder/board").get_data(as_text=True)) == ["梯度培育"]
    assert _active_nav(client.get("/ladder/self-assessment")
                       .get_data(as_text=True)) == ["资格自测"]
    assert _active_nav(client.get("/enterprises/").get_data(as_text=True)) == ["企业"]


def test_marking_a_task_done_says_so(client):
    user = make_user("bureau")
    firm = make_enterprise()
    task = enterprises.add_activity(firm, {"kind": "task", "subject": "回访",
                                           "due_on": date(2026, 12, 31)}, created_by_id=user.id)
    db.session.commit()
    login(client, user)
    page = client.get(f"/enterprises/{firm.id}").get_data(as_text=True)
    response = client.post(f"/enterprises/{firm.id}/activities/{task.id}/done",
                           data={"csrf_token": csrf_from(page)}, follow_redirects=True)
    assert response.status_code == 200
    assert 'class="alert alert-success' in response.get_data(as_text=True)


def test_new_user_form_starts_least_privileged_and_shows_every_error(client):
    make_carrier()
    login(client, make_user("admin"))
    page = client.get("/admin/users/new").get_data(as_text=True)
    selected = re.search(r'<select[^>]*name="role".*?<option selected value="(\w+)"', page, re.S)
    assert selected and selected.group(1) == "viewer"
    response = client.post("/admin/users/new", data={
        "csrf_token": csrf_from(page), "email": "not-an-email", "name": "",
        "role": "zone", "zone": "", "locale": "zh_CN", "password": ""})
    errors = re.findall(r'class="invalid-feedback d-block">([^<]+)<', response.get_data(
        as_text=True))
    # email, name, the zone a zone user needs and the password a new user needs, at once
    assert len(errors) >= 4, errors


def test_favicon_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype in ("image/x-icon", "image/vnd.microsoft.icon", "image/svg+xml",
                                 "image/png")


def test_deadline_email_names_the_year_once(app):
    from types import SimpleNamespace

    from flask import render_template

    subject = SimpleNamespace(year=2026, batch="2026年第二批")
    with app.test_request_context():
        for name in ("emails/application_deadline.txt", "emails/application_deadline.html"):
            body = render_template(name, enterprise=SimpleNamespace(name="天津甲公司"),
                                   subject=subject, due=date(2026, 9, 15), days_left=10,
                                   unsubscribe_url="", recipient=None)
            assert "2026年第二批" not in body and "2026 年 第二批" in body, body
