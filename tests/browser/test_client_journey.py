"""The whole client journey in real Chromium: with htmx from its pinned CDN address, and
again with JavaScript off. axe-core checks every page on the way."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import sqlalchemy as sa
from playwright.sync_api import expect

from intake import links
from intake.appointments import services
from intake.appointments.models import Appointment
from intake.config import HTMX_URL
from intake.extensions import db
from intake.mail.delivery import deliver_due
from intake.scheduling.services import next_open_times
from intake.waitlist.models import WaitlistEntry
from tests.helpers import axe_violations, book_directly

A11Y = {}


def check_a11y(page, name):
    A11Y[name] = axe_violations(page)
    assert A11Y[name] == [], (name, A11Y[name])
    assert "<" not in page.title() and len(page.title()) < 100, (name, page.title())


def test_with_htmx_the_journey_swaps_steps_in_place_and_books(
    live_server, open_context, demo, smtp
):
    context = open_context(timezone_id="Europe/Paris", locale="en-GB")
    page = context.new_page()
    failures = []
    page.on("pageerror", lambda error: failures.append(str(error)))
    # Answers with errors come back as 422 (shown in place); anything else logged is a failure.
    page.on("console", lambda m: failures.append(m.text)
            if m.type == "error" and "status of 422" not in m.text else None)

    page.goto(f"{live_server}/")
    check_a11y(page, "home")
    page.get_by_role("link", name="Start").click()
    expect(page.get_by_role("heading", name="Before we begin")).to_be_visible()
    page.wait_for_function("window.htmx")  # loaded from its CDN address, its hash checked
    assert page.evaluate("htmx.version") == "2.0.11"
    page.evaluate("window.__samePage = true")
    check_a11y(page, "safety")

    # An answer is required: the error appears beside the question, in place.
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#safety-error")).to_contain_text("Please answer this question")
    assert page.evaluate("window.__samePage") is True
    check_a11y(page, "safety error")
    page.get_by_label("No").check()
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="What brings you here")).to_be_visible()
    assert page.evaluate("window.__samePage") is True  # swapped without a reload
    expect(page).to_have_title("What brings you · Step 2 of 4 · Harbor Light Counselling")
    expect(page.locator("[aria-current=step]")).to_contain_text("What brings you")
    page.get_by_label("The same arguments, over and over").check()
    page.get_by_label("One of us shuts down or withdraws").check()
    page.get_by_label("In your own words").fill("We keep having the same fight.")
    partner = page.get_by_label("Your partner's first name")
    expect(partner).to_be_hidden()
    page.get_by_label("My partner and me").check()
    expect(partner).to_be_visible()
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#modality-error")).to_be_visible()
    expect(page.locator("#partner_name-error")).to_contain_text("partner's first name")
    expect(page.get_by_label("In your own words")).to_have_value("We keep having the same fight.")
    check_a11y(page, "about errors")
    page.get_by_label("Couples therapy").check()
    partner.fill("Robin")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="Your preferences")).to_be_visible()
    expect(page.get_by_label("Your time zone")).to_have_value("Europe/Paris")  # detected
    page.get_by_label("Online (video)").check()
    page.get_by_label("Evenings (from 5 pm)").check()
    check_a11y(page, "preferences")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="How we can reach you")).to_be_visible()
    page.get_by_role("button", name="Back").click()
    expect(page.get_by_label("Evenings (from 5 pm)")).to_be_checked()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Your name").fill("Camille Durand")
    page.get_by_label("Your email").fill("camille@client.example")
    page.get_by_label("The practice may contact me").check()
    page.get_by_label("I have read the privacy notice").check()
    check_a11y(page, "contact")
    assert page.evaluate("window.__samePage") is True
    page.get_by_role("button", name="See who fits").click()

    expect(page.get_by_role("heading", name="Therapists who could be a good fit")).to_be_visible()
    expect(page.get_by_text("Works with recurring conflict and withdrawal").first).to_be_visible()
    expect(page.get_by_text("Central European Time (Paris)").first).to_be_visible()
    check_a11y(page, "match")

    page.get_by_role("link", name="See all times with Sam").click()
    expect(page.get_by_role("heading", name=re.compile("Open times with Sam"))).to_be_visible()
    check_a11y(page, "times")
    # Common zones first, by the names people use; picked with a pointer, applied at once.
    picker = page.get_by_label("Times are shown in")
    assert picker.locator("optgroup").first.get_attribute("label") == "Common time zones"
    assert picker.locator("option").first.inner_text() == "Eastern Time (New York)"
    picker.dispatch_event("pointerdown")
    picker.select_option("America/Chicago")
    expect(page.locator(".zone-note")).to_have_text("Times in Central Time (Chicago).")
    assert "tz=America%2FChicago" in page.url
    page.wait_for_load_state("load")  # the new page's script is listening
    picker = page.get_by_label("Times are shown in")
    picker.dispatch_event("pointerdown")
    picker.select_option("Europe/Paris")
    expect(page.locator(".zone-note")).to_have_text("Times in Central European Time (Paris).")
    first_week = page.locator("#week-title").inner_text()
    page.evaluate("window.__samePage = 'times'")
    page.get_by_role("link", name="Next week →").focus()
    page.keyboard.press("Enter")  # the keyboard alone
    expect(page.locator("#week-title")).not_to_have_text(first_week)
    assert page.evaluate("window.__samePage") == "times"  # htmx swapped the week
    assert "week=" in page.url  # and the address follows
    expect(page.locator("#week-title")).to_be_focused()  # the keyboard is not sent back
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="← Previous week")).to_be_focused()

    # A strip of the days with times (a whole week ahead has several); a day's times by part
    # of the day.
    days = page.locator(".day-strip a")
    assert days.count() >= 2
    # The day shown first is one with the evening times this person asked for, marked.
    chosen = page.locator('.day-strip a[aria-current="date"]')
    expect(chosen).to_have_count(1)
    if page.locator(".day-strip .fits").count():
        expect(chosen.locator(".fits")).to_have_count(1)
    other = page.locator('.day-strip a:not([aria-current])').first
    other_day = other.locator(".date").inner_text()
    other.click()
    expect(page.locator("#day-title")).to_contain_text(other_day)
    expect(page.locator("#day-title")).to_be_focused()
    expect(page.locator('.day-strip a[aria-current="date"] .date')).to_have_text(other_day)
    assert page.evaluate("window.__samePage") == "times"
    parts = page.locator("h4.part").all_inner_texts()
    assert parts and set(parts) <= {"Morning", "Afternoon", "Evening"}
    check_a11y(page, "times, another day")
    page.get_by_role("link", name="← Previous week").click()
    expect(page.locator("#week-title")).to_have_text(first_week)

    page.locator("a.slot").first.click()
    expect(page.get_by_role("heading", name="Check and book")).to_be_visible()
    check_a11y(page, "review")
    page.get_by_role("button", name="Book this time").click()
    expect(page.get_by_role("heading", name="Your time is held")).to_be_visible()
    expect(page.get_by_text("What happens next")).to_be_visible()
    check_a11y(page, "booked")
    # Back: the review page now knows the time is theirs, and so do the times and matches.
    page.go_back()
    expect(page.get_by_role("heading", name="Your time is held")).to_be_visible()
    expect(page.get_by_text(re.compile("We're holding .* with Sam Whitaker"))).to_be_visible()
    expect(page.get_by_role("link", name="View or change it")).to_have_attribute(
        "href", re.compile(r"^/manage/"))
    check_a11y(page, "back after booking")
    page.go_back()
    expect(page.get_by_role("heading", name="Your time is held")).to_be_visible()
    assert page.locator("a.slot").count() == 0
    assert failures == []

    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 1
    assert deliver_due().sent == 2
    assert {m["To"].addresses[0].addr_spec for m in smtp.messages} == {
        "camille@client.example", "sam.whitaker@practice.example"}


def test_without_javascript_the_same_journey_works_with_plain_posts(
    live_server, open_context, demo
):
    context = open_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server}/intake")
    page.get_by_label("No").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("A harsh inner critic").check()
    page.get_by_label("I'm not sure yet").check()
    page.get_by_role("button", name="Continue").click()

    # Without JavaScript the zone starts at the practice's and is changed by hand.
    zone = page.get_by_label("Your time zone")
    expect(zone).to_have_value("America/New_York")
    zone.select_option("Europe/London")
    page.get_by_label("Either is fine").check()
    page.get_by_role("button", name="Continue").click()

    page.get_by_label("Your name").fill("Jordan Lee")
    page.get_by_label("Your email").fill("not-an-email")
    page.get_by_label("The practice may contact me").check()
    page.get_by_role("button", name="See who fits").click()
    expect(page.locator("#email-error")).to_contain_text("Please check your email address")
    expect(page.locator("#consent_privacy-error")).to_be_visible()
    expect(page.get_by_label("Your name")).to_have_value("Jordan Lee")
    check_a11y_static(page, "no-js contact errors")
    page.get_by_label("Your email").fill("jordan@client.example")
    page.get_by_label("I have read the privacy notice").check()
    page.get_by_role("button", name="See who fits").click()

    expect(page.get_by_role("heading", name="Therapists who could be a good fit")).to_be_visible()
    expect(page.get_by_text("Offers compassion-focused therapy").first).to_be_visible()
    expect(page.get_by_text("UK time (London)").first).to_be_visible()
    page.get_by_role("link", name=re.compile("See all times with")).first.click()
    times = page.url

    # Hoping for something sooner: the waitlist's form, with plain posts.
    page.get_by_role("link", name="Tell me about sooner times").click()
    expect(page.get_by_role("heading", name="Hear about sooner times")).to_be_visible()
    for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"):
        page.get_by_label(day, exact=True).uncheck()
    page.get_by_label("Evenings (from 5 pm)").uncheck()
    page.get_by_role("button", name="Tell me about sooner times").click()
    expect(page.locator("#days-error")).to_contain_text("Choose at least one day")
    expect(page.get_by_label("Evenings (from 5 pm)")).not_to_be_checked()  # kept as sent
    check_a11y_static(page, "no-js waitlist error")
    page.get_by_label("Tuesday", exact=True).check()
    page.get_by_label("Saturday", exact=True).check()
    page.get_by_role("button", name="Tell me about sooner times").click()
    expect(page.get_by_role("heading", name="Please check your email")).to_be_visible()
    expect(page.get_by_text("jordan@client.example")).to_be_visible()
    check_a11y_static(page, "no-js waitlist sent")
    entry = db.session.scalar(sa.select(WaitlistEntry))
    assert (entry.days, entry.parts, entry.status) == ([1, 5], ["morning", "afternoon"], "pending")
    page.goto(f"{live_server}{urlsplit(links.waitlist_confirm_url(entry.id)).path}")
    check_a11y_static(page, "no-js waitlist confirm")
    page.get_by_role("button", name="Yes, tell me about sooner times").click()
    expect(page.get_by_role("heading", name="You're on the list")).to_be_visible()
    expect(page.get_by_text("Tuesday, Saturday")).to_be_visible()
    check_a11y_static(page, "no-js waitlist confirmed")

    page.goto(times)
    page.get_by_role("link", name="Next week →").click()
    assert "week=" in page.url
    # Another tab, opened on another time before this one is booked.
    other_tab = context.new_page()
    other_tab.goto(live_server + page.locator("a.slot").nth(1).get_attribute("href"))
    expect(other_tab.get_by_role("heading", name="Check and book")).to_be_visible()
    page.locator("a.slot").first.click()
    page.get_by_role("button", name="Book this time").click()
    expect(page.get_by_role("heading", name=re.compile("You're booked|Your time is held"))) \
        .to_be_visible()
    db.session.rollback()  # a fresh read, after the one above
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 1
    # Their own calendar in one press, and changes made by themselves.
    expect(page.get_by_role("link", name="Google Calendar")).to_have_attribute(
        "href", re.compile(r"^https://calendar\.google\.com/calendar/render\?action=TEMPLATE"))
    expect(page.get_by_role("link", name="Outlook")).to_have_attribute(
        "href", re.compile(r"^https://outlook\.live\.com/calendar/0/action/compose\?"))
    expect(page.get_by_role("link", name="Apple Calendar or other (.ics)")).to_have_attribute(
        "href", re.compile(r"^/manage/[^/]+/calendar\.ics$"))
    check_a11y_static(page, "no-js booked")
    page.get_by_role("link", name="See, move or cancel your appointment").click()
    expect(page.get_by_role("heading", name="Your appointment")).to_be_visible()
    # The other tab's booking is refused kindly: it shows the one already made.
    other_tab.get_by_role("button", name="Book this time").click()
    expect(other_tab.get_by_role("heading", name=re.compile("You're booked|Your time is held"))) \
        .to_be_visible()
    expect(other_tab.get_by_role("link", name="View or change it")).to_be_visible()
    check_a11y_static(other_tab, "no-js second booking refused")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 1


def check_a11y_static(page, name):
    """axe needs script; check the no-JavaScript page's markup in a scripted twin."""
    html = page.content()
    twin = page.context.browser.new_context()
    try:
        other = twin.new_page()
        other.set_content(html)
        assert axe_violations(other) == [], name
    finally:
        twin.close()


