"""The intake through the web: steps, errors beside fields, what was typed kept, safety first."""

import re
from datetime import datetime, timedelta
from email import message_from_bytes
from email.policy import default
from html import unescape
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from intake.appointments.models import Appointment
from intake.clock import now_utc
from intake.extensions import db, limiter
from intake.intakes.models import Intake
from intake.mail.models import OutboxMessage
from intake.scheduling.services import next_open_times, upcoming_times
from intake.therapists.models import Therapist
from tests.helpers import GOOD_ANSWERS, fill_intake, post_step

HTMX = {"HX-Request": "true"}


def error_beside(html: str, field_id: str) -> str:
    """Return the error message shown for a field (empty if none)."""
    match = re.search(rf'<p class="error" id="{field_id}-error">([^<]*)</p>', html)
    return unescape(match.group(1)) if match else ""


def test_first_step_is_the_safety_question_with_progress(client):
    page = client.get("/intake")
    assert page.status_code == 200
    assert "Before we begin" in page.text
    assert 'aria-current="step"' in page.text
    assert "Step 1 of 4" in page.text
    assert "thoughts of ending your life" in page.text


def test_each_step_moves_on_and_finishes_at_the_match_page(client, demo):
    reference = fill_intake(client)
    intake = db.session.scalar(sa.select(Intake).where(Intake.reference == reference))
    assert intake.name == "Alex Morgan"
    assert intake.concerns == ["conflict", "withdrawal"]
    assert intake.preferred_times == ["evening"]
    assert intake.partner_email == ""
    assert not intake.urgent
    match = client.get(f"/intake/{reference}/match")
    assert match.status_code == 200
    assert "Maya Chen" in match.text and "Sam Whitaker" in match.text
    assert "Works with recurring conflict and withdrawal" in match.text
    assert "Europe" in match.text  # times named in the client's own zone


def test_htmx_gets_only_the_step_and_a_full_page_redirect_at_the_end(client, demo):
    step = post_step(client, 0, GOOD_ANSWERS, headers=HTMX)
    assert step.status_code == 200
    assert "<html" not in step.text and 'id="intake-step"' in step.text
    done = post_step(client, 3, GOOD_ANSWERS, headers=HTMX)
    assert done.status_code == 204
    assert re.match(r"/intake/[^/]+/match$", done.headers["HX-Redirect"])


def test_back_keeps_every_answer(client):
    page = post_step(client, 2, GOOD_ANSWERS, nav="back")
    assert "What brings you here" in page.text
    assert 'value="couples" checked' in page.text
    assert "same fight about chores" in page.text
    # Later answers ride along hidden, so nothing typed is lost.
    assert 'name="email" value="alex@client.example"' in page.text


@pytest.mark.parametrize(
    ("step", "changes", "field", "message"),
    [
        (0, {"safety": None}, "safety", "Please answer this question"),
        (1, {"modality": None}, "modality", "Please choose one"),
        (1, {"modality": "hypnosis"}, "modality", "Please choose one of the options shown"),
        (1, {"concerns": ["conflict", "astrology"]}, "concerns", "options shown"),
        (1, {"story": "x" * 100_000}, "story", "Please keep this under 4,000 characters"),
        (1, {"partner_name": ""}, "partner_name", "partner's first name"),
        (1, {"partner_email": "robin@partner.example"}, "partner_email", "tick the box"),
        (1, {"partner_name": "Robin\r\nBcc: x@evil.example"}, "partner_name", "one line"),
        (2, {"timezone": "Mars/Olympus"}, "timezone", "options shown"),
        (3, {"name": ""}, "name", "Please tell us your name"),
        (3, {"name": "Alex\r\nBcc: x@evil.example"}, "name", "one line"),
        (3, {"name": "Alex\x00Morgan"}, "name", "one line"),
        (3, {"email": "alex@"}, "email", "Please check your email address"),
        (3, {"email": "alex@client.example\r\nBcc: x@evil.example"}, "email", "check your email"),
        (3, {"phone": "call me maybe"}, "phone", "digits"),
        (3, {"consent_privacy": None}, "consent_privacy", "privacy notice"),
    ],
)
def test_bad_input_is_answered_beside_the_field_and_nothing_is_lost(
    client, step, changes, field, message
):
    answers = {**GOOD_ANSWERS, **changes}
    page = post_step(client, step, answers)
    assert page.status_code == 422
    assert message in error_beside(page.text, field)
    assert 'aria-invalid="true"' in page.text
    # Everything else typed is still there (shown or carried along).
    assert "alex@client.example" in page.text or field == "email"
    assert "same fight about chores" in page.text or field == "story"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Intake)) == 0


