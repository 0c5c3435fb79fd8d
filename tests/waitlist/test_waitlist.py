"""The waitlist end to end: joining from the times page, confirming by email, a cancellation
freeing a time, two people offered it pressing at once on two server processes, exactly one
booking, the other told kindly and still listed, and leaving the list in one click. Through the
real SMTP server; the front desk's view and offers by hand; what a freed span is."""

from __future__ import annotations

import os
import re
import threading
from datetime import time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests
import sqlalchemy as sa

from intake.appointments import services as appointments
from intake.appointments.models import ACTIVE_STATUSES, Appointment
from intake.appointments.services import TimeTaken
from intake.audit import AuditEvent
from intake.clock import now_utc
from intake.database import unit_of_work
from intake.extensions import db
from intake.intakes.models import Intake
from intake.intakes.services import submit
from intake.mail.delivery import deliver_due
from intake.mail.models import OutboxMessage
from intake.scheduling.models import FreedTime, note_freed
from intake.scheduling.services import upcoming_times
from intake.therapists import services as therapists
from intake.waitlist.models import (
    BOOKED,
    GONE,
    LEFT,
    OFFERED,
    WAITING,
    WaitlistEntry,
    WaitlistOffer,
)
from intake.waitlist.services import book_offer, offer_freed_times, offer_key
from intake.worker import run_pass
from tests.helpers import (
    GOOD_ANSWERS,
    book_directly,
    csrf_from,
    fill_intake,
    free_port,
    hidden_inputs,
    maya,
    sign_in,
    slot_links,
    wait_for_port,
)
from tests.test_read_paths import statements
from tests.test_scale_out import Processes, gunicorn, own_control_socket

SECRET = "waitlist-test-secret-" + "w" * 32
EVERY_DAY = [str(d) for d in range(7)]
EVERY_PART = ["morning", "afternoon", "evening"]


@pytest.fixture(autouse=True)
def long_secret(settings):
    """A secret long enough for the servers started as in production, shared with them."""
    settings["SECRET_KEY"] = SECRET


def body(message) -> str:
    """Return the plain-text part of an email."""
    return message.get_body(("plain",)).get_content()


def link(message, path: str) -> str:
    """Return the site path of the first link in the email that goes to `path`."""
    url = re.search(rf"(https?://\S+{path}\S+)", body(message)).group(1)
    return urlsplit(url).path


def join(client, reference: str, slug: str | None = "maya-chen", **changes):
    """Ask, from the times page's link, to hear of sooner times; return the response."""
    times = client.get(f"/intake/{reference}/times/{slug}") if slug else None
    if times is not None:
        assert f"/intake/{reference}/waitlist?with={slug}" in times.text
    form = client.get(f"/intake/{reference}/waitlist" + (f"?with={slug}" if slug else ""))
    assert form.status_code == 200
    data = {"who": slug or "any", "days": EVERY_DAY, "parts": EVERY_PART,
            "until": (now_utc().date() + timedelta(days=30)).isoformat(), **changes}
    if slug:
        data["with"] = slug
    return client.post(f"/intake/{reference}/waitlist", data=data)


def confirm(client, message) -> None:
    """Open the confirmation link from the email and press its button."""
    path = link(message, "/waitlist/confirm/")
    page = client.get(path)
    assert "Confirm your place on the list" in page.text
    done = client.post(path, data={"csrf_token": csrf_from(page.text)})
    assert "You're on the list" in done.text


