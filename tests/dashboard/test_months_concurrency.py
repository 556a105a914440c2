"""PostgreSQL, two real connections: the nightly month-end write and a save reaching back into
that month are ordered, so the stored month holds the save's change (issue 14).

The beat job writes a finished month (INSERT … SELECT from its own snapshot); a save granting a
title dated in that month looked for stored months to mark, found none (the job had not
committed) and committed unmarked: the month kept the count without the title for good.
"""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import func, select

from tests.dashboard.test_aggregates_concurrency import (
    PATIENCE,
    _commit_once_the_other_waits,
    _in_threads,
)
from tests.factories import make_enterprise
from tests.scratch_databases import scratch_app
from tracker.clock import frozen
from tracker.dashboard import history
from tracker.dashboard.models import MonthlyCount
from tracker.extensions import db
from tracker.ladder import services as ladder

pytestmark = [pytest.mark.live, pytest.mark.postgres]

DAY = date(2026, 12, 1)
NOVEMBER = date(2026, 11, 30)


@pytest.fixture
def pg_app():
    with scratch_app("months") as app, app.app_context():
        yield app


def _stored(month: date) -> dict[tuple[str, str], int]:
    rows = db.session.execute(
        select(MonthlyCount.key, MonthlyCount.zone, func.sum(MonthlyCount.count))
        .where(MonthlyCount.month == month, MonthlyCount.measure == "rung")
        .group_by(MonthlyCount.key, MonthlyCount.zone))
    return {(key, zone): int(n) for key, zone, n in rows}


def _replayed(month: date) -> dict[tuple[str, str], int]:
    cells = history.cells_on(month)
    rows = db.session.execute(select(cells.c.key, cells.c.zone, cells.c.count)
                              .where(cells.c.measure == "rung"))
    return {(key, zone): int(n) for key, zone, n in rows}


def test_a_backdated_save_during_the_month_end_write_lands_in_that_month(pg_app):
    from tracker.enterprises.models import Enterprise

    with frozen(DAY):
        firms = [make_enterprise(zone="hitech", name=f"月末并发{i}号有限公司") for i in range(3)]
        for firm in firms:
            ladder.grant_qualification(firm, "tech_sme", None, date(2026, 3, 1),
                                       date(2026, 12, 31))
        db.session.commit()
        history.backfill(until=date(2026, 10, 31))  # every month before November stored
        db.session.commit()
        firm_id = firms[0].id
        written, saved = threading.Event(), threading.Event()

        def month_end_job() -> None:
            try:
                assert history.backfill() == [NOVEMBER]
            finally:
                written.set()
            _commit_once_the_other_waits(saved)

        def backdated_save() -> None:
            try:
                assert written.wait(PATIENCE)
                ladder.grant_qualification(db.session.get(Enterprise, firm_id), "hnte", None,
                                           date(2026, 11, 10), date(2029, 11, 9))
                db.session.commit()
            finally:
                saved.set()

        assert _in_threads(pg_app, month_end_job, backdated_save) == [None, None]
        db.session.expire_all()
        # the HNTE granted on 10 November is in November's month-end, as the history says
        assert _replayed(NOVEMBER)[("hnte", "hitech")] == 1
        assert _stored(NOVEMBER) == _replayed(NOVEMBER)
