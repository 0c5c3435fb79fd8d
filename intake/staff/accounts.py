"""Accounts and sessions: argon2id passwords, server-side sessions that can really end."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from zxcvbn import zxcvbn

from .. import audit, links
from ..calendars.feeds import revoke
from ..clock import now_utc
from ..database import unit_of_work
from ..errors import UserError
from ..extensions import db
from ..mail.outbox import enqueue
from .models import ROLES, THERAPIST, StaffSession, User

PASSWORD_MIN = 12
HASHER = PasswordHasher()  # argon2id with argon2-cffi's defaults (above OWASP's minimum)
_DUMMY_HASH = HASHER.hash("an unknown account still costs one verification")
SEEN_EVERY = timedelta(seconds=60)  # how often a session's last-seen time is written


class AccountError(UserError):
    """An account change that cannot be made."""


def normal_email(email: str) -> str:
    """Return an email address as accounts store it (trimmed, lower case)."""
    return (email or "").strip().lower()


GUESSABLE = 3  # zxcvbn's score from 0 to 4: below this, a password falls to an offline guess


def check_password(password: str, *about: str) -> None:
    """Raise AccountError, in plain words, when a new password is too weak to accept.

    Too weak is shorter than PASSWORD_MIN, or common or guessable by zxcvbn's offline estimate
    (score below GUESSABLE), or built from `about` (the person's name and email) or the
    practice's name without being very strong: those are what a guesser tries first.
    """
    if len(password or "") < PASSWORD_MIN:
        raise AccountError(f"Use at least {PASSWORD_MIN} characters.", "password")
    if len(password) > 1024:
        raise AccountError("That password is too long.", "password")
    context = [*about, current_app.config["PRACTICE_NAME"]]
    words = [part for value in context if value
             for part in [value, *value.replace("@", " ").replace(".", " ").split()]]
    judged = zxcvbn(password[:100], user_inputs=words)  # the first 100 characters decide
    personal = any(m.get("dictionary_name") == "user_inputs" for m in judged["sequence"])
    if judged["score"] >= GUESSABLE and not (personal and judged["score"] < 4):
        return
    if personal:
        reason = ("That password is built from your name, your email or the practice's name: "
                  "the first things someone guessing would try.")
    else:
        reason = judged["feedback"]["warning"] or "That password would be easy to guess."
    raise AccountError(f"{reason.rstrip('.')}. Try a few unrelated words together, like a short "
                       "phrase only you would think of.", "password")


def create_user(email: str, password: str, role: str, *, name: str = "",
                therapist_id: int | None = None, by: User | None = None) -> User:
    """Create an account and return it; raise AccountError with the field at fault."""
    email = normal_email(email)
    if role not in ROLES:
        raise AccountError("Choose a role.", "role")
    if role == THERAPIST and therapist_id is None:
        raise AccountError("A therapist account needs its therapist profile.", "therapist_id")
    if role != THERAPIST:
        therapist_id = None
    check_password(password, name, email)
    with unit_of_work() as session:
        if session.scalar(sa.select(User.id).where(User.email == email)):
            raise AccountError("An account with this email already exists.", "email")
        if therapist_id and session.scalar(
                sa.select(User.id).where(User.therapist_id == therapist_id)):
            raise AccountError("That therapist already has an account.", "therapist_id")
        user = User(email=email, name=name.strip(), role=role, therapist_id=therapist_id,
                    password_hash=HASHER.hash(password))
        session.add(user)
        session.flush()
        audit.record(session, "account_create", by.id if by else None, "staff_user", user.id,
                     detail=role)
    return user


def authenticate(email: str, password: str) -> User | None:
    """Return the active account with this email and password, or None.

    An unknown email costs the same work as a wrong password, and the failure is recorded.
    """
    email = normal_email(email)
    user = db.session.scalar(sa.select(User).where(User.email == email))
    try:
        HASHER.verify(user.password_hash if user else _DUMMY_HASH, password or "")
        ok = user is not None and user.active
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        with unit_of_work() as session:
            audit.record(session, "login_failed", user.id if user else None,
                         "staff_user", user.id if user else None)
        return None
    if HASHER.check_needs_rehash(user.password_hash):
        with unit_of_work():
            user.password_hash = HASHER.hash(password)
    return user


def active_user(user_id: int) -> User | None:
    """Return the account when it exists and is active, else None."""
    user = db.session.get(User, user_id)
    return user if user is not None and user.active else None


def _hash(token: str) -> str:
    """Return the stored form of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, address: str) -> str:
    """Open a new server-side session for the user; return its token (for the cookie)."""
    token = secrets.token_urlsafe(32)
    now = now_utc()
    with unit_of_work() as session:
        session.add(StaffSession(token_hash=_hash(token), user_id=user.id, created_at=now,
                                 last_seen_at=now, address=address[:64]))
        row = session.get(User, user.id)
        row.last_login_at = now
        audit.record(session, "login", user.id, "staff_user", user.id)
    user.session_token = token
    return token


def _limits() -> tuple[timedelta, timedelta]:
    """Return the idle and absolute session lifetimes from the settings."""
    cfg = current_app.config
    return (timedelta(minutes=cfg["SESSION_IDLE_MINUTES"]),
            timedelta(hours=cfg["SESSION_MAX_HOURS"]))


