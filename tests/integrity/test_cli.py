"""`flask check [--json]`: the exact JSON shape and exit codes; the nightly task; the admin page."""

from __future__ import annotations

import json

from sqlalchemy import text

from tests.factories import make_enterprise, make_user
from tracker.extensions import db
from tracker.integrity import checks, tasks
from tracker.integrity.models import IntegrityRun
from tracker.integrity.services import last_run


def _set_zone(firm, zone: str) -> None:
    """Raw SQL, so no service and no last-write stamp hides or adds anything."""
    db.session.execute(text("UPDATE enterprises SET zone = :zone WHERE id = :id"),
                       {"zone": zone, "id": firm.id})


def _check(app, *args):
    return app.test_cli_runner().invoke(args=["check", *args])


def test_clean_json_is_exactly_the_contract_and_exits_0(app):
    make_enterprise()
    db.session.commit()
    result = _check(app, "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert list(payload) == ["ok", "checked", "violations"]
    assert payload["ok"] is True
    assert payload["violations"] == []
    assert list(payload["checked"]) == checks.default_invariants()
    assert all(isinstance(n, int) for n in payload["checked"].values())


def test_violation_json_names_invariant_subject_detail_and_exits_1(app):
    firm = make_enterprise()
    db.session.commit()
    _set_zone(firm, "mars")
    result = _check(app, "--json")
    assert result.exit_code == 1
    payload = json.loads(result.output)
    assert payload["ok"] is False
    assert payload["violations"] == [{
        "invariant": "enterprise_in_zone", "subject": f"enterprise:{firm.id}",
        "detail": "zone 'mars' is none of teda, bonded, hitech, dongjiang, ecocity, towns"}]


def test_readable_summary_has_the_same_exit_codes(app):
    firm = make_enterprise()
    db.session.commit()
    clean = _check(app)
    assert clean.exit_code == 0
    assert "consistent" in clean.output
    _set_zone(firm, "")
    dirty = _check(app)
    assert dirty.exit_code == 1
    assert "FAIL enterprise_in_zone" in dirty.output
    assert f"enterprise:{firm.id}" in dirty.output


def test_all_runs_the_excluded_invariants_too(app):
    result = _check(app, "--json", "--all")
    assert set(json.loads(result.output)["checked"]) == set(checks.INVARIANTS)


def test_demo_data_checks_clean(app):
    loaded = app.test_cli_runner().invoke(args=["demo", "load"])
    assert loaded.exit_code == 0, loaded.output
    result = _check(app, "--json")
    payload = json.loads(result.output)
    assert payload["violations"] == []
    assert result.exit_code == 0
    assert payload["checked"]["enterprise_in_zone"] >= 60


def test_nightly_task_stores_the_run_and_beat_schedules_it(app):
    firm = make_enterprise()
    db.session.commit()
    _set_zone(firm, "mars")
    assert tasks.check() == 1
    run = last_run()
    assert (run.ok, run.trigger, run.violation_count) == (False, "beat", 1)
    assert run.violations[0]["subject"] == f"enterprise:{firm.id}"
    schedule = app.extensions["celery"].conf.beat_schedule
    assert schedule["integrity-check-nightly"]["task"] == "tracker.integrity.check"


def test_admin_sees_the_last_run_with_links_to_the_subjects(app, login_as):
    firm = make_enterprise()
    db.session.add(IntegrityRun(ok=False, trigger="beat", checked={"enterprise_in_zone": 1},
                                violations=[{"invariant": "enterprise_in_zone",
                                             "subject": f"enterprise:{firm.id}",
                                             "detail": "zone 'mars'"}],
                                violation_count=1))
    db.session.commit()
    client = login_as(make_user("admin"))
    page = client.get("/admin/integrity/").get_data(as_text=True)
    assert "数据一致性检查" in page
    assert f'href="/enterprises/{firm.id}"' in page
    assert "发现 1 处问题" in page


def test_only_admins_see_the_page(app, login_as):
    client = login_as(make_user("bureau"))
    assert client.get("/admin/integrity/").status_code == 403


def test_page_before_any_run(app, login_as):
    client = login_as(make_user("admin"))
    assert "尚未运行过检查" in client.get("/admin/integrity/").get_data(as_text=True)