def test_a_problem_on_an_earlier_step_sends_the_person_back_there(client):
    page = post_step(client, 3, {**GOOD_ANSWERS, "modality": "bogus"})
    assert page.status_code == 422
    assert "What brings you here" in page.text


def test_risk_stops_self_booking_shows_help_at_once_and_alerts_staff_minimally(client, demo):
    answer = post_step(client, 0, {"safety": "yes", "timezone": "America/Chicago"})
    assert answer.status_code == 303
    support = client.get(answer.headers["Location"])
    assert "988" in support.text and "911" in support.text and "+1 555 010 2040" in support.text
    intake = db.session.scalar(sa.select(Intake))
    assert intake.urgent and intake.safety == "yes"
    (alert,) = db.session.scalars(sa.select(OutboxMessage)).all()
    assert alert.recipient == "frontdesk@harbor.example"
    assert alert.subject == "Urgent intake received"
    text = message_from_bytes(alert.raw, policy=default).get_body(("plain",)).get_content()
    assert "An urgent intake arrived" in text
    assert "yes" not in text.lower() and "safety" not in text.lower()  # no answers
    # No self-booking for this intake, even by typing the URL.
    match = client.get(f"/intake/{intake.reference}/match")
    assert match.status_code == 302 and "/support" in match.headers["Location"]
    # Nor by posting the booking form straight to the server.
    maya = db.session.scalar(sa.select(Therapist).where(Therapist.slug == "maya-chen"))
    (slot,) = next_open_times(maya, now_utc(), 1)
    for page in (f"/intake/{intake.reference}/times/maya-chen",
                 f"/intake/{intake.reference}/book/maya-chen?start={slot.starts_at.isoformat()}"):
        shown = client.get(page.replace("+", "%2B"))
        assert shown.status_code == 302 and "/support" in shown.headers["Location"], page
    booked = client.post(f"/intake/{intake.reference}/book/maya-chen",
                         data={"start": slot.starts_at.isoformat(), "tz": "America/Chicago",
                               "key": "a-key-long-enough-for-the-form-1234"})
    assert booked.status_code == 422 and "Please call us" in booked.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 0

    call_back = client.post(answer.headers["Location"],
                            data={"name": "Jo", "phone": "312 555 0100"})
    assert "Someone from our team will call you" in call_back.text
    db.session.expire_all()
    assert db.session.get(Intake, intake.id).phone == "312 555 0100"


def test_the_honeypot_turns_away_bots_kindly(client):
    page = post_step(client, 3, {**GOOD_ANSWERS, "website": "http://spam.example"})
    assert page.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Intake)) == 0


def test_intake_pages_belong_to_the_browser_that_filled_them(app, client, demo):
    reference = fill_intake(client)
    stranger = app.test_client()
    assert stranger.get(f"/intake/{reference}/match").status_code == 404


def test_no_match_is_said_kindly_and_offers_contact(client, demo):
    reference = fill_intake(client, language="pt", modality="cft", format="in_person",
                            kind="individual")
    page = client.get(f"/intake/{reference}/match")
    assert "We don't have a match right now" in page.text
    done = client.post(f"/intake/{reference}/contact")
    assert "We'll be in touch" in done.text
    intake = db.session.scalar(sa.select(Intake))
    assert intake.contact_requested_at is not None
    (note,) = db.session.scalars(sa.select(OutboxMessage)).all()
    assert "Alex" not in note.raw.decode() and "alex@client" not in note.raw.decode()


def test_pages_with_answers_are_not_cached_and_are_locked_down(client):
    page = client.get("/intake")
    assert page.headers["Cache-Control"] == "no-store"
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp
    assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert 'integrity="sha384-' in page.text and 'crossorigin="anonymous"' in page.text
    assert '"historyCacheSize": 0' in page.text


