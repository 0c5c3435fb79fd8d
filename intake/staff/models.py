"""Staff accounts and their server-side sessions."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now_utc
from ..database import UTCDateTime
from ..extensions import db

ADMIN = "admin"
FRONT_DESK = "front_desk"
THERAPIST = "therapist"
ROLES = {ADMIN: "Admin", FRONT_DESK: "Front desk", THERAPIST: "Therapist"}


class User(db.Model):
    """One person's staff account."""

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(16))
    therapist_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("therapist.id"), nullable=True, unique=True
    )
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The second factor: a TOTP secret, encrypted (empty until enrolled), and the last time
    # step whose code was accepted (a code is never accepted twice).
    totp_secret: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    totp_step: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)

    therapist = relationship("Therapist")

    # Flask-Login: the id in the cookie is the session's token, set when the user is loaded.
    session_token = None

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str | None:
        """Return the current session's token (what Flask-Login keeps in the cookie)."""
        return self.session_token

    @property
    def has_second_factor(self) -> bool:
        """Return True once the account has enrolled an authenticator app."""
        return bool(self.totp_secret)

    @property
    def role_label(self) -> str:
        """Return the role as staff read it."""
        return ROLES.get(self.role, self.role)


class StaffSession(db.Model):
    """A signed-in browser. Ending the row ends the session, whatever the cookie says."""

    __tablename__ = "staff_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    address: Mapped[str] = mapped_column(sa.String(64), default="")

    user = relationship("User")


class RecoveryCode(db.Model):
    """One single-use code that signs in instead of the authenticator app; only its hash."""

    __tablename__ = "staff_recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_user.id"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
