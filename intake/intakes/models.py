"""The intake: what a prospective client told the practice."""

from __future__ import annotations

import secrets
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now_utc
from ..database import UTCDateTime
from ..extensions import db


def new_reference() -> str:
    """Return an unguessable reference (128 random bits) for a client's own links."""
    return secrets.token_urlsafe(16)


def initials_of(name: str) -> str:
    """Return a name's initials ("A. B."), at most three."""
    return " ".join(f"{part[0].upper()}." for part in name.split()[:3] if part)


class Named:
    """A person's greeting and initials, for the records that hold their `name`."""

    name: str

    @property
    def first_name(self) -> str:
        """Return the first word of the name, for greetings."""
        return (self.name.split() or [""])[0]

    @property
    def initials(self) -> str:
        """Return the initials ("A. B."), the most a calendar or list shows."""
        return initials_of(self.name)


class Intake(Named, db.Model):
    """A submitted intake. Everything here is health information: never put it in an email."""

    __tablename__ = "intake"
    __table_args__ = (sa.Index("ix_intake_urgent_created", "urgent", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(32), unique=True, default=new_reference)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    # Safety screening, asked first.
    safety: Mapped[str] = mapped_column(sa.String(16))
    urgent: Mapped[bool] = mapped_column(default=False)
    # What brings them.
    concerns: Mapped[list] = mapped_column(sa.JSON, default=list)
    story: Mapped[str] = mapped_column(sa.Text, default="")
    modality: Mapped[str] = mapped_column(sa.String(16), default="")
    kind: Mapped[str] = mapped_column(sa.String(16), default="individual")
    partner_name: Mapped[str] = mapped_column(sa.String(120), default="")
    partner_email: Mapped[str] = mapped_column(sa.String(254), default="")
    partner_agreed: Mapped[bool] = mapped_column(default=False)
    # Preferences.
    format: Mapped[str] = mapped_column(sa.String(16), default="")
    language: Mapped[str] = mapped_column(sa.String(16), default="")
    preferred_times: Mapped[list] = mapped_column(sa.JSON, default=list)
    timezone: Mapped[str] = mapped_column(sa.String(64), default="")
    # Contact and consent.
    name: Mapped[str] = mapped_column(sa.String(120), default="")
    email: Mapped[str] = mapped_column(sa.String(254), default="")
    phone: Mapped[str] = mapped_column(sa.String(40), default="")
    consent_contact: Mapped[bool] = mapped_column(default=False)
    consent_privacy: Mapped[bool] = mapped_column(default=False)
    # Discreet contact: no reminders or other optional emails.
    discreet: Mapped[bool] = mapped_column(default=False)
    # Set when no therapist fits and the person asks to be contacted instead.
    contact_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Set when a staff member has seen an urgent intake or a contact request and taken it on.
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    acknowledged_by: Mapped[int | None] = mapped_column(
        sa.ForeignKey("staff_user.id", use_alter=True), nullable=True
    )
    # Set when its answers and contact details were erased (kept as an anonymous shell).
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
