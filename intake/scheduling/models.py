"""Availability: a therapist's weekly hours (wall clock, their zone), time off (UTC), and the
spans of time that have just become free."""

from __future__ import annotations

from datetime import datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now_utc
from ..database import UTCDateTime
from ..extensions import db


class WeeklyHours(db.Model):
    """One range of working hours on a weekday (0 = Monday), in the therapist's own zone."""

    __tablename__ = "weekly_hours"
    __table_args__ = (sa.CheckConstraint("starts < ends", name="starts_before_ends"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(
        sa.ForeignKey("therapist.id", ondelete="CASCADE"), index=True
    )
    weekday: Mapped[int] = mapped_column(sa.SmallInteger)
    starts: Mapped[time] = mapped_column(sa.Time)
    ends: Mapped[time] = mapped_column(sa.Time)

    therapist = relationship("Therapist", back_populates="hours")


class TimeOff(db.Model):
    """A period when the therapist is away; stored in UTC."""

    __tablename__ = "time_off"
    __table_args__ = (
        sa.CheckConstraint("starts_at < ends_at", name="starts_before_ends"),
        sa.Index("ix_time_off_window", "therapist_id", "starts_at", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(sa.ForeignKey("therapist.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(sa.String(200), default="")


class FreedTime(db.Model):
    """A span of a therapist's time that has just become free (a consultation ended or moved,
    time off removed, hours added): the waitlist offers the open times inside it to the people
    who were waiting when it freed. `done_at` is set once nothing in it is left to offer."""

    __tablename__ = "freed_time"
    __table_args__ = (
        sa.CheckConstraint("starts_at < ends_at", name="starts_before_ends"),
        sa.Index("ix_freed_time_pending", "done_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(sa.ForeignKey("therapist.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


def note_freed(session, therapist_id: int, starts_at: datetime, ends_at: datetime,
               now: datetime | None = None) -> None:
    """Record, in the caller's unit of work, that [starts_at, ends_at) of the therapist's time
    became free (nothing when it is already over)."""
    now = now or now_utc()
    if ends_at > now and starts_at < ends_at:
        session.add(FreedTime(therapist_id=therapist_id, starts_at=max(starts_at, now),
                              ends_at=ends_at, created_at=now))
