"""The outbox: every email is a row written in the transaction that causes it."""

from __future__ import annotations

from datetime import datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now_utc
from ..database import UTCDateTime
from ..extensions import db

QUEUED = "queued"
SENT = "sent"
FAILED = "failed"


class OutboxMessage(db.Model):
    """A composed email waiting for (or past) delivery by the worker."""

    __tablename__ = "outbox_message"
    __table_args__ = (sa.Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    kind: Mapped[str] = mapped_column(sa.String(40))
    recipient: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(200))
    message_id: Mapped[str] = mapped_column(sa.String(200), unique=True)
    raw: Mapped[bytes] = mapped_column(sa.LargeBinary)
    status: Mapped[str] = mapped_column(sa.String(16), default=QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    last_error: Mapped[str] = mapped_column(sa.String(500), default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    appointment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("appointment.id"), nullable=True, index=True
    )
    intake_id: Mapped[int | None] = mapped_column(sa.ForeignKey("intake.id"), nullable=True)
    # When it last entered the queue (written, or retried by staff): temporary failures keep
    # being retried until MAIL_GIVE_UP_HOURS after this.
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    # The worker sending it now, and until when its claim holds (renewed while it sends).
    leased_by: Mapped[str | None] = mapped_column(sa.String(80), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Set when its body was erased after delivery (the row stays: to whom, what, when, outcome).
    body_purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


def parse(row: OutboxMessage) -> EmailMessage:
    """Return the stored message parsed as an EmailMessage (for the pages that show it)."""
    return message_from_bytes(row.raw, policy=default_policy)
