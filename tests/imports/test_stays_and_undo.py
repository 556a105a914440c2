"""Imported stays keep the one-carrier-at-a-time rule, and undoing them leaves no stray history.

A tenancy import goes through incubation.open_tenancy, so a firm still incubating elsewhere is a
row error; undoing the import takes back the moves on the incubation chain it recorded for the
stay (and re-dates those it changed), audited, so `flask check` stays clean.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from tests.factories import make_carrier, make_enterprise, make_user, valid_uscc
from tests.imports.helpers import run_file
from tracker.audit.models import AuditEvent
from tracker.clock import frozen
from tracker.extensions import db
from tracker.imports import services
from tracker.incubation import services as incubation
from tracker.incubation.models import Tenancy
from tracker.integrity.checks import run_checks
from tracker.ladder.models import StageTransition

TODAY = date(2026, 12, 1)
STAYS = ["统一社会信用代码", "载体名称", "入驻日期", "入驻状态", "毕业/退出日期", "毕业依据"]
CHAIN_CHECKS = ["tenancies_disjoint", "transitions_ordered", "tenancy_moves_recorded"]


@pytest.fixture
def bureau():
    with frozen(TODAY):
        yield make_user("bureau")


def _moves(firm_id):
    return [(t.from_stage, t.to_stage, t.effective_on, t.tenancy_id) for t in db.session.scalars(
        select(StageTransition).where(StageTransition.enterprise_id == firm_id,
                                      StageTransition.chain == "incubation")
        .order_by(StageTransition.effective_on, StageTransition.id))]


def test_a_stay_listed_while_the_firm_incubates_elsewhere_is_a_row_error(write_xlsx, bureau):
    here, there = make_carrier(name="现驻孵化器"), make_carrier(name="名单众创空间",
                                                               kind="maker_space")
    firm = make_enterprise(uscc=valid_uscc(95001), founded_on=date(2023, 1, 1))
    incubation.open_tenancy(firm, here, date(2024, 1, 31))
    path = write_xlsx([STAYS, [firm.uscc, there.name, "2025-03-01", "在孵", None, None]])
    job = run_file(path, "tenancies", user=bureau, keep_valid=True)
    assert job.created == 0
    [error] = job.errors
    assert "现驻孵化器" in error["message"] and "转入下一载体" in error["message"]
    assert run_checks(CHAIN_CHECKS).ok


def test_an_official_list_may_record_a_past_stay_that_ended_before_this_one(write_xlsx,
                                                                             bureau):
    here, before = make_carrier(name="现驻孵化器"), make_carrier(name="此前众创空间",
                                                                kind="maker_space")
    firm = make_enterprise(uscc=valid_uscc(95002), founded_on=date(2023, 1, 1))
    incubation.open_tenancy(firm, here, date(2024, 1, 31))
    fits = [firm.uscc, before.name, "2023-06-01", "已退出", "2024-01-31", None]
    overlaps = [firm.uscc, before.name, "2023-06-01", "已退出", "2024-02-01", None]
    job = run_file(write_xlsx([STAYS, overlaps]), "tenancies", user=bureau,
                   official_list=True, keep_valid=True)
    assert job.created == 0 and "现驻孵化器" in job.errors[0]["message"]
    job = run_file(write_xlsx([STAYS, fits], "fits.xlsx"), "tenancies", user=bureau,
                   official_list=True)
    assert job.created == 1, job.errors
    assert run_checks(CHAIN_CHECKS).ok


def test_undoing_an_imported_stay_takes_its_moves_back_audited(write_xlsx, bureau):
    carrier = make_carrier(name="撤销孵化器")
    firm = make_enterprise(uscc=valid_uscc(95003), founded_on=date(2023, 1, 1))
    path = write_xlsx([STAYS, [firm.uscc, carrier.name, "2024-01-31", "已退出", "2026-05-31",
                               None]])
    job = run_file(path, "tenancies", user=bureau, official_list=True)
    assert job.created == 1, job.errors
    assert len(_moves(firm.id)) == 2  # moved in, exited
    services.undo_job(job, user_id=bureau.id)
    assert db.session.scalar(select(Tenancy).where(Tenancy.enterprise_id == firm.id)) is None
    assert _moves(firm.id) == []  # no stay that never was
    assert run_checks(CHAIN_CHECKS).ok
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == "enterprise", AuditEvent.entity_id == firm.id,
        AuditEvent.action == "transition").order_by(AuditEvent.id.desc())).first()
    assert event is not None and f"#{job.id}" in event.summary
    assert event.actor_id == bureau.id
    before, after = event.changes["incubation_history"]
    assert "2024-01-31" in before and "2026-05-31" in before and after is None


def test_undoing_a_corrected_move_in_puts_the_move_back_on_its_date(write_xlsx, bureau):
    carrier = make_carrier(name="更正孵化器")
    firm = make_enterprise(uscc=valid_uscc(95004), founded_on=date(2023, 1, 1))
    tenancy = incubation.open_tenancy(firm, carrier, date(2024, 1, 31))
    path = write_xlsx([STAYS, [firm.uscc, carrier.name, "2024-03-01", "在孵", None, None]])
    job = run_file(path, "tenancies", user=bureau)
    assert job.updated == 1, job.errors
    assert _moves(firm.id) == [(None, "incubator", date(2024, 3, 1), tenancy.id)]
    services.undo_job(job, user_id=bureau.id)
    assert db.session.get(Tenancy, tenancy.id).moved_in_on == date(2024, 1, 31)
    assert _moves(firm.id) == [(None, "incubator", date(2024, 1, 31), tenancy.id)]
    assert run_checks(CHAIN_CHECKS).ok
