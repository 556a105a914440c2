"""5b7d2e9c4f10: eligibility_results keeps half of each page free on PostgreSQL (HOT restamps)."""

from __future__ import annotations

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from config import TestConfig
from tests.scratch_databases import scratch_database
from tracker import ROOT, create_app
from tracker.extensions import db

MIGRATIONS = str(ROOT / "migrations")
OPTIONS = "SELECT reloptions FROM pg_class WHERE relname = 'eligibility_results'"


@pytest.mark.postgres
def test_upgrade_sets_and_downgrade_resets_the_fillfactor():
    with scratch_database("fillfactor") as url:

        class Cfg(TestConfig):
            SQLALCHEMY_DATABASE_URI = url

        def options() -> list[str] | None:
            with db.engine.connect() as conn:  # the app's engine: the scratch database
                return conn.scalar(text(OPTIONS))

        with create_app(Cfg).app_context():
            upgrade(directory=MIGRATIONS, revision="c4a7e2f19b03")
            assert options() is None
            upgrade(directory=MIGRATIONS, revision="5b7d2e9c4f10")
            assert options() == ["fillfactor=50"]
            downgrade(directory=MIGRATIONS, revision="c4a7e2f19b03")
            assert options() is None
            db.engine.dispose()


def test_the_models_ask_for_the_same_fillfactor():
    """Databases made from the models (tests, create_all) lay the table out as upgraded."""
    from tracker.ladder.models import EligibilityResult

    table = EligibilityResult.__table__
    assert table.dialect_options["postgresql"]["with"] == {"fillfactor": 50}
