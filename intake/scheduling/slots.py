"""Open times, computed from plain values: no Flask, no database.

All instants are aware UTC datetimes. Weekly hours are wall-clock times in the therapist's zone
and are turned into instants day by day, so daylight-saving changes are handled by `zoneinfo`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

GRID = timedelta(minutes=15)  # a start after busy time is rounded up to this grid


@dataclass(frozen=True)
class HoursRange:
    """Working hours on one weekday (0 = Monday), wall clock in the therapist's zone."""

    weekday: int
    starts: time
    ends: time


@dataclass(frozen=True)
class Rules:
    """A therapist's booking rules."""

    timezone: str
    length: timedelta
    buffer: timedelta = timedelta(0)
    min_notice: timedelta = timedelta(hours=24)
    horizon: timedelta = timedelta(days=28)


@dataclass(frozen=True, order=True)
class Slot:
    """An open time: [starts_at, ends_at) in UTC."""

    starts_at: datetime
    ends_at: datetime


def working_intervals(
    hours: Iterable[HoursRange], zone: str, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Return the working intervals (UTC, sorted) that touch [start, end).

    Each day's ranges are placed on that local date in `zone`; a range whose local start
    falls in a spring-forward gap begins at the first real instant after it.
    """
    tz = ZoneInfo(zone)
    by_day: dict[int, list[HoursRange]] = {}
    for item in hours:
        by_day.setdefault(item.weekday, []).append(item)
    out = []
    day: date = start.astimezone(tz).date() - timedelta(days=1)
    last: date = end.astimezone(tz).date() + timedelta(days=1)
    while day <= last:
        for item in by_day.get(day.weekday(), ()):
            s = local_instant(day, item.starts, tz)
            e = local_instant(day, item.ends, tz)
            if s < e and e > start and s < end:
                out.append((s, e))
        day += timedelta(days=1)
    out.sort()
    return out


def local_instant(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """Return the UTC instant of a wall-clock time on a local date.

    A repeated wall time (autumn) means its first occurrence; a skipped one (spring) is read
    with the offset in force before the change, which places it just after the gap.
    """
    return datetime.combine(day, wall, tzinfo=tz).astimezone(UTC)


def open_slots(
    hours: Sequence[HoursRange],
    rules: Rules,
    busy: Iterable[tuple[datetime, datetime]],
    now: datetime,
    window_start: datetime,
    window_end: datetime,
) -> list[Slot]:
    """Return the open times that start inside [window_start, window_end), sorted.

    A time is open when it lies wholly inside working hours, starts no sooner than
    `now + min_notice` and before `now + horizon`, and keeps `buffer` clear of every busy
    interval (appointments, holds, time off, imported busy times). Offered times never overlap
    each other: after one, the next starts `buffer` later.
    """
    earliest = now + rules.min_notice
    latest = now + rules.horizon
    lo = max(window_start, earliest)
    hi = min(window_end, latest)
    if lo >= hi:
        return []
    blocked = _merge((s - rules.buffer, e + rules.buffer) for s, e in busy if e > s)
    slots: list[Slot] = []
    for begin, finish in working_intervals(hours, rules.timezone, lo - rules.length, hi):
        # Positions are walked from the start of the working range whatever the window, so a
        # time offered on one page is still offered when the booking is checked.
        cursor = begin
        while cursor + rules.length <= finish and cursor < hi:
            end = cursor + rules.length
            clash = _first_overlap(blocked, cursor, end)
            if clash is not None:
                cursor = _align(clash, begin)
                continue
            if cursor >= lo and (not slots or slots[-1].ends_at + rules.buffer <= cursor):
                slots.append(Slot(cursor, end))
            cursor = end + rules.buffer
    return sorted(set(slots))


def _first_overlap(
    blocked: list[tuple[datetime, datetime]], start: datetime, end: datetime
) -> datetime | None:
    """Return the end of the first blocked interval overlapping [start, end), or None."""
    for s, e in blocked:
        if s >= end:
            return None
        if e > start:
            return e
    return None


def _merge(intervals: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Return the intervals sorted with overlapping or touching ones joined."""
    merged: list[tuple[datetime, datetime]] = []
    for s, e in sorted(intervals):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def subtract(
    intervals: Iterable[tuple[datetime, datetime]], removed: Iterable[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    """Return the parts of `intervals` that no interval of `removed` covers, sorted and joined."""
    out: list[tuple[datetime, datetime]] = []
    cuts = _merge(removed)
    for s, e in _merge(intervals):
        for cut_start, cut_end in cuts:
            if cut_end <= s or cut_start >= e:
                continue
            if cut_start > s:
                out.append((s, cut_start))
            s = max(s, cut_end)
            if s >= e:
                break
        if s < e:
            out.append((s, e))
    return out


def bookable_span(hours: Iterable[HoursRange], rules: Rules, now: datetime
                  ) -> list[tuple[datetime, datetime]]:
    """Return the working time (UTC, joined) that clients may book from `now`: between the
    minimum notice and the horizon."""
    start, end = now + rules.min_notice, now + rules.horizon
    return [(max(s, start), min(e, end)) for s, e in _merge(
        working_intervals(hours, rules.timezone, start, end)) if s < end and e > start]


def _align(instant: datetime, origin: datetime) -> datetime:
    """Return the first instant at or after `instant` on the GRID counted from `origin`.

    `instant` is never before `origin` (the walk only moves forward from a range's start).
    """
    return origin + -(-(instant - origin) // GRID) * GRID


def within_hours(
    hours: Iterable[HoursRange], zone: str, start: datetime, end: datetime
) -> bool:
    """Return True when [start, end) lies wholly inside one working range."""
    return any(s <= start and end <= e for s, e in working_intervals(hours, zone, start, end))
