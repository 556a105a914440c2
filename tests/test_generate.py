"""The synthetic-data generator: the spread issue 12 asks for, rungs and results as stored."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from tests.factories import make_enterprise
from tracker.clock import today
from tracker.enterprises.models import AnnualMetrics, Contact, Enterprise
from tracker.extensions import db
from tracker.generate import VALID_SHARE, ZONE_WEIGHTS, GenerateError, generate
from tracker.incubation.models import Carrier, Tenancy
from tracker.ladder import validity
from tracker.ladder.models import Application, EligibilityResult, Qualification
from tracker.ladder.results import evaluate_enterprise
from tracker.ladder.rules import KINDS
from tracker.ladder.services import qualifications_by_enterprise, transition_order_problems_many
from tracker.reminders.models import Reminder

FIRMS = 600


@pytest.fixture
def generated():
    """600 generated firms in the test's transaction (small chunks, so several rounds)."""
    return generate(FIRMS, seed=3, chunk=250)


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
    from tracker.names import pinyin_keys

    rows = db.session.execute(select(Enterprise.name, Enterprise.name_pinyin,
                                     Enterprise.name_initials).limit(50)).all()
    assert rows and all((spelled, initials) == pinyin_keys(name) and initials
                        for name, spelled, initials in rows)
