"""Signing in and out, and the role checks every staff page goes through."""

from __future__ import annotations

from functools import wraps

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from ..audit import client_address
from ..extensions import limiter, login_manager
from ..redirects import same_site
from . import accounts

bp = Blueprint("auth", __name__, url_prefix="/staff")


class PasswordForm(FlaskForm):
    """Changing one's own password."""

    current = PasswordField("Current password", validators=[
        DataRequired("Enter your current password."), Length(max=1024)])
    new = PasswordField("New password (at least 12 characters)", validators=[
        DataRequired("Enter a new password."), Length(max=1024)])


class LoginForm(FlaskForm):
    """Email and password."""

    email = EmailField("Email", validators=[DataRequired("Enter your email."), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired("Enter your password."),
                                                     Length(max=1024)])


def init_login(app) -> None:
    """Configure Flask-Login: server-side sessions, no remember-me cookie."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.session_protection = None  # sessions are checked on the server instead

    @login_manager.user_loader
    def load(token: str):
        return accounts.load_session(token)


def role_required(*roles: str):
    """Return a decorator: signed in, and one of `roles` (403 otherwise)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def _account_key() -> str:
    """Return the rate-limit key for the account being signed in to."""
    return "login:" + accounts.normal_email(request.form.get("email", ""))[:254]


def _failed(response) -> bool:
    """Count only failed sign-ins against the limits."""
    return response.status_code == 401


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_ADDRESS"], methods=["POST"],
               deduct_when=_failed)
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_ACCOUNT"], methods=["POST"],
               key_func=_account_key, deduct_when=_failed)
def login():
    """Return the sign-in page; sign in on a correct email and password."""
    if current_user.is_authenticated:
        return redirect(url_for("desk.home"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None:
            session.clear()  # a new session at every sign-in
            accounts.start_session(user, client_address())
            login_user(user)
            return redirect(_safe_next() or url_for("desk.home"), 303)
        form.password.errors.append("That email and password don't match an active account.")
        status = 401
    elif request.method == "POST":
        status = 422
    form.password.data = ""
    return render_template("staff/login.html", form=form), status


def _safe_next() -> str | None:
    """Return the `next` path when it stays on this site."""
    return same_site(request.args.get("next"))


@bp.post("/logout")
@login_required
def logout():
    """End this session on the server and in the browser."""
    accounts.end_session(current_user.session_token, current_user.id)
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"), 303)


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    """Return the form to change one's own password; other sessions end when it changes."""
    form = PasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            accounts.change_password(current_user.id, form.current.data, form.new.data)
        except accounts.AccountError as exc:
            form[exc.field if exc.field in ("current", "new") else "new"].errors.append(
                exc.message)
            status = 422
        else:
            flash("Password changed. You stay signed in here; other devices are signed out.",
                  "info")
            return redirect(url_for("desk.home"), 303)
    elif request.method == "POST":
        status = 422
    return render_template("staff/password.html", form=form), status
