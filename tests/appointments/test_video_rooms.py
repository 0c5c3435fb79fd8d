"""Online consultations connect: the video room reaches both parties once a consultation is
confirmed, never before, and no longer once it is cancelled."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from urllib.parse import unquote, unquote_plus

import sqlalchemy as sa
import vobject
from icalendar import Calendar

from intake import links
from intake.appointments import services
from intake.appointments.models import Appointment
from intake.calendars import feeds
from intake.extensions import db
from intake.mail.delivery import deliver_due
from intake.therapists.models import Therapist
from tests.helpers import book_directly, sign_in, token

SAM_ROOM = "https://video.practice.example/room/sam-whitaker"  # the demo's room for Sam


def invites(smtp, address):
    """Return the VEVENTs of the calendar invites delivered to `address`, oldest first."""
    deliver_due()
    events = []
    for message in smtp.to(address):
        for part in message.walk():
            if part.get_content_type() == "text/calendar":
                raw = part.get_payload(decode=True)
                vobject.readOne(raw.decode()).validate()  # a second, independent parser
                events.append(Calendar.from_ical(raw).walk("VEVENT")[0])
    return events


def test_the_room_comes_with_confirmation_and_goes_with_cancellation(app, demo, smtp):
    held = book_directly("sam-whitaker")  # online, waiting for the front desk
    assert held.format == "telehealth" and held.status == "held"
    (request,) = invites(smtp, "alex@client.example")
    assert "CONFERENCE" not in request and SAM_ROOM not in request.to_ical().decode()
    assert str(request["LOCATION"]).startswith("Online (video): the link comes by email")

    services.confirm(held.id, None)
    confirmed = invites(smtp, "alex@client.example")[-1]
    therapist_copy = invites(smtp, "sam.whitaker@practice.example")[-1]
    for event in (confirmed, therapist_copy):
        assert event["STATUS"] == "CONFIRMED"
        assert str(event["LOCATION"]) == SAM_ROOM == str(event["CONFERENCE"])
        assert event["CONFERENCE"].params["FEATURE"] == "VIDEO"
        assert event["CONFERENCE"].params["LABEL"] == "Join the video consultation"
    email = smtp.to("alex@client.example")[-1].get_body(("plain",)).get_content()
    assert f"Join:  {SAM_ROOM}" in email
    # The client's own page and the therapist's feed show it too.
    with app.test_request_context():
        manage = links.manage_url(db.session.get(Appointment, held.id), external=False)
        feed = f"/feeds/{feeds.rotate(held.therapist_id, None)}.ics"
    browser = app.test_client()
    page = browser.get(manage).text
    assert f'href="{SAM_ROOM}"' in page
    # The add-to-calendar links to other companies carry no room: the email and page do.
    google = re.search(r'href="(https://calendar\.google\.com[^"]+)"', page).group(1)
    outlook = re.search(r'href="(https://outlook\.live\.com[^"]+)"', page).group(1)
    for link in (google, outlook):
        assert "video.practice.example" not in unquote(unescape(link)), link
        assert "the link is in your email" in unquote_plus(unescape(link))
    (entry,) = Calendar.from_ical(browser.get(feed).data).walk("VEVENT")
    assert str(entry["LOCATION"]) == SAM_ROOM == str(entry["CONFERENCE"])

    services.cancel(held.id, None)
    cancelled = invites(smtp, "alex@client.example")[-1]
    assert cancelled["STATUS"] == "CANCELLED" and "CONFERENCE" not in cancelled
    assert SAM_ROOM not in cancelled.to_ical().decode()
    assert SAM_ROOM not in browser.get(manage).text


def test_the_practice_wide_base_gives_each_consultation_a_room_of_its_own(app, demo, smtp):
    app.config["TELEHEALTH_ROOM_BASE"] = "https://meet.practice.example"
    db.session.execute(sa.update(Therapist).values(video_room=""))
    db.session.commit()
    rooms = []
    for n in range(2):
        appointment = book_directly("sam-whitaker", email=f"c{n}@client.example")
        services.confirm(appointment.id, None)
        rooms.append(db.session.get(Appointment, appointment.id).video_room)
    assert all(re.fullmatch(r"https://meet\.practice\.example/consultation-[0-9a-f]{32}", r)
               for r in rooms)
    assert rooms[0] != rooms[1]
    assert str(invites(smtp, "c1@client.example")[-1]["CONFERENCE"]) == rooms[1]


def test_confirming_online_without_a_room_is_refused_with_the_reason(app, client, demo,
                                                                     make_user):
    db.session.execute(sa.update(Therapist).where(Therapist.slug == "sam-whitaker").values(
        video_room=""))
    db.session.commit()
    held = book_directly("sam-whitaker")
    sign_in(client, make_user("front_desk").email)
    page = f"/staff/appointments/{held.id}"
    answer = client.post(f"{page}/confirm", data={"csrf_token": token(client, page)},
                         headers={"HX-Request": "true"})
    assert answer.status_code == 409
    assert "Sam Whitaker has no video room yet" in answer.text
    db.session.expire_all()
    assert db.session.get(Appointment, held.id).status == "held"

    admin = client.application.test_client()
    sign_in(admin, make_user("admin").email)
    profile = "/staff/therapists/sam-whitaker"
    assert "can't be confirmed yet: there is no video room" in admin.get(profile).text
    fields = {"csrf_token": token(admin, profile), "name": "Sam Whitaker",
              "modalities": ["couples"], "languages": ["en"], "formats": ["telehealth"]}
    refused = admin.post(profile, data={**fields, "video_room": "http://meet.example.org/sam"})
    assert refused.status_code == 422 and "full https:// address" in refused.text
    saved = admin.post(profile, data={**fields, "video_room": "https://meet.example.org/sam"})
    assert saved.status_code == 303
    assert "Test this link" in admin.get(profile).text
    assert services.confirm(held.id, None).video_room == "https://meet.example.org/sam"


def test_in_person_consultations_keep_the_office_and_get_no_room(app, demo, smtp):
    appointment = book_directly("maya-chen", format="in_person")
    event = invites(smtp, "alex@client.example")[-1]
    assert appointment.status == "confirmed" and "CONFERENCE" not in event
    assert str(event["LOCATION"]) == "22 Harbor Street, Suite 4, Portland, ME"
    assert db.session.get(Appointment, appointment.id).video_room == ""


def test_a_short_join_reminder_goes_once_just_before_an_online_session(app, demo, smtp,
                                                                       clock):
    room = "https://video.practice.example/room/maya-chen"
    joining = book_directly("maya-chen", email="join@client.example")  # confirmed, online
    cancelled = book_directly("maya-chen", email="gone@client.example")
    discreet = book_directly("maya-chen", email="quiet@client.example", discreet=True)
    services.cancel(cancelled.id, None)
    assert joining.starts_at < cancelled.starts_at < discreet.starts_at
    clock.set(joining.starts_at - timedelta(minutes=31))
    assert services.send_join_reminders() == 0
    clock.advance(timedelta(minutes=2))
    assert services.send_join_reminders() == 1
    assert services.send_join_reminders() == 0  # never twice
    clock.set(cancelled.starts_at - timedelta(minutes=10))
    assert services.send_join_reminders() == 0  # cancelled
    clock.set(discreet.starts_at - timedelta(minutes=10))
    assert services.send_join_reminders() == 0  # discreet: the manage page has the link
    deliver_due()
    (note,) = [m for m in smtp.to("join@client.example")
               if m["Subject"].startswith("Your video consultation starts at")]
    assert room in note.get_body(("plain",)).get_content()
    assert not [m for m in smtp.to("quiet@client.example") + smtp.to("gone@client.example")
                if m["Subject"].startswith("Your video consultation")]


def test_join_reminders_can_be_turned_off(app, demo, clock):
    app.config["JOIN_REMINDER_MINUTES"] = 0
    appointment = book_directly("maya-chen")
    clock.set(appointment.starts_at - timedelta(minutes=10))
    assert services.send_join_reminders() == 0
