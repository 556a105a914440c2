"""The synthetic-data generator: the spread issue 12 asks for, rungs and results as stored."""

from __future__ import annotations

from collections import Counter
from contextlib import ExitStack
from datetime import datetime

import pytest
from sqlalchemy import func, select

from tests.factories import make_enterprise
from tests.scratch_databases import scratch_app
from tracker.clock import LOCAL_TZ, frozen, today
from tracker.enterprises.models import AnnualMetrics, Contact, Enterprise
from tracker.extensions import db
from tracker.generate import (
    PLACES,
    SUFFIXES,
    VALID_SHARE,
    WORDS,
    ZONE_WEIGHTS,
    GenerateError,
    generate,
)
from tracker.incubation.models import Carrier, Tenancy
from tracker.integrity.checks import run_checks
from tracker.ladder import results, validity
from tracker.ladder.models import Application, EligibilityResult, Qualification
from tracker.ladder.results import evaluate_enterprise
from tracker.ladder.rules import KINDS
from tracker.ladder.services import qualifications_by_enterprise, transition_order_problems_many
from tracker.names import pinyin_keys
from tracker.reminders.models import Reminder

FIRMS = 600
#: a working morning in Beijing: the spread of titles and stays is drawn around "today"
MORNING = datetime(2026, 12, 2, 10, 0, tzinfo=LOCAL_TZ)


@pytest.fixture
def generated():
    """600 generated firms in the test's transaction (small chunks, so several rounds), on a
    frozen morning that lasts the test."""
    with frozen(MORNING):
        yield generate(FIRMS, seed=3, chunk=250)


def test_counts_and_spread(generated):
    assert generated.firms == FIRMS
    assert db.session.scalar(select(func.count(Enterprise.id))) == FIRMS
    zones = Counter(db.session.scalars(select(Enterprise.zone)))
    total_weight = sum(ZONE_WEIGHTS.values())
    for zone, weight in ZONE_WEIGHTS.items():
        assert abs(zones[zone] / FIRMS - weight / total_weight) < 0.06, (zone, zones)
    fields = set(db.session.scalars(select(Enterprise.tech_field).distinct()))
    assert len(fields - {None}) == 8
    # figures: most firms have all four fiscal years before this one
    years = Counter(db.session.scalars(
        select(func.count(AnnualMetrics.id)).group_by(AnnualMetrics.enterprise_id)))
    assert years[4] / FIRMS > 0.5
    assert db.session.scalar(select(func.count(Contact.id))) > FIRMS * 0.9
    assert db.session.scalar(select(func.count(Carrier.id))) >= 3
    assert db.session.scalar(select(func.count(Tenancy.id))) > 0
    assert db.session.scalar(select(func.count(Application.id))) > 0
    # the sweep ran: the reminders ledger has the rows that are due
    assert generated.rows["reminders"] == db.session.scalar(select(func.count(Reminder.id))) > 0


def test_titles_follow_the_ladder_spread(generated):
    day = today()
    held: dict[str, set[int]] = {k: set() for k in KINDS}
    for q in db.session.scalars(select(Qualification)):
        if q.status_on(day) == "valid":
            held[q.kind].add(q.enterprise_id)
    tolerance = {"tech_sme": 0.06, "hnte": 0.035, "chuying": 0.03, "dengling": 0.02}
    for kind, allowed in tolerance.items():
        share = len(held[kind]) / FIRMS
        assert abs(share - VALID_SHARE[kind]) < allowed, (kind, share)
    assert len(held["leader"] | held["leader_cultivation"]) / FIRMS < 0.02


def test_rung_and_history_derive_from_the_titles(generated):
    ids = list(db.session.scalars(select(Enterprise.id)))
    quals = qualifications_by_enterprise(ids)
    rungs = dict(db.session.execute(select(Enterprise.id, Enterprise.current_rung)).all())
    for enterprise_id in ids:
        assert rungs[enterprise_id] == validity.rung_on(quals[enterprise_id], today())
    # the product's own invariant check: history equals the titles' timeline, ends on the rung
    problems = {i: p for i, p in transition_order_problems_many(ids).items() if p}
    assert problems == {}


def test_stored_results_are_the_engines(generated):
    assert db.session.scalar(select(func.count(EligibilityResult.id))) == FIRMS * len(KINDS)
    for enterprise in db.session.scalars(select(Enterprise).order_by(Enterprise.id).limit(40)):
        stored = {r.kind: r.verdict for r in db.session.scalars(
            select(EligibilityResult).where(EligibilityResult.enterprise_id == enterprise.id))}
        fresh = {r["kind"]: r["verdict"] for r in evaluate_enterprise(enterprise)["results"]}
        assert stored == fresh
    verdicts = set(db.session.scalars(select(EligibilityResult.verdict).distinct()))
    assert {"eligible", "ineligible"} <= verdicts


def test_ids_continue_after_generated_rows(generated):
    """Explicit ids must not break the next ordinary insert (PostgreSQL sequences)."""
    firm = make_enterprise(name="生成之后新建的企业")
    db.session.flush()
    assert firm.id > FIRMS


def test_refuses_a_database_with_firms():
    make_enterprise(name="已有企业")
    db.session.flush()
    with pytest.raises(GenerateError):
        generate(10)


