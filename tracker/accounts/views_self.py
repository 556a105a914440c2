"""A user's own account: password change, reset by email, sessions, calendar-feed token, API
tokens."""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from tracker.accounts import api_tokens, services, sessions, tokens
from tracker.accounts.forms import (
    ApiTokenForm,
    ChangePasswordForm,
    ForgotPasswordForm,
    ResetPasswordForm,
)
from tracker.accounts.models import User
from tracker.accounts.request_hooks import sign_out
from tracker.accounts.tasks import send_password_reset
from tracker.accounts.views import bp
from tracker.celery_app import enqueue_after_commit
from tracker.errors import FieldError
from tracker.extensions import db
from tracker.forms_support import show_field_errors
from tracker.inputs import TrackerForm as ConfirmTokenForm


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    status = 200
    if form.validate_on_submit():
        try:  # other sessions end through the after-flush hook in accounts.sessions
            revoked = services.change_own_password(current_user, form.current.data,
                                                   form.password.data)
        except services.AccountError as exc:
            db.session.rollback()
            form.password.errors.append(str(exc))
            status = 400
        else:
            db.session.commit()
            flash(_("密码已修改，其他设备上的登录已退出。"), "success")
            if revoked:
                flash(_("%(n)s 个 API 令牌已吊销，如仍需要请重新创建。", n=revoked), "warning")
            return redirect(url_for("accounts.my_sessions"))
    elif form.is_submitted():
        status = 400
    return render_template("accounts/change_password.html", form=form), status


@bp.get("/account/sessions")
@login_required
def my_sessions():
    return render_template("accounts/sessions.html",
                           rows=sessions.live_sessions(current_user.id),
                           current_sid=session.get(sessions.SESSION_KEY))


@bp.post("/account/sessions/<sid>/end")
@login_required
def end_session(sid: str):
    if sid == session.get(sessions.SESSION_KEY):
        sign_out()  # ending this very session is a logout
        return redirect(url_for("accounts.login"))
    if not sessions.end_session(sid, user_id=current_user.id):
        abort(404)
    db.session.commit()
    flash(_("已退出该设备上的登录。"), "success")
    return redirect(url_for("accounts.my_sessions"))


@bp.post("/account/sessions/end-others")
@login_required
def end_other_sessions():
    count = sessions.end_all_sessions(current_user.id, keep=session.get(sessions.SESSION_KEY))
    db.session.commit()
    flash(_("已退出其他 %(n)s 处登录。", n=count), "success")
    return redirect(url_for("accounts.my_sessions"))


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        user = db.session.scalar(db.select(User).where(User.email == email))
        if user is not None and user.active:
            enqueue_after_commit(send_password_reset, user.id)
        db.session.commit()
        # the same answer whether or not the address has an account
        flash(_("如果该邮箱在系统中有账号，我们已发送重设密码的链接，请查收。"), "info")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot_password.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    if tokens.user_for_reset_token(token) is None:
        return render_template("accounts/reset_password.html", form=None), 404
    form = ResetPasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            tokens.reset_password(token, form.password.data)
        except services.AccountError as exc:
            db.session.rollback()
            form.password.errors.append(str(exc))
            status = 400
        else:
            db.session.commit()
            flash(_("密码已重设，请用新密码登录。"), "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_password.html", form=form), status


@bp.post("/account/calendar-token")
@login_required
def regenerate_calendar_token():
    tokens.regenerate_calendar_token(current_user)
    db.session.commit()
    flash(_("已生成新的日历订阅地址，旧地址已失效。"), "success")
    return redirect(url_for("reminders.calendar"))


@bp.route("/account/tokens", methods=["GET", "POST"])
@login_required
def api_tokens_page():
    """The user's personal API tokens; a new one is shown on this answer only, never again."""
    form = ApiTokenForm()
    new_token = None
    status = 200
    if form.validate_on_submit():
        try:
            new_token, _row = api_tokens.issue(current_user, name=form.name.data,
                                               days=form.expires_days.data,
                                               read_only=form.read_only.data)
        except FieldError as exc:
            db.session.rollback()
            show_field_errors(form, exc.errors)
            status = 400
        else:
            db.session.commit()
            form = ApiTokenForm(formdata=None)
    elif form.is_submitted():
        status = 400
    response = make_response(render_template(
        "accounts/tokens.html", form=form, new_token=new_token,
        rows=api_tokens.tokens_of(current_user), is_live=api_tokens.is_live), status)
    if new_token:
        response.headers["Cache-Control"] = "no-store"  # the token must not linger in a cache
    return response


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_api_token(token_id: int):
    if not ConfirmTokenForm().validate_on_submit():
        abort(400)
    if not api_tokens.revoke(current_user, token_id):
        abort(404)
    db.session.commit()
    flash(_("令牌已吊销，使用它的系统将无法再访问。"), "success")
    return redirect(url_for("accounts.api_tokens_page"))
