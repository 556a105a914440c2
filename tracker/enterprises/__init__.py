"""Enterprise records: the firm, its contacts, yearly figures and activities."""


def init_app(app):
    from tracker.audit import models as audit_models  # noqa: F401 - register the tables
    from tracker.enterprises import models  # noqa: F401
    from tracker.enterprises.views import bp

    app.register_blueprint(bp)