def test_generated_firms_carry_their_pinyin_keys(generated):
    """The generator's Core inserts skip the model's name listener; it writes the keys itself."""
    rows = db.session.execute(select(Enterprise.name, Enterprise.name_pinyin,
                                     Enterprise.name_initials).limit(50)).all()
    assert rows and all((spelled, initials) == pinyin_keys(name) and initials
                        for name, spelled, initials in rows)


def test_name_parts_spell_alike_alone_and_joined():
    """The generator joins each part's keys: that is the whole name's spelling only while no
    two neighbouring parts read differently together (a word across the join)."""
    pairs = [("天津", p) for p in PLACES] + [(p, w) for p in PLACES for w in WORDS] \
        + [(a, b) for a in WORDS for b in WORDS] + [(w, s) for w in WORDS for s in SUFFIXES]
    wrong = []
    for a, b in pairs:
        alone = pinyin_keys(a), pinyin_keys(b)
        if pinyin_keys(a + b) != (alone[0][0] + alone[1][0], alone[0][1] + alone[1][1]):
            wrong.append(a + b)
    assert wrong == []


def _stored_results(ids: list[int]) -> dict[tuple[int, str], tuple]:
    columns = ("verdict", "score", "result", "near_miss", "near_miss_code", "candidate",
               "failed_count", "candidate_since", "as_of", "inputs_hash")
    return {(r.enterprise_id, r.kind): tuple(getattr(r, c) for c in columns)
            for r in db.session.scalars(select(EligibilityResult)
                                        .where(EligibilityResult.enterprise_id.in_(ids)))}


def test_stored_results_are_what_the_recompute_writes(generated):
    """Evaluated again by the product's recompute (forced, as after a save), a sample of firms
    keeps every stored value and stamp: the generator stored exactly what it computes."""
    ids = list(db.session.scalars(select(Enterprise.id).order_by(Enterprise.id)))[::7]
    before = _stored_results(ids)
    assert len(before) == len(ids) * len(KINDS)
    results.recompute(ids, force=True)  # the fixture's clock: the same day
    assert _stored_results(ids) == before


def test_generated_database_passes_the_integrity_checks(generated):
    """Every invariant `flask check` runs holds on a generated register (freshness included)."""
    report = run_checks()
    assert report.checked["tenancy_moves_recorded"] > 0
    assert report.checked["eligibility_fresh"] == FIRMS
    assert report.violations == []


def test_stays_that_moved_on_are_continued(generated):
    """A stay that moved on is followed by the next one, opened the day it ended elsewhere."""
    moved = db.session.scalars(select(Tenancy).where(Tenancy.status == "moved_on")).all()
    assert moved
    for stay in moved:
        following = db.session.scalar(select(Tenancy)
                                      .where(Tenancy.previous_tenancy_id == stay.id))
        assert following.moved_in_on == stay.ended_on
        assert following.carrier_id != stay.carrier_id


@pytest.fixture
def fresh_postgres():
    """Makes apps on fresh PostgreSQL databases of their own (worker processes read committed
    rows); dropped afterwards."""
    with ExitStack() as apps:
        yield lambda: apps.enter_context(scratch_app("generate", own_session=False))


@pytest.mark.live
def test_worker_processes_store_what_one_process_stores(fresh_postgres):
    """Results recomputed in worker processes are the ones the sequential path stores, and
    the register they leave passes the integrity checks."""
    stored = []
    for workers in (1, 2):
        app = fresh_postgres()
        with app.app_context(), frozen(MORNING):
            summary = generate(300, seed=5, chunk=60, workers=workers)
            assert summary.firms == 300
            assert run_checks().violations == []
            rows = db.session.execute(select(
                EligibilityResult.enterprise_id, EligibilityResult.kind,
                EligibilityResult.verdict, EligibilityResult.result,
                EligibilityResult.inputs_hash)).all()
            stored.append(sorted(tuple(r) for r in rows))
    assert len(stored[0]) == 300 * len(KINDS)
    assert stored[0] == stored[1]


@pytest.mark.live
def test_tables_are_analyzed_while_they_grow(fresh_postgres):
    """The results' reads are planned with statistics for the rows written so far: without any
    (autovacuum off, or not come round yet) PostgreSQL planned each chunk's `= ANY` read of a
    growing table blind, and 500,000 firms slowed to 50 a second."""
    from sqlalchemy import event

    app = fresh_postgres()
    with app.app_context(), frozen(MORNING):
        analyzed: list[tuple[str, int]] = []

        def grab(_conn, _cursor, statement, *_):
            if statement.startswith("ANALYZE annual_metrics"):
                analyzed.append((statement, db.session.scalar(
                    select(func.count()).select_from(results.EligibilityResult))))

        event.listen(db.engine, "before_cursor_execute", grab)
        try:
            generate(300, seed=5, chunk=40, workers=1)
        finally:
            event.remove(db.engine, "before_cursor_execute", grab)
    # after the first chunk, then whenever the register has doubled: 40, 80, 160 firms written
    # (each before that chunk's results are stored), besides the closing ANALYZE of everything
    assert [stored // len(KINDS) for _, stored in analyzed] == [0, 40, 120]
