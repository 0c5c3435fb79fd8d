"""Open times for a stored therapist: reads only the requested window, then the pure core."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from ..appointments.models import OPEN, Appointment, Proposal, holds_its_time
from ..calendars.models import BusyInterval
from ..database import read
from ..therapists.models import Therapist
from .models import TimeOff, WeeklyHours
from .slots import HoursRange, Rules, Slot, open_slots
from .weeks import monday_of, week_of, week_span

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


_HOURS = (
    sa.select(WeeklyHours.therapist_id, WeeklyHours.weekday, WeeklyHours.starts, WeeklyHours.ends)
    .where(WeeklyHours.therapist_id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(WeeklyHours.therapist_id, WeeklyHours.weekday, WeeklyHours.starts)
)


def hours_by_therapist(ids: Collection[int]) -> dict[int, tuple[HoursRange, ...]]:
    """Return the weekly hours of each therapist in `ids`, read in one statement."""
    found: dict[int, list[HoursRange]] = {i: [] for i in ids}
    for therapist_id, weekday, starts, ends in read(_HOURS, {"ids": list(found)}):
        found[therapist_id].append(HoursRange(weekday, starts, ends))
    return {i: tuple(hours) for i, hours in found.items()}


def hours_at_versions(versions: dict[int, int]) -> dict[int, tuple[HoursRange, ...]]:
    """Return the weekly hours of each therapist in `versions` (therapist id: schedule version),
    reading only those not already read at that version: none at all while nothing changed."""
    remembered = current_app.extensions.setdefault("remembered_hours", {})
    stale = [i for i, version in versions.items()
             if remembered.get(i, (None,))[0] != version]
    if stale:
        for therapist_id, hours in hours_by_therapist(stale).items():
            remembered[therapist_id] = (versions[therapist_id], hours)
    return {i: remembered[i][1] for i in versions}


def _touching(model, *conditions, lookback: bool = True) -> sa.Select:
    """Return a select of (therapist_id, starts_at, ends_at) rows of `model` for the therapists
    `ids` that touch [start, end), read through its (therapist_id, starts_at) index; with
    `lookback`, none starting before `since` (start - LOOKBACK) either."""
    bounds = [model.therapist_id.in_(sa.bindparam("ids", expanding=True)),
              model.starts_at < sa.bindparam("end"), model.ends_at > sa.bindparam("start")]
    if lookback:
        bounds.append(model.starts_at >= sa.bindparam("since"))
    return sa.select(model.therapist_id, model.starts_at, model.ends_at).where(
        *bounds, *conditions)


# Built once: only its values change from one page to the next.
_BUSY = sa.union_all(
    _touching(Appointment, holds_its_time(Appointment.status),
              Appointment.id != sa.bindparam("ignore")),
    # Time off can be long, so it is bounded by its end rather than by LOOKBACK.
    _touching(TimeOff, lookback=False),
    _touching(Proposal, Proposal.status == OPEN),
    _touching(BusyInterval),
)


def busy_by_therapist(
    ids: Collection[int], start: datetime, end: datetime, ignore: int | None = None
) -> dict[int, list[tuple[datetime, datetime]]]:
    """Return each therapist's busy intervals (appointments, open proposals, time off,
    imported busy times) touching [start, end), read in one statement whatever their number.

    Each part is read through its (therapist_id, starts_at) index, bounded on both sides;
    `ignore` leaves out one appointment (the one being moved).
    """
    ids = sorted(set(ids))
    found: dict[int, list[tuple[datetime, datetime]]] = {i: [] for i in ids}
    if not ids:
        return found
    values = {"ids": ids, "start": start, "end": end, "since": start - LOOKBACK,
              "ignore": ignore or 0}
    for therapist_id, starts_at, ends_at in read(_BUSY, values):
        found[therapist_id].append((starts_at, ends_at))
    return found


def busy_between(
    therapist_id: int, start: datetime, end: datetime, ignore: int | None = None
) -> list[tuple[datetime, datetime]]:
    """Return the therapist's busy intervals touching [start, end) (see `busy_by_therapist`)."""
    return busy_by_therapist([therapist_id], start, end, ignore)[therapist_id]


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


@dataclass(frozen=True)
class _Remembered:
    """A therapist's open times as computed at `at`, for one version of their schedule."""

    key: tuple
    at: datetime
    slots: tuple[Slot, ...]


REMEMBER_FOR = timedelta(hours=1)


