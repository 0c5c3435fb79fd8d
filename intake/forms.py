"""Form pieces every feature uses: choices, checkbox lists, one-line text, instants."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cache
from zoneinfo import available_timezones

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from wtforms import SelectChoice, SelectMultipleField
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from . import i18n
from .formatting import COMMON_ZONES, zone_name

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
LINE_BREAK = re.compile(r"[\r\n\u2028\u2029\x85]")


def options(pairs) -> list[SelectChoice]:
    """Return (value, label) pairs as WTForms choices, each label shown in the page's language
    (the catalogue's words for it, or the label itself)."""
    return [SelectChoice(value, _l(label) if isinstance(label, str) else label)
            for value, label in pairs]


# Old names kept in the zone database for other zones (US/Eastern, Mexico/General, Etc/GMT+5):
# not offered in the pickers.
LEGACY = ("Etc/", "US/", "Mexico/", "Canada/", "Brazil/", "Chile/", "SystemV/")


def timezone_choices() -> list[tuple[str, str]]:
    """Return every IANA zone as (value, label) for the time-zone pickers, in the page's
    language: the common zones first by the names people use ("Central Time (Chicago)"), then
    every other zone by its place, A to Z ("Lisbon time (Europe)")."""
    return _timezone_choices(i18n.current())


@cache
def _timezone_choices(language: str) -> list[tuple[str, str]]:
    """Return `timezone_choices` in `language` (made once per process and language)."""
    zones = {z for z in available_timezones() if "/" in z and not z.startswith(LEGACY)}
    others = sorted(((zone_name(z), z) for z in zones if z not in COMMON_ZONES),
                    key=lambda pair: pair[0].casefold())
    return [*((z, zone_name(z)) for z in COMMON_ZONES), *((value, label)
                                                          for label, value in others)]


def timezone_options() -> list[SelectChoice]:
    """Return the time-zone picker's choices for a form field, in the page's language."""
    return _timezone_options(i18n.current())


@cache
def _timezone_options(language: str) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in _timezone_choices(language)]


@cache
def _zone_option_tags(language: str) -> tuple[dict[str, str], str]:
    """Return each zone's escaped `<option>` element by zone, and the picker's inside: the
    common zones by the names people use, then every other zone by its place, A to Z."""
    tags = {value: f'<option value="{escape(value)}">{escape(label)}</option>'
            for value, label in _timezone_choices(language)}
    common = "".join(tags[value] for value in COMMON_ZONES)
    rest = "".join(tag for value, tag in tags.items() if value not in COMMON_ZONES)
    inside = (f'<optgroup label="{escape(_("Common time zones"))}">{common}</optgroup>'
              f'<optgroup label="{escape(_("Every time zone, by place"))}">{rest}</optgroup>')
    return tags, inside


def zone_options(selected: str) -> Markup:
    """Return the time-zone picker's `<optgroup>`s of `<option>`s with `selected` chosen."""
    tags, joined = _zone_option_tags(i18n.current())
    chosen = tags.get(selected)
    if chosen is not None:
        joined = joined.replace(chosen, chosen.replace("<option ", "<option selected ", 1), 1)
    return Markup(joined)  # noqa: S704  (built only from escaped zone names)


class MultiCheckboxField(SelectMultipleField):
    """A set of checkboxes that submit a list."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def no_control_characters(_form, field) -> None:
    """Reject NUL and other control characters (tabs and line breaks in text areas pass)."""
    if field.data and CONTROL.search(field.data):
        raise ValidationError(_("Please remove the unusual invisible characters from this "
                                "answer."))


def single_line(_form, field) -> None:
    """Reject line breaks and control characters in one-line answers such as names."""
    text = field.data or ""
    if LINE_BREAK.search(text) or CONTROL.search(text) or "\t" in text:
        raise ValidationError(_("Please write this on one line, without special characters."))


def strip(value):
    """Return the value without surrounding whitespace (None stays None)."""
    return value.strip() if isinstance(value, str) else value


def parse_start(value: str | None) -> datetime | None:
    """Return an ISO instant from a form or link as aware UTC, or None when it isn't one
    (empty, too long, unparseable, without its offset, or outside the years 2000 to 2999, where
    no consultation is)."""
    if not value or len(value) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(value)
        instant = parsed.astimezone(UTC) if parsed.tzinfo else None
    except (ValueError, OverflowError):
        return None
    return instant if instant is not None and 2000 <= instant.year <= 2999 else None
