"""Changing a rung's local thresholds is one service call: store them, then recompute everyone."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.factories import make_user
from tracker.audit.models import AuditEvent
from tracker.celery_app import _PENDING_KEY
from tracker.extensions import db
from tracker.ladder import services, thresholds
from tracker.ladder.models import LocalThreshold


def _queued() -> list[tuple[str, tuple]]:
    return [(task.name, args) for task, args, _kw in db.session().info.get(_PENDING_KEY, [])]


def test_a_threshold_change_queues_a_recompute_of_every_firm():
    admin = make_user("admin")
    row = thresholds.change_local_thresholds(
        "dengling", {"min_revenue": 50_000_000, "source": "局务会纪要"}, actor_id=admin.id)
    assert row.values == {"min_revenue": 50_000_000, "source": "局务会纪要"}
    assert _queued() == [("tracker.ladder.recompute_all", ())]  # after the commit, on a worker


def test_a_refused_change_queues_nothing():
    with pytest.raises(services.LadderError):
        thresholds.change_local_thresholds("hnte", {"min_revenue": 1})
    with pytest.raises(services.LadderError):
        thresholds.change_local_thresholds("dengling", {"min_revenue": -5})
    assert _queued() == []


def test_the_cli_changes_thresholds_through_the_same_service(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["ladder", "thresholds", "leader", "min_revenue=200000000",
                                 "min_rd_intensity_pct=3.5", "source=区科技局文件"])
    assert result.exit_code == 0, result.output
    row = db.session.scalar(select(LocalThreshold).where(LocalThreshold.kind == "leader"))
    assert row.values == {"min_revenue": 200_000_000, "min_rd_intensity_pct": 3.5,
                          "source": "区科技局文件"}
    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.entity_type == "local_threshold", AuditEvent.entity_id == row.id))
    assert event.actor_id is None  # the shell acts as the system


def test_the_cli_reports_refused_values_and_exits_2(app):
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["ladder", "thresholds", "dengling", "min_revenue=lots"])
    assert refused.exit_code == 2
    assert "min_revenue" in refused.output
    malformed = runner.invoke(args=["ladder", "thresholds", "dengling", "min_revenue"])
    assert malformed.exit_code == 2
    assert db.session.scalar(select(LocalThreshold)) is None
