"""Incubation services: opening tenancies, the proposal flow, graduation checks and reports."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.factories import make_carrier, make_enterprise, make_user
from tests.incubation.conftest import give_investment
from tracker.audit.models import AuditEvent
from tracker.clock import frozen, today
from tracker.enterprises.models import AnnualMetrics
from tracker.enterprises.services import save_metrics
from tracker.extensions import db
from tracker.incubation import services
from tracker.incubation.models import Tenancy
from tracker.ladder.models import Qualification, StageTransition


def _transitions(enterprise_id):
    return db.session.scalars(select(StageTransition).where(
        StageTransition.enterprise_id == enterprise_id, StageTransition.chain == "incubation")
        .order_by(StageTransition.id)).all()


def test_default_term_is_moved_in_plus_carrier_months_month_end_safe(chain):
    assert chain["ten_a"].term_ends_on == date(2028, 1, 31)
    short = make_carrier(name="短期孵化器", default_term_months=1)
    tenancy = services.open_tenancy(make_enterprise(founded_on=date(2023, 12, 1)), short,
                                    date(2024, 1, 31))
    assert tenancy.term_ends_on == date(2024, 2, 29)
    assert tenancy.term_override_reason is None


def test_term_override_needs_a_reason(chain):
    firm = make_enterprise(founded_on=date(2024, 1, 1))
    with pytest.raises(services.FieldError) as exc:
        services.open_tenancy(firm, chain["park"], date(2024, 6, 1), date(2029, 6, 1))
    assert "term_override_reason" in exc.value.errors
    tenancy = services.open_tenancy(firm, chain["park"], date(2024, 6, 1), date(2029, 6, 1),
                                    "生物医药领域延长至60个月")
    assert tenancy.term_ends_on == date(2029, 6, 1)
    assert tenancy.term_override_reason == "生物医药领域延长至60个月"
    # Giving the default date explicitly is not an override.
    other = services.open_tenancy(make_enterprise(founded_on=date(2024, 1, 1)), chain["park"],
                                  date(2024, 6, 1), date(2028, 6, 1))
    assert other.term_override_reason is None


def test_open_tenancy_is_audited_records_a_transition_and_refuses_duplicates(chain):
    tenancy = chain["ten_a"]
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == "tenancy", AuditEvent.entity_id == tenancy.id)).all()
    assert [e.action for e in events] == ["create"]
    assert events[0].enterprise_id == chain["firm_a"].id
    [move] = _transitions(chain["firm_a"].id)
    assert (move.from_stage, move.to_stage, move.tenancy_id) == (None, "incubator", tenancy.id)
    with pytest.raises(services.FieldError, match="已在该载体在孵"):
        services.open_tenancy(chain["firm_a"], chain["a"], date(2024, 5, 1))


def test_entry_warnings_explain_without_refusing(chain):
    old = make_enterprise(founded_on=date(2019, 1, 1))
    tenancy = services.open_tenancy(old, chain["a"], date(2024, 1, 1))
    assert tenancy.id is not None
    assert any("超过24个月" in w and "第九条(9)" in w for w in tenancy.warnings)
    assert any("科技型中小企业" in w for w in tenancy.warnings)  # no figures yet
    unknown = make_enterprise(founded_on=None)
    assert any("成立日期未知" in w
               for w in services.entry_warnings(unknown, chain["a"], date(2024, 1, 1)))


def test_entry_warnings_are_quiet_for_a_young_registered_tech_sme(chain):
    firm = make_enterprise(founded_on=date(2023, 1, 1))
    db.session.add(Qualification(enterprise_id=firm.id, kind="tech_sme",
                                 granted_on=date(2023, 6, 1), valid_until=date(2024, 12, 31)))
    db.session.flush()
    assert services.entry_warnings(firm, chain["a"], date(2024, 3, 1)) == []
    # Exactly 24 months old on the day it moves in is still allowed (第九条(9)).
    assert all("24个月" not in w
               for w in services.entry_warnings(firm, chain["a"], date(2025, 1, 1)))
    assert any("24个月" in w
               for w in services.entry_warnings(firm, chain["a"], date(2025, 1, 2)))


def test_entry_warning_when_still_incubating_elsewhere(chain):
    warnings = services.entry_warnings(chain["firm_m"], chain["a"], date(2024, 9, 1))
    assert any("丙众创空间" in w for w in warnings)


def test_graduation_needs_a_basis_the_data_supports(chain):
    tenancy = chain["ten_a"]
    data = {"effective_on": date(2026, 6, 30), "graduation_basis": "investment"}
    with pytest.raises(services.FieldError) as exc:
        services.propose(tenancy, "graduate", data, user=chain["manager_a"])
    assert "累计0.00万元" in exc.value.errors["graduation_basis"]
    give_investment(chain["firm_a"], {2024: 3_000_000, 2025: 2_000_000})  # exactly 500万
    with pytest.raises(services.FieldError):
        services.propose(tenancy, "graduate", data, user=chain["manager_a"])
    give_investment(chain["firm_a"], {2025: 2_000_001})
    proposal = services.propose(tenancy, "graduate", data, user=chain["manager_a"])
    assert proposal.status == "pending"
    assert tenancy.status == "incubating"  # nothing changes until the bureau decides


def test_listing_basis_needs_evidence(chain):
    data = {"effective_on": date(2026, 6, 30), "graduation_basis": "listed"}
    with pytest.raises(services.FieldError) as exc:
        services.propose(chain["ten_a"], "graduate", data, user=chain["manager_a"])
    assert "evidence" in exc.value.errors
    proposal = services.propose(chain["ten_a"], "graduate",
                                {**data, "evidence": "2026年6月被某上市公司收购公告"},
                                user=chain["manager_a"])
    assert proposal.graduation_basis == "listed"


def test_hnte_and_revenue_bases_read_the_firms_records(chain):
    firm = chain["firm_a"]
    facts = services.graduation_facts(firm, date(2026, 6, 1))
    assert facts.hnte_valid is False
    db.session.add(Qualification(enterprise_id=firm.id, kind="hnte", granted_on=date(2025, 12, 1),
                                 valid_until=date(2028, 11, 30)))
    save_metrics(firm, 2024, {"revenue": Decimal(4_000_000)})
    save_metrics(firm, 2025, {"revenue": Decimal("6000000.01")})
    facts = services.graduation_facts(firm, date(2026, 6, 1))
    assert facts.hnte_valid is True
    assert services.criteria.basis_met(facts, "revenue") is True
    assert services.graduation_facts(firm, date(2029, 1, 1)).hnte_valid is False  # expired


def test_approving_a_graduation_changes_status_with_audit_and_transition(chain):
    give_investment(chain["firm_a"], {2025: 6_000_000})
    proposal = services.propose(chain["ten_a"], "graduate",
                                {"effective_on": date(2026, 6, 30),
                                 "graduation_basis": "investment", "evidence": "投资协议"},
                                user=chain["manager_a"])
    with pytest.raises(PermissionError):
        services.approve(proposal, user=chain["manager_a"])
    services.approve(proposal, user=chain["bureau"], comment="同意")
    tenancy = chain["ten_a"]
    assert (tenancy.status, tenancy.ended_on, tenancy.graduation_basis) == (
        "graduated", date(2026, 6, 30), "investment")
    assert proposal.status == "approved" and proposal.decided_by_id == chain["bureau"].id
    assert [(t.from_stage, t.to_stage) for t in _transitions(chain["firm_a"].id)] == [
        (None, "incubator"), ("incubator", "graduated")]
    actions = db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type.in_(["tenancy", "tenancy_proposal"]),
        AuditEvent.enterprise_id == chain["firm_a"].id).order_by(AuditEvent.id)).all()
    assert actions == ["create", "create", "update", "approve"]
    with pytest.raises(services.FieldError):
        services.approve(proposal, user=chain["bureau"])  # not twice


def test_approval_rechecks_the_basis(chain):
    give_investment(chain["firm_a"], {2025: 6_000_000})
    proposal = services.propose(chain["ten_a"], "graduate",
                                {"effective_on": date(2026, 6, 30),
                                 "graduation_basis": "investment"}, user=chain["manager_a"])
    save_metrics(chain["firm_a"], 2025, {"investment_raised": Decimal(0)})  # corrected
    with pytest.raises(services.FieldError):
        services.approve(proposal, user=chain["bureau"])
    assert chain["ten_a"].status == "incubating"


def test_rejection_needs_a_comment_and_leaves_the_tenancy(chain):
    proposal = services.propose(chain["ten_a"], "exit",
                                {"effective_on": date(2026, 5, 1), "reason": "迁出本区"},
                                user=chain["manager_a"])
    with pytest.raises(services.FieldError) as exc:
        services.reject(proposal, user=chain["bureau"], comment="  ")
    assert "comment" in exc.value.errors
    services.reject(proposal, user=chain["bureau"], comment="请补充迁出证明")
    assert proposal.status == "rejected"
    assert chain["ten_a"].status == "incubating"
    # A new proposal may follow the rejected one.
    services.propose(chain["ten_a"], "exit", {"effective_on": date(2026, 5, 1),
                                               "reason": "已迁出，附证明"},
                     user=chain["manager_a"])


def test_only_one_pending_proposal_per_tenancy_and_exit_needs_a_reason(chain):
    with pytest.raises(services.FieldError) as exc:
        services.propose(chain["ten_a"], "exit", {"effective_on": date(2026, 5, 1)},
                         user=chain["manager_a"])
    assert "reason" in exc.value.errors
    services.propose(chain["ten_a"], "exit", {"effective_on": date(2026, 5, 1), "reason": "注销"},
                     user=chain["manager_a"])
    with pytest.raises(services.FieldError, match="待审核"):
        services.propose(chain["ten_a"], "exit", {"effective_on": date(2026, 5, 1),
                                                   "reason": "注销"}, user=chain["manager_a"])


def test_moving_on_closes_one_tenancy_and_opens_the_next(chain):
    manager = chain["manager_m"]
    proposal = services.propose(chain["ten_m"], "move_on", {
        "effective_on": date(2025, 9, 1), "next_carrier_note": "甲孵化器",
    }, user=manager)
    with pytest.raises(services.FieldError, match="请选择转入的载体"):
        services.approve(proposal, user=chain["bureau"])
    services.approve(proposal, user=chain["bureau"], next_carrier=chain["a"])
    old = chain["ten_m"]
    new = db.session.get(Tenancy, proposal.new_tenancy_id)
    assert (old.status, old.ended_on) == ("moved_on", date(2025, 9, 1))
    assert (new.carrier_id, new.moved_in_on, new.status) == (chain["a"].id, date(2025, 9, 1),
                                                             "incubating")
    assert new.previous_tenancy_id == old.id
    assert new.term_ends_on == date(2029, 9, 1)
    assert [(t.from_stage, t.to_stage) for t in _transitions(chain["firm_m"].id)] == [
        (None, "maker_space"), ("maker_space", "incubator")]


def test_a_graduate_can_move_on_later_and_still_counts_as_graduate(chain):
    give_investment(chain["firm_a"], {2025: 6_000_000})
    p = services.propose(chain["ten_a"], "graduate", {"effective_on": date(2026, 3, 1),
                                                      "graduation_basis": "investment"},
                         user=chain["bureau"])
    checker = make_user("bureau")  # maker-checker: the proposer does not decide
    services.approve(p, user=checker)
    p = services.propose(chain["ten_a"], "move_on", {"effective_on": date(2026, 4, 1),
                                                     "next_carrier_id": chain["park"].id},
                         user=chain["bureau"])
    services.approve(p, user=checker)
    assert chain["ten_a"].status == "moved_on"
    assert chain["ten_a"].ended_on == date(2026, 3, 1)
    assert services.carrier_stats(chain["a"]).graduates == 1


def test_editor_names_only_carriers_in_scope_as_destination(chain):
    zone_user = make_user("zone", zone="hitech")
    with pytest.raises(services.FieldError) as exc:
        services.propose(chain["ten_a"], "move_on", {"effective_on": date(2026, 4, 1),
                                                     "next_carrier_id": chain["b"].id},
                         user=zone_user)
    assert "next_carrier_id" in exc.value.errors


def test_withdraw_by_proposer(chain):
    p = services.propose(chain["ten_a"], "exit", {"effective_on": date(2026, 5, 1),
                                                  "reason": "注销"}, user=chain["manager_a"])
    with pytest.raises(PermissionError):
        services.withdraw(p, user=make_user("carrier_manager", carrier_id=chain["a"].id))
    services.withdraw(p, user=chain["manager_a"])
    assert p.status == "withdrawn"


def test_carrier_stats_and_check(chain):
    a = chain["a"]
    for _i in range(29):
        services.open_tenancy(make_enterprise(founded_on=date(2024, 1, 1)), a, date(2025, 1, 1))
    give_investment(chain["firm_a"], {today().year - 1: 100_000})
    save_metrics(chain["firm_a"], today().year - 1, {"class2_ip": 2})
    check = services.carrier_check(a)
    assert check.stats.tenants == 30
    assert check.stats.invested_tenants == 1 and check.stats.ip_tenants == 1
    statuses = {r.criterion.code: r.status for r in check.results}
    assert statuses["tenants"] == "not_met"  # 30 < 50
    assert statuses["density"] == "met"  # 30 per 10,000 m² = 3.0
    assert statuses["area"] == "met"
    assert check.summary == "not_met"
    assert services.carrier_check(chain["b"]).rules is None  # scheme "none"


def test_tenant_report_feeds_annual_metrics_and_late_list(chain):
    bureau = chain["bureau"]
    with frozen(date(2026, 10, 10)):
        cycle = services.create_cycle({"name": "2026年第三季度", "period_start": date(2026, 7, 1),
                                       "period_end": date(2026, 9, 30),
                                       "due_on": date(2026, 10, 20)}, user=bureau)
        assert cycle.fiscal_year == 2026
        services.submit_report(cycle, chain["ten_a"], {
            "revenue": Decimal(1_500_000), "employees": 18, "rd_expense": Decimal(200_000),
            "class1_ip": 0, "class2_ip": 2, "investment_raised": None,
        }, user=chain["manager_a"])
        progress = services.report_progress(cycle, bureau)
        assert progress == {"expected": 3, "submitted": 1, "late": 0}
        assert services.report_progress(cycle, chain["manager_a"]) == {
            "expected": 1, "submitted": 1, "late": 0}
    row = db.session.scalar(select(AnnualMetrics).where(
        AnnualMetrics.enterprise_id == chain["firm_a"].id, AnnualMetrics.fiscal_year == 2026))
    assert (row.revenue, row.employees, row.source) == (Decimal(1_500_000), 18, "tenant_report")
    with frozen(date(2026, 10, 21)):
        assert services.report_progress(cycle, bureau)["late"] == 2
        late = db.session.scalars(services.reports_query(cycle, bureau).where(
            services.TenantReport.id.is_(None))).all()
        assert {t.enterprise.name for t in late} == {"天津乙在孵科技有限公司",
                                                     "天津丙创客科技有限公司"}


def test_progress_of_many_cycles_matches_each_cycle(chain):
    bureau = chain["bureau"]
    with frozen(date(2026, 10, 21)):
        q3 = services.create_cycle({"name": "2026年第三季度", "period_start": date(2026, 7, 1),
                                    "period_end": date(2026, 9, 30),
                                    "due_on": date(2026, 10, 20)}, user=bureau)
        old = services.create_cycle({"name": "2001年", "period_start": date(2001, 1, 1),
                                     "period_end": date(2001, 12, 31),
                                     "due_on": date(2002, 1, 20)}, user=bureau)
        services.submit_report(q3, chain["ten_a"], {"employees": 18}, user=chain["manager_a"])
        for user in (bureau, chain["manager_a"]):
            many = services.reports_progress([q3, old], user)
            assert many == {q3.id: services.report_progress(q3, user),
                            old.id: services.report_progress(old, user)}
        assert many[old.id] == {"expected": 0, "submitted": 0, "late": 0}
        assert services.reports_progress([q3], bureau)[q3.id] == {
            "expected": 3, "submitted": 1, "late": 2}
        assert services.reports_progress([], bureau) == {}


def test_report_refuses_tenants_not_resident_in_the_period(chain):
    with frozen(date(2026, 10, 10)):
        cycle = services.create_cycle({"name": "2023年第四季度", "period_start": date(2023, 10, 1),
                                       "period_end": date(2023, 12, 31),
                                       "due_on": date(2024, 1, 20)}, user=chain["bureau"])
        with pytest.raises(services.FieldError):
            services.submit_report(cycle, chain["ten_a"], {"employees": 3},
                                   user=chain["manager_a"])


def test_cycle_validation_names_fields(chain):
    with pytest.raises(services.FieldError) as exc:
        services.create_cycle({"name": "", "period_start": date(2026, 7, 1),
                               "period_end": date(2026, 6, 1), "due_on": date(2026, 5, 1)},
                              user=chain["bureau"])
    assert set(exc.value.errors) >= {"name", "period_end"}


def test_dashboard_counts_are_scoped(chain):
    give_investment(chain["firm_b"], {2025: 6_000_000})
    p = services.propose(chain["ten_b"], "graduate", {"effective_on": today(),
                                                      "graduation_basis": "investment"},
                         user=chain["manager_b"])
    services.approve(p, user=chain["bureau"])
    ending = services.open_tenancy(make_enterprise(founded_on=date(2024, 1, 1)), chain["a"],
                                   today() - timedelta(days=30),
                                   today() + timedelta(days=40), "短期项目")
    assert ending.id
    bureau = services.dashboard_counts(chain["bureau"])
    assert bureau["incubating"] == 3 and bureau["graduated_this_year"] == 1
    assert bureau["ending_90"] == 1
    mine = services.dashboard_counts(chain["manager_a"])
    assert mine == {"incubating": 2, "graduated_this_year": 0, "ending_90": 1, "overdue": 0,
                    "pending": 0}
