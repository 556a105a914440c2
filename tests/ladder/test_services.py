"""Qualifications, rung transitions, applications, stored results: through the real services."""

from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import select

from tests.factories import make_enterprise, make_user
from tests.ladder.conftest import make_firm
from tracker.audit.models import AuditEvent
from tracker.clock import frozen
from tracker.enterprises import services as enterprises
from tracker.extensions import db
from tracker.ladder import results, services
from tracker.ladder.facts import build_facts
from tracker.ladder.models import Qualification, StageTransition
from tracker.ladder.rules import evaluate


def _transitions(firm):
    return list(db.session.scalars(select(StageTransition).where(
        StageTransition.enterprise_id == firm.id).order_by(StageTransition.id)))


def _audit(firm, entity_type):
    return list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.enterprise_id == firm.id, AuditEvent.entity_type == entity_type)
        .order_by(AuditEvent.id)))


def test_grant_derives_validity_sets_rung_and_records_transition(day):
    firm = make_enterprise()
    q = services.grant_qualification(firm, "hnte", "GR202312000273", date(2023, 12, 8),
                                     batch="2023年第一批", evidence="2023年第一批认定名单")
    assert q.valid_until == date(2026, 12, 7) and q.source == "import"
    assert firm.current_rung == "hnte"
    (t,) = _transitions(firm)
    assert (t.from_stage, t.to_stage, t.effective_on, t.source, t.evidence) == (
        None, "hnte", date(2023, 12, 8), "import", "2023年第一批认定名单")
    assert t.qualification_id == q.id
    assert [e.action for e in _audit(firm, "qualification")] == ["create"]
    assert any(e.action == "transition" for e in _audit(firm, "enterprise"))


def test_lower_rung_granted_later_does_not_move_the_rung(day):
    firm = make_enterprise()
    services.grant_qualification(firm, "hnte", "GR202412000001", date(2024, 11, 1))
    services.grant_qualification(firm, "tech_sme", "2026120116000123", date(2026, 4, 1))
    assert firm.current_rung == "hnte"
    assert len(_transitions(firm)) == 1


def test_revocation_drops_to_the_next_valid_rung_with_a_dated_transition(day):
    firm = make_enterprise()
    services.grant_qualification(firm, "tech_sme", "2026120116000123", date(2026, 3, 1))
    hnte = services.grant_qualification(firm, "hnte", "GR202412000001", date(2024, 11, 1))
    services.revoke_qualification(hnte, date(2026, 6, 1), "年报连续两年未报，资格取消")
    assert hnte.status_on(day) == "revoked"
    assert firm.current_rung == "tech_sme"
    last = _transitions(firm)[-1]
    assert (last.from_stage, last.to_stage, last.effective_on, last.source) == (
        "hnte", "tech_sme", date(2026, 6, 1), "revocation")
    assert last.reason == "年报连续两年未报，资格取消"
    with pytest.raises(services.LadderError) as exc:
        services.revoke_qualification(hnte, date(2026, 6, 2), "again")
    assert "revoked_on" in exc.value.errors


def test_revocation_needs_a_reason(day):
    firm = make_enterprise()
    q = services.grant_qualification(firm, "chuying", None, date(2025, 5, 1))
    with pytest.raises(services.LadderError) as exc:
        services.revoke_qualification(q, date(2026, 1, 1), "  ")
    assert exc.value.errors == {"reason": "请填写撤销原因"}


def test_expiry_moves_the_rung_when_time_passes(day):
    firm = make_enterprise()
    services.grant_qualification(firm, "tech_sme", "2026120116000123", date(2026, 3, 1))
    with frozen(date(2027, 1, 5)):
        services.refresh_rung(firm, source="expiry")
        assert services.refresh_rung(firm, source="expiry") is None  # idempotent
    assert firm.current_rung is None
    last = _transitions(firm)[-1]
    assert (last.from_stage, last.to_stage, last.effective_on) == ("tech_sme", None,
                                                                   date(2027, 1, 1))
    history = services.ladder_history(firm.id, date(2027, 1, 5))
    assert [(h["transition"].to_stage, h["days"]) for h in history] == [
        ("tech_sme", 306), (None, 4)]


def test_grant_refuses_bad_dates(day):
    firm = make_enterprise()
    with pytest.raises(services.LadderError) as exc:
        services.grant_qualification(firm, "hnte", "GR202612000001", date(2026, 7, 1))
    assert "granted_on" in exc.value.errors
    with pytest.raises(services.LadderError) as exc:
        services.grant_qualification(firm, "hnte", "GR202512000001", date(2025, 7, 1),
                                     valid_until=date(2025, 1, 1))
    assert "valid_until" in exc.value.errors
    with pytest.raises(services.LadderError):
        services.grant_qualification(firm, "gazelle", None, date(2025, 7, 1))


