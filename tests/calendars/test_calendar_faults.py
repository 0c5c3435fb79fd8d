"""A therapist's calendar going wrong never holds up the practice's other work.

Bad addresses typed on the calendars page, rows stored before the address checks, servers that
answer something that is not HTTP, drip a byte at a time or never answer, CalDAV answers that
are too large or redirect somewhere they should not: each ends as a plain sentence on the
calendar, while the same worker pass still delivers mail, expires holds and sends reminders.
Every server here is real and listens on 127.0.0.1.
"""

from __future__ import annotations

import base64
import contextlib
import math
import re
import socket
import threading
import time
import tracemalloc
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import caldav
import pytest
import sqlalchemy as sa
from markupsafe import escape

from intake.appointments.models import CONFIRMED, EXPIRED, HELD, Appointment
from intake.calendars import busy
from intake.calendars import fetch as guarded
from intake.calendars.models import ExternalCalendar
from intake.clock import now_utc
from intake.extensions import db
from intake.mail.models import SENT, OutboxMessage
from intake.worker import run_pass
from tests.helpers import book_directly, maya, rebind, sign_in, token

PAGE = "/staff/therapists/maya-chen/calendar"
BACKSLASH = "http://127.0.0.1:5089\\@93.184.216.34/"
USER_INFO = "http://user:pw@calendar.example/cal.ics"
SAYS_BACKSLASH = "That address has a backslash or a space in it."
SAYS_NAME = "That address has a name or password in it."
PRIVATE = "That address points into a private network"
NOT_IN_TIME = "The calendar server didn't answer in time."
UNREACHABLE = "We couldn't reach the calendar server."
TOO_LARGE = "That calendar is larger than we accept"


@pytest.fixture(autouse=True)
def calendar_limits(settings):
    settings.update(CALENDAR_ALLOW_PRIVATE=True, CALENDAR_TIMEOUT=2,
                    CALENDAR_MAX_BYTES=1024 * 1024)


# ---------------------------------------------------------------- servers on 127.0.0.1


class RawServer:
    """A TCP server that reads each request's head, records it, then lets `serve(conn, stop)`
    answer however it likes (garbage, a drip, nothing at all)."""

    def __init__(self, serve):
        self.serve = serve
        self.stop = threading.Event()
        self.heads: list[bytes] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        with conn:
            conn.settimeout(5)
            try:
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    head += chunk
                self.heads.append(head)
                self.serve(conn, self.stop)
            except OSError:
                pass

    def paths(self) -> list[str]:
        return [head.split(b" ", 2)[1].decode() for head in self.heads if head]

    def close(self):
        self.stop.set()
        self.listener.close()
        self.thread.join(2)


@pytest.fixture
def raw_server():
    """Return a function that starts a RawServer; every one started is stopped afterwards."""
    started = []

    def start(serve) -> RawServer:
        server = RawServer(serve)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def answer_garbage(conn, stop):
    conn.sendall(b"garbage\r\n")


def never_answer(conn, stop):
    stop.wait(30)


def drip(payload: bytes):
    """Return a `serve` that sends `payload` one byte every 0.2 s (for as long as 30 s)."""

    def serve(conn, stop):
        for i in range(len(payload)):
            if stop.is_set():
                return
            conn.sendall(payload[i:i + 1])
            stop.wait(0.2)

    return serve


class Seen:
    """What one request to a recording HTTP server carried."""

    def __init__(self, method, path, headers, body):
        self.method, self.path, self.headers, self.body = method, path, headers, body


@pytest.fixture
def http_server():
    """Return a function that starts an HTTP server answering with `respond(seen, base)` ->
    (status, headers, body); it records every request (method, path, headers, body)."""
    started = []

    def start(respond):
        seen: list[Seen] = []

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                request = Seen(self.command, self.path, dict(self.headers),
                               self.rfile.read(length) if length else b"")
                seen.append(request)
                status, headers, body = respond(request, base)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(OSError):
                    self.wfile.write(body)

            do_GET = do_REPORT = _answer  # noqa: N815

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        base = f"http://127.0.0.1:{server.server_port}"
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        started.append(server)
        return base, seen

    yield start
    for server in started:
        server.shutdown()
        server.server_close()


