"""Busy times from a therapist's own calendar: an ICS address or a CalDAV calendar.

Both kinds are read through the one guarded client in `fetch.py` (a server-side request to an
address someone typed), and only by the worker: a web request never waits on a calendar server.
Only when each busy time starts and ends is kept.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import xml.etree.ElementTree as ET  # noqa: N817
from datetime import UTC, date, datetime, time, timedelta
from time import monotonic
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import recurring_ical_events
import sqlalchemy as sa
import x_wr_timezone
from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from icalendar import Calendar

from .. import audit
from ..clock import now_utc
from ..database import unit_of_work
from ..extensions import db
from ..therapists.models import Therapist
from .fetch import CalendarProblem, check_address, fetch, fetch_ics
from .models import BusyInterval, ExternalCalendar

log = logging.getLogger(__name__)

ICS = "ics"
CALDAV = "caldav"
AHEAD = timedelta(days=400)
BEHIND = timedelta(days=1)


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
        # Lazily, earliest first, so a rule repeating every second stops at the cap instead of
        # expanding for minutes.
        occurrences = recurring_ical_events.of(calendar).after(start)
        busy = _busy_times(occurrences, end, ZoneInfo(zone))
    except CalendarProblem:
        raise
    except Exception:  # noqa: BLE001  (any parser failure means the same to the therapist)
        raise CalendarProblem("That address didn't return a calendar we can read.") from None
    return sorted(busy)


MAX_OCCURRENCES = 20_000  # about 50 events a day for the 400 days read


def _busy_times(occurrences, end: datetime, tz: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """Return the busy intervals among occurrences (earliest first) that start before `end`;
    raise CalendarProblem past MAX_OCCURRENCES."""
    busy = []
    for count, event in enumerate(occurrences):
        if count >= MAX_OCCURRENCES:
            raise CalendarProblem("That calendar has far more events than we can read (perhaps "
                                "an event that repeats every minute). Check its repeating "
                                "events.")
        if event.name != "VEVENT":
            continue
        try:
            s = _instant(event["DTSTART"].dt, tz)
            e = _instant(event["DTEND"].dt, tz) if "DTEND" in event else (
                s + (event["DURATION"].dt if "DURATION" in event else timedelta(0)))
        except (KeyError, ValueError, AttributeError, TypeError):
            continue
        if s >= end:
            break
        if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
            continue
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        if e > s:
            busy.append((s, e))
    return busy


CALDAV_QUERY = """<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><C:calendar-data/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
    <C:time-range start="{start}" end="{end}"/>
  </C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>
"""
CALENDAR_DATA = "{urn:ietf:params:xml:ns:caldav}calendar-data"


def busy_from_caldav(url: str, username: str, password: str, start: datetime, end: datetime,
                     zone: str, *, allow_private: bool, timeout: float, max_bytes: int
                     ) -> list[tuple[datetime, datetime]]:
    """Return the busy intervals of a CalDAV calendar between start and end.

    One calendar-query REPORT (RFC 4791) through the guarded client, so CalDAV gets the same
    address checks, redirect checks, byte cap and total deadline as an ICS address.
    """
    stamp = "%Y%m%dT%H%M%SZ"
    query = CALDAV_QUERY.format(start=start.astimezone(UTC).strftime(stamp),
                                end=end.astimezone(UTC).strftime(stamp))
    try:
        reply = fetch(url, method="REPORT", data=query.encode(),
                      headers={"Depth": "1", "Content-Type": "application/xml; charset=utf-8"},
                      auth=(username, password) if username or password else None,
                      allow_private=allow_private, timeout=timeout, max_bytes=max_bytes)
    except CalendarProblem as problem:
        if problem.status == 401:
            raise CalendarProblem("The calendar refused the username or password.") from None
        if problem.status == 404:
            raise CalendarProblem("There is no calendar at that address.") from None
        raise
    busy = []
    for body in _calendar_data(reply.body or b""):
        busy.extend(busy_from_ics(body, start, end, zone))
    return sorted(busy)


def _calendar_data(multistatus: bytes) -> list[bytes]:
    """Return the calendar-data of each item in a CalDAV multistatus answer."""
    if b"<!DOCTYPE" in multistatus or b"<!ENTITY" in multistatus:
        raise CalendarProblem("That address didn't return a calendar we can read.")
    try:
        root = ET.fromstring(multistatus)  # noqa: S314  (no DTDs, checked above)
    except ET.ParseError:
        raise CalendarProblem("That address didn't return a calendar we can read.") from None
    return [(node.text or "").encode() for node in root.iter(CALENDAR_DATA)
            if (node.text or "").strip()]


# ---------------------------------------------------------------- stored calendars


def _box() -> Fernet:
    """Return the cipher for stored calendar passwords, keyed from the app's secret."""
    key = hashlib.sha256(("calendar-secrets:" + current_app.config["SECRET_KEY"]).encode())
    return Fernet(base64.urlsafe_b64encode(key.digest()))


