"""Migrations: a single head, and `upgrade` on an empty database matches the models."""

from __future__ import annotations

import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from config import TestConfig
from tests.conftest import POSTGRES_URL, require_service
from tracker import ROOT, create_app
from tracker.extensions import compared_on, db


def test_there_is_exactly_one_head(app):
    script = ScriptDirectory(str(ROOT / "migrations"))
    assert len(script.get_heads()) == 1, script.get_heads()


def _upgrade_and_diff(url: str) -> list:
    class Cfg(TestConfig):
        SQLALCHEMY_DATABASE_URI = url

    app = create_app(Cfg)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={
                "compare_type": True, "include_object": compared_on(conn.dialect.name)})
            diff = compare_metadata(context, db.metadata)
        db.engine.dispose()
    return diff


def test_upgrade_on_empty_sqlite_matches_models(tmp_path):
    diff = _upgrade_and_diff(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert diff == []


@pytest.mark.postgres
def test_upgrade_on_empty_postgres_matches_models():
    url = require_service("PostgreSQL", POSTGRES_URL, 5432)
    name = f"mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        diff = _upgrade_and_diff(url.rsplit("/", 1)[0] + f"/{name}")
        assert diff == []
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_env_keeps_the_default_database_out_of_tests():
    assert "TEST_DATABASE_URL" in os.environ or TestConfig.SQLALCHEMY_DATABASE_URI == "sqlite://"
