"""The front desk in real Chromium: sign in, confirm a request in place with htmx, and the
updated invites reach the SMTP server. axe-core checks every staff page."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pyotp
import pytest
import sqlalchemy as sa
from icalendar import Calendar
from playwright.sync_api import expect

from intake.appointments.models import Appointment
from intake.extensions import db
from intake.mail.delivery import deliver_due
from tests.helpers import PASSWORD, axe_violations, book_directly


def check(page, name):
    assert axe_violations(page) == [], name
    assert "<" not in page.title() and len(page.title()) < 100, (name, page.title())


@pytest.fixture(autouse=True)
def two_step_required(settings):
    """Admins and the front desk sign in here as they must: with a code from their phone."""
    settings["SECOND_FACTOR_ROLES"] = ("admin", "front_desk")


def sign_in(page, base, email):
    page.goto(f"{base}/staff/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def set_up_two_step(page):
    """Set up the authenticator app at first sign-in, as a person would (the key typed in
    rather than scanned), and go on from the recovery codes."""
    expect(page.get_by_role("heading", name="Set up two-step sign-in")).to_be_visible()
    check(page, "two-step set-up")
    secret = page.locator("code.secret").inner_text()
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    expect(page.get_by_role("heading", name="Two-step sign-in is on")).to_be_visible()
    assert page.locator(".codes li").count() == 10
    check(page, "recovery codes")
    page.get_by_role("link", name="I've saved them: continue").click()


def test_front_desk_confirms_in_place_and_both_get_sequence_plus_one(
    app, live_server, open_context, demo, smtp, make_user
):
    held = book_directly("sam-whitaker")
    declined = book_directly("daniel-okafor", modality="emdr",
                               kind="individual", concerns=["trauma"], email="b@client.example")
    deliver_due()
    desk = make_user("front_desk")
    page = open_context().new_page()
    sign_in(page, live_server, "nobody@harbor.example")
    expect(page.get_by_text("don't match an active account")).to_be_visible()
    check(page, "login error")
    sign_in(page, live_server, desk.email)
    set_up_two_step(page)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    check(page, "dashboard")

    page.evaluate("window.__samePage = true")
    expect(page.locator("#queue-count")).to_have_text("2")
    row = page.locator(f"#request-{held.id}")
    row.get_by_role("button", name="Confirm").focus()
    page.keyboard.press("Enter")  # the keyboard alone
    done = page.get_by_text("Confirmed. Updated invites are on their way.")
    expect(done).to_be_visible()
    expect(done).to_be_focused()  # the keyboard stays where the person was
    expect(page.locator("#queue-count")).to_have_text("1")  # and the count follows
    assert page.evaluate("window.__samePage") is True  # done in place, with the CSRF header

    other = page.locator(f"#request-{declined.id}")
    other.locator("summary", has_text="Decline").click()
    other.get_by_label("A kind note to the client").fill("Daniel is fully booked this month.")
    other.get_by_role("button", name="Decline and tell the client").click()
    expect(page.get_by_text("Declined. The client has been told kindly")).to_be_visible()
    expect(page.locator("#queue-count")).to_be_hidden()  # none left

    db.session.rollback()  # end this thread's read snapshot to see the server's writes
    assert db.session.get(Appointment, held.id).status == "confirmed"
    assert db.session.get(Appointment, declined.id).status == "declined"
    assert deliver_due().sent == 4
    updates = smtp.messages[4:]
    confirmed = [m for m in updates if "onfirmed" in m["Subject"]]
    cancelled = [m for m in updates if "onfirmed" not in m["Subject"]]
    assert len(confirmed) == 2 and len(cancelled) == 2
    for message, method in [(m, "REQUEST") for m in confirmed] + [(m, "CANCEL")
                                                                   for m in cancelled]:
        (part,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
        event = Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")[0]
        assert part.get_param("method") == method
        assert event["SEQUENCE"] == 1

    # A request confirmed from its own page, with the keyboard alone.
    waiting = book_directly("camille-laurent", modality="cft", kind="individual",
                            partner_name=None, concerns=["shame"], email="c@client.example")
    page.goto(f"{live_server}/staff/appointments/{waiting.id}")
    expect(page.get_by_text("Waiting for confirmation: the time is held until")).to_be_visible()
    check(page, "appointment waiting")
    page.get_by_role("button", name="Confirm this request").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Confirmed. Updated invites are on their way.")).to_be_visible()
    expect(page.locator("dd", has_text="Confirmed")).to_be_visible()
    assert page.url.endswith(f"/staff/appointments/{waiting.id}")

    # Every staff page passes axe.
    page.get_by_role("link", name="Search").click()
    page.get_by_label("Client name or email").fill("alex")
    page.get_by_role("button", name="Search").click()
    check(page, "search")
    page.goto(f"{live_server}/staff/intakes/{held.intake_id}")
    expect(page.get_by_text("same fight about chores")).to_be_visible()
    check(page, "intake")
    page.goto(f"{live_server}/staff/appointments/{held.id}")
    check(page, "appointment")
    page.goto(f"{live_server}/staff/week?therapist=sam-whitaker&week="
              f"{held.starts_at.astimezone(ZoneInfo('America/Los_Angeles')).date()}")
    expect(page.locator(".block.confirmed")).to_have_count(1)
    check(page, "week grid")
    page.goto(f"{live_server}/staff/week")
    check(page, "practice week")


def test_admin_pages_are_accessible(app, live_server, open_context, demo, make_user):
    admin = make_user("admin")
    page = open_context().new_page()
    sign_in(page, live_server, admin.email)
    set_up_two_step(page)
    for path in ["/staff/admin/accounts", "/staff/admin/audit", "/staff/therapists",
                 "/staff/therapists/maya-chen", "/staff/therapists/maya-chen/hours",
                 "/staff/therapists/maya-chen/time-off", "/staff/therapists/maya-chen/calendar",
                 "/staff/schedule?therapist=maya-chen", "/staff/password",
                 "/staff/two-step"]:
        page.goto(live_server + path)
        assert page.locator("h1").count() == 1, path
        check(page, path)
    # A bad hours form in the browser: the message is shown and nothing changes.
    page.goto(live_server + "/staff/therapists/maya-chen/hours")
    page.get_by_label("Monday range 1 starts").fill("12:00")
    page.get_by_label("Monday range 1 ends").fill("09:00")
    page.get_by_role("button", name="Save hours and rules").click()
    expect(page.get_by_text("Each range must end after it starts.")).to_be_visible()
    check(page, "hours error")
    db.session.rollback()
    count = db.session.scalar(sa.text("select count(*) from weekly_hours where therapist_id = "
                                      "(select id from therapist where slug = 'maya-chen')"))
    assert count == 4
