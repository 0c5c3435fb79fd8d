"""A couple as a couple, through the real SMTP server: the partner's own intake from their own
email, their private safety screen, and one consultation for two people."""

from __future__ import annotations

import re
from datetime import UTC, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import vobject
from icalendar import Calendar

from intake import links
from intake.appointments.models import Appointment
from intake.appointments.services import (
    StateError,
    confirm,
    decline,
    propose,
    reschedule,
    send_reminders,
)
from intake.calendars.feeds import feed_for
from intake.couples.models import Partner
from intake.couples.services import answer as answer_partner
from intake.extensions import db
from intake.formatting import clock, day, short_day, when
from intake.mail.models import OutboxMessage
from intake.scheduling.services import next_open_times
from intake.worker import run_pass
from tests.helpers import (
    GOOD_ANSWERS,
    book_directly,
    book_first_time,
    csrf_from,
    post_step,
    sign_in,
)
from tests.test_hostile_input import HOSTILE

FIRST_WORDS = "We keep having the same fight about the kitchen sink and it ends in silence."
OWN_WORDS = "I want us to stop talking past each other about the lighthouse weekend."
PARTNER_ANSWERS = {
    "safety": "no", "feels_safe": "no", "concerns": ["disconnection", "intimacy"],
    "story": OWN_WORDS, "timezone": "America/Los_Angeles", "name": "Robin Lee",
    "email": "robin@partner.example", "phone": "+1 415 555 0100",
    "consent_contact": "y", "consent_privacy": "y",
}


def book_as_couple(client, slug="maya-chen", **changes):
    """Fill a couple's intake (the partner agreed to be contacted) and book; return the
    appointment."""
    return book_first_time(client, slug, story=FIRST_WORDS, partner_agreed="y",
                           partner_email="robin@partner.example", partner_name="Robin",
                           **changes)


def bodies(message) -> str:
    """Return everything an email says: subject, text, HTML and any invite."""
    parts = [message["Subject"], message.get_body(("plain",)).get_content(),
             message.get_body(("html",)).get_content()]
    parts += [p.get_payload(decode=True).decode() for p in message.walk()
              if p.get_content_type() == "text/calendar"]
    return "\n".join(parts)


