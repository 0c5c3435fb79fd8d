"""A therapist's subscription feed: a secret URL, and the calendar it serves.

The token is an HMAC of a random per-rotation salt under the app's secret: it can be shown to
the therapist again, yet only its hash is stored and looked up, and the database alone does not
reveal it. Rotating replaces the salt, and the old URL stops at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from icalendar import Event

from .. import audit, links
from ..appointments.models import CONFIRMED, Appointment, holds_its_time
from ..choices import TELEHEALTH
from ..clock import now_utc
from ..couples.models import JOINED, Partner
from ..database import read, unit_of_work
from ..intakes.models import Intake, initials_of
from ..staff.models import User
from ..therapists.models import Therapist
from .invites import add_conference, new_calendar

BACK = timedelta(days=30)
AHEAD = timedelta(days=365)
FEED_FORMAT = 2  # raise when what the feed shows of an appointment changes


def _token_for(salt: str) -> str:
    """Return the feed token for a salt (256 bits, URL-safe)."""
    digest = hmac.new(current_app.config["SECRET_KEY"].encode(), f"feed:{salt}".encode(),
                      hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_of(therapist: Therapist) -> str | None:
    """Return the therapist's current feed token, or None before the first one is made."""
    return _token_for(therapist.feed_salt) if therapist.feed_salt else None


def rotate(therapist_id: int, by_user_id: int | None) -> str:
    """Give the therapist a new feed URL (the old one stops at once); return the token."""
    salt = secrets.token_urlsafe(16)  # 128 random bits
    token = _token_for(salt)
    with unit_of_work() as session:
        therapist = session.get(Therapist, therapist_id)
        therapist.feed_salt = salt
        therapist.feed_token_hash = _hash(token)
        therapist.feed_rotated_at = now_utc()
        audit.record(session, "rotate_feed", by_user_id, "therapist", therapist_id)
    return token


def revoke(session, therapist_id: int) -> None:
    """Stop the therapist's feed URL (inside the caller's unit of work)."""
    therapist = session.get(Therapist, therapist_id)
    therapist.feed_salt = None
    therapist.feed_token_hash = None


@dataclass(frozen=True)
class FeedVersion:
    """What a conditional request is answered from, without building the feed."""

    therapist_id: int
    etag: str
    changed: datetime


def _window() -> list:
    """Return the conditions for the appointments a feed shows (from `since` to `until`)."""
    return [holds_its_time(Appointment.status),
            Appointment.starts_at >= sa.bindparam("since"),
            Appointment.starts_at < sa.bindparam("until")]


_MINE = Appointment.therapist_id == Therapist.id
_SHOWN = sa.and_(_MINE, *_window())
# One statement: the token's therapist (through the unique index on its hash, none for a
# disabled account) with their schedule version (set afresh by the database on every change of
# an appointment's time, status or sequence), when their appointments last changed (through
# (therapist_id, updated_at): Last-Modified), and the window's count, first and last starts
# (through (therapist_id, starts_at)), which change when time moves one into or out of it.
_VERSION = sa.select(
    Therapist.id, Therapist.feed_rotated_at, Therapist.created_at, Therapist.schedule_version,
    sa.select(sa.func.max(Appointment.updated_at)).where(_MINE).scalar_subquery(),
    sa.select(sa.func.count()).where(_SHOWN).scalar_subquery(),
    sa.select(sa.func.min(Appointment.starts_at)).where(_SHOWN).scalar_subquery(),
    sa.select(sa.func.max(Appointment.starts_at)).where(_SHOWN).scalar_subquery(),
).where(Therapist.feed_token_hash == sa.bindparam("token_hash"),
        ~sa.exists().where(User.therapist_id == Therapist.id, User.active.is_(False)))


def version_for(token: str, now: datetime | None = None) -> FeedVersion | None:
    """Return the feed's ETag and when it last changed, or None when the token opens no feed
    (unknown, rotated, or the therapist's account is disabled); one statement.

    The ETag follows the schedule version, the window's ends and the settings shown in the
    feed, never a clock: a change stamped by a host whose clock is behind still changes it.
    """
    if not token or len(token) > 100:
        return None
    now = now or now_utc()
    values = {"token_hash": _hash(token), "since": now - BACK, "until": now + AHEAD}
    row = read(_VERSION, values).one_or_none()
    if row is None:
        return None
    therapist_id, rotated, created, version, last_change, count, first, last = row
    base = rotated or created
    changed = max(base, last_change or base)
    config = current_app.config
    parts = [FEED_FORMAT, therapist_id, base, version, count, first, last,
             config["PRACTICE_NAME"], config["BASE_URL"]]
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:32]
    return FeedVersion(therapist_id, digest, changed)


@dataclass(frozen=True)
class FeedEvent:
    """One appointment as the feed shows it: no names, no contact details, no reasons."""

    uid: str
    sequence: int
    starts_at: datetime
    ends_at: datetime
    initials: str
    confirmed: bool
    link: str
    stamp: datetime
    room: str = ""  # the video room to join, once an online appointment is confirmed


def build_feed(name: str, events: list[FeedEvent]) -> bytes:
    """Return the feed's iCalendar bytes (no METHOD: a published calendar, not an invite)."""
    cal = new_calendar()
    cal.add("name", name)
    cal.add("x-wr-calname", name)
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    for item in events:
        event = Event()
        event.add("uid", item.uid)
        event.add("sequence", item.sequence)
        event.add("dtstamp", item.stamp)
        event.add("dtstart", item.starts_at)
        event.add("dtend", item.ends_at)
        event.add("summary", f"Consultation: {item.initials}")
        event.add("class", "PRIVATE")
        event.add("status", "CONFIRMED" if item.confirmed else "TENTATIVE")
        event.add("transp", "OPAQUE")
        event.add("description", f"Join the video consultation: {item.room}\n{item.link}"
                  if item.room else item.link)
        if item.room:
            event.add("location", item.room)
            add_conference(event, item.room)
        cal.add_component(event)
    return cal.to_ical()


_FEED = (
    sa.select(Appointment.uid, Appointment.sequence, Appointment.starts_at, Appointment.ends_at,
              Intake.name, Appointment.status, Appointment.id, Appointment.updated_at,
              Appointment.format, Appointment.video_room, Partner.name)
    .join(Intake, Intake.id == Appointment.intake_id)
    # A couple's partner who is on the consultation: their initials beside the client's.
    .outerjoin(Partner, sa.and_(Partner.intake_id == Appointment.intake_id,
                                Partner.status == JOINED))
    .where(Appointment.therapist_id == sa.bindparam("therapist"), *_window())
    .order_by(Appointment.starts_at)
)


def feed_for(therapist_id: int, now: datetime | None = None) -> bytes:
    """Return the therapist's feed: their appointments from BACK ago to AHEAD from now."""
    now = now or now_utc()
    rows = read(
        _FEED, {"therapist": therapist_id, "since": now - BACK, "until": now + AHEAD})
    events = [FeedEvent(uid, sequence, starts_at, ends_at, " & ".join(
                            initials_of(person) for person in (name, partner) if person),
                        status == CONFIRMED, links.staff_appointment_url(appointment_id), stamp,
                        room if status == CONFIRMED and how == TELEHEALTH else "")
              for (uid, sequence, starts_at, ends_at, name, status, appointment_id, stamp, how,
                   room, partner) in rows]
    return build_feed(f"{current_app.config['PRACTICE_NAME']}: consultations", events)
