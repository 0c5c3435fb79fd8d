"""iTIP invites (RFC 5546) for one appointment: plain values in, iCalendar bytes out.

One VEVENT per message, UTC times, a stable UID and a stored SEQUENCE, the practice's mailbox
as ORGANIZER. Nothing about why the person is coming goes in: no concern, modality or answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from icalendar import Calendar, Event, vCalAddress, vText

REQUEST = "REQUEST"
CANCEL = "CANCEL"
PRODID = "-//Intake//Consultation booking//EN"


@dataclass(frozen=True)
class Party:
    """Someone on the invite: a display name and an email address."""

    name: str
    email: str


@dataclass(frozen=True)
class InviteData:
    """Everything an invite says about one appointment."""

    uid: str
    sequence: int
    starts_at: datetime
    ends_at: datetime
    status: str  # TENTATIVE, CONFIRMED or CANCELLED
    summary: str
    location: str
    description: str
    url: str
    organizer: Party
    attendees: tuple[Party, ...]
    stamp: datetime


def _address(party: Party, **params: str) -> vCalAddress:
    """Return a mailto: calendar address with a CN and the given parameters."""
    address = vCalAddress(f"mailto:{party.email}")
    address.params["CN"] = vText(party.name)
    for key, value in params.items():
        address.params[key] = value
    return address


def build_calendar_file(data: InviteData) -> bytes:
    """Return an .ics file for "add to calendar": the event alone, no METHOD, no attendees.

    It keeps the invites' UID, so a calendar that already has the invite updates that event.
    """
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add_component(_event(data, data.status))
    return cal.to_ical()


def _event(data: InviteData, status: str) -> Event:
    """Return the VEVENT with everything but the organizer and attendees."""
    event = Event()
    event.add("uid", data.uid)
    event.add("sequence", data.sequence)
    event.add("dtstamp", data.stamp)
    event.add("dtstart", data.starts_at)
    event.add("dtend", data.ends_at)
    event.add("summary", data.summary)
    if data.location:
        event.add("location", data.location)
    event.add("description", data.description)
    event.add("url", data.url)
    event.add("status", status)
    event.add("transp", "OPAQUE")
    event.add("class", "PRIVATE")
    return event


def build_invite(data: InviteData, method: str) -> bytes:
    """Return the iCalendar bytes (CRLF, folded) for `method` (REQUEST or CANCEL).

    A CANCEL always carries STATUS:CANCELLED, whatever `data.status` says.
    """
    if method not in (REQUEST, CANCEL):
        raise ValueError(f"unsupported iTIP method {method!r}")
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)

    event = _event(data, "CANCELLED" if method == CANCEL else data.status)
    event.add("organizer", _address(data.organizer))
    for party in data.attendees:
        event.add(
            "attendee",
            _address(party, ROLE="REQ-PARTICIPANT", PARTSTAT="NEEDS-ACTION", RSVP="TRUE"),
            encode=0,
        )
    cal.add_component(event)
    return cal.to_ical()
