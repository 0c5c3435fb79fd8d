"""Reminders: one email to the client before a confirmed appointment, and for an online one a
short note with the link to join just before it starts; each never twice."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from ...choices import TELEHEALTH
from ...clock import now_utc
from ...database import unit_of_work
from ...extensions import db
from ..models import CONFIRMED, Appointment
from .lifecycle import notify


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
            notify(session, appointment, None, "reminder_client", None)
            queued += 1
    return queued


def send_join_reminders(now: datetime | None = None) -> int:
    """Queue one short "join now" email for each confirmed online appointment starting within
    JOIN_REMINDER_MINUTES (0 turns them off); return how many were queued.

    Claimed like `send_reminders`, so never twice; never for a cancelled appointment; clients
    who asked for discreet contact get none (their manage page shows the link).
    """
    minutes = current_app.config["JOIN_REMINDER_MINUTES"]
    if minutes <= 0:
        return 0
    now = now or now_utc()
    due = db.session.scalars(sa.select(Appointment.id).where(
        Appointment.status == CONFIRMED, Appointment.format == TELEHEALTH,
        Appointment.join_reminder_sent_at.is_(None), Appointment.video_room != "",
        Appointment.starts_at > now,
        Appointment.starts_at <= now + timedelta(minutes=minutes))).all()
    queued = 0
    for appointment_id in due:
        with unit_of_work() as session:
            claimed = session.execute(
                sa.update(Appointment)
                .where(Appointment.id == appointment_id, Appointment.status == CONFIRMED,
                       Appointment.join_reminder_sent_at.is_(None))
                .values(join_reminder_sent_at=now)
                .execution_options(synchronize_session=False)).rowcount
            if not claimed:
                continue
            appointment = session.get(Appointment, appointment_id)
            if appointment.intake.discreet:
                continue
            notify(session, appointment, None, "join_client", None)
            queued += 1
    return queued
