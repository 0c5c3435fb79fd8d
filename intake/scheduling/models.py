"""Availability: a therapist's weekly hours (wall clock, their zone) and time off (UTC)."""

from __future__ import annotations

from datetime import datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

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
