"""Booking: holding an open time for an intake, confirmed at once or held for the front desk."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from ...calendars.invites import REQUEST
from ...choices import IN_PERSON, TELEHEALTH
from ...clock import now_utc
from ...couples.invitations import for_booking, hold_until, waits_for
from ...couples.models import Partner
from ...database import unit_of_work
from ...extensions import db
from ...intakes.models import Intake
from ...matching import passes_filters
from ...scheduling.services import is_open
from ...therapists.models import Therapist
from ..candidates import candidate_for, wish_for
from ..models import (
    ACTIVE_STATUSES,
    CANCELLED,
    CONFIRMED,
    HELD,
    OPEN,
    Appointment,
    Proposal,
    holds_its_time,
)
from .lifecycle import (
    ALREADY,
    BOOKED_ENOUGH,
    CALL_US,
    NOT_OFFERED,
    NOT_OPEN,
    TAKEN,
    AlreadyBooked,
    NotAFit,
    TimeNotOpen,
    TimeTaken,
    TooManyBookings,
    end,
    give_room,
    has_room,
    locked,
    notify,
)


@dataclass(frozen=True)
class Booked:
    """A booking's outcome: the appointment and whether this call made it."""

    appointment: Appointment
    created: bool


def meeting_formats(intake: Intake, therapist: Therapist) -> list[str]:
    """Return the ways they can meet: the one the client asked for, or, when either suits
    them, each that the therapist offers (online first)."""
    if intake.format in (TELEHEALTH, IN_PERSON):
        return [intake.format]
    offered = [f for f in (TELEHEALTH, IN_PERSON) if f in therapist.formats]
    return offered or [IN_PERSON]


def meeting_format(intake: Intake, therapist: Therapist, chosen: str | None = None) -> str:
    """Return how they will meet: `chosen` when it is one of the ways they can, else the
    first of them."""
    ways = meeting_formats(intake, therapist)
    return chosen if chosen in ways else ways[0]


def book(
    intake: Intake, therapist: Therapist, starts_at: datetime, key: str,
    now: datetime | None = None, also: Callable[[Any, Appointment], None] | None = None,
    how: str | None = None, replace: bool = True,
) -> Booked:
    """Hold `starts_at` with `therapist` for the intake and queue both invites; return it.

    An intake has one consultation to come at most: any it already holds (requested or
    confirmed, not yet started) is withdrawn in the same transaction, with CANCEL to both. The
    same idempotency `key` always returns the first booking made with it. Raises NotAFit,
    TimeNotOpen, TimeTaken (a race lost to another booking) or TooManyBookings (the email
    address's bookings for the day are used up) without changing anything. `also(session,
    appointment)` runs inside the same transaction once the new appointment is made (what
    booking from a waitlist offer closes), so both land or neither does.
    """
    now = now or now_utc()
    existing = _by_key(key, intake)
    if existing is not None:
        return Booked(existing, False)
    if intake.urgent:
        raise NotAFit(CALL_US)
    if not passes_filters(candidate_for(therapist), wish_for(intake)):
        raise NotAFit(NOT_OFFERED.format(name=therapist.name))
    try:
        with unit_of_work() as session:
            # The intake itself first: one erased meanwhile is never booked.
            if session.scalar(sa.select(Intake.purged_at).where(Intake.id == intake.id)
                              .with_for_update(key_share=True)) is not None:
                raise NotAFit(CALL_US)
            # The partner (locked) before the appointments, in the order their answer takes.
            partner = for_booking(session, intake, starts_at, now)
            # Earlier ones are locked before the new one moves the therapist's schedule
            # version, in the order every other change takes them (no deadlock).
            earlier = [locked(session, i) for i in active_ahead(intake.id, now)]
            if not replace and any(not _open_to_another(session, old.id) for old in earlier):
                raise AlreadyBooked(ALREADY)
            if _booked_today(intake.email, now) >= current_app.config[
                    "BOOKINGS_PER_EMAIL_PER_DAY"]:
                raise TooManyBookings(BOOKED_ENOUGH)
            # On SQLite this transaction holds the write lock, so the check below cannot race.
            if not is_open(therapist, starts_at, now):
                raise (TimeTaken(TAKEN) if _overlapping(therapist, starts_at)
                       else TimeNotOpen(NOT_OPEN))
            appointment = _hold(session, intake, therapist, starts_at, key, now, how, partner)
            session.flush()
            notify(session, appointment, REQUEST, "booking_client", "booking_therapist")
            for old in earlier:
                end(session, old, CANCELLED, now, "replaced_client", action="cancel",
                    detail="replaced by client", was_confirmed=old.confirmed_at is not None)
            if also is not None:
                also(session, appointment)
    except IntegrityError:
        existing = _by_key(key, intake)
        if existing is not None:
            return Booked(existing, False)
        raise TimeTaken(TAKEN) from None
    return Booked(appointment, True)