def one_event_calendar(start: datetime) -> bytes:
    stamp = "%Y%m%dT%H%M%SZ"
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:busy@example.org\r\nDTSTAMP:{start.strftime(stamp)}\r\n"
            f"DTSTART:{start.strftime(stamp)}\r\n"
            f"DTEND:{(start + timedelta(hours=1)).strftime(stamp)}\r\n"
            "END:VEVENT\r\nEND:VCALENDAR\r\n").encode()


def multistatus(calendar: bytes) -> bytes:
    return (b'<?xml version="1.0" encoding="utf-8"?>\n'
            b'<D:multistatus xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            b"<D:response><D:href>/cal/busy.ics</D:href><D:propstat><D:prop>"
            b"<C:calendar-data>" + calendar + b"</C:calendar-data>"
            b"</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>"
            b"</D:multistatus>")


# ---------------------------------------------------------------- helpers


def calendars() -> list[ExternalCalendar]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(ExternalCalendar).order_by(ExternalCalendar.id)))


def store_calendar(url: str, kind: str = "ics") -> int:
    """Insert a calendar row directly, as one saved before the address checks would be."""
    row = ExternalCalendar(therapist_id=maya().id, kind=kind, url=url, created_at=now_utc(),
                           last_attempt_at=None)
    db.session.add(row)
    db.session.commit()
    return row.id


def connect_on_page(client, url: str, kind: str = "ics"):
    return client.post(PAGE, data={"csrf_token": token(client, PAGE), "action": "connect",
                                   "kind": kind, "url": url, "username": "", "password": ""})


def field_error(html: str) -> str:
    match = re.search(r'<p class="error" id="calendar-url-error">(.*?)</p>', html, re.S)
    return match.group(1) if match else ""


def practice_has_work(app):
    """A hold nobody confirmed in time and a confirmed appointment due a reminder, with their
    booking emails queued; return their ids (held, confirmed)."""
    held = book_directly("sam-whitaker", email="held@client.example")
    confirmed = book_directly("maya-chen", email="soon@client.example")
    assert held.status == HELD and confirmed.status == CONFIRMED
    held.hold_expires_at = now_utc() - timedelta(minutes=5)
    db.session.commit()
    hours_away = (confirmed.starts_at - now_utc()).total_seconds() / 3600
    app.config["REMINDER_HOURS"] = math.ceil(hours_away) + 1
    return held.id, confirmed.id


def assert_every_email_reached_smtp(smtp):
    db.session.expire_all()
    rows = db.session.scalars(sa.select(OutboxMessage)).all()
    assert rows and {r.status for r in rows} == {SENT}, [(r.kind, r.status) for r in rows]
    received = {m["Message-ID"] for m in smtp.messages}
    assert {r.message_id for r in rows} <= received
    return {r.kind for r in rows}


# ---------------------------------------------------------------- 1. the headline


