"""Login, logout, language choice and the admin's user pages."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from tracker.accounts import services, sessions
from tracker.accounts.access import roles_required, safe_next
from tracker.accounts.forms import LoginForm, UserForm
from tracker.accounts.models import User
from tracker.accounts.request_hooks import client_ip, sign_in, sign_out
from tracker.accounts.roles import Role
from tracker.audit import services as audit
from tracker.extensions import db, outside_write_lock
from tracker.incubation.models import Carrier

bp = Blueprint("accounts", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data, client_ip())
        except services.TooManyAttempts as exc:
            db.session.rollback()
            flash(_("登录尝试过于频繁，请 %(n)s 秒后再试。", n=exc.retry_after), "danger")
            response = render_template("accounts/login.html", form=form)
            return response, 429, {"Retry-After": str(exc.retry_after)}
        started = None
        if user:
            started = sessions.start_session(user, remember=bool(form.remember.data),
                                             user_agent=request.user_agent.string,
                                             ip=client_ip())
        db.session.commit()
        if started:
            sign_in(user, started.session, remember_token=started.remember_token)
            if user.must_change_password:
                flash(_("管理员已重设您的密码，请先设置一个新密码。"), "warning")
                return redirect(url_for("accounts.change_password"))
            return redirect(safe_next(request.args.get("next"), url_for("dashboard.index")))
        flash(_("邮箱或密码不正确。"), "danger")
        status = 401
    return render_template("accounts/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    sign_out()
    return redirect(url_for("accounts.login"))


@bp.post("/language/<code>")
def set_language(code: str):
    if code in ("zh_CN", "en"):
        session["locale"] = code
        if current_user.is_authenticated:
            current_user.locale = code
            db.session.commit()
    return redirect(safe_next(request.form.get("next"), url_for("dashboard.index")))


def _carrier_choices() -> list[tuple[str, str]]:
    carriers = db.session.scalars(select(Carrier).order_by(Carrier.name)).all()
    return [("", "—")] + [(str(c.id), c.name) for c in carriers]


@bp.get("/admin/users")
@roles_required(Role.ADMIN)
def users():
    rows = db.session.scalars(select(User).order_by(User.role, User.email)).all()
    return render_template("accounts/users.html", users=rows)


@bp.route("/admin/users/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def user_new():
    form = UserForm()
    form.carrier_id.choices = _carrier_choices()
    if request.method == "POST":
        # every problem at once: the form's own checks and the account rules alike
        valid = form.validate_on_submit()
        for name, message in services.new_user_errors(
                form.email.data or "", form.password.data or "", form.role.data,
                form.zone.data or None, form.carrier_id.data).items():
            form[name].errors = [*form[name].errors, message]
            valid = False
        if valid:
            try:
                with outside_write_lock():  # Argon2 holds no write lock (SQLite)
                    hashed = services.prepare_password(form.password.data,
                                                       form.email.data.strip().lower())
                user = services.create_user(
                    form.email.data, form.password.data, form.role.data, name=form.name.data,
                    zone=form.zone.data or None, carrier_id=form.carrier_id.data,
                    locale=form.locale.data, hashed=hashed,
                )
                user.wants_digest = form.wants_digest.data
                services.set_active(user, form.active.data)  # deactivating revokes the API tokens
                user.must_change_password = form.must_change.data
                db.session.commit()
                flash(_("已创建用户 %(email)s", email=user.email), "success")
                return redirect(url_for("accounts.users"))
            except services.AccountError as exc:
                db.session.rollback()
                flash(str(exc), "danger")
    return render_template("accounts/user_form.html", form=form, user=None)


USER_FIELDS = ("name", "role", "zone", "carrier_id", "locale", "wants_digest", "active")


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def user_edit(user_id: int):
    user = db.get_or_404(User, user_id)
    form = UserForm(obj=user)
    del form.email  # the login name does not change; create a new account instead
    form.carrier_id.choices = _carrier_choices()
    if form.validate_on_submit():
        try:
            services.validate_user_fields(form.role.data, form.zone.data or None,
                                          form.carrier_id.data)
        except services.AccountError as exc:
            flash(str(exc), "danger")
            return render_template("accounts/user_form.html", form=form, user=user), 400
        hashed = None
        if form.password.data:
            try:
                with outside_write_lock():  # Argon2 holds no write lock (SQLite)
                    hashed = services.prepare_password(form.password.data, user.email)
            except services.AccountError as exc:
                form.password.errors.append(str(exc))
                return render_template("accounts/user_form.html", form=form, user=user), 400
        before = audit.snapshot(user, USER_FIELDS)
        user.name = form.name.data
        user.role = form.role.data
        user.zone = form.zone.data if form.role.data == Role.ZONE else None
        user.carrier_id = form.carrier_id.data if form.role.data == Role.CARRIER_MANAGER else None
        user.locale = form.locale.data
        user.wants_digest = form.wants_digest.data
        services.set_active(user, form.active.data)  # deactivating revokes the API tokens
        if hashed:  # the user's sessions end through the after-flush hook in accounts.sessions
            services.set_password(user, form.password.data, must_change=form.must_change.data,
                                  hashed=hashed)
        changes = audit.changed_fields(before, audit.snapshot(user, USER_FIELDS))
        audit.record("user", user.id, "update", changes)
        db.session.commit()
        flash(_("已保存"), "success")
        return redirect(url_for("accounts.users"))
    return render_template("accounts/user_form.html", form=form, user=user)
