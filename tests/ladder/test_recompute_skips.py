"""Recomputing skips firms whose inputs did not change and rewrites only what changed."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import event, select, update

from tests.factories import make_enterprise
from tests.reminders.test_eligibility import give_tech_sme_figures
from tracker.clock import frozen
from tracker.enterprises.models import AnnualMetrics
from tracker.extensions import db
from tracker.ladder import results
from tracker.ladder.models import EligibilityResult

DAY = date(2026, 6, 30)


@pytest.fixture
def evaluated(monkeypatch):
    """The facts each evaluate() call of the recompute got."""
    calls: list[dict] = []
    original = results.evaluate

    def counting(facts, **kwargs):
        calls.append(facts)
        return original(facts, **kwargs)

    monkeypatch.setattr(results, "evaluate", counting)
    return calls


@pytest.fixture
def updates():
    """The UPDATE statements sent to eligibility_results."""
    sent: list[str] = []

    def grab(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("UPDATE ELIGIBILITY_RESULTS"):
            sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", grab)
    yield sent
    event.remove(db.engine, "before_cursor_execute", grab)


def _firms(n: int = 3) -> list[int]:
    with frozen(DAY):
        firms = [make_enterprise() for _ in range(n)]
        for firm in firms:
            give_tech_sme_figures(firm)
        db.session.flush()
    return [f.id for f in firms]


def test_a_second_run_without_changes_evaluates_nothing(evaluated, updates):
    ids = _firms()
    results.recompute(ids, DAY)
    assert len(evaluated) == 3
    evaluated.clear()
    updates.clear()
    assert results.recompute(ids, DAY) == 3
    assert evaluated == []
    # the stored verdicts were computed after the facts last changed: nothing is written
    assert updates == []
    assert results.recompute(ids, DAY, force=True) == 3
    assert len(evaluated) == 3


def test_a_changed_fact_is_evaluated_even_when_written_around_the_services(evaluated):
    ids = _firms()
    results.recompute(ids, DAY)
    db.session.execute(update(AnnualMetrics).where(AnnualMetrics.enterprise_id == ids[1])
                       .values(employees=9999))
    db.session.expire_all()
    evaluated.clear()
    results.recompute(ids, DAY)
    assert len(evaluated) == 1


def test_the_next_day_is_evaluated_again(evaluated):
    """Verdicts move with the date (ages, certificate windows): the day is an input."""
    ids = _firms()
    results.recompute(ids, DAY)
    evaluated.clear()
    results.recompute(ids, date(2026, 7, 1))
    assert len(evaluated) == 3
    stored = db.session.scalars(select(EligibilityResult.as_of).where(
        EligibilityResult.enterprise_id.in_(ids))).all()
    assert set(stored) == {date(2026, 7, 1)}


def test_a_verdict_that_stands_keeps_its_stored_criteria(updates):
    ids = _firms(1)
    results.recompute(ids, DAY)
    before = {r.kind: r.result for r in db.session.scalars(select(EligibilityResult).where(
        EligibilityResult.enterprise_id == ids[0]))}
    updates.clear()
    results.recompute(ids, date(2026, 7, 1))
    rewritten = [s for s in updates if "result=" in s.replace(" ", "")]
    after = {r.kind: r.result for r in db.session.scalars(select(EligibilityResult).where(
        EligibilityResult.enterprise_id == ids[0]))}
    same = [k for k in before if before[k] == after[k]]
    assert same  # some rungs' criteria read the same on the next day …
    assert len(rewritten) <= len(before) - len(same)  # … and were not written again
