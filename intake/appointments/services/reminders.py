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
    """Queue one reminder for each confirmed appointment starting within REMINDER_HOURS;
    return how many were queued (see `_remind`)."""
    now = now or now_utc()
    until = now + timedelta(hours=current_app.config["REMINDER_HOURS"])
    return _remind(Appointment.reminder_sent_at, "reminder_client", now, until)


def send_join_reminders(now: datetime | None = None) -> int:
    """Queue one short "join now" email for each confirmed online appointment starting within
    JOIN_REMINDER_MINUTES (0 turns them off); return how many were queued (see `_remind`)."""
    minutes = current_app.config["JOIN_REMINDER_MINUTES"]
    if minutes <= 0:
        return 0
    now = now or now_utc()
    return _remind(Appointment.join_reminder_sent_at, "join_client", now,
                   now + timedelta(minutes=minutes), Appointment.format == TELEHEALTH,
                   Appointment.video_room != "")


def _remind(sent_at, template: str, now: datetime, until: datetime, *conditions) -> int:
    """Queue the client's `template` email for each confirmed appointment starting in
    (now, until] whose `sent_at` column is empty (and that meets `conditions`); return how
    many were queued.

    Each appointment is claimed with a conditional update of `sent_at` in the email's own
    transaction, so two workers (or a restarted one) never send twice, and a cancelled
    appointment is never reminded. Whoever asked for discreet contact gets none (a couple's
    partner, who has their own copy, by their own wish).
    """
    due = db.session.scalars(sa.select(Appointment.id).where(
        Appointment.status == CONFIRMED, sent_at.is_(None), *conditions,
        Appointment.starts_at > now, Appointment.starts_at <= until)).all()
    queued = 0
    for appointment_id in due:
        with unit_of_work() as session:
            claimed = session.execute(
                sa.update(Appointment)
                .where(Appointment.id == appointment_id, Appointment.status == CONFIRMED,
                       sent_at.is_(None))
                .values({sent_at: now})
                .execution_options(synchronize_session=False)).rowcount
            if not claimed:
                continue
            appointment = session.get(Appointment, appointment_id)
            queued += notify(session, appointment, None, template, None, optional=True)
    return queued
