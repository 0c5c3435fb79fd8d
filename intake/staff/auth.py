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
from flask_login import current_user, login_required, login_url, login_user, logout_user
from flask_wtf import FlaskForm
from limits import parse_many
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from ..audit import client_address
from ..clock import now_utc
from ..extensions import address_key, limiter, login_manager
from ..htmx import is_htmx, is_poll
from ..redirects import same_site
from . import accounts, second_factor

bp = Blueprint("auth", __name__, url_prefix="/staff")


class PasswordForm(FlaskForm):
    """Changing one's own password."""

    current = PasswordField("Current password", validators=[
        DataRequired("Enter your current password."), Length(max=1024)])
    new = PasswordField("New password (at least 12 characters)", validators=[
        DataRequired("Enter a new password."), Length(max=1024)])


class ForgotForm(FlaskForm):
    """The email of the account whose password was forgotten."""

    email = EmailField("Your work email", validators=[DataRequired("Enter your email."),
                                                       Length(max=254)])


class ResetForm(FlaskForm):
    """A new password, from a reset link."""

    new = PasswordField("New password (at least 12 characters)", validators=[
        DataRequired("Enter a new password."), Length(max=1024)])


class CodeForm(FlaskForm):
    """The six-digit code from the authenticator app, or a recovery code."""

    code = StringField("Code", validators=[DataRequired("Enter the code."), Length(max=40)])


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
        return accounts.load_session(token, touch=not is_poll())

    @login_manager.unauthorized_handler
    def sign_in_first():
        """Send someone signed out to the sign-in page; a page part asking for itself in the
        background takes the whole page there (what it showed is not left on the screen)."""
        if is_htmx():
            return "", 204, {"HX-Redirect": url_for("auth.login")}
        flash(login_manager.login_message, login_manager.login_message_category)
        return redirect(login_url(login_manager.login_view, next_url=request.url))


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
    """Return the rate-limit key for the account being signed in to from this address.

    Per address too, so someone guessing elsewhere cannot lock the real person out: the
    account's own limits grow in stages (LOGIN_LIMIT_ACCOUNT), and the address's limit over
    all accounts (LOGIN_LIMIT_ADDRESS) slows a guesser trying many."""
    email = accounts.normal_email(request.form.get("email", ""))[:254]
    return f"login:{email}|{address_key()}"


def _failed(response) -> bool:
    """Count only failed sign-ins against the limits."""
    return response.status_code == 401


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_ADDRESS"], methods=["POST"],
               deduct_when=_failed)
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_ACCOUNT"], methods=["POST"],
               key_func=_account_key, deduct_when=_failed)
