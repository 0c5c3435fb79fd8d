"""One clock for the app: every job of a worker pass, every page and every stored default reads
the same "now", and nothing in the app reads the machine's clock by another way."""

import re
import threading
import time
from datetime import timedelta
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import sqlalchemy as sa

from intake import links
from intake.appointments.models import Appointment
from intake.calendars.models import BusyInterval, ExternalCalendar
from intake.clock import pause
from intake.extensions import db
from intake.health import HEARTBEAT, WorkerJob
from intake.mail.models import OutboxMessage
from intake.worker import run_pass
from tests.helpers import book_directly, free_port

PACKAGE = Path(__file__).resolve().parent.parent / "intake"


def test_nothing_in_the_app_reads_the_machine_clock_but_the_clock_module():
    readers = re.compile(r"\.now\(|\.utcnow\(|\.today\(|\btime\.time(_ns)?\(|localtime\(|"
                         r"gmtime\(|from time import (time|localtime|gmtime)\b|"
                         r"func\.now\(|current_timestamp|CURRENT_TIMESTAMP")
    found = [f"{path.relative_to(PACKAGE)}:{n}: {line.strip()}"
             for path in PACKAGE.rglob("*.py") if path.name != "clock.py"
             for n, line in enumerate(path.read_text().splitlines(), 1) if readers.search(line)]
    assert found == []


def ics_with_event(folder: Path, starts_at) -> str:
    """Write an .ics with one busy hour at `starts_at` (UTC) into folder; return its name."""
    stamp = starts_at.strftime("%Y%m%dT%H%M%SZ")
    ends = (starts_at + timedelta(hours=1)).strftime("%Y%m%dT%H%M%SZ")
    (folder / "own.ics").write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:far@example.org\r\nDTSTAMP:{stamp}\r\nDTSTART:{stamp}\r\nDTEND:{ends}\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n", newline="")
    return "own.ics"


def test_every_job_of_a_pass_reads_the_one_clock(app, demo, clock, tmp_path):
    """Stopped three weeks ahead, the clock makes each job act where the machine's clock would
    not: a retry comes due, a hold ends, a reminder is due, a calendar is due and read up to
    its horizon from that day, and the heartbeat carries that day."""
    app.config["CALENDAR_ALLOW_PRIVATE"] = True
    real_now = clock.now()
    held = book_directly("sam-whitaker")  # a hold ending tomorrow
    confirmed = book_directly("maya-chen")
    run_pass()  # the booking emails go; the calendar below is not connected yet
    # An email to retry in two weeks.
    db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.id == db.session.scalar(
        sa.select(sa.func.min(OutboxMessage.id)))).values(
        status="queued", next_attempt_at=real_now + timedelta(days=14), attempts=1))
    # A calendar read a minute ago, with an event 410 days from now: beyond the 400 days
    # read ahead of today, inside those read ahead of three weeks from now.
    server = ThreadingHTTPServer(("127.0.0.1", free_port()),
                                 partial(SimpleHTTPRequestHandler, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    far = (real_now + timedelta(days=410)).replace(minute=0, second=0, microsecond=0)
    name = ics_with_event(tmp_path, far)
    db.session.add(ExternalCalendar(
        therapist_id=confirmed.therapist_id, kind="ics",
        url=f"http://127.0.0.1:{server.server_port}/{name}", created_at=real_now,
        last_attempt_at=real_now - timedelta(minutes=1)))
    # Maya's appointment moved to three weeks and twelve hours ahead (reminded 24 h before).
    db.session.execute(sa.update(Appointment).where(Appointment.id == confirmed.id).values(
        starts_at=real_now + timedelta(days=21, hours=12),
        ends_at=real_now + timedelta(days=21, hours=12, minutes=30)))
    db.session.commit()

    later = clock.set(real_now + timedelta(days=21))
    try:
        report = run_pass()
    finally:
        server.shutdown()
    assert "holds: 1 expired" in report and "reminders: 1 queued" in report
    assert "calendars: 1 read" in report
    db.session.expire_all()
    assert db.session.get(Appointment, held.id).status == "expired"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
        OutboxMessage.status != "sent")) == 0  # the retry went, and everything the pass queued
    assert [(b.starts_at, b.ends_at) for b in db.session.scalars(sa.select(BusyInterval))] == [
        (far, far + timedelta(hours=1))]
    heartbeat = db.session.get(WorkerJob, HEARTBEAT)
    assert heartbeat.last_started_at == later and heartbeat.last_finished_at == later


def test_signed_links_age_by_the_app_clock(app, clock):
    token = links.make(links.REBOOK, 42)
    clock.advance(timedelta(days=14))  # a rebooking link lasts fourteen days
    assert links.read(links.REBOOK, token) == 42
    clock.advance(timedelta(seconds=1))
    assert links.read(links.REBOOK, token) is None


def test_a_pause_ends_at_its_time_or_as_soon_as_it_is_stopped():
    started = time.monotonic()
    assert pause(0.3, lambda: False) is False
    assert 0.3 <= time.monotonic() - started < 2
    started = time.monotonic()
    stops = iter([False, False, True])
    assert pause(30, lambda: next(stops)) is True
    assert time.monotonic() - started < 2
