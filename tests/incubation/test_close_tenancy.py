"""Closing a tenancy: one service for the approved proposal and the official list alike."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.incubation.conftest import give_investment
from tracker.audit.models import AuditEvent
from tracker.extensions import db
from tracker.incubation import services
from tracker.ladder.models import StageTransition


def _moves(enterprise_id):
    return [(t.from_stage, t.to_stage, t.effective_on, t.source) for t in db.session.scalars(
        select(StageTransition).where(StageTransition.enterprise_id == enterprise_id,
                                      StageTransition.chain == "incubation")
        .order_by(StageTransition.id))]


def test_close_tenancy_records_status_transition_and_channel(chain):
    tenancy = chain["ten_a"]
    services.close_tenancy(tenancy, "graduate", date(2026, 6, 30), graduation_basis="revenue",
                           evidence="2026年毕业企业名单", source="import", official_list=True)
    assert (tenancy.status, tenancy.ended_on, tenancy.graduation_basis) == (
        "graduated", date(2026, 6, 30), "revenue")
    assert _moves(chain["firm_a"].id)[-1] == ("incubator", "graduated", date(2026, 6, 30),
                                              "import")
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == "tenancy", AuditEvent.entity_id == tenancy.id)
        .order_by(AuditEvent.id.desc())).first()
    assert event.changes["official_list"] == [None, True]
    assert event.changes["channel"] == [None, "import"]


def test_close_tenancy_without_an_official_list_checks_the_basis(chain):
    with pytest.raises(services.FieldError):
        services.close_tenancy(chain["ten_a"], "graduate", date(2026, 6, 30),
                               graduation_basis="investment", source="manual")
    give_investment(chain["firm_a"], {2025: 6_000_000})
    services.close_tenancy(chain["ten_a"], "graduate", date(2026, 6, 30),
                           graduation_basis="investment", source="manual")
    assert chain["ten_a"].status == "graduated"


def test_close_tenancy_refuses_a_closed_stay_and_dates_before_moving_in(chain):
    with pytest.raises(services.FieldError, match="入驻日期"):
        services.close_tenancy(chain["ten_b"], "exit", date(2023, 1, 1), reason="注销")
    services.close_tenancy(chain["ten_b"], "exit", date(2026, 3, 1), reason="注销")
    with pytest.raises(services.FieldError, match="已结束"):
        services.close_tenancy(chain["ten_b"], "exit", date(2026, 3, 2), reason="注销")
    assert [m[1] for m in _moves(chain["firm_b"].id)] == ["incubator", "exited"]


def test_approval_closes_through_the_same_service(chain):
    give_investment(chain["firm_a"], {2025: Decimal(6_000_000)})
    proposal = services.propose(chain["ten_a"], "graduate",
                                {"effective_on": date(2026, 6, 30),
                                 "graduation_basis": "investment"}, user=chain["manager_a"])
    services.approve(proposal, user=chain["bureau"])
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == "tenancy", AuditEvent.entity_id == chain["ten_a"].id)
        .order_by(AuditEvent.id.desc())).first()
    assert event.changes["channel"] == [None, "proposal"]
    assert "official_list" not in event.changes
