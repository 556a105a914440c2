"""The data step of the webhooks migration: what is stored today is the starting state.

Without it, the first save of each old firm after the upgrade would report every title,
stay and decision it ever had as new.
"""

from __future__ import annotations

from datetime import date

import pytest
from flask_migrate import upgrade
from sqlalchemy import MetaData, create_engine, select

from config import TestConfig
from tests.test_migration_090add3e93cc import _fill
from tracker import ROOT, create_app
from tracker.extensions import db

pytestmark = pytest.mark.live


def test_upgrade_starts_the_watched_states_from_the_stored_records(tmp_path):
    url = f"sqlite:///{tmp_path / 'data.db'}"

    class Cfg(TestConfig):
        SQLALCHEMY_DATABASE_URI = url

    app = create_app(Cfg)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="7c1e5a9d2b40")
        engine = create_engine(url)
        meta = MetaData()
        meta.reflect(engine)
        t = meta.tables
        with engine.begin() as conn:
            conn.execute(_fill(t["enterprises"], id=1, uscc="A" * 18, name="甲公司",
                               zone="hitech", current_rung="hnte"))
            conn.execute(_fill(t["enterprises"], id=2, uscc="B" * 18, name="乙公司",
                               zone="hitech", current_rung=None))
            conn.execute(_fill(t["qualifications"], id=1, enterprise_id=1, kind="hnte",
                               granted_on=date(2024, 1, 1)))
            conn.execute(_fill(t["qualifications"], id=2, enterprise_id=2, kind="tech_sme",
                               granted_on=date(2024, 1, 1), revoked_on=date(2025, 1, 1)))
            conn.execute(_fill(t["carriers"], id=1, name="载体"))
            conn.execute(_fill(t["tenancies"], id=1, enterprise_id=1, carrier_id=1,
                               moved_in_on=date(2024, 1, 1), status="graduated"))
            conn.execute(_fill(t["applications"], id=1, enterprise_id=2, kind="hnte",
                               year=2025, status="rejected"))
        upgrade(directory=str(ROOT / "migrations"))
        meta = MetaData()
        meta.reflect(engine)
        states = meta.tables["webhook_states"]
        with engine.connect() as conn:
            rows = set(conn.execute(select(states.c.subject_type, states.c.subject_id,
                                           states.c.state)).all())
        engine.dispose()
        db.engine.dispose()
    assert rows == {("qualification", 1, "held"), ("qualification", 2, "revoked"),
                    ("tenancy", 1, "graduated"), ("application", 1, "rejected"),
                    ("enterprise", 1, "hnte"), ("enterprise", 2, "")}
