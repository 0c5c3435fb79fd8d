"""A couple's partner in real Chromium: their own intake from their own email, with
JavaScript and without, the private safety screen and its quick exit. axe checks each page."""

from __future__ import annotations

import re

import sqlalchemy as sa
from playwright.sync_api import expect

from intake.appointments.models import Appointment
from intake.couples.models import Partner
from intake.extensions import db
from intake.worker import run_pass
from tests.browser.test_client_journey import check_a11y, check_a11y_static

NEUTRAL = "https://www.google.com/"
FIRST_WORDS = "We keep having the same fight about the kitchen sink."
OWN_WORDS = "More evenings that feel like us again."


def book_as_a_couple(page, live_server, first: str, partner: str) -> None:
    """Walk the intake as the first partner (a couple; the partner agreed to be contacted)
    and book Maya's first time, in whatever browser `page` is (with JavaScript or without)."""
    page.goto(f"{live_server}/intake")
    page.get_by_label("No").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="What brings you here")).to_be_visible()
    page.get_by_label("The same arguments, over and over").check()
    page.get_by_label("In your own words").fill(FIRST_WORDS)
    page.get_by_label("Couples therapy").check()
    page.get_by_label("My partner and me").check()
    page.get_by_label("Your partner's first name").fill(partner.title())
    page.get_by_label("My partner agreed to be contacted").check()
    page.get_by_label("Your partner's email").fill(f"{partner}@partner.example")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Your preferences")).to_be_visible()
    page.get_by_label("Online (video)").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="How we can reach you")).to_be_visible()
    page.get_by_label("Your name").fill(f"{first.title()} Morgan")
    page.get_by_label("Your email").fill(f"{first}@client.example")
    page.get_by_label("The practice may contact me").check()
    page.get_by_label("I have read the privacy notice").check()
    page.wait_for_timeout(1100)  # a person takes longer than the form's minimum fill time
    page.get_by_role("button", name="See who fits").click()
    page.get_by_role("link", name="See all times with Maya").click()
    page.locator("a.slot").first.click()
    page.get_by_role("button", name="Book this time").click()
    # Held until the partner has answered, whatever the therapist's setting.
    expect(page.get_by_role("heading", name="Your time is held")).to_be_visible()
    expect(page.get_by_text(f"We've emailed {partner.title()} a short form of their own")
           ).to_be_visible()


def partner_link(smtp, partner: str) -> str:
    """Deliver the mail; return the path of the link in the partner's invitation."""
    run_pass()
    (message,) = smtp.to(f"{partner}@partner.example")
    text = message.get_body(("plain",)).get_content()
    return re.search(r"http://127\.0\.0\.1:5000(/together/\S+)", text).group(1)


def test_the_partner_answers_on_their_own_with_javascript_and_quick_exit_works(
    live_server, open_context, demo, smtp
):
    book_as_a_couple(open_context().new_page(), live_server, "alex", "robin")
    path = partner_link(smtp, "robin")
    context = open_context(timezone_id="America/Chicago")
    context.route(NEUTRAL, lambda route: route.fulfill(body="<title>Search</title>",
                                                       content_type="text/html"))
    page = context.new_page()
    failures = []
    page.on("pageerror", lambda error: failures.append(str(error)))

    # Quick exit leaves for a neutral site and takes this page out of the history.
    page.goto(f"{live_server}/")
    page.goto(f"{live_server}{path}")
    page.wait_for_load_state("load")
    page.get_by_role("link", name="Leave this page quickly").click()
    page.wait_for_url(NEUTRAL)
    page.go_back()
    assert "/together/" not in page.url
    # Esc twice does the same.
    page.goto(f"{live_server}{path}")
    page.wait_for_load_state("load")
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    page.wait_for_url(NEUTRAL)

    page.goto(f"{live_server}{path}")
    expect(page.get_by_role("heading", name=re.compile("Hello Robin"))).to_be_visible()
    expect(page.get_by_text("Alex will never see them")).to_be_visible()
    # The zone comes from the device; the name and email from the invitation.
    expect(page.get_by_label("Your time zone")).to_have_value("America/Chicago")
    expect(page.get_by_label("Your email")).to_have_value("robin@partner.example")
    check_a11y(page, "partner form")

    page.get_by_role("button", name="Send my answers").click()
    expect(page.locator(".error-summary")).to_be_focused()
    expect(page.locator("#feels_safe-error")).to_contain_text("Any answer is all right")
    check_a11y(page, "partner form errors")

    page.locator("#safety").get_by_label("No", exact=True).check()
    page.locator("#feels_safe").get_by_label("No", exact=True).check()
    page.get_by_label("Wanting more emotional closeness").check()
    page.get_by_label("In your own words").fill(OWN_WORDS)
    page.get_by_label("The practice may contact me").check()
    page.get_by_label("I have read the privacy notice").check()
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_role("heading", name="Thank you, Robin")).to_be_visible()
    check_a11y(page, "partner joined")
    assert db.session.scalar(sa.select(Partner.timezone)) == "America/Chicago"
    # On the consultation, which waits for the front desk like every couple's request.
    assert db.session.scalar(sa.select(Partner.status)) == "joined"
    assert db.session.scalar(sa.select(Appointment.status)) == "held"
    assert failures == []
    # Both have the invite now; neither's words are in any email.
    run_pass()
    assert len(smtp.to("robin@partner.example")) == 2
    for message in smtp.messages:
        text = message.get_body(("plain",)).get_content()
        assert FIRST_WORDS not in text and OWN_WORDS not in text


def test_without_javascript_a_partner_who_is_afraid_sees_support_and_a_way_out(
    live_server, open_context, demo, smtp
):
    page = open_context(java_script_enabled=False).new_page()
    book_as_a_couple(page, live_server, "sam", "jo")
    path = partner_link(smtp, "jo")
    page.goto(f"{live_server}{path}")
    expect(page.get_by_role("heading", name=re.compile("Hello Jo"))).to_be_visible()
    check_a11y_static(page, "no-js partner form")

    page.locator("#safety").get_by_label("No", exact=True).check()
    page.locator("#feels_safe").get_by_label("Yes", exact=True).check()
    page.get_by_label("In your own words").fill("It isn't easy to say this.")
    # Consent left unticked: support comes first all the same.
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_role("heading", name="Thank you for telling us")).to_be_visible()
    expect(page.get_by_role("link", name="Call 1-800-799-7233")).to_have_attribute(
        "href", "tel:+18007997233")
    expect(page.get_by_role("link", name="Call 911")).to_be_visible()
    exit_link = page.get_by_role("link", name="Leave this page quickly")
    expect(exit_link).to_have_attribute("href", NEUTRAL)
    expect(exit_link).to_have_attribute("rel", "noreferrer")
    check_a11y_static(page, "no-js partner safety")
    assert db.session.scalar(sa.select(Partner.status)) == "flagged"

    # Opened again, the link shows only that answers were given.
    page.goto(f"{live_server}{path}")
    expect(page.get_by_role("heading", name="Thank you: we have your answers")).to_be_visible()
    expect(page.get_by_text("1-800-799-7233")).to_have_count(0)
    check_a11y_static(page, "no-js partner answered")
