"""The scheduled sweep: the day's full pass once, then only the marked firms, the same rows.

The key property: after changes made through the product's own code paths, the scheduled
sweep on the same day inserts exactly what a full run_sweep would (compared in a rolled-back
savepoint). Plus: a new day, or a change read for every firm, gets a full pass; a mark
committed during a sweep, and the marks of a rolled-back sweep, stay for the next pass.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import event, select, text

from tests.factories import make_enterprise, make_user
from tests.reminders.conftest import make_qualification
from tests.reminders.test_eligibility import give_tech_sme_figures
from tracker import changes
from tracker.accounts import services as accounts
from tracker.clock import frozen
from tracker.enterprises import services as enterprises
from tracker.extensions import db
from tracker.ladder.services import applications
from tracker.ladder.tasks import recompute_many
from tracker.reminders import services
from tracker.reminders.incremental import mark, scheduled_sweep
from tracker.reminders.models import Reminder, ReminderRule, SweepMark
from tracker.reminders.sweep import UNIQUE_KEY, run_sweep

DAY = date(2026, 5, 20)


def _keys() -> set[tuple]:
    table = Reminder.__table__
    return set(db.session.execute(select(*[table.c[n] for n in UNIQUE_KEY])).all())


def _full_would_insert(day: date) -> set[tuple]:
    """What a full run_sweep would insert now, in a savepoint rolled back afterwards."""
    before = _keys()
    savepoint = db.session.begin_nested()
    run_sweep(day)
    made = _keys() - before
    savepoint.rollback()
    return made


def _scheduled(day: date = DAY) -> tuple[str, set[tuple]]:
    """Run the scheduled sweep and check it inserted exactly what a full pass would."""
    expected = _full_would_insert(day)
    before = _keys()
    answer = scheduled_sweep(day)
    db.session.commit()
    made = _keys() - before
    assert made == expected, (answer, made ^ expected)
    return answer["pass"], made


def _marks() -> set[int]:
    return set(db.session.scalars(select(SweepMark.enterprise_id)))


def _rule(code: str) -> ReminderRule:
    return db.session.scalar(select(ReminderRule).where(ReminderRule.code == code))


def _rule_ids(made: set[tuple]) -> set[int]:
    return {key[0] for key in made}


@pytest.fixture
def world(rules):
    officer = make_user("bureau", name="王专员")
    other_officer = make_user("bureau", name="李专员")
    firm = make_enterprise(officer_id=officer.id)
    enterprises.save_contact(firm, {"name": "张伟", "email": "zhang@a.example",
                                    "receives_reminders": True})
    second = make_enterprise(officer_id=officer.id)
    db.session.commit()
    return {"officer": officer, "other_officer": other_officer, "firm": firm, "second": second}


def test_the_scheduled_sweep_inserts_what_a_full_pass_would(app, world, monkeypatch):
    officer, other_officer = world["officer"], world["other_officer"]
    firm, second = world["firm"], world["second"]
    with frozen(DAY):
        assert _scheduled()[0] == "full"  # the day's first
        assert _scheduled() == ("marked", set())

        # saves through the services: the commit sweeps them itself, nothing is left to do
        make_qualification(firm, valid_until=DAY + timedelta(days=30))
        db.session.commit()
        enterprises.save_contact(firm, {"name": "赵敏", "email": "zhao@a.example",
                                        "receives_reminders": True})
        db.session.commit()
        applications.create_application(second, {"kind": "hnte", "year": 2026,
                                                  "deadline": DAY + timedelta(days=7)})
        db.session.commit()
        enterprises.update_enterprise(second, {"officer_id": other_officer.id},
                                      expected_version=second.version)
        db.session.commit()
        services.record_filing(firm.id, "hnte_annual_report", 2026, None)
        db.session.commit()
        assert firm.id in _marks()  # a filing is not watched by the pipeline: marked
        assert _scheduled()[0] == "marked"

        # a commit bigger than the inline limit (an import): marked, not swept in the commit
        monkeypatch.setitem(app.config, changes.LIMIT_KEY, 3)
        bulk = [make_enterprise(officer_id=officer.id) for _ in range(4)]
        give_tech_sme_figures(bulk[0])
        for one in bulk:
            enterprises.save_contact(one, {"name": "联系人", "email": f"c{one.id}@b.example",
                                           "receives_reminders": True})
            applications.create_application(
                one, {"kind": "tech_sme", "year": 2026, "deadline": DAY + timedelta(days=1)})
        db.session.commit()
        ids = sorted(one.id for one in bulk)
        assert set(ids) <= _marks()
        passed, made = _scheduled()
        assert passed == "marked"
        assert _rule_ids(made) == {_rule("application_deadline").id}

        # the worker's recompute stores the verdicts (and clears the stale marks): marked
        assert recompute_many(ids) == 4
        assert bulk[0].id in _marks()
        passed, made = _scheduled()
        assert passed == "marked"
        assert _rule_ids(made) == {_rule("newly_eligible").id}
        monkeypatch.setitem(app.config, changes.LIMIT_KEY, changes.DEFAULT_INLINE_LIMIT)

        # a rule edited: every firm may be due to it, a full pass
        services.save_rule(_rule("newly_eligible"), {"recipients": ["officer", "contacts"]})
        db.session.commit()
        passed, made = _scheduled()
        assert passed == "full" and made
        assert _scheduled() == ("marked", set())

        # an official cycle added
        applications.create_application(firm, {"kind": "hnte", "year": 2026})
        db.session.commit()
        services.save_cycle(None, {"programme": "hnte_application", "year": 2026,
                                   "batch": "", "opens_on": None,
                                   "closes_on": DAY + timedelta(days=3), "notes": None})
        db.session.commit()
        passed, made = _scheduled()
        assert passed == "full" and _rule_ids(made) == {_rule("cycle_closing").id}

        # a user deactivated, given a firm meanwhile, then reactivated
        accounts.set_active(other_officer, False)
        db.session.commit()
        assert _scheduled()[0] == "full"
        enterprises.update_enterprise(firm, {"officer_id": other_officer.id},
                                      expected_version=firm.version)
        db.session.commit()
        assert _scheduled() == ("marked", set())
        accounts.set_active(other_officer, True)
        db.session.commit()
        passed, made = _scheduled()
        assert passed == "full"
        assert {key[-1] for key in made} == {other_officer.id}


def test_a_new_day_gets_a_full_pass(world):
    with frozen(DAY):
        assert scheduled_sweep(DAY)["pass"] == "full"
        assert scheduled_sweep(DAY)["pass"] == "marked"
    with frozen(DAY + timedelta(days=1)):
        assert scheduled_sweep(DAY + timedelta(days=1))["pass"] == "full"
        assert scheduled_sweep(DAY + timedelta(days=1))["pass"] == "marked"


def test_the_commands_full_pass_counts_as_the_days(world):
    """`flask reminders sweep` (and the generator) read every firm: the marks are covered and
    the next scheduled sweep that day reads only what changed after it."""
    from tracker.reminders.tasks import sweep_now

    with frozen(DAY):
        mark([world["firm"].id])
        db.session.commit()
        sweep_now(DAY)
        assert _marks() == set()
        assert scheduled_sweep(DAY)["pass"] == "marked"


def test_a_rolled_back_sweep_keeps_its_marks(world):
    firm = world["firm"]
    with frozen(DAY):
        scheduled_sweep(DAY)
        mark([firm.id])
        db.session.commit()
        savepoint = db.session.begin_nested()
        answer = scheduled_sweep(DAY)
        assert answer["pass"] == "marked" and answer["firms"] == 1
        assert _marks() == set()
        savepoint.rollback()
        assert _marks() == {firm.id}


#: a firm id no test makes: the mark another connection commits
ELSEWHERE = 987_654_321


def test_a_mark_committed_during_a_sweep_stays_for_the_next_pass(app, world):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("two connections committing concurrently: PostgreSQL")
    firm = world["firm"]
    other = db.engine.connect()
    fired: list[str] = []
    sweeping = db.session.connection()

    def after(conn, cursor, statement, parameters, context, executemany):
        if conn is sweeping and not fired and statement.lstrip().upper().startswith(
                "DELETE FROM SWEEP_MARKS"):
            other.execute(text("INSERT INTO sweep_marks (enterprise_id, marked_at) "
                               "VALUES (:id, now())"), {"id": ELSEWHERE})
            other.commit()
            fired.append(statement)

    try:
        with frozen(DAY):
            scheduled_sweep(DAY)
            mark([firm.id])
            db.session.commit()
            event.listen(db.engine, "after_cursor_execute", after)
            try:
                answer = scheduled_sweep(DAY)
            finally:
                event.remove(db.engine, "after_cursor_execute", after)
            assert fired
            assert answer["firms"] == 1  # its own mark only
            assert _marks() == {ELSEWHERE}  # the later one waits for the next pass
    finally:
        other.execute(text("DELETE FROM sweep_marks WHERE enterprise_id = :id"),
                      {"id": ELSEWHERE})
        other.commit()
        other.close()