@pytest.mark.parametrize("allow_private", [False, True], ids=["production", "local-allowed"])
def test_bad_calendars_leave_mail_holds_and_reminders_flowing_in_the_same_pass(
    app, client, demo, smtp, make_user, raw_server, allow_private
):
    app.config["CALENDAR_ALLOW_PRIVATE"] = allow_private
    sign_in(client, make_user("therapist", "maya-chen").email)

    # Addresses that smuggle a host (backslash) or credentials (user-info) are refused at
    # connect, whatever the private-network setting: the therapist sees why, beside the field,
    # with what they typed still there, and nothing is stored.
    for typed, says in [(BACKSLASH, SAYS_BACKSLASH), (USER_INFO, SAYS_NAME)]:
        refused = connect_on_page(client, typed)
        assert refused.status_code == 422
        assert says in field_error(refused.text)
        assert f'value="{escape(typed)}"' in refused.text and 'aria-invalid="true"' in refused.text
    assert calendars() == []

    # A "calendar server" that answers with something that is not HTTP at all.
    garbage = raw_server(answer_garbage)
    if allow_private:
        connected = connect_on_page(client, f"{garbage.url}/cal.ics")
        assert connected.status_code == 303  # not a 500: the page never reads the calendar
        page = client.get(PAGE)
        assert "Reading…" in page.text and 'hx-trigger="every 4s"' in page.text
    else:
        refused = connect_on_page(client, f"{garbage.url}/cal.ics")
        assert refused.status_code == 422 and PRIVATE in field_error(refused.text)
        assert calendars() == []
        store_calendar(f"{garbage.url}/cal.ics")  # saved while local servers were allowed
    store_calendar(BACKSLASH)  # saved before this release
    assert garbage.heads == []  # connecting never reads the calendar

    held_id, confirmed_id = practice_has_work(app)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) >= 4

    started = time.monotonic()
    report = run_pass()
    elapsed = time.monotonic() - started
    assert "failed:" not in report and elapsed < 5, (report, elapsed)

    # Every email went out in this one pass: the bookings, the expired hold's, the reminder.
    kinds = assert_every_email_reached_smtp(smtp)
    assert {"booking_client", "expired_client", "reminder_client"} <= kinds
    assert any(m["Subject"].startswith("About your appointment request")
               for m in smtp.to("held@client.example"))
    assert any(m["Subject"].startswith("Reminder:") for m in smtp.to("soon@client.example"))
    assert db.session.get(Appointment, held_id).status == EXPIRED
    assert db.session.get(Appointment, confirmed_id).reminder_sent_at is not None

    # Each bad calendar says why, in plain words.
    expected = {busy.shown_address(BACKSLASH): SAYS_BACKSLASH,
                busy.shown_address(f"{garbage.url}/cal.ics"):
                    UNREACHABLE if allow_private else PRIVATE}
    rows = calendars()
    assert {row.url for row in rows} == set(expected)
    for row in rows:
        assert row.last_attempt_at is not None and row.last_synced_at is None
        assert row.last_error.startswith(expected[row.url]), row.last_error
        assert "Traceback" not in row.last_error and "Error" not in row.last_error
        assert row.last_error != busy.UNEXPECTED
    assert len(garbage.heads) == (1 if allow_private else 0)  # refused before connecting

    page = client.get(PAGE)
    assert page.status_code == 200
    for message in expected.values():
        assert str(escape(message)) in page.text
    assert "Reading…" not in page.text and "every 4s" not in page.text


# ---------------------------------------------------------------- 2. one job crashes


def test_a_crashing_job_is_reported_and_the_others_still_run(app, client, demo, smtp, make_user,
                                                             http_server, monkeypatch):
    busy_at = (now_utc() + timedelta(days=3)).replace(hour=15, minute=0, second=0,
                                                      microsecond=0)
    base, _ = http_server(lambda seen, base: (200, {"Content-Type": "text/calendar"},
                                              one_event_calendar(busy_at)))
    calendar_id = busy.connect(maya().id, "ics", f"{base}/own.ics", "", "", None).id
    held_id, confirmed_id = practice_has_work(app)

    def broken(*args, **kwargs):
        raise RuntimeError("the holds table is on fire")

    monkeypatch.setattr("intake.worker.expire_holds", broken)
    report = run_pass()
    assert "failed: holds" in report

    kinds = assert_every_email_reached_smtp(smtp)
    assert {"booking_client", "reminder_client"} <= kinds and "expired_client" not in kinds
    assert db.session.get(Appointment, confirmed_id).reminder_sent_at is not None
    assert db.session.get(Appointment, held_id).status == HELD
    (calendar,) = calendars()
    assert calendar.id == calendar_id and calendar.last_error == ""
    assert calendar.last_synced_at is not None and calendar.busy_count == 1

    health = client.get("/healthz")
    assert health.status_code == 200 and health.json["status"] == "attention"
    assert health.json["worker"]["failing_jobs"] == ["holds"]
    sign_in(client, make_user("front_desk").email)
    dashboard = client.get("/staff/")
    assert dashboard.status_code == 200
    assert "<strong>hold expiry</strong> failed on its last run (RuntimeError)" in dashboard.text
    assert "on fire" not in dashboard.text  # only the kind of error, never its text

    monkeypatch.undo()
    assert "holds: 1 expired" in run_pass()
    assert assert_every_email_reached_smtp(smtp) >= {"expired_client"}
    health = client.get("/healthz")
    assert health.json["status"] == "ok" and health.json["worker"]["failing_jobs"] == []
    assert "hold expiry" not in client.get("/staff/").text


# ---------------------------------------------------------------- 3. slow drip


