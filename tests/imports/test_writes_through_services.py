"""Every imported write goes through the service the web form uses, with the same consequences."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.factories import make_carrier, make_enterprise, make_user, valid_uscc
from tests.imports.helpers import run_file
from tracker.audit.models import AuditEvent
from tracker.clock import frozen
from tracker.enterprises.models import Enterprise
from tracker.enterprises.services import save_metrics
from tracker.extensions import db
from tracker.imports import services
from tracker.incubation import services as incubation
from tracker.incubation.models import StatusProposal, Tenancy
from tracker.ladder import services as ladder
from tracker.ladder.models import Qualification, StageTransition

TODAY = date(2026, 12, 1)
QUAL = ["统一社会信用代码", "证书编号", "发证日期", "有效期至", "撤销日期", "撤销原因"]
STAYS = ["统一社会信用代码", "载体名称", "入驻日期", "入驻状态", "毕业/退出日期", "毕业依据"]


@pytest.fixture
def bureau():
    """A bureau officer, on the day the lists are imported."""
    with frozen(TODAY):
        yield make_user("bureau")


def _ladder(firm_id):
    return [(t.from_stage, t.to_stage, t.effective_on, t.source) for t in db.session.scalars(
        select(StageTransition).where(StageTransition.enterprise_id == firm_id,
                                      StageTransition.chain == "ladder")
        .order_by(StageTransition.effective_on, StageTransition.id))]


def _incubation(firm_id):
    return [(t.from_stage, t.to_stage, t.effective_on, t.source) for t in db.session.scalars(
        select(StageTransition).where(StageTransition.enterprise_id == firm_id,
                                      StageTransition.chain == "incubation")
        .order_by(StageTransition.effective_on, StageTransition.id))]


def test_imported_correction_that_expires_an_hnte_title_moves_the_rung(write_xlsx, bureau):
    firm = make_enterprise(uscc=valid_uscc(93001))
    first = write_xlsx([QUAL[:3], [firm.uscc, "GR202412000001", "2024-01-10"]])
    assert run_file(first, "qualifications", user=bureau, qualification_kind="hnte").created == 1
    fixed = write_xlsx([QUAL[:4], [firm.uscc, "GR202412000001", "2024-01-10", "2026-06-30"]],
                       "fixed.xlsx")
    job = run_file(fixed, "qualifications", user=bureau, qualification_kind="hnte")
    assert job.updated == 1, job.errors
    assert db.session.get(Enterprise, firm.id).current_rung is None
    assert _ladder(firm.id) == [(None, "hnte", date(2024, 1, 10), "import"),
                                ("hnte", None, date(2026, 7, 1), "import")]
    assert ladder.transition_order_problems(firm.id) == []
    services.undo_job(job, user_id=bureau.id)  # the title is valid again, and so is the rung
    assert db.session.get(Enterprise, firm.id).current_rung == "hnte"
    assert _ladder(firm.id) == [(None, "hnte", date(2024, 1, 10), "import")]


def test_imported_revocation_goes_through_the_ladder(write_xlsx, bureau):
    firm = make_enterprise(uscc=valid_uscc(93002))
    path = write_xlsx([QUAL, [firm.uscc, "GR202412000001", "2024-01-10", None, None, None]])
    run_file(path, "qualifications", user=bureau, qualification_kind="hnte")
    revoked = write_xlsx([QUAL, [firm.uscc, "GR202412000001", "2024-01-10", None, "2026-09-01",
                                 "复核不合格，取消资格"]], "revoked.xlsx")
    job = run_file(revoked, "qualifications", user=bureau, qualification_kind="hnte")
    assert job.updated == 1, job.errors
    q = db.session.scalar(select(Qualification).where(Qualification.enterprise_id == firm.id))
    assert (q.revoked_on, q.revoked_reason) == (date(2026, 9, 1), "复核不合格，取消资格")
    assert db.session.get(Enterprise, firm.id).current_rung is None
    assert _ladder(firm.id)[-1] == ("hnte", None, date(2026, 9, 1), "import")
    actions = db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == "qualification", AuditEvent.entity_id == q.id)).all()
    assert "revoke" in actions


def _graduation_sheet(write_xlsx, firm, carrier, name="stays.xlsx"):
    return write_xlsx([STAYS, [firm.uscc, carrier.name, "2024-01-31", "已毕业", "2026-06-30",
                               "获得投资"]], name)


def _incubating(firm, carrier):
    with frozen(TODAY):
        return incubation.open_tenancy(firm, carrier, date(2024, 1, 31))


def test_imported_graduation_is_a_proposal_unless_the_list_is_official(write_xlsx, bureau):
    carrier = make_carrier(name="名单孵化器")
    firm = make_enterprise(uscc=valid_uscc(93003), founded_on=date(2023, 1, 1))
    save_metrics(firm, 2025, {"investment_raised": Decimal(6_000_000)})
    tenancy = _incubating(firm, carrier)
    job = run_file(_graduation_sheet(write_xlsx, firm, carrier), "tenancies", user=bureau)
    assert job.updated == 1, job.errors
    tenancy = db.session.get(Tenancy, tenancy.id)
    assert tenancy.status == "incubating"  # nothing decided yet
    proposal = db.session.scalar(select(StatusProposal).where(
        StatusProposal.tenancy_id == tenancy.id))
    assert (proposal.action, proposal.status, proposal.effective_on, proposal.graduation_basis) \
        == ("graduate", "pending", date(2026, 6, 30), "investment")
    assert _incubation(firm.id) == [(None, "incubator", date(2024, 1, 31), "tenancy")]
    again = run_file(_graduation_sheet(write_xlsx, firm, carrier, "again.xlsx"), "tenancies",
                     user=bureau)
    assert (again.updated, again.unchanged) == (0, 1), again.errors  # already waiting
    services.undo_job(job, user_id=bureau.id)  # the import's proposal goes with the import
    assert db.session.get(StatusProposal, proposal.id) is None


def test_imported_graduation_from_an_official_list_closes_with_its_transition(write_xlsx,
                                                                              bureau):
    carrier = make_carrier(name="名单孵化器")
    firm = make_enterprise(uscc=valid_uscc(93004), founded_on=date(2023, 1, 1))
    tenancy = _incubating(firm, carrier)
    job = run_file(_graduation_sheet(write_xlsx, firm, carrier), "tenancies", user=bureau,
                   official_list=True)
    assert job.updated == 1, job.errors
    tenancy = db.session.get(Tenancy, tenancy.id)
    assert (tenancy.status, tenancy.ended_on, tenancy.graduation_basis) == (
        "graduated", date(2026, 6, 30), "investment")
    assert _incubation(firm.id) == [(None, "incubator", date(2024, 1, 31), "tenancy"),
                                    ("incubator", "graduated", date(2026, 6, 30), "import")]
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == "tenancy", AuditEvent.entity_id == tenancy.id)
        .order_by(AuditEvent.id.desc())).first()
    assert event.changes["channel"] == [None, "import"]
    assert event.changes["official_list"] == [None, True]
    assert event.changes["status"] == ["incubating", "graduated"]


def test_imported_exit_from_an_official_list_writes_the_stage_transition(write_xlsx, bureau):
    carrier = make_carrier(name="名单孵化器")
    firm = make_enterprise(uscc=valid_uscc(93005), founded_on=date(2023, 1, 1))
    tenancy = _incubating(firm, carrier)
    path = write_xlsx([STAYS, [firm.uscc, carrier.name, "2024-01-31", "已退出", "2026-05-31",
                               None]])
    job = run_file(path, "tenancies", user=bureau, official_list=True)
    assert job.updated == 1, job.errors
    assert db.session.get(Tenancy, tenancy.id).status == "exited"
    assert _incubation(firm.id)[-1] == ("incubator", "exited", date(2026, 5, 31), "import")
    services.undo_job(job, user_id=bureau.id)
    tenancy = db.session.get(Tenancy, tenancy.id)
    assert (tenancy.status, tenancy.ended_on, tenancy.end_reason) == ("incubating", None, None)


def test_new_tenancy_listed_as_graduated_follows_the_same_rule(write_xlsx, bureau):
    carrier = make_carrier(name="名单孵化器")
    firm = make_enterprise(uscc=valid_uscc(93006), founded_on=date(2023, 1, 1))
    save_metrics(firm, 2025, {"investment_raised": Decimal(6_000_000)})
    job = run_file(_graduation_sheet(write_xlsx, firm, carrier), "tenancies", user=bureau)
    assert job.created == 1, job.errors
    tenancy = db.session.scalar(select(Tenancy).where(Tenancy.enterprise_id == firm.id))
    assert tenancy.status == "incubating"
    assert incubation.pending_proposal(tenancy).action == "graduate"
    other = make_enterprise(uscc=valid_uscc(93007), founded_on=date(2023, 1, 1))
    job = run_file(_graduation_sheet(write_xlsx, other, carrier, "official.xlsx"), "tenancies",
                   user=bureau, official_list=True)
    assert job.created == 1, job.errors
    assert _incubation(other.id) == [(None, "incubator", date(2024, 1, 31), "import"),
                                     ("incubator", "graduated", date(2026, 6, 30), "import")]


def test_a_closed_tenancy_is_not_reopened_or_redated_by_a_list(write_xlsx, bureau):
    carrier = make_carrier(name="名单孵化器")
    firm = make_enterprise(uscc=valid_uscc(93008), founded_on=date(2023, 1, 1))
    _incubating(firm, carrier)
    run_file(_graduation_sheet(write_xlsx, firm, carrier), "tenancies", user=bureau,
             official_list=True)
    path = write_xlsx([STAYS, [firm.uscc, carrier.name, "2024-01-31", "在孵", None, None]],
                      "again.xlsx")
    job = run_file(path, "tenancies", user=bureau, official_list=True, keep_valid=True)
    assert job.updated == 0
    assert "已结束" in job.errors[0]["message"]


def test_undoing_an_official_close_takes_its_transition_back(write_xlsx, bureau):
    carrier = make_carrier(name="名单孵化器")
    firm = make_enterprise(uscc=valid_uscc(93009), founded_on=date(2023, 1, 1))
    tenancy = _incubating(firm, carrier)
    job = run_file(_graduation_sheet(write_xlsx, firm, carrier), "tenancies", user=bureau,
                   official_list=True)
    services.undo_job(job, user_id=bureau.id)
    tenancy = db.session.get(Tenancy, tenancy.id)
    assert (tenancy.status, tenancy.ended_on, tenancy.graduation_basis) == (
        "incubating", None, None)
    assert _incubation(firm.id) == [(None, "incubator", date(2024, 1, 31), "tenancy")]
