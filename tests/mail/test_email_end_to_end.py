"""Email through a real SMTP server: the outbox, the worker, the MIME layout and the invites."""

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import vobject
from icalendar import Calendar

from intake.appointments.models import Appointment
from intake.appointments.services import booking
from intake.clock import now_utc
from intake.extensions import db
from intake.mail.delivery import deliver_due
from intake.mail.models import OutboxMessage
from tests.helpers import GOOD_ANSWERS, book_first_time

# Words from the intake that must never leave the practice by email.
PRIVATE = ["couples", "Couples", "EMDR", "compassion", "conflict", "withdrawal", "chores",
           "Robin", "silence", "trauma", "safety"]


def book(client, slug):
    return book_first_time(client, slug)


def run_worker_once(app):
    result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    return result.output


def calendar_parts(message):
    alternative = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    attachment = [p for p in message.walk() if p.get_filename() == "invite.ics"]
    return alternative, attachment


def test_booking_emails_reach_both_parties_as_real_invitations(app, client, demo, smtp):
    book(client, "sam-whitaker")
    assert smtp.envelopes == []  # nothing is sent inside the request
    assert "email: 2 sent" in run_worker_once(app)
    assert len(smtp.envelopes) == 2

    client_mail = smtp.to("alex@client.example")[0]
    therapist_mail = smtp.to("sam.whitaker@practice.example")[0]
    uids = set()
    for message in (client_mail, therapist_mail):
        assert message["From"].addresses[0].addr_spec == "bookings@harbor.example"
        assert message["Message-ID"]
        assert message.get_content_type() == "multipart/mixed"
        alternative = message.get_payload()[0]
        assert alternative.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in alternative.get_payload()] == [
            "text/plain", "text/html", "text/calendar"]
        (cal_part,), (attachment,) = calendar_parts(message)
        assert cal_part.get_param("method") == "REQUEST"
        assert attachment.get_content_type() == "application/ics"
        raw = cal_part.get_payload(decode=True)
        assert raw == attachment.get_payload(decode=True)

        cal = Calendar.from_ical(raw)
        assert all(component.errors == [] for component in cal.walk())
        vobject.readOne(raw.decode()).validate()
        event = cal.walk("VEVENT")[0]
        assert cal["METHOD"] == "REQUEST"
        assert event["STATUS"] == "TENTATIVE"  # Sam's bookings wait for the front desk
        assert event["SEQUENCE"] == 0
        assert str(event["ORGANIZER"]) == "mailto:bookings@harbor.example"
        attendees = event["ATTENDEE"]
        attendees = attendees if isinstance(attendees, list) else [attendees]
        # The therapist's copy names the therapist alone: the client's address stays in the app.
        assert sorted(str(a) for a in attendees) == (
            ["mailto:alex@client.example", "mailto:sam.whitaker@practice.example"]
            if message is client_mail else ["mailto:sam.whitaker@practice.example"])
        assert event["DTSTART"].dt.utcoffset() == timedelta(0)
        assert raw.decode().count("DTSTART:") == 1 and "Z\r\n" in raw.decode()
        uids.add(str(event["UID"]))

        everything = (message["Subject"] + message.get_body(("plain",)).get_content()
                      + message.get_body(("html",)).get_content() + raw.decode())
        for word in PRIVATE:
            assert word not in everything, word
    assert len(uids) == 1  # one event, the same for both

    assert client_mail["Subject"].startswith("Your appointment request for ")
    text = client_mail.get_body(("plain",)).get_content()
    london = ZoneInfo("Europe/London")
    starts = db.session.scalar(sa.select(Appointment.starts_at))
    # The client's own zone, named as it is on that day (GMT in winter, BST in summer).
    assert "Hello Alex" in text and starts.astimezone(london).tzname() in text
    assert "A. M." in therapist_mail.get_body(("plain",)).get_content()

    rows = db.session.scalars(sa.select(OutboxMessage)).all()
    assert {r.status for r in rows} == {"sent"}
    assert run_worker_once(app).strip() == "Nothing to do."
    assert len(smtp.envelopes) == 2  # a second pass sends nothing again


def test_a_confirmed_booking_is_confirmed_in_the_invite(app, client, demo, smtp):
    book(client, "maya-chen")
    run_worker_once(app)
    message = smtp.to("alex@client.example")[0]
    assert message["Subject"].startswith("Your appointment on ")
    (cal_part,), _ = calendar_parts(message)
    event = Calendar.from_ical(cal_part.get_payload(decode=True)).walk("VEVENT")[0]
    assert event["STATUS"] == "CONFIRMED"