def load_session(token: str, now: datetime | None = None, touch: bool = True) -> User | None:
    """Return the user of a live session, or None (ending it when it has timed out).

    A session lives while it is not ended, its account is active, it was used within the idle
    limit and it began within the absolute limit. Without `touch` (a page part refreshing
    itself, not the person) the use is not counted against the idle limit.
    """
    if not token or len(token) > 100:
        return None
    now = now or now_utc()
    row = db.session.scalar(sa.select(StaffSession).where(StaffSession.token_hash == _hash(token)))
    if row is None or row.ended_at is not None:
        return None
    idle, absolute = _limits()
    user = row.user
    if not user.active or now - row.last_seen_at > idle or now - row.created_at > absolute:
        with unit_of_work() as session:
            session.get(StaffSession, row.id).ended_at = now
        return None
    if touch and now - row.last_seen_at > SEEN_EVERY:
        with unit_of_work() as session:
            session.get(StaffSession, row.id).last_seen_at = now
        user = db.session.get(User, user.id)
    user.session_token = token
    return user


def end_session(token: str, user_id: int) -> None:
    """End one session (logout); the same cookie no longer works anywhere."""
    with unit_of_work() as session:
        row = session.scalar(sa.select(StaffSession).where(StaffSession.token_hash == _hash(token)))
        if row is not None and row.ended_at is None:
            row.ended_at = now_utc()
        audit.record(session, "logout", user_id, "staff_user", user_id)


def end_sessions(session, user_id: int, keep: str | None = None) -> None:
    """End every live session of the account (inside the caller's unit of work), but the one
    whose token is `keep`."""
    live = [StaffSession.user_id == user_id, StaffSession.ended_at.is_(None)]
    if keep:
        live.append(StaffSession.token_hash != _hash(keep))
    session.execute(sa.update(StaffSession).where(*live).values(ended_at=now_utc()))


def set_active(user_id: int, active: bool, by: User) -> None:
    """Enable or disable an account; disabling ends all its sessions at once."""
    if user_id == by.id and not active:
        raise AccountError("You can't disable your own account.", "active")
    with unit_of_work() as session:
        user = session.get(User, user_id)
        user.active = active
        if not active and user.therapist_id:
            revoke(session, user.therapist_id)
        if not active:
            end_sessions(session, user_id)
        audit.record(session, "account_enable" if active else "account_disable", by.id,
                     "staff_user", user_id)


def change_role(user_id: int, role: str, therapist_id: int | None, by: User) -> None:
    """Change an account's role (and linked therapist); raise AccountError when it can't be."""
    if role not in ROLES:
        raise AccountError("Choose a role.", "role")
    if role == THERAPIST and therapist_id is None:
        raise AccountError("A therapist account needs its therapist profile.", "therapist_id")
    if user_id == by.id and role != by.role:
        raise AccountError("You can't change your own role.", "role")
    with unit_of_work() as session:
        user = session.get(User, user_id)
        user.role = role
        user.therapist_id = therapist_id if role == THERAPIST else None
        audit.record(session, "account_update", by.id, "staff_user", user_id, detail=role)


def change_password(user_id: int, current: str, new: str) -> None:
    """Change one's own password after checking the current one; other sessions end.

    Raises AccountError naming the field at fault.
    """
    user = db.session.get(User, user_id)
    try:
        HASHER.verify(user.password_hash, current or "")
    except (VerificationError, InvalidHashError):
        raise AccountError("That isn't your current password.", "current") from None
    check_password(new, user.name, user.email)
    with unit_of_work() as session:
        row = session.get(User, user_id)
        row.password_hash = HASHER.hash(new)
        end_sessions(session, user_id, keep=user.session_token)
        audit.record(session, "password_change", user_id, "staff_user", user_id)


def password_fingerprint(user: User) -> str:
    """Return what a reset link or a pending second step holds of the password hash: it
    changes with the password."""
    return hashlib.sha256(("reset:" + user.password_hash).encode()).hexdigest()[:24]


def request_reset(email: str) -> None:
    """Email a password reset link to the active account with this email, if there is one
    (the answer shown is the same either way)."""
    user = db.session.scalar(sa.select(User).where(User.email == normal_email(email)))
    if user is None or not user.active:
        return
    with unit_of_work() as session:
        url = links.password_reset_url(user.id, password_fingerprint(user))
        enqueue(session, "password_reset", user.name or user.email, user.email,
                {"name": user.name, "reset_url": url, "minutes": 30})
        audit.record(session, "password_reset_asked", user.id, "staff_user", user.id)


def reset_user(token: str) -> User | None:
    """Return the active account a reset link is for while the link is valid, else None."""
    found = links.read_password_reset(token)
    if found is None:
        return None
    user = active_user(found[0])
    if user is None or not hmac.compare_digest(password_fingerprint(user), found[1]):
        return None
    return user


def reset_password(token: str, new: str) -> User:
    """Set a new password from a reset link and end every session of the account; return the
    account. Raises AccountError (field "new") for a weak password, or (field "token") when the
    link is no longer valid."""
    user = reset_user(token)
    if user is None:
        raise AccountError("This link has expired or was already used.", "token")
    try:
        check_password(new, user.name, user.email)
    except AccountError as exc:
        raise AccountError(exc.message, "new") from None
    with unit_of_work() as session:
        row = session.get(User, user.id)
        row.password_hash = HASHER.hash(new)
        end_sessions(session, user.id)
        audit.record(session, "password_reset", user.id, "staff_user", user.id)
    return user
