"""Privacy over time, through the real worker and SMTP server: what is past its time is
erased (from the database file itself), what the practice must keep is kept."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from intake.appointments.models import Appointment
from intake.appointments.services import book, decline
from intake.audit import AuditEvent
from intake.clock import now_utc
from intake.couples.models import Partner
from intake.couples.services import answer
from intake.extensions import db
from intake.intakes.models import Intake
from intake.intakes.services import add_urgent_contact, record_urgent, submit
from intake.mail.models import OutboxMessage
from intake.privacy import retention
from intake.scheduling.services import next_open_times
from intake.worker import run_pass
from tests.helpers import GOOD_ANSWERS, book_directly, maya, sign_in

LOOKED_AND_LEFT = "I only wanted to look: the heron by the quarry lake keeps me awake."
BOOKED = "We argue about the lighthouse and then nobody speaks for days."


def _on_disk(app) -> bytes:
    """Return the bytes of the SQLite database file and its write-ahead log."""
    path = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def test_the_worker_erases_what_is_past_its_time_and_keeps_what_the_practice_must(
    app, demo, smtp, clock
):
    looked = submit({**GOOD_ANSWERS, "story": LOOKED_AND_LEFT, "name": "Quinn Heron",
                     "email": "quinn@client.example", "consent_contact": True,
                     "consent_privacy": True}, "no")
    booked = book_directly("maya-chen", story=BOOKED)
    urgent = record_urgent("yes", "America/New_York")
    add_urgent_contact(urgent, "Sky", "+1 555 0100")
    ids = (looked.id, looked.reference, booked.intake_id, urgent.id)
    assert "email: " in run_pass()
    db.session.remove()
    looked_id, reference, booked_id, urgent_id = ids

    # Not yet: nothing is erased before its time.
    clock.advance(timedelta(days=app.config["RETENTION_UNBOOKED_DAYS"] - 1))
    run_pass()
    assert db.session.get(Intake, looked_id).story == LOOKED_AND_LEFT
    clock.advance(timedelta(days=2))
    report = run_pass()
    assert "retention: erased 1 unbooked intakes" in report
    db.session.expire_all()
    gone = db.session.get(Intake, looked_id)
    assert gone.purged_at is not None and gone.reference != reference
    assert (gone.story, gone.name, gone.email, gone.phone, gone.concerns) == ("", "", "", "",
                                                                               [])
    # Erased from the database itself, not only hidden.
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        data = _on_disk(app)
        assert LOOKED_AND_LEFT.encode() not in data and b"quinn@client.example" not in data
        assert BOOKED.encode() in data  # a sanity check that the file is the one read
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Intake).where(
        Intake.story.like("%heron%"))) == 0
    # Kept: the booked intake, and the urgent one nobody has taken on yet.
    assert db.session.get(Intake, booked_id).story == BOOKED
    assert db.session.get(Intake, urgent_id).phone == "+1 555 0100"
    # Delivered emails past their time keep their row, not their body.
    delivered = db.session.scalars(sa.select(OutboxMessage)).all()
    assert delivered and all(m.raw == b"" and m.body_purged_at is not None
                             and m.status == "sent" for m in delivered)
    assert {m.kind for m in delivered} >= {"booking_client", "booking_therapist"}
    # Recorded with counts, never whose.
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "purge")
                                .order_by(AuditEvent.id)).all()
    # The email bodies went first (a month after sending), the intake at its own time.
    assert [e.detail.split(",")[0] for e in events] == ["0 unbooked intakes",
                                                         "1 unbooked intakes"]
    assert all(e.record_id is None and "Quinn" not in e.detail for e in events)
    assert run_pass() == ""  # once a day


def test_the_policy_is_said_in_plain_words_to_the_admin_and_to_clients(
    app, client, make_user
):
    assert "90 days after you send it" in client.get("/privacy").text
    admin = make_user("admin", email="boss@harbor.example")
    sign_in(client, admin.email)
    page = client.get("/staff/admin/audit").text
    assert "erased 90 days after it arrived" in page and "6 years" in page
    assert "it has not run yet" in page
    run_pass()
    assert "the next run is due" in client.get("/staff/admin/audit").text


def test_an_intake_whose_every_request_was_declined_is_erased_after_its_own_time(
    app, demo, smtp, clock
):
    declined = book_directly("sam-whitaker", story=LOOKED_AND_LEFT)
    intake_id = declined.intake_id
    decline(declined.id, None)
    run_pass()
    clock.advance(timedelta(days=app.config["RETENTION_DECLINED_DAYS"] - 1))
    run_pass()
    assert db.session.get(Intake, intake_id).story == LOOKED_AND_LEFT
    clock.advance(timedelta(days=2))
    assert "1 declined" in run_pass()
    db.session.expire_all()
    assert db.session.get(Intake, intake_id).story == ""
    # The consultation's shell stays for the schedule's history.
    assert db.session.get(Appointment, declined.id).status == "declined"


def test_nothing_is_erased_that_was_booked_meanwhile_or_whose_partner_waits_for_a_call(
    app, demo, smtp, clock
):
    looked = submit({**GOOD_ANSWERS, "story": LOOKED_AND_LEFT, "consent_contact": True,
                     "consent_privacy": True}, "no")
    looked_id = looked.id
    clock.advance(timedelta(days=app.config["RETENTION_UNBOOKED_DAYS"] + 1))
    now = now_utc()
    due = retention.unbooked_due(now)
    assert due == [looked_id]
    book(db.session.get(Intake, looked_id), maya(),
         next_open_times(maya(), now, 1)[0].starts_at, "booked-just-in-time-123")
    assert retention._erase_all(due, now, retention._unbooked(now)) == 0
    assert db.session.get(Intake, looked_id).story == LOOKED_AND_LEFT

    # A declined couple whose partner said they are afraid, and nobody has called yet.
    declined = book_directly("sam-whitaker", story=BOOKED, email="couple@client.example",
                             partner_agreed=True, partner_email="pat@partner.example")
    partner_id = db.session.scalar(sa.select(Partner.id).where(
        Partner.intake_id == declined.intake_id))
    answer(partner_id, {"safety": "no", "feels_safe": "yes", "story": "Words of my own."})
    decline(declined.id, None)
    clock.advance(timedelta(days=app.config["RETENTION_DECLINED_DAYS"] + 1))
    assert declined.intake_id not in retention.declined_due(now_utc())
