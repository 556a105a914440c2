"""Users, roles, login and the one scoping function every query goes through."""


def init_app(app):
    from tracker.accounts import models  # noqa: F401 - register the tables
    from tracker.accounts.cli import users_cli
    from tracker.accounts.views import bp
    from tracker.extensions import db, login_manager

    @login_manager.user_loader
    def load_user(user_id: str):
        user = db.session.get(models.User, int(user_id))
        return user if user and user.active else None

    app.register_blueprint(bp)
    app.cli.add_command(users_cli)