def test_a_tampered_htmx_is_refused_by_its_integrity_hash(live_server, browser):
    context = browser.new_context()
    context.route(HTMX_URL, lambda route: route.fulfill(
        body="window.htmx = {version: 'tampered'};", content_type="application/javascript",
        headers={"Access-Control-Allow-Origin": "*"}))
    page = context.new_page()
    page.goto(f"{live_server}/intake")
    expect(page.get_by_role("heading", name="Before we begin")).to_be_visible()
    assert page.evaluate("typeof window.htmx") == "undefined"
    # The form still works without it.
    page.get_by_label("No").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="What brings you here")).to_be_visible()
    context.close()


def test_a_person_at_risk_sees_help_at_once_and_can_ask_for_a_call(
    live_server, open_context, smtp
):
    page = open_context(viewport={"width": 390, "height": 844}, is_mobile=True).new_page()
    page.goto(f"{live_server}/intake")
    page.get_by_label("Yes").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Help is available right now")).to_be_visible()
    # Big, full-width buttons a shaking thumb can press, and a chat for a computer.
    for name, href in (("Call 988", "tel:988"), ("Text 988", "sms:988"),
                       ("Chat with 988 online (opens in a new tab)",
                        "https://988lifeline.org/chat/"),
                       ("Call 911", "tel:911")):
        button = page.get_by_role("link", name=name, exact=True)
        expect(button).to_have_attribute("href", href)
        box = button.bounding_box()
        assert box["height"] >= 48 and box["width"] >= 300, (name, box)
    assert page.get_by_role("link", name="Call 988").bounding_box()["y"] < 844  # no scrolling
    expect(page.get_by_text("Monday to Friday, 9 am to 6 pm").first).to_be_visible()
    expect(page.get_by_text("Chose \"yes\" by mistake?")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    check_a11y(page, "support")
    page.get_by_role("button", name="Ask for a call back").click()
    expect(page.locator("#phone-error")).to_be_in_viewport()  # the page opens at the answer
    assert page.url.endswith("#callback")
    check_a11y(page, "support errors")
    page.get_by_label("Your first name").fill("Jo")
    page.get_by_label("Phone number").fill("+1 312 555 0100")
    page.get_by_role("button", name="Ask for a call back").click()
    expect(page.get_by_text("Someone from our team will call you within two hours")) \
        .to_be_visible()
    assert deliver_due().sent == 1
    assert smtp.messages[0]["Subject"] == "Urgent intake received"


def test_the_clients_own_appointment_pages_work_and_are_accessible(
    app, live_server, open_context, demo
):
    appointment = book_directly("maya-chen")
    proposal_for = book_directly("sam-whitaker", email="p@client.example")
    proposal = services.propose(proposal_for.id, next_open_times(
        proposal_for.therapist, proposal_for.created_at, 3)[-1].starts_at, None)
    page = open_context(timezone_id="Europe/London").new_page()
    page.goto(f"{live_server}/manage/{links.manage_token(appointment)}")
    expect(page.get_by_role("heading", name="Your appointment")).to_be_visible()
    check_a11y(page, "manage")
    page.get_by_role("link", name="Choose another time").click()
    expect(page.get_by_role("heading", name="Choose another time with Maya")).to_be_visible()
    check_a11y(page, "manage reschedule")
    page.locator("input[name=start]").first.check()
    page.get_by_role("button", name="Move my appointment to this time").click()
    expect(page.get_by_text("Done: your appointment has moved")).to_be_visible()
    page.get_by_text("Cancel it", exact=True).click()
    page.get_by_role("button", name="Yes, cancel my appointment").click()
    expect(page.get_by_role("heading", name="Your appointment is cancelled")).to_be_visible()
    check_a11y(page, "manage cancelled")
    page.goto(f"{live_server}/manage/{links.manage_token(appointment)}x")
    check_a11y(page, "manage link invalid")
    page.goto(f"{live_server}/offer/{links.make(links.PROPOSAL, proposal.id)}")
    expect(page.get_by_role("button", name="Accept this time")).to_be_visible()
    check_a11y(page, "offer")
    page.get_by_role("button", name="Accept this time").click()
    expect(page.get_by_role("heading", name="You're booked")).to_be_visible()
