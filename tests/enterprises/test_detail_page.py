"""The enterprise page's own cost (issue 12): forms built only for those shown them, the inline
forms' blank fields kept per locale and officer choices, and nothing read twice."""

import re

import pytest
from markupsafe import Markup

from tests.conftest import count_queries, csrf_from, login
from tests.factories import make_enterprise, make_user
from tracker.extensions import db
from tracker.templating import Fragments

#: the officers picker's query (active_officers)
OFFICERS_QUERY = re.compile(r"FROM users\s+WHERE users\.role IN", re.S)
#: one user read by id (a lazy load of enterprise.officer)
ONE_USER_QUERY = re.compile(r"FROM users\s+WHERE users\.id =", re.S)


def _owner_options(html: str) -> list[str]:
    select = re.search(r'<select[^>]*id="activity-owner_id".*?</select>', html, re.S)
    assert select, "no owner picker on the page"
    return re.findall(r"<option[^>]*>([^<]*)</option>", select.group(0))


def _page(client, firm) -> str:
    response = client.get(f"/enterprises/{firm if isinstance(firm, int) else firm.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_officer_read_with_the_officers_picker_not_again(client):
    officer = make_user("zone", name="李专员")
    firm = make_enterprise(officer_id=officer.id)
    login(client, make_user("bureau"))
    firm_id = firm.id
    db.session.expunge_all()  # as in a fresh request: nothing already in the session
    with count_queries() as statements:
        html = _page(client, firm_id)
    assert "李专员" in html
    assert sum(bool(OFFICERS_QUERY.search(s)) for s in statements) == 1
    assert not [s for s in statements if ONE_USER_QUERY.search(s)]


@pytest.mark.parametrize("role", ["viewer"])
def test_readers_are_not_built_the_inline_forms(client, role):
    firm = make_enterprise(officer_id=make_user("zone", name="王专员").id)
    login(client, make_user(role))
    firm_id = firm.id
    db.session.expunge_all()
    with count_queries() as statements:
        html = _page(client, firm_id)
    assert "王专员" in html  # the officer still shown, read on its own
    assert 'id="activity-owner_id"' not in html and 'id="contact-name"' not in html
    assert not [s for s in statements if OFFICERS_QUERY.search(s)]


def test_owner_picker_follows_the_officers(client):
    firm = make_enterprise()
    login(client, make_user("bureau", name="甲局员"))
    first = _owner_options(_page(client, firm))
    assert "甲局员" in first and "新来的专员" not in first
    make_user("zone", name="新来的专员")
    second = _owner_options(_page(client, firm))
    assert sorted(second) == sorted([*first, "新来的专员"])


def test_inline_forms_follow_the_language(client):
    firm = make_enterprise()
    login(client, make_user("bureau"))
    chinese = _page(client, firm)
    assert re.search(r'<label[^>]*for="contact-name"[^>]*>姓名</label>', chinese)
    client.post("/language/en", data={"csrf_token": csrf_from(chinese), "next": "/"})
    english = _page(client, firm)
    assert re.search(r'<label[^>]*for="contact-name"[^>]*>Name</label>', english)
    client.post("/language/zh_CN", data={"csrf_token": csrf_from(english), "next": "/"})
    again = _page(client, firm)
    assert re.search(r'<label[^>]*for="contact-name"[^>]*>姓名</label>', again)
    assert "Name</label>" not in again


def test_inline_forms_carry_this_requests_csrf_token(client):
    firm = make_enterprise()
    login(client, make_user("bureau"))
    html = _page(client, firm)
    token = csrf_from(html)
    for prefix in ("contact", "activity"):
        assert re.search(rf'name="{prefix}-csrf_token" type="hidden" value="{re.escape(token)}"',
                         html), prefix


def test_fragments_render_once_per_key():
    kept = Fragments()
    calls: list[str] = []

    def body(text: str):
        def caller() -> str:
            calls.append(text)
            return f"<b>{text}</b>"
        return caller

    assert kept("form", "zh_CN", [("1", "甲")], caller=body("a")) == Markup("<b>a</b>")
    assert kept("form", "zh_CN", [("1", "甲")], caller=body("b")) == Markup("<b>a</b>")
    assert kept("form", "en", [("1", "甲")], caller=body("c")) == Markup("<b>c</b>")
    assert kept("form", "zh_CN", [("1", "甲"), ("2", "乙")], caller=body("d")) == \
        Markup("<b>d</b>")
    assert kept("other", "zh_CN", [("1", "甲")], caller=body("e")) == Markup("<b>e</b>")
    assert calls == ["a", "c", "d", "e"]


def test_fragments_start_over_past_their_limit(monkeypatch):
    monkeypatch.setattr(Fragments, "LIMIT", 2)
    kept = Fragments()
    for key in ("a", "b", "c"):
        kept("f", key, caller=lambda key=key: key)
    assert list(kept.kept) == [("f", "c")]
