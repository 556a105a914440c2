"""Enterprise services: validation, uniqueness, optimistic lock and audit entries."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.factories import make_enterprise, valid_uscc
from tracker.audit.models import AuditEvent, AuditIsAppendOnly
from tracker.enterprises import services
from tracker.enterprises.models import AnnualMetrics
from tracker.extensions import db
from tracker.money import wan_to_yuan, yuan_to_wan


def test_create_normalises_the_code_and_records_an_audit_event():
    code = valid_uscc()
    messy = " " + code[:4] + "-" + code[4:].lower()
    enterprise = make_enterprise(uscc=messy, name="  天津海河智能科技有限公司 ")
    assert enterprise.uscc == code
    assert enterprise.name == "天津海河智能科技有限公司"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.entity_type == "enterprise",
                                 AuditEvent.entity_id == enterprise.id))
    assert event.action == "create"
    assert event.changes["uscc"] == [None, code]


def test_wrong_check_character_is_refused_with_the_expected_character():
    code = valid_uscc()
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    with pytest.raises(services.FieldError) as info:
        make_enterprise(uscc=wrong)
    assert code[17] in info.value.errors["uscc"]
    assert "例外说明" in info.value.errors["uscc"]


def test_override_reason_accepts_a_legacy_code_that_fails_the_check_only():
    code = valid_uscc()
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    enterprise = make_enterprise(uscc=wrong, uscc_override_reason="换证前的老代码，已电话核实")
    assert enterprise.uscc == wrong
    assert enterprise.uscc_override_reason
    with pytest.raises(services.FieldError):  # a length error is never overridable
        make_enterprise(uscc=wrong[:16], uscc_override_reason="x")


def test_duplicate_code_is_refused_without_naming_the_firm():
    first = make_enterprise()
    with pytest.raises(services.FieldError) as info:
        make_enterprise(uscc=first.uscc.lower())
    message = info.value.errors["uscc"]
    assert "已登记" in message and "区科技局" in message
    assert first.name not in message  # it may be outside the user's scope


def test_update_records_each_field_before_and_after():
    enterprise = make_enterprise(name="旧名称有限公司", street="新河街道")
    changes = services.update_enterprise(
        enterprise, {"name": "新名称有限公司", "street": "新河街道", "zone": "teda"},
        expected_version=enterprise.version,
    )
    assert changes == {"name": ["旧名称有限公司", "新名称有限公司"], "zone": ["hitech", "teda"]}
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.entity_type == "enterprise",
                                 AuditEvent.entity_id == enterprise.id)
        .order_by(AuditEvent.id.desc())
    ).first()
    assert event.action == "update"
    assert event.changes["name"] == ["旧名称有限公司", "新名称有限公司"]


def test_stale_version_is_refused_and_nothing_changes():
    enterprise = make_enterprise(name="甲公司")
    opened_version = enterprise.version
    services.update_enterprise(enterprise, {"name": "乙公司"}, expected_version=opened_version)
    db.session.flush()
    with pytest.raises(services.StaleEdit) as info:
        services.update_enterprise(enterprise, {"name": "丙公司"},
                                   expected_version=opened_version)
    assert info.value.current_version == enterprise.version
    assert enterprise.name == "乙公司"


@pytest.mark.parametrize("tamper", ["change", "delete"])
def test_audit_events_cannot_be_changed_or_deleted(tamper):
    enterprise = make_enterprise()
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.entity_type == "enterprise",
                                 AuditEvent.entity_id == enterprise.id))
    if tamper == "change":
        event.action = "forged"
    else:
        db.session.delete(event)
    with pytest.raises(AuditIsAppendOnly):
        db.session.flush()


def test_metrics_store_yuan_exactly_from_wan():
    enterprise = make_enterprise()
    revenue = wan_to_yuan(Decimal("1234.5678"))
    row = services.save_metrics(enterprise, 2025, {"employees": 50, "tech_staff": 12,
                                                   "revenue": revenue})
    db.session.expire(row)
    stored = db.session.scalar(select(AnnualMetrics).where(AnnualMetrics.id == row.id))
    assert stored.revenue == Decimal("12345678.00")
    assert yuan_to_wan(stored.revenue) == Decimal("1234.5678")


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"employees": 10, "tech_staff": 11}, "tech_staff"),
        ({"rd_expense": Decimal(100), "rd_expense_domestic": Decimal(101)},
         "rd_expense_domestic"),
        ({"employees": -1}, "employees"),
    ],
)
def test_metrics_validation_names_the_field(values, field):
    enterprise = make_enterprise()
    with pytest.raises(services.FieldError) as info:
        services.save_metrics(enterprise, 2025, values)
    assert field in info.value.errors


def test_future_founding_date_is_refused():
    with pytest.raises(services.FieldError) as info:
        make_enterprise(founded_on=date(2999, 1, 1))
    assert "founded_on" in info.value.errors


def test_archive_and_restore_are_audited():
    enterprise = make_enterprise()
    services.set_archived(enterprise, True, expected_version=enterprise.version, reason="注销")
    assert enterprise.archived
    services.set_archived(enterprise, False, expected_version=enterprise.version)
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.entity_type == "enterprise",
                                        AuditEvent.entity_id == enterprise.id)
        .order_by(AuditEvent.id)
    ).all()
    assert actions == ["create", "archive", "restore"]
