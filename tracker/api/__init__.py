"""The JSON API under /api/v1: personal tokens, one error shape, an OpenAPI 3.1 document."""


def init_app(app):
    from tracker.api import auth, enterprises, models, spec  # noqa: F401 - routes and tables
    from tracker.api.incubation import api_bp
    from tracker.api.views import bp, docs_bp
    from tracker.extensions import csrf

    spec.init_app(app)
    auth.init_app(app)
    for blueprint in (bp, api_bp):
        csrf.exempt(blueprint)  # writes need a Bearer token, which no other site can send
        spec.api.register_blueprint(blueprint)
    app.register_blueprint(docs_bp)
