"""The tenancies import finds carriers through the user's scope (issue 11 item 3)."""

from datetime import date

from sqlalchemy import func, select

from tests.factories import make_carrier, make_enterprise, make_user, valid_uscc
from tests.imports.helpers import run_file
from tracker.extensions import db
from tracker.incubation.models import Tenancy

HEADERS = ["统一社会信用代码", "载体名称", "入驻日期"]


def test_zone_staff_cannot_register_a_tenancy_at_a_carrier_outside_their_zone(write_xlsx):
    make_carrier(name="东疆孵化器", zone="dongjiang")
    make_carrier(name="高新孵化器", zone="hitech")
    firm = make_enterprise(uscc=valid_uscc(94001), zone="hitech", founded_on=date(2023, 1, 1))
    path = write_xlsx([HEADERS, [firm.uscc, "东疆孵化器", "2024-03-01"],
                       [firm.uscc, "没有这个孵化器", "2024-03-01"],
                       [firm.uscc, "高新孵化器", "2024-03-01"]])
    job = run_file(path, "tenancies", user=make_user("zone", zone="hitech"), keep_valid=True)
    assert job.created == 1
    outside, missing = (e["message"] for e in job.errors)
    # The same words whether the carrier exists elsewhere or not at all: no name oracle.
    assert outside.replace("东疆孵化器", "X") == missing.replace("没有这个孵化器", "X")
    assert db.session.scalar(select(func.count(Tenancy.id))) == 1


def test_the_shell_still_sees_every_carrier(write_xlsx):
    make_carrier(name="东疆孵化器", zone="dongjiang")
    firm = make_enterprise(uscc=valid_uscc(94002), zone="hitech", founded_on=date(2023, 1, 1))
    job = run_file(write_xlsx([HEADERS, [firm.uscc, "东疆孵化器", "2024-03-01"]]), "tenancies")
    assert job.created == 1
