"""Admin pages: staff accounts and the audit trail."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional

from ..audit import ACTIONS, AuditEvent
from ..extensions import db
from ..forms import options
from ..privacy import retention
from . import accounts, queries, second_factor
from .auth import role_required
from .models import ADMIN, ROLES, THERAPIST, User

bp = Blueprint("admin", __name__, url_prefix="/staff/admin")
PAGE = 100


class AccountForm(FlaskForm):
    """A new account, or a change of role for an existing one."""

    email = EmailField("Email", validators=[Optional(), Length(max=254),
                                            Email("Please check the email address.")])
    name = StringField("Name", validators=[Optional(), Length(max=120)])
    # The least access first and chosen unless someone picks more.
    role = SelectField("Role", choices=options(reversed(ROLES.items())), default=THERAPIST,
                       validators=[DataRequired("Choose a role.")])
    therapist_id = SelectField("Therapist profile (therapists only)", coerce=str,
                               validators=[Optional()])
    password = PasswordField("First password (at least 12 characters)",
                             validators=[Optional(), Length(max=1024)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.therapist_id.choices = options(
            [("", "—"), *[(str(t.id), t.name) for t in queries.therapists()]])

    def therapist(self) -> int | None:
        """Return the chosen therapist id, or None."""
        return (int(self.therapist_id.data)
                if re.fullmatch(r"[0-9]{1,9}", self.therapist_id.data or "") else None)


@bp.route("/accounts", methods=["GET", "POST"])
@role_required(ADMIN)
def accounts_page():
    """Return the accounts list; create an account from the form below it."""
    form = AccountForm()
    status = 200
    if form.validate_on_submit():
        if not form.email.data:
            form.email.errors.append("Enter the person's email.")
        else:
            try:
                accounts.create_user(form.email.data, form.password.data or "", form.role.data,
                                     name=form.name.data or "", therapist_id=form.therapist(),
                                     by=current_user)
            except accounts.AccountError as exc:
                getattr(form, exc.field or "email").errors.append(exc.message)
            else:
                flash(f"Account created for {accounts.normal_email(form.email.data)}.", "info")
                return redirect(url_for("admin.accounts_page"), 303)
        status = 422
    elif request.method == "POST":
        status = 422
    users = db.session.scalars(sa.select(User).order_by(User.email)).all()
    return render_template("staff/accounts.html", users=users, form=form, roles=ROLES,
                           therapists=queries.therapists()), status


@bp.post("/accounts/<int:user_id>")
@role_required(ADMIN)
def update_account(user_id: int):
    """Enable, disable or change the role of an account."""
    db.get_or_404(User, user_id)
    form = AccountForm()
    if not form.validate_on_submit():
        flash("Please choose a role.", "error")
        return redirect(url_for("admin.accounts_page"), 303)
    try:
        action = request.form.get("action")
        if action in ("disable", "enable"):
            accounts.set_active(user_id, action == "enable", current_user)
        elif action == "reset_second_factor":
            second_factor.reset(user_id, current_user.id)
        else:
            accounts.change_role(user_id, form.role.data, form.therapist(), current_user)
    except accounts.AccountError as exc:
        flash(exc.message, "error")
    else:
        flash("Account updated.", "info")
    return redirect(url_for("admin.accounts_page"), 303)


@bp.get("/audit")
@role_required(ADMIN)
def audit_page():
    """Return the audit trail, newest first, filtered by action, person and day."""
    query = sa.select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    action = request.args.get("action", "")
    if action in ACTIONS:
        query = query.where(AuditEvent.action == action)
    user_id = request.args.get("user", "")
    if re.fullmatch(r"[0-9]{1,9}", user_id):
        query = query.where(AuditEvent.user_id == int(user_id))
    day = _day(request.args.get("day", ""))
    if day:
        zone = ZoneInfo(current_app.config["PRACTICE_TIMEZONE"])
        start = datetime.combine(day, time(0), tzinfo=zone)
        query = query.where(AuditEvent.at >= start, AuditEvent.at < start + timedelta(days=1))
    events = db.session.scalars(query.limit(PAGE)).all()
    users = db.session.scalars(sa.select(User).order_by(User.email)).all()
    return render_template("staff/audit.html", events=events, actions=ACTIONS, users=users,
                           action=action, user_id=user_id, day=request.args.get("day", ""),
                           people={u.id: u for u in users}, roles=ROLES,
                           therapists={t.id: t.name for t in queries.therapists()},
                           next_purge=retention.next_run())


def _day(value: str):
    """Return a date from YYYY-MM-DD, or None."""
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        return None
