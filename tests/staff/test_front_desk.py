"""The front desk's decisions, through the real SMTP server and an independent parser."""

import re
from datetime import timedelta
from html import unescape

import pytest
import sqlalchemy as sa
import vobject
from icalendar import Calendar

from intake.appointments.models import Appointment, Proposal
from intake.audit import AuditEvent
from intake.extensions import db
from intake.intakes import services as intakes_services
from intake.intakes.models import Intake
from intake.mail.delivery import deliver_due
from intake.mail.models import OutboxMessage
from intake.worker import run_pass
from tests.helpers import (
    GOOD_ANSWERS,
    book_directly,
    book_first_time,
    csrf_from,
    hidden_inputs,
    post_step,
    sign_in,
    slot_links,
    token,
)


def invite_of(message):
    """Return (MIME method parameter, parsed VEVENT, METHOD) of an email's invite."""
    (part,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    raw = part.get_payload(decode=True)
    cal = Calendar.from_ical(raw)
    assert all(c.errors == [] for c in cal.walk())
    vobject.readOne(raw.decode()).validate()
    return part.get_param("method"), cal.walk("VEVENT")[0], str(cal["METHOD"])


def audit_rows(action):
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()


@pytest.fixture
def desk(client, make_user):
    """A signed-in front-desk user's browser."""
    user = make_user("front_desk")
    sign_in(client, user.email)
    return user


@pytest.fixture
def held(app, demo):
    """A request waiting for confirmation, booked from a separate client browser."""
    appointment = book_first_time(app.test_client(), "sam-whitaker")
    assert appointment.status == "held"
    return appointment


def test_the_queue_shows_waiting_requests_oldest_first(client, clock, desk, held, app):
    clock.set(held.created_at)
    clock.advance(timedelta(minutes=5))
    later = book_first_time(app.test_client(), "daniel-okafor", modality="emdr",
                            kind="individual", concerns=["trauma"], email="b@client.example")
    clock.advance(timedelta(minutes=12))
    page = client.get("/staff/")
    assert page.status_code == 200
    assert page.text.index(f'id="request-{held.id}"') < page.text.index(f'id="request-{later.id}"')
    # HOLD_HOURS is 24: the first has waited 17 minutes, the second 12.
    assert "Waiting 17 min · hold ends in 23 h 43 min" in page.text
    assert "Waiting 12 min · hold ends in 23 h 48 min" in page.text


def test_confirming_sends_updated_invites_with_the_next_sequence(client, desk, held, smtp):
    deliver_due()
    first = {m["To"].addresses[0].addr_spec: invite_of(m) for m in smtp.messages}
    response = client.post(f"/staff/appointments/{held.id}/confirm",
                           data={"csrf_token": token(client)}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "Confirmed" in response.text
    assert "<html" not in response.text  # the row, swapped in place
    assert deliver_due().sent == 2
    updates = smtp.messages[2:]
    assert {m["To"].addresses[0].addr_spec for m in updates} == set(first)
    for message in updates:
        method, event, cal_method = invite_of(message)
        address = message["To"].addresses[0].addr_spec
        assert method == cal_method == "REQUEST"
        assert event["STATUS"] == "CONFIRMED"
        assert str(event["UID"]) == str(first[address][1]["UID"])
        assert event["SEQUENCE"] == first[address][1]["SEQUENCE"] + 1 == 1
    assert [e.record_id for e in audit_rows("confirm")] == [held.id]
    # Confirming twice is refused kindly.
    again = client.post(f"/staff/appointments/{held.id}/confirm",
                        data={"csrf_token": token(client)}, headers={"HX-Request": "true"})
    assert again.status_code == 409 and "already dealt with" in again.text


def test_declining_frees_the_time_cancels_and_tells_the_client_kindly(
    client, app, desk, held, smtp
):
    response = client.post(f"/staff/appointments/{held.id}/decline",
                           data={"csrf_token": token(client),
                                 "message": "Sam is away that week; Maya has time."})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Appointment, held.id).status == "declined"
    deliver_due()
    client_mail = [m for m in smtp.messages if "alex@client.example" in m["To"]][-1]
    therapist_mail = [m for m in smtp.messages if "sam.whitaker" in m["To"]][-1]
    for message in (client_mail, therapist_mail):
        method, event, cal_method = invite_of(message)
        assert method == cal_method == "CANCEL"
        assert event["STATUS"] == "CANCELLED" and event["SEQUENCE"] == 1
        assert str(event["UID"]) == held.uid
    text = client_mail.get_body(("plain",)).get_content()
    assert "Sam is away that week" in text and "choose another time" in text.lower()
    link = next(line for line in text.splitlines() if "/intake/choose-again/" in line).strip()
    # The link works in a fresh browser and the time is offered again.
    fresh = app.test_client()
    landing = fresh.get(link.replace("http://127.0.0.1:5000", ""))
    assert landing.status_code == 303
    times = fresh.get(landing.headers["Location"].replace("/match", "/times/sam-whitaker"))
    assert held.starts_at.isoformat().replace("+", "%2B") in times.text
    tampered = fresh.get(link.replace("http://127.0.0.1:5000", "")[:-3] + "abc")
    assert tampered.status_code == 404 and "expired" in tampered.text


def test_proposing_another_time_and_the_client_accepting_it(client, app, desk, held, smtp):
    page = client.get("/staff/")

    offered = re.search(r'name="start" value="([^"]+)"', page.text).group(1)
    client.post(f"/staff/appointments/{held.id}/propose",
                data={"csrf_token": token(client), "start": offered})
    proposal = db.session.scalar(sa.select(Proposal))
    assert proposal.status == "open"
    deliver_due()
    offer_mail = [m for m in smtp.messages if "Another time" in m["Subject"]][0]
    assert not [p for p in offer_mail.walk() if p.get_content_type() == "text/calendar"]
    text = offer_mail.get_body(("plain",)).get_content()
    accept_link = next(line for line in text.splitlines() if "/offer/" in line).strip()
    path = accept_link.replace("http://127.0.0.1:5000", "")
    stranger = app.test_client()
    offer_page = stranger.get(path)
    assert "Accept this time" in offer_page.text
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', offer_page.text)
    accepted = stranger.post(path, data={"csrf_token": csrf.group(1) if csrf else ""})
    assert accepted.status_code == 303
    db.session.expire_all()
    moved = db.session.get(Appointment, held.id)
    assert moved.status == "confirmed" and moved.starts_at.isoformat() == offered
    assert moved.sequence == 1
    deliver_due()
    updates = [m for m in smtp.messages if "confirmed" in m["Subject"].lower()
               or "Moved" in m["Subject"]]
    assert len(updates) == 2
    for message in updates:
        method, event, _ = invite_of(message)
        assert method == "REQUEST" and event["SEQUENCE"] == 1
        assert str(event["UID"]) == held.uid
        assert event["DTSTART"].dt.isoformat() == offered
    # The link cannot be used twice.
    assert "no longer open" in stranger.get(path).text


def test_unconfirmed_holds_expire_in_the_worker(app, held, smtp, clock):
    assert run_pass().startswith("email: 2 sent")
    clock.advance(timedelta(hours=25))
    report = run_pass()
    assert "holds: 1 expired" in report
    db.session.expire_all()
    assert db.session.get(Appointment, held.id).status == "expired"
    cancels = smtp.messages[2:]
    assert len(cancels) == 2
    for message in cancels:
        method, event, _ = invite_of(message)
        assert method == "CANCEL" and event["STATUS"] == "CANCELLED"
        assert event["SEQUENCE"] == 1
    client_text = [m for m in cancels if "alex@" in m["To"]][0].get_body(("plain",)).get_content()
    assert "That's on us, not you" in client_text
    assert "holds" not in run_pass()  # nothing more to expire


def test_urgent_intakes_stay_on_top_until_acknowledged(app, client, desk):
    quiet = client.get("/staff/urgent", headers={"HX-Request": "true"}).text
    assert "<title>Dashboard · " in quiet and "None waiting" in quiet
    public = app.test_client()
    post_step(public, 0, {**GOOD_ANSWERS, "safety": "yes"})
    urgent = db.session.scalar(sa.select(Intake))
    page = client.get("/staff/")
    assert f'id="urgent-{urgent.id}"' in page.text
    assert page.text.index("Urgent intakes") < page.text.index("Requests awaiting")
    assert "<title>(1 urgent) Dashboard" in page.text
    # The panel is asked for again every minute, and says a new one arrived.
    assert 'hx-get="/staff/urgent" hx-trigger="every 60s"' in page.text
    panel = client.get("/staff/urgent", headers={"HX-Request": "true"}).text
    assert "<title>(1 urgent) Dashboard · " in panel and f'id="urgent-{urgent.id}"' in panel
    # Asked with what it already shows, nothing is swapped: a keyboard stays where it was.
    assert f'hx-vals=\'{{"seen": "{urgent.id}"}}\'' in page.text
    same = client.get(f"/staff/urgent?seen={urgent.id}", headers={"HX-Request": "true"})
    assert same.status_code == 204
    response = client.post(f"/staff/intakes/{urgent.id}/acknowledge",
                           data={"csrf_token": token(client)}, headers={"HX-Request": "true"})
    assert "Acknowledged" in response.text
    assert 'id="urgent-count" hidden hx-swap-oob="true"' in response.text  # none left
    assert f'id="urgent-{urgent.id}"' not in client.get("/staff/").text
    (event,) = audit_rows("acknowledge")
    assert event.user_id == desk.id and event.record_id == urgent.id


def test_an_urgent_intakes_page_calls_back_in_one_press_and_acknowledges(app, client, desk):
    public = app.test_client()
    post_step(public, 0, {**GOOD_ANSWERS, "safety": "yes"})
    urgent = db.session.scalar(sa.select(Intake))
    intakes_services.add_urgent_contact(urgent, "Jo", "+1 312 555 0100")
    page = unescape(client.get(f"/staff/intakes/{urgent.id}").text)
    assert 'href="tel:+1 312 555 0100">Call Jo back: +1 312 555 0100</a>' in page
    assert "Call back</dt><dd>Asked for, by Jo" in page and "Reminders welcome" not in page
    assert "Acknowledge: I'm taking this on" in page
    done = client.post(f"/staff/intakes/{urgent.id}/acknowledge",
                       data={"csrf_token": csrf_from(page)})
    assert done.status_code == 303
    assert "Acknowledge: I'm taking this on" not in client.get(
        f"/staff/intakes/{urgent.id}").text


def test_viewing_an_intake_shows_the_answers_and_is_audited(client, desk, held):
    page = client.get(f"/staff/intakes/{held.intake_id}")
    assert "same fight about chores" in page.text
    assert page.headers["Cache-Control"] == "no-store"
    client.get(f"/staff/intakes/{held.intake_id}")
    events = audit_rows("view_intake")
    assert [(e.user_id, e.record_id) for e in events] == [(desk.id, held.intake_id)] * 2
    assert all("chores" not in (e.detail or "") for e in db.session.scalars(
        sa.select(AuditEvent)))


def test_search_by_name_or_email(client, desk, held):
    by_name = client.get("/staff/search?q=morgan")
    assert f"/staff/intakes/{held.intake_id}" in by_name.text
    assert f"/staff/appointments/{held.id}" in by_name.text
    by_email = client.get("/staff/search?q=ALEX@CLIENT")
    assert f"/staff/intakes/{held.intake_id}" in by_email.text
    nothing = client.get("/staff/search?q=zzz%25")
    assert "No intakes match" in nothing.text


def test_failed_emails_are_shown_and_can_be_retried(client, desk, held, smtp):
    smtp.refuse = 550
    deliver_due()
    page = client.get(f"/staff/appointments/{held.id}")
    assert page.text.count("failed") >= 2 and "refused (550)" in page.text
    failed = db.session.scalars(sa.select(OutboxMessage)).all()
    smtp.refuse = None
    for row in failed:
        client.post(f"/staff/emails/{row.id}/retry", data={"csrf_token": token(client)})
    assert deliver_due().sent == 2
    assert len(audit_rows("retry_email")) == 2


def test_cancelling_a_confirmed_appointment_withdraws_both_invites(client, desk, demo, smtp):
    confirmed = book_directly("maya-chen")
    deliver_due()
    response = client.post(f"/staff/appointments/{confirmed.id}/cancel",
                           data={"csrf_token": token(client)})
    assert response.status_code == 303
    assert deliver_due().sent == 2
    for message in smtp.messages[2:]:
        method, event, cal_method = invite_of(message)
        assert method == cal_method == "CANCEL"
        assert event["STATUS"] == "CANCELLED" and event["SEQUENCE"] == 1
        assert str(event["UID"]) == confirmed.uid
    assert [e.record_id for e in audit_rows("cancel")] == [confirmed.id]


def test_choosing_another_time_instead_of_an_offer_withdraws_the_old_request(
    client, app, desk, held, smtp
):
    offered = re.search(r'name="start" value="([^"]+)"', client.get("/staff/").text).group(1)
    client.post(f"/staff/appointments/{held.id}/propose",
                data={"csrf_token": token(client), "start": offered})
    deliver_due()
    offer_mail = [m for m in smtp.messages if "Another time" in m["Subject"]][0]
    text = offer_mail.get_body(("plain",)).get_content()
    instead = next(line for line in text.splitlines() if "/choose-instead/" in line).strip()
    browser = app.test_client()
    landing = browser.get(instead.replace("http://127.0.0.1:5000", ""))
    assert landing.status_code == 303
    times = browser.get(landing.headers["Location"].replace("/match", "/times/sam-whitaker"))
    link = [u for u in slot_links(times.text) if offered.replace("+", "%2B") not in u][0]
    review = browser.get(link)
    action = re.search(r'<form method="post" action="([^"]+)"', review.text).group(1)
    assert browser.post(action, data=hidden_inputs(review.text)).status_code == 303
    db.session.expire_all()
    assert db.session.get(Appointment, held.id).status == "cancelled"
    assert db.session.scalar(sa.select(Proposal.status)) == "withdrawn"
    active = db.session.scalars(sa.select(Appointment).where(Appointment.status == "held")).all()
    assert len(active) == 1 and active[0].intake_id == held.intake_id
    deliver_due()
    cancels = [m for m in smtp.messages if invite_of_or_none(m) == "CANCEL"]
    assert len(cancels) == 2
    for message in cancels:
        _, event, _ = invite_of(message)
        assert str(event["UID"]) == held.uid and event["SEQUENCE"] == 1


def invite_of_or_none(message):
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    return parts[0].get_param("method") if parts else None


def test_an_appointments_page_decides_a_request_in_plain_words(client, desk, held, app):
    path = f"/staff/appointments/{held.id}"
    page = unescape(client.get(path).text)
    assert "Waiting for confirmation: the time is held until" in page
    assert "UID" not in page and "sequence" not in page and ">held<" not in page
    assert "Calendar invite</dt><dd>Sent</dd>" in page
    done = client.post(f"/staff/appointments/{held.id}/confirm",
                       data={"csrf_token": token(client, path), "back": path})
    assert done.status_code == 303 and done.headers["Location"] == path
    page = unescape(client.get(path).text)
    assert "Confirmed. Updated invites are on their way." in page
    assert "<dd>Confirmed</dd>" in page and "updated 1 time since" in page
    assert "Confirm this request" not in page
    assert re.search(r'<button type="submit" class="danger">Yes, cancel it</button>', page)


def test_an_appointments_page_declines_with_a_kind_note_and_shows_a_pending_offer(
        client, desk, held, app):
    path = f"/staff/appointments/{held.id}"
    offered = re.search(r'name="start" value="([^"]+)"', client.get(path).text).group(1)
    client.post(f"/staff/appointments/{held.id}/propose",
                data={"csrf_token": token(client, path), "start": offered, "back": path})
    page = unescape(client.get(path).text)
    assert "Another time offered" in page and "waiting for the client's answer" in page
    done = client.post(f"/staff/appointments/{held.id}/decline",
                       data={"csrf_token": token(client, path), "back": path,
                             "message": "We're so sorry."})
    assert done.status_code == 303
    page = unescape(client.get(path).text)
    assert "<dd>Declined</dd>" in page and "Another time offered" not in page