def _remembered() -> dict[int, _Remembered]:
    """Return this app's remembered open times, by therapist id.

    An entry is used only while the therapist's schedule_version (moved by the database on
    every booking, cancellation, expiry, proposal, time off, imported busy time and hours
    change) and booking rules are the ones it was computed for, and for at most REMEMBER_FOR:
    so a time is never offered once it is gone.
    """
    return current_app.extensions.setdefault("remembered_open_times", {})


def forget_open_times() -> None:
    """Drop every remembered open time and weekly hours of this app (the next page reads and
    computes them again)."""
    _remembered().clear()
    current_app.extensions.pop("remembered_hours", None)


def upcoming_times(
    therapists: Sequence[Therapist], now: datetime, count: int | None = None
) -> dict[int, list[Slot]]:
    """Return each therapist's open times from now to the end of their horizon (the first
    `count` of them when given), by therapist id.

    Times computed for the same schedule version and rules within REMEMBER_FOR are reused;
    the others are read in two statements whatever their number (their hours, and their busy
    times over the longest horizon). Each time is judged exactly as `open_times` judges it.
    """
    remembered = _remembered()
    found: dict[int, list[Slot]] = {}
    missing = []
    for therapist in therapists:
        rules = rules_for(therapist)
        entry = remembered.get(therapist.id)
        if (entry is not None and entry.key == (therapist.schedule_version, rules)
                and entry.at <= now < entry.at + REMEMBER_FOR):
            # Computed further ahead than the horizon: only `now` moved since, so keep the
            # times it allows (from its minimum notice to its horizon).
            earliest, latest = now + rules.min_notice, now + rules.horizon
            found[therapist.id] = [s for s in entry.slots if earliest <= s.starts_at < latest]
        else:
            missing.append(therapist)
    if missing:
        ids = [t.id for t in missing]
        ahead = max(timedelta(days=t.horizon_days) for t in missing) + REMEMBER_FOR
        hours = hours_at_versions({t.id: t.schedule_version for t in missing})
        busy = busy_by_therapist(ids, now - timedelta(days=1), now + ahead + timedelta(days=1))
        for therapist in missing:
            rules = rules_for(therapist)
            further = replace(rules, horizon=rules.horizon + REMEMBER_FOR)
            slots = open_slots(hours[therapist.id], further, busy[therapist.id], now, now,
                               now + further.horizon)
            remembered[therapist.id] = _Remembered(
                (therapist.schedule_version, rules), now, tuple(slots))
            found[therapist.id] = [s for s in slots if s.starts_at < now + rules.horizon]
    if count is not None:
        found = {i: slots[:count] for i, slots in found.items()}
    return found


def next_open_times(therapist: Therapist, now: datetime, count: int = 3) -> list[Slot]:
    """Return up to `count` of the therapist's soonest open times."""
    return upcoming_times([therapist], now, count)[therapist.id]


def is_open(
    therapist: Therapist, starts_at: datetime, now: datetime, ignore: int | None = None
) -> bool:
    """Return True when `starts_at` is one of the therapist's open times right now."""
    slots = open_times(therapist, starts_at, starts_at + timedelta(minutes=1), now, ignore)
    return any(s.starts_at == starts_at for s in slots)


def week_to_show(therapist: Therapist, zone: str, asked: str | None, now: datetime) -> dict:
    """Return the week of open times a client sees (see `weeks.week_of`): the week holding
    `asked` (`YYYY-MM-DD`); without one, this week, or the first week that has any times."""
    slots = upcoming_times([therapist], now)[therapist.id]
    horizon = timedelta(days=therapist.horizon_days)
    tz = ZoneInfo(zone)
    week = week_of(slots, zone, monday_of(asked, now.astimezone(tz).date()), now, horizon)
    if week["count"] == 0 and not asked and slots:
        first = slots[0].starts_at.astimezone(tz).date()
        week = week_of(slots, zone, monday_of(None, first), now, horizon)
    return week


def week_of_times(
    therapist: Therapist, zone: str, monday: date, now: datetime, ignore: int | None = None,
    leave_out: datetime | None = None,
) -> dict:
    """Return one week of open times for display (see `weeks.week_of`), without the one
    starting at `leave_out` (the appointment's own time, when moving it)."""
    start, end = week_span(monday, zone)
    slots = [s for s in open_times(therapist, start, end, now, ignore)
             if s.starts_at != leave_out]
    return week_of(slots, zone, monday, now, timedelta(days=therapist.horizon_days))
