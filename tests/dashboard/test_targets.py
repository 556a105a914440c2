"""Saving a plan target is one service call, shared by the admin page and the CLI."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.factories import make_user
from tracker.audit.models import AuditEvent
from tracker.dashboard import targets
from tracker.errors import FieldError
from tracker.extensions import db


def test_a_target_is_created_then_updated_and_both_are_audited():
    admin = make_user("admin")
    row = targets.save_target("hnte", 2026, 6000, "2026年工作要点", actor_id=admin.id)
    again = targets.save_target("hnte", 2026, 6100, "调整文件", actor_id=admin.id)
    assert again.id == row.id and (again.value, again.source) == (6100, "调整文件")
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == "target", AuditEvent.entity_id == row.id)
        .order_by(AuditEvent.id)).all()
    assert [(e.action, e.actor_id) for e in events] == [("create", admin.id),
                                                        ("update", admin.id)]
    assert events[1].changes == {"value": [6000, 6100], "source": ["2026年工作要点", "调整文件"]}
    assert {line.metric: line for line in targets.targets_for(2026)}["hnte"].target == 6100


@pytest.mark.parametrize(("metric", "year", "value", "source", "field"), [
    ("unicorns", 2026, 10, "文件", "metric"),
    ("hnte", 1999, 10, "文件", "year"),
    ("hnte", 2026, -1, "文件", "value"),
    ("hnte", 2026, 10, " ", "source"),
])
def test_a_target_outside_the_plan_is_refused(metric, year, value, source, field):
    with pytest.raises(FieldError) as refused:
        targets.save_target(metric, year, value, source)
    assert field in refused.value.errors
    assert db.session.scalar(select(targets.Target)) is None


def test_the_cli_saves_a_target_through_the_same_service(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["targets", "set", "chuying", "2026", "2300",
                                 "--source", "2026年工作要点"])
    assert result.exit_code == 0, result.output
    row = db.session.scalar(select(targets.Target))
    assert (row.metric, row.year, row.value, row.source) == ("chuying", 2026, 2300,
                                                             "2026年工作要点")
    refused = runner.invoke(args=["targets", "set", "unicorns", "2026", "1"])
    assert refused.exit_code == 2 and "metric" in refused.output
