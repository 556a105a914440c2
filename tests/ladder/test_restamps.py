"""A run whose verdicts stand moves only the stamps, sent once per firm, never other values."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import event, select, update

from tests.ladder.conftest import tech_sme_firms
from tracker.clock import frozen, now_utc
from tracker.extensions import db
from tracker.ladder import results
from tracker.ladder.models import EligibilityResult
from tracker.ladder.rules import KINDS

DAY = date(2026, 6, 30)
_VALUES = ("kind", "verdict", "score", "result", "near_miss", "near_miss_code", "candidate",
           "failed_count", "candidate_since")
_STAMPS = ("as_of", "valid_through", "computed_at", "inputs_hash")


@pytest.fixture
def result_updates():
    """Each UPDATE sent to eligibility_results, with its parameter sets."""
    sent: list[tuple[str, list]] = []

    def grab(_conn, _cursor, statement, parameters, _context, executemany):
        if statement.lstrip().upper().startswith("UPDATE ELIGIBILITY_RESULTS"):
            sent.append((statement, list(parameters) if executemany else [parameters]))

    event.listen(db.engine, "before_cursor_execute", grab)
    yield sent
    event.remove(db.engine, "before_cursor_execute", grab)


def _rows(ids: list[int]) -> dict[int, list[dict]]:
    db.session.expire_all()
    out: dict[int, list[dict]] = {i: [] for i in ids}
    for r in db.session.scalars(select(EligibilityResult)
                                .where(EligibilityResult.enterprise_id.in_(ids))
                                .order_by(EligibilityResult.kind)):
        out[r.enterprise_id].append({c: getattr(r, c) for c in (*_VALUES, *_STAMPS)})
    return out


def test_a_run_whose_verdicts_stand_restamps_each_firm_once(result_updates):
    """As a first run after a deploy: every digest differs, every verdict stands."""
    ids = tech_sme_firms(3)
    with frozen(DAY):
        results.recompute(ids, DAY)
    before = _rows(ids)
    db.session.execute(update(EligibilityResult).values(inputs_hash=None))
    result_updates.clear()
    with frozen(date(2026, 7, 1)):
        results.recompute(ids, date(2026, 7, 1), trust_stamps=True)
    after = _rows(ids)
    assert len(result_updates) == 1  # one statement, each firm's stamps sent once
    statement, params = result_updates[0]
    if db.engine.dialect.name == "postgresql":  # the firms' stamps as arrays, joined
        assert len(params) == 1 and sorted(params[0]["firm_ids"]) == ids
        assert len(params[0]["valid_through"]) == len(params[0]["inputs_hash"]) == 3
    else:  # one parameter set per firm
        assert "WHERE eligibility_results.enterprise_id" in " ".join(statement.split())
        assert len(params) == 3
    for i in ids:
        assert [{c: r[c] for c in _VALUES} for r in after[i]] == \
            [{c: r[c] for c in _VALUES} for r in before[i]]
        assert len(after[i]) == len(KINDS)
        # the same stamps on every rung of the firm, all moved to the new day
        assert len({tuple(r[c] for c in _STAMPS) for r in after[i]}) == 1
        assert after[i][0]["as_of"] == date(2026, 7, 1) and after[i][0]["inputs_hash"]
        assert after[i][0]["computed_at"] > before[i][0]["computed_at"]


def test_a_firm_with_a_changed_rung_or_a_row_of_another_kind_is_written_row_by_row(
        result_updates):
    ids = tech_sme_firms(3)
    results.recompute(ids, DAY)
    changed, other = ids[0], ids[1]
    db.session.execute(update(EligibilityResult)
                       .where(EligibilityResult.enterprise_id == changed,
                              EligibilityResult.kind == "hnte")
                       .values(verdict="eligible"))  # stored value the rules do not give
    db.session.add(EligibilityResult(enterprise_id=other, kind="retired_rung", as_of=DAY,
                                     verdict="eligible", result={}, candidate=False,
                                     failed_count=0, computed_at=now_utc()))
    db.session.flush()
    before = _rows(ids)
    db.session.execute(update(EligibilityResult).values(inputs_hash=None))
    result_updates.clear()
    results.recompute(ids, DAY, trust_stamps=True)
    after = _rows(ids)
    sent = sorted((" ".join(s.split()).rsplit(" WHERE ", 1)[1].split(" =")[0],
                   "result=" in s.replace(" ", ""), len(params)) for s, params in result_updates)
    # the untouched firm in one parameter set; the other two row by row: the changed rung
    # rewritten, their other rungs restamped (the retired kind's row is left alone)
    assert sent == [("eligibility_results.enterprise_id", False, 1),
                    ("eligibility_results.id", False, 2 * len(KINDS) - 1),
                    ("eligibility_results.id", True, 1)]
    hnte = next(r for r in after[changed] if r["kind"] == "hnte")
    assert hnte["verdict"] == next(r for r in before[ids[2]] if r["kind"] == "hnte")["verdict"]
    retired = next(r for r in after[other] if r["kind"] == "retired_rung")
    assert retired == next(r for r in before[other] if r["kind"] == "retired_rung")
    kept = [r for r in after[other] if r["kind"] != "retired_rung"]
    assert all(r["inputs_hash"] for r in kept)
