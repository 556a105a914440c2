"""Spreadsheet import and export: official lists in, clean lists out, nothing lost."""


def init_app(app):
    from tracker.imports import models  # noqa: F401 - register the tables
    from tracker.imports.cli import import_command
    from tracker.imports.views import bp

    app.config.setdefault("IMPORT_MAX_ROWS", 100_000)
    #: files with more rows than this run on the Celery worker with a progress bar
    app.config.setdefault("IMPORT_SYNC_ROWS", 2000)
    #: undos of more recorded changes than this run on the worker: an undo costs more per
    #: change than the import did per row (about 15 ms per change measured on SQLite under
    #: load, so 500 changes stay under ten seconds in the request)
    app.config.setdefault("IMPORT_SYNC_UNDO", 500)
    app.register_blueprint(bp)
    app.cli.add_command(import_command)
