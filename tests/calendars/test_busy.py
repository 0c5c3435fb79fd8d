"""Busy times from therapists' own calendars, against a real CalDAV server (Radicale) and an
.ics served over HTTP on 127.0.0.1: recurrence across a DST change, free events, bad input."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import caldav
import pytest
import sqlalchemy as sa

from intake.calendars import busy, fetch
from intake.calendars.models import BusyInterval, ExternalCalendar
from intake.extensions import db
from intake.scheduling.services import open_times
from intake.worker import run_pass
from tests.helpers import free_port, maya, rebind, sign_in, token

NOW = datetime(2027, 3, 1, 12, tzinfo=UTC)  # a Monday; New York changes clocks on 14 March

CALENDAR = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Someone's own calendar//EN\r
BEGIN:VEVENT\r
UID:weekly-supervision@example.org\r
DTSTAMP:20270201T000000Z\r
DTSTART;TZID=America/New_York:20270301T100000\r
DTEND;TZID=America/New_York:20270301T110000\r
RRULE:FREQ=WEEKLY;COUNT=4\r
SUMMARY:Supervision with Dr. Private Name\r
DESCRIPTION:Secret details\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:free-reminder@example.org\r
DTSTAMP:20270201T000000Z\r
DTSTART;TZID=America/New_York:20270302T100000\r
DTEND;TZID=America/New_York:20270302T110000\r
TRANSP:TRANSPARENT\r
SUMMARY:Think about lunch (free)\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:called-off@example.org\r
DTSTAMP:20270201T000000Z\r
DTSTART;TZID=America/New_York:20270303T100000\r
DTEND;TZID=America/New_York:20270303T110000\r
STATUS:CANCELLED\r
SUMMARY:Called off\r
END:VEVENT\r
END:VCALENDAR\r
"""

EXPECTED_UTC = [  # 10:00 New York: 15:00Z before the change, 14:00Z after
    (datetime(2027, 3, 1, 15, tzinfo=UTC), datetime(2027, 3, 1, 16, tzinfo=UTC)),
    (datetime(2027, 3, 8, 15, tzinfo=UTC), datetime(2027, 3, 8, 16, tzinfo=UTC)),
    (datetime(2027, 3, 15, 14, tzinfo=UTC), datetime(2027, 3, 15, 15, tzinfo=UTC)),
    (datetime(2027, 3, 22, 14, tzinfo=UTC), datetime(2027, 3, 22, 15, tzinfo=UTC)),
]


@pytest.fixture(autouse=True)
def stopped_clock(clock):
    """The app's clock at NOW, whatever today's date: the calendar and its DST change are
    fixed, and connecting, reading and the worker all see the same day."""
    clock.set(NOW)


@pytest.fixture(autouse=True)
def local_servers_allowed(settings):
    settings.update(CALENDAR_ALLOW_PRIVATE=True, CALENDAR_TIMEOUT=2,
                    CALENDAR_MAX_BYTES=1024 * 1024)


