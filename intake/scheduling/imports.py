"""Busy times from a therapist's own calendar: an ICS address or a CalDAV calendar.

Fetching an address someone typed is a server-side request, so it is guarded: http(s) only,
private and loopback addresses refused (unless CALENDAR_ALLOW_PRIVATE), every redirect checked
again, a time limit and a size limit. Only when each busy time starts and ends is kept.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import ipaddress
import socket
import ssl
import time as clock
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import recurring_ical_events
import sqlalchemy as sa
import x_wr_timezone
from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from icalendar import Calendar

from ..database import now_utc, unit_of_work
from ..extensions import db
from ..staff import audit
from ..therapists.models import Therapist
from .models import BusyInterval, ExternalCalendar

ICS = "ics"
CALDAV = "caldav"
AHEAD = timedelta(days=400)
BEHIND = timedelta(days=1)


class ImportProblem(Exception):
    """Why a calendar could not be read, in words a therapist understands."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# ---------------------------------------------------------------- guarding the request


def check_address(url: str, allow_private: bool) -> None:
    """Raise ImportProblem unless `url` is http(s) and (unless allowed) resolves only to public
    addresses."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https"):
        raise ImportProblem("Only http:// or https:// addresses work here. (A webcal:// address "
                            "works if you change webcal to https.)")
    if not parts.hostname:
        raise ImportProblem("That address has no host name.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, ValueError, UnicodeError):
        raise ImportProblem("We couldn't find that address. Check the host name.") from None
    if allow_private:
        return
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            raise ImportProblem("That address points into a private network, which isn't "
                                "allowed for calendars.")


def _public_only(address: tuple[str, int], timeout=socket._GLOBAL_DEFAULT_TIMEOUT,
                 source_address=None, *, allow_private: bool) -> socket.socket:
    """Connect like `socket.create_connection`, but only to addresses that pass the checks.

    Checking at connect time (not only before) means a host name that changes its answer
    between the check and the request still cannot reach a private address.
    """
    host, port = address
    error: OSError | None = None
    for family, kind, proto, _, peer in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM):
        ip = ipaddress.ip_address(peer[0])
        if not allow_private and (not ip.is_global or ip.is_multicast):
            raise ImportProblem("That address points into a private network, which isn't "
                                "allowed for calendars.")
        sock = socket.socket(family, kind, proto)
        try:
            if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(peer)
            return sock
        except OSError as exc:
            error = exc
            sock.close()
    raise error or OSError("no address to connect to")


def _guarded(base: type, allow_private: bool) -> type:
    """Return an HTTP(S) connection class that connects only through `_public_only`."""

    class Guarded(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._create_connection = partial(_public_only, allow_private=allow_private)

    return Guarded


class _GuardedHTTP(urllib.request.HTTPHandler):
    def __init__(self, allow_private: bool):
        super().__init__()
        self.connection = _guarded(http.client.HTTPConnection, allow_private)

    def http_open(self, req):
        return self.do_open(self.connection, req)


class _GuardedHTTPS(urllib.request.HTTPSHandler):
    def __init__(self, allow_private: bool):
        super().__init__(context=ssl.create_default_context())
        self.connection = _guarded(http.client.HTTPSConnection, allow_private)

    def https_open(self, req):
        return self.do_open(self.connection, req, context=self._context)


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to an address that passes the same checks."""

    def __init__(self, allow_private: bool):
        self.allow_private = allow_private

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        check_address(newurl, self.allow_private)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


@dataclass(frozen=True)
class Fetched:
    """What an ICS address returned: the body (None when unchanged) and its validators."""

    body: bytes | None
    etag: str
    last_modified: str