@pytest.mark.parametrize(
    "payload",
    [
        b"HTTP/1.1 200 OK\r\nContent-Type: text/calendar\r\n\r\n" + b"BEGIN:VCALENDAR\r\n" * 20,
        b"HTTP/1.1 200 OK\r\nContent-Type: text/calendar\r\nX-Padding: " + b"a" * 200,
    ],
    ids=["body", "status-and-headers"],
)
@pytest.mark.parametrize("kind", ["ics", "caldav"])
def test_a_server_that_drips_bytes_is_cut_off_at_the_total_deadline(app, demo, raw_server,
                                                                    payload, kind):
    app.config["CALENDAR_TIMEOUT"] = 1
    assert len(payload) * 0.2 > 10  # the drip alone would last well past the deadline
    server = raw_server(drip(payload))
    row = busy.connect(maya().id, kind, f"{server.url}/cal/", "", "", None)
    started = time.monotonic()
    assert busy.sync(row.id) is False
    elapsed = time.monotonic() - started
    assert elapsed < 3, elapsed
    (calendar,) = calendars()
    assert calendar.last_error == NOT_IN_TIME and calendar.last_attempt_at is not None
    assert len(server.heads) == 1


# ---------------------------------------------------------------- 4. a budget per pass


def test_calendars_that_never_answer_take_only_the_pass_budget_and_wait_their_turn(
    app, client, demo, smtp, make_user, raw_server
):
    app.config.update(CALENDAR_PASS_SECONDS=1, CALENDAR_TIMEOUT=1, CALENDAR_SYNC_MINUTES=0)
    server = raw_server(never_answer)
    for name in ("a", "b", "c"):
        busy.connect(maya().id, "ics", f"{server.url}/{name}.ics", "", "", None)
    book_directly("maya-chen", email="booked@client.example")

    started = time.monotonic()
    run_pass()
    first = time.monotonic() - started
    assert first < 2.5, first  # the budget (1 s) plus at most one calendar's deadline (1 s)
    assert smtp.to("booked@client.example")  # the mail job did not wait for the calendars
    read_first = set(server.paths())
    unread = [c for c in calendars() if c.last_attempt_at is None]
    assert read_first and unread  # the budget ran out before every calendar was tried
    for c in calendars():
        if c.last_attempt_at is not None:
            assert c.last_error == NOT_IN_TIME
    sign_in(client, make_user("therapist", "maya-chen").email)
    assert "Reading…" in client.get(PAGE).text

    # Every calendar is due again (CALENDAR_SYNC_MINUTES=0), but never-read ones go first.
    tried = len(server.heads)
    started = time.monotonic()
    run_pass()
    assert time.monotonic() - started < 2.5
    read_second = set(server.paths()[tried:])
    assert read_second and not read_second & read_first, (read_first, read_second)
    while any(c.last_attempt_at is None for c in calendars()):
        run_pass()
    assert set(server.paths()) == {"/a.ics", "/b.ics", "/c.ics"}
    assert "Reading…" not in client.get(PAGE).text


# ---------------------------------------------------------------- 5. CalDAV, guarded


def test_a_caldav_answer_over_the_byte_cap_is_refused(app, demo, radicale):  # noqa: F811

    soon = now_utc().replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    with caldav.DAVClient(url=radicale, username="maya", password="x") as dav:
        calendar = dav.principal().make_calendar(name="Work")
        for day in range(15):
            calendar.save_event(one_event_calendar(soon + timedelta(days=day))
                                .decode().replace("busy@", f"busy-{day}@"))
        url = str(calendar.url)
    row = busy.connect(maya().id, "caldav", url, "maya", "app-password", None)
    assert busy.sync(row.id)  # under the usual cap it reads fine
    assert calendars()[0].busy_count == 15

    app.config["CALENDAR_MAX_BYTES"] = 2000
    busy.request_read(maya().id, row.id)
    assert busy.sync(row.id) is False
    (stored,) = calendars()
    assert stored.last_error.startswith(TOO_LARGE), stored.last_error


@pytest.mark.parametrize(("code", "target"), [(307, "http://10.1.2.3/cal/"),
                                              (301, "http://169.254.169.254/latest/meta-data"),
                                              (308, "http://[::1]:8080/cal/")])
