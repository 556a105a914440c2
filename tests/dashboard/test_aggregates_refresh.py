"""The maintained figures' two ways of counting (issues 12 and 14): the full refresh (set-based,
in the database) and the per-save delta agree mark for mark; the refresh's statements do not
grow with the register; a worker's bulk recompute of eligibility leaves the figures current.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from tests.conftest import count_queries
from tests.dashboard.test_aggregates import add_reminder, maintained, straightforward
from tests.factories import make_enterprise, make_user
from tracker.clock import frozen
from tracker.dashboard import aggregates
from tracker.dashboard.models import DashboardAggregate, DashboardFirmMark
from tracker.extensions import db
from tracker.ladder import services as ladder
from tracker.ladder.models import Application, EligibilityResult, Qualification
from tracker.reminders.defaults import seed_if_empty

DAY = date(2026, 12, 1)
ZONES = ("hitech", "teda", "dongjiang", "bonded", "ecocity")
FIELDS = ("electronic_information", "new_materials", None)


def _firm(i: int):
    """Firm i of a varied register: its zone, field and titles follow i's residues."""
    firm = make_enterprise(zone=ZONES[i % len(ZONES)], tech_field=FIELDS[i % len(FIELDS)],
                           name=f"刷新对照{i}号科技有限公司")
    start = date(2021 + i % 4, 1 + i % 12, 1 + i % 27)
    if i % 2 == 0:  # a tech-SME registration (a funnel cohort), expired at its year's end
        ladder.grant_qualification(firm, "tech_sme", None, start, date(start.year, 12, 31))
    if i % 3 != 2:  # HNTE 0.5, 1.5, 2.5 … years after: within 1, 2, 3 years or beyond
        granted = min(start + timedelta(days=180 + 365 * (i % 5)), date(2026, 10, 1))
        hnte = ladder.grant_qualification(firm, "hnte", None, granted)
        if i % 7 == 3:
            ladder.revoke_qualification(hnte, DAY - timedelta(days=20 + i), reason="复核不通过")
    if i % 4 == 1:
        ladder.grant_qualification(firm, "chuying", None, date(2025, 3, 1))
    if i % 6 == 5:  # both leader titles: one 科技领军(培育) holder, not two
        ladder.grant_qualification(firm, "leader_cultivation", None, date(2025, 6, 1))
        ladder.grant_qualification(firm, "leader", None, date(2026, 6, 1))
    if i % 9 == 4:  # expired long ago: a stay that ended, no title held today
        ladder.grant_qualification(firm, "dengling", None, date(2021, 2, 1), date(2023, 1, 31))
    for status in (("planned",), ("submitted", "planned"), (), ("rejected",), ())[i % 5]:
        db.session.add(Application(enterprise_id=firm.id, kind="hnte", year=2026, status=status))
    if i % 4 in (0, 3):  # the ledger: a sent reminder, or a failed one and a pending one
        seed_if_empty()
        for n, status in enumerate(("sent",) if i % 4 == 0 else ("failed", "pending")):
            add_reminder(firm, status, f"r{i}-{n}")
    return firm


def _candidates(firms) -> None:
    """Some stored results say candidate (some for a rung not above the firm's: not counted),
    as a recompute would, with the recount the pipeline does at commit."""
    from tracker import snapshots

    ids = [f.id for f in firms[::3]]
    for kind in ("dengling", "hnte"):
        db.session.execute(update(EligibilityResult).where(
            EligibilityResult.enterprise_id.in_(ids), EligibilityResult.kind == kind)
            .values(candidate=True).execution_options(synchronize_session=False))
    snapshots.bump()
    assert aggregates.recount_for(ids)


def _tables() -> tuple[list[tuple], list[tuple]]:
    marks = DashboardFirmMark
    figures = DashboardAggregate
    return ([tuple(r) for r in db.session.execute(
                select(marks.enterprise_id, marks.measure, marks.zone, marks.key, marks.sub,
                       marks.value).order_by(marks.enterprise_id, marks.measure, marks.key,
                                             marks.sub))],
            [tuple(r) for r in db.session.execute(
                select(figures.measure, figures.zone, figures.key, figures.sub, figures.value)
                .order_by(figures.measure, figures.zone, figures.key, figures.sub))])