class Handler(SimpleHTTPRequestHandler):
    """Serves files, plus /slow (never answers in time) and /huge (50 MB)."""

    def do_GET(self):  # noqa: N802
        if self.path == "/slow.ics":
            time.sleep(4)
        if self.path == "/huge.ics":
            self.send_response(200)
            self.send_header("Content-Type", "text/calendar")
            self.end_headers()
            chunk = b"X" * (1024 * 1024)
            try:
                for _ in range(50):
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def ics_server(tmp_path):
    """Serve tmp_path over HTTP on 127.0.0.1; yield (base URL, folder)."""
    (tmp_path / "own.ics").write_text(CALENDAR, newline="")
    (tmp_path / "garbage.ics").write_bytes(b"<html>this is not a calendar</html>")
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), partial(Handler,
                                                                     directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", tmp_path
    server.shutdown()


def stored_busy():
    return [(b.starts_at, b.ends_at) for b in db.session.scalars(
        sa.select(BusyInterval).order_by(BusyInterval.starts_at))]


def assert_open_times_avoid_exactly(therapist, busy):
    window = (NOW, NOW + timedelta(days=28))
    offered = open_times(therapist, *window, NOW)
    gap = timedelta(minutes=therapist.buffer_minutes)
    for slot in offered:
        for s, e in busy:
            assert slot.ends_at + gap <= s or slot.starts_at >= e + gap, (slot, s)
    # The free event's hour (Tuesday 2 March, 10:00 New York) is still offered.
    free = (datetime(2027, 3, 2, 15, tzinfo=UTC), datetime(2027, 3, 2, 16, tzinfo=UTC))
    assert any(s.starts_at < free[1] and s.ends_at > free[0] for s in offered)
    # And the busy Mondays were offered before they were imported.
    db.session.execute(sa.delete(BusyInterval))
    before = open_times(therapist, *window, NOW)
    busy_monday = EXPECTED_UTC[1]
    assert any(s.starts_at < busy_monday[1] and s.ends_at > busy_monday[0] for s in before)
    db.session.rollback()


def test_an_ics_address_blocks_exactly_its_busy_times(app, demo, ics_server):
    base, _ = ics_server
    therapist = maya()
    row = busy.connect(therapist.id, "ics", f"{base}/own.ics", "", "", None)
    assert busy.sync(row.id, NOW)
    assert stored_busy()[:4] == EXPECTED_UTC and len(stored_busy()) == 4
    assert_open_times_avoid_exactly(therapist, EXPECTED_UTC)
    # Only times are kept.
    everything = " ".join(str(v) for r in db.session.execute(sa.select(ExternalCalendar))
                          for v in r)
    assert "Supervision" not in everything and "Private Name" not in everything
    # A second read asks only for changes (the server answers 304) and keeps the busy times.
    db.session.refresh(row)
    assert row.last_modified
    assert busy.sync(row.id, NOW)
    assert stored_busy() == EXPECTED_UTC


def test_a_caldav_calendar_blocks_exactly_its_busy_times(app, demo, radicale):
    with caldav.DAVClient(url=radicale, username="maya", password="x") as client:
        calendar = client.principal().make_calendar(name="Work")
        for part in CALENDAR.split("BEGIN:VEVENT")[1:]:
            body = part.split("END:VEVENT")[0]
            calendar.save_event("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n"
                                f"BEGIN:VEVENT{body}END:VEVENT\r\nEND:VCALENDAR\r\n")
        url = str(calendar.url)
    therapist = maya()
    row = busy.connect(therapist.id, "caldav", url, "maya", "app-password", None)
    stored = db.session.get(ExternalCalendar, row.id)
    assert stored.secret and "app-password" not in stored.secret  # encrypted
    assert busy.sync(row.id, NOW)
    assert stored_busy() == EXPECTED_UTC
    assert_open_times_avoid_exactly(therapist, EXPECTED_UTC)


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("file:///etc/passwd", "Only http:// or https://"),
        ("ftp://example.org/cal.ics", "Only http:// or https://"),
        ("https://", "no host name"),
    ],
)
def test_addresses_that_are_not_http_are_refused_and_nothing_is_stored(app, demo, address,
                                                                       message):
    with pytest.raises(busy.CalendarProblem, match=message):
        busy.connect(maya().id, "ics", address, "", "", None)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ExternalCalendar)) == 0


def test_private_addresses_are_refused_unless_allowed(app, demo, ics_server):
    base, _ = ics_server
    app.config["CALENDAR_ALLOW_PRIVATE"] = False
    with pytest.raises(busy.CalendarProblem, match="private network"):
        busy.connect(maya().id, "ics", f"{base}/own.ics", "", "", None)
    with pytest.raises(busy.CalendarProblem, match="private network"):
        busy.check_address("http://169.254.169.254/latest/meta-data", False)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ExternalCalendar)) == 0


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/slow.ics", "didn't answer in time"),
        ("/huge.ics", "larger than we accept"),
        ("/garbage.ics", "didn't return a calendar"),
        ("/missing.ics", "answered with an error (404)"),
    ],
)
def test_broken_calendars_get_a_clear_status_and_the_worker_keeps_going(
    app, demo, ics_server, path, message
):
    base, _ = ics_server
    therapist = maya()
    broken = busy.connect(therapist.id, "ics", base + path, "", "", None)
    good = busy.connect(therapist.id, "ics", f"{base}/own.ics", "", "", None)
    assert broken.last_attempt_at is None and good.last_attempt_at is None  # read by the worker
    report = run_pass()
    assert "calendars: 1 read, 1 failed" in report
    db.session.refresh(broken)
    assert message in broken.last_error and broken.last_synced_at is None
    db.session.refresh(good)
    assert good.last_error == "" and good.busy_count > 0


