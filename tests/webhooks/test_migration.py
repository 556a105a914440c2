"""The data step of the webhooks migration: what is stored today is the starting state.

Without it, the first save of each old firm after the upgrade would report every title,
stay and decision it ever had as new.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from tests.migration_support import fill, upgrade_with_rows

pytestmark = pytest.mark.live


def _rows(t):
    yield fill(t["enterprises"], id=1, uscc="A" * 18, name="甲公司", zone="hitech",
               current_rung="hnte")
    yield fill(t["enterprises"], id=2, uscc="B" * 18, name="乙公司", zone="hitech",
               current_rung=None)
    yield fill(t["qualifications"], id=1, enterprise_id=1, kind="hnte",
               granted_on=date(2024, 1, 1))
    yield fill(t["qualifications"], id=2, enterprise_id=2, kind="tech_sme",
               granted_on=date(2024, 1, 1), revoked_on=date(2025, 1, 1))
    yield fill(t["carriers"], id=1, name="载体")
    yield fill(t["tenancies"], id=1, enterprise_id=1, carrier_id=1,
               moved_in_on=date(2024, 1, 1), status="graduated")
    yield fill(t["applications"], id=1, enterprise_id=2, kind="hnte", year=2025,
               status="rejected")


def _read(conn, t):
    states = t["webhook_states"]
    return set(conn.execute(select(states.c.subject_type, states.c.subject_id,
                                   states.c.state)).all())


def test_upgrade_starts_the_watched_states_from_the_stored_records(tmp_path):
    assert upgrade_with_rows(tmp_path, "7c1e5a9d2b40", _rows, _read) == {
        ("qualification", 1, "held"), ("qualification", 2, "revoked"),
        ("tenancy", 1, "graduated"), ("application", 1, "rejected"),
        ("enterprise", 1, "hnte"), ("enterprise", 2, "")}