def test_a_freed_time_goes_to_the_first_of_two_who_press_at_once_and_the_other_stays_listed(
        app, demo, smtp, database_url, tmp_path):
    app.config["BASE_URL"] = "https://booking.harborlightcounselling.example"  # as deployed
    taken = book_directly("maya-chen")  # the time that will free up
    first, second = app.test_client(), app.test_client()
    ref_a = fill_intake(first, email="a@client.example", name="Ana Lind")
    ref_b = fill_intake(second, email="b@client.example", name="Ben Ito",
                        timezone="America/Los_Angeles", discreet="y")

    assert join(first, ref_a).status_code == 303
    sent = join(second, ref_b)
    assert sent.status_code == 303 and sent.headers["Location"].endswith("/waitlist/sent")
    deliver_due()
    (ask_a,), (ask_b,) = smtp.to("a@client.example"), smtp.to("b@client.example")
    assert "Maya Chen" in body(ask_a) and "Please confirm" in ask_a["Subject"]
    assert ask_b["Subject"] == "Please confirm your request"  # discreet: the plainest words
    assert "Maya" not in body(ask_b)

    # Unconfirmed, nobody is offered anything: the cancellation below comes after confirming.
    confirm(first, ask_a)
    confirm(second, ask_b)
    appointments.cancel(taken.id, None)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FreedTime)) == 1
    run_pass()
    (_, offer_a), (_, offer_b) = smtp.to("a@client.example"), smtp.to("b@client.example")

    for message in (offer_a, offer_b):
        text = body(message)
        for private in ("fight", "chores", "couples", "Couples", "conflict", "Robin"):
            assert private not in text, private
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # Unencoded on the wire, as mail programs read it (RFC 2369).
    for envelope in smtp.envelopes[-2:]:
        assert re.search(rb"\r\nList-Unsubscribe: <https://booking\.harborlightcounselling"
                         rb"\.example/waitlist/leave/[\w.-]+>\r\n", envelope.content)
    starts = taken.starts_at
    assert "Maya Chen" in body(offer_a) and "A sooner time is free" in offer_a["Subject"]
    london = starts.astimezone(ZoneInfo("Europe/London"))
    assert f"{london:%B}" in body(offer_a) and ("GMT" in body(offer_a) or "BST" in body(offer_a))
    assert offer_b["Subject"] == "A time is available" and "Maya" not in body(offer_b)
    assert "PST" in body(offer_b) or "PDT" in body(offer_b)  # in their own zone
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "waitlist_offer")) == 2

    # Both press "Book this time" at once, each on a server process of its own.
    ports = [free_port(), free_port()]
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("GUNICORN_", "RATELIMIT_", "MAIL_", "FLASK_"))}
    env.update({"DATABASE_URL": database_url, "SECRET_KEY": SECRET,
                "PRACTICE_TIMEZONE": app.config["PRACTICE_TIMEZONE"],
                "MAIL_DEFAULT_SENDER": "bookings@harbor.example", "PYTHONUNBUFFERED": "1"})
    db.session.remove()
    running = Processes(tmp_path)
    try:
        servers = [running.start(f"web{n}", gunicorn(port),
                                 own_control_socket(env, tmp_path / f"run{n}"))
                   for n, port in enumerate(ports)]
        for port, server in zip(ports, servers, strict=True):
            wait_for_port(port, server, "gunicorn", timeout=60)
        people = []
        for port, message in zip(ports, (offer_a, offer_b), strict=True):
            browser = requests.Session()
            url = f"http://127.0.0.1:{port}{link(message, '/waitlist/offer/')}"
            page = browser.get(url, timeout=30)
            assert page.status_code == 200 and "Book this time" in page.text
            people.append((browser, url, csrf_from(page.text)))
        barrier = threading.Barrier(2)
        answers = [None, None]

        def press(n):
            browser, url, token = people[n]
            barrier.wait()
            answers[n] = browser.post(url, data={"csrf_token": token}, allow_redirects=False,
                                      timeout=60)

        threads = [threading.Thread(target=press, args=(n,)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)
        codes = sorted(a.status_code for a in answers)
        assert codes == [303, 409], [(a.status_code, a.text[:300]) for a in answers]
        loser = next(a for a in answers if a.status_code == 409)
        assert "Someone else booked this time a moment before you" in loser.text
        assert "still on the list" in loser.text
        winner = answers.index(next(a for a in answers if a.status_code == 303))

        db.session.rollback()
        statuses = {e.intake.email: e.status for e in db.session.scalars(
            sa.select(WaitlistEntry))}
        assert sorted(statuses.values()) == [BOOKED, WAITING]  # the other is still listed
        db.session.remove()

        # The one-click way off the list works as a mail program sends it (no form token).
        loser_index = 1 - winner
        leave = link((offer_a, offer_b)[loser_index], "/waitlist/leave/")
        left = requests.post(f"http://127.0.0.1:{ports[0]}{leave}",
                             data={"List-Unsubscribe": "One-Click"}, timeout=30)
        assert left.status_code == 200 and "You're off the list" in left.text
    finally:
        running.stop_all()

    db.session.rollback()
    entries = {e.intake.email: e for e in db.session.scalars(sa.select(WaitlistEntry))}
    won, lost = ("a@client.example", "b@client.example")[::1 if winner == 0 else -1]
    booked = db.session.scalars(sa.select(Appointment).where(
        Appointment.therapist_id == maya().id, Appointment.starts_at == starts,
        Appointment.status.in_(ACTIVE_STATUSES))).all()
    assert len(booked) == 1 and booked[0].intake.email == won
    assert entries[won].status == BOOKED
    assert entries[lost].status == LEFT  # was still listed until leaving just now
    offers = {o.entry.intake.email: o for o in db.session.scalars(sa.select(WaitlistOffer))}
    assert offers[won].status == "taken" and offers[won].appointment_id == booked[0].id
    assert offers[lost].status in (GONE, "closed")
    deliver_due()
    (booking,) = smtp.to(won)[2:]  # the booking's own email, with its invite
    assert booking["Subject"].startswith("Your appointment")
    assert any(part.get_content_type() == "text/calendar" for part in booking.walk())


def test_a_loser_stays_listed_and_is_offered_the_next_freed_time(app, demo, smtp, clock):
    first_taken = book_directly("maya-chen")
    later = book_directly("maya-chen", email="later@client.example")
    person = app.test_client()
    reference = fill_intake(person, email="c@client.example")
    join(person, reference)
    deliver_due()
    confirm(person, smtp.to("c@client.example")[0])
    appointments.cancel(first_taken.id, None)
    run_pass()
    (offer,) = db.session.scalars(sa.select(WaitlistOffer)).all()
    # Someone else books the freed time through the ordinary pages before they press.
    book_directly("maya-chen", email="quick@client.example")
    path = link(smtp.to("c@client.example")[-1], "/waitlist/offer/")
    page = person.get(path)
    assert "This time is no longer free" in page.text and "still on the list" in page.text
    pressed = person.post(path, data={})
    assert pressed.status_code == 409 and "a moment before you" in pressed.text
    assert "still on the list" in pressed.text and 'href="/intake/' in pressed.text
    run_pass()
    db.session.rollback()
    assert db.session.get(WaitlistOffer, offer.id).status == GONE
    pressed = person.post(path, data={})  # the same words once the offer is closed
    assert pressed.status_code == 409 and "a moment before you" in pressed.text
    # The next freed time goes to them: they are no longer holding an open offer.
    appointments.cancel(later.id, None)
    run_pass()
    db.session.rollback()
    offers = db.session.scalars(sa.select(WaitlistOffer).order_by(WaitlistOffer.id)).all()
    assert [o.status for o in offers] == [GONE, OFFERED]
    assert offers[1].starts_at == later.starts_at
    assert db.session.scalar(sa.select(WaitlistEntry.status)) == WAITING


def test_an_offer_ends_at_the_therapists_notice_and_a_place_at_its_date(
        app, demo, smtp, clock):
    taken = book_directly("maya-chen")
    person = app.test_client()
    reference = fill_intake(person, email="e@client.example")
    join(person, reference, until=(now_utc().date() + timedelta(days=20)).isoformat())
    deliver_due()
    confirm(person, smtp.to("e@client.example")[0])
    appointments.cancel(taken.id, None)
    run_pass()
    path = link(smtp.to("e@client.example")[-1], "/waitlist/offer/")
    assert "Book this time" in person.get(path).text
    notice = timedelta(hours=maya().min_notice_hours)
    clock.set(taken.starts_at - notice + timedelta(minutes=1))
    run_pass()
    db.session.rollback()
    assert db.session.scalar(sa.select(WaitlistOffer.status)) == GONE
    page = person.get(path)
    assert "This time is no longer free" in page.text and "Book this time" not in page.text
    pressed = person.post(path, data={})
    assert pressed.status_code == 409 and "This offer has ended" in pressed.text
    assert db.session.scalar(sa.select(WaitlistEntry.status)) == WAITING
    clock.advance(timedelta(days=21))
    run_pass()
    db.session.rollback()
    assert db.session.scalar(sa.select(WaitlistEntry.status)) == "ended"


def test_wishes_are_checked_beside_their_fields_and_kept(app, demo, client):
    reference = fill_intake(client)
    page = join(client, reference, days=[], parts=[], until="")
    assert page.status_code == 422  # every problem at once, each beside its field
    assert 'id="days-error"' in page.text and "at least one day" in page.text
    assert 'id="parts-error"' in page.text and 'id="until-error"' in page.text
    assert 'class="error-summary" role="alert"' in page.text
    page = join(client, reference, days=["2"], parts=["evening"], until="")
    assert re.search(r'value="evening" checked', page.text)
    assert re.search(r'value="2" checked', page.text) and 'value="3" checked' not in page.text
    page = join(client, reference, until=(now_utc().date() + timedelta(days=400)).isoformat())
    assert page.status_code == 422 and "within the next 90 days" in page.text
    page = join(client, reference, until="soon")
    assert page.status_code == 422 and "Please choose the last day" in page.text
    assert 'value="soon"' in page.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WaitlistEntry)) == 0
    # Asking again and again keeps one place, and an address gets three confirmations a day at
    # most, from however many intakes.
    for _ in range(2):
        assert join(client, reference).status_code == 303
    other_client = client.application.test_client()
    again = fill_intake(other_client, email="ALEX@client.example")
    assert join(other_client, again).headers["Location"].endswith("/waitlist/sent")
    sent = join(other_client, again)
    assert sent.headers["Location"].endswith("/waitlist/sent?again=1")
    assert "We already sent a link" in other_client.get(sent.headers["Location"]).text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WaitlistEntry)) == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
        OutboxMessage.kind == "waitlist_confirm")) == 3
    # A therapist who doesn't offer what they asked for is not among the choices.
    page = client.get(f"/intake/{reference}/waitlist?with=daniel-okafor")
    assert page.status_code == 200 and 'name="who" value="daniel-okafor"' not in page.text
    assert 'name="who" value="maya-chen"' in page.text
    assert join(client, reference, slug=None, who="daniel-okafor").status_code == 422
    # Someone else's intake: not theirs to put on the list.
    other = fill_intake(client.application.test_client())
    assert client.get(f"/intake/{other}/waitlist").status_code == 404


