"""Writing the audit trail, inside the caller's unit of work."""

from __future__ import annotations

from flask import has_request_context, request

from .models import AuditEvent

ACTIONS = {
    "login": "Signed in",
    "login_failed": "Failed sign-in",
    "logout": "Signed out",
    "view_intake": "Viewed intake",
    "acknowledge": "Acknowledged urgent intake",
    "confirm": "Confirmed appointment",
    "decline": "Declined appointment",
    "propose": "Proposed another time",
    "cancel": "Cancelled appointment",
    "reschedule": "Rescheduled appointment",
    "rotate_feed": "Rotated calendar feed address",
    "edit_calendars": "Changed connected calendars",
    "retry_email": "Retried email",
    "edit_hours": "Edited hours",
    "edit_time_off": "Edited time off",
    "edit_profile": "Edited profile",
    "account_create": "Created account",
    "password_change": "Changed own password",
    "account_update": "Changed account",
    "account_disable": "Disabled account",
    "account_enable": "Enabled account",
}


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
