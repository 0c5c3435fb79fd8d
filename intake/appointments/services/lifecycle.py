"""What every change of an appointment shares: its errors and their messages, the locked
read, ending it, moving it, and telling both parties with their invites."""

from __future__ import annotations

import secrets
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import object_session

from ... import audit, i18n, links
from ...calendars.invites import CANCEL, InviteData, Party, build_invite
from ...choices import FORMATS, IN_PERSON, TELEHEALTH
from ...clock import now_utc
from ...couples.invitations import joined_partner
from ...couples.models import Partner
from ...errors import UserError
from ...mail.compose import sender
from ...mail.outbox import enqueue
from ...scheduling.models import note_freed
from ..models import ACTIVE_STATUSES, CONFIRMED, OPEN, WITHDRAWN, Appointment, Proposal

# ---------------------------------------------------------------- what the person is told

TAKEN = _l("Someone booked that time a moment ago.")
NOT_OPEN = _l("That time isn't available. Please choose one of the open times shown.")
NOT_OPEN_TO_OFFER = "That time isn't open. Choose one of the open times."
CALL_US = _l("Please call us so we can help you directly.")
NOT_OFFERED = _l("{name} doesn't offer what you asked for. Please choose one of the therapists "
                 "suggested for you.")
GONE = _l("That appointment no longer exists.")
DEALT_WITH = "This request was already dealt with."
NO_LONGER_ACTIVE = "This appointment is no longer active."
OFFER_CLOSED = _l("This offer is no longer open.")
LINK_OUTDATED = _l("This link is no longer valid: the appointment has changed since.")
STARTED = _l("This appointment has already started.")
TOO_CLOSE = _l("It's too close to the appointment to change it here. Please call us.")
AGREED_BY_DESK = _l("As there are two of you, our front desk agrees a new time with you both. "
                    "Please ask for one on your appointment's page, or call us.")
CANCEL_OR_MOVE = _l("Choose whether to cancel or to find another time.")
NO_ROOM = ("{name} has no video room yet, so this online consultation can't be confirmed. Add "
           "the room on their profile, then confirm.")
ALREADY = _l("You already have a consultation booked. You can see or change it on its page.")
BOOKED_ENOUGH = _l("You've booked several consultations today with this email address. To "
                   "change your time again, please call us: we'll gladly help.")


class BookingError(UserError):
    """A booking or change that cannot be made, in words for the person asking."""


class TimeTaken(BookingError):
    """Someone else took the time first."""


class TimeNotOpen(BookingError):
    """The time is not one of the therapist's open times (past, out of hours, tampered)."""


class NotAFit(BookingError):
    """The therapist does not offer what the intake asked for."""


class AlreadyBooked(BookingError):
    """The intake holds a consultation already, and this booking may not replace it."""


class TooManyBookings(BookingError):
    """This email address has booked as many times today as anyone may."""


class NoRoom(BookingError):
    """An online consultation cannot be confirmed: its therapist has no video room."""


class StateError(BookingError):
    """The appointment is no longer in a state that allows this (someone else acted first)."""


# ---------------------------------------------------------------- the shared steps


def locked(session, appointment_id: int) -> Appointment:
    """Return the appointment inside the unit of work (row-locked on PostgreSQL); raise
    StateError when it no longer exists."""
    appointment = session.scalar(
        sa.select(Appointment).where(Appointment.id == appointment_id).with_for_update())
    if appointment is None:
        raise StateError(GONE)
    return appointment


def active(session, appointment_id: int, refusal: str) -> Appointment:
    """Return the locked appointment while it holds its time; raise StateError(`refusal`)
    once it has ended."""
    appointment = locked(session, appointment_id)
    if appointment.status not in ACTIVE_STATUSES:
        raise StateError(refusal)
    return appointment


def withdraw_proposals(session, appointment_id: int) -> None:
    """Close any open proposal for the appointment, giving its time back."""
    session.execute(sa.update(Proposal).where(Proposal.appointment_id == appointment_id,
                                              Proposal.status == OPEN)
                    .values(status=WITHDRAWN))


def move(appointment: Appointment, starts_at: datetime, ends_at: datetime) -> None:
    """Put the appointment at a new time: a new SEQUENCE for the invites, a new manage link
    (older ones stop working), and its reminder due again. The time it leaves is noted as
    freed, for the waitlist."""
    note_freed(object_session(appointment), appointment.therapist_id, appointment.starts_at,
               appointment.ends_at)
    appointment.starts_at, appointment.ends_at = starts_at, ends_at
    appointment.sequence += 1
    appointment.link_version += 1
    appointment.reminder_sent_at = None


