"""The therapist profile."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now_utc
from ..database import UTCDateTime
from ..extensions import db


class Therapist(db.Model):
    """A therapist who offers consultations, with the settings that shape their open times."""

    __tablename__ = "therapist"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    credentials: Mapped[str] = mapped_column(sa.String(80), default="")
    pronouns: Mapped[str] = mapped_column(sa.String(40), default="")
    bio: Mapped[str] = mapped_column(sa.Text, default="")
    email: Mapped[str] = mapped_column(sa.String(254))
    timezone: Mapped[str] = mapped_column(sa.String(64))
    modalities: Mapped[list] = mapped_column(sa.JSON, default=list)
    concerns: Mapped[list] = mapped_column(sa.JSON, default=list)
    languages: Mapped[list] = mapped_column(sa.JSON, default=list)
    formats: Mapped[list] = mapped_column(sa.JSON, default=list)
    office: Mapped[str] = mapped_column(sa.String(200), default="")
    # Their own video room (https), for online consultations; empty when the practice's
    # TELEHEALTH_ROOM_BASE makes a room per appointment instead.
    video_room: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    accepting_new_clients: Mapped[bool] = mapped_column(default=True)
    auto_confirm: Mapped[bool] = mapped_column(default=False)
    buffer_minutes: Mapped[int] = mapped_column(default=10)
    min_notice_hours: Mapped[int] = mapped_column(default=24)
    horizon_days: Mapped[int] = mapped_column(default=28)
    consultation_minutes: Mapped[int] = mapped_column(default=30)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    photo: Mapped[bytes | None] = mapped_column(sa.LargeBinary, nullable=True, deferred=True)
    photo_type: Mapped[str] = mapped_column(sa.String(20), default="")
    # Subscription feed: the URL's token is derived from a random salt and the app's secret,
    # so it can be shown again; only its hash is looked up.
    feed_salt: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    feed_token_hash: Mapped[str | None] = mapped_column(sa.String(64), nullable=True, unique=True)
    feed_rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    invite_emails: Mapped[bool] = mapped_column(default=True)
    # Set afresh (a random number) by the database itself, triggers of migration 0007, whenever
    # an appointment, proposal, time off, imported busy time or weekly hours of this therapist
    # change: open times remembered under one version are never served under another.
    schedule_version: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")

    hours = relationship(
        "WeeklyHours", back_populates="therapist", cascade="all, delete-orphan",
        order_by="(WeeklyHours.weekday, WeeklyHours.starts)",
    )

    @property
    def display_name(self) -> str:
        """Return the name with credentials, as clients see it."""
        return f"{self.name}, {self.credentials}" if self.credentials else self.name

    def __repr__(self) -> str:
        return f"<Therapist {self.slug}>"
