"""The appointment, whose active rows never overlap for one therapist."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now_utc
from ..database import UTCDateTime
from ..extensions import db

HELD = "held"  # waiting for front-desk confirmation; the time is taken
CONFIRMED = "confirmed"
CANCELLED = "cancelled"
DECLINED = "declined"
EXPIRED = "expired"
ACTIVE_STATUSES = (HELD, CONFIRMED)
ACTIVE_SQL = sa.text("status IN ('held', 'confirmed')")


def holds_its_time(status: sa.ColumnElement) -> sa.ColumnElement:
    """Return the condition that an appointment with `status` holds its time (held or
    confirmed), with the statuses written into the SQL rather than bound.

    Then every plan, including the one PostgreSQL keeps for a statement run again and again,
    can use the partial indexes on active appointments: a bound list of statuses cannot be
    shown to match their condition.
    """
    return status.in_([sa.literal_column(f"'{value}'") for value in ACTIVE_STATUSES])


def new_uid() -> str:
    """Return a new iCalendar UID, made once per appointment and kept for every update."""
    return f"{uuid.uuid4()}@intake"


class Appointment(db.Model):
    """A consultation between a therapist and the person who filled an intake."""

    __tablename__ = "appointment"
    __table_args__ = (
        sa.CheckConstraint("starts_at < ends_at", name="starts_before_ends"),
        sa.CheckConstraint(
            "status IN ('held', 'confirmed', 'cancelled', 'declined', 'expired')",
            name="known_status",
        ),
        # One active appointment per therapist and start time, on every database. PostgreSQL
        # also has an exclusion constraint against any overlap (see the migration).
        sa.Index(
            "uq_appointment_active_start", "therapist_id", "starts_at", unique=True,
            sqlite_where=ACTIVE_SQL, postgresql_where=ACTIVE_SQL,
        ),
        sa.Index("ix_appointment_therapist_window", "therapist_id", "starts_at"),
        # The coming days across every therapist (their loads, reminders).
        sa.Index("ix_appointment_starts_at", "starts_at"),
        # When a therapist's consultations last changed: their feed's ETag.
        sa.Index("ix_appointment_therapist_changed", "therapist_id", "updated_at"),
        # The last day's bookings, for the daily booking caps.
        sa.Index("ix_appointment_created_at", "created_at"),
        # An intake's consultations to come (the one it holds, shown on its pages), however
        # long its history.
        sa.Index("ix_appointment_intake_starts", "intake_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(sa.String(80), unique=True, default=new_uid)
    sequence: Mapped[int] = mapped_column(default=0)
    therapist_id: Mapped[int] = mapped_column(sa.ForeignKey("therapist.id"))
    intake_id: Mapped[int] = mapped_column(sa.ForeignKey("intake.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(sa.String(16))
    format: Mapped[str] = mapped_column(sa.String(16))
    client_timezone: Mapped[str] = mapped_column(sa.String(64))
    idempotency_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    hold_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decline_message: Mapped[str] = mapped_column(sa.String(1000), default="")
    # Raised on every change the client must hear about; older manage links stop working.
    link_version: Mapped[int] = mapped_column(default=0)
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The video room of an online consultation, fixed when it is confirmed (a room made from
    # TELEHEALTH_ROOM_BASE is never reused), and when the join reminder went out.
    video_room: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    join_reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # A client's request, inside the cancellation window, for the front desk to act on.
    change_request: Mapped[str] = mapped_column(sa.String(16), default="")
    change_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Who asked: "client", or a couple's "partner" (each sees only their own request).
    change_requested_by: Mapped[str] = mapped_column(sa.String(16), default="",
                                                     server_default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)

    therapist = relationship("Therapist")
    intake = relationship("Intake")

    @property
    def is_active(self) -> bool:
        """Return True while the appointment holds its time."""
        return self.status in ACTIVE_STATUSES


OPEN = "open"
ACCEPTED = "accepted"
WITHDRAWN = "withdrawn"


class Proposal(db.Model):
    """Another time the front desk offered for a held appointment; it blocks that time while
    open, and accepting it moves the appointment there."""

    __tablename__ = "appointment_proposal"
    __table_args__ = (
        sa.CheckConstraint("starts_at < ends_at", name="starts_before_ends"),
        sa.Index("ix_proposal_therapist_window", "therapist_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(sa.ForeignKey("appointment.id"), index=True)
    therapist_id: Mapped[int] = mapped_column(sa.ForeignKey("therapist.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(sa.String(16), default=OPEN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"), nullable=True)

    appointment = relationship("Appointment")
