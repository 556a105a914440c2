"""The sweep: what is due on which date, to whom, inserted once however often it runs."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from tests.factories import make_carrier, make_enterprise, make_tenancy, make_user
from tests.reminders.conftest import make_qualification
from tracker.clock import frozen
from tracker.enterprises import services as enterprises
from tracker.extensions import db
from tracker.ladder.models import Application
from tracker.reminders import services
from tracker.reminders.models import Filing, OfficialCycle, Reminder, ReminderRule
from tracker.reminders.sweep import plan, run_sweep, window


def _rows(**filters):
    query = select(Reminder).join(ReminderRule)
    for key, value in filters.items():
        query = query.where(getattr(ReminderRule, key) == value) if key in ("kind", "code") \
            else query.where(getattr(Reminder, key) == value)
    return list(db.session.scalars(query.order_by(Reminder.id)))


@pytest.mark.parametrize(
    ("days_ahead", "tag"),
    [(181, None), (180, "d180"), (91, "d180"), (90, "d90"), (31, "d90"), (30, "d30"),
     (0, "d30"), (-1, None)],
)
def test_each_step_is_due_until_the_next_one(days_ahead, tag):
    from datetime import timedelta

    as_of = date(2026, 3, 1)
    win = window([180, 90, 30], as_of)
    due = as_of + timedelta(days=days_ahead)
    inside = win.low < due <= win.high
    assert inside == (tag is not None)
    if tag:
        expected = next(f"d{o}" for o, bound in win.steps if due <= bound)
        assert expected == tag


def test_overdue_offsets_stay_due_for_a_grace_period():
    from datetime import timedelta

    as_of = date(2026, 7, 1)
    win = window([-1], as_of)
    assert win.high == as_of - timedelta(days=1)
    assert win.low == as_of - timedelta(days=32)


def test_hnte_expiry_reaches_contacts_and_officer_on_each_offset(firm):
    make_qualification(firm["enterprise"], valid_until=date(2026, 12, 31))
    assert plan(date(2026, 7, 3)) == []  # 181 days before
    due = plan(date(2026, 7, 4))  # 180 days before
    assert {(r["to"], r["step"]) for r in due} == {
        ("zhang@firm.example", "d180"), (firm["officer"].email, "d180")}
    assert all(r["due_on"] == "2026-12-31" for r in due)

    assert sum(run_sweep(date(2026, 7, 4)).values()) == 2
    assert sum(run_sweep(date(2026, 7, 4)).values()) == 0  # twice: nothing more
    assert sum(run_sweep(date(2026, 9, 1)).values()) == 0  # still the 180-day step
    assert sum(run_sweep(date(2026, 10, 2)).values()) == 2  # 90 days before
    assert sum(run_sweep(date(2026, 12, 1)).values()) == 2  # 30 days before
    assert sum(run_sweep(date(2027, 1, 1)).values()) == 0  # expired: nothing
    steps = [(r.occurrence_tag, r.to_address) for r in _rows(kind="hnte_expiry")]
    assert len(steps) == len(set(steps)) == 6
    assert all(r.status == "pending" for r in _rows(kind="hnte_expiry"))


def test_plan_marks_what_exists_and_writes_nothing(firm):
    make_qualification(firm["enterprise"], valid_until=date(2026, 12, 31))
    assert {r["already"] for r in plan(date(2026, 12, 1))} == {None}
    run_sweep(date(2026, 12, 1))
    count = db.session.scalar(select(func.count(Reminder.id)))
    assert {r["already"] for r in plan(date(2026, 12, 1))} == {"pending"}
    assert db.session.scalar(select(func.count(Reminder.id))) == count


def test_no_reminder_for_opted_out_unsubscribed_renewed_or_archived(firm):
    enterprise = firm["enterprise"]
    make_qualification(enterprise, valid_until=date(2026, 12, 31))
    firm["contact"].unsubscribed_at = datetime(2026, 1, 1, tzinfo=UTC)
    db.session.flush()
    assert {r["to"] for r in plan(date(2026, 12, 1))} == {firm["officer"].email}

    make_qualification(enterprise, granted_on=date(2026, 11, 20), valid_until=date(2029, 11, 19),
                       number="GR202612000002")
    assert plan(date(2026, 12, 1)) == []  # renewed

    other = make_enterprise(officer_id=firm["officer"].id)
    make_qualification(other, valid_until=date(2026, 12, 31))
    assert len(plan(date(2026, 12, 1))) == 1
    other.status = "archived"
    db.session.flush()
    assert plan(date(2026, 12, 1)) == []


def test_annual_report_from_first_of_may_until_filed_and_escalates(firm):
    enterprise = firm["enterprise"]
    make_qualification(enterprise, granted_on=date(2023, 12, 1), valid_until=date(2026, 11, 30))
    assert [r for r in plan(date(2026, 4, 30)) if r["kind"].startswith("hnte_annual")] == []
    may1 = [r for r in plan(date(2026, 5, 1)) if r["kind"] == "hnte_annual_report"]
    assert {(r["to"], r["step"], r["due_on"]) for r in may1} == {
        ("zhang@firm.example", "d30", "2026-05-31"), (firm["officer"].email, "d30", "2026-05-31")}
    # a week before: the reminder again, and the escalation since 2025's was not filed either
    week = plan(date(2026, 5, 24))
    assert {(r["kind"], r["step"]) for r in week} == {
        ("hnte_annual_report", "d7"), ("hnte_annual_report_escalation", "d7")}
    assert {r["to"] for r in week if r["kind"] == "hnte_annual_report_escalation"} == {
        firm["officer"].email}
    db.session.add(Filing(enterprise_id=enterprise.id, kind="hnte_annual_report", year=2025,
                          filed_on=date(2025, 5, 20)))
    db.session.flush()
    assert {r["kind"] for r in plan(date(2026, 5, 24))} == {"hnte_annual_report"}
    db.session.add(Filing(enterprise_id=enterprise.id, kind="hnte_annual_report", year=2026,
                          filed_on=date(2026, 5, 20)))
    db.session.flush()
    assert plan(date(2026, 5, 24)) == []


def test_admin_cycle_moves_the_annual_report_date(firm):
    make_qualification(firm["enterprise"], granted_on=date(2023, 12, 1),
                       valid_until=date(2026, 11, 30))
    db.session.add(OfficialCycle(programme="hnte_annual_report", year=2026, batch="",
                                 closes_on=date(2026, 5, 20)))
    db.session.flush()
    due = [r for r in plan(date(2026, 5, 13)) if r["kind"] == "hnte_annual_report"]
    assert {r["due_on"] for r in due} == {"2026-05-20"} and {r["step"] for r in due} == {"d7"}


def test_tech_sme_refile_for_last_years_registrations(firm):
    enterprise = firm["enterprise"]
    make_qualification(enterprise, kind="tech_sme", granted_on=date(2025, 4, 10),
                       valid_until=date(2025, 12, 31), number="202512011600000123")
    assert [r["step"] for r in plan(date(2026, 1, 31)) if r["kind"] == "tech_sme_refile"] \
        == ["d120", "d120"]
    make_qualification(enterprise, kind="tech_sme", granted_on=date(2026, 3, 1),
                       valid_until=date(2026, 12, 31), number="202612011600000456")
    assert [r for r in plan(date(2026, 5, 1)) if r["kind"] == "tech_sme_refile"] == []


def test_incubation_term_goes_to_the_carrier_manager_and_officer(rules):
    carrier = make_carrier()
    manager = make_user("carrier_manager", carrier_id=carrier.id)
    other_manager = make_user("carrier_manager")
    officer = make_user("bureau")
    tenant = make_enterprise(officer_id=officer.id)
    make_tenancy(tenant, carrier, moved_in_on=date(2022, 9, 1))  # term ends 2026-09-01
    due = plan(date(2026, 6, 3))  # 90 days before
    assert {(r["to"], r["step"]) for r in due} == {(manager.email, "d90"), (officer.email, "d90")}
    assert other_manager.email not in {r["to"] for r in due}


def test_tenant_report_overdue_after_the_cycle_closes(rules):
    carrier = make_carrier()
    manager = make_user("carrier_manager", carrier_id=carrier.id)
    tenant = make_enterprise()
    make_tenancy(tenant, carrier, moved_in_on=date(2025, 1, 1))
    db.session.add(OfficialCycle(programme="tenant_report", year=2026, batch="",
                                 closes_on=date(2026, 3, 31)))
    db.session.flush()
    assert [r for r in plan(date(2026, 3, 31)) if r["kind"] == "tenant_report_overdue"] == []
    late = [r for r in plan(date(2026, 4, 1)) if r["kind"] == "tenant_report_overdue"]
    assert {(r["to"], r["step"]) for r in late} == {(manager.email, "d-1")}
    db.session.add(Filing(enterprise_id=tenant.id, kind="tenant_report", year=2026,
                          filed_on=date(2026, 4, 1)))
    db.session.flush()
    assert [r for r in plan(date(2026, 4, 2)) if r["kind"] == "tenant_report_overdue"] == []


def test_application_deadline_and_cycle_closing(firm):
    owner = make_user("zone")
    enterprise = firm["enterprise"]
    db.session.add(Application(enterprise_id=enterprise.id, kind="hnte", year=2026,
                               batch="第一批", status="preparing", owner_id=owner.id,
                               deadline=date(2026, 6, 30)))
    db.session.add(Application(enterprise_id=enterprise.id, kind="hnte", year=2025,
                               status="submitted", deadline=date(2026, 6, 30)))
    db.session.add(OfficialCycle(programme="hnte_application", year=2026, batch="第一批",
                                 closes_on=date(2026, 7, 10)))
    db.session.flush()
    due = plan(date(2026, 6, 26))
    deadline = {(r["to"], r["step"]) for r in due if r["kind"] == "application_deadline"}
    assert deadline == {(owner.email, "d7"), (firm["officer"].email, "d7"),
                        ("zhang@firm.example", "d7")}
    closing = {(r["to"], r["step"], r["due_on"]) for r in due if r["kind"] == "cycle_closing"}
    assert closing == {(firm["officer"].email, "d14", "2026-07-10"),
                       ("zhang@firm.example", "d14", "2026-07-10")}


def test_digest_officers_get_their_items_folded_into_one_message(firm):
    firm["officer"].wants_digest = True
    make_qualification(firm["enterprise"], valid_until=date(2026, 12, 31))
    second = make_enterprise(officer_id=firm["officer"].id)
    make_qualification(second, valid_until=date(2026, 12, 20))
    run_sweep(date(2026, 12, 1))
    items = _rows(recipient_type="user")
    assert {r.channel for r in items} == {"digest"}
    made = services.build_digests(date(2026, 12, 1))
    assert len(made) == 1
    assert services.build_digests(date(2026, 12, 1)) == []  # nothing pending any more
    db.session.expire_all()
    digest = db.session.get(Reminder, made[0])
    assert digest.channel == "email" and digest.to_address == firm["officer"].email
    assert {r.status for r in items} == {"digested"}
    assert {r.digest_id for r in items} == {digest.id}


def test_newly_eligible_once_per_rung_and_year(firm):
    enterprise = firm["enterprise"]
    from tests.reminders.test_eligibility import give_tech_sme_figures, store_verdicts

    give_tech_sme_figures(enterprise)
    store_verdicts([enterprise.id], date(2026, 6, 30))
    due = [r for r in plan(date(2026, 6, 30)) if r["kind"] == "newly_eligible"]
    assert [(r["to"], r["step"]) for r in due] == [(firm["officer"].email, "rung:tech_sme")]
    run_sweep(date(2026, 6, 30))
    assert sum(run_sweep(date(2026, 9, 30)).values()) == 0  # same rung, same year
    assert len(_rows(kind="newly_eligible")) == 1


def test_saving_a_contact_makes_its_reminder_at_once(firm, app):
    make_qualification(firm["enterprise"], valid_until=date(2026, 12, 31))
    with frozen(date(2026, 12, 1)):
        db.session.commit()  # the save path: commit triggers the targeted sweep
        before = len(_rows(kind="hnte_expiry"))
        enterprises.save_contact(firm["enterprise"], {
            "name": "赵敏", "email": "zhao@firm.example", "receives_reminders": True})
        db.session.commit()
    rows = _rows(kind="hnte_expiry")
    assert len(rows) == before + 1 if before else len(rows) == 3
    assert "zhao@firm.example" in {r.to_address for r in rows}


def test_plan_cli_prints_json(app, firm):
    make_qualification(firm["enterprise"], valid_until=date(2026, 12, 31))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["reminders", "plan", "--as-of", "2026-12-01",
                                                "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["as_of"] == "2026-12-01" and body["count"] == 2
    assert {r["to"] for r in body["reminders"]} == {"zhang@firm.example", firm["officer"].email}
    bad = app.test_cli_runner().invoke(args=["reminders", "plan", "--as-of", "2026-13-01"])
    assert bad.exit_code == 2


def test_sweep_cli_seeds_rules_on_an_empty_table_and_is_idempotent(app, firm):
    from tracker.reminders.defaults import DEFAULT_RULES

    db.session.execute(ReminderRule.__table__.delete())
    make_qualification(firm["enterprise"], valid_until=date(2026, 12, 31))
    with frozen(date(2026, 12, 1)):
        first = app.test_cli_runner().invoke(args=["reminders", "sweep"])
        second = app.test_cli_runner().invoke(args=["reminders", "sweep"])
    assert first.exit_code == 0, first.output
    assert "inserted 2 reminder(s)" in first.output
    assert "inserted 0 reminder(s)" in second.output
    assert db.session.scalar(select(func.count(ReminderRule.id))) == len(DEFAULT_RULES)
    seeded = app.test_cli_runner().invoke(args=["reminders", "seed-rules"])
    assert "added 0 default rule(s)" in seeded.output


def test_demo_data_includes_rules_and_cycles(app):
    from tracker.demo import load_demo

    load_demo(n_enterprises=3)
    assert db.session.scalar(select(func.count(ReminderRule.id))) > 0
    assert db.session.scalar(select(func.count(OfficialCycle.id))) == 5


def test_a_failed_row_savepoint_keeps_the_other_rows_reminders(firm, app):
    make_qualification(firm["enterprise"], valid_until=date(2026, 12, 31))
    with frozen(date(2026, 12, 1)):
        db.session.commit()
        before = len(_rows(kind="hnte_expiry"))
        with db.session.begin_nested():  # an import row that saves
            enterprises.save_contact(firm["enterprise"], {
                "name": "赵敏", "email": "zhao@firm.example", "receives_reminders": True})
        failed = db.session.begin_nested()  # an import row that fails and is rolled back
        make_enterprise()
        failed.rollback()
        db.session.commit()
    rows = _rows(kind="hnte_expiry")
    assert len(rows) == before + 1
    assert "zhao@firm.example" in {r.to_address for r in rows}


@pytest.mark.postgres
def test_repeated_sweeps_burn_no_ids_and_ids_are_64_bit(firm):
    """ON CONFLICT alone draws a sequence value per candidate per sweep (int4 ran out)."""
    if db.session.get_bind().dialect.name != "postgresql":
        pytest.skip("sequences are PostgreSQL's; SQLite reuses no ids either way")
    make_qualification(firm["enterprise"], valid_until=date(2026, 12, 31))
    with frozen(date(2026, 7, 4)):
        assert sum(run_sweep(date(2026, 7, 4)).values()) == 2
        for _ in range(5):
            assert sum(run_sweep(date(2026, 7, 4)).values()) == 0
    top = db.session.scalar(select(func.max(Reminder.id)))
    burnt = db.session.scalar(select(func.nextval("reminders_id_seq")))
    assert burnt == top + 1
    types = db.session.execute(db.text(
        "SELECT data_type FROM information_schema.columns WHERE table_name = 'reminders' "
        "AND column_name IN ('id', 'digest_id')")).scalars().all()
    assert set(types) == {"bigint"}


def test_tenants_late_with_their_report_remind_the_manager_and_the_contact(rules, smtp):
    """逾期未报（催报）: a reporting cycle's due date passed without the tenant's report."""
    from tracker.incubation.models import ReportingCycle, TenantReport
    from tracker.reminders.tasks import send_batch

    carrier = make_carrier()
    make_user("carrier_manager", carrier_id=carrier.id, email="mgr@carrier.example")
    late = make_enterprise(name="天津迟报科技有限公司")
    enterprises.save_contact(late, {"name": "陈晨", "email": "chen@late.example",
                                    "receives_reminders": True})
    on_time = make_enterprise(name="天津按时科技有限公司")
    enterprises.save_contact(on_time, {"name": "周舟", "email": "zhou@ontime.example",
                                       "receives_reminders": True})
    late_tenancy = make_tenancy(late, carrier, moved_in_on=date(2025, 1, 1))
    on_time_tenancy = make_tenancy(on_time, carrier, moved_in_on=date(2025, 1, 1))
    cycle = ReportingCycle(name="2026年第一季度", period_start=date(2026, 1, 1),
                           period_end=date(2026, 3, 31), fiscal_year=2026,
                           due_on=date(2026, 4, 15))
    db.session.add(cycle)
    db.session.flush()
    db.session.add(TenantReport(cycle_id=cycle.id, tenancy_id=on_time_tenancy.id, employees=9))
    db.session.flush()

    def due(day):
        return {(r["to"], r["step"], r["subject_id"]) for r in plan(day)
                if r["kind"] == "tenant_report_late"}

    assert due(date(2026, 4, 15)) == set()  # not late yet
    assert due(date(2026, 4, 16)) == {("mgr@carrier.example", "d-1", late_tenancy.id),
                                      ("chen@late.example", "d-1", late_tenancy.id)}
    with frozen(date(2026, 4, 16)):
        assert run_sweep(date(2026, 4, 16))["tenant_report_late"] == 2
        assert run_sweep(date(2026, 4, 16))["tenant_report_late"] == 0
        db.session.commit()
        assert send_batch.run() == {"sent": 2}
    subjects = {a.rcpt[0]: str(a.message()["Subject"]) for a in smtp.handler.snapshot()}
    assert set(subjects) == {"mgr@carrier.example", "chen@late.example"}
    assert all("逾期未报" in s and "天津迟报科技有限公司" in s for s in subjects.values())
    assert due(date(2026, 4, 22)) == {("mgr@carrier.example", "d-7", late_tenancy.id),
                                       ("chen@late.example", "d-7", late_tenancy.id)}
    db.session.add(TenantReport(cycle_id=cycle.id, tenancy_id=late_tenancy.id, employees=3))
    db.session.flush()
    assert due(date(2026, 4, 22)) == set()  # reported at last


@pytest.mark.postgres
def test_a_sweep_that_grew_the_ledger_refreshes_its_statistics(rules):
    """Planned from an empty ledger's statistics, the next sweep's anti-join became nested loops
    over every candidate × every row (15–16 s a sweep at 3,000 firms on a server whose
    autovacuum is off, 5 s with this): a sweep that inserts more than autovacuum's own trigger
    (50 rows + 10 % of the table) analyses the ledger itself."""
    if db.session.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL's planner statistics")
    from sqlalchemy import insert, update

    from tracker.enterprises.models import Contact, Enterprise
    from tracker.ladder.models import Qualification

    def known_rows() -> float:
        return db.session.scalar(db.text(
            "SELECT reltuples FROM pg_class WHERE oid = 'reminders'::regclass"))

    db.session.execute(db.text("ANALYZE reminders"))  # the ledger as the planner knows it: empty
    assert known_rows() <= 0
    db.session.execute(update(ReminderRule).values(enabled=False))
    db.session.execute(update(ReminderRule).where(ReminderRule.code == "hnte_expiry")
                       .values(enabled=True, recipients=["contacts"]))
    officer = make_user("bureau")
    n = 80
    ids = db.session.scalars(insert(Enterprise).returning(Enterprise.id), [
        {"uscc": f"91120116{i:09d}S", "name": f"统计企业{i}", "zone": "hitech",
         "status": "active", "officer_id": officer.id} for i in range(n)]).all()
    db.session.execute(insert(Qualification), [
        {"enterprise_id": eid, "kind": "hnte", "granted_on": date(2023, 12, 1),
         "valid_until": date(2026, 12, 20), "number": f"GR2023{eid:08d}", "source": "import",
         "version": 1} for eid in ids])
    db.session.execute(insert(Contact), [
        {"enterprise_id": eid, "name": f"联系人{eid}", "email": f"s{eid}@stats.example",
         "receives_reminders": True, "locale": "zh_CN"} for eid in ids])
    with frozen(date(2026, 12, 1)):
        assert run_sweep(date(2026, 12, 1))["hnte_expiry"] == n
        assert known_rows() >= n
        before = known_rows()
        assert run_sweep(date(2026, 12, 1))["hnte_expiry"] == 0  # nothing new, no ANALYZE
    assert known_rows() == before


def test_newly_eligible_firms_are_not_bound_one_parameter_each(firm):
    """PostgreSQL takes at most 65,535 bind parameters a statement: with one per newly eligible
    firm the sweep failed on a 500,000-firm register (228,000 firms due at once). The firms' ids
    are written into the statement instead, so its parameters do not grow with the firms due."""
    from tests.reminders.test_eligibility import give_tech_sme_figures, store_verdicts
    from tracker.reminders.sweep import due_select

    def parameters() -> int:
        rule = db.session.scalar(select(ReminderRule).where(ReminderRule.kind == "newly_eligible"))
        stmt = due_select(rule, date(2026, 6, 30))
        compiled = stmt.compile(dialect=db.session.get_bind().dialect,
                                compile_kwargs={"render_postcompile": True})
        return len(compiled.params)

    give_tech_sme_figures(firm["enterprise"])
    store_verdicts([firm["enterprise"].id], date(2026, 6, 30))
    one = parameters()
    other = make_enterprise(name="天津渤海生物科技有限公司", officer_id=firm["officer"].id)
    give_tech_sme_figures(other)
    store_verdicts([other.id], date(2026, 6, 30))
    assert [r["kind"] for r in plan(date(2026, 6, 30))].count("newly_eligible") == 2
    assert parameters() == one
