"""Therapists' own settings: bad input changes nothing; open times change at once."""

import os
from datetime import timedelta
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from PIL import Image

from intake.audit import AuditEvent
from intake.clock import now_utc
from intake.extensions import db
from intake.scheduling.models import TimeOff, WeeklyHours
from intake.scheduling.services import open_times
from intake.therapists.models import Therapist
from tests.helpers import book_first_time, sign_in, token

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7"
       b"\x9d\xb4\x8e\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture
def maya(client, demo, make_user):
    """Maya Chen, signed in as herself."""
    user = make_user("therapist", "maya-chen")
    sign_in(client, user.email)
    return db.session.scalar(sa.select(Therapist).where(Therapist.slug == "maya-chen"))


def hours_form(client, slug, **changes):
    data = {"csrf_token": token(client, f"/staff/therapists/{slug}/hours"),
            "consultation_minutes": "30", "buffer_minutes": "10", "min_notice_hours": "24",
            "horizon_days": "28", "d0s0": "09:00", "d0e0": "12:00"}
    data.update(changes)
    return client.post(f"/staff/therapists/{slug}/hours", data=data)


def hours_of(therapist_id):
    return sorted((h.weekday, h.starts.isoformat(), h.ends.isoformat()) for h in
                  db.session.scalars(sa.select(WeeklyHours).where(
                      WeeklyHours.therapist_id == therapist_id)))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"d0s0": "12:00", "d0e0": "09:00"}, "end after it starts"),
        ({"d0s1": "11:00", "d0e1": "13:00"}, "must not overlap"),
        ({"d0s1": "14:00"}, "give both a start and an end"),
        ({"buffer_minutes": "-5"}, "Use 0 to 120 minutes"),
        ({"consultation_minutes": "5"}, "Use 10 to 180 minutes"),
        ({"horizon_days": "lots"}, "Use 1 to 365 days"),
    ],
)
def test_bad_hours_are_explained_and_change_nothing(client, maya, changes, message):
    before = hours_of(maya.id)
    response = hours_form(client, "maya-chen", **changes)
    assert response.status_code == 422
    assert message in response.text
    db.session.expire_all()
    assert hours_of(maya.id) == before
    assert db.session.get(Therapist, maya.id).buffer_minutes == 10


def test_new_hours_change_open_times_at_once(client, maya):
    response = hours_form(client, "maya-chen", d5s0="10:00", d5e0="12:00")  # add Saturdays
    assert response.status_code == 303
    db.session.expire_all()
    assert (5, "10:00:00", "12:00:00") in hours_of(maya.id)
    now = now_utc()
    tz = ZoneInfo(maya.timezone)
    days = {s.starts_at.astimezone(tz).weekday()
            for s in open_times(db.session.get(Therapist, maya.id), now,
                                now + timedelta(days=14), now)}
    assert days == {0, 5}
    assert db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()[-1] \
        == "edit_hours"


def test_hours_that_would_strand_a_booking_say_so_first(app, client, maya):
    booked = book_first_time(app.test_client(), "maya-chen")
    local = booked.starts_at.astimezone(ZoneInfo(maya.timezone))
    # New hours that leave the booked day empty.
    other_day = (local.weekday() + 1) % 7
    changes = {"d0s0": "", "d0e0": "", f"d{other_day}s0": "09:00", f"d{other_day}e0": "10:00"}
    warned = hours_form(client, "maya-chen", **changes)
    assert warned.status_code == 409
    assert "would leave 1 booked consultation" in warned.text
    assert local.strftime("%A") in warned.text or local.strftime("%B") in warned.text
    db.session.expire_all()
    assert (other_day, "09:00:00", "10:00:00") not in hours_of(maya.id)
    saved = hours_form(client, "maya-chen", accept_stranded="yes", **changes)
    assert saved.status_code == 303


def test_time_off_rules(client, maya):
    url = "/staff/therapists/maya-chen/time-off"
    past = client.post(url, data={"csrf_token": token(client, url), "starts": "2020-01-01T09:00",
                                  "ends": "2020-01-02T09:00"})
    assert past.status_code == 422 and "already over" in past.text
    backwards = client.post(url, data={"csrf_token": token(client, url),
                                       "starts": "2030-01-02T09:00", "ends": "2030-01-01T09:00"})
    assert backwards.status_code == 422 and "end after it starts" in backwards.text
    garbage = client.post(url, data={"csrf_token": token(client, url), "starts": "soon",
                                     "ends": ""})
    assert garbage.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TimeOff)) == 0
    start = (now_utc() + timedelta(days=2)).astimezone(ZoneInfo(maya.timezone))
    ok = client.post(url, data={"csrf_token": token(client, url),
                                "starts": start.strftime("%Y-%m-%dT00:00"),
                                "ends": (start + timedelta(days=3)).strftime("%Y-%m-%dT00:00"),
                                "note": "Conference"})
    assert ok.status_code == 303
    page = client.get(url)
    assert "Conference" in page.text


