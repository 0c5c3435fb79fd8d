"""The therapist's subscription feed: content rules, conditional requests, rotation, revocation."""

import logging
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
import vobject
from icalendar import Calendar

from intake.appointments import services
from intake.audit import AuditEvent
from intake.calendars import feeds
from intake.extensions import db, limiter
from intake.mail.models import OutboxMessage
from intake.staff.accounts import set_active
from intake.therapists.models import Therapist
from tests.helpers import book_directly, sign_in, token


def feed_path(client, slug="maya-chen"):
    page = client.get(f"/staff/therapists/{slug}/calendar")
    return re.search(r'value="http://127\.0\.0\.1:5000(/feeds/[^"]+\.ics)"', page.text).group(1)


def test_the_feed_shows_initials_only_and_follows_changes(app, client, demo, make_user, caplog):
    caplog.set_level(logging.INFO)
    user = make_user("therapist", "maya-chen")
    sign_in(client, user.email)
    client.post("/staff/therapists/maya-chen/calendar",
                data={"csrf_token": token(client, "/staff/therapists/maya-chen/calendar"),
                      "action": "rotate"})
    page = client.get("/staff/therapists/maya-chen/calendar")
    assert "webcal://127.0.0.1:5000/feeds/" in page.text and 'data-copy="#feed-url"' in page.text
    path = feed_path(client)
    assert len(path.split("/")[-1].removesuffix(".ics")) >= 43  # 256-bit token

    kept = book_directly("maya-chen")
    gone = book_directly("maya-chen", email="gone@client.example", name="Gabe Onslow")
    services.cancel(gone.id, None)
    public = app.test_client()  # no login: calendar servers fetch it
    response = public.get(path)
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    raw = response.data.decode()
    cal = Calendar.from_ical(response.data)
    assert all(c.errors == [] for c in cal.walk())
    vobject.readOne(raw).validate()
    assert "METHOD" not in cal
    assert cal["X-WR-CALNAME"] and cal["NAME"]
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in raw and "X-PUBLISHED-TTL:PT1H" in raw
    (event,) = cal.walk("VEVENT")
    assert str(event["UID"]) == kept.uid
    assert str(event["SUMMARY"]) == "Consultation: A. M."
    assert event["CLASS"] == "PRIVATE" and "/staff/appointments/" in str(event["DESCRIPTION"])
    for private in ("ATTENDEE", "alex@", "Morgan", "+44", "couples", "chores", "ORGANIZER"):
        assert private not in raw, private

    etag = response.headers["ETag"]
    again = public.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    since = public.get(path, headers={"If-Modified-Since": response.headers["Last-Modified"]})
    assert since.status_code == 304
    services.cancel(kept.id, None)
    changed = public.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and "VEVENT" not in changed.data.decode()

    secret = path.split("/")[-1]
    assert all(secret not in r.getMessage() for r in caplog.records)


def test_rotation_stops_the_old_address_and_is_audited(app, client, demo, make_user):
    user = make_user("therapist", "maya-chen")
    sign_in(client, user.email)
    url = "/staff/therapists/maya-chen/calendar"
    client.post(url, data={"csrf_token": token(client, url), "action": "rotate"})
    old = feed_path(client)
    client.post(url, data={"csrf_token": token(client, url), "action": "rotate"})
    new = feed_path(client)
    public = app.test_client()
    assert public.get(old).status_code == 404 and public.get(old).data == b"Not found\n"
    assert public.get(new).status_code == 200
    assert public.get("/feeds/made-up-token.ics").status_code == 404
    rotations = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "rotate_feed")).all()
    assert len(rotations) == 2 and rotations[0].user_id == user.id


def test_disabling_the_account_revokes_the_feed(app, client, demo, make_user):
    admin = make_user("admin")
    user = make_user("therapist", "maya-chen")
    therapist_token = feeds.rotate(user.therapist_id, user.id)
    public = app.test_client()
    assert public.get(f"/feeds/{therapist_token}.ics").status_code == 200
    set_active(user.id, False, admin)
    assert public.get(f"/feeds/{therapist_token}.ics").status_code == 404


