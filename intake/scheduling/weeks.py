"""Weeks as the pages show them: which Monday was asked for, and a local week in UTC. Pure."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def monday_of(asked: str | None, today: date) -> date:
    """Return the Monday of the week holding `asked` (`YYYY-MM-DD`), or of `today`'s week when
    nothing, or no date, was asked for."""
    try:
        day = date.fromisoformat(asked) if asked else today
    except ValueError:
        day = today
    return day - timedelta(days=day.weekday())


def week_span(monday: date, zone: str) -> tuple[datetime, datetime]:
    """Return the UTC instants of midnight on `monday` and on the Monday after, in `zone`."""
    tz = ZoneInfo(zone)
    start = datetime.combine(monday, time(0), tzinfo=tz)
    end = datetime.combine(monday + timedelta(days=7), time(0), tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)
