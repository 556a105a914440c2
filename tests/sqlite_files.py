"""Apps on a SQLite file of their own (WAL, as the embedded default runs), for tests where a
second connection must see committed rows: the in-memory test database has no second
connection to race with."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from config import TestConfig
from tracker import create_app
from tracker.extensions import db


@contextmanager
def sqlite_file_app(suite_app: Any, folder: Path, **settings: Any) -> Iterator[Any]:
    """An app on `folder`/tracker.db with the schema created and plain (committing) sessions
    while it lives; `settings` override the test configuration. No app context is held: a test
    pushes its own, or lets each request push one, as in production. The suite's session and
    Celery app are restored afterwards."""

    class FileConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{folder / 'tracker.db'}"

    for name, value in settings.items():
        setattr(FileConfig, name, value)
    original = db.session
    db.session = db._make_scoped_session({})
    try:
        application = create_app(FileConfig)
        with application.app_context():
            db.create_all()
        try:
            yield application
        finally:
            with application.app_context():
                db.session.remove()
                db.engine.dispose()
    finally:
        db.session = original
        suite_app.extensions["celery"].set_default()