def active_ahead(intake_id: int, now: datetime) -> list[int]:
    """Return the ids of the intake's appointments that hold a time not yet started, oldest
    first (one, unless made before an intake could hold only one)."""
    return list(db.session.scalars(
        sa.select(Appointment.id).where(Appointment.intake_id == intake_id,
                                        holds_its_time(Appointment.status),
                                        Appointment.starts_at > now)
        .order_by(Appointment.id)))


def _open_to_another(session, appointment_id: int) -> bool:
    """Return True when the practice offered another time for the appointment (its request
    may then be replaced by another choice)."""
    return session.scalar(sa.select(sa.func.count()).select_from(Proposal).where(
        Proposal.appointment_id == appointment_id, Proposal.status == OPEN)) > 0


def current_booking(intake_id: int, now: datetime) -> Appointment | None:
    """Return the consultation the intake holds that is still to come and settled (held or
    confirmed, with no other time offered by the practice for it), or None: while there is
    one, the client's pages show it instead of times to book. A held request the practice
    offered another time for is open to a different choice, which replaces it."""
    undecided = sa.exists().where(Proposal.appointment_id == Appointment.id,
                                  Proposal.status == OPEN)
    return db.session.scalar(
        sa.select(Appointment).where(Appointment.intake_id == intake_id,
                                     holds_its_time(Appointment.status),
                                     Appointment.starts_at > now, ~undecided)
        .order_by(Appointment.starts_at).limit(1))


def _booked_today(email: str, now: datetime) -> int:
    """Return how many appointments were booked in the last day for intakes with `email`."""
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Appointment).join(Intake).where(
            Appointment.created_at > now - timedelta(days=1),
            sa.func.lower(Intake.email) == (email or "").strip().lower()))


def _by_key(key: str, intake: Intake) -> Appointment | None:
    """Return the intake's appointment made with an idempotency key, if any; raise TimeTaken
    when the key was used for another intake's (a key is never a way to read someone else's
    booking)."""
    found = db.session.scalar(sa.select(Appointment).where(Appointment.idempotency_key == key))
    if found is not None and found.intake_id != intake.id:
        raise TimeTaken(TAKEN)
    return found


def _overlapping(therapist: Therapist, starts_at: datetime) -> bool:
    """Return True when an active appointment of the therapist overlaps a time from `starts_at`."""
    ends_at = starts_at + timedelta(minutes=therapist.consultation_minutes)
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Appointment).where(
            Appointment.therapist_id == therapist.id,
            Appointment.starts_at < ends_at,
            Appointment.starts_at >= starts_at - timedelta(days=1),
            Appointment.ends_at > starts_at,
            Appointment.status.in_(ACTIVE_STATUSES),
        )
    ) > 0


def _hold(session, intake, therapist, starts_at, key, now, chosen=None,
          partner: Partner | None = None) -> Appointment:
    """Add and return the appointment: confirmed at once or held for the front desk, as the
    therapist chose (held all the same when it is online and no video room can be given, or
    while a couple's partner has not answered their own intake)."""
    how = meeting_format(intake, therapist, chosen)
    waiting = waits_for(partner)
    auto = (therapist.auto_confirm and (how != TELEHEALTH or has_room(therapist))
            and not waiting)
    held_until = (hold_until(partner, starts_at, now) if waiting
                  else now + timedelta(hours=current_app.config["HOLD_HOURS"]))
    appointment = Appointment(
        therapist=therapist,
        intake=intake,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=therapist.consultation_minutes),
        status=CONFIRMED if auto else HELD,
        confirmed_at=now if auto else None,
        hold_expires_at=None if auto else held_until,
        format=how,
        client_timezone=intake.timezone or therapist.timezone,
        idempotency_key=key,
        created_at=now,
    )
    if auto:
        give_room(appointment)
    session.add(appointment)
    return appointment
