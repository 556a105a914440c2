"""Each invariant reports a violation planted with raw SQL, and a clean picture reports none."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import delete, insert, update

from tests.factories import make_carrier, make_enterprise, make_user
from tracker.clock import frozen, now_utc
from tracker.enterprises import services as enterprises
from tracker.enterprises.models import AnnualMetrics, Enterprise
from tracker.extensions import db
from tracker.imports.models import ImportJob
from tracker.incubation import services as incubation
from tracker.incubation.models import Tenancy
from tracker.integrity import checks
from tracker.integrity.checks import INVARIANTS, run_checks
from tracker.ladder import services as ladder
from tracker.ladder.models import EligibilityResult, Qualification, StageTransition
from tracker.reminders.models import Reminder, ReminderRule

DAY = date(2026, 6, 30)


@pytest.fixture
def day():
    """Freeze the clock on a working day in 2026."""
    with frozen(DAY):
        yield DAY


@pytest.fixture
def picture(day):
    """Three firms built through the services and committed: titles, figures, a tenancy."""
    hnte = make_enterprise(name="天津高企科技有限公司")
    enterprises.save_metrics(hnte, 2025, {"employees": 80, "revenue": 30_000_000})
    # oldest first: entering titles out of order is issue 9 item 2's drift (see below)
    ladder.grant_qualification(hnte, "hnte", "GR202412000123", date(2024, 12, 5),
                               source="manual")
    ladder.grant_qualification(hnte, "tech_sme", None, date(2026, 3, 2), source="manual")
    plain = make_enterprise(name="天津普通科技有限公司", zone="teda")
    tenant = make_enterprise(name="天津在孵科技有限公司")
    carrier = make_carrier(name="检查孵化器")
    tenancy = incubation.open_tenancy(tenant, carrier, date(2025, 3, 1))
    db.session.commit()
    return {"hnte": hnte, "plain": plain, "tenant": tenant, "tenancy": tenancy,
            "carrier": carrier}


def _found(report, name):
    return [(v.subject, v.detail) for v in report.violations if v.invariant == name]


def test_a_picture_built_through_the_services_is_clean(picture):
    report = run_checks(list(INVARIANTS))
    assert report.ok, report.as_dict()
    assert set(report.checked) == set(INVARIANTS)
    assert report.checked["rung_matches_qualifications"] == 3
    assert report.checked["tenancies_disjoint"] == 1


def test_rung_differing_from_valid_titles_is_reported(picture):
    plain, hnte = picture["plain"], picture["hnte"]
    db.session.execute(update(Enterprise).where(Enterprise.id == plain.id)
                       .values(current_rung="hnte"))
    # revoked behind the service's back: the firm still shows HNTE
    db.session.execute(update(Qualification).where(Qualification.enterprise_id == hnte.id,
                                                   Qualification.kind == "hnte")
                       .values(revoked_on=date(2026, 6, 1)))
    report = run_checks(["rung_matches_qualifications"])
    assert _found(report, "rung_matches_qualifications") == [
        (f"enterprise:{hnte.id}",
         "stored rung hnte, valid qualifications on 2026-06-30 give tech_sme"),
        (f"enterprise:{plain.id}", "stored rung hnte, valid qualifications on 2026-06-30 give -"),
    ]


def test_rung_check_uses_the_day_it_runs(picture):
    """Titles expire with time: the day after the HNTE runs out the stored rung is stale."""
    with frozen(date(2027, 12, 5)):
        found = _found(run_checks(["rung_matches_qualifications"]),
                       "rung_matches_qualifications")
    assert found == [(f"enterprise:{picture['hnte'].id}",
                      "stored rung hnte, valid qualifications on 2027-12-05 give -")]


def test_ladder_history_not_matching_the_titles_dates_is_reported(picture):
    hnte = picture["hnte"]
    db.session.execute(update(StageTransition).where(
        StageTransition.enterprise_id == hnte.id, StageTransition.to_stage == "hnte")
        .values(effective_on=date(2026, 6, 1)))
    found = _found(run_checks(["ladder_history_matches_qualifications"]),
                   "ladder_history_matches_qualifications")
    assert [s for s, _d in found] == [f"enterprise:{hnte.id}"]
    assert "2024-12-05 hnte" in found[0][1]


def test_backdated_title_through_the_service_leaves_no_history_drift(picture):
    """Issue 9 item 2: the move to HNTE is dated when it was granted, not when typed."""
    firm = picture["plain"]
    ladder.grant_qualification(firm, "tech_sme", None, date(2026, 3, 2), source="manual")
    ladder.grant_qualification(firm, "hnte", "GR202412000999", date(2024, 12, 5),
                               source="manual")
    db.session.commit()
    found = _found(run_checks(["ladder_history_matches_qualifications"]),
                   "ladder_history_matches_qualifications")
    assert found == []


def test_transitions_out_of_order_or_overlapping_are_reported(picture):
    hnte, plain = picture["hnte"], picture["plain"]
    # a move that leaves a rung the firm was not on at that date
    db.session.execute(insert(StageTransition).values(
        enterprise_id=hnte.id, chain="ladder", from_stage="chuying", to_stage="hnte",
        effective_on=date(2026, 5, 1), source="manual", recorded_at=now_utc()))
    # a history that does not end where the firm shows
    db.session.execute(insert(StageTransition).values(
        enterprise_id=plain.id, chain="ladder", from_stage=None, to_stage="tech_sme",
        effective_on=date(2026, 1, 5), source="manual", recorded_at=now_utc()))
    found = _found(run_checks(["transitions_ordered"]), "transitions_ordered")
    subjects = sorted(s for s, _d in found)
    assert subjects == sorted([f"enterprise:{hnte.id}", f"enterprise:{plain.id}"])
    details = " | ".join(d for _s, d in found)
    assert "leaves chuying" in details
    assert "ladder history ends on tech_sme but the firm shows -" in details


def test_incubation_moves_are_checked_per_tenancy(picture):
    tenant, tenancy = picture["tenant"], picture["tenancy"]
    db.session.execute(insert(StageTransition).values(
        enterprise_id=tenant.id, chain="incubation", from_stage="maker_space",
        to_stage="graduated", effective_on=date(2026, 1, 1), source="tenancy",
        tenancy_id=tenancy.id, recorded_at=now_utc()))
    found = _found(run_checks(["transitions_ordered"]), "transitions_ordered")
    assert [s for s, _d in found] == [f"enterprise:{tenant.id}"]
    assert "leaves maker_space" in found[0][1]


def test_results_older_than_their_facts_are_reported_unless_marked_stale(picture):
    hnte, plain = picture["hnte"], picture["plain"]
    later = now_utc() + timedelta(hours=1)
    db.session.execute(update(Qualification).where(Qualification.enterprise_id == hnte.id)
                       .values(updated_at=later))
    db.session.execute(delete(EligibilityResult).where(
        EligibilityResult.enterprise_id == plain.id))
    found = _found(run_checks(["eligibility_fresh"]), "eligibility_fresh")
    assert [s for s, _d in found] == [f"enterprise:{hnte.id}", f"enterprise:{plain.id}"]
    assert found[0][1].startswith("qualification changed at")
    assert found[1][1].startswith("no stored eligibility results")

    db.session.execute(update(Enterprise).where(Enterprise.id.in_([hnte.id, plain.id]))
                       .values(eligibility_stale_since=now_utc()))
    assert run_checks(["eligibility_fresh"]).ok


@pytest.mark.parametrize("model", [Enterprise, AnnualMetrics])
def test_each_fact_table_counts_for_freshness(picture, model):
    firm = picture["hnte"]
    key = model.id if model is Enterprise else model.enterprise_id
    db.session.execute(update(model).where(key == firm.id)
                       .values(updated_at=now_utc() + timedelta(seconds=1)))
    found = _found(run_checks(["eligibility_fresh"]), "eligibility_fresh")
    assert [s for s, _d in found] == [f"enterprise:{firm.id}"]


def test_tenancy_changes_do_not_stale_results(picture):
    """The ladder rules read no tenancy (ladder/facts.py), so moving out changes no result."""
    db.session.execute(update(Tenancy).where(Tenancy.id == picture["tenancy"].id)
                       .values(updated_at=now_utc() + timedelta(seconds=1)))
    assert run_checks(["eligibility_fresh"]).ok


def test_tenancy_ended_without_its_move_out_is_reported(picture):
    tenant, tenancy = picture["tenant"], picture["tenancy"]
    assert run_checks(["tenancy_moves_recorded"]).ok
    db.session.execute(update(Tenancy).where(Tenancy.id == tenancy.id)
                       .values(status="graduated", ended_on=date(2026, 5, 1)))
    found = _found(run_checks(["tenancy_moves_recorded"]), "tenancy_moves_recorded")
    assert found == [(f"enterprise:{tenant.id}",
                      f"tenancy #{tenancy.id} is graduated since 2026-05-01 but no move out "
                      "is recorded")]
    db.session.execute(delete(StageTransition).where(StageTransition.tenancy_id == tenancy.id))
    found = _found(run_checks(["tenancy_moves_recorded"]), "tenancy_moves_recorded")
    assert found == [(f"enterprise:{tenant.id}",
                      f"tenancy #{tenancy.id} has no move-in on the incubation chain")]


def test_overlapping_tenancies_of_one_firm_are_reported(picture):
    tenant, tenancy = picture["tenant"], picture["tenancy"]
    other = make_carrier(name="另一孵化器")
    db.session.execute(insert(Tenancy).values(
        enterprise_id=tenant.id, carrier_id=other.id, moved_in_on=date(2025, 9, 1),
        term_ends_on=date(2029, 9, 1), status="incubating", version=1,
        created_at=now_utc(), updated_at=now_utc()))
    found = _found(run_checks(["tenancies_disjoint"]), "tenancies_disjoint")
    assert [s for s, _d in found] == [f"enterprise:{tenant.id}"]
    assert f"tenancy #{tenancy.id} (2025-03-01 – …) overlaps" in found[0][1]


def test_a_tenancy_may_start_the_day_the_previous_one_ended(picture):
    tenant, tenancy = picture["tenant"], picture["tenancy"]
    db.session.execute(update(Tenancy).where(Tenancy.id == tenancy.id)
                       .values(ended_on=date(2025, 9, 1), status="moved_on"))
    other = make_carrier(name="下一载体", kind="science_park")
    db.session.execute(insert(Tenancy).values(
        enterprise_id=tenant.id, carrier_id=other.id, moved_in_on=date(2025, 9, 1),
        term_ends_on=date(2029, 9, 1), status="incubating", version=1,
        created_at=now_utc(), updated_at=now_utc()))
    assert run_checks(["tenancies_disjoint"]).ok


def test_reminder_stuck_in_sending_is_reported(app, picture):
    rule = ReminderRule(code="check-test", name="测试", kind="hnte_expiry", template="x")
    db.session.add(rule)
    db.session.flush()
    limit = app.config["REMINDER_STUCK_SECONDS"]
    now = now_utc()
    ids = []
    for claimed in (now - timedelta(seconds=limit + 5), now - timedelta(seconds=limit - 5)):
        ids.append(db.session.execute(insert(Reminder).values(
            rule_id=rule.id, subject_type="enterprise", subject_id=picture["plain"].id,
            occurrence_on=DAY, occurrence_tag=f"t{len(ids)}", recipient_type="user",
            recipient_id=1, to_address="a@example.com", status="sending", claimed_at=claimed,
            attempts=1, channel="email", locale="zh_CN", created_at=now)
            .returning(Reminder.id)).scalar_one())
    report = run_checks(["reminders_not_stuck"])
    assert report.checked["reminders_not_stuck"] == 2
    assert [s for s, _d in _found(report, "reminders_not_stuck")] == [f"reminder:{ids[0]}"]


@pytest.mark.parametrize("status", ["queued", "running"])
def test_job_queued_or_running_too_long_is_reported(app, picture, status, monkeypatch):
    monkeypatch.setitem(app.config, "JOB_STUCK_SECONDS", 1800)
    now = now_utc()
    ids = []
    for age in (1801, 1799):
        ids.append(db.session.execute(insert(ImportJob).values(
            kind="enterprises", filename="x.csv", stored_path="imports/x.csv", status=status,
            dry_run=False, options={}, headers=[], errors=[], rows=0, valid=0, created=0,
            updated=0, unchanged=0, created_at=now - timedelta(seconds=age))
            .returning(ImportJob.id)).scalar_one())
    report = run_checks(["jobs_not_stuck"])
    assert report.checked["jobs_not_stuck"] == 2
    assert [s for s, _d in _found(report, "jobs_not_stuck")] == [f"import_job:{ids[0]}"]


def test_job_limit_has_a_default(app, picture, monkeypatch):
    monkeypatch.delitem(app.config, "JOB_STUCK_SECONDS")
    db.session.execute(insert(ImportJob).values(
        kind="enterprises", filename="x.csv", stored_path="imports/x.csv", status="running",
        dry_run=False, options={}, headers=[], errors=[], rows=0, valid=0, created=0,
        updated=0, unchanged=0,
        created_at=now_utc() - timedelta(seconds=checks.DEFAULT_JOB_STUCK_SECONDS + 1)))
    assert not run_checks(["jobs_not_stuck"]).ok


def test_enterprise_outside_every_zone_is_reported(picture):
    plain = picture["plain"]
    db.session.execute(update(Enterprise).where(Enterprise.id == plain.id).values(zone="mars"))
    found = _found(run_checks(["enterprise_in_zone"]), "enterprise_in_zone")
    assert found == [(f"enterprise:{plain.id}",
                      "zone 'mars' is none of teda, bonded, hitech, dongjiang, ecocity, towns")]


def test_excluded_invariants_stay_out_of_the_default_run_only():
    assert set(checks.EXCLUDED) <= set(INVARIANTS)
    assert not set(checks.EXCLUDED) & set(run_checks().checked)


def test_rung_check_streams_in_a_fixed_number_of_queries(picture):
    from tests.conftest import count_queries

    for _ in range(5):
        firm = make_enterprise()
        ladder.grant_qualification(firm, "tech_sme", None, date(2026, 2, 1), source="manual")
    db.session.commit()
    with count_queries() as few:
        run_checks(["rung_matches_qualifications", "ladder_history_matches_qualifications"])
    assert len(few) <= 6


def test_correcting_the_move_in_date_moves_its_transition(picture):
    """Found by the stateful test: the move-in stayed on the chain at the old date."""
    tenancy = picture["tenancy"]
    incubation.update_tenancy(tenancy, {"moved_in_on": date(2025, 2, 1)},
                              expected_version=tenancy.version)
    db.session.commit()
    assert run_checks(["tenancy_moves_recorded", "transitions_ordered"]).ok


def test_incubation_move_of_a_deleted_stay_is_reported(picture):
    tenant = picture["tenant"]
    db.session.execute(update(StageTransition).where(StageTransition.enterprise_id == tenant.id)
                       .values(tenancy_id=None))
    found = _found(run_checks(["transitions_ordered"]), "transitions_ordered")
    assert [s for s, _d in found] == [f"enterprise:{tenant.id}"]
    assert found[0][1].endswith("(2025-03-01, to incubator) belongs to no stay")


def test_ladder_move_dated_ahead_is_reported_but_an_approved_exit_may_be(picture):
    hnte, tenancy = picture["hnte"], picture["tenancy"]
    bureau = make_user("bureau")
    proposal = incubation.propose(tenancy, "exit", {"effective_on": DAY + timedelta(days=30),
                                                    "reason": "迁出"}, user=bureau)
    incubation.approve(proposal, user=make_user("bureau"))  # maker-checker: another officer
    db.session.commit()
    assert run_checks(list(INVARIANTS)).ok
    db.session.execute(update(StageTransition).where(StageTransition.enterprise_id == hnte.id)
                       .values(effective_on=DAY + timedelta(days=1)))
    found = _found(run_checks(["transitions_ordered"]), "transitions_ordered")
    assert [s for s, _d in found] == [f"enterprise:{hnte.id}"]
    assert found[0][1].endswith("dated 2026-07-01, after today")