def test_update_qualification_checks_version_and_moves_rung(day):
    firm = make_enterprise()
    q = services.grant_qualification(firm, "hnte", "GR202312000273", date(2023, 6, 1))
    with pytest.raises(services.StaleEdit):
        services.update_qualification(q, {"number": "X"}, expected_version=q.version + 1)
    assert q.valid_until == date(2026, 5, 31) and firm.current_rung is None  # expired already
    changes = services.update_qualification(q, {"valid_until": date(2026, 12, 31)},
                                            expected_version=q.version)
    assert changes == {"valid_until": ["2026-05-31", "2026-12-31"]}
    assert firm.current_rung == "hnte"
    changes = services.update_qualification(q, {"valid_until": date(2026, 4, 30)},
                                            expected_version=q.version)
    assert firm.current_rung is None
    assert _transitions(firm)[-1].effective_on == date(2026, 5, 1)


def test_batch_validity_set_by_admin_applies_to_its_titles(day):
    firm = make_enterprise()
    q = services.grant_qualification(firm, "dengling", None, date(2025, 9, 30),
                                     batch="2025年第二批")
    assert q.valid_until is None and firm.current_rung == "dengling"
    assert services.set_batch_validity("dengling", "2025年第二批", date(2026, 3, 31)) == 1
    assert q.valid_until == date(2026, 3, 31)
    assert firm.current_rung is None
    audited = {(e.entity_type, e.entity_id): e.changes for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.entity_type.in_(("ladder_batch", "qualification")),
                                 AuditEvent.action == "update"))}
    assert audited[("qualification", q.id)] == {"valid_until": [None, "2026-03-31"]}
    assert {"valid_until": [None, "2026-03-31"]} in audited.values()  # the batch itself
    later = services.grant_qualification(make_enterprise(), "dengling", None,
                                         date(2025, 10, 1), batch="2025年第二批")
    assert later.valid_until == date(2026, 3, 31)
    with pytest.raises(services.LadderError):
        services.set_batch_validity("hnte", "2025年第二批", date(2026, 3, 31))


# --- evidence ---------------------------------------------------------------------------------

PDF = b"%PDF-1.7\n% certificate scan\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 20


def test_evidence_stored_under_upload_dir(day, upload_dir):
    q = services.grant_qualification(make_enterprise(), "hnte", "GR202312000273",
                                     date(2023, 12, 8))
    services.store_evidence(q, "证书.pdf", io.BytesIO(PDF))
    path = services.evidence_file(q)
    assert path is not None and path.read_bytes() == PDF
    assert upload_dir.resolve() in path.parents
    assert (q.evidence_name, q.evidence_type, q.evidence_size) == ("证书.pdf",
                                                                   "application/pdf", len(PDF))


@pytest.mark.parametrize(
    ("name", "data", "fragment"),
    [
        ("cert.exe", b"MZ....", "PDF、JPG 或 PNG"),
        ("cert.pdf", PNG, "内容与扩展名不符"),
        ("cert.png", b"GIF89a", "内容与扩展名不符"),
        ("cert.pdf", b"", "为空"),
        ("cert.pdf", PDF + b"x" * 2048, "不能超过"),
    ],
)
def test_evidence_type_and_size_checked(app, day, upload_dir, monkeypatch, name, data, fragment):
    monkeypatch.setitem(app.config, "LADDER_EVIDENCE_MAX_BYTES", 1024)
    q = services.grant_qualification(make_enterprise(), "hnte", None, date(2023, 12, 8))
    with pytest.raises(services.LadderError) as exc:
        services.store_evidence(q, name, io.BytesIO(data))
    assert fragment in exc.value.errors["evidence"]
    assert q.evidence_path is None


def test_evidence_path_outside_upload_dir_is_refused(day, upload_dir):
    q = services.grant_qualification(make_enterprise(), "hnte", None, date(2023, 12, 8))
    q.evidence_path = "../../etc/passwd"
    assert services.evidence_file(q) is None


# --- applications -----------------------------------------------------------------------------


def test_application_moves_only_along_allowed_transitions(day):
    firm = make_enterprise()
    app = services.create_application(firm, {"kind": "hnte", "year": 2026, "batch": "第一批"})
    assert app.status == "planned"
    with pytest.raises(services.LadderError) as exc:
        services.move_application(app, "submitted")
    assert "不能从「计划申报」变为「已提交」" in exc.value.errors["status"]
    for status in ("preparing", "submitted", "rejected"):
        services.move_application(app, status)
    with pytest.raises(services.LadderError):
        services.move_application(app, "preparing")  # rejected is final
    actions = [(e.action, e.changes.get("status")) for e in _audit(firm, "application")]
    assert actions == [("create", [None, "planned"]), ("update", ["planned", "preparing"]),
                       ("update", ["preparing", "submitted"]), ("reject", ["submitted",
                                                                           "rejected"])]