def _settings() -> dict:
    """Return the guarded client's limits from the CALENDAR_* settings."""
    cfg = current_app.config
    return {"allow_private": cfg["CALENDAR_ALLOW_PRIVATE"], "timeout": cfg["CALENDAR_TIMEOUT"],
            "max_bytes": cfg["CALENDAR_MAX_BYTES"]}


def shown_address(url: str) -> str:
    """Return how a secret calendar address is shown once stored: its scheme and host only."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}/…"


def _sealed(url: str) -> str:
    """Return a calendar address encrypted for storing."""
    return _box().encrypt(url.encode()).decode()


def connect(therapist_id: int, kind: str, url: str, username: str, password: str,
            by_user_id: int | None) -> ExternalCalendar:
    """Connect a calendar (checking its address first) and return it.

    It is not read here: the worker reads it on its next pass, and until then the therapist's
    page says it is being read.
    """
    url = (url or "").strip()
    if url.startswith("webcal://"):
        url = "https://" + url[len("webcal://"):]
    if kind not in (ICS, CALDAV):
        raise CalendarProblem("Choose an ICS address or a CalDAV calendar.")
    if len(url) > 2000:
        raise CalendarProblem("That address is too long.")
    check_address(url, current_app.config["CALENDAR_ALLOW_PRIVATE"])
    # An ICS address is itself the credential (whoever has it reads the whole calendar): it is
    # stored encrypted and shown afterwards by its host alone. A CalDAV calendar's secret is
    # its password.
    if kind == ICS:
        shown, secret = shown_address(url), _sealed(url)
    else:
        shown, secret = url, _sealed(password) if password else ""
    with unit_of_work() as session:
        row = ExternalCalendar(therapist_id=therapist_id, kind=kind, url=shown,
                               username=(username or "").strip()[:200], created_at=now_utc(),
                               secret=secret)
        session.add(row)
        session.flush()
        audit.record(session, "edit_calendars", by_user_id, "therapist", therapist_id,
                     detail=f"connected {kind}")
    return row


def request_read(therapist_id: int, calendar_id: int) -> None:
    """Ask the worker to read a calendar on its next pass."""
    with unit_of_work() as session:
        row = session.get(ExternalCalendar, calendar_id)
        if row is None or row.therapist_id != therapist_id:
            raise CalendarProblem("That calendar is no longer connected.")
        row.last_attempt_at = None


def disconnect(therapist_id: int, calendar_id: int, by_user_id: int | None) -> None:
    """Remove a connected calendar and every busy time read from it."""
    with unit_of_work() as session:
        row = session.get(ExternalCalendar, calendar_id)
        if row is None or row.therapist_id != therapist_id:
            raise CalendarProblem("That calendar is no longer connected.")
        session.execute(sa.delete(BusyInterval).where(BusyInterval.calendar_id == calendar_id))
        session.delete(row)
        audit.record(session, "edit_calendars", by_user_id, "therapist", therapist_id,
                     detail="disconnected")


UNEXPECTED = ("Something unexpected went wrong reading this calendar. We'll try again; if it "
              "keeps happening, remove it and connect it again.")


def sync(calendar_id: int, now: datetime | None = None) -> bool:
    """Read one calendar and replace its busy times; return True on success.

    A failure of any kind is recorded on the calendar in plain words (an unexpected one is
    logged with its traceback too) and changes nothing else.
    """
    now = now or now_utc()
    try:
        outcome = _read(calendar_id, now)
    except CalendarProblem as problem:
        message = problem.message
    except Exception:
        log.exception("reading calendar %s failed unexpectedly", calendar_id)
        db.session.rollback()
        message = UNEXPECTED
    else:
        if outcome is None:
            return False  # removed meanwhile
        _store(calendar_id, now, *outcome)
        return True
    with unit_of_work() as session:
        failed = session.get(ExternalCalendar, calendar_id)
        if failed is not None:
            failed.last_attempt_at = now
            failed.last_error = message[:300]
    return False


def _read(calendar_id: int, now: datetime):
    """Return (busy or None when unchanged, etag, last_modified) for one calendar, or None
    when it no longer exists; raise CalendarProblem when it cannot be read."""
    row = db.session.get(ExternalCalendar, calendar_id)
    if row is None:
        return None
    zone = db.session.get(Therapist, row.therapist_id).timezone
    url, kind, username, secret = row.url, row.kind, row.username, row.secret
    etag, modified = row.etag, row.last_modified
    db.session.rollback()  # no transaction stays open while a server is asked
    start, end = now - BEHIND, now + AHEAD
    if kind == ICS:
        if url.endswith("/…"):  # sealed: the address is the secret
            try:
                url = _box().decrypt(secret.encode()).decode()
            except InvalidToken:
                raise CalendarProblem("Please connect this calendar again.") from None
        else:  # connected before addresses were sealed: seal it now
            with unit_of_work() as session:
                stored = session.get(ExternalCalendar, calendar_id)
                stored.url, stored.secret = shown_address(url), _sealed(url)
        fetched = fetch_ics(url, etag, modified, **_settings())
        busy = None if fetched.body is None else busy_from_ics(fetched.body, start, end, zone)
        return busy, fetched.etag, fetched.last_modified
    try:
        password = _box().decrypt(secret.encode()).decode() if secret else ""
    except InvalidToken:
        raise CalendarProblem("Please connect this calendar again with its password.") from None
    return busy_from_caldav(url, username, password, start, end, zone, **_settings()), "", ""


def _store(calendar_id: int, now: datetime, busy, etag: str, modified: str) -> None:
    """Record a successful read: the new busy times (unless unchanged) and the validators."""
    with unit_of_work() as session:
        done = session.get(ExternalCalendar, calendar_id)
        if done is None:
            return
        done.last_attempt_at = done.last_synced_at = now
        done.last_error = ""
        done.etag, done.last_modified = etag[:200], modified[:100]
        if busy is not None:
            session.execute(sa.delete(BusyInterval).where(
                BusyInterval.calendar_id == calendar_id))
            session.add_all(BusyInterval(calendar_id=calendar_id, therapist_id=done.therapist_id,
                                         starts_at=s, ends_at=e) for s, e in busy)
            done.busy_count = len(busy)


def sync_due(now: datetime | None = None, budget: float | None = None) -> tuple[int, int]:
    """Read calendars not tried in the last CALENDAR_SYNC_MINUTES, never-read ones first, until
    `budget` seconds (default CALENDAR_PASS_SECONDS) are spent; return (read, failed).

    One calendar's failure never stops the others; the ones the budget did not reach stay due
    for the next pass.
    """
    now = now or now_utc()
    cfg = current_app.config
    budget = cfg["CALENDAR_PASS_SECONDS"] if budget is None else budget
    since = now - timedelta(minutes=cfg["CALENDAR_SYNC_MINUTES"])
    due = db.session.scalars(sa.select(ExternalCalendar.id).where(sa.or_(
        ExternalCalendar.last_attempt_at.is_(None), ExternalCalendar.last_attempt_at <= since))
        .order_by(ExternalCalendar.last_attempt_at.is_not(None),
                  ExternalCalendar.last_attempt_at, ExternalCalendar.id)).all()
    stop_at = monotonic() + budget
    read = failed = 0
    for calendar_id in due:
        if monotonic() >= stop_at:
            break
        if sync(calendar_id, now):
            read += 1
        else:
            failed += 1
    return read, failed


def calendars_of(therapist_id: int) -> list[ExternalCalendar]:
    """Return the therapist's connected calendars, oldest first."""
    return list(db.session.scalars(sa.select(ExternalCalendar).where(
        ExternalCalendar.therapist_id == therapist_id).order_by(ExternalCalendar.id)))