def test_a_secret_calendar_address_is_stored_encrypted_and_never_shown_again(
        app, client, demo, make_user, ics_server):
    base, _ = ics_server
    secret_path = "/calendar/ical/maya%40example.com/private-8f3a9c2b71e4/basic.ics"
    address = f"{base}{secret_path}"
    (ics_server[1] / "calendar").mkdir()
    sign_in(client, make_user("therapist", "maya-chen").email)
    url = "/staff/therapists/maya-chen/calendar"
    client.post(url, data={"csrf_token": token(client, url), "action": "connect", "kind": "ics",
                           "url": address})
    stored = " ".join(str(v) for r in db.session.execute(sa.select(ExternalCalendar))
                      for v in r)
    assert "private-8f3a9c2b71e4" not in stored and "maya%40example.com" not in stored
    page = client.get(url).text
    assert "http://127.0.0.1/…" in page and "private-8f3a9c2b71e4" not in page
    # The worker still reads it at the address given.
    (ics_server[1] / secret_path.lstrip("/").replace("%40", "@")).parent.mkdir(parents=True)
    (ics_server[1] / secret_path.lstrip("/").replace("%40", "@")).write_text(CALENDAR,
                                                                          newline="")
    row = db.session.scalar(sa.select(ExternalCalendar))
    assert busy.sync(row.id, NOW) and len(stored_busy()) == 4

    # One connected before addresses were sealed is sealed at its next read.
    old = ExternalCalendar(therapist_id=maya().id, kind="ics", url=f"{base}/own.ics",
                           created_at=NOW)
    db.session.add(old)
    db.session.commit()
    assert busy.sync(old.id, NOW)
    db.session.refresh(old)
    assert old.url == "http://127.0.0.1/…" and old.secret and "own.ics" not in old.secret


def test_the_therapist_page_shows_status_and_errors_in_plain_words(app, client, demo,
                                                                   make_user, ics_server):
    base, _ = ics_server
    user = make_user("therapist", "maya-chen")
    sign_in(client, user.email)
    url = "/staff/therapists/maya-chen/calendar"
    refused = client.post(url, data={"csrf_token": token(client, url), "action": "connect",
                                     "kind": "ics", "url": "javascript:alert(1)"})
    assert refused.status_code == 422 and "Only http:// or https://" in refused.text
    assert 'value="javascript:alert(1)"' in refused.text  # what was typed is kept
    client.post(url, data={"csrf_token": token(client, url), "action": "connect", "kind": "ics",
                           "url": f"{base}/garbage.ics"})
    page = client.get(url)
    assert "Reading…" in page.text and 'hx-trigger="every 4s"' in page.text
    run_pass()
    page = client.get(url)
    assert "didn&#39;t return a calendar we can read" in page.text
    assert "Reading…" not in page.text and "every 4s" not in page.text


def test_a_name_that_turns_private_after_the_check_is_still_refused(app, ics_server,
                                                                    monkeypatch):
    """DNS that answers "public" to the check and "loopback" to the connection is refused."""
    base, _ = ics_server
    port = int(base.rsplit(":", 1)[1])
    rebind("calendar.example", port, monkeypatch)
    with pytest.raises(busy.CalendarProblem, match="private network"):
        fetch.fetch_ics(f"http://calendar.example:{port}/own.ics", allow_private=False,
                        timeout=2, max_bytes=1024 * 1024)


def test_an_event_repeating_every_second_is_refused_quickly():
    body = (CALENDAR.split("BEGIN:VEVENT")[0] + "BEGIN:VEVENT\r\nUID:flood@example.org\r\n"
            "DTSTAMP:20270201T000000Z\r\nDTSTART:20270301T000000Z\r\n"
            "DTEND:20270301T000001Z\r\nRRULE:FREQ=SECONDLY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    started = time.monotonic()
    with pytest.raises(busy.CalendarProblem, match="far more events"):
        busy.busy_from_ics(body.encode(), NOW, NOW + busy.AHEAD, "America/New_York")
    assert time.monotonic() - started < 20
    # A calendar's ordinary repeating events are all read.
    assert busy.busy_from_ics(CALENDAR.encode(), NOW, NOW + busy.AHEAD,
                                 "America/New_York") == EXPECTED_UTC