def end(session, appointment: Appointment, status: str, now: datetime, client_template: str,
        *, action: str | None, by_user_id: int | None = None, detail: str = "",
        new_link: bool = False, **extra) -> None:
    """End the appointment as `status` (cancelled, declined, expired) and free its time (noted
    as freed, for the waitlist).

    Its open offers are withdrawn, `action` goes in the audit trail (none for the worker's own
    decisions), and both parties get METHOD:CANCEL: the client from `client_template`, with a
    link to choose again and `extra` in the email's context. With `new_link`, older manage
    links stop working.
    """
    appointment.status = status
    appointment.ended_at = now
    appointment.sequence += 1
    if new_link:
        appointment.link_version += 1
    withdraw_proposals(session, appointment.id)
    note_freed(session, appointment.therapist_id, appointment.starts_at, appointment.ends_at, now)
    if action:
        audit.record(session, action, by_user_id, "appointment", appointment.id, detail=detail)
    notify(session, appointment, CANCEL, client_template, "cancelled_therapist",
           rebook_url=links.rebook_url(appointment.intake_id), **extra)


# ---------------------------------------------------------------- telling both parties


def has_room(therapist) -> bool:
    """Return True when online consultations with the therapist can be given a video room."""
    return bool(therapist.video_room or current_app.config["TELEHEALTH_ROOM_BASE"])


def give_room(appointment: Appointment) -> None:
    """Fix the video room of an online appointment being confirmed: the therapist's own, or a
    new room under TELEHEALTH_ROOM_BASE named with 128 random bits. Raises NoRoom."""
    if appointment.format != TELEHEALTH or appointment.video_room:
        return
    therapist = appointment.therapist
    base = current_app.config["TELEHEALTH_ROOM_BASE"]
    if therapist.video_room:
        appointment.video_room = therapist.video_room
    elif base:
        appointment.video_room = f"{base}/consultation-{secrets.token_hex(16)}"
    else:
        raise NoRoom(NO_ROOM.format(name=therapist.name))


def mark_confirmed(appointment: Appointment, now: datetime) -> None:
    """Mark the appointment confirmed from `now`; its hold no longer expires. An online one is
    given its video room first (NoRoom when its therapist has none)."""
    give_room(appointment)
    appointment.status = CONFIRMED
    appointment.confirmed_at = now
    appointment.hold_expires_at = None


def join_link(appointment: Appointment) -> str:
    """Return the video room to join, once an online appointment is confirmed ("" before, for
    a held request, after it ends, and for meeting in person)."""
    if appointment.format == TELEHEALTH and appointment.status == CONFIRMED:
        return appointment.video_room
    return ""


def location_of(appointment: Appointment) -> str:
    """Return where they meet, in words that say nothing about why: for a confirmed online
    appointment, its video room."""
    if appointment.format == IN_PERSON:
        return appointment.therapist.office or current_app.config["PRACTICE_ADDRESS"]
    return join_link(appointment) or _(
        "%(how)s: the link comes by email before the session", how=_(FORMATS[TELEHEALTH]))


def invite_data(appointment: Appointment, summary: str, *, for_therapist: bool = False,
                partner: Partner | None = None) -> InviteData:
    """Return the invite's contents for an appointment (status from its state).

    The client's copy names both of them; a couple's partner has a copy of their own (same
    UID and SEQUENCE) naming them instead of the client. The therapist's copy is the minimum
    necessary: its summary carries initials only, its one attendee is the therapist, and its
    link opens the appointment in the app behind sign-in, where the client's details are.
    """
    cfg = current_app.config
    organizer = sender()
    client = partner or appointment.intake
    therapist = appointment.therapist
    if for_therapist:
        url = links.staff_appointment_url(appointment.id)
        description = (f"Consultation booked through {cfg['PRACTICE_NAME']}.\n"
                       f"Details (sign-in needed): {url}")
        attendees = (Party(therapist.name, therapist.email),)
    else:
        url = cfg["BASE_URL"] + "/"
        description = "\n".join((
            _("Consultation booked through %(practice)s.", practice=cfg["PRACTICE_NAME"]),
            _("Questions or changes: %(phone)s.", phone=cfg["PRACTICE_PHONE"]), url))
        attendees = (Party(client.name, client.email), Party(therapist.name, therapist.email))
    join = join_link(appointment)
    if join:
        description = f"{join_line(join)}\n{description}"
    return InviteData(
        uid=appointment.uid,
        sequence=appointment.sequence,
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
        status="CONFIRMED" if appointment.status == CONFIRMED else "TENTATIVE",
        summary=summary,
        location=location_of(appointment),
        description=description,
        url=url,
        organizer=Party(organizer.display_name, organizer.addr_spec),
        attendees=attendees,
        stamp=now_utc(),
        conference=join,
    )


