"""The appointment lifecycle. This issue's part: holding a time and telling both parties."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from .. import links
from ..calendars.invites import CANCEL, REQUEST, InviteData, Party, build_invite
from ..clock import now_utc
from ..database import unit_of_work
from ..extensions import db
from ..intakes.choices import FORMATS, IN_PERSON, TELEHEALTH
from ..intakes.models import Intake
from ..mail.compose import sender
from ..mail.outbox import enqueue
from ..matching import passes_filters
from ..scheduling.service import is_open
from ..staff import audit
from ..therapists.models import Therapist
from .matching import candidate_for, wish_for
from .models import (
    ACCEPTED,
    CANCELLED,
    CONFIRMED,
    DECLINED,
    EXPIRED,
    HELD,
    OPEN,
    WITHDRAWN,
    Appointment,
    Proposal,
)


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
    now: datetime | None = None, replaces: int | None = None,
) -> Booked:
    """Hold `starts_at` with `therapist` for the intake and queue both invites; return it.

    With `replaces` (a held appointment of the same intake whose time the client turned down),
    that one is withdrawn in the same transaction. The same idempotency `key` always returns the
    first booking made with it. Raises NotAFit, TimeNotOpen or TimeTaken (a race lost to another
    booking) without changing anything.
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
            if replaces:
                _withdraw_replaced(session, replaces, intake.id, now)
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


def _context(appointment: Appointment, **extra) -> dict:
    """Return what every appointment email may say: when, with whom, where. Nothing else."""
    client = appointment.intake
    return {
        "appointment": appointment,
        "therapist": appointment.therapist,
        "client_initials": client.initials,
        "first_name": client.first_name,
        "confirmed": appointment.status == CONFIRMED,
        "location": location_of(appointment),
        "manage_url": links.external("manage.show", token=links.manage_token(appointment)),
        **extra,
    }


def _notify(session, appointment: Appointment, method: str | None, client_template: str | None,
            therapist_template: str | None, **extra) -> None:
    """Queue the client's and the therapist's emails, each with its own invite when `method`."""
    client = appointment.intake
    therapist = appointment.therapist
    context = _context(appointment, **extra)
    if client_template:
        invite = build_invite(invite_data(appointment, f"Consultation with {therapist.name}"),
                              method) if method else None
        enqueue(session, client_template, client_template, client.name, client.email,
                {**context, "zone": appointment.client_timezone},
                invite=invite, method=method, appointment_id=appointment.id)
    if therapist_template and therapist.invite_emails:
        invite = build_invite(invite_data(appointment, f"Consultation: {client.initials}"),
                              method) if method else None
        enqueue(session, therapist_template, therapist_template, therapist.name,
                therapist.email, {**context, "zone": therapist.timezone},
                invite=invite, method=method, appointment_id=appointment.id)


def _queue_invites(session, appointment: Appointment) -> None:
    """Queue the booking emails: a REQUEST invite to the client and to the therapist."""
    _notify(session, appointment, REQUEST, "booking_client", "booking_therapist")


# ---------------------------------------------------------------- after booking


class StateError(BookingError):
    """The appointment is no longer in a state that allows this (someone else acted first)."""


def _locked(session, appointment_id: int) -> Appointment:
    """Return the appointment inside the unit of work (row-locked on PostgreSQL)."""
    appointment = session.scalar(
        sa.select(Appointment).where(Appointment.id == appointment_id).with_for_update())
    if appointment is None:
        raise StateError("That appointment no longer exists.")
    return appointment


def _withdraw_replaced(session, appointment_id: int, intake_id: int, now: datetime) -> None:
    """Cancel the held appointment a client replaced with a new booking (CANCEL to both)."""
    old = _locked(session, appointment_id)
    if old.intake_id != intake_id or old.status != HELD:
        return
    old.status = CANCELLED
    old.ended_at = now
    old.sequence += 1
    _withdraw_proposals(session, old.id)
    audit.record(session, "cancel", None, "appointment", old.id, detail="replaced by client")
    _notify(session, old, CANCEL, "replaced_client", "cancelled_therapist")


def _instead_link(appointment: Appointment) -> str:
    """Return the client's signed link to choose another time in place of a held one."""
    return links.external("intakes.instead", token=links.make(links.INSTEAD, appointment.id))


def _rebook_link(appointment: Appointment) -> str:
    """Return the client's signed link to choose another time."""
    return links.external("intakes.again", token=links.make(links.REBOOK, appointment.intake_id))


def _withdraw_proposals(session, appointment_id: int) -> None:
    """Close any open proposal for the appointment, giving its time back."""
    session.execute(sa.update(Proposal).where(Proposal.appointment_id == appointment_id,
                                              Proposal.status == OPEN)
                    .values(status=WITHDRAWN))