def fetch_ics(url: str, etag: str = "", last_modified: str = "", *, allow_private: bool,
              timeout: float, max_bytes: int) -> Fetched:
    """Return the calendar at `url`, asking only for changes since the last fetch.

    Raises ImportProblem for a refused address, an error answer, no answer in time, or a body
    larger than `max_bytes`.
    """
    check_address(url, allow_private)
    headers = {"User-Agent": "intake-calendar-sync/1", "Accept": "text/calendar, */*;q=0.5"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    opener = urllib.request.build_opener(_CheckedRedirects(allow_private),
                                         _GuardedHTTP(allow_private),
                                         _GuardedHTTPS(allow_private))
    deadline = clock.monotonic() + timeout
    try:
        request = urllib.request.Request(url, headers=headers)  # noqa: S310  (checked above)
        with opener.open(request, timeout=timeout) as reply:
            chunks, size = [], 0
            while chunk := reply.read(64 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    raise ImportProblem(f"That calendar is larger than we accept "
                                        f"({max_bytes // (1024 * 1024)} MB).")
                if clock.monotonic() > deadline:
                    raise ImportProblem("The calendar server didn't answer in time.")
                chunks.append(chunk)
            return Fetched(b"".join(chunks), reply.headers.get("ETag", ""),
                           reply.headers.get("Last-Modified", ""))
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return Fetched(None, etag, last_modified)
        raise ImportProblem(f"The calendar server answered with an error ({exc.code}). Check "
                            "the address.") from None
    except TimeoutError:
        raise ImportProblem("The calendar server didn't answer in time.") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError | socket.timeout):
            raise ImportProblem("The calendar server didn't answer in time.") from None
        raise ImportProblem("We couldn't reach the calendar server.") from None
    except (OSError, ValueError):
        raise ImportProblem("We couldn't reach the calendar server.") from None


# ---------------------------------------------------------------- reading busy times


def _instant(value, zone: ZoneInfo) -> datetime:
    """Return a DTSTART/DTEND value as aware UTC (dates and floating times read in `zone`)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=zone)
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=zone).astimezone(UTC)
    raise ValueError("not a date or time")


def busy_from_ics(body: bytes, start: datetime, end: datetime,
                  zone: str) -> list[tuple[datetime, datetime]]:
    """Return the busy intervals (UTC, sorted) of a calendar that touch [start, end).

    Recurring events are expanded, free (TRANSP:TRANSPARENT) and cancelled events ignored,
    times read in their own zones (Google's X-WR-TIMEZONE repaired); nothing else is kept.
    """
    try:
        calendar = Calendar.from_ical(body)
        if calendar.name != "VCALENDAR":
            raise ValueError("not a calendar")
        calendar = x_wr_timezone.to_standard(calendar)
        occurrences = recurring_ical_events.of(calendar).between(start, end)
    except Exception:  # noqa: BLE001  (any parser failure means the same to the therapist)
        raise ImportProblem("That address didn't return a calendar we can read.") from None
    tz = ZoneInfo(zone)
    busy = []
    for event in occurrences:
        if event.name != "VEVENT":
            continue
        if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
            continue
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        try:
            s = _instant(event["DTSTART"].dt, tz)
            e = _instant(event["DTEND"].dt, tz) if "DTEND" in event else (
                s + (event["DURATION"].dt if "DURATION" in event else timedelta(0)))
        except (KeyError, ValueError, AttributeError, TypeError):
            continue
        if e > s:
            busy.append((s, e))
    return sorted(busy)


def busy_from_caldav(url: str, username: str, password: str, start: datetime, end: datetime,
                     zone: str, *, allow_private: bool, timeout: float
                     ) -> list[tuple[datetime, datetime]]:
    """Return the busy intervals of a CalDAV calendar between start and end."""
    import caldav
    from caldav.lib import error as dav_error

    check_address(url, allow_private)
    try:
        with caldav.DAVClient(url=url, username=username or None, password=password or None,
                              timeout=timeout) as client:
            calendar = client.calendar(url=url)
            found = calendar.search(start=start, end=end, event=True, expand=False)
            bodies = [item.data.encode() if isinstance(item.data, str) else item.data
                      for item in found]
    except dav_error.AuthorizationError:
        raise ImportProblem("The calendar refused the username or password.") from None
    except dav_error.NotFoundError:
        raise ImportProblem("There is no calendar at that address.") from None
    except dav_error.DAVError:
        raise ImportProblem("The calendar server answered with an error. Check the "
                            "address.") from None
    except Exception:  # noqa: BLE001  (network failures surface from several libraries)
        raise ImportProblem("We couldn't reach the calendar server.") from None
    busy = []
    for body in bodies:
        busy.extend(busy_from_ics(body, start, end, zone))
    return sorted(busy)


# ---------------------------------------------------------------- stored calendars


def _box() -> Fernet:
    """Return the cipher for stored calendar passwords, keyed from the app's secret."""
    key = hashlib.sha256(("calendar-secrets:" + current_app.config["SECRET_KEY"]).encode())
    return Fernet(base64.urlsafe_b64encode(key.digest()))


def _settings() -> dict:
    cfg = current_app.config
    return {"allow_private": cfg["CALENDAR_ALLOW_PRIVATE"], "timeout": cfg["CALENDAR_TIMEOUT"]}


def connect(therapist_id: int, kind: str, url: str, username: str, password: str,
            by_user_id: int | None) -> ExternalCalendar:
    """Connect a calendar (checking its address first) and return it; it is read at once."""
    url = (url or "").strip()
    if url.startswith("webcal://"):
        url = "https://" + url[len("webcal://"):]
    if kind not in (ICS, CALDAV):
        raise ImportProblem("Choose an ICS address or a CalDAV calendar.")
    if len(url) > 2000:
        raise ImportProblem("That address is too long.")
    check_address(url, current_app.config["CALENDAR_ALLOW_PRIVATE"])
    with unit_of_work() as session:
        row = ExternalCalendar(therapist_id=therapist_id, kind=kind, url=url,
                               username=(username or "").strip()[:200], created_at=now_utc(),
                               secret=_box().encrypt(password.encode()).decode()
                               if password else "")
        session.add(row)
        session.flush()
        audit.record(session, "edit_calendars", by_user_id, "therapist", therapist_id,
                     detail=f"connected {kind}")
    sync(row.id)
    return row


def disconnect(therapist_id: int, calendar_id: int, by_user_id: int | None) -> None:
    """Remove a connected calendar and every busy time read from it."""
    with unit_of_work() as session:
        row = session.get(ExternalCalendar, calendar_id)
        if row is None or row.therapist_id != therapist_id:
            raise ImportProblem("That calendar is no longer connected.")
        session.execute(sa.delete(BusyInterval).where(BusyInterval.calendar_id == calendar_id))
        session.delete(row)
        audit.record(session, "edit_calendars", by_user_id, "therapist", therapist_id,
                     detail="disconnected")


def sync(calendar_id: int, now: datetime | None = None) -> bool:
    """Read one calendar and replace its busy times; return True on success.

    A failure is recorded on the calendar in plain words and changes nothing else.
    """
    now = now or now_utc()
    row = db.session.get(ExternalCalendar, calendar_id)
    if row is None:
        return False
    zone = db.session.get(Therapist, row.therapist_id).timezone
    start, end = now - BEHIND, now + AHEAD
    etag, modified = row.etag, row.last_modified
    try:
        if row.kind == ICS:
            fetched = fetch_ics(row.url, row.etag, row.last_modified,
                                max_bytes=current_app.config["CALENDAR_MAX_BYTES"],
                                **_settings())
            busy = None if fetched.body is None else busy_from_ics(
                fetched.body, start, end, zone)
            etag, modified = fetched.etag, fetched.last_modified
        else:
            try:
                password = _box().decrypt(row.secret.encode()).decode() if row.secret else ""
            except InvalidToken:
                raise ImportProblem("Please connect this calendar again with its "
                                    "password.") from None
            busy = busy_from_caldav(row.url, row.username, password, start, end, zone,
                                    **_settings())
    except ImportProblem as problem:
        with unit_of_work() as session:
            failed = session.get(ExternalCalendar, calendar_id)
            failed.last_attempt_at = now
            failed.last_error = problem.message[:300]
        return False
    with unit_of_work() as session:
        done = session.get(ExternalCalendar, calendar_id)
        done.last_attempt_at = done.last_synced_at = now
        done.last_error = ""
        done.etag, done.last_modified = etag[:200], modified[:100]
        if busy is not None:
            session.execute(sa.delete(BusyInterval).where(
                BusyInterval.calendar_id == calendar_id))
            session.add_all(BusyInterval(calendar_id=calendar_id, therapist_id=done.therapist_id,
                                         starts_at=s, ends_at=e) for s, e in busy)
            done.busy_count = len(busy)
    return True


def sync_due(now: datetime | None = None) -> tuple[int, int]:
    """Read every calendar not tried in the last CALENDAR_SYNC_MINUTES; return (read, failed).

    One calendar's failure never stops the others.
    """
    now = now or now_utc()
    since = now - timedelta(minutes=current_app.config["CALENDAR_SYNC_MINUTES"])
    due = db.session.scalars(sa.select(ExternalCalendar.id).where(sa.or_(
        ExternalCalendar.last_attempt_at.is_(None), ExternalCalendar.last_attempt_at <= since))
        .order_by(ExternalCalendar.id)).all()
    read = failed = 0
    for calendar_id in due:
        if sync(calendar_id, now):
            read += 1
        else:
            failed += 1
    return read, failed


def calendars_of(therapist_id: int) -> list[ExternalCalendar]:
    """Return the therapist's connected calendars, oldest first."""
    return list(db.session.scalars(sa.select(ExternalCalendar).where(
        ExternalCalendar.therapist_id == therapist_id).order_by(ExternalCalendar.id)))
