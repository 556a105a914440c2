"""Recomputing skips firms whose inputs did not change and rewrites only what changed."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from sqlalchemy import event, select, update

from tests.ladder.conftest import tech_sme_firms
from tracker.enterprises.models import AnnualMetrics, Enterprise
from tracker.extensions import db
from tracker.ladder import results
from tracker.ladder.models import EligibilityResult

DAY = date(2026, 6, 30)


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


def test_a_second_run_without_changes_evaluates_nothing(evaluated, updates):
    ids = tech_sme_firms()
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
    ids = tech_sme_firms()
    results.recompute(ids, DAY)
    db.session.execute(update(AnnualMetrics).where(AnnualMetrics.enterprise_id == ids[1])
                       .values(employees=9999))
    db.session.expire_all()
    evaluated.clear()
    results.recompute(ids, DAY)
    assert len(evaluated) == 1


def test_the_next_day_is_evaluated_again_only_where_the_verdict_ran_out(evaluated):
    """Verdicts move with the date (ages, certificate windows, the fiscal year), but only on
    the days the rules read differently: the stored valid_through says which."""
    ids = tech_sme_firms()
    results.recompute(ids, DAY)
    evaluated.clear()
    results.recompute(ids, date(2026, 7, 1))
    assert evaluated == []
    results.recompute(ids, date(2027, 1, 1))  # the latest fiscal year moves on
    assert len(evaluated) == 3
    stored = db.session.scalars(select(EligibilityResult.as_of).where(
        EligibilityResult.enterprise_id.in_(ids))).all()
    assert set(stored) == {date(2027, 1, 1)}


def test_a_verdict_that_stands_keeps_its_stored_criteria(updates):
    ids = tech_sme_firms(1)
    results.recompute(ids, DAY)
    before = {r.kind: r.result for r in db.session.scalars(select(EligibilityResult).where(
        EligibilityResult.enterprise_id == ids[0]))}
    updates.clear()
    results.recompute(ids, date(2026, 7, 1), force=True)
    rewritten = [s for s in updates if "result=" in s.replace(" ", "")]
    after = {r.kind: r.result for r in db.session.scalars(select(EligibilityResult).where(
        EligibilityResult.enterprise_id == ids[0]))}
    same = [k for k in before if before[k] == after[k]]
    assert same  # some rungs' criteria read the same on the next day …
    assert len(rewritten) <= len(before) - len(same)  # … and were not written again


@pytest.fixture
def reads():
    """The SELECT statements that read annual figures' values (not just their stamps)."""
    sent: list[str] = []

    def grab(_conn, _cursor, statement, *_args):
        if (statement.lstrip().upper().startswith("SELECT")
                and "annual_metrics.revenue" in statement):
            sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", grab)
    yield sent
    event.remove(db.engine, "before_cursor_execute", grab)


def test_the_nightly_run_reads_no_facts_of_firms_untouched_since_today(evaluated, updates,
                                                                         reads):
    ids = tech_sme_firms()
    results.recompute(ids, DAY)
    evaluated.clear(), updates.clear(), reads.clear()
    assert results.recompute(ids, DAY, trust_stamps=True) == 3
    assert evaluated == [] and updates == [] and reads == []


def test_the_nightly_run_sees_a_fact_changed_around_the_services(evaluated):
    ids = tech_sme_firms()
    results.recompute(ids, DAY)
    db.session.execute(update(AnnualMetrics).where(AnnualMetrics.enterprise_id == ids[1])
                       .values(employees=9999))  # updated_at follows (onupdate)
    evaluated.clear()
    results.recompute(ids, DAY, trust_stamps=True)
    assert [f["years"]["2025"]["employees"] for f in evaluated] == [9999]


def test_the_nightly_run_evaluates_everyone_under_changed_rules(evaluated, monkeypatch):
    """A deploy that changes a rule changes the tag every stored digest ends in."""
    ids = tech_sme_firms()
    results.recompute(ids, DAY)
    evaluated.clear()
    monkeypatch.setattr(results, "_RULES_CODE", "a rule changed")
    results.recompute(ids, DAY, trust_stamps=True)
    assert len(evaluated) == 3


def test_the_nightly_run_clears_a_stale_mark_after_reading_the_facts(evaluated, reads):
    ids = tech_sme_firms()
    results.recompute(ids, DAY)
    results.mark_stale([ids[0]])
    reads.clear()
    results.recompute(ids, DAY, trust_stamps=True)
    assert len(reads) == 1  # the stale firm's facts were read (and hashed: the same verdicts)
    assert db.session.get(Enterprise, ids[0]).eligibility_stale_since is None


def test_a_touched_but_unchanged_firm_is_confirmed_not_rewritten(evaluated, updates):
    """A fact saved with the same value moves its stamp: the digest shows nothing changed,
    and only computed_at moves (the freshness invariant compares it with the stamps)."""
    ids = tech_sme_firms(1)
    results.recompute(ids, DAY)
    db.session.execute(update(AnnualMetrics).where(AnnualMetrics.enterprise_id == ids[0])
                       .values(employees=AnnualMetrics.employees))
    evaluated.clear(), updates.clear()
    results.recompute(ids, DAY, trust_stamps=True)
    assert evaluated == []
    assert len(updates) == 1
    assert re.match(r"UPDATE eligibility_results SET computed_at=[^,]+ WHERE", updates[0])


def test_stored_results_are_compact():
    ids = tech_sme_firms()
    results.recompute(ids, DAY)
    sizes = [len(json.dumps(r.result, ensure_ascii=False).encode())
             + len(json.dumps(r.near_miss, ensure_ascii=False).encode())
             for r in db.session.scalars(select(EligibilityResult).where(
                 EligibilityResult.enterprise_id.in_(ids)))]
    assert sum(sizes) / len(sizes) < 150
