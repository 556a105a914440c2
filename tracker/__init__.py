"""Innovation Pipeline Tracker: the app factory."""

from __future__ import annotations

import os
from importlib import import_module
from pathlib import Path

from flask import Flask, g, has_request_context, render_template, request, session
from flask_babel import gettext
from flask_babel import refresh as refresh_locale
from flask_login import current_user

from tracker import headers, inputs
from tracker.connections import configure_connections
from tracker.extensions import babel, configure_sqlite, csrf, db, login_manager, migrate
from tracker.features import FEATURES
from tracker.i18n import accepted_locale, install_template_gettext, translation_directories
from tracker.security import apply_trusted_proxies, configure_secret_key

ROOT = Path(__file__).resolve().parent.parent


def select_locale() -> str:
    """Pages: the language picked this session, else the user's own, else Chinese. The API
    answers a program, which says what it reads in Accept-Language; without one, a token's
    owner reads their own language."""
    if not has_request_context():  # CLI, tasks: messages in the default language
        return "zh_CN"
    if request.path.startswith("/api/"):
        asked = accepted_locale(request.accept_languages)
        if asked:
            return asked
        if g.get("api_token") is not None and current_user.is_authenticated:
            return current_user.locale
    if "locale" in session:
        return session["locale"]
    if current_user and current_user.is_authenticated:
        return current_user.locale
    return "zh_CN"


def create_app(config: object | str | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        instance_path=os.environ.get("INSTANCE_DIR", str(ROOT / "instance")),
    )
    if config is None:
        production = os.environ.get("TRACKER_ENV", "").strip().lower() == "production"
        config = "config.ProductionConfig" if production else "config.Config"
    app.config.from_object(config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    # before anything can sign a cookie or token: refuse an unsafe production setup
    configure_secret_key(app)
    apply_trusted_proxies(app)
    inputs.init_app(app)  # before any blueprint: the bounded <int:> converter must be in place

    db.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine,
                         busy_timeout_ms=app.config.get("SQLITE_BUSY_TIMEOUT_MS", 10_000))
        configure_connections(app, db.engine)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "请先登录"
    login_manager.login_message_category = "warning"
    login_manager.localize_callback = gettext
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=";".join(translation_directories()),
    )

    install_template_gettext(app.jinja_env)
    # Locale is cached on `g`; a request must choose afresh (tests share one app context).
    app.before_request(refresh_locale)

    from tracker.celery_app import celery_init_app

    celery_init_app(app)

    for name in FEATURES:
        import_module(f"tracker.{name}").init_app(app)

    from tracker import changes

    changes.install()

    from tracker import demo, templating

    templating.init_app(app)
    app.cli.add_command(demo.demo_cli)
    _register_error_pages(app)
    app.after_request(_security_headers)
    # browsers ask for /favicon.ico on every site whatever the page links; answer, not 404
    app.add_url_rule("/favicon.ico", "favicon", lambda: app.send_static_file("favicon.ico"))
    return app


def _security_headers(response):
    """Intranet or not, pages must not be framed, sniffed or leak their URLs."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return headers.add_policy_headers(response)


def _register_error_pages(app: Flask) -> None:
    def render_error(error):
        code = getattr(error, "code", 500)
        from tracker.api.errors import http_error_response, is_api_path

        if is_api_path(request.path):
            return http_error_response(error)
        return render_template("errors.html", code=code, error=error), code

    for code in (400, 401, 403, 404, 405, 409, 413, 422, 429):
        app.register_error_handler(code, render_error)
