"""Booking: review, hold, confirm-or-wait, one booking per time, kind pages when it can't be."""

import re
import threading
from datetime import datetime, timedelta
from html import unescape

import pytest
import requests
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from intake.appointments.models import Appointment
from intake.clock import now_utc
from intake.extensions import db
from intake.mail.models import OutboxMessage
from intake.therapists.models import Therapist
from tests.helpers import fill_intake, hidden_inputs, slot_links

both_databases = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)


def review_first_time(client, reference, slug=None):
    """Open the review page of the first time offered (for `slug` if given)."""
    page = client.get(f"/intake/{reference}/match")
    links = [link for link in slot_links(page.text) if slug is None or f"/book/{slug}?" in link]
    review = client.get(links[0])
    assert review.status_code == 200, review.text
    return review


def book_url(review_page):
    return re.search(r'<form method="post" action="([^"]+)"', review_page.text).group(1)


def count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@both_databases
def test_booking_holds_the_time_and_queues_both_invites(client, demo):
    reference = fill_intake(client)
    review = review_first_time(client, reference, "sam-whitaker")
    assert "Check and book" in review.text and "Sam Whitaker" in review.text
    done = client.post(book_url(review), data=hidden_inputs(review.text))
    assert done.status_code == 303
    page = client.get(done.headers["Location"])
    assert "Your time is held" in page.text and "What happens next" in page.text
    appointment = db.session.scalar(sa.select(Appointment))
    assert appointment.status == "held"  # Sam's requests wait for the front desk
    assert appointment.hold_expires_at - appointment.created_at == timedelta(hours=24)
    assert appointment.sequence == 0 and appointment.uid.endswith("@intake")
    kinds = sorted(db.session.scalars(sa.select(OutboxMessage.kind)))
    assert kinds == ["booking_client", "booking_therapist"]
    # The time is no longer offered.
    again = client.get(f"/intake/{reference}/match")
    assert appointment.starts_at.isoformat() not in again.text.replace("%2B", "+")


def test_auto_confirming_therapists_confirm_at_once(client, demo):
    reference = fill_intake(client)
    review = review_first_time(client, reference, "maya-chen")
    page = client.get(client.post(book_url(review), data=hidden_inputs(review.text))
                      .headers["Location"])
    assert "You're booked" in unescape(page.text)
    assert db.session.scalar(sa.select(Appointment.status)) == "confirmed"


def test_a_double_submit_makes_one_booking(client, demo):
    reference = fill_intake(client)
    review = review_first_time(client, reference)
    form = hidden_inputs(review.text)
    first = client.post(book_url(review), data=form)
    second = client.post(book_url(review), data=form)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert count(Appointment) == 1
    assert count(OutboxMessage) == 2


def test_the_loser_of_a_race_gets_a_kind_page_with_other_times(app, client, demo):
    reference = fill_intake(client)
    review = review_first_time(client, reference, "sam-whitaker")
    rival = app.test_client()
    rival_ref = fill_intake(rival, email="rival@client.example")
    rival_review = rival.get(f"/intake/{rival_ref}/book/sam-whitaker?"
                             + review.request.query_string.decode())
    assert rival_review.status_code == 200
    assert rival.post(book_url(rival_review), data=hidden_inputs(rival_review.text)) \
        .status_code == 303
    lost = client.post(book_url(review), data=hidden_inputs(review.text))
    assert lost.status_code == 409
    assert "Someone booked that time a moment ago" in lost.text
    assert len(slot_links(lost.text)) >= 3
    assert count(Appointment) == 1


@pytest.mark.parametrize(
    "start",
    [
        "not-a-time",
        "2020-01-06T14:00:00+00:00",  # past
        "2026-12-01T14:07:00",  # no zone
        "X" * 500,
    ],
)
def test_tampered_and_past_times_are_refused_kindly(client, demo, start):
    reference = fill_intake(client)
    review = review_first_time(client, reference, "sam-whitaker")
    response = client.post(book_url(review), data={**hidden_inputs(review.text), "start": start})
    assert response.status_code in (409, 422)
    assert "choose" in response.text.lower()
    assert count(Appointment) == 0
    link = client.get(f"/intake/{reference}/book/sam-whitaker?start={start}")
    assert link.status_code == 409 and "Please choose another time" in link.text


