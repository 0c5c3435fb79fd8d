"""A person's place on the waitlist, and the freed times offered to them."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now_utc
from ..database import UTCDateTime
from ..extensions import db

PENDING = "pending"  # asked, not yet confirmed by email: nothing is offered
WAITING = "waiting"
BOOKED = "booked"  # took an offered time
LEFT = "left"
ENDED = "ended"  # the date they gave passed
ON_THE_LIST = (PENDING, WAITING)


class WaitlistEntry(db.Model):
    """Someone waiting for a sooner time: with one therapist, or with any therapist who matched
    their intake, on the days and at the times of day that suit them, until a date."""

    __tablename__ = "waitlist_entry"
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('pending', 'waiting', 'booked', 'left', 'ended')", name="known_status"),
        sa.Index("ix_waitlist_entry_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    intake_id: Mapped[int] = mapped_column(sa.ForeignKey("intake.id"), index=True)
    # None: any therapist who matched the intake.
    therapist_id: Mapped[int | None] = mapped_column(sa.ForeignKey("therapist.id"),
                                                     nullable=True, index=True)
    days: Mapped[list] = mapped_column(sa.JSON, default=list)  # weekdays, 0 = Monday
    parts: Mapped[list] = mapped_column(sa.JSON, default=list)  # morning, afternoon, evening
    timezone: Mapped[str] = mapped_column(sa.String(64))  # the zone the days and times are in
    until: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(sa.String(16), default=PENDING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    intake = relationship("Intake")
    therapist = relationship("Therapist")


OFFERED = "open"
TAKEN = "taken"  # this person booked it
GONE = "gone"  # someone else took the time, or its notice window passed
CLOSED = "closed"  # the person left the list or booked another offer


class WaitlistOffer(db.Model):
    """One freed time offered to one person on the waitlist (by the worker or by hand)."""

    __tablename__ = "waitlist_offer"
    __table_args__ = (
        sa.CheckConstraint("starts_at < ends_at", name="starts_before_ends"),
        # A person is offered a given time once.
        sa.UniqueConstraint("entry_id", "therapist_id", "starts_at",
                            name="uq_waitlist_offer_once"),
        sa.Index("ix_waitlist_offer_time", "therapist_id", "starts_at"),
        sa.Index("ix_waitlist_offer_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("waitlist_entry.id"), index=True)
    therapist_id: Mapped[int] = mapped_column(sa.ForeignKey("therapist.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(sa.String(16), default=OFFERED)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    # The staff member who offered it by hand; None when the worker did.
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    appointment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("appointment.id"),
                                                       nullable=True)

    entry = relationship("WaitlistEntry")
    therapist = relationship("Therapist")