def test_the_full_refresh_and_the_per_save_recount_agree_mark_for_mark():
    """Built from nothing by the per-save recount alone, then recounted by refresh: the same
    marks and figures, row for row (titles valid, expired, revoked; zones, fields, rungs,
    funnel cohorts, finished stays, candidates; an archived firm and a zone move)."""
    with frozen(DAY):
        aggregates.refresh()  # the empty register's figures: current from here on
        db.session.commit()
        firms = []
        for i in range(24):
            firms.append(_firm(i))
            db.session.commit()  # each commit recounts its firm (the after-save pipeline)
        _candidates(firms)
        db.session.commit()
        firms[4].status = "archived"
        firms[7].zone = "teda" if firms[7].zone != "teda" else "hitech"
        db.session.commit()
        assert aggregates.current_state() is not None, "the recounts kept them current"
        by_delta = _tables()
        measures = {row[1] for row in by_delta[0]}
        assert measures == set(aggregates.MEASURES), measures
        # archived: counted in no figure but the ledger's (its reminders stay in its scope)
        assert {row[1] for row in by_delta[0] if row[0] == firms[4].id} == {"reminders"}
        assert aggregates.refresh() == len(by_delta[0])
        assert _tables() == by_delta
        bureau = make_user("bureau")
        assert maintained(bureau) == straightforward(bureau)


def test_the_refresh_costs_the_same_statements_whatever_the_register_size():
    """And counts inside the database: no statement reads the firms' rows back into Python
    (the old refresh selected every firm's marks and wrote them back with executemany)."""
    with frozen(DAY):
        for i in range(3):
            _firm(i)
        db.session.commit()
        aggregates.refresh()  # the state row exists from here on, as in production
        with count_queries() as small:
            aggregates.refresh()
        for i in range(3, 30):
            _firm(i)
        db.session.commit()
        with count_queries() as large:
            written = aggregates.refresh()
        assert written > 30
        assert len(large) == len(small), large
        reads = [s for s in large if s.lstrip().upper().startswith(("SELECT", "WITH"))
                 and "enterprises" in s]
        assert reads == [], "the marks are counted in the database, not fetched"


@pytest.fixture
def register():
    """Twelve firms with titles and their results stored by the pipeline, figures refreshed."""
    with frozen(DAY):
        firms = [_firm(i) for i in range(12)]
        db.session.commit()
        aggregates.refresh()
        db.session.commit()
        return firms


def _outdate_results(firms) -> list[int]:
    """Stored results that no longer match their firms' facts (as after thresholds changed or
    a write around the services): the next recompute rewrites them. Figures counted from
    these rows, so only the recompute moves them."""
    ids = [f.id for f in firms]
    db.session.execute(update(EligibilityResult).where(EligibilityResult.enterprise_id.in_(ids))
                       .values(candidate=~EligibilityResult.candidate, inputs_hash="outdated")
                       .execution_options(synchronize_session=False))
    aggregates.refresh()
    db.session.commit()
    assert aggregates.current_state() is not None
    return ids


@pytest.mark.parametrize("task", ["recompute_chunk", "recompute_many"])
def test_a_workers_bulk_recompute_leaves_the_figures_current(register, task):
    """The nightly fan-out's chunk task and an import's hand-off both write results outside
    the after-save pipeline: the figures follow them in the same transactions instead of
    reading as stale (and falling back to the plain queries) until a refresh."""
    from tracker.ladder import tasks

    with frozen(DAY):
        ids = _outdate_results(register)
        bureau = make_user("bureau")
        db.session.commit()
        before = maintained(bureau)["candidates"]
        getattr(tasks, task)(ids)
        assert aggregates.current_state() is not None, "stale after the bulk recompute"
        assert maintained(bureau) == straightforward(bureau)
        assert maintained(bureau)["candidates"] != before  # the recompute did change them


def test_a_recompute_with_a_rung_expiring_in_the_same_chunk_stays_current(register):
    """A chunk whose results change and whose rung refresh also goes through the after-save
    pipeline at its commit: both recounts in one transaction keep the figures current."""
    from tracker.ladder import tasks

    with frozen(DAY):
        ids = _outdate_results(register)
        firm = next(f for f in register if f.current_rung == "hnte")
        db.session.execute(update(Qualification).where(
            Qualification.enterprise_id == firm.id, Qualification.kind == "hnte")
            .values(valid_until=DAY - timedelta(days=1))
            .execution_options(synchronize_session=False))
        db.session.commit()  # written around the services: the nightly run finds the expiry
        tasks.recompute_chunk(ids)
        db.session.refresh(firm)
        assert firm.current_rung != "hnte", "the chunk moved the rung (the pipeline ran)"
        assert aggregates.current_state() is not None
        bureau = make_user("bureau")
        assert maintained(bureau) == straightforward(bureau)
