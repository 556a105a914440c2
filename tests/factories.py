"""Test data made through the real services (flushes, never commits)."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from tracker.accounts import services as accounts
from tracker.enterprises import services as enterprises
from tracker.enterprises.uscc import make_code
from tracker.extensions import db
from tracker.incubation.models import Carrier, Tenancy

PASSWORD = "correct-horse-9"
_seq = itertools.count(1)


def valid_uscc(n: int | None = None) -> str:
    return make_code(next(_seq) if n is None else n)


def make_user(role: str = "bureau", **kwargs: Any):
    n = next(_seq)
    if role == "zone":
        kwargs.setdefault("zone", "hitech")
    if role == "carrier_manager" and "carrier_id" not in kwargs:
        kwargs["carrier_id"] = make_carrier().id
    return accounts.create_user(kwargs.pop("email", f"{role}{n}@test.example"), PASSWORD, role,
                                **kwargs)


def make_enterprise(**kwargs: Any):
    data = {"uscc": valid_uscc(), "name": f"天津测试科技有限公司{next(_seq)}", "zone": "hitech",
            "founded_on": date(2018, 5, 1), "tech_field": "electronic_information"}
    data.update(kwargs)
    return enterprises.create_enterprise(data)


def make_carrier(**kwargs: Any) -> Carrier:
    data = {"name": f"测试孵化器{next(_seq)}", "kind": "incubator", "zone": "hitech",
            "area_m2": 12000}
    data.update(kwargs)
    carrier = Carrier(**data)
    db.session.add(carrier)
    db.session.flush()
    return carrier


def make_tenancy(enterprise, carrier, moved_in_on: date = date(2024, 1, 1), **kwargs) -> Tenancy:
    tenancy = Tenancy(enterprise=enterprise, carrier=carrier, moved_in_on=moved_in_on,
                      term_ends_on=moved_in_on.replace(year=moved_in_on.year + 4), **kwargs)
    db.session.add(tenancy)
    db.session.flush()
    return tenancy
