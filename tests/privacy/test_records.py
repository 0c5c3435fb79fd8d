"""A person's own record: an admin exports everything kept about them (and nothing about
anyone else), or erases it at their request, with both CANCELs through the real SMTP server."""

from __future__ import annotations

import json
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from intake import links
from intake.appointments.models import Appointment
from intake.appointments.services import NotAFit, book, confirm
from intake.audit import AuditEvent
from intake.calendars.feeds import feed_for
from intake.clock import now_utc
from intake.couples.models import Partner
from intake.couples.services import answer
from intake.extensions import db
from intake.intakes.models import Intake
from intake.scheduling.services import next_open_times
from intake.waitlist.models import WaitlistEntry
from intake.waitlist.services import join
from intake.worker import run_pass
from tests.helpers import book_directly, csrf_from, maya, sign_in

ALEX = "We keep circling the same fight about the attic."
OTHER = "Someone else's words about the orchard."
ROBIN = "Robin's own words about the river."


def test_an_admin_exports_a_person_s_record_and_erases_it_at_their_request(
    app, client, demo, smtp, make_user
):
    appointment = book_directly("maya-chen", story=ALEX, email="Alex@Client.example",
                                partner_agreed=True, partner_email="robin@partner.example")
    book_directly("sam-whitaker", story=OTHER, email="other@client.example", name="Olive Other")
    partner = db.session.scalar(sa.select(Partner))
    answer(partner.id, {"safety": "no", "feels_safe": "no", "story": ROBIN, "name": "Robin Lee",
                        "email": "robin@partner.example", "timezone": "UTC",
                        "consent_contact": True, "consent_privacy": True})
    confirm(appointment.id, None)  # a change the record shows
    with app.test_request_context():
        join(appointment.intake, None, [1, 2], ["morning"], date.today() + timedelta(days=20),
             "UTC")
    run_pass()
    appointment_id, intake_id, uid = appointment.id, appointment.intake_id, appointment.uid
    assert b"A. M." in feed_for(appointment.therapist_id)
    admin = make_user("admin", email="boss@harbor.example")
    sign_in(client, admin.email)

    page = client.get("/staff/admin/records", query_string={"email": "alex@client.example"})
    assert "1 intake" in page.text and "Erase this person" in page.text
    record = json.loads(client.get("/staff/admin/records/export.json",
                                   query_string={"email": "alex@client.example"}).data)
    (intake,) = record["intakes"]
    assert intake["story"] == ALEX and intake["consents"]["privacy"] is True
    (booked,) = intake["appointments"]
    assert booked["therapist"] == "Maya Chen" and booked["status"] == "confirmed"
    assert [c["what"] for c in booked["changes"]] == ["Confirmed appointment"]
    assert intake["waitlist"][0]["status"] == "pending"
    assert {e["kind"] for e in intake["emails"]} >= {"booking_client"}
    everything = json.dumps(record)
    for someone_else in (OTHER, "Olive", ROBIN, "other@client.example"):
        assert someone_else not in everything
    html = client.get("/staff/admin/records/export.html",
                      query_string={"email": "alex@client.example"}).text
    assert ALEX in html and ROBIN not in html
    # Robin's own record holds Robin's answers, and none of Alex's.
    robins = json.loads(client.get("/staff/admin/records/export.json",
                                   query_string={"email": "robin@partner.example"}).data)
    assert robins["partner_intakes"][0]["story"] == ROBIN and ALEX not in json.dumps(robins)
    trail = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "export_record")) == 3  # one per intake or partner lookup

    # Erasing asks for the address again.
    token = csrf_from(page.text)
    refused = client.post("/staff/admin/records/erase",
                          data={"email": "alex@client.example", "confirm": "alex@",
                                "csrf_token": token})
    assert refused.status_code == 303
    assert db.session.get(Intake, intake_id).story == ALEX
    before = len(smtp.messages)
    done = client.post("/staff/admin/records/erase",
                       data={"email": "alex@client.example", "confirm": "ALEX@client.example",
                             "csrf_token": token})
    assert done.status_code == 303
    # The consultation still to come is cancelled first: both sides are told, as invites.
    run_pass()
    told = {m["To"].addresses[0].addr_spec: m for m in smtp.messages[before:]}
    assert {"Alex@Client.example", "maya.chen@practice.example",
            "robin@partner.example"} <= set(told)
    for message in told.values():
        (part,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
        cal = Calendar.from_ical(part.get_payload(decode=True))
        assert cal["METHOD"] == "CANCEL" and str(cal.walk("VEVENT")[0]["UID"]) == uid
    db.session.expire_all()
    erased = db.session.get(Intake, intake_id)
    assert erased.purged_at is not None and (erased.story, erased.email, erased.name) == (
        "", "", "")
    # Robin's own answers stay theirs, until Robin asks.
    assert db.session.scalar(sa.select(Partner.story)) == ROBIN
    # The erased intake can be neither booked nor reached again, and leaves the waitlist.
    assert db.session.scalar(sa.select(WaitlistEntry.status)) == "left"
    with app.test_request_context():
        again = urlsplit(links.rebook_url(intake_id)).path
        manage = urlsplit(links.manage_url(db.session.get(Appointment, appointment_id))).path
        together = urlsplit(links.partner_intake_url(partner.id)).path
    for gone in (again, manage, together):
        assert app.test_client().get(gone).status_code == 404, gone
    with pytest.raises(NotAFit):
        book(db.session.get(Intake, intake_id), maya(), next_open_times(
            maya(), now_utc(), 1)[0].starts_at, "after-erasure-key-123")
    assert b"A. M." not in feed_for(db.session.get(Appointment, appointment_id).therapist_id)
    assert db.session.scalar(sa.select(Intake.story).where(
        Intake.email == "other@client.example")) == OTHER
    # The audit trail stays whole, and says what was done without whose.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) > trail
    (event,) = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "erase_record"))
    assert event.detail == "1 intakes, 0 partner intakes, 1 consultations cancelled"
    assert "alex" not in event.detail.lower()
    assert "Nothing is kept" in client.get("/staff/admin/records",
                                           query_string={"email": "alex@client.example"}).text
    # Robin asks in turn: their partner intake goes, and their address from Alex's shell.
    page = client.get("/staff/admin/records", query_string={"email": "robin@partner.example"})
    client.post("/staff/admin/records/erase",
                data={"email": "robin@partner.example", "confirm": "robin@partner.example",
                      "csrf_token": csrf_from(page.text)})
    db.session.expire_all()
    assert db.session.scalar(sa.select(Partner.story)) == ""
    assert db.session.get(Intake, intake_id).partner_email == ""
    # Only an admin reaches any of it.
    desk = app.test_client()
    make_user("front_desk", email="desk@harbor.example")
    sign_in(desk, "desk@harbor.example")
    assert desk.get("/staff/admin/records/export.json",
                    query_string={"email": "other@client.example"}).status_code == 403
    assert appointment_id
