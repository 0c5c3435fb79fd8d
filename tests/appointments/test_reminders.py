"""Reminders under a controlled clock: once, never for cancelled, never twice at once."""

import threading
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from intake.appointments import services
from intake.extensions import db
from intake.mail.delivery import deliver_due
from intake.worker import run_pass
from tests.helpers import book_directly

both_databases = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)


def reminders(smtp):
    return [m for m in smtp.messages if m["Subject"].startswith("Reminder")]


def test_one_reminder_a_day_before_in_the_clients_zone(app, demo, smtp, clock):
    appointment = book_directly("maya-chen")
    deliver_due()
    clock.set(appointment.starts_at - timedelta(hours=24, minutes=1))
    assert "reminders" not in run_pass()
    clock.set(appointment.starts_at - timedelta(hours=24))  # REMINDER_HOURS is 24
    assert "reminders: 1 queued" in run_pass()
    assert "reminders" not in run_pass()
    (message,) = reminders(smtp)
    text = message.get_body(("plain",)).get_content()
    zone_name = appointment.starts_at.astimezone(ZoneInfo("Europe/London")).tzname()
    assert zone_name in text and "/manage/" in text  # the client's zone, with the manage link
    assert "couples" not in text.lower() and "chores" not in text


def test_no_reminder_for_cancelled_or_discreet_clients(app, demo, smtp, clock):
    cancelled = book_directly("maya-chen")
    discreet = book_directly("maya-chen", email="quiet@client.example", discreet=True)
    ordinary = book_directly("maya-chen", email="ordinary@client.example")
    services.cancel(cancelled.id, None)
    # Each one hour before its own start, when a reminder would be due.
    for appointment in (cancelled, discreet, ordinary):
        clock.set(appointment.starts_at - timedelta(hours=1))
        run_pass()
    (reminder,) = reminders(smtp)  # the ordinary client's, and no other
    assert "ordinary@client.example" in reminder["To"]


@both_databases
def test_two_workers_at_once_send_one_reminder(app, demo, smtp, clock):
    appointment = book_directly("maya-chen")
    deliver_due()
    clock.set(appointment.starts_at - timedelta(hours=2))
    barrier = threading.Barrier(2)
    errors = []

    def worker():
        with app.app_context():
            try:
                barrier.wait()
                services.send_reminders()
            except Exception as exc:  # noqa: BLE001  (reported below)
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    deliver_due()
    assert len(reminders(smtp)) == 1


def test_a_reminder_pass_writes_nothing_for_appointments_that_are_not_due(app, demo, clock):
    """Held requests and appointments already reminded are left out by the query itself: a pass
    over many of them claims (writes) none, however many there are."""
    booked = [book_directly("maya-chen", email=f"c{i}@client.example") for i in range(6)]
    clock.set(min(a.starts_at for a in booked) - timedelta(hours=1))
    assert max(a.starts_at for a in booked) <= clock.now() + timedelta(hours=24)  # all in reach
    for i, appointment in enumerate(booked):
        row = db.session.get(type(appointment), appointment.id)
        if i % 2:
            row.reminder_sent_at = clock.now()
        else:
            row.status = "held"
    db.session.commit()
    writes = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE"):
            writes.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert services.send_reminders() == 0
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert writes == []
