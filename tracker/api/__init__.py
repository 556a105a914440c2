"""The JSON API under /api/v1."""


def init_app(app):
    from tracker.api import enterprises  # noqa: F401 - routes on the api blueprint
    from tracker.api.views import bp
    from tracker.extensions import csrf

    csrf.exempt(bp)
    app.register_blueprint(bp)
