"""Showing instants to people: in their own zone, with the zone named."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask


def zone_or(wanted: str | None, fallback: str) -> str:
    """Return `wanted` when it names a time zone we know, else `fallback`."""
    if not wanted:
        return fallback
    try:
        ZoneInfo(wanted)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name far too long
        return fallback
    return wanted


def local(instant: datetime, zone: str) -> datetime:
    """Return the instant as wall-clock time in `zone`."""
    return instant.astimezone(ZoneInfo(zone))


def clock(instant: datetime, zone: str) -> str:
    """Return the wall-clock time, such as "9:30 am"."""
    t = local(instant, zone)
    return f"{t.hour % 12 or 12}:{t.minute:02d} {'am' if t.hour < 12 else 'pm'}"


def day(instant: datetime, zone: str) -> str:
    """Return the local day, such as "Tuesday 1 December"."""
    t = local(instant, zone)
    return f"{t:%A} {t.day} {t:%B}"


def short_day(instant: datetime, zone: str) -> str:
    """Return the local day in short form, such as "Tue 1 Dec"."""
    t = local(instant, zone)
    return f"{t:%a} {t.day} {t:%b}"


def when(instant: datetime, zone: str) -> str:
    """Return day, year, time and zone: "Tuesday 1 December 2026, 9:30 am EST"."""
    t = local(instant, zone)
    return f"{day(instant, zone)} {t.year}, {clock(instant, zone)} {t.tzname()}"


def zone_name(zone: str) -> str:
    """Return a zone as people say it: "America/New_York" -> "New York (America)"."""
    if "/" not in zone:
        return zone
    region, _, city = zone.partition("/")
    return f"{city.replace('_', ' ').replace('/', ', ')} ({region})"


def duration(span: timedelta) -> str:
    """Return a span as people say it: "45 min", "3 h 20 min", "2 days" ("overdue" if < 0)."""
    minutes = int(span.total_seconds() // 60)
    if minutes < 0:
        return "overdue"
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    return f"{hours // 24} days"


def register(app: Flask) -> None:
    """Make the helpers available as template filters and globals."""
    for fn in (clock, day, short_day, when, zone_name, duration):
        app.add_template_filter(fn)
    app.add_template_global(local)

    @app.context_processor
    def practice():
        cfg = app.config
        return {
            "practice_name": cfg["PRACTICE_NAME"],
            "practice_phone": cfg["PRACTICE_PHONE"],
            "practice_hours": cfg["PRACTICE_HOURS"],
            "callback_within": cfg["CALLBACK_WITHIN"],
            "practice_phone_href": "tel:" + "".join(
                c for c in cfg["PRACTICE_PHONE"] if c.isdigit() or c == "+"
            ),
            "htmx_url": cfg["HTMX_URL"],
            "htmx_integrity": cfg["HTMX_INTEGRITY"],
        }