def test_the_front_desk_sees_who_waits_and_offers_a_time_by_hand(app, demo, smtp, make_user):
    person = app.test_client()
    reference = fill_intake(person, email="d@client.example", name="Dana Reyes")
    match = person.get(f"/intake/{reference}/match")
    assert f'href="/intake/{reference}/waitlist"' in match.text
    join(person, reference, slug=None)  # any therapist suggested
    deliver_due()
    confirm(person, smtp.to("d@client.example")[0])
    desk = app.test_client()
    user = make_user("front_desk")
    sign_in(desk, user.email)
    page = desk.get("/staff/waitlist?therapist=maya-chen")
    assert "Dana Reyes" in page.text and "Any therapist who fits" in page.text
    assert "Nothing yet" in page.text
    start = re.search(r'<option value="([^"]+)"', page.text.split('name="start"')[1]).group(1)
    offered = desk.post(re.search(r'action="(/staff/waitlist/\d+/offer)"', page.text).group(1),
                        data={"therapist": "maya-chen", "start": start,
                              "csrf_token": csrf_from(page.text)})
    assert offered.status_code == 303
    page = desk.get("/staff/waitlist?therapist=maya-chen")
    assert "waiting for an answer" in page.text and "by hand" in page.text
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "waitlist_offer"))
    offer = db.session.scalar(sa.select(WaitlistOffer))
    assert (event.user_id, event.record_type, event.record_id) == (
        user.id, "waitlist_offer", offer.id)
    assert event.detail.startswith("by hand") and offer.created_by == user.id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "view_waitlist", AuditEvent.user_id == user.id)) == 2
    deliver_due()
    assert "A sooner time is free" in smtp.to("d@client.example")[-1]["Subject"]
    # The same time twice is refused kindly.
    again = desk.post(re.search(r'action="(/staff/waitlist/\d+/offer)"', page.text).group(1),
                      data={"therapist": "maya-chen", "start": start}, follow_redirects=True)
    assert "already offered" in again.text
    # A therapist has no waitlist page.
    assert app.test_client().get("/staff/waitlist").status_code in (302, 303)


