"""The decision form posted exactly as a browser sends it: its inputs plus the pressed button."""

from __future__ import annotations

import re
from datetime import date

from werkzeug.datastructures import MultiDict

from tracker.extensions import db
from tracker.incubation import services


def _form_inputs(html: str) -> list[tuple[str, str]]:
    """name/value of every input of the page's decision form (the one with the comment box)."""
    form = next(f for f in re.findall(r"<form method=\"post\".*?</form>", html, re.S)
                if 'name="comment"' in f)
    return re.findall(r'<input[^>]*?name="([^"]+)"[^>]*?value="([^"]*)"', form)


def test_approve_button_is_not_shadowed_by_a_hidden_input(as_user, chain):
    proposal = services.propose(chain["ten_a"], "exit", {"effective_on": date(2026, 5, 1),
                                                         "reason": "迁出"},
                                user=chain["manager_a"])
    bureau = as_user(chain["bureau"])
    url = f"/incubation/proposals/{proposal.id}"
    inputs = _form_inputs(bureau.get(url).get_data(as_text=True))
    assert ("decision", "") not in inputs
    data = [*inputs, ("comment", "同意"), ("decision", "approve")]  # the button comes last
    response = bureau.post(url, data=MultiDict(data))
    assert response.status_code == 302
    db.session.refresh(chain["ten_a"])
    assert chain["ten_a"].status == "exited"