def confirm(appointment_id: int, by_user_id: int | None, now: datetime | None = None):
    """Confirm a held appointment; both parties get the updated invite. Return it."""
    now = now or now_utc()
    with unit_of_work() as session:
        appointment = _locked(session, appointment_id)
        if appointment.status != HELD:
            raise StateError("This request was already dealt with.")
        appointment.status = CONFIRMED
        appointment.confirmed_at = now
        appointment.hold_expires_at = None
        appointment.sequence += 1
        _withdraw_proposals(session, appointment.id)
        audit.record(session, "confirm", by_user_id, "appointment", appointment.id)
        _notify(session, appointment, REQUEST, "confirmed_client", "confirmed_therapist")
    return appointment


def decline(appointment_id: int, by_user_id: int | None, message: str = "",
            now: datetime | None = None):
    """Decline a held appointment: the time is free at once, the invites are withdrawn, and the
    client gets a kind note with a link to choose again. Return it."""
    now = now or now_utc()
    with unit_of_work() as session:
        appointment = _locked(session, appointment_id)
        if appointment.status != HELD:
            raise StateError("This request was already dealt with.")
        appointment.status = DECLINED
        appointment.ended_at = now
        appointment.decline_message = (message or "").strip()[:1000]
        appointment.sequence += 1
        _withdraw_proposals(session, appointment.id)
        audit.record(session, "decline", by_user_id, "appointment", appointment.id)
        _notify(session, appointment, CANCEL, "declined_client", "cancelled_therapist",
                message=appointment.decline_message, rebook_url=_rebook_link(appointment))
    return appointment


def propose(appointment_id: int, starts_at: datetime, by_user_id: int | None,
            now: datetime | None = None) -> Proposal:
    """Offer the client another open time for an active appointment; return the proposal.

    The proposed time is kept free for them until they answer or the hold ends.
    """
    now = now or now_utc()
    with unit_of_work() as session:
        appointment = _locked(session, appointment_id)
        if appointment.status not in (HELD, CONFIRMED):
            raise StateError("This appointment is no longer active.")
        if not is_open(appointment.therapist, starts_at, now, ignore=appointment.id):
            raise TimeNotOpen("That time isn't open. Choose one of the open times.")
        _withdraw_proposals(session, appointment.id)
        proposal = Proposal(appointment_id=appointment.id, therapist_id=appointment.therapist_id,
                            starts_at=starts_at, ends_at=starts_at + (
                                appointment.ends_at - appointment.starts_at),
                            created_by=by_user_id, created_at=now)
        session.add(proposal)
        session.flush()
        token = links.make(links.PROPOSAL, proposal.id)
        audit.record(session, "propose", by_user_id, "appointment", appointment.id)
        _notify(session, appointment, None, "proposed_client", None, proposal=proposal,
                proposal_url=links.external("proposals.show", token=token),
                rebook_url=_instead_link(appointment))
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
                raise StateError("This offer is no longer open.")
            appointment = _locked(session, proposal.appointment_id)
            if appointment.status not in (HELD, CONFIRMED):
                raise StateError("This offer is no longer open.")
            proposal.status = ACCEPTED
            appointment.starts_at, appointment.ends_at = proposal.starts_at, proposal.ends_at
            appointment.status = CONFIRMED
            appointment.confirmed_at = now
            appointment.hold_expires_at = None
            appointment.sequence += 1
            appointment.link_version += 1
            appointment.reminder_sent_at = None
            appointment.change_request = ""
            session.flush()
            _notify(session, appointment, REQUEST, "moved_client", "moved_therapist")
    except IntegrityError:
        raise TimeTaken("Someone booked that time a moment ago.") from None
    return appointment


def expire_holds(now: datetime | None = None) -> int:
    """Free every hold nobody confirmed in time; tell both parties. Return how many."""
    now = now or now_utc()
    due = db.session.scalars(sa.select(Appointment.id).where(
        Appointment.status == HELD, Appointment.hold_expires_at <= now)).all()
    expired = 0
    for appointment_id in due:
        with unit_of_work() as session:
            appointment = _locked(session, appointment_id)
            if appointment.status != HELD or appointment.hold_expires_at > now:
                continue
            appointment.status = EXPIRED
            appointment.ended_at = now
            appointment.sequence += 1
            _withdraw_proposals(session, appointment.id)
            _notify(session, appointment, CANCEL, "expired_client", "cancelled_therapist",
                    rebook_url=_rebook_link(appointment))
            expired += 1
    return expired


def cancel(appointment_id: int, by_user_id: int | None, now: datetime | None = None):
    """Cancel an active appointment for the practice: the time is free again and both parties
    get METHOD:CANCEL. Return it."""
    now = now or now_utc()
    with unit_of_work() as session:
        appointment = _locked(session, appointment_id)
        if appointment.status not in (HELD, CONFIRMED):
            raise StateError("This appointment is no longer active.")
        appointment.status = CANCELLED
        appointment.ended_at = now
        appointment.sequence += 1
        _withdraw_proposals(session, appointment.id)
        audit.record(session, "cancel", by_user_id, "appointment", appointment.id)
        _notify(session, appointment, CANCEL, "cancelled_client", "cancelled_therapist",
                rebook_url=_rebook_link(appointment))
    return appointment


# ---------------------------------------------------------------- the client's own changes


