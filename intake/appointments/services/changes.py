"""The client's own changes from their manage link: moving or cancelling outside the
cancellation window, and inside it a request the front desk acts on."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy.exc import IntegrityError

from ... import audit
from ...calendars.invites import REQUEST
from ...clock import now_utc
from ...couples.invitations import partner_of
from ...database import unit_of_work
from ...extensions import db
from ...scheduling.services import is_open
from ..models import ACTIVE_STATUSES, CANCELLED, HELD, Appointment
from .lifecycle import (
    AGREED_BY_DESK,
    CANCEL_OR_MOVE,
    CLIENT,
    LINK_OUTDATED,
    NOT_OPEN,
    STARTED,
    TAKEN,
    TOO_CLOSE,
    StateError,
    TimeNotOpen,
    TimeTaken,
    end,
    locked,
    move,
    notify,
    withdraw_proposals,
)


def inside_window(appointment: Appointment, now: datetime | None = None) -> bool:
    """Return True when the appointment starts within the practice's cancellation window."""
    now = now or now_utc()
    window = timedelta(hours=current_app.config["CANCELLATION_WINDOW_HOURS"])
    return appointment.starts_at - now < window


def _linked(session, appointment_id: int, version: int) -> Appointment:
    """Return the locked appointment while the client's link is its current one and it is
    active; raise StateError otherwise."""
    appointment = locked(session, appointment_id)
    if appointment.link_version != version or appointment.status not in ACTIVE_STATUSES:
        raise StateError(LINK_OUTDATED)
    return appointment


def _client_change(session, appointment_id: int, version: int, now: datetime) -> Appointment:
    """Return the appointment a client's link may still change, or raise StateError."""
    appointment = _linked(session, appointment_id, version)
    if appointment.starts_at <= now:
        raise StateError(STARTED)
    if inside_window(appointment, now):
        raise StateError(TOO_CLOSE)
    return appointment


def reschedule(appointment_id: int, version: int, starts_at: datetime,
               now: datetime | None = None) -> Appointment:
    """Move the appointment to another open time of its therapist (same UID, SEQUENCE+1) and
    send both the update. Return it. Raises StateError (also for a couple whose partner was
    invited: their new time is agreed with both by the front desk, see `request_change`),
    TimeNotOpen or TimeTaken."""
    now = now or now_utc()
    try:
        with unit_of_work() as session:
            appointment = _client_change(session, appointment_id, version, now)
            if partner_of(session, appointment.intake_id) is not None:
                raise StateError(AGREED_BY_DESK)
            if not is_open(appointment.therapist, starts_at, now, ignore=appointment.id):
                raise TimeNotOpen(NOT_OPEN)
            move(appointment, starts_at, starts_at + (appointment.ends_at - appointment.starts_at))
            if appointment.status == HELD:
                appointment.hold_expires_at = now + timedelta(
                    hours=current_app.config["HOLD_HOURS"])
            withdraw_proposals(session, appointment.id)
            session.flush()
            audit.record(session, "reschedule", None, "appointment", appointment.id,
                         detail="by client")
            notify(session, appointment, REQUEST, "rescheduled_client", "rescheduled_therapist")
    except IntegrityError:
        raise TimeTaken(TAKEN) from None
    return appointment


def cancel_by_client(appointment_id: int, version: int, now: datetime | None = None,
                     by: str = CLIENT):
    """Cancel at the client's request (or, `by` "partner", a couple's partner's): METHOD:CANCEL
    to everyone on it, the time free again. Return it."""
    now = now or now_utc()
    with unit_of_work() as session:
        appointment = _client_change(session, appointment_id, version, now)
        end(session, appointment, CANCELLED, now, "cancelled_by_client", action="cancel",
            detail=f"by {by}", new_link=True, by=by)
    return appointment


def cancel_or_ask_desk(appointment_id: int, version: int, now: datetime | None = None,
                       by: str = CLIENT) -> bool:
    """Act on a client's (or partner's) "cancel": cancel outside the window, or inside it pass
    the request to the front desk. Return True when the appointment was cancelled."""
    now = now or now_utc()
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is not None and inside_window(appointment, now):
        request_change(appointment_id, version, "cancel", now, by)
        return False
    cancel_by_client(appointment_id, version, now, by)
    return True


def request_change(appointment_id: int, version: int, kind: str,
                   now: datetime | None = None, by: str = CLIENT) -> Appointment:
    """Record the client's (or `by` a couple's partner's) wish, cancel or reschedule, for the
    front desk (inside the window, or a couple's new time); return the appointment."""
    if kind not in ("cancel", "reschedule"):
        raise StateError(CANCEL_OR_MOVE)
    now = now or now_utc()
    with unit_of_work() as session:
        appointment = _linked(session, appointment_id, version)
        appointment.change_request = kind
        appointment.change_requested_at = now
        appointment.change_requested_by = by
    return appointment