def test_what_frees_time_cancellations_removed_time_off_and_added_hours(app, demo, make_user):
    admin = make_user("admin")
    therapist = maya()
    now = now_utc()
    off = therapists.add_time_off(therapist.id, now + timedelta(days=3),
                                  now + timedelta(days=4), "", admin.id)
    therapists.remove_time_off(therapist.id, off.id, admin.id)
    spans = db.session.scalars(sa.select(FreedTime)).all()
    assert [(s.starts_at, s.ends_at) for s in spans] == [(off.starts_at, off.ends_at)]

    hours = [(h.weekday, h.starts, h.ends) for h in therapist.hours]
    rules = {k: getattr(therapist, k) for k in therapists.RULE_FIELDS}
    therapists.set_hours(therapist.id, hours, rules, admin.id)  # the same hours: nothing freed
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FreedTime)) == 1
    free_day = next(d for d in range(7) if d not in {h[0] for h in hours})
    therapists.set_hours(therapist.id, [*hours, (free_day, time(9), time(12))], rules, admin.id)
    added = db.session.scalars(sa.select(FreedTime).order_by(FreedTime.id)).all()[1:]
    assert added and all(
        s.starts_at.astimezone(ZoneInfo(therapist.timezone)).weekday()
        == free_day for s in added)
    assert all(s.ends_at - s.starts_at == timedelta(hours=3) for s in added[1:-1])


