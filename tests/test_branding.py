"""The practice's own look: its accent colour (kept readable), its logo, initials for a
therapist with no photo, and emails with a header and a real button."""

from __future__ import annotations

import re

import pytest

from intake.formatting import _luminance, accent_colours
from intake.mail.delivery import deliver_due
from tests.helpers import book_first_time, fill_intake


def contrast_with_white(colour: str) -> float:
    rgb = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 1.05 / (_luminance(rgb) + 0.05)


@pytest.mark.parametrize("wanted", ["#2f5d62", "#ffcc00", "#FFFFFF", "#7a3cff", "#000000"])
def test_an_accent_is_darkened_until_white_text_on_it_reads_well(wanted):
    colours = accent_colours(wanted)
    assert contrast_with_white(colours["accent"]) >= 4.5
    if contrast_with_white(wanted.lower()) >= 4.5:
        assert colours["accent"] == wanted.lower()  # a readable colour is kept as it is


def test_anything_but_a_colour_gives_the_default():
    for wanted in ("red", "#fff", "#12345g", "", "#2f5d62; } body { display: none"):
        assert accent_colours(wanted) == accent_colours("#2f5d62")


@pytest.fixture
def branded(settings):
    settings.update(PRACTICE_ACCENT="#ffcc00", PRACTICE_LOGO="/static/logo.svg")


def test_the_pages_wear_the_practices_colour_and_logo(branded, client, demo):
    css = client.get("/practice.css")
    assert css.mimetype == "text/css"
    accent = re.search(r"--accent: (#[0-9a-f]{6});", css.text).group(1)
    assert accent == accent_colours("#ffcc00")["accent"] != "#ffcc00"
    home = client.get("/").text
    assert 'href="/practice.css"' in home
    assert '<img src="/static/logo.svg" alt="" height="32">Harbor Light Counselling' in home
    reference = fill_intake(client)
    match = client.get(f"/intake/{reference}/match").text
    assert re.search(r'<span class="photo initials" aria-hidden="true">[A-Z]{2}</span>', match)


def test_a_logo_from_elsewhere_is_not_shown(settings, client):
    settings["PRACTICE_LOGO"] = "//evil.example/logo.png"
    assert "evil.example" not in client.get("/").text


def test_emails_have_the_practices_header_and_a_real_button(branded, app, demo, smtp):
    book_first_time(app.test_client(), "maya-chen")
    deliver_due()
    message = next(m for m in smtp.messages if m["To"].addresses[0].addr_spec
                   == "alex@client.example")
    html = message.get_body(("html",)).get_content()
    accent = accent_colours("#ffcc00")["accent"]
    assert f"background:{accent};color:#ffffff;padding:14px 24px" in html  # the header
    button = (rf'<a href="http://127\.0\.0\.1:5000/manage/[^"]+" '
              rf'style="display:inline-block;padding:12px 20px;background:{accent}')
    assert re.search(button, html)
    assert "/manage/" in message.get_body(("plain",)).get_content()  # still plain text too


def test_a_logo_path_browsers_read_as_another_host_is_not_shown(settings, client):
    settings["PRACTICE_LOGO"] = "/\\evil.example/logo.png"
    assert "evil.example" not in client.get("/").text
