"""Each write rule lives once: who may edit a firm, the zone rule, the figures' own checks.

The web page, the import and the service must give the same answer, because they ask the same
function (tracker.accounts.scope, tracker.enterprises.services).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import count_queries
from tests.factories import make_carrier, make_enterprise, make_tenancy, make_user, valid_uscc
from tests.imports.helpers import run_file
from tracker.accounts.scope import editable_enterprises, may_edit_enterprise, may_place_in_zone
from tracker.enterprises import services as enterprises
from tracker.enterprises.models import Enterprise
from tracker.errors import FieldError
from tracker.extensions import db

HEADERS = ["统一社会信用代码", "企业名称", "所属区域"]


@pytest.fixture
def people():
    """One user per role (a zone clerk of 高新区, a manager whose carrier hosts `tenant`)."""
    carrier = make_carrier(zone="hitech")
    tenant = make_enterprise(zone="hitech")
    make_tenancy(tenant, carrier)
    return {
        "admin": make_user("admin"), "bureau": make_user("bureau"),
        "zone": make_user("zone", zone="hitech"), "viewer": make_user("viewer"),
        "carrier_manager": make_user("carrier_manager", carrier_id=carrier.id),
        "tenant": tenant,
    }


@pytest.mark.parametrize("role", ["admin", "bureau", "zone", "viewer", "carrier_manager"])
def test_the_edit_scope_query_and_the_check_agree(people, role):
    user = people[role]
    home, away = people["tenant"], make_enterprise(zone="teda")
    listed = set(db.session.scalars(editable_enterprises(user).with_only_columns(Enterprise.id)))
    for firm in (home, away):
        assert may_edit_enterprise(user, firm) == (firm.id in listed), (role, firm.zone)
    expected = {"admin": {home, away}, "bureau": {home, away}, "zone": {home},
                "viewer": set(), "carrier_manager": set()}[role]
    assert {f for f in (home, away) if may_edit_enterprise(user, f)} == expected


@pytest.mark.parametrize("role", ["admin", "bureau", "zone", "viewer", "carrier_manager"])
def test_an_import_edits_exactly_the_firms_the_scope_allows(write_xlsx, people, role):
    """The import used its own copy of the rule, which let viewers change any firm."""
    user = people[role]
    firm = make_enterprise(zone="hitech", name="原名称")
    allowed, firm_id = may_edit_enterprise(user, firm), firm.id
    path = write_xlsx([HEADERS, [firm.uscc, "新名称", "高新区"]])
    job = run_file(path, "enterprises", user=user)
    name = db.session.scalar(select(Enterprise.name).where(Enterprise.id == firm_id))
    assert (name == "新名称") == allowed, (role, job.errors)
    assert bool(job.errors) == (not allowed)


def test_the_import_preloads_only_through_the_scope_query(write_xlsx, people):
    clerk = people["zone"]
    away = make_enterprise(zone="teda")
    path = write_xlsx([HEADERS, [away.uscc, "改名", "经开区"]])
    with count_queries() as statements:
        job = run_file(path, "enterprises", user=clerk)
    loaded = [s for s in statements if "FROM enterprises" in s and "enterprises.zone" in s]
    assert loaded, "the firms were not loaded through the edit scope"
    assert "其他区域" in job.errors[0]["message"]
    assert db.session.scalar(select(Enterprise.name).where(Enterprise.id == away.id)) != "改名"


def test_the_zone_rule_is_the_services_for_page_and_import(write_xlsx, people, client):
    clerk = people["zone"]
    assert may_place_in_zone(clerk, "hitech") and not may_place_in_zone(clerk, "teda")
    assert may_place_in_zone(None, "teda")  # the shell
    with pytest.raises(FieldError) as refused:
        enterprises.create_enterprise({"uscc": valid_uscc(91001), "name": "甲", "zone": "teda"},
                                      user=clerk)
    message = refused.value.errors["zone"]
    job = run_file(write_xlsx([HEADERS, [valid_uscc(91002), "乙", "经开区"]]), "enterprises",
                   user=clerk, keep_valid=True)
    assert job.errors[0]["message"] == message  # the same words, from the same place


def test_the_figures_checks_are_the_services_for_page_and_import(write_xlsx, people):
    firm = make_enterprise()
    with pytest.raises(FieldError) as refused:
        enterprises.save_metrics(firm, 2025, {"employees": 10, "tech_staff": 20})
    headers = ["统一社会信用代码", "企业名称", "所属区域", "从业人数", "科技人员数"]
    job = run_file(write_xlsx([headers, [valid_uscc(91003), "丙", "高新区", 10, 20]]),
                   "enterprises", user=people["bureau"], dry_run=True)
    assert job.errors[0]["message"] == refused.value.errors["tech_staff"]