def place(intake_id: int, created_at=None, **wishes) -> WaitlistEntry:
    """Put an intake on the list, confirmed, waiting any day at any time for any therapist
    who fits (or as `wishes` say); return its place."""
    with unit_of_work() as session:
        entry = WaitlistEntry(intake_id=intake_id, timezone="UTC", status=WAITING,
                              until=now_utc() + timedelta(days=10),
                              created_at=created_at or now_utc(),
                              **{"days": list(range(7)),
                                 "parts": ["morning", "afternoon", "evening"], **wishes})
        session.add(entry)
    return entry


def _waiting(count: int, now) -> None:
    """Put `count` confirmed people on the list, waiting for any therapist, whose wishes no
    time meets (so the offering job only reads)."""
    for n in range(count):
        answers = {**GOOD_ANSWERS, "email": f"w{n}@client.example",
                   "consent_contact": True, "consent_privacy": True}
        intake = submit(answers, "no")
        place(intake.id, now - timedelta(hours=1), days=[0], parts=[])


def test_the_offering_job_and_the_desk_read_as_much_for_sixty_people_as_for_three(
        app, demo, make_user):
    now = now_utc()
    desk = app.test_client()
    sign_in(desk, make_user("front_desk").email)
    therapist_id = maya().id

    def measure():
        with unit_of_work() as session:
            note_freed(session, therapist_id, now + timedelta(days=2), now + timedelta(days=5))
        db.session.remove()
        with statements() as job:
            assert offer_freed_times() == 0
        with statements() as page:
            assert desk.get("/staff/waitlist?therapist=maya-chen").status_code == 200
        return len(job), len(page)

    _waiting(3, now)
    few = measure()
    _waiting(57, now)
    many = measure()
    assert many == few, (few, many)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FreedTime).where(
        FreedTime.done_at.is_(None))) == 0  # nobody could take them: finished