def test_a_rolled_back_booking_sends_nothing(app, client, demo, smtp, monkeypatch):
    def fail_after_queueing(*args, **kwargs):
        original(*args, **kwargs)
        raise RuntimeError("the disk filled up")

    original = booking.notify
    monkeypatch.setattr(booking, "notify", fail_after_queueing)
    with pytest.raises(RuntimeError):
        book(client, "maya-chen")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0
    run_worker_once(app)
    assert smtp.envelopes == []


def test_a_mail_server_that_is_down_loses_nothing(app, client, demo, smtp):
    book(client, "maya-chen")
    good_port = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = 1  # nothing listens there
    result = deliver_due()
    assert result.retried == 2 and result.sent == 0
    rows = db.session.scalars(sa.select(OutboxMessage)).all()
    assert all(r.status == "queued" and r.attempts == 1 for r in rows)
    assert all("cannot reach the mail server" in r.last_error for r in rows)
    assert all(r.next_attempt_at > now_utc() for r in rows)

    app.config["MAIL_PORT"] = good_port
    assert deliver_due().sent == 0  # not due yet: backing off
    assert deliver_due(now_utc() + timedelta(minutes=2)).sent == 2
    assert len(smtp.envelopes) == 2


def test_a_permanent_refusal_is_recorded_and_a_temporary_one_gives_up_in_the_end(
    app, client, demo, smtp
):
    book(client, "maya-chen")
    smtp.refuse = 550
    assert deliver_due().failed == 2
    rows = db.session.scalars(sa.select(OutboxMessage)).all()
    assert {r.status for r in rows} == {"failed"}
    assert all("550" in r.last_error for r in rows)

    book(client, "maya-chen")
    smtp.refuse = 451
    when = now_utc()
    waits = []
    while when < now_utc() + timedelta(hours=47):  # MAIL_GIVE_UP_HOURS is 48
        assert deliver_due(when).retried == 2
        due = db.session.scalar(sa.select(sa.func.max(OutboxMessage.next_attempt_at)).where(
            OutboxMessage.status == "queued"))
        waits.append(due - when)
        when = due
    # Backing off: each wait about doubles (jitter is ±20%, so these bounds always hold) up to
    # an hour.
    assert timedelta(seconds=24) <= waits[0] <= timedelta(seconds=36)
    assert waits[1] > waits[0] * 1.3 and waits[2] > waits[0] * 2.6 and waits[3] > waits[1] * 2.6
    assert max(waits) <= timedelta(hours=1.2) and max(waits) >= timedelta(minutes=48)
    queued = sa.select(OutboxMessage).where(OutboxMessage.attempts > 1)
    assert {r.status for r in db.session.scalars(queued)} == {"queued"}  # still trying at 47 h
    # Past 48 hours and past both rows' next attempt (the last wait may end after 48 h).
    end = max(when, now_utc() + timedelta(hours=48)) + timedelta(minutes=5)
    assert deliver_due(end).failed == 2
    rows = db.session.scalars(queued).all()
    assert len(rows) == 2 and {r.status for r in rows} == {"failed"}
    assert all("gave up after" in r.last_error and "451" in r.last_error for r in rows)


def test_the_urgent_alert_says_only_that_one_arrived(app, client, smtp):
    response = client.post("/intake", data={**GOOD_ANSWERS, "safety": "yes", "step": "0",
                                            "nav": "next"})
    assert response.status_code == 303
    run_worker_once(app)
    (message,) = smtp.messages
    assert message["To"].addresses[0].addr_spec == "frontdesk@harbor.example"
    assert message["Subject"] == "Urgent intake received"
    text = message.get_body(("plain",)).get_content()
    assert "urgent intake arrived" in text
    assert "Alex" not in text and "yes" not in text.lower().replace("eyes", "")
    assert not calendar_parts(message)[0]


def test_the_development_inbox_shows_every_email_with_its_invite(app, client, demo):
    book(client, "maya-chen")
    inbox = client.get("/dev/mail")
    assert inbox.status_code == 200
    assert inbox.text.count('/invite.ics"') == 2
    message = client.get("/dev/mail/1")
    assert "BEGIN:VCALENDAR" in message.text
    ics = client.get("/dev/mail/1/invite.ics")
    assert ics.mimetype == "text/calendar" and b"METHOD:REQUEST" in ics.data
    run_worker_once(app)  # no MAIL_SERVER: delivered into the sink folder
    assert len(list(Path(app.config["MAIL_SINK_DIR"]).glob("*.eml"))) == 2