def test_application_refuses_stale_version(day):
    app = services.create_application(make_enterprise(), {"kind": "hnte", "year": 2026})
    with pytest.raises(services.StaleEdit):
        services.move_application(app, "preparing", expected_version=app.version + 1)


def test_create_application_validates_fields(day):
    with pytest.raises(services.LadderError) as exc:
        services.create_application(make_enterprise(), {"kind": "nope", "year": 1990})
    assert set(exc.value.errors) == {"kind", "year"}


def test_approving_creates_the_qualification_and_moves_the_rung(day):
    firm = make_enterprise()
    app = services.create_application(firm, {"kind": "hnte", "year": 2026, "batch": "第一批"})
    services.move_application(app, "preparing")
    services.move_application(app, "submitted")
    services.move_application(app, "approved", number="GR202612000042",
                              granted_on=date(2026, 6, 20))
    q = app.qualification
    assert (q.kind, q.number, q.granted_on, q.valid_until, q.batch, q.source) == (
        "hnte", "GR202612000042", date(2026, 6, 20), date(2029, 6, 19), "第一批", "application")
    assert firm.current_rung == "hnte"
    t = _transitions(firm)[-1]
    assert (t.to_stage, t.source, t.effective_on) == ("hnte", "application", date(2026, 6, 20))
    assert _audit(firm, "application")[-1].action == "approve"


def test_failed_approval_changes_nothing(day):
    firm = make_enterprise()
    app = services.create_application(firm, {"kind": "hnte", "year": 2026})
    services.move_application(app, "preparing")
    services.move_application(app, "submitted")
    with pytest.raises(services.LadderError):
        services.move_application(app, "approved", granted_on=date(2027, 1, 1))
    assert app.status == "submitted" and app.qualification_id is None
    assert db.session.scalar(select(Qualification).where(
        Qualification.enterprise_id == firm.id)) is None


# --- facts and stored results -----------------------------------------------------------------


def test_facts_builder_reads_record_figures_and_qualifications(day):
    firm = make_firm(honours=["sci_project"], innovation_score=80,
                     year_changes={2025: {"class1_ip": 2, "class2_ip": 5},
                                   2024: {"class1_ip": 0}})
    enterprises.save_metrics(firm, 2026, {"employees": 999})  # the current year is not read
    services.grant_qualification(firm, "hnte", "GR202412000001", date(2024, 11, 1))
    facts = build_facts(firm, day)
    assert facts["as_of"] == "2026-06-30"
    assert sorted(facts["years"]) == ["2023", "2024", "2025"]
    assert facts["years"]["2025"]["revenue"] == 40_000_000
    assert isinstance(facts["years"]["2025"]["revenue"], int)
    ent = facts["enterprise"]
    assert (ent["class1_ip"], ent["class2_ip"]) == (2, 5)  # the latest year
    assert ent["honours"] == ["hnte_valid", "sci_project"]
    assert ent["founded_on"] == "2018-05-01" and ent["innovation_score"] == 80
    assert ent["registered_in_tianjin"] is True and ent["restricted_industry"] is False
    # without the certificate on that date there is no hnte_valid honour
    assert "hnte_valid" not in build_facts(firm, date(2024, 10, 31))["enterprise"]["honours"]


def test_results_recomputed_when_data_changes_and_committed(day):
    firm = make_firm()
    db.session.commit()
    stored = results.results_for(firm.id)
    assert list(stored) == ["tech_sme", "chuying", "dengling", "hnte", "leader_cultivation",
                            "leader"]
    assert stored["hnte"].verdict == "needs_review" and stored["hnte"].candidate
    assert stored["tech_sme"].verdict == "eligible" and stored["tech_sme"].score == 100
    assert stored["dengling"].verdict == "needs_review" and not stored["dengling"].candidate
    expected = evaluate(build_facts(firm, day))["results"]
    # stored compactly (the criteria are recomputed on display), from the same evaluation
    assert [stored[r["kind"]].result for r in expected] == [results.compact(r) for r in expected]
    assert [stored[r["kind"]].verdict for r in expected] == [r["verdict"] for r in expected]

    enterprises.save_metrics(firm, 2025, {"high_tech_income": 24_000_000})  # 58.5% < 60%
    db.session.commit()
    hnte = results.results_for(firm.id)["hnte"]
    assert hnte.verdict == "ineligible"
    assert hnte.near_miss_code == "high_tech_income_ratio"
    assert "高新技术产品（服务）收入还需增加" in hnte.near_miss["line"]


