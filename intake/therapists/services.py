"""Changing a therapist's profile, weekly hours, booking rules and time off."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from io import BytesIO
from urllib.parse import urlsplit

import sqlalchemy as sa
from PIL import Image, ImageOps

from .. import audit
from ..appointments.models import ACTIVE_STATUSES, Appointment
from ..clock import now_utc
from ..database import unit_of_work
from ..errors import UserError
from ..extensions import db
from ..scheduling.models import TimeOff, WeeklyHours, note_freed
from ..scheduling.services import hours_for, rules_for
from ..scheduling.slots import HoursRange, bookable_span, subtract, within_hours
from .models import Therapist

PHOTO_MAX = 2 * 1024 * 1024  # bytes, as the form says
PHOTO_PIXELS = 40_000_000  # a phone's largest photo; more is a decompression bomb
PHOTO_SIDE = 800  # the largest side kept: shown at 72 to 120 pixels, sharp on any screen
PHOTO_FORMATS = ("PNG", "JPEG", "WEBP")
PROFILE_FIELDS = ("name", "credentials", "pronouns", "bio", "modalities", "concerns",
                  "languages", "formats", "accepting_new_clients", "auto_confirm", "video_room")
TEXT_FIELDS = ("name", "credentials", "pronouns", "bio", "video_room")
RULE_FIELDS = ("buffer_minutes", "min_notice_hours", "horizon_days", "consultation_minutes")


class ChangeError(UserError):
    """A change to a therapist's profile, hours or time off that cannot be saved."""


@dataclass
class Stranded(Exception):
    """Saving would leave these active appointments outside hours or inside time off."""

    appointments: list


def check_room(address: str) -> None:
    """Raise ChangeError unless `address` is empty or a plain https address of a video room
    (a host, no user name or password in it, no spaces)."""
    if not address:
        return
    parts = urlsplit(address)
    if (parts.scheme != "https" or not parts.hostname or parts.username or parts.password
            or any(ch.isspace() or ord(ch) < 32 for ch in address) or len(address) > 500):
        raise ChangeError("Please give the room's full https:// address, for example "
                          "https://meet.example.org/your-room.", "video_room")


def clean_photo(data: bytes) -> tuple[bytes, str]:
    """Return an uploaded photo decoded and made again as a JPEG, with its type.

    Only what Pillow can decode as PNG, JPEG or WebP is accepted (a file that only starts like
    an image is not), within PHOTO_MAX bytes and PHOTO_PIXELS pixels, checked before the pixels
    are read. Turned upright as its EXIF says, shrunk to PHOTO_SIDE and saved with no metadata
    at all: a phone photo's EXIF can carry where it was taken.
    """
    if len(data) > PHOTO_MAX:
        raise ChangeError("Please choose a photo under 2 MB.", "photo")
    try:
        with Image.open(BytesIO(data), formats=PHOTO_FORMATS) as image:
            width, height = image.size
            if width * height > PHOTO_PIXELS:
                raise ChangeError("That image has too many pixels. Please choose a photo of "
                                  "at most 40 megapixels.", "photo")
            image = ImageOps.exif_transpose(image)
            image.thumbnail((PHOTO_SIDE, PHOTO_SIDE))
            if image.mode != "RGB":
                flat = Image.new("RGB", image.size, "white")
                image = image.convert("RGBA")
                flat.paste(image, mask=image.getchannel("A"))
                image = flat
            out = BytesIO()
            image.save(out, "JPEG", quality=85, optimize=True)
    except ChangeError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise ChangeError("Please choose a PNG, JPEG or WebP image.", "photo") from None
    return out.getvalue(), "image/jpeg"


def update_profile(therapist_id: int, values: dict, photo: bytes | None, by_user_id: int,
                   remove_photo: bool = False) -> Therapist:
    """Save the profile fields (and photo, made again by `clean_photo`); return the
    therapist."""
    photo, kind = clean_photo(photo) if photo else (None, None)
    check_room((values.get("video_room") or "").strip())
    with unit_of_work() as session:
        therapist = session.get(Therapist, therapist_id)
        for key in PROFILE_FIELDS:
            if key in values:
                value = values[key]
                if key in TEXT_FIELDS:
                    value = (value or "").strip()
                setattr(therapist, key, value)
        if kind:
            therapist.photo, therapist.photo_type = photo, kind
        elif remove_photo:
            therapist.photo, therapist.photo_type = None, ""
        audit.record(session, "edit_profile", by_user_id, "therapist", therapist_id)
    return therapist


def set_invite_emails(therapist_id: int, wanted: bool, by_user_id: int | None) -> None:
    """Turn the therapist's invite email for each appointment on or off (recorded)."""
    with unit_of_work() as session:
        session.get(Therapist, therapist_id).invite_emails = wanted
        audit.record(session, "edit_invite_emails", by_user_id, "therapist", therapist_id,
                     detail="on" if wanted else "off")


