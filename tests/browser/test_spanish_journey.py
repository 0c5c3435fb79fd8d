"""The client's journey in Spanish, in real Chromium without JavaScript: from a Spanish
browser, intake to booked, each page `lang="es"` and checked by axe."""

from __future__ import annotations

from flask_babel import force_locale, gettext
from playwright.sync_api import expect

from tests.browser.test_client_journey import check_a11y_static
from tests.i18n.test_spanish import es


def test_a_spanish_reader_books_from_intake_to_confirmation_without_javascript(
    live_server, open_context, demo, app
):
    page = open_context(java_script_enabled=False, locale="es-MX").new_page()

    def in_spanish(name: str) -> None:
        assert page.locator("html").get_attribute("lang") == "es", name
        check_a11y_static(page, f"es {name}")

    page.goto(f"{live_server}/intake")
    expect(page.get_by_role("heading", name=es("Before we begin"))).to_be_visible()
    in_spanish("safety")
    page.get_by_label("No", exact=True).check()  # "No" in Spanish too
    page.get_by_role("button", name=es("Continue")).click()

    expect(page.get_by_role("heading", name=es("What brings you here"))).to_be_visible()
    page.get_by_role("button", name=es("Continue")).click()  # nothing chosen: errors in Spanish
    expect(page.locator("#modality-error")).to_contain_text(
        es("Please choose one, or choose “I’m not sure yet”.")[:20])
    in_spanish("about, with errors")
    page.get_by_label(es("A harsh inner critic")).check()
    page.get_by_label(es("Compassion-focused therapy"), exact=True).check()
    page.get_by_label(es("Just me")).check()
    page.get_by_role("button", name=es("Continue")).click()

    expect(page.get_by_role("heading", name=es("Your preferences"))).to_be_visible()
    page.get_by_label(es("Either is fine")).check()
    page.get_by_label(es("Language for sessions")).select_option("es")
    in_spanish("preferences")
    page.get_by_role("button", name=es("Continue")).click()

    expect(page.get_by_role("heading", name=es("How we can reach you"))).to_be_visible()
    page.get_by_label(es("Your name")).fill("Ana Morales")
    page.get_by_label(es("Your email")).fill("ana@client.example")
    page.get_by_label(es("The practice may contact me by email (and phone, if given) about my "
                         "consultation")).check()
    page.get_by_label(es("I have read the privacy notice")).check()
    in_spanish("contact")
    page.wait_for_timeout(1100)  # a person takes longer than the form's minimum fill time
    page.get_by_role("button", name=es("See who fits")).click()

    expect(page.get_by_role("heading", name=es("Therapists who could be a good fit"))
           ).to_be_visible()
    with app.test_request_context(), force_locale("es"):
        reason = gettext("Offers compassion-focused therapy")
    expect(page.get_by_text(reason).first).to_be_visible()
    in_spanish("match")
    page.get_by_role("link", name=es("See all times with %(name)s", name="Lucía")).click()
    expect(page.locator("h1")).to_contain_text(es("Open times with %(name)s",
                                                  name="Lucía Herrera"))
    in_spanish("times")
    page.locator("a.slot").first.click()
    expect(page.get_by_role("heading", name=es("Check and book"))).to_be_visible()
    in_spanish("review")
    page.get_by_role("button", name=es("Book this time")).click()
    expect(page.get_by_role("heading", name=es("You're booked"))).to_be_visible()
    in_spanish("booked")
