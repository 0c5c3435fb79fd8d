"""Showing instants to people: in their own zone, with the zone named."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import dates
from flask import Flask
from flask_babel import gettext

from . import i18n
from .choices import N_
from .redirects import same_site

# The zones most clients of a US practice are in, with the names people use for them, first in
# the picker; every other zone follows by its place.
COMMON_ZONES = {
    "America/New_York": N_("Eastern Time (New York)"),
    "America/Chicago": N_("Central Time (Chicago)"),
    "America/Denver": N_("Mountain Time (Denver)"),
    "America/Phoenix": N_("Arizona Time (Phoenix)"),
    "America/Los_Angeles": N_("Pacific Time (Los Angeles)"),
    "America/Anchorage": N_("Alaska Time (Anchorage)"),
    "Pacific/Honolulu": N_("Hawaii Time (Honolulu)"),
    "America/Puerto_Rico": N_("Atlantic Time (Puerto Rico)"),
    "America/Halifax": N_("Atlantic Time (Halifax)"),
    "America/Mexico_City": N_("Mexico City time"),
    "America/Bogota": N_("Colombia time (Bogotá)"),
    "America/Sao_Paulo": N_("Brasília time (São Paulo)"),
    "Europe/London": N_("UK time (London)"),
    "Europe/Dublin": N_("Ireland time (Dublin)"),
    "Europe/Paris": N_("Central European Time (Paris)"),
    "Europe/Madrid": N_("Central European Time (Madrid)"),
    "Europe/Berlin": N_("Central European Time (Berlin)"),
    "Asia/Kolkata": N_("India time (Kolkata)"),
    "Asia/Tokyo": N_("Japan time (Tokyo)"),
    "Australia/Sydney": N_("Eastern Australia time (Sydney)"),
    "UTC": N_("UTC"),
}


DEFAULT_ACCENT = "#2f5d62"


def _luminance(rgb: tuple[int, int, int]) -> float:
    """Return the relative luminance of an sRGB colour (WCAG 2)."""
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def accent_colours(wanted: str) -> dict[str, str]:
    """Return the practice's accent ("accent", darkened until white text on it has a contrast
    of at least 4.5:1) and a pale tint of it ("soft"), from `#rrggbb` (the default accent for
    anything else)."""
    value = wanted if re.fullmatch(r"#[0-9a-fA-F]{6}", wanted or "") else DEFAULT_ACCENT
    rgb = tuple(int(value[i:i + 2], 16) for i in (1, 3, 5))
    while 1.05 / (_luminance(rgb) + 0.05) < 4.5:
        rgb = tuple(int(c * 0.9) for c in rgb)
    soft = tuple(round(c + (255 - c) * 0.88) for c in rgb)
    return {"accent": "#{:02x}{:02x}{:02x}".format(*rgb),
            "soft": "#{:02x}{:02x}{:02x}".format(*soft)}


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


# How each language writes a day and a time (Babel's patterns), beside English's own.
PATTERNS = {"es": {"clock": "h:mm a", "day": "EEEE d 'de' MMMM", "short": "EEE d MMM",
                   "year": "EEEE d 'de' MMMM 'de' y"}}


def _babel(instant: datetime, zone: str, kind: str) -> str | None:
    """Return the instant written the page's (or email's) way when that language is not
    English, else None."""
    language = i18n.current()
    if language not in PATTERNS:
        return None
    t = local(instant, zone)
    pattern = PATTERNS[language][kind]
    if kind == "clock":
        return dates.format_time(t, pattern, locale=language)
    return dates.format_date(t, pattern, locale=language)


def clock(instant: datetime, zone: str) -> str:
    """Return the wall-clock time, such as "9:30 am" ("9:30 a. m." in Spanish)."""
    if (written := _babel(instant, zone, "clock")) is not None:
        return written
    t = local(instant, zone)
    return f"{t.hour % 12 or 12}:{t.minute:02d} {'am' if t.hour < 12 else 'pm'}"


def day(instant: datetime, zone: str) -> str:
    """Return the local day, such as "Tuesday 1 December" ("martes 1 de diciembre")."""
    if (written := _babel(instant, zone, "day")) is not None:
        return written
    t = local(instant, zone)
    return f"{t:%A} {t.day} {t:%B}"


def short_day(instant: datetime, zone: str) -> str:
    """Return the local day in short form, such as "Tue 1 Dec" ("mar 1 dic")."""
    if (written := _babel(instant, zone, "short")) is not None:
        return written
    t = local(instant, zone)
    return f"{t:%a} {t.day} {t:%b}"


def when(instant: datetime, zone: str) -> str:
    """Return day, year, time and zone: "Tuesday 1 December 2026, 9:30 am EST"."""
    t = local(instant, zone)
    if (written := _babel(instant, zone, "year")) is not None:
        return f"{written}, {clock(instant, zone)} {t.tzname()}"
    return f"{day(instant, zone)} {t.year}, {clock(instant, zone)} {t.tzname()}"


def zone_name(zone: str) -> str:
    """Return a zone as people say it, in the page's language: the name used where it is
    common ("America/Chicago" -> "Central Time (Chicago)"), else its place ("Europe/Lisbon"
    -> "Lisbon time (Europe)")."""
    if zone in COMMON_ZONES:
        return gettext(COMMON_ZONES[zone])
    if "/" not in zone:
        return zone
    language = i18n.current()
    if language != i18n.DEFAULT:  # Babel knows each place's name in the language
        return first_upper(dates.get_timezone_location(zone, locale=language))
    region, _, city = zone.partition("/")
    return gettext("%(city)s time (%(region)s)", city=city.replace("_", " ").replace("/", ", "),
                   region=region)


_PARTS = {"weekday": ("%a", "EEE"), "Weekday": ("%A", "EEEE"), "month": ("%b", "MMM"),
          "Month": ("%B", "MMMM")}


def date_part(day: date, part: str) -> str:
    """Return one part of a calendar day in the page's language: "weekday" ("Tue", "mar"),
    "Weekday" ("Tuesday", "martes"), "month" ("Dec", "dic") or "Month" ("December",
    "diciembre")."""
    english, pattern = _PARTS[part]
    language = i18n.current()
    if language in PATTERNS:
        return dates.format_date(day, pattern, locale=language)
    return day.strftime(english)


def first_upper(text: str) -> str:
    """Return the text with its first letter upper-case (a Spanish day opening a heading:
    "Martes 1 de diciembre"), the rest as it is."""
    text = str(text)
    return text[:1].upper() + text[1:]


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


def _in_language(cfg, key: str) -> str:
    """Return a setting in the words of the page's language (KEY_ES for Spanish), falling
    back to the setting itself."""
    language = i18n.current()
    return (cfg.get(f"{key}_{language.upper()}") if language != i18n.DEFAULT else None) or cfg[key]


def register(app: Flask) -> None:
    """Make the helpers available as template filters and globals."""
    for fn in (clock, day, short_day, when, zone_name, duration, date_part, first_upper):
        app.add_template_filter(fn)
    app.add_template_global(local)

    @app.context_processor
    def practice():
        cfg = app.config
        return {
            "practice_name": cfg["PRACTICE_NAME"],
            "practice_phone": cfg["PRACTICE_PHONE"],
            "practice_logo": same_site(cfg["PRACTICE_LOGO"]) or "",
            "practice_accent": accent_colours(cfg["PRACTICE_ACCENT"])["accent"],
            "practice_hours": _in_language(cfg, "PRACTICE_HOURS"),
            "callback_within": _in_language(cfg, "CALLBACK_WITHIN"),
            "practice_phone_href": "tel:" + "".join(
                c for c in cfg["PRACTICE_PHONE"] if c.isdigit() or c == "+"
            ),
            "htmx_url": cfg["HTMX_URL"],
            "htmx_integrity": cfg["HTMX_INTEGRITY"],
        }