def test_therapists_who_subscribe_can_turn_off_invite_emails(app, client, demo, make_user):
    user = make_user("therapist", "maya-chen")
    sign_in(client, user.email)
    url = "/staff/therapists/maya-chen/calendar"
    client.post(url, data={"csrf_token": token(client, url), "action": "emails"})
    book_directly("maya-chen")
    recipients = db.session.scalars(sa.select(OutboxMessage.recipient)).all()
    assert recipients == ["alex@client.example"]


@pytest.fixture
def limited(settings):
    settings.update(RATELIMIT_ENABLED=True, FEED_RATE_LIMIT="3 per minute")


def test_guessing_feed_addresses_is_rate_limited_but_a_real_feed_never_is(limited, app, demo):
    limiter.reset()
    public = app.test_client()
    codes = [public.get("/feeds/unknown.ics").status_code for _ in range(4)]
    assert codes == [404, 404, 404, 429]
    refused = public.get("/feeds/another.ics")
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60

    # A calendar service fetching real feeds from the same address is still answered.
    maya = db.session.scalar(sa.select(Therapist.id).where(Therapist.slug == "maya-chen"))
    path = f"/feeds/{feeds.rotate(maya, None)}.ics"
    answers = [public.get(path) for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    again = public.get(path, headers={"If-None-Match": answers[0].headers["ETag"]})
    assert again.status_code == 304


def feed_events(public, path):
    """Return the feed's VEVENTs by UID."""
    response = public.get(path)
    assert response.status_code == 200
    return {str(e["UID"]): e for e in Calendar.from_ical(response.data).walk("VEVENT")}


def test_requests_are_tentative_until_confirmed(app, demo, make_user, clock):
    user = make_user("therapist", "sam-whitaker")  # Sam's requests wait for the front desk
    path = f"/feeds/{feeds.rotate(user.therapist_id, user.id)}.ics"
    public = app.test_client()
    held = book_directly("sam-whitaker")
    event = feed_events(public, path)[held.uid]
    assert event["STATUS"] == "TENTATIVE" and event["SEQUENCE"] == 0
    services.confirm(held.id, None)
    event = feed_events(public, path)[held.uid]
    assert event["STATUS"] == "CONFIRMED" and event["SEQUENCE"] == 1


def test_a_cancel_moves_last_modified_so_a_conditional_fetch_sees_it(app, demo, make_user,
                                                                     clock):
    user = make_user("therapist", "maya-chen")
    path = f"/feeds/{feeds.rotate(user.therapist_id, user.id)}.ics"
    public = app.test_client()
    kept = book_directly("maya-chen")
    first = public.get(path)
    since = first.headers["Last-Modified"]
    assert public.get(path, headers={"If-Modified-Since": since}).status_code == 304
    clock.advance(timedelta(minutes=5))
    services.cancel(kept.id, None)
    after = public.get(path, headers={"If-Modified-Since": since})
    assert after.status_code == 200 and kept.uid not in after.data.decode()
    assert after.last_modified > first.last_modified
    assert after.last_modified == clock.now().replace(microsecond=0)


def test_the_feed_holds_thirty_days_back_to_a_year_ahead(app, demo, make_user, clock):
    user = make_user("therapist", "maya-chen")
    path = f"/feeds/{feeds.rotate(user.therapist_id, user.id)}.ics"
    now = clock.now()
    placed = {}
    for label, offset in [("too old", -timedelta(days=30, minutes=1)),
                          ("a month ago", -timedelta(days=29, hours=23)),
                          ("next week", timedelta(days=7)),
                          ("in a year", timedelta(days=364, hours=23)),
                          ("too far", timedelta(days=365, minutes=1))]:
        appointment = book_directly("maya-chen", email=f"{len(placed)}@client.example")
        appointment.starts_at = now + offset
        appointment.ends_at = appointment.starts_at + timedelta(minutes=50)
        placed[label] = appointment.uid
        db.session.commit()
    shown = feed_events(app.test_client(), path)
    assert {label for label, uid in placed.items() if uid in shown} == {
        "a month ago", "next week", "in a year"}
