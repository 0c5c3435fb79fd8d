"""Weeks as the pages show them: which Monday was asked for, a local week in UTC, and a week
of open times laid out by day. Pure."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .slots import Slot

FARTHEST = timedelta(days=5 * 366)  # a week further from today than this is nobody's meaning


PARTS = ("morning", "afternoon", "evening")


def part_of_day(local: datetime) -> str:
    """Return "morning" (before noon), "afternoon" (noon to 5 pm) or "evening" (from 5 pm) for a
    wall-clock time."""
    if local.time() < time(12):
        return "morning"
    return "afternoon" if local.time() < time(17) else "evening"


def wished(slot: Slot, wishes: frozenset[str] | set[str], zone: str) -> bool:
    """Return True when a time meets the times an intake asked for (parts of the day,
    weekdays or weekends, read in `zone`); with no such wish, every time does."""
    local = slot.starts_at.astimezone(ZoneInfo(zone))
    parts = wishes & set(PARTS)
    days = wishes & {"weekday", "weekend"}
    day = "weekend" if local.weekday() >= 5 else "weekday"
    return (not parts or part_of_day(local) in parts) and (not days or day in days)


def preferred_first(slots: list[Slot], wishes: frozenset[str] | set[str], zone: str,
                    count: int) -> list[Slot]:
    """Return up to `count` of `slots` (soonest first), those meeting the intake's wished
    times before the others, each group in time order."""
    fitting = [s for s in slots if wished(s, wishes, zone)][:count]
    if len(fitting) < count:
        fitting += [s for s in slots if s not in fitting][:count - len(fitting)]
    return fitting


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


def one_day(week: dict, zone: str, asked: str | None,
            wishes: frozenset[str] | set[str] = frozenset()) -> dict:
    """Return one day of a week (see `week_of`) for a small screen: "strip", the days that
    have open times with how many each and whether any is at the times the person asked for
    (`wishes`, see `wished`); "chosen", the day asked for (`YYYY-MM-DD`) when it has times,
    else the first with a time asked for, else the first that has any; and "groups", that
    day's times as (part of the day, times) for the parts that have any."""
    strip = [(day, len(slots), bool(wishes) and any(wished(s, wishes, zone) for s in slots))
             for day, slots in week["days"] if slots]
    by_day = dict(week["days"])
    try:
        chosen = date.fromisoformat(asked) if asked else None
    except ValueError:
        chosen = None
    if not by_day.get(chosen):
        suiting = [day for day, _, fits in strip if fits]
        chosen = (suiting or [day for day, _, _ in strip] or [None])[0]
    tz = ZoneInfo(zone)
    groups: dict[str, list[Slot]] = {part: [] for part in PARTS}
    for slot in by_day.get(chosen, ()):
        groups[part_of_day(slot.starts_at.astimezone(tz))].append(slot)
    return {"strip": strip, "chosen": chosen,
            "groups": [(part, slots) for part, slots in groups.items() if slots]}
