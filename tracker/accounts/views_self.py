"""A user's own account: password change, reset by email, sessions, calendar-feed token."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from tracker.accounts import services, sessions, tokens
from tracker.accounts.forms import ChangePasswordForm, ForgotPasswordForm, ResetPasswordForm
from tracker.accounts.models import User
from tracker.accounts.request_hooks import sign_out
from tracker.accounts.tasks import send_password_reset
from tracker.accounts.views import bp
from tracker.celery_app import enqueue_after_commit
from tracker.extensions import db


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    status = 200
    if form.validate_on_submit():
        try:  # other sessions end through the after-flush hook in accounts.sessions
            services.change_own_password(current_user, form.current.data, form.password.data)
        except services.AccountError as exc:
            db.session.rollback()
            form.password.errors.append(str(exc))
            status = 400
        else:
            db.session.commit()
            flash(_("密码已修改，其他设备上的登录已退出。"), "success")
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
