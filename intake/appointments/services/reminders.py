"""Reminders: one email to the client before a confirmed appointment, never two."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

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
