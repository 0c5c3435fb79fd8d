"""Nobody takes a therapist's whole week: one time to come per intake, and daily caps on the
bookings of one email address and of one connection."""

from __future__ import annotations

import re
from html import unescape

import pytest
import sqlalchemy as sa

from intake.appointments import services
from intake.appointments.models import Appointment
from intake.clock import now_utc
from intake.extensions import db, limiter
from intake.scheduling.services import next_open_times
from intake.therapists.models import Therapist
from tests.helpers import fill_intake, hidden_inputs, slot_links


def review(client, reference, index=0, slug="sam-whitaker"):
    """Open the review page of one of the times offered on `slug`'s times page."""
    page = client.get(f"/intake/{reference}/times/{slug}")
    links = slot_links(page.text)
    for day in re.findall(r'<a href="([^"]+&amp;day=[^"]+)"', page.text)[1:]:
        links += slot_links(client.get(unescape(day)).text)  # the week's other days
    answer = client.get(links[index])
    assert answer.status_code == 200, answer.text
    return answer


def book(client, page):
    """Send the review page's booking form as a browser would; return the answer."""
    action = f"/intake/{page.request.path.split('/')[2]}/book/{page.request.path.split('/')[-1]}"
    return client.post(action, data=hidden_inputs(page.text))


def statuses(reference):
    db.session.expire_all()
    return db.session.scalars(sa.select(Appointment.status).join(Appointment.intake).where(
        sa.text("intake.reference = :r")).params(r=reference).order_by(Appointment.id)).all()


def test_once_booked_the_pages_show_the_booking_and_a_second_one_is_refused_kindly(
        client, demo):
    reference = fill_intake(client)
    first = review(client, reference)
    second = review(client, reference, index=1)  # opened in another tab before booking
    assert "You already have" not in first.text
    assert book(client, first).status_code == 303
    assert book(client, first).status_code == 303  # the same form sent again: the same booking

    # Back, the match page, the times: each shows the booking and a way to change it.
    for path in (first.request.full_path, f"/intake/{reference}/match",
                 f"/intake/{reference}/times/maya-chen"):
        page = unescape(client.get(path).text)
        assert "Your time is held" in page and "with Sam Whitaker" in page, path
        assert 'href="/manage/' in page and "View or change it" in page, path
        assert not slot_links(page), path
    refused = book(client, second)
    assert refused.status_code == 409 and "Your time is held" in unescape(refused.text)
    assert statuses(reference) == ["held"]


def test_a_request_the_practice_offered_another_time_for_can_be_replaced_and_says_so_first(
        client, demo):
    reference = fill_intake(client)
    assert book(client, review(client, reference)).status_code == 303
    held = db.session.scalar(sa.select(Appointment))
    sam = db.session.scalar(sa.select(Therapist).where(Therapist.slug == "sam-whitaker"))
    services.propose(held.id, next_open_times(sam, now_utc(), 3)[-1].starts_at, None)
    second = review(client, reference, index=1)
    notice = unescape(second.text)
    assert "You already have a request with Sam Whitaker" in notice
    assert "Booking this time replaces it" in notice
    assert book(client, second).status_code == 303
    assert statuses(reference) == ["cancelled", "held"]


@pytest.fixture
def three_a_day(settings):
    settings["BOOKINGS_PER_EMAIL_PER_DAY"] = 3


def test_one_email_address_books_three_times_a_day_at_most(three_a_day, app, demo):
    for email in ["alex@client.example", "Alex@Client.example ", "ALEX@client.example"]:
        browser = app.test_client()
        reference = fill_intake(browser, email=email)
        assert book(browser, review(browser, reference)).status_code == 303

    browser = app.test_client()
    reference = fill_intake(browser, email="alex@client.example")
    refused = book(browser, review(browser, reference))
    assert refused.status_code == 429
    assert "booked several consultations today with this email address" in unescape(
        refused.text)
    assert "please call us" in unescape(refused.text)
    assert statuses(reference) == []

    other = app.test_client()
    reference = fill_intake(other, email="sam@client.example")
    assert book(other, review(other, reference)).status_code == 303


@pytest.fixture
def two_a_day_per_connection(settings):
    settings.update(RATELIMIT_ENABLED=True, BOOKINGS_PER_ADDRESS_PER_DAY="2 per day",
                    INTAKE_RATE_LIMIT="1000 per hour")


def test_one_connection_books_so_many_times_a_day_and_failures_do_not_count(
        two_a_day_per_connection, app, demo):
    limiter.reset()
    browser = app.test_client()
    for n in range(2):
        reference = fill_intake(browser, email=f"person{n}@client.example")
        page = review(browser, reference)
        tampered = dict(hidden_inputs(page.text), start="2001-01-01T09:00:00+00:00")
        action = f"/intake/{reference}/book/sam-whitaker"
        assert browser.post(action, data=tampered).status_code in (409, 422)  # not counted
        assert book(browser, page).status_code == 303

    reference = fill_intake(browser, email="person3@client.example")
    refused = book(browser, review(browser, reference))
    assert refused.status_code == 429
    assert statuses(reference) == []


def test_two_tabs_sent_at_once_cannot_both_book(client, demo, monkeypatch):
    reference = fill_intake(client)
    first, second = review(client, reference), review(client, reference, index=1)
    assert book(client, first).status_code == 303
    # As if the second passed the page's own check before the first was committed: the
    # booking itself refuses it, under the lock of the one already held.
    monkeypatch.setattr(services, "current_booking", lambda *args: None)
    refused = book(client, second)
    assert refused.status_code == 409
    assert "You already have a consultation booked" in unescape(refused.text)
    assert statuses(reference) == ["held"]