def test_out_of_hours_and_off_grid_times_are_refused(client, demo):
    reference = fill_intake(client)
    review = review_first_time(client, reference, "sam-whitaker")
    start = hidden_inputs(review.text)["start"]

    offered = datetime.fromisoformat(start)
    for bad in (offered + timedelta(minutes=7), offered.replace(hour=(offered.hour + 12) % 24)):
        response = client.post(book_url(review),
                               data={**hidden_inputs(review.text), "start": bad.isoformat()})
        assert response.status_code == 422
        assert "That time isn't available" in unescape(response.text)
    assert count(Appointment) == 0


def test_a_therapist_who_does_not_offer_the_modality_cannot_be_booked(client, demo):
    reference = fill_intake(client)  # couples therapy
    review = review_first_time(client, reference, "sam-whitaker")
    url = book_url(review).replace("sam-whitaker", "daniel-okafor")  # EMDR only
    response = client.post(url, data=hidden_inputs(review.text))
    assert response.status_code == 422
    assert "doesn't offer what you asked for" in unescape(response.text)
    assert count(Appointment) == 0


def test_week_navigation_with_htmx_and_plain_links(client, demo):
    reference = fill_intake(client)
    page = client.get(f"/intake/{reference}/times/sam-whitaker")
    assert page.status_code == 200 and "<html" in page.text
    assert "Times in UK time (London)." in page.text
    next_link = page.text.split('hx-get="', 1)[1].split('"')[0].replace("&amp;", "&")
    partial = client.get(next_link, headers={"HX-Request": "true"})
    assert partial.status_code == 200
    assert "<html" not in partial.text and 'id="week"' in partial.text
    plain = client.get(next_link)
    assert "<html" in plain.text and 'id="week"' in plain.text
    other_zone = client.get(f"/intake/{reference}/times/sam-whitaker?tz=America/Los_Angeles")
    assert "Pacific Time (Los Angeles)" in other_zone.text


@both_databases
def test_the_database_itself_refuses_a_second_booking_of_the_same_time(client, demo):
    reference = fill_intake(client)
    review = review_first_time(client, reference, "sam-whitaker")
    client.post(book_url(review), data=hidden_inputs(review.text))
    first = db.session.scalar(sa.select(Appointment))
    clash = Appointment(therapist_id=first.therapist_id, intake_id=first.intake_id,
                        starts_at=first.starts_at, ends_at=first.ends_at, status="held",
                        format="telehealth", client_timezone="UTC", idempotency_key="k" * 20)
    db.session.add(clash)
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    # Cancelled appointments give their time back.
    first.status = "cancelled"
    db.session.commit()
    db.session.add(Appointment(therapist_id=first.therapist_id, intake_id=first.intake_id,
                               starts_at=first.starts_at, ends_at=first.ends_at, status="held",
                               format="telehealth", client_timezone="UTC",
                               idempotency_key="m" * 20))
    db.session.commit()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_postgres_refuses_overlapping_times_with_different_starts(client, demo):
    therapist = db.session.scalar(sa.select(Therapist).where(Therapist.slug == "maya-chen"))
    fill_intake(client)
    intake_id = db.session.scalar(sa.text("select id from intake"))
    start = now_utc().replace(microsecond=0) + timedelta(days=3)
    for offset, key in ((0, "a" * 20), (15, "b" * 20)):
        db.session.add(Appointment(therapist_id=therapist.id, intake_id=intake_id,
                                   starts_at=start + timedelta(minutes=offset),
                                   ends_at=start + timedelta(minutes=offset + 30),
                                   status="confirmed", format="telehealth",
                                   client_timezone="UTC", idempotency_key=key))
    with pytest.raises(IntegrityError):
        db.session.commit()


