"""What staff pages read: the queue, urgent intakes, search, schedules. Read-only."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..appointments.models import ACTIVE_STATUSES, HELD, OPEN, Appointment, Proposal, holds_its_time
from ..extensions import db
from ..intakes.models import Intake
from ..mail.models import FAILED, OutboxMessage
from ..scheduling.models import TimeOff
from ..therapists.models import Therapist
from .models import THERAPIST, User


def waiting_requests() -> list[Appointment]:
    """Return held appointments awaiting confirmation, oldest request first."""
    return list(db.session.scalars(
        sa.select(Appointment).where(Appointment.status == HELD)
        .options(selectinload(Appointment.therapist), selectinload(Appointment.intake))
        .order_by(Appointment.created_at, Appointment.id)))


def change_requests() -> list[Appointment]:
    """Return active appointments whose client asked, inside the window, for a change."""
    return list(db.session.scalars(
        sa.select(Appointment).where(Appointment.change_request != "",
                                     Appointment.status.in_(ACTIVE_STATUSES))
        .order_by(Appointment.change_requested_at)))


def urgent_intakes() -> list[Intake]:
    """Return urgent intakes nobody has acknowledged yet, oldest first."""
    return list(db.session.scalars(
        sa.select(Intake).where(Intake.urgent.is_(True), Intake.acknowledged_at.is_(None))
        .order_by(Intake.created_at)))


def contact_requests() -> list[Intake]:
    """Return people who asked to be contacted and have not been acknowledged."""
    return list(db.session.scalars(
        sa.select(Intake).where(Intake.contact_requested_at.is_not(None),
                                Intake.acknowledged_at.is_(None))
        .order_by(Intake.contact_requested_at)))


def search(term: str, limit: int = 50) -> tuple[list[Intake], list[Appointment]]:
    """Return intakes and appointments whose client name or email contains `term`."""
    term = term.strip()
    if not term:
        return [], []
    pattern = f"%{term.lower().replace('%', '').replace('_', '')}%"
    matches = sa.or_(sa.func.lower(Intake.name).like(pattern),
                     sa.func.lower(Intake.email).like(pattern))
    intakes = list(db.session.scalars(
        sa.select(Intake).where(matches).order_by(Intake.created_at.desc()).limit(limit)))
    appointments = list(db.session.scalars(
        sa.select(Appointment).join(Intake).where(matches)
        .order_by(Appointment.starts_at.desc()).limit(limit)))
    return intakes, appointments


def can_see_intake(user: User, intake_id: int) -> bool:
    """Return True when the user may read the intake.

    A therapist reads only their own clients' intakes: while one of its appointments with
    them is held or confirmed (a confirmed one that took place stays confirmed). Once the
    request is declined, cancelled or expired, the story is no longer theirs to read.
    """
    if user.role != THERAPIST:
        return True
    return db.session.scalar(sa.select(sa.func.count()).select_from(Appointment).where(
        Appointment.intake_id == intake_id, Appointment.therapist_id == user.therapist_id,
        holds_its_time(Appointment.status))) > 0


def can_see_appointment(user: User, appointment: Appointment) -> bool:
    """Return True when the user may see the appointment."""
    return user.role != THERAPIST or appointment.therapist_id == user.therapist_id


def appointments_of(intake: Intake, user: User) -> list[Appointment]:
    """Return the intake's appointments that the user may see, newest first."""
    query = sa.select(Appointment).where(Appointment.intake_id == intake.id)
    if user.role == THERAPIST:
        query = query.where(Appointment.therapist_id == user.therapist_id)
    return list(db.session.scalars(query.order_by(Appointment.starts_at.desc())))


def emails_for(appointment_id: int) -> list[OutboxMessage]:
    """Return the emails an appointment caused, oldest first."""
    return list(db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.appointment_id == appointment_id)
        .order_by(OutboxMessage.id)))


def upcoming_for(therapist_id: int, now: datetime, days: int = 60) -> list[Appointment]:
    """Return the therapist's active appointments from now on, soonest first."""
    return list(db.session.scalars(
        sa.select(Appointment).where(
            Appointment.therapist_id == therapist_id,
            Appointment.status.in_(ACTIVE_STATUSES),
            Appointment.starts_at >= now - timedelta(hours=2),
            Appointment.starts_at < now + timedelta(days=days))
        .order_by(Appointment.starts_at)))


def week_items(therapist_ids: list[int], start: datetime, end: datetime):
    """Return (appointments, time off) of the therapists touching [start, end)."""
    appointments = list(db.session.scalars(
        sa.select(Appointment).where(
            Appointment.therapist_id.in_(therapist_ids),
            Appointment.status.in_(ACTIVE_STATUSES),
            Appointment.starts_at >= start - timedelta(days=1),
            Appointment.starts_at < end).order_by(Appointment.starts_at)))
    time_off = list(db.session.scalars(
        sa.select(TimeOff).where(TimeOff.therapist_id.in_(therapist_ids),
                                 TimeOff.starts_at < end, TimeOff.ends_at > start)
        .order_by(TimeOff.starts_at)))
    return appointments, time_off


def open_proposal(appointment_id: int) -> Proposal | None:
    """Return the other time offered for the appointment that awaits the client's answer."""
    return db.session.scalar(sa.select(Proposal).where(
        Proposal.appointment_id == appointment_id, Proposal.status == OPEN))


def therapists() -> list[Therapist]:
    """Return every therapist by name."""
    return list(db.session.scalars(sa.select(Therapist).order_by(Therapist.name)))


def failed_unattached_emails() -> list[OutboxMessage]:
    """Return failed emails that belong to no appointment (urgent-intake notes, contact
    requests), newest first: no appointment page shows them, so the dashboard does."""
    return list(db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.status == FAILED, OutboxMessage.appointment_id.is_(None))
        .order_by(OutboxMessage.id.desc()).limit(50)))