def inside_window(appointment: Appointment, now: datetime | None = None) -> bool:
    """Return True when the appointment starts within the practice's cancellation window."""
    now = now or now_utc()
    window = timedelta(hours=current_app.config["CANCELLATION_WINDOW_HOURS"])
    return appointment.starts_at - now < window


def _client_change(session, appointment_id: int, version: int, now: datetime) -> Appointment:
    """Return the appointment a client's link may still change, or raise StateError."""
    appointment = _locked(session, appointment_id)
    if appointment.link_version != version or appointment.status not in (HELD, CONFIRMED):
        raise StateError("This link is no longer valid: the appointment has changed since.")
    if appointment.starts_at <= now:
        raise StateError("This appointment has already started.")
    if inside_window(appointment, now):
        raise StateError("It's too close to the appointment to change it here. Please call us.")
    return appointment


def reschedule(appointment_id: int, version: int, starts_at: datetime,
               now: datetime | None = None) -> Appointment:
    """Move the appointment to another open time of its therapist (same UID, SEQUENCE+1) and
    send both the update. Return it. Raises StateError, TimeNotOpen or TimeTaken."""
    now = now or now_utc()
    try:
        with unit_of_work() as session:
            appointment = _client_change(session, appointment_id, version, now)
            if not is_open(appointment.therapist, starts_at, now, ignore=appointment.id):
                raise TimeNotOpen("That time isn't available. Please choose one of the open "
                                  "times shown.")
            length = appointment.ends_at - appointment.starts_at
            appointment.starts_at, appointment.ends_at = starts_at, starts_at + length
            appointment.sequence += 1
            appointment.link_version += 1
            appointment.reminder_sent_at = None
            if appointment.status == HELD:
                appointment.hold_expires_at = now + timedelta(
                    hours=current_app.config["HOLD_HOURS"])
            _withdraw_proposals(session, appointment.id)
            session.flush()
            audit.record(session, "reschedule", None, "appointment", appointment.id,
                         detail="by client")
            _notify(session, appointment, REQUEST, "rescheduled_client", "rescheduled_therapist")
    except IntegrityError:
        raise TimeTaken("Someone booked that time a moment ago.") from None
    return appointment


def cancel_by_client(appointment_id: int, version: int, now: datetime | None = None):
    """Cancel at the client's request: METHOD:CANCEL to both, the time free again. Return it."""
    now = now or now_utc()
    with unit_of_work() as session:
        appointment = _client_change(session, appointment_id, version, now)
        appointment.status = CANCELLED
        appointment.ended_at = now
        appointment.sequence += 1
        appointment.link_version += 1
        _withdraw_proposals(session, appointment.id)
        audit.record(session, "cancel", None, "appointment", appointment.id, detail="by client")
        _notify(session, appointment, CANCEL, "cancelled_by_client", "cancelled_therapist",
                rebook_url=_rebook_link(appointment))
    return appointment


def client_cancel(appointment_id: int, version: int, now: datetime | None = None) -> bool:
    """Act on a client's "cancel": cancel outside the window, or inside it pass the request to
    the front desk. Return True when the appointment was cancelled."""
    now = now or now_utc()
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is not None and inside_window(appointment, now):
        request_change(appointment_id, version, "cancel", now)
        return False
    cancel_by_client(appointment_id, version, now)
    return True


def request_change(appointment_id: int, version: int, kind: str,
                   now: datetime | None = None) -> Appointment:
    """Inside the window: record the client's wish (cancel or reschedule) for the front desk."""
    if kind not in ("cancel", "reschedule"):
        raise StateError("Choose whether to cancel or to find another time.")
    now = now or now_utc()
    with unit_of_work() as session:
        appointment = _locked(session, appointment_id)
        if appointment.link_version != version or appointment.status not in (HELD, CONFIRMED):
            raise StateError("This link is no longer valid: the appointment has changed since.")
        appointment.change_request = kind
        appointment.change_requested_at = now
    return appointment


# ---------------------------------------------------------------- reminders


def send_reminders(now: datetime | None = None) -> int:
    """Queue one reminder for each confirmed appointment starting within REMINDER_HOURS.

    Each appointment is claimed with a conditional update in the reminder's own transaction, so
    two workers (or a restarted one) never remind twice. Clients who asked for discreet contact
    get none. Returns how many reminders were queued.
    """
    now = now or now_utc()
    until = now + timedelta(hours=current_app.config["REMINDER_HOURS"])
    due = db.session.scalars(sa.select(Appointment.id).where(
        Appointment.status == CONFIRMED, Appointment.reminder_sent_at.is_(None),
        Appointment.starts_at > now, Appointment.starts_at <= until)).all()
    queued = 0
    for appointment_id in due:
        with unit_of_work() as session:
            claimed = session.execute(
                sa.update(Appointment)
                .where(Appointment.id == appointment_id, Appointment.status == CONFIRMED,
                       Appointment.reminder_sent_at.is_(None))
                .values(reminder_sent_at=now)
                .execution_options(synchronize_session=False)).rowcount
            if not claimed:
                continue
            appointment = session.get(Appointment, appointment_id)
            if appointment.intake.discreet:
                continue
            _notify(session, appointment, None, "reminder_client", None)
            queued += 1
    return queued
