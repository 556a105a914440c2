"""5b7d2e9c4f10: eligibility_results keeps half of each page free on PostgreSQL (HOT restamps)."""

from __future__ import annotations

import uuid

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, text

from config import TestConfig
from tests.conftest import POSTGRES_URL, require_service
from tracker import ROOT, create_app
from tracker.extensions import db

MIGRATIONS = str(ROOT / "migrations")
OPTIONS = "SELECT reloptions FROM pg_class WHERE relname = 'eligibility_results'"


@pytest.mark.postgres
def test_upgrade_sets_and_downgrade_resets_the_fillfactor():
    url = require_service("PostgreSQL", POSTGRES_URL, 5432)
    name = f"mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    class Cfg(TestConfig):
        SQLALCHEMY_DATABASE_URI = url.rsplit("/", 1)[0] + f"/{name}"

    app = create_app(Cfg)

    def options() -> list[str] | None:
        with db.engine.connect() as conn:  # the app's engine: the scratch database
            return conn.scalar(text(OPTIONS))

    try:
        with app.app_context():
            upgrade(directory=MIGRATIONS, revision="c4a7e2f19b03")
            assert options() is None
            upgrade(directory=MIGRATIONS, revision="5b7d2e9c4f10")
            assert options() == ["fillfactor=50"]
            downgrade(directory=MIGRATIONS, revision="c4a7e2f19b03")
            assert options() is None
            db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_the_models_ask_for_the_same_fillfactor():
    """Databases made from the models (tests, create_all) lay the table out as upgraded."""
    from tracker.ladder.models import EligibilityResult

    table = EligibilityResult.__table__
    assert table.dialect_options["postgresql"]["with"] == {"fillfactor": 50}