def test_a_caldav_redirect_into_a_private_network_is_refused(app, demo, http_server,
                                                             monkeypatch, code, target):
    """127.0.0.1 stands in for a public calendar server; every other private address stays
    private, as in production."""
    real_public = guarded._public
    monkeypatch.setattr(guarded, "_public",
                        lambda address: address == "127.0.0.1" or real_public(address))
    app.config["CALENDAR_ALLOW_PRIVATE"] = False
    base, seen = http_server(lambda request, base: (code, {"Location": target}, b""))
    row = busy.connect(maya().id, "caldav", f"{base}/cal/", "maya", "pw", None)
    assert busy.sync(row.id) is False
    (calendar,) = calendars()
    assert calendar.last_error.startswith(PRIVATE), calendar.last_error
    assert [(s.method, s.path) for s in seen] == [("REPORT", "/cal/")]


def test_a_caldav_name_that_turns_private_after_the_check_is_still_refused(http_server,
                                                                          monkeypatch):
    base, seen = http_server(lambda request, base: (207, {}, multistatus(b"")))
    port = int(base.rsplit(":", 1)[1])
    rebind("calendar.example", port, monkeypatch)
    now = now_utc()
    with pytest.raises(busy.CalendarProblem, match="private network"):
        busy.busy_from_caldav(f"http://calendar.example:{port}/cal/", "maya", "pw",
                                 now, now + timedelta(days=30), "America/New_York",
                                 allow_private=False, timeout=2, max_bytes=1024 * 1024)
    assert seen == []


@pytest.mark.parametrize("code", [301, 302, 307, 308])
def test_a_caldav_redirect_keeps_the_password_only_for_the_same_origin(http_server, code):
    busy_at = (now_utc() + timedelta(days=2)).replace(hour=15, minute=0, second=0,
                                                     microsecond=0)
    answer = (207, {"Content-Type": "application/xml"}, multistatus(one_event_calendar(busy_at)))
    other, other_seen = http_server(lambda request, base: answer)

    def origin(request, base):
        if request.path == "/moved/":
            return code, {"Location": "/cal/"}, b""
        if request.path == "/away/":
            return code, {"Location": f"{other}/cal/"}, b""
        return answer

    base, seen = http_server(origin)
    password = base64.b64encode(b"maya:s3cret").decode()
    now = now_utc()

    def read(url):
        return busy.busy_from_caldav(url, "maya", "s3cret", now, now + timedelta(days=30),
                                        "America/New_York", allow_private=True, timeout=2,
                                        max_bytes=1024 * 1024)

    expected = [(busy_at, busy_at + timedelta(hours=1))]
    assert read(f"{base}/moved/") == expected
    first, second = seen
    assert (first.path, second.path) == ("/moved/", "/cal/")
    assert second.method == "REPORT" and second.body == first.body and b"time-range" in first.body
    assert first.headers["Authorization"] == second.headers["Authorization"] == f"Basic {password}"
    assert second.headers["Depth"] == "1"

    assert read(f"{base}/away/") == expected
    (elsewhere,) = other_seen
    assert seen[-1].headers["Authorization"] == f"Basic {password}"
    assert elsewhere.method == "REPORT" and elsewhere.body == first.body
    assert "Authorization" not in elsewhere.headers


# ---------------------------------------------------------------- rough edges found


def test_a_redirect_with_a_huge_body_stays_under_the_byte_cap(app, demo, http_server):
    size = 32 * 1024 * 1024
    small = one_event_calendar(now_utc().replace(microsecond=0) + timedelta(days=1))
    big = b"X" * size  # made before memory is traced: only what the fetch holds counts

    def respond(request, base):
        if request.path == "/start.ics":
            return 302, {"Location": "/own.ics"}, big
        return 200, {"Content-Type": "text/calendar"}, small

    base, seen = http_server(respond)
    row = busy.connect(maya().id, "ics", f"{base}/start.ics", "", "", None)
    tracemalloc.start()
    try:
        busy.sync(row.id)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The worker never holds much more than CALENDAR_MAX_BYTES (1 MB here) of a calendar's
    # answer, whether it refuses the redirect's body or never reads it.
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1024 / 1024:.0f} MB"
