"""What the nightly run may skip, and what it must still rewrite.

The settled check (inputs.settled_on) decides in SQL which firms need no look at all; the write
compares each stored JSON value by its text before decoding it. Each test here fails if a firm
or a row that changed were left alone.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select, text, update

from tests.ladder.conftest import make_firm, tech_sme_firms
from tracker.clock import frozen
from tracker.enterprises.models import AnnualMetrics, Enterprise
from tracker.extensions import db
from tracker.ladder import results, services
from tracker.ladder.inputs import settled_on
from tracker.ladder.models import EligibilityResult, Qualification
from tracker.ladder.rules import KINDS

DAY = date(2026, 6, 30)


def _settled(ids: list[int], day: date = DAY) -> set[int]:
    tag = results._inputs_stamper(services.local_thresholds())[1]
    return settled_on(ids, day, tag, len(KINDS))


def _computed_at(ids: list[int]) -> dict[int, object]:
    return dict(db.session.execute(
        select(EligibilityResult.enterprise_id, func.min(EligibilityResult.computed_at))
        .where(EligibilityResult.enterprise_id.in_(ids))
        .group_by(EligibilityResult.enterprise_id)).all())


def _touch_record(firm_id: int) -> None:
    db.session.execute(update(Enterprise).where(Enterprise.id == firm_id)
                       .values(innovation_score=Enterprise.innovation_score))


def _touch_figures(firm_id: int) -> None:
    db.session.execute(update(AnnualMetrics).where(AnnualMetrics.enterprise_id == firm_id)
                       .values(employees=AnnualMetrics.employees))


def _touch_titles(firm_id: int) -> None:
    db.session.execute(update(Qualification).where(Qualification.enterprise_id == firm_id)
                       .values(batch="第二批"))


@pytest.fixture
def firms_with_titles():
    """Three tech-SME firms, each holding a title (so every kind of stamp is there)."""
    ids = tech_sme_firms()
    with frozen(DAY):
        for firm_id in ids:
            services.grant_qualification(db.session.get(Enterprise, firm_id), "tech_sme",
                                         None, date(2026, 3, 1))
        db.session.flush()
    return ids


@pytest.mark.parametrize("touch", [_touch_record, _touch_figures, _touch_titles])
def test_a_firm_stamped_after_its_results_is_looked_at(firms_with_titles, touch):
    """A record, figures or titles written around the services after the results were
    computed: the nightly run reads that firm's facts (the same values here: it confirms
    the results, moving their computed_at) and leaves the others alone."""
    ids = firms_with_titles
    results.recompute(ids, DAY)
    assert _settled(ids) == set(ids)
    touch(ids[1])
    assert _settled(ids) == {ids[0], ids[2]}
    before = _computed_at(ids)
    results.recompute(ids, DAY, trust_stamps=True)
    after = _computed_at(ids)
    assert [after[i] > before[i] for i in ids] == [False, True, False]


@pytest.mark.parametrize("touch", [_touch_record, _touch_figures, _touch_titles])
def test_a_stamp_equal_to_computed_at_is_not_settled(firms_with_titles, touch):
    """Under a frozen clock a write in the same instant ties with computed_at: the results
    may not have seen it, so the firm is not settled (strictly after, as the invariant)."""
    ids = firms_with_titles
    with frozen(date(2026, 7, 1)):
        results.recompute(ids, DAY, force=True)
        assert _settled(ids) == set(ids)
        touch(ids[0])
        assert _settled(ids) == set(ids[1:])


def test_a_stale_mark_a_missing_row_or_another_day_is_not_settled(firms_with_titles):
    ids = firms_with_titles
    results.recompute(ids, DAY)
    assert _settled(ids) == set(ids)
    assert _settled(ids, date(2026, 6, 29)) == set()  # before the verdicts were computed
    assert _settled(ids, date(2027, 1, 1)) == set()  # after they ran out (fiscal year)
    results.mark_stale([ids[0]])
    db.session.execute(EligibilityResult.__table__.delete().where(
        EligibilityResult.enterprise_id == ids[1], EligibilityResult.kind == "hnte"))
    assert _settled(ids) == {ids[2]}


def _stored(firm_id: int, kind: str) -> EligibilityResult:
    db.session.expire_all()
    return db.session.scalars(select(EligibilityResult).where(
        EligibilityResult.enterprise_id == firm_id, EligibilityResult.kind == kind)).one()


def _set_json(firm_id: int, kind: str, column: str, stored_text: str | None) -> None:
    """Store this exact text in a JSON column, as another writer might have spelled it."""
    db.session.execute(text(f"UPDATE eligibility_results SET {column} = :t"
                            " WHERE enterprise_id = :f AND kind = :k"),
                       {"t": stored_text, "f": firm_id, "k": kind})


def _forced_recompute_changes(ids: list[int]) -> list[list[int]]:
    """Recompute `ids` on DAY without the skip; the firm lists its RESULTS_CHANGED hook got."""
    changed: list[list[int]] = []
    results.RESULTS_CHANGED.append(changed.append)
    try:
        results.recompute(ids, DAY, force=True)
    finally:
        results.RESULTS_CHANGED.remove(changed.append)
    return changed


def test_a_result_whose_json_alone_changed_is_rewritten():
    """Verdict, score and counts as computed, only the stored criteria differ: rewritten."""
    ids = tech_sme_firms(1)
    results.recompute(ids, DAY)
    want = _stored(ids[0], "tech_sme").result
    _set_json(ids[0], "tech_sme", "result", json.dumps({**want, "failed": ["rd_ratio"]}))
    assert _forced_recompute_changes(ids) == [ids]
    assert _stored(ids[0], "tech_sme").result == want


def test_a_near_miss_stored_where_none_is_computed_is_cleared():
    ids = tech_sme_firms(1)
    results.recompute(ids, DAY)
    assert _stored(ids[0], "hnte").near_miss is None
    _set_json(ids[0], "hnte", "near_miss", json.dumps({"code": "rd_ratio"}))
    results.recompute(ids, DAY, force=True)
    assert _stored(ids[0], "hnte").near_miss is None


def test_json_spelled_otherwise_but_equal_is_only_restamped():
    """The same values in another spelling (key order, spacing) read the same: not rewritten
    (the firm's figures are not recounted), as when the stored JSON was decoded."""
    ids = tech_sme_firms(1)
    results.recompute(ids, DAY)
    want = _stored(ids[0], "tech_sme").result
    _set_json(ids[0], "tech_sme", "result",
              json.dumps(want, sort_keys=True, separators=(",", ":")))
    _set_json(ids[0], "hnte", "near_miss", "null")  # JSON null reads as None too
    assert _forced_recompute_changes(ids) == []
    assert _stored(ids[0], "tech_sme").result == want


def test_a_rewritten_rung_that_stays_a_candidate_keeps_the_day_it_became_one(day):
    """candidate_since is read for the rewritten rows alone: still the stored day when the
    rung stays a candidate, now when it becomes one, None when it stops being one."""
    firm = make_firm(year_changes={2025: {"high_tech_income": 30_000_000}})
    db.session.commit()  # the after-save pipeline stores its results
    since = _stored(firm.id, "hnte").candidate_since
    assert since is not None and _stored(firm.id, "hnte").candidate
    db.session.execute(update(EligibilityResult).where(
        EligibilityResult.enterprise_id == firm.id, EligibilityResult.kind == "hnte")
        .values(failed_count=9))  # a stored value the rules do not give
    with frozen(date(2026, 7, 2)):
        results.recompute([firm.id], force=True)
    row = _stored(firm.id, "hnte")
    assert row.failed_count == 0  # rewritten
    assert row.candidate and row.candidate_since == since
    db.session.execute(update(EligibilityResult).where(
        EligibilityResult.enterprise_id == firm.id, EligibilityResult.kind == "hnte")
        .values(candidate=False, candidate_since=None))
    with frozen(date(2026, 7, 3)) as moment:
        results.recompute([firm.id], force=True)
    assert _stored(firm.id, "hnte").candidate_since == moment
