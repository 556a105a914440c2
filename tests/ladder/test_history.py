"""Ladder history dated by when things happened: the timeline is derived, the store follows it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import select

from tests.conftest import count_queries
from tests.factories import make_enterprise, make_user
from tracker.audit.models import AuditEvent
from tracker.clock import frozen
from tracker.extensions import db
from tracker.ladder import services, validity
from tracker.ladder.models import StageTransition

TODAY = date(2026, 12, 1)  # the day the examples were typed in


@pytest.fixture
def typed_today():
    """Freeze the clock on 1 December 2026."""
    with frozen(TODAY):
        yield TODAY


def _history(firm):
    return [(h["transition"].from_stage, h["transition"].to_stage, h["transition"].effective_on,
             h["days"]) for h in services.ladder_history(firm.id, TODAY)]


@dataclass
class Held:
    """A qualification as the pure timeline sees it."""

    kind: str
    granted_on: date
    valid_until: date | None = None
    revoked_on: date | None = None

    status_on = validity.status_on


@pytest.mark.parametrize(("held", "steps"), [
    # the backdated HNTE: the tech-SME entry typed first changes nothing
    ([Held("tech_sme", date(2026, 10, 13), date(2026, 12, 31)),
      Held("hnte", date(2025, 12, 5), date(2028, 12, 4))],
     [(date(2025, 12, 5), None, "hnte", "grant")]),
    # a title revoked as of its grant day never held
    ([Held("hnte", date(2026, 3, 20), date(2029, 3, 19), revoked_on=date(2026, 3, 20))], []),
    # a backdated revocation puts the gap where it was, the lower title comes later
    ([Held("hnte", date(2024, 11, 1), date(2027, 10, 31), revoked_on=date(2025, 6, 1)),
      Held("tech_sme", date(2026, 3, 1), date(2026, 12, 31))],
     [(date(2024, 11, 1), None, "hnte", "grant"), (date(2025, 6, 1), "hnte", None, "revocation"),
      (date(2026, 3, 1), None, "tech_sme", "grant")]),
    # expiry: the day after the last valid day; a grant on that day is a move, not two
    ([Held("hnte", date(2023, 1, 10), date(2026, 1, 9)),
      Held("tech_sme", date(2026, 1, 10), date(2026, 12, 31))],
     [(date(2023, 1, 10), None, "hnte", "grant"), (date(2026, 1, 10), "hnte", "tech_sme",
                                                   "expiry")]),
    # a revocation announced for later is not in today's timeline
    ([Held("hnte", date(2024, 11, 1), date(2027, 10, 31), revoked_on=date(2027, 1, 1))],
     [(date(2024, 11, 1), None, "hnte", "grant")]),
])
def test_rung_timeline_from_qualifications(held, steps):
    timeline = validity.rung_timeline(held, TODAY)
    assert [(s.effective_on, s.from_stage, s.to_stage, s.why) for s in timeline] == steps


def test_backdated_title_after_a_later_entry_dates_history_by_the_grant(typed_today):
    # Issue 9: "科技型中小企业 → 国家高新技术企业 2026-10-13, 停留 49 天"
    firm = make_enterprise()
    services.grant_qualification(firm, "tech_sme", "2026120116000123", date(2026, 10, 13))
    services.grant_qualification(firm, "hnte", "GR202512000001", date(2025, 12, 5),
                                 evidence="2025年第二批认定名单")
    assert firm.current_rung == "hnte"
    assert _history(firm) == [(None, "hnte", date(2025, 12, 5), 361)]
    (move,) = db.session.scalars(select(StageTransition).where(
        StageTransition.enterprise_id == firm.id))
    assert move.evidence == "2025年第二批认定名单"
    assert services.transition_order_problems(firm.id) == []


def test_title_revoked_as_mistaken_leaves_no_phantom_stay(typed_today):
    # Issue 9: "revoking a mistaken title leaves the firm shown on that rung for 256 days"
    firm = make_enterprise()
    wrong = services.grant_qualification(firm, "hnte", "GR202612000009", date(2026, 3, 20))
    assert _history(firm) == [(None, "hnte", date(2026, 3, 20), 256)]
    services.revoke_qualification(wrong, reason="录入错误：该企业不在认定名单中", mistaken=True)
    assert wrong.revoked_on == wrong.granted_on
    assert firm.current_rung is None
    assert _history(firm) == []
    assert services.transition_order_problems(firm.id) == []
    rebuilt = db.session.scalars(select(AuditEvent).where(
        AuditEvent.enterprise_id == firm.id, AuditEvent.entity_type == "enterprise",
        AuditEvent.action == "transition").order_by(AuditEvent.id)).all()
    # the correction is on record, with the history as it was shown before
    assert rebuilt[-1].changes["ladder_history"] == ["2026-03-20 无→国家高新技术企业", None]


def test_backdated_revocation_rebuilds_the_order(typed_today):
    firm = make_enterprise()
    hnte = services.grant_qualification(firm, "hnte", "GR202412000001", date(2024, 11, 1))
    services.grant_qualification(firm, "tech_sme", "2026120116000123", date(2026, 3, 1))
    services.revoke_qualification(hnte, date(2025, 6, 1), "年报连续两年未报，资格取消")
    assert firm.current_rung == "tech_sme"
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.enterprise_id == firm.id, AuditEvent.action == "transition")
        .order_by(AuditEvent.id.desc())).first()
    assert event.changes["ladder_history"][0] == "2024-11-01 无→国家高新技术企业"
    assert _history(firm) == [(None, "hnte", date(2024, 11, 1), 212),
                              ("hnte", None, date(2025, 6, 1), 273),
                              (None, "tech_sme", date(2026, 3, 1), 275)]
    revoked = next(h["transition"] for h in services.ladder_history(firm.id, TODAY)
                   if h["transition"].from_stage == "hnte")
    assert (revoked.source, revoked.reason) == ("revocation", "年报连续两年未报，资格取消")
    assert services.transition_order_problems(firm.id) == []


def test_correcting_a_grant_date_redates_the_same_transition(typed_today):
    officer = make_user("bureau")
    firm = make_enterprise()
    q = services.grant_qualification(firm, "hnte", "GR202512000001", date(2025, 12, 15),
                                     evidence="2025年第二批认定名单", actor_id=officer.id)
    (before,) = db.session.scalars(select(StageTransition).where(
        StageTransition.enterprise_id == firm.id))
    services.update_qualification(q, {"granted_on": date(2025, 12, 5),
                                      "valid_until": date(2028, 12, 4)},
                                  expected_version=q.version)
    (after,) = db.session.scalars(select(StageTransition).where(
        StageTransition.enterprise_id == firm.id))
    assert after.id == before.id and after.effective_on == date(2025, 12, 5)
    assert (after.evidence, after.actor_id) == ("2025年第二批认定名单", officer.id)


def test_order_problems_found_and_cleared_by_a_rebuild(typed_today):
    firm = make_enterprise()
    services.grant_qualification(firm, "hnte", "GR202412000001", date(2024, 11, 1))
    # the old refresh wrote moves dated when they were typed: plant one
    db.session.add(StageTransition(enterprise_id=firm.id, chain="ladder", from_stage="hnte",
                                   to_stage="tech_sme", effective_on=date(2024, 10, 1),
                                   source="import"))
    db.session.flush()
    problems = services.transition_order_problems(firm.id)
    assert problems and any("2024-10-01" in p for p in problems)
    services.rebuild_ladder_history(firm, source="manual")
    assert services.transition_order_problems(firm.id) == []
    assert _history(firm) == [(None, "hnte", date(2024, 11, 1), 760)]


def test_stored_rung_disagreeing_with_the_timeline_is_a_problem(typed_today):
    firm = make_enterprise()
    services.grant_qualification(firm, "hnte", "GR202412000001", date(2024, 11, 1))
    firm.current_rung = "tech_sme"
    db.session.flush()
    assert any("current_rung" in p for p in services.transition_order_problems(firm.id))


def test_order_problems_for_many_firms_at_once(typed_today):
    sound, broken = make_enterprise(), make_enterprise()
    for firm in (sound, broken):
        services.grant_qualification(firm, "hnte", "GR202412000001", date(2024, 11, 1))
    db.session.add(StageTransition(enterprise_id=broken.id, chain="ladder", from_stage="hnte",
                                   to_stage=None, effective_on=date(2024, 11, 1),
                                   source="manual"))
    db.session.flush()
    with count_queries() as queries:
        found = services.transition_order_problems_many([sound.id, broken.id])
    assert len(queries) <= 3
    assert found[sound.id] == [] and any("同日" in p for p in found[broken.id])


def test_cli_rebuilds_histories_written_in_typed_order(app, typed_today):
    firm = make_enterprise()
    services.grant_qualification(firm, "hnte", "GR202412000001", date(2024, 11, 1))
    (move,) = db.session.scalars(select(StageTransition).where(
        StageTransition.enterprise_id == firm.id))
    move.effective_on = date(2026, 10, 13)  # as the old refresh dated a late entry
    db.session.commit()
    assert services.transition_order_problems(firm.id)
    result = app.test_cli_runner().invoke(args=["ladder", "rebuild-history"])
    assert result.exit_code == 0 and "rebuilt 1" in result.output, result.output
    assert services.transition_order_problems(firm.id) == []
    assert db.session.get(StageTransition, move.id).effective_on == date(2024, 11, 1)
