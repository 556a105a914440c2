"""The after-save pipeline: one trigger, declared stages in order, one bulk threshold."""

from __future__ import annotations

import sys
from datetime import date

import pytest
from sqlalchemy import func, select

from tests.factories import make_enterprise, make_user
from tests.ladder.test_results_bulk import _published
from tests.reminders.conftest import make_qualification
from tests.reminders.test_eligibility import give_tech_sme_figures
from tracker import changes
from tracker.celery_app import _PENDING_KEY
from tracker.clock import frozen
from tracker.enterprises import services as enterprises
from tracker.extensions import db
from tracker.ladder import rules as ladder_rules
from tracker.ladder.models import EligibilityResult
from tracker.ladder.tasks import recompute_many
from tracker.reminders.defaults import seed_rules
from tracker.reminders.models import Reminder, ReminderRule

DAY = date(2026, 6, 30)


def _results(ids) -> int:
    return db.session.scalar(select(func.count(EligibilityResult.id)).where(
        EligibilityResult.enterprise_id.in_(ids)))


def _reminders(ids, kind: str | None = None) -> list[Reminder]:
    query = select(Reminder).join(ReminderRule).where(Reminder.enterprise_id.in_(ids))
    if kind:
        query = query.where(ReminderRule.kind == kind)
    return list(db.session.scalars(query))


@pytest.fixture
def evaluations(monkeypatch):
    """Every call of the rules engine, wherever a module imported `evaluate` from."""
    calls: list[list[str]] = []
    original = ladder_rules.evaluate

    def counting(facts, **kwargs):
        calls.append(list(facts.get("kinds") or []))
        return original(facts, **kwargs)

    for name, module in list(sys.modules.items()):
        if name.startswith("tracker") and getattr(module, "evaluate", None) is original:
            monkeypatch.setattr(module, "evaluate", counting)
    return calls


def test_the_stages_are_declared_in_order():
    assert [stage.name for stage in changes.STAGES] == ["eligibility", "reminders", "aggregates",
                                                        "month_counts", "webhooks"]


def test_a_commit_runs_the_stages_in_declared_order(monkeypatch):
    ran: list[tuple[str, list[int]]] = []
    monkeypatch.setattr(changes, "STAGES", tuple(
        changes.Stage(s.name, lambda ids, s=s: ran.append((s.name, ids)), s.bulk)
        for s in changes.STAGES))
    firm = make_enterprise()
    db.session.commit()
    assert ran == [("eligibility", [firm.id]), ("reminders", [firm.id]),
                   ("aggregates", [firm.id]), ("month_counts", [firm.id]),
                   ("webhooks", [firm.id])]


def test_a_commit_touching_a_firm_evaluates_it_once(evaluations):
    """Newly eligible reads the verdict eligibility just stored instead of running the rules."""
    seed_rules()
    officer = make_user("bureau")
    with frozen(DAY):
        firm = make_enterprise(officer_id=officer.id)
        give_tech_sme_figures(firm)
        enterprises.save_contact(firm, {"name": "张伟", "email": "zhang@firm.example"})
        enterprises.update_enterprise(firm, {"name": firm.name + "（新）"},
                                      expected_version=firm.version)
        evaluations.clear()
        db.session.commit()
    assert len(evaluations) == 1
    assert _results([firm.id]) > 0
    newly = _reminders([firm.id], kind="newly_eligible")
    assert [r.subject_id for r in newly] == [firm.id]  # the sweep saw the stored verdict


def test_no_change_no_stage():
    firm = make_enterprise()
    db.session.commit()
    enterprises.update_enterprise(firm, {"name": firm.name}, expected_version=firm.version)
    db.session.flush()
    assert changes.touched() == set()


@pytest.fixture
def own_celery(app):
    """Tasks publish through this app's broker (a live test may have made another default)."""
    celery = app.extensions["celery"]
    celery.set_default()
    celery.set_current()
    return celery


@pytest.mark.parametrize("firms", [3, 4])
def test_both_stages_honour_one_threshold(app, own_celery, monkeypatch, firms):
    monkeypatch.setitem(app.config, changes.LIMIT_KEY, 3)
    seed_rules()
    db.session.commit()
    _published(app)  # start from an empty queue
    officer = make_user("bureau")
    with frozen(date(2026, 12, 1)):
        made = [make_enterprise(officer_id=officer.id) for _ in range(firms)]
        for firm in made:  # each firm's title expires this month: an hnte_expiry reminder
            make_qualification(firm, valid_until=date(2026, 12, 31))
        db.session.commit()
    ids = sorted(f.id for f in made)
    queued = [args for task, args in _published(app) if task == "tracker.ladder.recompute_many"]
    if firms <= 3:
        assert queued == []
        assert _results(ids) > 0
        assert {r.enterprise_id for r in _reminders(ids, "hnte_expiry")} == set(ids)
    else:  # both stages hand off: a worker recomputes, the scheduled sweep reminds
        assert queued == [ids]  # one message (CHANGES_TASK_IDS firms a message)
        assert _results(ids) == 0
        assert _reminders(ids) == []
        assert not db.session().info.get(_PENDING_KEY)
        assert recompute_many(ids) == firms  # what the worker runs
        assert _results(ids) > 0


def test_a_bulk_commit_sends_one_message_per_task_size_not_per_inline_chunk(
        app, own_celery, monkeypatch):
    """Publishing is a bulk commit's cost: messages of CHANGES_TASK_IDS firms each, while the
    worker still recomputes and commits in its own chunks."""
    monkeypatch.setitem(app.config, changes.LIMIT_KEY, 2)
    monkeypatch.setitem(app.config, changes.TASK_IDS_KEY, 5)
    _published(app)  # start from an empty queue
    made = [make_enterprise() for _ in range(7)]
    db.session.commit()
    ids = sorted(f.id for f in made)
    queued = _published(app)
    assert [args for task, args in queued
            if task == "tracker.ladder.recompute_many"] == [ids[:5], ids[5:]]
    assert [args for task, args in queued
            if task == "tracker.webhooks.observe"] == [ids[:5], ids[5:]]
    assert recompute_many(ids[:5]) == 5  # what a worker runs (in chunks of its own)
    assert _results(ids[:5]) > 0


def test_a_savepoint_commit_is_not_the_commit_and_a_rollback_keeps_the_others(evaluations):
    before = make_enterprise()
    with db.session.begin_nested():  # an import row that saves
        saved = make_enterprise()
    assert evaluations == []  # the SAVEPOINT's commit ran no stage
    failed = db.session.begin_nested()  # an import row that fails and is rolled back
    make_enterprise()
    failed.rollback()
    assert {before.id, saved.id} <= changes.touched()
    db.session.commit()
    assert _results([before.id]) > 0
    assert _results([saved.id]) > 0
    assert changes.touched() == set()


def test_a_rolled_back_transaction_forgets_what_it_collected():
    make_enterprise()
    db.session.rollback()
    assert changes.touched() == set()


def test_a_change_still_pending_at_commit_is_handled_by_that_commit():
    """Commit calls before_commit before its own final flush; nothing may wait for the next."""
    from tracker.enterprises.models import Enterprise
    from tracker.enterprises.uscc import make_code

    firm = Enterprise(uscc=make_code(88001), name="未刷新即提交科技有限公司", zone="hitech")
    db.session.add(firm)  # no flush: the commit's own flush writes it
    db.session.commit()
    assert db.session.scalar(select(func.count(EligibilityResult.id))
                             .where(EligibilityResult.enterprise_id == firm.id)) > 0
    assert not changes.touched()
