"""The partner's own intake: a couple's second person, with their own words, zone, contact
wishes and a private safety screen."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now_utc
from ..database import UTCDateTime
from ..extensions import db
from ..intakes.models import Named

INVITED = "invited"  # their email went out; not answered yet
JOINED = "joined"  # answered, nothing flagged (or staff decided): they come to the consultation
FLAGGED = "flagged"  # answered with a sign of risk: staff call them before any joint session
EXPIRED = "expired"  # no answer within PARTNER_INTAKE_DAYS
BOUNCED = "bounced"  # their email could not be delivered
UNANSWERED = (INVITED, EXPIRED, BOUNCED)  # the form is still theirs to fill
STATUSES = (INVITED, JOINED, FLAGGED, EXPIRED, BOUNCED)


class Partner(Named, db.Model):
    """The second person of a couple's intake, invited by email once the first books.

    Everything here is theirs: never shown to the first partner, never put in any email, shown
    only to staff who may read the couple's intake.
    """

    __tablename__ = "partner_intake"
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('invited', 'joined', 'flagged', 'expired', 'bounced')",
            name="known_status"),
        sa.Index("ix_partner_intake_status_answer_by", "status", "answer_by"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    intake_id: Mapped[int] = mapped_column(sa.ForeignKey("intake.id"), unique=True)
    status: Mapped[str] = mapped_column(sa.String(16), default=INVITED)
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    answer_by: Mapped[datetime] = mapped_column(UTCDateTime)
    # Their contact, as the first partner gave it and as they corrected it.
    name: Mapped[str] = mapped_column(sa.String(120), default="")
    email: Mapped[str] = mapped_column(sa.String(254), default="")
    phone: Mapped[str] = mapped_column(sa.String(40), default="")
    timezone: Mapped[str] = mapped_column(sa.String(64), default="")
    discreet: Mapped[bool] = mapped_column(default=False)
    consent_contact: Mapped[bool] = mapped_column(default=False)
    consent_privacy: Mapped[bool] = mapped_column(default=False)
    # Their answers.
    safety: Mapped[str] = mapped_column(sa.String(16), default="")
    feels_safe: Mapped[str] = mapped_column(sa.String(16), default="")
    concerns: Mapped[list] = mapped_column(sa.JSON, default=list)
    story: Mapped[str] = mapped_column(sa.Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # When they joined the consultation (their own invite went out); kept if they are flagged
    # afterwards, so staff know an invite is in their calendar.
    joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # When the first partner was told the practice will be in touch (no answer, or bounced).
    first_told_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # A staff member who has taken on a flagged, unanswered or bounced partner.
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    acknowledged_by: Mapped[int | None] = mapped_column(
        sa.ForeignKey("staff_user.id"), nullable=True)

    intake = relationship("Intake")