def test_rolled_back_changes_are_not_recomputed(day):
    firm = make_firm()
    db.session.commit()
    before = results.results_for(firm.id)["hnte"].computed_at
    enterprises.save_metrics(firm, 2025, {"high_tech_income": 1})
    db.session.rollback()
    db.session.commit()
    assert results.results_for(firm.id)["hnte"].computed_at == before


def test_contradictory_records_store_insufficient_data_with_errors(day):
    firm = make_firm(year_changes={2025: {"high_tech_income": 50_000_000}})  # > total income
    db.session.commit()
    hnte = results.results_for(firm.id)["hnte"]
    assert hnte.verdict == "insufficient_data"
    assert hnte.result["errors"][0]["field"] == "years.2025.high_tech_income"


def test_local_thresholds_feed_the_engine_and_are_audited(day):
    admin = make_user("admin")
    firm = make_firm()
    db.session.commit()
    assert results.results_for(firm.id)["dengling"].verdict == "needs_review"
    row = services.save_local_thresholds(
        "dengling", {"min_revenue": 50_000_000, "source": "区科技局2026年第3次局务会"},
        actor_id=admin.id)
    assert services.local_thresholds() == {
        "dengling": {"min_revenue": 50_000_000, "source": "区科技局2026年第3次局务会"}}
    results.recompute([firm.id])
    dengling = results.results_for(firm.id)["dengling"]
    assert dengling.verdict == "ineligible"
    assert "revenue_min" in dengling.result["failed"]
    shown = next(r for r in results.evaluate_enterprise(firm)["results"] if r["kind"] == "dengling")
    crit = next(c for c in shown["criteria"] if c["code"] == "revenue_min")
    assert crit["locally_configured"] is True and "本地配置阈值" in crit["source"]
    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.entity_type == "local_threshold", AuditEvent.entity_id == row.id))
    assert event.actor_id == admin.id and event.changes["min_revenue"] == [None, 50_000_000]
    with pytest.raises(services.LadderError):
        services.save_local_thresholds("hnte", {"min_revenue": 1})
    with pytest.raises(services.LadderError) as exc:
        services.save_local_thresholds("dengling", {"rd_years": 0})
    assert "rd_years" in exc.value.errors


def test_out_of_order_imports_keep_the_history_in_order(day):
    firm = make_enterprise()
    services.grant_qualification(firm, "tech_sme", "2026120116000123", date(2026, 3, 1))
    services.grant_qualification(firm, "hnte", "GR202412000001", date(2024, 11, 1))
    # dated by the titles, not by the order they were typed in: the HNTE held since 2024
    # covers the later tech-SME entry, so there is one move
    moves = [(t.to_stage, t.effective_on) for t in _transitions(firm)]
    assert moves == [("hnte", date(2024, 11, 1))]
    history = services.ladder_history(firm.id, day)
    assert [h["days"] for h in history] == [(day - date(2024, 11, 1)).days]


def test_granting_the_same_title_twice_is_harmless(day):
    firm = make_enterprise()
    first = services.grant_qualification(firm, "hnte", "GR202312000273", date(2023, 12, 8))
    again = services.grant_qualification(firm, "hnte", "gr202312000273", date(2023, 12, 8))
    assert again is first
    assert len(services.qualifications_of(firm.id)) == 1 and len(_transitions(firm)) == 1


def test_local_thresholds_accept_decimals(day):
    from decimal import Decimal

    row = services.save_local_thresholds("leader", {"min_revenue": Decimal("3E8"),
                                                    "min_rd_intensity_pct": Decimal("3.5")})
    assert row.values == {"min_revenue": 300_000_000, "min_rd_intensity_pct": 3.5}


def test_candidate_since_marks_when_a_rung_became_reachable(day):
    firm = make_firm(year_changes={2025: {"high_tech_income": 24_000_000}})
    db.session.commit()
    assert results.results_for(firm.id)["hnte"].candidate_since is None
    enterprises.save_metrics(firm, 2025, {"high_tech_income": 30_000_000})
    db.session.commit()
    since = results.results_for(firm.id)["hnte"].candidate_since
    assert since is not None
    results.recompute([firm.id])
    assert results.results_for(firm.id)["hnte"].candidate_since == since  # unchanged


def test_revocation_announced_ahead_takes_effect_on_its_day(day):
    firm = make_enterprise()
    q = services.grant_qualification(firm, "hnte", "GR202412000001", date(2024, 11, 1))
    services.revoke_qualification(q, date(2026, 7, 15), "整体迁出天津，由迁入地重新认定")
    assert firm.current_rung == "hnte"  # still valid today
    with frozen(date(2026, 7, 20)):
        services.refresh_rung(firm, source="expiry")
    assert firm.current_rung is None
    assert _transitions(firm)[-1].effective_on == date(2026, 7, 15)
