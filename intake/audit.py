"""The practice's audit trail: who did what to which record, when and from where.

Every feature writes to it inside its own unit of work; only admins read it.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import has_request_context, request
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .clock import now_utc
from .database import UTCDateTime
from .extensions import db

ACTIONS = {
    "login": "Signed in",
    "login_failed": "Failed sign-in",
    "logout": "Signed out",
    "view_intake": "Viewed intake",
    "acknowledge": "Acknowledged urgent intake",
    "acknowledge_partner": "Took on a couple's partner",
    "purge": "Erased what was past its time",
    "export_record": "Exported a person's record",
    "erase_record": "Erased a person's record at their request",
    "include_partner": "Added a couple's partner to the consultation",
    "confirm": "Confirmed appointment",
    "decline": "Declined appointment",
    "propose": "Proposed another time",
    "waitlist_offer": "Offered a freed time from the waitlist",
    "view_waitlist": "Viewed a waitlist",
    "cancel": "Cancelled appointment",
    "reschedule": "Rescheduled appointment",
    "rotate_feed": "Rotated calendar feed address",
    "edit_calendars": "Changed connected calendars",
    "edit_invite_emails": "Changed invite emails",
    "retry_email": "Retried email",
    "edit_hours": "Edited hours",
    "edit_time_off": "Edited time off",
    "edit_profile": "Edited profile",
    "account_create": "Created account",
    "password_change": "Changed own password",
    "account_update": "Changed account",
    "account_disable": "Disabled account",
    "account_enable": "Enabled account",
    "second_factor_on": "Set up two-step sign-in",
    "second_factor_failed": "Wrong sign-in code",
    "recovery_code_used": "Signed in with a recovery code",
    "second_factor_reset": "Reset two-step sign-in",
    "password_reset_asked": "Asked for a password reset",
    "password_reset": "Reset own password by email",
}


class AuditEvent(db.Model):
    """Who did what to which record, when, and from where. Never any intake text or secret."""

    __tablename__ = "audit_event"
    __table_args__ = (sa.Index("ix_audit_event_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("staff_user.id"), nullable=True, index=True
    )
    action: Mapped[str] = mapped_column(sa.String(40), index=True)
    record_type: Mapped[str] = mapped_column(sa.String(40), default="")
    record_id: Mapped[int | None] = mapped_column(nullable=True)
    address: Mapped[str] = mapped_column(sa.String(64), default="")
    detail: Mapped[str] = mapped_column(sa.String(200), default="")

    user = relationship("User")


def client_address() -> str:
    """Return the requesting address (after ProxyFix, when configured), or "" outside requests."""
    return (request.remote_addr or "")[:64] if has_request_context() else ""


def record(session, action: str, user_id: int | None, record_type: str = "",
           record_id: int | None = None, detail: str = "") -> AuditEvent:
    """Add an audit event to the session and return it.

    `detail` is for short, safe facts (a role name, a count); never intake text or secrets.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    event = AuditEvent(action=action, user_id=user_id, record_type=record_type,
                       record_id=record_id, address=client_address(), detail=detail[:200])
    session.add(event)
    return event
