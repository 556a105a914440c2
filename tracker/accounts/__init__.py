"""Users, roles, login and the one scoping function every query goes through."""


def init_app(app):
    from tracker.accounts import (
        models,  # noqa: F401 - register the tables
        request_hooks,
        sessions,
        views_self,  # noqa: F401 - routes on the accounts blueprint
    )
    from tracker.accounts.cli import tokens_cli, users_cli
    from tracker.accounts.views import bp
    from tracker.extensions import login_manager

    @login_manager.user_loader
    def load_user(user_id: str):
        # the cookie names a server-side session; a revoked or expired one signs no one in
        from flask import session

        return sessions.load(session.get(sessions.SESSION_KEY), user_id)

    request_hooks.init_app(app)
    _register_labels()
    app.register_blueprint(bp)
    app.cli.add_command(users_cli)
    app.cli.add_command(tokens_cli)


def _register_labels() -> None:
    """Roles by their names, and users (officers, owners) by name instead of their ids."""
    from tracker import labels
    from tracker.accounts.models import User
    from tracker.accounts.roles import ROLE_LABELS
    from tracker.extensions import db

    def user_name(user_id: int) -> str | None:
        user = db.session.get(User, user_id)
        return (user.name or user.email) if user else None

    labels.register_values("role", {str(role.value): label for role, label in ROLE_LABELS.items()})
    for field in ("officer_id", "owner_id", "actor_id", "user_id", "decided_by_id"):
        labels.register_reference(field, user_name)
