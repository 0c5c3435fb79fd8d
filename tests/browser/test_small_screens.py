"""The pages people meet, on a small phone (320 px wide) and a common one (390 px): nothing
scrolls sideways (WCAG reflow), and axe finds nothing serious. Clients' pages and the
staff's, each reached as its person would reach it."""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from playwright.sync_api import expect

from intake import links
from intake.couples.models import Partner
from intake.couples.services import answer
from intake.extensions import db
from intake.intakes.services import submit
from intake.scheduling.services import next_open_times
from tests.browser.test_staff_journey import sign_in
from tests.helpers import GOOD_ANSWERS, axe_violations, book_directly, maya

WIDTHS = (320, 390)


def fits(page, width: int, name: str) -> None:
    """Assert the page is no wider than the screen, and (at 390 px) has no serious axe
    finding."""
    wide = page.evaluate("document.documentElement.scrollWidth")
    culprits = page.evaluate("""(width) => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > width + 1)
        .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(
            e.getBoundingClientRect().right))""", width)
    assert wide <= width, (name, width, wide, culprits)
    if width == 390:
        assert axe_violations(page) == [], (name, axe_violations(page))


def test_client_and_staff_pages_fit_a_small_phone(live_server, open_context, demo, make_user,
                                                  app):
    booked = book_directly("maya-chen", email="booked@client.example")
    answers = {**GOOD_ANSWERS, "consent_contact": True, "consent_privacy": True,
               "email": "choosing@client.example"}
    choosing = submit(answers, "no")
    slot = next_open_times(maya(), booked.starts_at, 1)[0]
    book_directly("sam-whitaker", email="couple@client.example", partner_agreed=True,
                  partner_email="pat@partner.example", partner_name="Pat")
    partner = db.session.scalar(sa.select(Partner))
    with app.test_request_context():
        together = urlsplit(links.partner_intake_url(partner.id)).path
    # Another couple's partner answered (and needs a call): the staff page shows both in full.
    answered = book_directly("sam-whitaker", email="answered@client.example",
                             partner_agreed=True, partner_email="lee@partner.example")
    answer(db.session.scalar(sa.select(Partner.id).where(Partner.intake_id
                                                         == answered.intake_id)),
           {"safety": "no", "feels_safe": "yes", "story": "Words of my own.",
            "timezone": "America/Chicago", "name": "Lee Quinn", "email": "lee@partner.example",
            "concerns": ["intimacy", "repair"]})
    with app.test_request_context():
        manage = links.manage_url(booked, external=False)
        again = urlsplit(links.rebook_url(choosing.id)).path
    reference = choosing.reference
    start = slot.starts_at.isoformat().replace("+", "%2B")
    client_pages = [
        "/", "/intake", "/help-now", again,
        f"/intake/{reference}/times/maya-chen",
        f"/intake/{reference}/book/maya-chen?start={start}",
        f"/intake/{reference}/waitlist?with=maya-chen",
        manage, f"{manage}/reschedule", together,
    ]
    desk, admin = make_user("front_desk"), make_user("admin")
    desk_pages = ["/staff/", f"/staff/appointments/{booked.id}",
                  f"/staff/intakes/{booked.intake_id}", f"/staff/intakes/{answered.intake_id}",
                  "/staff/waitlist?therapist=maya-chen",
                  "/staff/week", "/staff/schedule?therapist=maya-chen"]
    admin_pages = ["/staff/admin/accounts", "/staff/admin/audit", "/staff/therapists",
                   "/staff/therapists/maya-chen", "/staff/therapists/maya-chen/hours",
                   "/staff/therapists/maya-chen/time-off"]
    for width in WIDTHS:
        context = open_context(viewport={"width": width, "height": 740}, is_mobile=True,
                               has_touch=True)
        page = context.new_page()
        for path in client_pages:
            page.goto(f"{live_server}{path}")
            fits(page, width, path)
            if path == "/intake":  # the progress bar keeps its distance from the header
                header = page.locator("header.site").bounding_box()
                assert page.locator(".progress").bounding_box()["y"] >= (
                    header["y"] + header["height"] + 12)
            if "/times/" in path and width == 390:  # the week buttons share one row
                first_week = page.locator("#week-title").inner_text()
                page.get_by_role("link", name="Next week →").click()
                expect(page.locator("#week-title")).not_to_have_text(first_week)
                buttons = page.locator(".week-nav .button")
                expect(buttons).to_have_count(2)
                rows = {round(buttons.nth(n).bounding_box()["y"])
                        for n in range(buttons.count())}
                assert len(rows) == 1, rows
        # The same pages in Spanish, whose words run longer.
        spanish = open_context(viewport={"width": width, "height": 740}, is_mobile=True,
                               has_touch=True, locale="es-MX").new_page()
        for path in client_pages:
            spanish.goto(f"{live_server}{path}")
            assert spanish.locator("html").get_attribute("lang") == "es", path
            fits(spanish, width, f"es {path}")
        for user, pages in ((desk, desk_pages), (admin, admin_pages)):
            staff = open_context(viewport={"width": width, "height": 740}, is_mobile=True,
                                 has_touch=True).new_page()
            sign_in(staff, live_server, user.email)
            staff.wait_for_url(f"{live_server}/staff/**")
            for path in pages:
                staff.goto(f"{live_server}{path}")
                fits(staff, width, path)