def post_photo(client, data, name):
    url = "/staff/therapists/maya-chen"
    return client.post(url, content_type="multipart/form-data", data={
        "csrf_token": token(client, url), "name": "Maya Chen", "modalities": ["couples"],
        "languages": ["en"], "formats": ["telehealth"], "photo": (BytesIO(data), name)})


def image_bytes(image, kind, **options) -> bytes:
    out = BytesIO()
    image.save(out, kind, **options)
    return out.getvalue()


def test_photo_must_be_a_small_image(client, maya):
    not_image = post_photo(client, b"%PDF-1.7 not a picture", "photo.png")
    assert not_image.status_code == 422 and "PNG, JPEG or WebP" in not_image.text
    # A PNG's first bytes followed by a web page: it starts like an image but is none.
    polyglot = post_photo(client, PNG[:16] + b"<html><script>alert(1)</script></html>", "me.png")
    assert polyglot.status_code == 422 and "PNG, JPEG or WebP" in polyglot.text
    too_big = post_photo(client, PNG + b"\x00" * (2 * 1024 * 1024), "big.png")
    assert too_big.status_code == 422 and "under 2 MB" in too_big.text
    # A few kilobytes that would unpack to 49 million pixels.
    bomb = image_bytes(Image.new("1", (7000, 7000)), "PNG")
    assert len(bomb) < 100_000
    refused = post_photo(client, bomb, "bomb.png")
    assert refused.status_code == 422 and "too many pixels" in refused.text
    assert client.get("/therapists/maya-chen/photo").status_code == 404

    see_through = image_bytes(Image.new("RGBA", (2, 2), (10, 20, 30, 128)), "PNG")
    assert post_photo(client, see_through, "me.png").status_code == 303
    photo = client.get("/therapists/maya-chen/photo")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    assert Image.open(BytesIO(photo.data)).format == "JPEG"


def test_a_phone_photo_is_stored_upright_small_and_without_where_it_was_taken(client, maya):
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: the camera was held sideways
    exif[0x010F] = "PhoneMaker"
    exif.get_ifd(0x8825).update({1: "N", 2: (51.0, 30.0, 26.0), 3: "W", 4: (0.0, 7.0, 39.0)})
    taken = Image.new("RGB", (1200, 900), "navy")
    sent = image_bytes(taken, "JPEG", exif=exif.tobytes())
    assert Image.open(BytesIO(sent)).getexif().get_ifd(0x8825)  # the GPS position is there

    assert post_photo(client, sent, "IMG_0001.jpg").status_code == 303
    stored = client.get("/therapists/maya-chen/photo").data
    image = Image.open(BytesIO(stored))
    assert image.size == (600, 800)  # turned upright, then shrunk to at most 800 pixels
    assert not image.getexif() and "exif" not in image.info
    assert b"PhoneMaker" not in stored and b"Exif" not in stored


def test_a_photo_as_large_as_the_form_allows_is_accepted_with_form_tokens_checked(
        with_csrf, client, maya):
    noise = Image.frombytes("RGB", (700, 700), os.urandom(700 * 700 * 3))
    data = image_bytes(noise, "PNG")
    assert 1024 * 1024 < len(data) < 2 * 1024 * 1024  # over the site's 1 MiB, under 2 MB
    assert post_photo(client, data, "me.png").status_code == 303
    assert client.get("/therapists/maya-chen/photo").status_code == 200
    # Other forms keep the site's limit.
    big = client.post("/staff/password", data={"current": "x" * (1100 * 1024)})
    assert big.status_code == 413


def test_a_therapist_cannot_edit_someone_else(client, maya):
    assert client.get("/staff/therapists/sam-whitaker/hours").status_code == 404
    response = hours_form(client, "sam-whitaker")
    assert response.status_code == 404


def test_week_views_show_appointments_and_hours(app, client, demo, make_user):
    booked = book_first_time(app.test_client(), "sam-whitaker")
    desk = make_user("front_desk")
    sign_in(client, desk.email)
    week = booked.starts_at.astimezone(ZoneInfo("America/Los_Angeles")).date().isoformat()
    practice = client.get(f"/staff/week?week={week}")
    assert practice.status_code == 200
    assert f"/staff/appointments/{booked.id}" in practice.text and "awaiting" in practice.text
    single = client.get(f"/staff/week?therapist=sam-whitaker&week={week}")
    assert 'class="block held' in single.text and 'class="block hours' in single.text
    assert booked.intake.initials in single.text
