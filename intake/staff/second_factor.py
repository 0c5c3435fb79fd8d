"""The second factor: a TOTP authenticator app, with single-use recovery codes.

Required for the roles in SECOND_FACTOR_ROLES (admins and the front desk), offered to everyone
else; every sign-in asks for it, nothing is remembered. Secrets are stored encrypted under the
app's secret, recovery codes only as hashes, and a code is never accepted twice.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import datetime

import pyotp
import segno
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

from .. import audit
from ..clock import now_utc
from ..database import unit_of_work
from ..extensions import db
from . import accounts
from .models import RecoveryCode, User

RECOVERY_CODES = 10
DIGITS = 6


def required_for(user: User) -> bool:
    """Return True when the account's role must sign in with a second factor."""
    return user.role in current_app.config["SECOND_FACTOR_ROLES"]


def _box() -> Fernet:
    """Return the cipher for stored TOTP secrets, keyed from the app's secret."""
    key = hashlib.sha256(("second-factor:" + current_app.config["SECRET_KEY"]).encode())
    return Fernet(base64.urlsafe_b64encode(key.digest()))


def seal(secret: str) -> str:
    """Return a TOTP secret encrypted (for the database, and for the session cookie while it
    is being set up: that cookie is signed, not encrypted)."""
    return _box().encrypt(secret.encode()).decode()


def unseal(sealed: str) -> str | None:
    """Return a secret sealed by `seal`, or None when it cannot be read."""
    try:
        return _box().decrypt(sealed.encode()).decode()
    except (InvalidToken, ValueError):
        return None


def new_secret() -> str:
    """Return a new TOTP secret (160 random bits, base32), not yet stored."""
    return pyotp.random_base32(32)


def setup_uri(user: User, secret: str) -> str:
    """Return the otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(
        name=user.email, issuer_name=current_app.config["PRACTICE_NAME"])


def qr_image(uri: str) -> str:
    """Return the QR code of `uri` as an SVG data: address for an <img> (no script, and no
    request that could leave the secret in a log)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5)


def _step(secret: str, code: str, now: datetime) -> int | None:
    """Return the time step `code` belongs to (this one or either neighbour), else None."""
    totp = pyotp.TOTP(secret)
    here = totp.timecode(now)
    for step in (here, here - 1, here + 1):
        if secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _normal(code: str) -> str:
    """Return a typed code without spaces or dashes, lower case, in ASCII letters and digits
    only (anything else is no code of ours)."""
    return "".join(ch for ch in (code or "") if ch.isascii() and ch.isalnum()).lower()


def _hash(code: str) -> str:
    return hashlib.sha256(("recovery:" + _normal(code)).encode()).hexdigest()


def enrol(user_id: int, secret: str, code: str, now: datetime | None = None) -> list[str] | None:
    """Turn the second factor on with `secret` once `code` from the app proves it was set up;
    return the new recovery codes (shown once), or None when the code does not match."""
    now = now or now_utc()
    step = _step(secret, _normal(code), now)
    if step is None:
        return None
    codes = ["-".join(secrets.token_hex(3)[i:i + 3] for i in (0, 3)) + "-"
             + secrets.token_hex(2) for _ in range(RECOVERY_CODES)]
    with unit_of_work() as session:
        user = session.get(User, user_id)
        user.totp_secret = seal(secret)
        user.totp_step = step
        session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
        session.add_all(RecoveryCode(user_id=user_id, code_hash=_hash(c)) for c in codes)
        audit.record(session, "second_factor_on", user_id, "staff_user", user_id)
    return codes


def verify(user_id: int, code: str, now: datetime | None = None) -> bool:
    """Return True when `code` is the app's current code (never one accepted before) or an
    unused recovery code (then used up); a failure is recorded in the audit trail."""
    now = now or now_utc()
    typed = _normal(code)
    with unit_of_work() as session:
        # Locked, so two requests at once cannot both accept one code.
        user = session.get(User, user_id, with_for_update=True)
        ok = False
        if user.totp_secret and len(typed) == DIGITS and typed.isdigit():
            # None when the app's secret changed: the factor must then be set up again.
            secret = unseal(user.totp_secret) or ""
            step = _step(secret, typed, now) if secret else None
            if step is not None and (user.totp_step is None or step > user.totp_step):
                user.totp_step = step
                ok = True
        elif typed:
            row = session.scalar(sa.select(RecoveryCode).where(
                RecoveryCode.user_id == user_id, RecoveryCode.code_hash == _hash(typed),
                RecoveryCode.used_at.is_(None)).with_for_update())
            if row is not None:
                row.used_at = now
                ok = True
                audit.record(session, "recovery_code_used", user_id, "staff_user", user_id)
        if not ok:
            audit.record(session, "second_factor_failed", user_id, "staff_user", user_id)
    return ok


def recovery_codes_left(user_id: int) -> int:
    """Return how many of the account's recovery codes are still unused."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)))


def reset(user_id: int, by_user_id: int) -> None:
    """Remove an account's second factor (a lost phone) and end its sessions: at the next
    sign-in they set it up again (required roles) or sign in with the password alone."""
    with unit_of_work() as session:
        user = session.get(User, user_id)
        user.totp_secret, user.totp_step = "", None
        session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
        accounts.end_sessions(session, user_id)
        audit.record(session, "second_factor_reset", by_user_id, "staff_user", user_id)
