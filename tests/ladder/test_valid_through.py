"""Stored verdicts hold until the first date the rules could read differently (issue 12).

The nightly run skips a firm whose facts did not change while its stored results' valid-through
date has not passed; on the boundary day (a title's end, an age threshold, the fiscal-year
switch) it evaluates the firm again and the stored verdict moves.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import event

from tests.ladder.conftest import make_firm
from tracker.clock import LOCAL_TZ, frozen
from tracker.extensions import db
from tracker.integrity.checks import run_checks
from tracker.ladder import results, tasks
from tracker.ladder import services as ladder
from tracker.ladder.facts import build_facts, facts_valid_through
from tracker.ladder.models import EligibilityResult
from tracker.ladder.rules import evaluate
from tracker.ladder.rules.horizon import rules_valid_through
from tracker.reminders import eligibility as reminders_eligibility

DAY = date(2026, 6, 30)


@pytest.fixture
def writes():
    """The INSERT, UPDATE and DELETE statements sent to eligibility_results."""
    sent: list[str] = []

    def grab(_conn, _cursor, statement, *_args):
        words = statement.split()
        if words and words[0].upper() in ("INSERT", "UPDATE", "DELETE") \
                and "eligibility_results" in " ".join(words[:4]).lower():
            sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", grab)
    yield sent
    event.remove(db.engine, "before_cursor_execute", grab)


def night(ids: list[int], day: date) -> None:
    """The nightly chunk (rungs, then results trusting the stamps) at 02:30 on `day`."""
    with frozen(datetime(day.year, day.month, day.day, 2, 30, tzinfo=LOCAL_TZ)):
        tasks.refresh_rungs_and_results(ids)
        db.session.flush()


def stored(firm_id: int) -> dict[str, EligibilityResult]:
    db.session.expire_all()
    return results.results_for(firm_id)


def _made_on(day: date, **kwargs) -> int:
    with frozen(day):
        firm = make_firm(**kwargs)
        db.session.flush()
    return firm.id


# -- (a) a new day with nothing changed ---------------------------------------------------------


def test_the_next_night_with_nothing_changed_evaluates_and_writes_nothing(evaluated, writes):
    ids = [_made_on(DAY) for _ in range(3)]
    night(ids, DAY + timedelta(days=1))
    evaluated.clear(), writes.clear()
    night(ids, DAY + timedelta(days=2))
    assert evaluated == []
    assert writes == []
    night(ids, DAY + timedelta(days=40))
    assert evaluated == [] and writes == []


def test_results_keep_the_day_they_were_evaluated_for_and_say_how_long_they_hold():
    firm = _made_on(DAY)
    night([firm], DAY + timedelta(days=1))
    night([firm], DAY + timedelta(days=2))
    rows = stored(firm).values()
    # as_of stays the day of the evaluation (nothing was recomputed on the second night)
    assert {r.as_of for r in rows} == {DAY + timedelta(days=1)}
    assert {r.valid_through for r in rows} == {date(2026, 12, 31)}


def test_a_change_on_a_later_day_is_still_evaluated(evaluated):
    ids = [_made_on(DAY) for _ in range(2)]
    night(ids, DAY + timedelta(days=1))
    with frozen(DAY + timedelta(days=3)):
        from tracker.enterprises import services as enterprises
        from tracker.enterprises.models import Enterprise

        enterprises.save_metrics(db.session.get(Enterprise, ids[1]), 2025,
                                 {"employees": 900, "tech_staff": 30})
        db.session.flush()
    evaluated.clear()
    night(ids, DAY + timedelta(days=4))
    assert len(evaluated) == 1
    assert stored(ids[1])["tech_sme"].verdict == "ineligible"  # over 500 staff


# -- (b) each date boundary ---------------------------------------------------------------------


def test_a_title_running_out_is_evaluated_again_the_day_after(evaluated):
    with frozen(DAY):
        firm = make_firm(honours=[])
        ladder.grant_qualification(firm, "hnte", "GR202312000001", date(2023, 8, 16))
        db.session.flush()
    last = date(2026, 8, 15)  # three years from the grant, the day before the anniversary
    night([firm.id], last - timedelta(days=1))
    assert stored(firm.id)["tech_sme"].result["track"] == "direct"  # 第八条: HNTE held
    assert {r.valid_through for r in stored(firm.id).values()} == {last}
    evaluated.clear()
    night([firm.id], last)
    assert evaluated == []
    night([firm.id], last + timedelta(days=1))
    assert len(evaluated) == 1
    assert stored(firm.id)["tech_sme"].result["track"] == "score"


def test_the_first_anniversary_is_evaluated_for_the_hnte_age_rule(evaluated):
    founded = date(2025, 8, 10)
    firm = _made_on(DAY, founded_on=founded, years=(2025,))
    night([firm], date(2026, 8, 8))
    assert "registered_one_year" in stored(firm)["hnte"].result["failed"]
    evaluated.clear()
    night([firm], date(2026, 8, 9))
    assert evaluated == []
    night([firm], date(2026, 8, 10))  # 注册成立一年以上: one full year on the anniversary
    assert len(evaluated) == 1
    assert "registered_one_year" not in stored(firm)["hnte"].result["failed"]


def test_the_fiscal_year_switch_is_evaluated_on_the_first_of_january(evaluated):
    firm = _made_on(DAY)
    night([firm], date(2026, 12, 30))
    assert stored(firm)["tech_sme"].verdict == "eligible"
    evaluated.clear()
    night([firm], date(2026, 12, 31))
    assert evaluated == []
    night([firm], date(2027, 1, 1))  # the latest year is now 2026, which has no figures
    assert len(evaluated) == 1
    assert stored(firm)["tech_sme"].verdict == "insufficient_data"


# -- (c) the readers of stored results -----------------------------------------------------------


def test_freshness_invariant_holds_across_skipped_nights():
    ids = [_made_on(DAY) for _ in range(2)]
    night(ids, DAY + timedelta(days=1))
    night(ids, DAY + timedelta(days=2))
    with frozen(datetime(2026, 7, 2, 3, 0, tzinfo=LOCAL_TZ)):
        assert run_checks(["eligibility_fresh"]).ok


def test_reminders_read_a_verdict_that_still_holds(monkeypatch):
    """newly_eligible uses the stored verdict through its valid-through date, not evaluate()."""
    firm = _made_on(DAY, honours=[])
    night([firm], DAY + timedelta(days=1))
    calls = []
    monkeypatch.setattr(results, "evaluate",
                        lambda *a, **k: calls.append(a) or {"results": []})
    found = reminders_eligibility.newly_eligible(DAY + timedelta(days=20), [firm])
    assert found == [(firm, "tech_sme")]
    assert calls == []
    # before the stored evaluation's day the stored verdict says nothing, and the sweep never
    # runs the rules itself: no reminder until the ladder stores a verdict for that day
    assert reminders_eligibility.newly_eligible(DAY - timedelta(days=1), [firm]) == []
    assert calls == []


# -- the pure horizon ---------------------------------------------------------------------------


def _facts(as_of: date, founded: date | None) -> dict:
    ent = {"founded_on": founded.isoformat()} if founded else {}
    return {"as_of": as_of.isoformat(), "enterprise": ent, "years": {}}


@pytest.mark.parametrize(("as_of", "founded", "through"), [
    # the fiscal year the rules read is the one before as_of's year (eligibility.md)
    (date(2026, 6, 30), date(2019, 4, 1), date(2026, 12, 31)),
    (date(2026, 6, 30), None, date(2026, 12, 31)),
    (date(2026, 12, 31), date(2019, 4, 1), date(2026, 12, 31)),
    # 国科发火〔2016〕32号 第十一条(一) 注册成立一年以上: true from the first anniversary
    (date(2026, 6, 30), date(2025, 8, 10), date(2026, 8, 9)),
    (date(2026, 8, 10), date(2025, 8, 10), date(2026, 12, 31)),
    # founded on 29 Feb: the anniversary is read as 28 Feb (民法典 第二百零三条); ask again
    # on 28 Feb and on 1 Mar rather than guess
    (date(2025, 1, 10), date(2024, 2, 29), date(2025, 2, 27)),
    (date(2025, 2, 28), date(2024, 2, 29), date(2025, 2, 28)),
    # a rule set coming into force: 国科发政〔2017〕115号 from 3 May 2017
    (date(2017, 1, 10), date(2010, 1, 1), date(2017, 5, 2)),
])
def test_rules_valid_through(as_of, founded, through):
    assert rules_valid_through(_facts(as_of, founded)) == through


def _title(granted, until=None, revoked=None):
    return SimpleNamespace(kind="hnte", granted_on=granted, valid_until=until, revoked_on=revoked)


@pytest.mark.parametrize(("titles", "through"), [
    ([], date(2026, 12, 31)),
    ([_title(date(2023, 8, 16), date(2026, 8, 15))], date(2026, 8, 15)),
    ([_title(date(2026, 9, 1), date(2029, 8, 31))], date(2026, 8, 31)),  # pending grant
    ([_title(date(2023, 8, 16), date(2026, 8, 15), date(2026, 7, 20))], date(2026, 7, 19)),
    ([_title(date(2020, 1, 1), date(2022, 12, 31))], date(2026, 12, 31)),  # long expired
])
def test_titles_end_the_validity(titles, through):
    firm = SimpleNamespace(founded_on=date(2019, 4, 1))
    assert facts_valid_through(firm, DAY, titles, _facts(DAY, firm.founded_on)) == through


def test_a_firm_founded_after_the_day_is_evaluated_again_when_it_exists():
    firm = SimpleNamespace(founded_on=date(2026, 9, 1))
    facts = _facts(DAY, None)  # build_facts leaves a future founding date unknown
    assert facts_valid_through(firm, DAY, [], facts) == date(2026, 8, 31)


@pytest.mark.parametrize("founded", [date(2025, 8, 10), date(2024, 2, 29), date(2019, 4, 1),
                                     date(2026, 3, 3)])
def test_stored_values_do_not_move_inside_the_window(founded):
    """Day by day over two years: what is stored never changes before valid-through."""
    metrics = [SimpleNamespace(fiscal_year=y, is_partial=False, class1_ip=1, class2_ip=3,
                               employees=100, tech_staff=30, revenue=40_000_000,
                               total_income=41_000_000, total_assets=80_000_000,
                               total_cost=35_000_000, rd_expense=2_400_000,
                               rd_expense_domestic=2_400_000, high_tech_income=30_000_000)
               for y in range(2023, 2027)]
    firm = SimpleNamespace(founded_on=founded, tech_field="electronic_information", honours=[],
                           innovation_score=None, registered_in_tianjin=True,
                           resident_enterprise=True, restricted_industry=False,
                           integrity_record_clean=True)
    titles = [_title(date(2025, 11, 20), date(2028, 11, 19))]

    def values_on(day: date) -> tuple[list, date]:
        facts = build_facts(firm, day, metrics=metrics, qualifications=titles)
        found = evaluate(facts)["results"]
        return ([results.stored_values(r) for r in found],
                facts_valid_through(firm, day, titles, facts))

    day = date(2025, 6, 1)
    while day < date(2027, 6, 1):
        values, through = values_on(day)
        assert through >= day
        probe = day + timedelta(days=1)
        while probe <= through:
            assert values_on(probe)[0] == values, (day, probe)
            probe += timedelta(days=1)
        day = through + timedelta(days=1)
