"""Weeks as the pages show them: which Monday was asked for, a local week in UTC, and a week
of open times laid out by day. Pure."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .slots import Slot

FARTHEST = timedelta(days=5 * 366)  # a week further from today than this is nobody's meaning


def monday_of(asked: str | None, today: date) -> date:
    """Return the Monday of the week holding `asked` (`YYYY-MM-DD`), or of `today`'s week when
    nothing, no date, or a date further than FARTHEST from today was asked for."""
    try:
        day = date.fromisoformat(asked) if asked else today
    except ValueError:
        day = today
    if abs(day - today) > FARTHEST:
        day = today
    return day - timedelta(days=day.weekday())


def week_span(monday: date, zone: str) -> tuple[datetime, datetime]:
    """Return the UTC instants of midnight on `monday` and on the Monday after, in `zone`."""
    tz = ZoneInfo(zone)
    start = datetime.combine(monday, time(0), tzinfo=tz)
    end = datetime.combine(monday + timedelta(days=7), time(0), tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def week_of(slots: list[Slot], zone: str, monday: date, now: datetime,
            horizon: timedelta) -> dict:
    """Return the week starting `monday` for display: its days in `zone`, each with the open
    times of `slots` that start on it, and the weeks before and after when they can hold any
    (none before this week, none past the horizon)."""
    tz = ZoneInfo(zone)
    by_day: dict[date, list[Slot]] = {monday + timedelta(days=n): [] for n in range(7)}
    for slot in slots:
        day = slot.starts_at.astimezone(tz).date()
        if day in by_day:
            by_day[day].append(slot)
    today = now.astimezone(tz).date()
    last = (now + horizon).astimezone(tz).date()
    return {
        "days": list(by_day.items()),
        "monday": monday,
        "previous": monday - timedelta(days=7) if monday > today else None,
        "next": monday + timedelta(days=7) if monday + timedelta(days=7) <= last else None,
        "count": sum(len(day) for day in by_day.values()),
    }
