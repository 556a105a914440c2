"""Leadership dashboards: SQL aggregates over the same tables, scoped by role."""


def init_app(app):
    from tracker.dashboard import drilldown, models, redo  # noqa: F401 - register the tables
    from tracker.dashboard.cli import dashboard_cli
    from tracker.dashboard.exports import trend_sheet
    from tracker.dashboard.views import bp
    from tracker.imports.exports import add_leadership_sheet
    from tracker.ladder import results

    app.register_blueprint(bp)
    app.cli.add_command(dashboard_cli)
    drilldown.register()
    redo.install()
    add_leadership_sheet(trend_sheet)
    from tracker.dashboard.aggregates import recount_for

    # a recompute outside the after-save pipeline (a worker's) recounts the firms it changed
    if recount_for not in results.RESULTS_CHANGED:
        results.RESULTS_CHANGED.append(recount_for)
