"""A client who reads Spanish: their pages from the switch or their browser, their emails,
reminders and invites from the language they asked for, through the real SMTP server.
Expected words come from the Spanish catalogue itself, so the tests say what is promised
without copying the translation."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa
import vobject
from flask_babel import force_locale, gettext
from icalendar import Calendar

from intake.appointments.models import Appointment
from intake.appointments.services import send_reminders
from intake.extensions import db
from intake.formatting import day, short_day
from intake.worker import run_pass
from tests.helpers import GOOD_ANSWERS, book_first_time, post_step

SPANISH = {"concerns": ["self_criticism"], "modality": "cft", "kind": "individual",
           "partner_name": None, "language": "es", "format": "either",
           "email": "lucia.client@client.example", "name": "Ana Morales"}


def es(text: str, **values) -> str:
    """Return `text` as the Spanish catalogue has it (and check that it does)."""
    with force_locale("es"):
        translated = gettext(text, **values)
    assert translated != text % values if values else translated != text, text
    return translated


def test_the_browser_s_language_or_the_switch_gives_the_client_pages_in_spanish(
    app, client, demo
):
    page = client.get("/intake", headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"})
    assert '<html lang="es">' in page.text
    assert es("Before we begin") in page.text
    assert es("Right now, are you having thoughts of ending your life or of harming yourself "
              "or someone else, or are you in danger?") in page.text
    # The help page says what the Lifeline offers in Spanish.
    help_page = client.get("/help-now", headers={"Accept-Language": "es"})
    assert re.search(r'href="sms:988\?(&amp;|&)body=AYUDA"', help_page.text)
    assert "988lineadevida.org" in help_page.text

    # The switch, on an English browser: remembered for the session.
    english = app.test_client()
    assert es("Before we begin") not in english.get("/intake").text
    switched = english.get("/language/es?next=/help-now")
    assert switched.status_code == 303 and switched.headers["Location"] == "/help-now"
    assert '<html lang="es">' in english.get("/").text
    assert english.get("/language/es?next=https://evil.example/").headers["Location"] == "/"
    # Staff pages stay in English.
    assert "Sign in" in english.get("/staff/login").text


def test_switching_language_in_the_middle_of_the_intake_keeps_every_answer(client, demo):
    answers = {**GOOD_ANSWERS, **{k: v for k, v in SPANISH.items() if v is not None}}
    post_step(client, 0, answers)
    switched = client.post("/intake", data={
        **{k: v for k, v in answers.items() if k != "partner_name"}, "step": "1",
        "lang": "es"})
    assert switched.status_code == 200 and '<html lang="es">' in switched.text
    assert es("What brings you here") in switched.text
    assert 'value="self_criticism" checked' in switched.text
    assert "We keep having the same fight" in switched.text  # typed text kept


def test_a_spanish_speaking_client_gets_their_emails_reminder_and_invite_in_spanish(
    app, client, demo, smtp
):
    appointment = book_first_time(client, "lucia-herrera",
                                  **{k: v for k, v in SPANISH.items() if v is not None})
    run_pass()
    (booked,) = smtp.to("lucia.client@client.example")
    text = booked.get_body(("plain",)).get_content()
    assert es("Your free consultation is booked.") in text
    assert es("Hello %(first_name)s,", first_name="Ana") in text
    with force_locale("es"):
        when = short_day(appointment.starts_at, appointment.client_timezone)
        assert day(appointment.starts_at, appointment.client_timezone) in text
    assert booked["Subject"] == es("Your appointment on %(day)s", day=when)
    (part,) = [p for p in booked.walk() if p.get_content_type() == "text/calendar"]
    raw = part.get_payload(decode=True)
    vobject.readOne(raw.decode()).validate()
    event = Calendar.from_ical(raw).walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == es("Consultation with %(name)s", name="Lucía Herrera")
    assert es("Consultation booked through %(practice)s.",
              practice=app.config["PRACTICE_NAME"]) in str(event["DESCRIPTION"])
    # The therapist's copy stays in English.
    therapist_mail = smtp.to("lucia.herrera@practice.example")[-1]
    assert "Hello Lucía" in therapist_mail.get_body(("plain",)).get_content()

    assert send_reminders(appointment.starts_at - timedelta(hours=2)) == 1
    run_pass()
    reminder = smtp.to("lucia.client@client.example")[-1]
    assert reminder is not booked
    assert es("Hello %(first_name)s,", first_name="Ana") in reminder.get_body(
        ("plain",)).get_content()
    assert db.session.scalar(sa.select(Appointment.status).where(
        Appointment.id == appointment.id)) == "confirmed"
