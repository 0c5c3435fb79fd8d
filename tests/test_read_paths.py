"""The pages read most cost the same whatever the size of the practice and of its history, and
an open time is never shown once it is gone."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bench.scale import add_history, add_therapists
from intake.appointments.services import cancel, confirm
from intake.calendars import feeds
from intake.calendars.models import BusyInterval, ExternalCalendar
from intake.clock import now_utc
from intake.extensions import db
from intake.intakes.models import Intake
from intake.scheduling.models import TimeOff
from intake.scheduling.services import forget_open_times
from intake.therapists.models import Therapist
from tests.helpers import book_directly, fill_intake, maya, sign_in, slot_links

TRANSACTION_CONTROL = {"BEGIN", "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"}


@contextmanager
def statements():
    """Collect the SQL statements run inside the block (transaction control left out), with
    no open times remembered from before: the cost of a page computed afresh."""
    forget_open_times()
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_):
        if statement.strip().upper() not in TRANSACTION_CONTROL:
            seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)


def therapists_shown(html: str) -> set[str]:
    """Return the slugs of the therapists whose open times a page links to."""
    return {re.search(r"/book/([^?]+)\?", link).group(1) for link in slot_links(html)}


def test_the_match_page_reads_as_much_for_fifty_therapists_as_for_five(app, client):
    add_therapists(5)
    reference = fill_intake(client)
    with statements() as small:
        page = client.get(f"/intake/{reference}/match")
    assert page.status_code == 200 and len(therapists_shown(page.text)) == 3
    add_therapists(50)
    for therapist_slug in ("maya-chen-6", "sam-whitaker-9"):
        book_directly(therapist_slug, email=f"{therapist_slug}@client.example")
    with statements() as large:
        page = client.get(f"/intake/{reference}/match")
    assert page.status_code == 200 and len(therapists_shown(page.text)) == 3
    assert len(large) == len(small), "\n".join(large)


def test_the_times_page_reads_as_much_after_years_of_history(app, client, demo):
    reference = fill_intake(client)
    intake_id = db.session.scalar(sa.select(Intake.id).where(Intake.reference == reference))
    path = f"/intake/{reference}/times/maya-chen"
    add_history(intake_id, 10, now_utc())
    with statements() as small:
        before = client.get(path)
    add_history(intake_id, 10_000, now_utc(), first=10)
    book_directly("maya-chen", email="another@client.example")  # and one in the week shown
    with statements() as large:
        after = client.get(path)
    assert len(slot_links(after.text)) == len(slot_links(before.text)) - 1 > 0
    assert len(large) == len(small), "\n".join(large)


def test_a_feed_unchanged_since_the_last_fetch_is_answered_from_two_statements(
    app, client, demo, make_user
):
    user = make_user("therapist", "maya-chen")
    path = f"/feeds/{feeds.rotate(user.therapist_id, user.id)}.ics"
    book_directly("maya-chen")
    with statements() as one:
        first = client.get(path)
    for n in range(5):
        book_directly("maya-chen", email=f"client{n}@client.example")
    with statements() as six:
        full = client.get(path)
    assert full.data.count(b"BEGIN:VEVENT") == 6 and first.data.count(b"BEGIN:VEVENT") == 1
    assert len(six) == len(one)  # no statement per appointment
    with statements() as unchanged:
        again = client.get(path, headers={"If-None-Match": full.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert len(unchanged) <= 2, "\n".join(unchanged)
    assert client.get(path, headers={"If-None-Match": first.headers["ETag"]}).status_code == 200


def test_a_time_is_gone_from_the_page_once_booked_or_covered_and_back_once_freed(
    app, client, demo
):
    reference = fill_intake(client)
    path = f"/intake/{reference}/times/maya-chen"
    therapist = maya()

    def first_time() -> str:
        links = slot_links(client.get(path).text)
        return re.search(r"start=([^&]+)", links[0]).group(1).replace("%2B", "+")

    shown = first_time()
    booked = book_directly("maya-chen", email="first@client.example")
    assert booked.starts_at.isoformat() == shown
    assert first_time() != shown  # booked: gone at once
    cancel(booked.id, None)
    assert first_time() == shown  # cancelled: offered again at once

    starts = booked.starts_at
    off = TimeOff(therapist_id=therapist.id, starts_at=starts, ends_at=starts + timedelta(hours=1),
                  note="dentist")
    db.session.add(off)
    db.session.commit()
    assert first_time() != shown  # new time off covers it
    db.session.delete(off)
    db.session.commit()
    assert first_time() == shown

    own = ExternalCalendar(therapist_id=therapist.id, kind="ics", url="https://cal.example/x",
                           created_at=now_utc())
    db.session.add(own)
    db.session.flush()
    busy = BusyInterval(calendar_id=own.id, therapist_id=therapist.id,
                        starts_at=starts - timedelta(minutes=5),
                        ends_at=starts + timedelta(minutes=5))
    db.session.add(busy)
    db.session.commit()
    assert first_time() != shown  # an imported busy time covers it
    db.session.delete(busy)
    db.session.commit()
    assert first_time() == shown

    local = starts.astimezone(ZoneInfo(therapist.timezone))
    (hours,) = [h for h in therapist.hours
                if h.weekday == local.weekday() and h.starts <= local.time() < h.ends]
    hours.starts = (local + timedelta(hours=1)).time()
    db.session.commit()
    assert first_time() != shown  # the day's hours now start later


WATCHED = ("appointment", "appointment_proposal", "time_off", "busy_interval", "weekly_hours")


def test_every_table_that_decides_open_times_moves_the_schedule_version(app):
    """SQLite drops a table's triggers when a migration rebuilds it: all must be there."""
    if db.engine.dialect.name == "sqlite":
        found = db.session.execute(sa.text(
            "SELECT tbl_name, count(*) FROM sqlite_master WHERE type = 'trigger' "
            "AND name LIKE '%_schedule_%' GROUP BY tbl_name")).all()
        assert dict(found) == {table: 3 for table in WATCHED}  # insert, update, delete
    else:
        found = db.session.scalars(sa.text(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE NOT t.tgisinternal AND t.tgname LIKE '%_schedule'")).all()
        assert sorted(found) == sorted(WATCHED)


def test_a_version_undone_by_a_rollback_is_never_seen_again(app, demo):
    therapist = maya()
    start = now_utc() + timedelta(days=3)
    version = sa.select(Therapist.schedule_version).where(Therapist.id == therapist.id)
    before = db.session.scalar(version)
    db.session.add(TimeOff(therapist_id=therapist.id, starts_at=start,
                           ends_at=start + timedelta(hours=2)))
    db.session.flush()
    undone = db.session.scalar(version)
    db.session.rollback()
    assert db.session.scalar(version) == before != undone
    db.session.add(TimeOff(therapist_id=therapist.id, starts_at=start,
                           ends_at=start + timedelta(hours=2)))
    db.session.commit()
    assert db.session.scalar(version) not in (before, undone)


def test_a_feed_changed_by_a_host_whose_clock_is_behind_is_fetched_again(
    app, client, demo, make_user, clock
):
    user = make_user("therapist", "sam-whitaker")
    path = f"/feeds/{feeds.rotate(user.therapist_id, user.id)}.ics"
    held = book_directly("sam-whitaker")
    first = client.get(path)
    assert b"STATUS:TENTATIVE" in first.data
    clock.set(clock.now() - timedelta(minutes=10))  # this change is stamped earlier
    confirm(held.id, None)
    again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200 and b"STATUS:CONFIRMED" in again.data


def test_the_front_desk_reads_as_much_for_six_requests_as_for_two(app, client, demo, make_user):
    add_therapists(11)  # sam-whitaker-11 confirms by the front desk too
    user = make_user("front_desk")
    sign_in(client, user.email)
    for n in range(2):
        book_directly("sam-whitaker", email=f"first{n}@client.example")
    with statements() as two:
        page = client.get("/staff/")
    for n in range(4):
        book_directly("sam-whitaker" if n < 2 else "sam-whitaker-11",
                      email=f"then{n}@client.example")
    with statements() as six:
        again = client.get("/staff/")
    assert page.text.count("Confirm") < again.text.count("Confirm")
    assert again.text.count("Sam Whitaker 11") >= 2
    assert len(six) == len(two), "\n".join(six)