def join_line(room: str) -> str:
    """Return the invite description's first line for a video room, in the reader's words."""
    return _("Join the video consultation: %(room)s", room=room)


def client_summary(appointment: Appointment) -> str:
    """Return the client's invite summary ("Consultation with Maya Chen"), in their words."""
    return _("Consultation with %(name)s", name=appointment.therapist.name)


def _context(appointment: Appointment, **extra) -> dict:
    """Return what every appointment email may say: when, with whom, where. Nothing else."""
    client = appointment.intake
    return {
        "appointment": appointment,
        "join_url": join_link(appointment),
        "therapist": appointment.therapist,
        "client_initials": client.initials,
        "first_name": client.first_name,
        "confirmed": appointment.status == CONFIRMED,
        "location": location_of(appointment),
        "manage_url": links.manage_url(appointment),
        **extra,
    }


SAME = "same"  # a couple's partner gets the client's email (their own copy of it)
CLIENT = "client"
PARTNER = "partner"


def notify(session, appointment: Appointment, method: str | None, client_template: str | None,
           therapist_template: str | None, *, partner_template: str | None = SAME,
           optional: bool = False, by: str | None = None, **extra) -> int:
    """Queue the client's and the therapist's emails (each named by its template; None sends
    none), each with its own invite when `method` is given; return how many were queued. A
    therapist who turned invite emails off gets none.

    A couple's partner who has joined the consultation gets their own copy of the client's
    email (or `partner_template`): their name, their zone, their own manage link and invite
    (same UID and SEQUENCE), and never a link into the client's intake. `by` says which of the
    two asked for the change ("client" or "partner"), so the other is told who did. With
    `optional` (reminders), whoever asked for discreet contact gets none.
    """
    client = appointment.intake
    therapist = appointment.therapist
    partner = joined_partner(session, appointment.intake_id)
    language = i18n.for_intake(client)
    queued = 0
    if client_template and client.email and not (optional and client.discreet):
        queued += 1
        with force_locale(language):
            invite = build_invite(invite_data(appointment, client_summary(appointment)),
                                  method) if method else None
            context = _context(appointment, **extra)
        enqueue(session, client_template, client.name, client.email,
                {**context, "zone": appointment.client_timezone, "you_are": CLIENT, "by": by,
                 "other_name": partner.first_name if partner else ""},
                invite=invite, method=method, appointment_id=appointment.id, language=language)
    own = client_template if partner_template == SAME else partner_template
    if partner is not None and own and partner.email and not (optional and partner.discreet):
        queued += 1
        with force_locale(language):
            invite = build_invite(invite_data(appointment, client_summary(appointment),
                                              partner=partner), method) if method else None
            context = _context(appointment, **extra)
        enqueue(session, own, partner.name, partner.email,
                {**context, "zone": partner.timezone or appointment.client_timezone,
                 "first_name": partner.first_name, "you_are": PARTNER, "by": by,
                 "other_name": client.first_name, "rebook_url": None,
                 # A front-desk note on a decline was written to the client.
                 "message": "",
                 "manage_url": links.manage_url(appointment, partner=True)},
                invite=invite, method=method, appointment_id=appointment.id, language=language)
    context = _context(appointment, **extra)
    if therapist_template and therapist.invite_emails:
        queued += 1
        initials = (f"{client.initials} & {partner.initials}" if partner is not None
                    else client.initials)
        invite = build_invite(invite_data(appointment, f"Consultation: {initials}",
                                          for_therapist=True), method) if method else None
        enqueue(session, therapist_template, therapist.name, therapist.email,
                {**context, "zone": therapist.timezone, "client_initials": initials},
                invite=invite, method=method, appointment_id=appointment.id)
    return queued
