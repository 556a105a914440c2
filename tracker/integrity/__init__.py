"""Invariant checker: `flask check`, a nightly run and the admin's view of the last result."""


def init_app(app):
    import os

    from tracker.integrity import models  # noqa: F401 - register the table
    from tracker.integrity.checks import DEFAULT_JOB_STUCK_SECONDS
    from tracker.integrity.cli import check_command
    from tracker.integrity.views import bp

    app.config.setdefault(
        "JOB_STUCK_SECONDS", int(os.environ.get("JOB_STUCK_SECONDS", DEFAULT_JOB_STUCK_SECONDS)))
    app.register_blueprint(bp)
    app.cli.add_command(check_command)