def test_an_expired_form_token_keeps_every_answer(with_csrf, client):
    page = post_step(client, 3, {**GOOD_ANSWERS, "csrf_token": "expired-or-forged"})
    assert page.status_code == 422
    assert "your answers are kept" in page.text
    assert 'value="Alex Morgan"' in page.text and "same fight about chores" in page.text
    fresh = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    done = post_step(client, 3, {**GOOD_ANSWERS, "csrf_token": fresh})
    assert done.status_code == 303


def test_htmx_sends_the_token_as_a_header(with_csrf, client):
    page = client.get("/intake")
    header = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page.text).group(1)
    response = post_step(client, 0, GOOD_ANSWERS,
                         headers={"HX-Request": "true", "X-CSRFToken": header})
    assert response.status_code == 200 and "What brings you here" in response.text


def test_each_browser_starting_an_intake_gets_its_own_token_and_stamp(with_csrf, app, clock):
    first, second = app.test_client(), app.test_client()
    pages = [first.get("/intake").text]
    clock.advance(timedelta(seconds=5))
    pages += [second.get("/intake").text, first.get("/intake").text]
    tokens = [re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', p).group(1)
              for p in pages]
    headers = [re.search(r'"X-CSRFToken": "([^"]+)"', p).group(1) for p in pages]
    assert tokens == headers  # the form and htmx carry the same token
    assert tokens[0] != tokens[1]
    started = [re.search(r'name="started" value="([^"]+)"', p).group(1) for p in pages]
    assert started[0] != started[1]  # each stamped when it was served
    # Each browser's own token is accepted, the other's is not.
    assert post_step(second, 0, {**GOOD_ANSWERS, "csrf_token": tokens[1]}).status_code == 200
    refused = post_step(second, 0, {**GOOD_ANSWERS, "csrf_token": tokens[2]})
    assert refused.status_code == 422 and "your answers are kept" in refused.text


def test_a_post_without_a_token_elsewhere_changes_nothing(with_csrf, client, demo):
    reference = fill_intake_with_csrf(client)
    response = client.post(f"/intake/{reference}/contact")
    assert response.status_code == 400
    assert db.session.scalar(sa.select(Intake.contact_requested_at)) is None


def fill_intake_with_csrf(client) -> str:
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                      client.get("/intake").text).group(1)
    for step in range(3):
        post_step(client, step, {**GOOD_ANSWERS, "csrf_token": token})
    done = post_step(client, 3, {**GOOD_ANSWERS, "csrf_token": token})
    return re.search(r"/intake/([^/]+)/match", done.headers["Location"]).group(1)


@pytest.fixture
def with_limits(settings):
    settings.update(RATELIMIT_ENABLED=True, INTAKE_RATE_LIMIT="3 per minute")


def test_repeated_posts_from_one_address_are_slowed_down(with_limits, client):
    limiter.reset()
    codes = [post_step(client, 0, GOOD_ANSWERS).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    page = post_step(client, 0, GOOD_ANSWERS)
    assert "Please slow down a little" in page.text


def test_htmx_requests_that_fail_still_say_what_happened(client):
    response = client.get("/intake/not-mine/match", headers=HTMX)
    assert response.status_code == 404
    assert response.headers["HX-Retarget"] == "#main"
    assert "We couldn" in response.text and "<html" not in response.text


def test_the_match_page_shows_the_times_asked_for_first(client, demo):
    reference = fill_intake(client, times=["evening"], timezone="Europe/London")
    page = client.get(f"/intake/{reference}/match").text
    london = ZoneInfo("Europe/London")
    shown = [datetime.fromisoformat(unquote(s)) for s in re.findall(
        r'/book/maya-chen\?tz=[^"]*?&amp;start=([^"&]+)', page)]
    maya = db.session.scalar(sa.select(Therapist).where(Therapist.slug == "maya-chen"))
    evenings = [s for s in upcoming_times([maya], now_utc())[maya.id]
                if s.starts_at.astimezone(london).hour >= 17]
    assert len(shown) == 3 and len(evenings) >= 3  # (her hours reach a London evening)
    assert shown == [s.starts_at for s in evenings[:3]]
