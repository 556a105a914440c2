"""Facts for 'newly eligible' come from stored records; the next rung follows ladder order."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from tests.conftest import count_queries
from tests.factories import make_enterprise
from tests.reminders.conftest import make_qualification
from tracker.enterprises import services as enterprises
from tracker.extensions import db
from tracker.ladder.facts import build_facts
from tracker.reminders.eligibility import newly_eligible, next_rung


def give_tech_sme_figures(enterprise) -> None:
    """Figures that pass the tech-SME evaluation (score 96) for fiscal 2024 and 2025."""
    enterprise.honours = ["provincial_rd_institution"]
    enterprise.founded_on = date(2019, 4, 1)
    for year, scale in ((2024, Decimal("0.9")), (2025, Decimal(1))):
        enterprises.save_metrics(enterprise, year, {
            "employees": 120, "tech_staff": 30, "revenue": Decimal(45_000_000) * scale,
            "total_income": Decimal(46_000_000) * scale, "total_assets": Decimal(80_000_000),
            "total_cost": Decimal(40_000_000) * scale, "rd_expense": Decimal(3_000_000) * scale,
            "rd_expense_domestic": Decimal(3_000_000) * scale,
            "high_tech_income": Decimal(30_000_000) * scale, "class1_ip": 1, "class2_ip": 3,
        })


def test_next_rung_follows_the_ladder():
    assert next_rung(None) == "tech_sme"
    assert next_rung("tech_sme") == "chuying"
    assert next_rung("hnte") == "leader_cultivation"
    assert next_rung("leader") is None


def test_facts_read_metrics_before_the_evaluation_year(rules):
    enterprise = make_enterprise()
    give_tech_sme_figures(enterprise)
    make_qualification(enterprise, granted_on=date(2024, 1, 1), valid_until=date(2026, 12, 31))
    facts = build_facts(enterprise, date(2026, 6, 30))
    assert set(facts["years"]) == {"2024", "2025"}
    assert facts["years"]["2025"]["employees"] == 120
    assert facts["enterprise"]["class1_ip"] == 1
    assert "hnte_valid" in facts["enterprise"]["honours"]
    assert set(build_facts(enterprise, date(2025, 6, 30))["years"]) == {"2024"}


def store_verdicts(ids: list[int], day: date) -> None:
    """What the after-save pipeline (or the nightly run) stores before the sweep reads it."""
    from tracker.clock import frozen
    from tracker.ladder import results

    with frozen(day):
        results.recompute(ids, day)


def test_only_firms_that_pass_and_do_not_hold_the_rung(rules):
    passing = make_enterprise()
    give_tech_sme_figures(passing)
    empty = make_enterprise()
    holder = make_enterprise()
    give_tech_sme_figures(holder)
    make_qualification(holder, kind="tech_sme", granted_on=date(2026, 3, 1),
                       valid_until=date(2026, 12, 31))
    store_verdicts([passing.id, empty.id, holder.id], date(2026, 6, 30))
    found = newly_eligible(date(2026, 6, 30), [passing.id, empty.id, holder.id])
    assert found == [(passing.id, "tech_sme")]


def test_queries_do_not_grow_with_the_number_of_firms(rules):
    def firms(n: int) -> list[int]:
        made = []
        for _ in range(n):
            enterprise = make_enterprise()
            give_tech_sme_figures(enterprise)
            make_qualification(enterprise, kind="hnte", number=None)
            made.append(enterprise.id)
        return made

    one, five = firms(1), firms(5)
    store_verdicts(one + five, date(2026, 6, 30))
    with count_queries() as few:
        newly_eligible(date(2026, 6, 30), one)
    with count_queries() as many:
        found = newly_eligible(date(2026, 6, 30), five)
    assert len(many) == len(few)
    assert {enterprise_id for enterprise_id, _ in found} == set(five)


def test_locally_configured_rungs_use_the_admin_thresholds(rules):
    from tests.ladder.conftest import make_firm
    from tracker.ladder.services import save_local_thresholds

    firm = make_firm()
    firm.current_rung = "chuying"  # next rung: dengling, whose thresholds are set locally
    day = date(2026, 6, 30)
    store_verdicts([firm.id], day)
    assert newly_eligible(day, [firm.id]) == []  # no thresholds yet: needs review, no reminder
    save_local_thresholds("dengling", {"min_revenue": 1})
    store_verdicts([firm.id], day)  # a threshold change recomputes every firm (ladder.tasks)
    assert newly_eligible(day, [firm.id]) == [(firm.id, "dengling")]


def test_firms_whose_stored_verdict_is_not_eligible_are_not_loaded(rules):
    """The full sweep reads the stored verdicts in SQL: a register of firms that are not
    eligible costs no ORM object per firm (at 100k firms that was 1.35 GB)."""
    from sqlalchemy import event

    from tracker.clock import frozen
    from tracker.ladder import results
    from tracker.ladder.models import Qualification

    day = date(2026, 6, 30)
    passing = make_enterprise()
    give_tech_sme_figures(passing)
    others = [make_enterprise() for _ in range(4)]
    for firm in others:
        make_qualification(firm, kind="hnte", number=None, granted_on=date(2025, 1, 1),
                           valid_until=date(2027, 12, 31))
    with frozen(day):
        results.recompute([passing.id, *(f.id for f in others)], day)
    db.session.expire_all()
    loaded: list[int] = []

    def on_load(target, _context):
        loaded.append(target.enterprise_id)

    event.listen(Qualification, "load", on_load)
    try:
        found = newly_eligible(day)
    finally:
        event.remove(Qualification, "load", on_load)
    assert (passing.id, "tech_sme") in found
    assert not set(loaded) & {f.id for f in others}
