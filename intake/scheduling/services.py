"""Open times for a stored therapist: reads only the requested window, then the pure core."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from ..appointments.models import ACTIVE_STATUSES, OPEN, Appointment, Proposal
from ..calendars.models import BusyInterval
from ..extensions import db
from ..therapists.models import Therapist
from .models import TimeOff
from .slots import HoursRange, Rules, Slot, open_slots
from .weeks import week_span

# The longest appointment or time off that can reach into a window from before it starts.
LOOKBACK = timedelta(days=1)


def rules_for(therapist: Therapist) -> Rules:
    """Return the therapist's booking rules as plain values."""
    return Rules(
        timezone=therapist.timezone,
        length=timedelta(minutes=therapist.consultation_minutes),
        buffer=timedelta(minutes=therapist.buffer_minutes),
        min_notice=timedelta(hours=therapist.min_notice_hours),
        horizon=timedelta(days=therapist.horizon_days),
    )


def hours_for(therapist: Therapist) -> tuple[HoursRange, ...]:
    """Return the therapist's weekly hours as plain values."""
    return tuple(HoursRange(h.weekday, h.starts, h.ends) for h in therapist.hours)


def _touching(model, therapist_id: int, start: datetime, end: datetime, *conditions,
              lookback: timedelta | None = LOOKBACK) -> list:
    """Return (starts_at, ends_at) rows of `model` for the therapist that touch [start, end),
    read through its (therapist_id, starts_at) index."""
    bounds = [model.therapist_id == therapist_id, model.starts_at < end, model.ends_at > start]
    if lookback is not None:
        bounds.append(model.starts_at >= start - lookback)
    return db.session.execute(
        sa.select(model.starts_at, model.ends_at).where(*bounds, *conditions)).all()


def busy_between(
    therapist_id: int, start: datetime, end: datetime, ignore: int | None = None
) -> list[tuple[datetime, datetime]]:
    """Return busy intervals (appointments, open proposals, time off, imported busy times)
    touching [start, end).

    Appointments are read through the (therapist_id, starts_at) index, bounded on both sides;
    `ignore` leaves out one appointment (the one being moved).
    """
    appointments = _touching(Appointment, therapist_id, start, end,
                             Appointment.status.in_(ACTIVE_STATUSES),
                             Appointment.id != (ignore or 0))
    # Time off can be long, so it is bounded by its end rather than by LOOKBACK.
    off = _touching(TimeOff, therapist_id, start, end, lookback=None)
    proposed = _touching(Proposal, therapist_id, start, end, Proposal.status == OPEN)
    imported = _touching(BusyInterval, therapist_id, start, end)
    return [(s, e) for s, e in [*appointments, *off, *proposed, *imported]]


def open_times(
    therapist: Therapist, start: datetime, end: datetime, now: datetime,
    ignore: int | None = None,
) -> list[Slot]:
    """Return the therapist's open times starting inside [start, end) (`ignore`: an
    appointment whose own time counts as free, when moving it)."""
    rules = rules_for(therapist)
    # Positions within a working range depend on the busy times earlier in that range, so read
    # a day either side: every range touching the window (none is longer than a day) is seen
    # whole, and a time offered on a page is judged the same way when it is booked.
    busy = busy_between(therapist.id, start - timedelta(days=1), end + timedelta(days=1),
                        ignore)
    return open_slots(hours_for(therapist), rules, busy, now, start, end)


def next_open_times(therapist: Therapist, now: datetime, count: int = 3) -> list[Slot]:
    """Return up to `count` of the therapist's soonest open times, a week at a time."""
    found: list[Slot] = []
    start = now
    limit = now + timedelta(days=therapist.horizon_days)
    while start < limit and len(found) < count:
        end = min(start + timedelta(days=7), limit)
        found.extend(open_times(therapist, start, end, now))
        start = end
    return found[:count]


def is_open(
    therapist: Therapist, starts_at: datetime, now: datetime, ignore: int | None = None
) -> bool:
    """Return True when `starts_at` is one of the therapist's open times right now."""
    slots = open_times(therapist, starts_at, starts_at + timedelta(minutes=1), now, ignore)
    return any(s.starts_at == starts_at for s in slots)


def week_of_times(
    therapist: Therapist, zone: str, monday: date, now: datetime, ignore: int | None = None
) -> dict:
    """Return one week of open times for display: days in `zone`, each with its slots."""
    tz = ZoneInfo(zone)
    start, end = week_span(monday, zone)
    slots = open_times(therapist, start, end, now, ignore)
    days = []
    for offset in range(7):
        d = monday + timedelta(days=offset)
        days.append((d, [s for s in slots if s.starts_at.astimezone(tz).date() == d]))
    today = now.astimezone(tz).date()
    horizon = (now + timedelta(days=therapist.horizon_days)).astimezone(tz).date()
    return {
        "days": days,
        "monday": monday,
        "previous": monday - timedelta(days=7) if monday > today else None,
        "next": monday + timedelta(days=7) if monday + timedelta(days=7) <= horizon else None,
        "count": len(slots),
    }