def invite_of(message) -> tuple[Calendar, str]:
    """Return the email's invite, parsed (and checked by vobject), and its text."""
    (part,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    raw = part.get_payload(decode=True)
    vobject.readOne(raw.decode()).validate()
    cal = Calendar.from_ical(raw)
    assert all(component.errors == [] for component in cal.walk())
    return cal, part.get_param("method")


def partner_link(smtp) -> str:
    """Return the path of the link in the partner's invitation email."""
    (message,) = smtp.to("robin@partner.example")
    text = message.get_body(("plain",)).get_content()
    return re.search(r"http://127\.0\.0\.1:5000(/together/\S+)", text).group(1)


def answer(client, path, **changes):
    """Send the partner's form as a browser would; return the response."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    data = {**PARTNER_ANSWERS, **changes, "csrf_token": csrf_from(page.text)}
    return client.post(path, data={k: v for k, v in data.items() if v is not None})


def attendees(event) -> list[str]:
    found = event["ATTENDEE"]
    return sorted(str(a) for a in (found if isinstance(found, list) else [found]))


def test_the_partner_answers_in_their_own_words_and_both_are_on_one_consultation(
    app, client, demo, smtp
):
    appointment = book_as_couple(client, discreet="y")
    # Maya confirms at once, but a couple's first booking waits for the partner's own answers.
    assert appointment.status == "held"
    run_pass()
    (invitation,) = smtp.to("robin@partner.example")
    text = bodies(invitation)
    assert "Hello Robin" in text and "Alex" in text and "private" in text
    for word in (FIRST_WORDS, "kitchen", "couples", "Couples", "Maya", "conflict"):
        assert word not in text, word
    first_mails = len(smtp.to("alex@client.example"))

    path = partner_link(smtp)
    partner_browser = app.test_client()
    form = partner_browser.get(path)
    assert "Hello Robin" in form.text and "will never see" in form.text
    assert FIRST_WORDS not in form.text and "kitchen" not in form.text
    assert 'value="robin@partner.example"' in form.text

    # Mistakes come back beside their fields, with everything typed kept.
    bad = answer(partner_browser, path, consent_privacy=None, email="robin@")
    assert bad.status_code == 422
    assert "Please check your email address" in bad.text
    assert "Please read and accept the privacy notice" in bad.text
    assert OWN_WORDS in bad.text and 'value="robin@"' in bad.text

    done = answer(partner_browser, path)
    assert done.status_code == 200 and "Thank you, Robin" in done.text
    assert "emailed your own calendar invite" in done.text
    db.session.expire_all()
    appointment = db.session.get(Appointment, appointment.id)
    # Robin is on it (a new SEQUENCE); the front desk confirms a couple's request, so nothing
    # Alex receives depends on Robin's answers.
    assert appointment.status == "held" and appointment.sequence == 1
    run_pass()
    (joined,) = smtp.to("robin@partner.example")[1:]
    assert len(smtp.to("alex@client.example")) == first_mails
    cal, method = invite_of(joined)
    event = cal.walk("VEVENT")[0]
    assert method == "REQUEST" and event["SEQUENCE"] == 1 and event["STATUS"] == "TENTATIVE"
    assert attendees(event) == ["mailto:maya.chen@practice.example",
                                "mailto:robin@partner.example"]
    assert "A. M. & R. L." in bodies(smtp.to("maya.chen@practice.example")[-1])

    # The desk confirms: both get the confirmed invite, one UID, each as its attendee.
    confirm(appointment.id, None)
    run_pass()
    confirmed = smtp.to("alex@client.example")[first_mails:]
    assert [m["Subject"][-12:] for m in confirmed] == ["is confirmed"]
    (robin_confirmed,) = smtp.to("robin@partner.example")[2:]
    therapist_mail = smtp.to("maya.chen@practice.example")[-1]
    uids = set()
    for message, person in ((robin_confirmed, "mailto:robin@partner.example"),
                            (confirmed[0], "mailto:alex@client.example")):
        cal, method = invite_of(message)
        event = cal.walk("VEVENT")[0]
        assert method == cal["METHOD"] == "REQUEST"
        assert event["SEQUENCE"] == 2 and event["STATUS"] == "CONFIRMED"
        assert attendees(event) == sorted([person, "mailto:maya.chen@practice.example"])
        uids.add(str(event["UID"]))
    therapist_cal, _ = invite_of(therapist_mail)
    uids.add(str(therapist_cal.walk("VEVENT")[0]["UID"]))
    assert uids == {appointment.uid}
    assert "A. M. & R. L." in bodies(therapist_mail)
    # Each reads the time in their own zone.
    pacific = appointment.starts_at.astimezone(ZoneInfo("America/Los_Angeles"))
    assert f"{pacific:%-I:%M}" in joined.get_body(("plain",)).get_content()
    assert pacific.tzname() in joined.get_body(("plain",)).get_content()

    # Neither's words are in any email, and neither's are on the other's pages.
    for message in smtp.messages:
        for words in (FIRST_WORDS, OWN_WORDS, "lighthouse", "kitchen"):
            assert words not in bodies(message), (message["Subject"], words)
    partner_manage = re.search(r"http://127\.0\.0\.1:5000(/manage/\S+)",
                               joined.get_body(("plain",)).get_content()).group(1)
    own_page = partner_browser.get(partner_manage)
    assert own_page.status_code == 200 and "Who is coming" in own_page.text
    assert pacific.tzname() in own_page.text or "Pacific" in own_page.text
    for words in (FIRST_WORDS, "kitchen", "alex@client.example"):
        assert words not in own_page.text
    reference = appointment.intake.reference
    for first_page in (f"/intake/{reference}/match",
                       f"/intake/{reference}/booked/{appointment.uid}"):
        shown = client.get(first_page).text
        assert "lighthouse" not in shown and "robin@partner.example" not in shown
    # The partner's link opens none of the first partner's pages.
    assert partner_browser.get(f"/intake/{reference}/match").status_code == 404

    # Reminders follow each person's own wish: Alex asked for discreet contact, Robin did not.
    before = len(smtp.messages)
    assert send_reminders(appointment.starts_at - timedelta(hours=1)) == 1
    run_pass()
    (reminder,) = smtp.messages[before:]
    assert reminder["To"].addresses[0].addr_spec == "robin@partner.example"

    # Either can cancel: Robin does, and both are told with METHOD:CANCEL.
    page = partner_browser.get(partner_manage)
    cancelled = partner_browser.post(partner_manage + "/cancel",
                                     data={"csrf_token": csrf_from(page.text)})
    assert cancelled.status_code == 200 and "Alex" in cancelled.text
    assert "/intake/" not in cancelled.text  # no way into the first partner's intake
    run_pass()
    told = {m["To"].addresses[0].addr_spec: m for m in smtp.messages[before + 1:]}
    assert set(told) == {"alex@client.example", "robin@partner.example",
                         "maya.chen@practice.example"}
    for message in told.values():
        cal, method = invite_of(message)
        assert method == "CANCEL" and str(cal.walk("VEVENT")[0]["UID"]) == appointment.uid
        assert cal.walk("VEVENT")[0]["SEQUENCE"] == 3
    assert "Robin asked us to cancel" in told["alex@client.example"].get_body(
        ("plain",)).get_content()
    robin_text = told["robin@partner.example"].get_body(("plain",)).get_content()
    assert "As you asked" in robin_text and "/intake/" not in robin_text


def test_a_partner_who_is_afraid_is_supported_and_nothing_changes_for_the_first(
    app, client, demo, smtp, make_user, clock
):
    appointment = book_as_couple(client)
    held_until = appointment.hold_expires_at
    run_pass()
    first_mails = len(smtp.to("alex@client.example"))
    path = partner_link(smtp)
    partner_browser = app.test_client()

    # Afraid of their partner: support at once, even with other answers left to fix.
    shown = answer(partner_browser, path, feels_safe="yes", consent_privacy=None)
    assert shown.status_code == 200
    for support in ("1-800-799-7233", "START", "88788", "tel:911", "Leave this page quickly",
                    "Alex won"):
        assert support in shown.text, support
    assert 'href="https://www.google.com/"' in shown.text
    partner = db.session.scalar(sa.select(Partner))
    assert partner.status == "flagged" and partner.story == OWN_WORDS

    db.session.expire_all()
    appointment = db.session.get(Appointment, appointment.id)
    # Not confirmed, held just as long as before: the same as for any couple's request.
    assert appointment.status == "held" and appointment.sequence == 1  # as when one joins
    assert appointment.hold_expires_at == held_until
    run_pass()
    assert len(smtp.to("robin@partner.example")) == 1  # no joint invite
    assert len(smtp.to("alex@client.example")) == first_mails  # nothing for Alex
    (alert,) = smtp.to("frontdesk@harbor.example")
    assert alert["Subject"] == "A couple's booking needs a call"
    for private in ("Robin", "Alex", "afraid", "lighthouse", "safe"):
        assert private not in bodies(alert).replace("needs a call", ""), private
    # The link, opened again (by anyone), shows only that answers were given.
    again = partner_browser.get(path)
    assert "we have your answers" in again.text
    assert "1-800-799-7233" not in again.text and "lighthouse" not in again.text
    assert appointment.intake.reference not in again.text

    # Staff see it as urgent, and the two intakes side by side.
    desk = app.test_client()
    make_user("front_desk", email="desk@harbor.example")
    sign_in(desk, "desk@harbor.example")
    dashboard = desk.get("/staff/")
    assert "A couple's booking needs a call" in dashboard.text
    assert "(1 urgent)" in dashboard.text
    assert "A couple, with Robin Lee: needs a private call first" in dashboard.text
    page = desk.get(f"/staff/intakes/{appointment.intake_id}")
    assert "A couple:" in page.text and "Call Robin Lee privately" in page.text
    assert FIRST_WORDS in page.text and OWN_WORDS in page.text
    # At Robin's last day to answer, Alex hears what anyone whose request still waits hears.
    clock.set(partner.answer_by + timedelta(minutes=1))
    assert "couples: 1 followed up" in run_pass()
    (pending,) = smtp.to("alex@client.example")[first_mails:]
    assert pending["Subject"] == "About your consultation request"
    assert "will be in touch" in bodies(pending) and "Robin" not in bodies(pending)
    # After the call, staff decide: Robin joins, and only then does the joint invite go out.
    sign_in(desk, "desk@harbor.example")  # days later
    page = desk.get(f"/staff/intakes/{appointment.intake_id}")
    done = desk.post(f"/staff/partners/{partner.id}/include",
                     data={"csrf_token": csrf_from(page.text)})
    assert done.status_code == 303
    run_pass()
    cal, method = invite_of(smtp.to("robin@partner.example")[-1])
    assert method == "REQUEST" and str(cal.walk("VEVENT")[0]["UID"]) == appointment.uid


def test_a_partner_not_heard_from_is_on_the_dashboard_and_the_first_is_told_kindly(
    app, client, demo, smtp, clock, make_user
):
    book_as_couple(client)
    run_pass()
    path = partner_link(smtp)
    first_mails = len(smtp.to("alex@client.example"))
    partner = db.session.scalar(sa.select(Partner))
    # Five days to answer, or less when the consultation is sooner (the desk hears in time).
    assert partner.answer_by - partner.invited_at <= timedelta(days=5)
    clock.set(partner.answer_by - timedelta(minutes=1))
    assert "couples" not in run_pass()
    clock.set(partner.answer_by + timedelta(minutes=1))
    assert "couples: 1 followed up" in run_pass()
    (told,) = smtp.to("alex@client.example")[first_mails:]
    assert "will be in touch" in told.get_body(("plain",)).get_content()
    assert "Robin" not in bodies(told) and "answer" not in bodies(told)
    assert run_pass() == ""  # told once

    desk = app.test_client()
    make_user("front_desk", email="desk@harbor.example")
    sign_in(desk, "desk@harbor.example")
    assert "no answer to their own form yet" in desk.get("/staff/").text

    # A late answer is still welcome, and the partner joins.
    assert answer(app.test_client(), path).status_code == 200
    assert db.session.scalar(sa.select(Partner.status)) == "joined"
    assert "no answer to their own form yet" not in desk.get("/staff/").text


def test_a_partner_whose_email_bounces_is_on_the_dashboard(
    app, client, demo, smtp, make_user, clock
):
    smtp.unknown.add("robin@partner.example")
    book_as_couple(client)
    assert "couples: 1 followed up" in run_pass()
    assert db.session.scalar(sa.select(OutboxMessage.status).where(
        OutboxMessage.kind == "partner_invite")) == "failed"
    assert db.session.scalar(sa.select(Partner.status)) == "bounced"
    desk = app.test_client()
    make_user("front_desk", email="desk@harbor.example")
    sign_in(desk, "desk@harbor.example")
    assert "could not be delivered" in desk.get("/staff/").text
    # The first partner hears at the partner's last day, as for any couple's request that
    # still waits, not at once (which would tell them something of their partner).
    (booking,) = smtp.to("alex@client.example")
    clock.set(db.session.scalar(sa.select(Partner.answer_by)) + timedelta(minutes=1))
    run_pass()
    booking, told = smtp.to("alex@client.example")
    assert "will be in touch" in told.get_body(("plain",)).get_content()


def test_once_both_are_on_it_a_new_time_is_agreed_with_both_by_the_front_desk(
    app, client, demo, smtp, make_user
):
    appointment = book_directly("maya-chen", partner_agreed=True,
                                partner_email="robin@partner.example")
    partner = db.session.scalar(sa.select(Partner))
    answer_partner(partner.id, {**PARTNER_ANSWERS, "consent_contact": True,
                                "consent_privacy": True})
    db.session.expire_all()
    appointment = db.session.get(Appointment, appointment.id)
    with app.test_request_context():
        manage = urlsplit(links.manage_url(appointment)).path
    # The therapist's own calendar feed shows both by their initials.
    assert b"SUMMARY:Consultation: A. M. & R. L." in feed_for(appointment.therapist_id)
    with app.test_request_context():
        theirs = urlsplit(links.manage_url(appointment, partner=True)).path
    page = client.get(manage)
    assert "Who is coming" in page.text and "You and Robin, together" in page.text
    assert "Choose another time" not in page.text  # no moving it alone
    # Robin asks for another time: the desk sees who asked; Alex's page doesn't say they did.
    robin = app.test_client()
    asked = robin.post(f"{theirs}/reschedule", data={})
    assert asked.status_code == 200 and "passed your request" in asked.text
    db.session.expire_all()
    moved = db.session.get(Appointment, appointment.id)
    assert moved.change_request == "reschedule" and moved.starts_at == appointment.starts_at
    assert moved.change_requested_by == "partner"
    assert "You've asked" in robin.get(theirs).text
    assert "You've asked" not in client.get(manage).text
    desk = app.test_client()
    make_user("front_desk", email="desk@harbor.example")
    sign_in(desk, "desk@harbor.example")
    assert "Alex's partner</strong> asks to move" in desk.get("/staff/").text
    # The rule is the lifecycle's, whatever page asks: a couple's time is not moved alone.
    with pytest.raises(StateError):
        reschedule(moved.id, moved.link_version, next_open_times(
            moved.therapist, moved.starts_at, 1)[0].starts_at)
    client.post(f"{manage}/reschedule", data={})
    assert "You've asked us to find another time" in client.get(manage).text
    assert "You've asked" not in robin.get(theirs).text

    # The front desk's offer of a new time goes to the one who booked: its page leads into
    # their own intake, which the partner never reaches.
    propose(appointment.id, next_open_times(appointment.therapist, appointment.starts_at, 1)[0]
            .starts_at, None)
    offers = db.session.scalars(sa.select(OutboxMessage.recipient).where(
        OutboxMessage.kind == "proposed_client")).all()
    assert offers == ["alex@client.example"]

    # A note the front desk writes on a decline was written to the one who booked.
    decline(appointment.id, None, "We think individual sessions would suit you first.")
    notes = dict(db.session.execute(sa.select(OutboxMessage.recipient, OutboxMessage.raw).where(
        OutboxMessage.kind == "declined_client")).all())
    assert b"individual sessions" in notes["alex@client.example"]
    assert b"individual sessions" not in notes["robin@partner.example"]


def test_the_first_partner_cannot_give_their_own_address_as_the_partners(client):
    answers = {**GOOD_ANSWERS, "partner_agreed": "y", "partner_email": "ALEX@client.example"}
    for step in range(3):
        assert post_step(client, step, answers).status_code == 200
    reference_page = post_step(client, 3, answers)
    assert reference_page.status_code == 422
    assert "the address you gave for your partner" in reference_page.text


def test_hostile_values_in_the_partners_form_never_break_it(app, client, demo):
    book_directly("maya-chen", partner_agreed=True, partner_email="robin@partner.example")
    partner = db.session.scalar(sa.select(Partner))
    with app.test_request_context():
        path = urlsplit(links.partner_intake_url(partner.id)).path
    # Without the privacy box nothing is stored, so every value meets the same fresh form.
    good = {k: v for k, v in PARTNER_ANSWERS.items() if k != "consent_privacy"}
    failures = []
    for name in good:
        for value in HOSTILE:
            answer = client.post(path, data={**good, name: value})
            if answer.status_code != 422 or "Traceback" in answer.text:
                failures.append((name, value[:20], answer.status_code))
    for bad in ("", "x", "A" * 300, path.rsplit("/", 1)[1][:-2] + "xx"):
        if client.get(f"/together/{bad}").status_code not in (404, 405):
            failures.append(("token", bad[:20]))
    assert failures == []
    assert db.session.scalar(sa.select(Partner.status)) == "invited"


def test_a_partner_who_thinks_again_is_heard(app, client, demo, smtp):
    appointment = book_as_couple(client)
    run_pass()
    path = partner_link(smtp)
    first_mails = len(smtp.to("alex@client.example"))
    partner_browser = app.test_client()
    assert "Thank you, Robin" in answer(partner_browser, path).text
    run_pass()
    partner = db.session.scalar(sa.select(Partner))
    assert partner.status == "joined"
    # Back, a different answer, sent again: the worry counts, support is shown, staff told.
    again = partner_browser.post(path, data={**PARTNER_ANSWERS, "feels_safe": "unsure"})
    assert again.status_code == 200 and "1-800-799-7233" in again.text
    db.session.expire_all()
    assert db.session.get(Partner, partner.id).status == "flagged"
    assert db.session.get(Partner, partner.id).feels_safe == "unsure"
    run_pass()
    (alert,) = smtp.to("frontdesk@harbor.example")
    assert alert["Subject"] == "A couple's booking needs a call"
    assert len(smtp.to("alex@client.example")) == first_mails
    # Robin is off the consultation until staff decide: no more of its emails.
    confirm(appointment.id, None)
    run_pass()
    assert len(smtp.to("robin@partner.example")) == 2  # the invitation and the first invite
    # Anything else sent again changes nothing.
    same = partner_browser.post(path, data=PARTNER_ANSWERS)
    assert "we have your answers" in same.text
    assert db.session.get(Partner, partner.id).status == "flagged"


def _seen_by_first_partner(app, smtp, browser, appointment) -> list[str]:
    """Return what a first partner can see of their booking (their pages, their calendar file,
    their emails), with what differs between any two bookings (times, links, addresses) taken
    out."""
    db.session.expire_all()
    booked = db.session.get(Appointment, appointment.id)
    intake = booked.intake
    with app.test_request_context():
        manage = urlsplit(links.manage_url(booked)).path
    shown = [browser.get(path).text for path in (
        manage, f"{manage}/reschedule", f"/intake/{intake.reference}/match",
        f"/intake/{intake.reference}/booked/{booked.uid}")]
    ics = Calendar.from_ical(browser.get(f"{manage}/calendar.ics").data).walk("VEVENT")[0]
    shown.append(f"{ics['SEQUENCE']} {ics['STATUS']} {booked.status} {booked.sequence}")
    shown += [bodies(m) for m in smtp.to(intake.email)]
    zone = booked.client_timezone
    variable = [booked.uid, intake.reference, intake.email]
    for instant in (booked.starts_at, booked.ends_at):
        variable += [fmt(instant, zone) for fmt in (when, day, short_day, clock)]
        variable.append(f"{instant.astimezone(UTC):%Y%m%dT%H%M%SZ}")
    plain = []
    for text in shown:
        for value in sorted(variable, key=len, reverse=True):
            text = text.replace(value, "…")
        plain.append(re.sub(r"(/manage/|/choose-again/|/together/|token=)[\w.\-]+", r"\1…",
                            re.sub(r"DTSTAMP:\S+|Message-ID.*|X-CSRFToken\": \"[^\"]+"
                                   r"|\d{4}-\d\d-\d\dT[\dA-F%:+]+", "", text)))
    return plain


def test_what_the_first_partner_sees_never_depends_on_the_partners_answers(
    app, demo, smtp, clock
):
    couples = {}
    for n, feels_safe in enumerate(("no", "yes")):
        browser = app.test_client()
        couples[feels_safe] = (browser, book_first_time(
            browser, "maya-chen", story=FIRST_WORDS, partner_agreed="y", partner_name="Robin",
            partner_email=f"robin{n}@partner.example", email=f"alex{n}@client.example"))
    run_pass()
    for n, feels_safe in enumerate(("no", "yes")):
        (message,) = smtp.to(f"robin{n}@partner.example")
        path = re.search(r"http://127\.0\.0\.1:5000(/together/\S+)",
                         message.get_body(("plain",)).get_content()).group(1)
        assert answer(app.test_client(), path, feels_safe=feels_safe,
                      email=f"robin{n}@partner.example").status_code == 200
    run_pass()
    assert sorted(db.session.scalars(sa.select(Partner.status))) == ["flagged", "joined"]

    def seen(feels_safe):
        return _seen_by_first_partner(app, smtp, *couples[feels_safe])

    for a, b in zip(seen("no"), seen("yes"), strict=True):
        assert a == b, "\n".join(list(__import__("difflib").unified_diff(
            a.splitlines(), b.splitlines(), lineterm=""))[:30])
    # At the partners' last day to answer, and after it: still the same.
    last = max(db.session.scalars(sa.select(Partner.answer_by)))
    clock.set(last + timedelta(minutes=1))
    run_pass()
    assert seen("no") == seen("yes")
    assert "will be in touch" in seen("no")[-1]


def test_the_partners_form_needs_no_form_token(app, client, demo, with_csrf):
    book_directly("maya-chen", partner_agreed=True, partner_email="robin@partner.example")
    partner = db.session.scalar(sa.select(Partner))
    with app.test_request_context():
        path = urlsplit(links.partner_intake_url(partner.id)).path
    # Sent an hour or more after the page was opened, or from another tab: the link decides.
    done = client.post(path, data=PARTNER_ANSWERS)
    assert done.status_code == 200 and "Thank you, Robin" in done.text
