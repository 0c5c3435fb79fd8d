"""iTIP invites (RFC 5546) for one appointment: plain values in, iCalendar bytes out.

One VEVENT per message, UTC times, a stable UID and a stored SEQUENCE, the practice's mailbox
as ORGANIZER. Nothing about why the person is coming goes in: no concern, modality or answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from icalendar import Calendar, Event, vCalAddress, vUri

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
    conference: str = ""  # the video room to join, once confirmed


def calendar_links(data: InviteData) -> dict[str, str]:
    """Return links that open Google Calendar's and Outlook's "new event" page filled with the
    appointment (what, when in UTC, where, the short description), by name ("google",
    "outlook"). Apple Calendar takes the .ics file instead."""
    utc = "%Y%m%dT%H%M%SZ"
    google = urlencode({
        "action": "TEMPLATE", "text": data.summary,
        "dates": f"{data.starts_at.astimezone(UTC):{utc}}/{data.ends_at.astimezone(UTC):{utc}}",
        "details": data.description, "location": data.location})
    outlook = urlencode({
        "path": "/calendar/action/compose", "rru": "addevent", "subject": data.summary,
        "startdt": data.starts_at.astimezone(UTC).isoformat(),
        "enddt": data.ends_at.astimezone(UTC).isoformat(),
        "body": data.description, "location": data.location})
    return {"google": f"https://calendar.google.com/calendar/render?{google}",
            "outlook": f"https://outlook.live.com/calendar/0/action/compose?{outlook}"}


def new_calendar(**extra: str) -> Calendar:
    """Return a VCALENDAR with this product's PRODID, version 2.0, the Gregorian calendar
    scale and `extra` properties (METHOD for an invite). No UID of its own: only the event
    has one."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    for name, value in extra.items():
        cal.add(name, value)
    return cal


def build_calendar_file(data: InviteData) -> bytes:
    """Return an .ics file for "add to calendar": the event alone, no METHOD, no attendees.

    It keeps the invites' UID, so a calendar that already has the invite updates that event.
    """
    cal = new_calendar()
    cal.add_component(_event(data, data.status))
    return cal.to_ical()


def _event(data: InviteData, status: str, **people) -> Event:
    """Return the VEVENT; `people` are the organizer and attendees, for an invite. A video
    room to join is a CONFERENCE (RFC 7986) as well as the LOCATION."""
    event = Event.new(
        uid=data.uid, sequence=data.sequence, stamp=data.stamp, start=data.starts_at,
        end=data.ends_at, summary=data.summary, location=data.location or None,
        description=data.description, url=data.url, status=status, transparency="OPAQUE",
        classification="PRIVATE", **people)
    if data.conference and status != "CANCELLED":
        add_conference(event, data.conference)
    return event


def add_conference(event: Event, room: str) -> None:
    """Add the video room to join as RFC 7986's CONFERENCE property."""
    event.add("conference", vUri(room), parameters={
        "VALUE": "URI", "FEATURE": "VIDEO", "LABEL": "Join the video consultation"})


def build_invite(data: InviteData, method: str) -> bytes:
    """Return the iCalendar bytes (CRLF, folded) for `method` (REQUEST or CANCEL).

    A CANCEL always carries STATUS:CANCELLED, whatever `data.status` says.
    """
    if method not in (REQUEST, CANCEL):
        raise ValueError(f"unsupported iTIP method {method!r}")
    cal = new_calendar(method=method)
    event = _event(
        data, "CANCELLED" if method == CANCEL else data.status,
        organizer=vCalAddress.new(data.organizer.email, cn=data.organizer.name),
        attendees=[vCalAddress.new(party.email, cn=party.name, role="REQ-PARTICIPANT",
                                   partstat="NEEDS-ACTION", rsvp=True)
                   for party in data.attendees])
    cal.add_component(event)
    return cal.to_ical()
