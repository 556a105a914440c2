"""Spreadsheet import and export: official lists in, clean lists out, nothing lost."""

import os
from dataclasses import fields


def init_app(app):
    from tracker.imports import models  # noqa: F401 - register the tables
    from tracker.imports.cli import import_command
    from tracker.imports.reader import Limits
    from tracker.imports.views import bp

    # IMPORT_MAX_ROWS, IMPORT_MAX_MEMBER_BYTES, ... : what one file may cost (reader.Limits)
    for limit in fields(Limits):
        key = "IMPORT_" + limit.name.upper()
        app.config.setdefault(key, int(os.environ.get(key, limit.default)))
    #: files with more rows than this run on the Celery worker with a progress bar
    app.config.setdefault("IMPORT_SYNC_ROWS", 2000)
    #: undos of more recorded changes than this run on the worker: an undo costs more per
    #: change than the import did per row (about 15 ms per change measured on SQLite under
    #: load, so 500 changes stay under ten seconds in the request)
    app.config.setdefault("IMPORT_SYNC_UNDO", 500)
    from tracker.imports.engine import STORED_SENTENCES
    from tracker.messages import remember_sentences, render, render_problem

    remember_sentences(STORED_SENTENCES)
    app.jinja_env.filters["import_problem"] = render_problem  # stored row errors, translated
    app.jinja_env.filters["import_text"] = render  # a stored message id, or text as stored
    app.register_blueprint(bp)
    app.cli.add_command(import_command)
