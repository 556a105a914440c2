"""The navbar search: firms, carriers and certificates in one box, each scoped by role."""


def init_app(app):
    from tracker.search.views import bp

    app.register_blueprint(bp)
