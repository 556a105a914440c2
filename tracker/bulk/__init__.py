"""Working with many firms at once: bulk actions on the list, likely duplicates, merge and undo."""


def init_app(app):
    from tracker.bulk import models  # noqa: F401 - register the tables
    from tracker.bulk.views import bp

    app.register_blueprint(bp)
