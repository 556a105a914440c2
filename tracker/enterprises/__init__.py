"""Enterprise records: the firm, its contacts, yearly figures and activities."""


def init_app(app):
    from tracker.audit import models as audit_models  # noqa: F401 - register the tables
    from tracker.enterprises import models  # noqa: F401
    from tracker.enterprises.views import bp

    app.register_blueprint(bp)
    _register_labels()


def _register_labels() -> None:
    """Firms by name where another record points at one."""
    from tracker import labels
    from tracker.enterprises.models import Enterprise
    from tracker.extensions import db

    def firm_name(enterprise_id: int) -> str | None:
        firm = db.session.get(Enterprise, enterprise_id)
        return firm.name if firm else None

    labels.register_reference("enterprise_id", firm_name)
