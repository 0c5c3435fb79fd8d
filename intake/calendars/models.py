"""Therapists' own calendars, read for busy times, and the busy times read from them."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..database import UTCDateTime
from ..extensions import db


class ExternalCalendar(db.Model):
    """A therapist's own calendar, read for busy times: an ICS address or a CalDAV calendar."""

    __tablename__ = "external_calendar"

    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(
        sa.ForeignKey("therapist.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(10))  # "ics" or "caldav"
    url: Mapped[str] = mapped_column(sa.String(2000))
    username: Mapped[str] = mapped_column(sa.String(200), default="")
    secret: Mapped[str] = mapped_column(sa.Text, default="")  # encrypted; never shown again
    etag: Mapped[str] = mapped_column(sa.String(200), default="")
    last_modified: Mapped[str] = mapped_column(sa.String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(sa.String(300), default="")
    busy_count: Mapped[int] = mapped_column(default=0)


class BusyInterval(db.Model):
    """A busy time read from a therapist's own calendar. No title, no description: only when."""

    __tablename__ = "busy_interval"
    __table_args__ = (
        sa.CheckConstraint("starts_at < ends_at", name="starts_before_ends"),
        sa.Index("ix_busy_interval_window", "therapist_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(
        sa.ForeignKey("external_calendar.id", ondelete="CASCADE"), index=True
    )
    therapist_id: Mapped[int] = mapped_column(sa.ForeignKey("therapist.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
