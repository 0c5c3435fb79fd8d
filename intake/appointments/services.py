"""The appointment lifecycle. This issue's part: holding a time and telling both parties."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from ..calendars.invites import REQUEST, InviteData, Party, build_invite
from ..database import now_utc, unit_of_work
from ..extensions import db
from ..intakes.choices import FORMATS, IN_PERSON, TELEHEALTH
from ..intakes.models import Intake
from ..mail.compose import sender
from ..mail.outbox import enqueue
from ..matching import passes_filters
from ..scheduling.service import is_open
from ..therapists.models import Therapist
from .matching import candidate_for, wish_for
from .models import CONFIRMED, HELD, Appointment


class BookingError(Exception):
    """A booking that cannot be made; `message` is written for the person booking."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class TimeTaken(BookingError):
    """Someone else took the time first."""


class TimeNotOpen(BookingError):
    """The time is not one of the therapist's open times (past, out of hours, tampered)."""


class NotAFit(BookingError):
    """The therapist does not offer what the intake asked for."""


@dataclass(frozen=True)
class Booked:
    """A booking's outcome: the appointment and whether this call made it."""

    appointment: Appointment
    created: bool


def meeting_format(intake: Intake, therapist: Therapist) -> str:
    """Return how they will meet: the client's choice, or what the therapist offers."""
    if intake.format in (TELEHEALTH, IN_PERSON):
        return intake.format
    return TELEHEALTH if TELEHEALTH in therapist.formats else IN_PERSON


def book(
    intake: Intake, therapist: Therapist, starts_at: datetime, key: str,
    now: datetime | None = None,
) -> Booked:
    """Hold `starts_at` with `therapist` for the intake and queue both invites; return it.

    The same idempotency `key` always returns the first booking made with it. Raises NotAFit,
    TimeNotOpen or TimeTaken (a race lost to another booking) without changing anything.
    """
    now = now or now_utc()
    existing = _by_key(key)
    if existing is not None:
        return Booked(existing, False)
    if intake.urgent:
        raise NotAFit("Please call us so we can help you directly.")
    if not passes_filters(candidate_for(therapist), wish_for(intake)):
        raise NotAFit(f"{therapist.name} doesn't offer what you asked for. Please choose "
                      "one of the therapists suggested for you.")
    try:
        with unit_of_work() as session:
            # On SQLite this transaction holds the write lock, so the check below cannot race.
            if not is_open(therapist, starts_at, now):
                taken = _overlapping(therapist, starts_at)
                if taken:
                    raise TimeTaken("Someone booked that time a moment ago.")
                raise TimeNotOpen("That time isn't available. Please choose one of the "
                                  "open times shown.")
            appointment = _hold(session, intake, therapist, starts_at, key, now)
            session.flush()
            _queue_invites(session, appointment)
    except IntegrityError:
        existing = _by_key(key)
        if existing is not None:
            return Booked(existing, False)
        raise TimeTaken("Someone booked that time a moment ago.") from None
    return Booked(appointment, True)


def _by_key(key: str) -> Appointment | None:
    """Return the appointment made with an idempotency key, if any."""
    return db.session.scalar(sa.select(Appointment).where(Appointment.idempotency_key == key))


def _overlapping(therapist: Therapist, starts_at: datetime) -> bool:
    """Return True when an active appointment of the therapist overlaps a time from `starts_at`."""
    ends_at = starts_at + timedelta(minutes=therapist.consultation_minutes)
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Appointment).where(
            Appointment.therapist_id == therapist.id,
            Appointment.starts_at < ends_at,
            Appointment.starts_at >= starts_at - timedelta(days=1),
            Appointment.ends_at > starts_at,
            Appointment.status.in_((HELD, CONFIRMED)),
        )
    ) > 0


def _hold(session, intake, therapist, starts_at, key, now) -> Appointment:
    """Add the appointment: confirmed at once or held for the front desk, by the therapist."""
    auto = therapist.auto_confirm
    appointment = Appointment(
        therapist=therapist,
        intake=intake,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=therapist.consultation_minutes),
        status=CONFIRMED if auto else HELD,
        confirmed_at=now if auto else None,
        hold_expires_at=None if auto else now + timedelta(hours=current_app.config["HOLD_HOURS"]),
        format=meeting_format(intake, therapist),
        client_timezone=intake.timezone or therapist.timezone,
        idempotency_key=key,
        created_at=now,
    )
    session.add(appointment)
    return appointment


def location_of(appointment: Appointment) -> str:
    """Return where they meet, in words that say nothing about why."""
    if appointment.format == IN_PERSON:
        return appointment.therapist.office or current_app.config["PRACTICE_ADDRESS"]
    return f"{FORMATS[TELEHEALTH]}: the link comes by email before the session"


def invite_data(appointment: Appointment, summary: str) -> InviteData:
    """Return the invite's contents for an appointment (status from its state)."""
    cfg = current_app.config
    organizer = sender()
    client = appointment.intake
    therapist = appointment.therapist
    return InviteData(
        uid=appointment.uid,
        sequence=appointment.sequence,
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
        status="CONFIRMED" if appointment.status == CONFIRMED else "TENTATIVE",
        summary=summary,
        location=location_of(appointment),
        description=(f"Consultation booked through {cfg['PRACTICE_NAME']}.\n"
                     f"Questions or changes: {cfg['PRACTICE_PHONE']}.\n{cfg['BASE_URL']}/"),
        url=cfg["BASE_URL"] + "/",
        organizer=Party(organizer.display_name, organizer.addr_spec),
        attendees=(Party(client.name, client.email), Party(therapist.name, therapist.email)),
        stamp=now_utc(),
    )


def _queue_invites(session, appointment: Appointment) -> None:
    """Queue the client's and the therapist's emails, each with its own REQUEST invite."""
    cfg = current_app.config
    client = appointment.intake
    therapist = appointment.therapist
    context = {
        "appointment": appointment,
        "therapist": therapist,
        "client_initials": client.initials,
        "confirmed": appointment.status == CONFIRMED,
        "location": location_of(appointment),
        "format_label": FORMATS[appointment.format],
        "hold_hours": cfg["HOLD_HOURS"],
    }
    client_invite = build_invite(
        invite_data(appointment, f"Consultation with {therapist.name}"), REQUEST)
    enqueue(session, "booking_client", "booking_client", client.name, client.email,
            {**context, "zone": appointment.client_timezone, "first_name": client.first_name},
            invite=client_invite, method=REQUEST, appointment_id=appointment.id)
    therapist_invite = build_invite(
        invite_data(appointment, f"Consultation: {client.initials}"), REQUEST)
    enqueue(session, "booking_therapist", "booking_therapist", therapist.name, therapist.email,
            {**context, "zone": therapist.timezone}, invite=therapist_invite, method=REQUEST,
            appointment_id=appointment.id)