def login():
    """Return the sign-in page; on a correct email and password, go on to the second step
    (the code, or setting the app up when the role requires it), or sign in."""
    if current_user.is_authenticated:
        return redirect(url_for("desk.home"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None:
            session.clear()  # a new session at every sign-in
            if user.has_second_factor or second_factor.required_for(user):
                session[PENDING] = {"user": user.id, "at": now_utc().timestamp(),
                                    "next": _safe_next(),
                                    "password": accounts.password_fingerprint(user)}
                step = "auth.code" if user.has_second_factor else "auth.enrol"
                return redirect(url_for(step), 303)
            return _signed_in(user, _safe_next())
        form.password.errors.append("That email and password don't match an active account.")
        status = 401
    elif request.method == "POST":
        status = 422
    form.password.data = ""
    return render_template("staff/login.html", form=form), status


PENDING = "second_step"
PENDING_SECONDS = 300  # between the password and the code


def _pending():
    """Return the account whose password was just given (within PENDING_SECONDS), or None."""
    pending = session.get(PENDING)
    if not pending or now_utc().timestamp() - pending["at"] > PENDING_SECONDS:
        return None
    user = accounts.active_user(pending["user"])
    if user is None or accounts.password_fingerprint(user) != pending.get("password"):
        return None  # the password changed since it was given
    return user


def _start(user) -> None:
    """Start the account's server-side session in this browser; the second step is over."""
    session.pop(PENDING, None)
    accounts.start_session(user, client_address())
    login_user(user)


def _signed_in(user, target: str | None):
    """Sign in and go on to `target` (or the desk)."""
    _start(user)
    return redirect(target or url_for("desk.home"), 303)


def _count_code(user_id: int, cost: int = 1) -> None:
    """Count a typed code against the account's limits (LOGIN_LIMIT_ACCOUNT) before it is
    checked, so codes sent at once are all counted; answer 429 once a limit is used up. A
    right code is given back (`cost=-1`): only wrong ones use the limits up."""
    if not current_app.config["RATELIMIT_ENABLED"]:
        return
    limits = parse_many(current_app.config["LOGIN_LIMIT_ACCOUNT"])
    within = [limiter.limiter.hit(item, "code", str(user_id), cost=cost) for item in limits]
    if cost > 0 and not all(within):
        abort(429)


@bp.route("/login/code", methods=["GET", "POST"])
def code():
    """Return the second step of signing in; sign in on a right code."""
    if current_user.is_authenticated:
        return redirect(url_for("desk.home"))
    user = _pending()
    if user is None or not user.has_second_factor:
        return _start_again()
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        _count_code(user.id)
        if second_factor.verify(user.id, form.code.data):
            _count_code(user.id, cost=-1)
            return _signed_in(user, session[PENDING].get("next"))
        form.code.errors.append("That code didn't work. Codes change every 30 seconds; use "
                                "the one showing now, or one of your recovery codes.")
        status = 401
    elif request.method == "POST":
        status = 422
    form.code.data = ""
    return render_template("staff/code.html", form=form), status


@bp.route("/login/set-up", methods=["GET", "POST"])
def enrol():
    """Set up the authenticator app during sign-in (roles that require it); then show the
    recovery codes once, signed in."""
    if current_user.is_authenticated:
        return redirect(url_for("auth.two_step"))
    user = _pending()
    if user is None or user.has_second_factor:
        return _start_again()
    return _set_up(user, after_sign_in=True)


@bp.route("/two-step", methods=["GET", "POST"])
@login_required
def two_step():
    """Return the account's two-step sign-in state; set it up when it is off."""
    if current_user.has_second_factor:
        return render_template("staff/two_step.html", left=second_factor.recovery_codes_left(
            current_user.id))
    return _set_up(current_user, after_sign_in=False)


def _set_up(user, after_sign_in: bool):
    """Return the set-up page (QR code and the secret as text); on a right code, turn the
    second factor on and show the recovery codes."""
    secret = second_factor.unseal(session.get("new_secret", "")) or second_factor.new_secret()
    session["new_secret"] = second_factor.seal(secret)
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        _count_code(user.id)
        codes = second_factor.enrol(user.id, secret, form.code.data)
        if codes is not None:
            _count_code(user.id, cost=-1)
            session.pop("new_secret", None)
            target = None
            if after_sign_in:
                target = session[PENDING].get("next")
                _start(user)
            return render_template("staff/recovery_codes.html", codes=codes,
                                   target=target or url_for("desk.home"))
        form.code.errors.append("That code didn't match. Check the app shows this account, "
                                "then type the code showing now.")
        status = 401
    elif request.method == "POST":
        status = 422
    form.code.data = ""
    uri = second_factor.setup_uri(user, secret)
    return render_template("staff/enrol.html", form=form, qr=second_factor.qr_image(uri),
                           uri=uri, secret=secret,
                           required=second_factor.required_for(user)), status


def _start_again():
    """Send someone whose second step is missing or too old back to the password."""
    session.pop(PENDING, None)
    flash("Please sign in again.", "info")
    return redirect(url_for("auth.login"), 303)


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


def _forgot_key() -> str:
    """Return the rate-limit key for reset emails to one address (an inbox is not flooded)."""
    return "forgot:" + accounts.normal_email(request.form.get("email", ""))[:254]


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_ADDRESS"], methods=["POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_ACCOUNT"], methods=["POST"],
               key_func=_forgot_key)
def forgot():
    """Return the form to ask for a reset link; the same answer whether or not the email has
    an account."""
    form = ForgotForm()
    if form.validate_on_submit():
        accounts.request_reset(form.email.data)
        return render_template("staff/forgot_sent.html")
    status = 422 if request.method == "POST" else 200
    return render_template("staff/forgot.html", form=form), status


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset(token: str):
    """Return the form to choose a new password from an emailed link (30 minutes, once);
    every session of the account ends when it is saved."""
    if accounts.reset_user(token) is None:
        return render_template("staff/reset_invalid.html"), 404
    form = ResetForm()
    status = 200
    if form.validate_on_submit():
        try:
            accounts.reset_password(token, form.new.data)
        except accounts.AccountError as exc:
            if exc.field == "token":
                return render_template("staff/reset_invalid.html"), 404
            form.new.errors.append(exc.message)
            status = 422
        else:
            session.clear()
            flash("Your password is changed, and every other sign-in has ended. Please sign "
                  "in with it.", "info")
            return redirect(url_for("auth.login"), 303)
    elif request.method == "POST":
        status = 422
    return render_template("staff/reset.html", form=form), status