def test_a_freed_time_goes_to_the_earliest_few_first_and_to_the_next_after_a_while(
        app, demo, clock):
    app.config.update(WAITLIST_OFFERS_AT_ONCE=2, WAITLIST_NEXT_OFFERS_HOURS=6)
    # A time far enough ahead to stay open past the therapist's notice for the next 13 hours.
    therapist = maya()
    later = now_utc() + timedelta(hours=therapist.min_notice_hours + 14)
    start = next(s.starts_at for s in upcoming_times([therapist], now_utc())[therapist.id]
                 if s.starts_at > later)
    someone = submit({**GOOD_ANSWERS, "consent_contact": True, "consent_privacy": True}, "no")
    taken = appointments.book(someone, therapist, start, "far-enough").appointment
    places = []
    for n in range(4):
        intake = submit({**GOOD_ANSWERS, "email": f"p{n}@client.example",
                         "consent_contact": True, "consent_privacy": True}, "no")
        clock.advance(timedelta(minutes=1))  # joined one after another
        places.append(place(intake.id).id)
    # Someone who asked after the time freed is not offered it: they saw it open.
    appointments.cancel(taken.id, None)
    clock.advance(timedelta(minutes=1))
    late = place(taken.intake_id)

    def offered_to():
        db.session.rollback()
        return [o.entry_id for o in db.session.scalars(
            sa.select(WaitlistOffer).where(WaitlistOffer.starts_at == taken.starts_at)
            .order_by(WaitlistOffer.id))]

    assert offer_freed_times() == 2
    assert offered_to() == places[:2]
    clock.advance(timedelta(hours=5))
    assert offer_freed_times() == 0  # the first two still have time to answer
    clock.advance(timedelta(hours=1, minutes=1))
    assert offer_freed_times() == 2
    assert offered_to() == places
    clock.advance(timedelta(hours=7))
    assert offer_freed_times() == 0 and late.id not in offered_to()


def test_an_offer_is_booked_with_a_key_nobody_else_can_name(app, demo, client):
    taken = book_directly("maya-chen")
    person = submit({**GOOD_ANSWERS, "email": "k@client.example", "consent_contact": True,
                     "consent_privacy": True}, "no")
    place(person.id)
    appointments.cancel(taken.id, None)
    offer_freed_times()
    offer = db.session.scalar(sa.select(WaitlistOffer))
    key = offer_key(offer.id)
    # The booking form refuses a key of that shape, so nobody books (or reads) with it...
    reference = fill_intake(client, email="m@client.example")
    review = client.get(slot_links(client.get(f"/intake/{reference}/match").text)[0])
    form = {**hidden_inputs(review.text), "key": key}
    action = re.search(r'<form method="post" action="([^"]+)"', review.text).group(1)
    assert client.post(action, data=form).status_code == 422
    # ...and a key used for one intake's booking never returns it to another.
    booked = book_offer(offer.id)
    stranger = db.session.scalar(sa.select(Intake).where(Intake.reference == reference))
    open_time = upcoming_times([maya()], now_utc())[maya().id][0].starts_at
    with pytest.raises(TimeTaken):
        appointments.book(stranger, maya(), open_time, key)
    assert book_offer(offer.id).id == booked.id  # pressing again: the same booking
