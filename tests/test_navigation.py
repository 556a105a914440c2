"""The layout's navigation links are kept per (language, admin or not, page): what is kept for
one user, language or page must never show on another's (base.html's fragment call)."""

from __future__ import annotations

import re

from flask import g

from tests.conftest import csrf_from, login
from tests.factories import make_user


def _links(html: str) -> list[tuple[str, str]]:
    """(label, "active" or "") of each navigation link."""
    return [(label, "active" if active.strip() else "") for active, label in
            re.findall(r'<a class="nav-link ([^"]*)" href="[^"]+">([^<]+)</a>', html)]


def _switch(client, code: str) -> None:
    page = client.get("/enterprises/").get_data(as_text=True)
    client.post(f"/language/{code}", data={"csrf_token": csrf_from(page), "next": "/"})


def test_the_users_link_follows_the_signed_in_role_not_the_kept_links(client):
    login(client, make_user("admin"))
    assert ("用户", "") in _links(client.get("/enterprises/").get_data(as_text=True))
    client.post("/logout", data={"csrf_token": csrf_from(
        client.get("/enterprises/").get_data(as_text=True))})
    login(client, make_user("bureau"))
    links = _links(client.get("/enterprises/").get_data(as_text=True))
    assert ("企业", "active") in links and all(label != "用户" for label, _ in links)


def test_kept_links_follow_the_language_and_the_page(client):
    login(client, make_user("bureau"))
    assert _links(client.get("/ladder/board").get_data(as_text=True))[2] == ("梯度培育", "active")
    _switch(client, "en")
    g.pop("csrf_token", None)
    english = _links(client.get("/ladder/board").get_data(as_text=True))
    assert english[2][1] == "active" and english[2][0] != "梯度培育"
    assert [active for _, active in _links(client.get("/enterprises/").get_data(
        as_text=True))][:3] == ["", "active", ""]
    _switch(client, "zh_CN")
    assert _links(client.get("/ladder/board").get_data(as_text=True))[2] == ("梯度培育", "active")
