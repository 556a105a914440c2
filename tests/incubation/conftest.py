"""Fixtures for the incubation chain: two incubators, a maker space, a park and their tenants."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from flask import g

from tests.conftest import login
from tests.factories import make_carrier, make_enterprise, make_user
from tracker.enterprises.services import save_metrics
from tracker.incubation import services


@pytest.fixture
def chain():
    """Carriers A (incubator, hitech) and B (incubator, teda), a maker space and a park,
    one tenant in each incubator, a maker-space tenant, and a manager per incubator."""
    a = make_carrier(name="甲孵化器", kind="incubator", scheme="most_2018_national",
                     zone="hitech", area_m2=10000)
    b = make_carrier(name="乙孵化器", kind="incubator", scheme="none", zone="teda",
                     area_m2=8000)
    maker = make_carrier(name="丙众创空间", kind="maker_space", scheme="national_maker_space",
                         zone="hitech", area_m2=800)
    park = make_carrier(name="丁科技园", kind="science_park", scheme="tianjin_municipal",
                        zone="hitech", area_m2=50000)
    firm_a = make_enterprise(name="天津甲在孵科技有限公司", zone="hitech",
                             founded_on=date(2023, 3, 1))
    firm_b = make_enterprise(name="天津乙在孵科技有限公司", zone="teda",
                             founded_on=date(2023, 3, 1))
    firm_m = make_enterprise(name="天津丙创客科技有限公司", zone="hitech",
                             founded_on=date(2023, 6, 1))
    ten_a = services.open_tenancy(firm_a, a, date(2024, 1, 31))
    ten_b = services.open_tenancy(firm_b, b, date(2024, 2, 1))
    ten_m = services.open_tenancy(firm_m, maker, date(2024, 3, 1))
    return {
        "a": a, "b": b, "maker": maker, "park": park,
        "firm_a": firm_a, "firm_b": firm_b, "firm_m": firm_m,
        "ten_a": ten_a, "ten_b": ten_b, "ten_m": ten_m,
        "manager_a": make_user("carrier_manager", carrier_id=a.id, name="甲经理"),
        "manager_b": make_user("carrier_manager", carrier_id=b.id, name="乙经理"),
        "manager_m": make_user("carrier_manager", carrier_id=maker.id, name="丙经理"),
        "bureau": make_user("bureau", name="局审核员"),
    }


def give_investment(enterprise, amounts: dict[int, int]) -> None:
    """Record investment raised per fiscal year (元)."""
    for year, amount in amounts.items():
        save_metrics(enterprise, year, {"investment_raised": Decimal(amount)})


@pytest.fixture
def as_user(app):
    """A fresh test client logged in as `user` (forgetting whoever was logged in before)."""

    def _as(user):
        # Tests share one app context, so `g` outlives requests: forget the last user and the
        # CSRF token cached for the last client's session.
        g.pop("_login_user", None)
        g.pop("csrf_token", None)
        client = app.test_client()
        login(client, user)
        return client

    return _as