@both_databases
def test_concurrent_bookings_of_one_time_make_exactly_one(app, demo, live_server):
    """Eight browsers press "Book" for the same time at once, through the real server."""
    sessions = []
    for i in range(8):
        browser = requests.Session()
        answers = {"safety": "no", "concerns": ["conflict"], "modality": "couples",
                   "kind": "couple", "partner_name": "Robin", "format": "telehealth",
                   "language": "en", "times": ["evening"], "timezone": "Europe/London",
                   "name": f"Person {i}", "email": f"p{i}@client.example",
                   "consent_contact": "y", "consent_privacy": "y", "nav": "next"}
        for step in range(4):
            last = browser.post(f"{live_server}/intake", data={**answers, "step": step},
                                allow_redirects=False)
        match_url = live_server + last.headers["Location"]
        links = [link for link in slot_links(browser.get(match_url).text)
                 if "/book/sam-whitaker?" in link]
        review = browser.get(live_server + links[0])
        sessions.append((browser, live_server + book_url(review), hidden_inputs(review.text)))

    barrier = threading.Barrier(len(sessions))
    results = []

    def press(browser, url, form):
        barrier.wait()
        results.append(browser.post(url, data=form, allow_redirects=False).status_code)

    threads = [threading.Thread(target=press, args=s) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [303] + [409] * 7
    assert count(Appointment) == 1
    assert count(OutboxMessage) == 2


def test_every_time_offered_after_a_booking_can_itself_be_booked(app, client, demo):
    other = app.test_client()  # someone else books first, moving the times around theirs
    first = fill_intake(other, email="first@client.example")
    review = review_first_time(other, first, "maya-chen")
    assert other.post(book_url(review), data=hidden_inputs(review.text)).status_code == 303
    reference = fill_intake(client)
    page = client.get(f"/intake/{reference}/times/maya-chen")
    links = slot_links(page.text)
    assert links
    for link in links:
        assert client.get(link).status_code == 200, link


def test_a_time_zone_name_far_too_long_falls_back_to_the_intake_s_own(client, demo):
    reference = fill_intake(client)
    for path in (f"/intake/{reference}/match", f"/intake/{reference}/times/maya-chen"):
        for zone in ("Europe/" + "x" * 5000, "Mars/Olympus", "../../etc/passwd"):
            page = client.get(path, query_string={"tz": zone})
            assert page.status_code == 200
            assert "London" in page.text and "Olympus" not in page.text  # the intake's own


def test_a_person_who_said_either_chooses_how_to_meet_and_a_couple_is_told_who_comes(
        client, demo):
    reference = fill_intake(client, format="either", partner_name="Robin")
    review = review_first_time(client, reference, "maya-chen")  # online and in person
    text = unescape(review.text)
    assert "How would you like to meet?" in text and "At 22 Harbor Street, Suite 4" in text
    assert "Who is coming" in text and "You and Robin, together" in text
    data = {**hidden_inputs(review.text), "how": "in_person"}
    assert client.post(book_url(review), data=data).status_code == 303
    appointment = db.session.scalar(sa.select(Appointment))
    assert appointment.format == "in_person" and appointment.video_room == ""
    booked = client.get(f"/intake/{reference}/booked/{appointment.uid}").text
    assert "22 Harbor Street, Suite 4" in booked


def test_a_way_to_meet_the_person_did_not_ask_for_is_not_taken(client, demo):
    reference = fill_intake(client)  # online, as the person asked
    review = review_first_time(client, reference, "maya-chen")
    assert "How would you like to meet?" not in review.text
    data = {**hidden_inputs(review.text), "how": "in_person"}
    assert client.post(book_url(review), data=data).status_code == 303
    assert db.session.scalar(sa.select(Appointment.format)) == "telehealth"
    # Nonsense is refused by the form's own check, and nothing is booked.
    other = client.application.test_client()
    second = review_first_time(other, fill_intake(other, email="o@client.example"), "maya-chen")
    bad = {**hidden_inputs(second.text), "how": "carrier pigeon"}
    assert other.post(book_url(second), data=bad).status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 1
