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
    app.register_blueprint(bp)
    app.cli.add_command(users_cli)
    app.cli.add_command(tokens_cli)
