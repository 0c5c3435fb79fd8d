"""The practice's decisions on an appointment: the front desk confirms, declines, offers
another time or cancels; a hold nobody confirmed in time expires."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ... import audit, links
from ...calendars.invites import REQUEST
from ...clock import now_utc
from ...database import unit_of_work
from ...extensions import db
from ...scheduling.services import is_open
from ..models import (
    ACCEPTED,
    CANCELLED,
    DECLINED,
    EXPIRED,
    HELD,
    OPEN,
    Appointment,
    Proposal,
)
from .lifecycle import (
    DEALT_WITH,
    NO_LONGER_ACTIVE,
    NOT_OPEN_TO_OFFER,
    OFFER_CLOSED,
    TAKEN,
    StateError,
    TimeNotOpen,
    TimeTaken,
    active,
    end,
    locked,
    mark_confirmed,
    move,
    notify,
    withdraw_proposals,
)


def _held(session, appointment_id: int) -> Appointment:
    """Return the locked appointment while it waits for the front desk; raise StateError once
    someone has dealt with it."""
    appointment = locked(session, appointment_id)
    if appointment.status != HELD:
        raise StateError(DEALT_WITH)
    return appointment


def confirm(appointment_id: int, by_user_id: int | None, now: datetime | None = None):
    """Confirm a held appointment; both parties get the updated invite. Return it."""
    now = now or now_utc()
    with unit_of_work() as session:
        appointment = _held(session, appointment_id)
        mark_confirmed(appointment, now)
        appointment.sequence += 1
        withdraw_proposals(session, appointment.id)
        audit.record(session, "confirm", by_user_id, "appointment", appointment.id)
        notify(session, appointment, REQUEST, "confirmed_client", "confirmed_therapist")
    return appointment


def decline(appointment_id: int, by_user_id: int | None, message: str = "",
            now: datetime | None = None):
    """Decline a held appointment: the time is free at once, the invites are withdrawn, and the
    client gets a kind note with a link to choose again. Return it."""
    now = now or now_utc()
    with unit_of_work() as session:
        appointment = _held(session, appointment_id)
        appointment.decline_message = (message or "").strip()[:1000]
        end(session, appointment, DECLINED, now, "declined_client", action="decline",
            by_user_id=by_user_id, message=appointment.decline_message)
    return appointment


def propose(appointment_id: int, starts_at: datetime, by_user_id: int | None,
            now: datetime | None = None) -> Proposal:
    """Offer the client another open time for an active appointment; return the proposal.

    The proposed time is kept free for them until they answer or the hold ends.
    """
    now = now or now_utc()
    with unit_of_work() as session:
        appointment = active(session, appointment_id, NO_LONGER_ACTIVE)
        if not is_open(appointment.therapist, starts_at, now, ignore=appointment.id):
            raise TimeNotOpen(NOT_OPEN_TO_OFFER)
        withdraw_proposals(session, appointment.id)
        proposal = Proposal(appointment_id=appointment.id, therapist_id=appointment.therapist_id,
                            starts_at=starts_at, ends_at=starts_at + (
                                appointment.ends_at - appointment.starts_at),
                            created_by=by_user_id, created_at=now)
        session.add(proposal)
        session.flush()
        audit.record(session, "propose", by_user_id, "appointment", appointment.id)
        # The offer's page leads into the client's own intake, so it goes to the client alone;
        # the front desk agrees a couple's new time with the partner.
        notify(session, appointment, None, "proposed_client", None, partner_template=None,
               proposal=proposal,
               proposal_url=links.proposal_url(proposal.id),
               rebook_url=links.instead_url(appointment.id))
    return proposal


def accept_proposal(proposal_id: int, now: datetime | None = None) -> Appointment:
    """Move the appointment to the proposed time and confirm it; both get the update.

    Raises StateError when the proposal is no longer open.
    """
    now = now or now_utc()
    try:
        with unit_of_work() as session:
            proposal = session.get(Proposal, proposal_id)
            if proposal is None or proposal.status != OPEN:
                raise StateError(OFFER_CLOSED)
            appointment = active(session, proposal.appointment_id, OFFER_CLOSED)
            proposal.status = ACCEPTED
            move(appointment, proposal.starts_at, proposal.ends_at)
            mark_confirmed(appointment, now)
            appointment.change_request = ""
            session.flush()
            notify(session, appointment, REQUEST, "moved_client", "moved_therapist")
    except IntegrityError:
        raise TimeTaken(TAKEN) from None
    return appointment


def expire_holds(now: datetime | None = None) -> int:
    """Free every hold nobody confirmed in time; tell both parties. Return how many."""
    now = now or now_utc()
    due = db.session.scalars(sa.select(Appointment.id).where(
        Appointment.status == HELD, Appointment.hold_expires_at <= now)).all()
    expired = 0
    for appointment_id in due:
        with unit_of_work() as session:
            appointment = locked(session, appointment_id)
            if appointment.status != HELD or appointment.hold_expires_at > now:
                continue
            end(session, appointment, EXPIRED, now, "expired_client", action=None)
            expired += 1
    return expired


def cancel(appointment_id: int, by_user_id: int | None, now: datetime | None = None):
    """Cancel an active appointment for the practice: the time is free again and both parties
    get METHOD:CANCEL. Return it."""
    now = now or now_utc()
    with unit_of_work() as session:
        appointment = active(session, appointment_id, NO_LONGER_ACTIVE)
        end(session, appointment, CANCELLED, now, "cancelled_client", action="cancel",
            by_user_id=by_user_id)
    return appointment
