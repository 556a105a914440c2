"""templating.url_each builds one URL and formats each row's from it: the same URLs as
url_for, under a script root too, and a plain url_for when the probe cannot be found."""

from __future__ import annotations

import pytest
from flask import url_for

from tracker.templating import url_each


@pytest.mark.parametrize("root", ["", "/tracker"])
@pytest.mark.parametrize(("endpoint", "key", "values"), [
    ("enterprises.detail", "enterprise_id", {}),
    ("incubation.carrier", "carrier_id", {}),
    ("ladder.gap_report", "enterprise_id", {}),
    ("ladder.application_new", "enterprise_id", {"kind": "hnte"}),
    ("reminders.resend", "reminder_id", {}),
])
def test_each_url_is_url_fors(app, root, endpoint, key, values):
    with app.test_request_context(base_url=f"http://localhost{root}"):
        build = url_each(endpoint, key, **values)
        for value in (1, 7, 987654321, 2**31 - 1, 12345678901, True):
            assert build(value) == url_for(endpoint, **{key: value}, **values)
        assert build(42).startswith(f"{root}/")


def test_a_url_that_repeats_the_probe_is_built_each_time(app):
    with app.test_request_context():
        # the probe appears twice (path and query): the shortcut cannot tell which one to swap
        build = url_each("enterprises.detail", "enterprise_id", q="987654321")
        assert build(5) == url_for("enterprises.detail", enterprise_id=5, q="987654321")
