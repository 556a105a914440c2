"""Leadership dashboards: SQL aggregates over the same tables, scoped by role."""


def init_app(app):
    from tracker.dashboard import targets  # noqa: F401 - register the table
    from tracker.dashboard.cli import targets_cli
    from tracker.dashboard.views import bp

    app.register_blueprint(bp)
    app.cli.add_command(targets_cli)