def validate_ranges(ranges: list[tuple[int, time, time]]) -> None:
    """Raise ChangeError for a range that ends before it starts or overlaps another that day."""
    by_day: dict[int, list[tuple[time, time]]] = {}
    for day, start, end in ranges:
        if end <= start:
            raise ChangeError("Each range must end after it starts.", f"day{day}")
        by_day.setdefault(day, []).append((start, end))
    for day, items in by_day.items():
        items.sort()
        for (_, end), (start, _) in zip(items, items[1:], strict=False):
            if start < end:
                raise ChangeError("Ranges on the same day must not overlap.", f"day{day}")


def _upcoming(session, therapist_id: int, now: datetime) -> list[Appointment]:
    """Return the therapist's active appointments that have not started yet."""
    return list(session.scalars(sa.select(Appointment).where(
        Appointment.therapist_id == therapist_id, Appointment.status.in_(ACTIVE_STATUSES),
        Appointment.starts_at >= now).order_by(Appointment.starts_at)))


def set_hours(therapist_id: int, ranges: list[tuple[int, time, time]], rules: dict,
              by_user_id: int, accept_stranded: bool = False,
              now: datetime | None = None) -> Therapist:
    """Replace the weekly hours and booking rules; return the therapist.

    Raises ChangeError for bad values, and Stranded (saving nothing) when existing appointments
    would fall outside the new hours, unless `accept_stranded`.
    """
    now = now or now_utc()
    validate_ranges(ranges)
    for key in RULE_FIELDS:
        if rules.get(key) is None or rules[key] < 0:
            raise ChangeError("Please give a number of zero or more.", key)
    if rules["consultation_minutes"] < 10:
        raise ChangeError("A consultation needs at least 10 minutes.", "consultation_minutes")
    if rules["horizon_days"] < 1:
        raise ChangeError("Let clients book at least one day ahead.", "horizon_days")
    with unit_of_work() as session:
        therapist = session.get(Therapist, therapist_id)
        plain = [HoursRange(d, s, e) for d, s, e in ranges]
        stranded = [a for a in _upcoming(session, therapist_id, now)
                    if not within_hours(plain, therapist.timezone, a.starts_at, a.ends_at)]
        if stranded and not accept_stranded:
            raise Stranded(stranded)
        before = bookable_span(hours_for(therapist), rules_for(therapist), now)
        therapist.hours = [WeeklyHours(weekday=d, starts=s, ends=e) for d, s, e in ranges]
        for key in RULE_FIELDS:
            setattr(therapist, key, rules[key])
        # Time clients can book now and could not before (more hours, a shorter notice, a
        # further horizon) is freed time for the waitlist.
        for start, end in subtract(bookable_span(plain, rules_for(therapist), now), before):
            note_freed(session, therapist_id, start, end, now)
        audit.record(session, "edit_hours", by_user_id, "therapist", therapist_id,
                     detail=f"{len(ranges)} ranges")
    return therapist


def add_time_off(therapist_id: int, starts_at: datetime, ends_at: datetime, note: str,
                 by_user_id: int, accept_stranded: bool = False,
                 now: datetime | None = None) -> TimeOff:
    """Add time off; return it. Raises ChangeError or Stranded like `set_hours`."""
    now = now or now_utc()
    if ends_at <= starts_at:
        raise ChangeError("Time off must end after it starts.", "ends")
    if ends_at <= now:
        raise ChangeError("That time off is already over. Choose a time in the future.", "ends")
    if ends_at - starts_at > timedelta(days=366):
        raise ChangeError("Please add time off a year at a time at most.", "ends")
    with unit_of_work() as session:
        stranded = [a for a in _upcoming(session, therapist_id, now - timedelta(days=1))
                    if a.starts_at < ends_at and starts_at < a.ends_at]
        if stranded and not accept_stranded:
            raise Stranded(stranded)
        off = TimeOff(therapist_id=therapist_id, starts_at=starts_at, ends_at=ends_at,
                      note=(note or "").strip()[:200])
        session.add(off)
        session.flush()
        audit.record(session, "edit_time_off", by_user_id, "therapist", therapist_id,
                     detail="added")
    return off


def remove_time_off(therapist_id: int, time_off_id: int, by_user_id: int) -> None:
    """Delete one period of time off of this therapist."""
    with unit_of_work() as session:
        off = session.get(TimeOff, time_off_id)
        if off is None or off.therapist_id != therapist_id:
            raise ChangeError("That time off no longer exists.")
        session.delete(off)
        note_freed(session, therapist_id, off.starts_at, off.ends_at)
        audit.record(session, "edit_time_off", by_user_id, "therapist", therapist_id,
                     detail="removed")


def upcoming_time_off(therapist_id: int) -> list[TimeOff]:
    """Return the therapist's current and future time off, soonest first."""
    return list(db.session.scalars(sa.select(TimeOff).where(
        TimeOff.therapist_id == therapist_id, TimeOff.ends_at > now_utc())
        .order_by(TimeOff.starts_at)))
