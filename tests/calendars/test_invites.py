"""Invites checked by icalendar's own error list and by an independent parser (vobject)."""

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import vobject
from icalendar import Calendar

from intake.calendars.invites import (
    CANCEL,
    REQUEST,
    InviteData,
    Party,
    build_calendar_file,
    build_invite,
    calendar_links,
)


def data(**changes):
    values = dict(
        uid="0b8c6a9e-1@intake", sequence=0,
        starts_at=datetime(2026, 12, 1, 15, tzinfo=UTC),
        ends_at=datetime(2026, 12, 1, 15, 30, tzinfo=UTC),
        status="TENTATIVE", summary="Consultation with Maya Chen",
        location="Online (video)", description="Questions: +1 555 010 2040",
        url="https://book.example/", organizer=Party("Harbor, Light", "bookings@harbor.example"),
        attendees=(Party('Ann "Annie" O\'Neil', "ann@client.example"),
                   Party("Maya Chen", "maya@harbor.example")),
        stamp=datetime(2026, 11, 25, 12, tzinfo=UTC),
    )
    values.update(changes)
    return InviteData(**values)


def parse_both(raw: bytes):
    cal = Calendar.from_ical(raw)
    assert [c.errors for c in cal.walk()] == [[] for _ in cal.walk()]
    parsed = vobject.readOne(raw.decode("utf-8"))
    parsed.validate()
    return cal, parsed


def test_request_carries_what_real_calendar_clients_need():
    raw = build_invite(data(), REQUEST)
    assert b"\r\n" in raw
    cal, parsed = parse_both(raw)
    event = cal.walk("VEVENT")[0]
    assert cal["METHOD"] == "REQUEST"
    assert str(event["UID"]) == "0b8c6a9e-1@intake"
    assert event["SEQUENCE"] == 0
    assert event["STATUS"] == "TENTATIVE"
    assert event.decoded("DTSTART") == datetime(2026, 12, 1, 15, tzinfo=UTC)
    assert b"DTSTART:20261201T150000Z" in raw
    assert str(event["ORGANIZER"]) == "mailto:bookings@harbor.example"
    attendees = [str(a) for a in event["ATTENDEE"]]
    assert attendees == ["mailto:ann@client.example", "mailto:maya@harbor.example"]
    for attendee in event["ATTENDEE"]:
        assert attendee.params["ROLE"] == "REQ-PARTICIPANT"
        assert attendee.params["RSVP"] == "TRUE"
        assert attendee.params["PARTSTAT"] == "NEEDS-ACTION"
    assert "VALARM" not in raw.decode()
    assert parsed.vevent.uid.value == "0b8c6a9e-1@intake"


def test_cancel_is_cancelled_whatever_the_status():
    raw = build_invite(data(status="CONFIRMED", sequence=2), CANCEL)
    cal, _ = parse_both(raw)
    event = cal.walk("VEVENT")[0]
    assert cal["METHOD"] == "CANCEL"
    assert event["STATUS"] == "CANCELLED"
    assert event["SEQUENCE"] == 2


def test_text_cannot_inject_lines():
    raw = build_invite(data(summary="Consultation\r\nATTENDEE:mailto:x@evil.example",
                            location="Room 1\nMETHOD:CANCEL"), REQUEST)
    cal, _ = parse_both(raw)
    assert len(cal.walk("VEVENT")[0]["ATTENDEE"]) == 2
    assert cal["METHOD"] == "REQUEST"
    assert b"\r\nATTENDEE:mailto:x@evil" not in raw


def test_only_request_and_cancel():
    with pytest.raises(ValueError, match="^unsupported iTIP method 'PUBLISH'$"):
        build_invite(data(), "PUBLISH")


def test_every_property_of_the_event_is_what_the_appointment_says():
    cal, _ = parse_both(build_invite(data(sequence=3), REQUEST))
    assert str(cal["PRODID"]) == "-//Intake//Consultation booking//EN"
    assert str(cal["VERSION"]) == "2.0" and str(cal["CALSCALE"]) == "GREGORIAN"
    assert "UID" not in cal  # only the event has one
    (event,) = cal.walk("VEVENT")
    assert event["SEQUENCE"] == 3
    assert event.decoded("DTSTAMP") == datetime(2026, 11, 25, 12, tzinfo=UTC)
    assert event.decoded("DTEND") == datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
    assert str(event["SUMMARY"]) == "Consultation with Maya Chen"
    assert str(event["LOCATION"]) == "Online (video)"
    assert str(event["DESCRIPTION"]) == "Questions: +1 555 010 2040"
    assert str(event["URL"]) == "https://book.example/"
    assert event["TRANSP"] == "OPAQUE" and event["CLASS"] == "PRIVATE"
    assert event["ORGANIZER"].params["CN"] == "Harbor, Light"
    assert [a.params["CN"] for a in event["ATTENDEE"]] == ['Ann "Annie" O\'Neil', "Maya Chen"]
    # No location at all rather than an empty one.
    cal, _ = parse_both(build_invite(data(location=""), REQUEST))
    assert "LOCATION" not in cal.walk("VEVENT")[0]


def test_the_add_to_calendar_file_is_the_event_alone_with_the_invites_uid():
    raw = build_calendar_file(data(status="CONFIRMED", sequence=2))
    cal, parsed = parse_both(raw)
    assert "METHOD" not in cal
    assert str(cal["PRODID"]) == "-//Intake//Consultation booking//EN"
    assert str(cal["VERSION"]) == "2.0" and str(cal["CALSCALE"]) == "GREGORIAN"
    (event,) = cal.walk("VEVENT")
    assert str(event["UID"]) == "0b8c6a9e-1@intake" and event["SEQUENCE"] == 2
    assert event["STATUS"] == "CONFIRMED"
    assert event.decoded("DTSTART") == datetime(2026, 12, 1, 15, tzinfo=UTC)
    assert str(event["SUMMARY"]) == "Consultation with Maya Chen"
    assert "ORGANIZER" not in event and "ATTENDEE" not in event
    assert parsed.vevent.uid.value == "0b8c6a9e-1@intake"


def test_google_and_outlook_open_their_new_event_page_filled_in_and_in_utc():
    links = calendar_links(data(starts_at=datetime(2026, 12, 1, 15, tzinfo=UTC).astimezone(
        ZoneInfo("America/New_York"))))
    google = parse_qs(urlsplit(links["google"]).query)
    assert links["google"].startswith("https://calendar.google.com/calendar/render?")
    assert google["action"] == ["TEMPLATE"] and google["text"] == ["Consultation with Maya Chen"]
    assert google["dates"] == ["20261201T150000Z/20261201T153000Z"]
    assert google["location"] == ["Online (video)"]
    outlook = parse_qs(urlsplit(links["outlook"]).query)
    assert links["outlook"].startswith("https://outlook.live.com/calendar/0/action/compose?")
    assert outlook["startdt"] == ["2026-12-01T15:00:00+00:00"]
    assert outlook["enddt"] == ["2026-12-01T15:30:00+00:00"]
    assert outlook["subject"] == ["Consultation with Maya Chen"]
    # Nobody's address goes to either: only what, when, where and the short description.
    assert "ann@client.example" not in links["google"] + links["outlook"]
