"""Login, logout, language choice and the admin's user pages."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from tracker.accounts import services
from tracker.accounts.access import roles_required, safe_next
from tracker.accounts.forms import LoginForm, UserForm
from tracker.accounts.models import User
from tracker.accounts.roles import Role
from tracker.audit import services as audit
from tracker.extensions import db
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
            user = services.authenticate(
                form.email.data, form.password.data, request.remote_addr or "?"
            )
        except services.TooManyAttempts:
            db.session.commit()
            flash(_("登录失败次数过多，请 15 分钟后再试。"), "danger")
            return render_template("accounts/login.html", form=form), 429
        db.session.commit()
        if user:
            login_user(user, remember=form.remember.data)
            session["locale"] = user.locale
            return redirect(safe_next(request.args.get("next"), url_for("dashboard.index")))
        flash(_("邮箱或密码不正确。"), "danger")
        status = 401
    return render_template("accounts/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    logout_user()
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
    if form.validate_on_submit():
        if not form.password.data:
            form.password.errors.append(_("新用户必须设置密码"))
        else:
            try:
                user = services.create_user(
                    form.email.data, form.password.data, form.role.data, name=form.name.data,
                    zone=form.zone.data or None, carrier_id=form.carrier_id.data,
                    locale=form.locale.data,
                )
                user.wants_digest = form.wants_digest.data
                user.active = form.active.data
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
        before = audit.snapshot(user, USER_FIELDS)
        user.name = form.name.data
        user.role = form.role.data
        user.zone = form.zone.data if form.role.data == Role.ZONE else None
        user.carrier_id = form.carrier_id.data if form.role.data == Role.CARRIER_MANAGER else None
        user.locale = form.locale.data
        user.wants_digest = form.wants_digest.data
        user.active = form.active.data
        if form.password.data:
            user.set_password(form.password.data)
        changes = audit.changed_fields(before, audit.snapshot(user, USER_FIELDS))
        if form.password.data:
            changes["password"] = ["***", "***"]
        audit.record("user", user.id, "update", changes)
        db.session.commit()
        flash(_("已保存"), "success")
        return redirect(url_for("accounts.users"))
    return render_template("accounts/user_form.html", form=form, user=user)
