"""Keeping what the practice must and forgetting what it need not: the worker's daily purge.

An intake that never became a consultation (never booked, or every request declined, withdrawn
or expired) loses its answers, contact details and partner's details after its time, and is
kept as an anonymous shell so counts and the audit trail stay whole; an urgent intake or a
contact request nobody has taken on, and anyone still on the waitlist, is never erased.
Delivered emails lose their bodies after RETENTION_MAIL_DAYS (the row stays: to whom, what,
when, how it went), as do the development mail files; the audit trail is kept for
RETENTION_AUDIT_YEARS. Every purge is audited with counts, never whose.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..appointments.models import ACTIVE_STATUSES, Appointment
from ..audit import AuditEvent
from ..clock import now_utc
from ..couples.models import BOUNCED, EXPIRED, FLAGGED, Partner
from ..database import unit_of_work
from ..extensions import db
from ..health import WorkerJob
from ..intakes.models import Intake, new_reference
from ..mail.models import FAILED, QUEUED, SENT, OutboxMessage
from ..waitlist.models import CLOSED, LEFT, OFFERED, ON_THE_LIST, WaitlistEntry, WaitlistOffer

JOB = "retention"
DAY = timedelta(days=1)
# What an erased intake keeps of each answer: nothing.
ERASED = {"safety": "", "concerns": [], "story": "", "modality": "", "kind": "",
          "partner_name": "", "partner_email": "", "partner_agreed": False, "format": "",
          "language": "", "preferred_times": [], "timezone": "", "name": "", "email": "",
          "phone": "", "consent_contact": False, "consent_privacy": False, "discreet": False}
PARTNER_ERASED = {"name": "", "email": "", "phone": "", "timezone": "", "safety": "",
                  "feels_safe": "", "concerns": [], "story": "", "discreet": False,
                  "consent_contact": False, "consent_privacy": False}


@dataclass(frozen=True)
class Purged:
    """What one purge erased, by kind."""

    unbooked: int = 0
    declined: int = 0
    email_bodies: int = 0
    mail_files: int = 0
    audit_events: int = 0

    def __str__(self) -> str:
        return (f"{self.unbooked} unbooked intakes, {self.declined} declined, "
                f"{self.email_bodies} email bodies, {self.mail_files} mail files, "
                f"{self.audit_events} audit events")

    def __bool__(self) -> bool:
        return any((self.unbooked, self.declined, self.email_bodies, self.mail_files,
                    self.audit_events))


def _settled():
    """Return the condition that nothing about the intake waits for staff or the person: any
    urgent item or contact request was taken on, no couple's partner who needs a call (or was
    not heard from) waits to be taken on, and they are not on the waitlist."""
    waiting = sa.exists().where(WaitlistEntry.intake_id == Intake.id,
                                WaitlistEntry.status.in_(ON_THE_LIST))
    partner_waits = sa.exists().where(Partner.intake_id == Intake.id,
                                      Partner.status.in_((FLAGGED, EXPIRED, BOUNCED)),
                                      Partner.acknowledged_at.is_(None))
    return sa.and_(sa.or_(sa.and_(Intake.urgent.is_(False), Intake.contact_requested_at.is_(None)),
                          Intake.acknowledged_at.is_not(None)), ~waiting, ~partner_waits)


def _unbooked(now: datetime):
    """Return the condition of an intake that never held a consultation and is past its
    time."""
    days = current_app.config["RETENTION_UNBOOKED_DAYS"]
    booked = sa.exists().where(Appointment.intake_id == Intake.id)
    return sa.and_(Intake.purged_at.is_(None), Intake.created_at <= now - timedelta(days=days),
                   ~booked, _settled())


def _declined(now: datetime):
    """Return the condition of an intake whose every request was declined, withdrawn or
    expired (none ever confirmed, none holding a time), the last ended before its time."""
    cutoff = now - timedelta(days=current_app.config["RETENTION_DECLINED_DAYS"])
    mine = Appointment.intake_id == Intake.id
    kept = sa.exists().where(mine, sa.or_(Appointment.status.in_(ACTIVE_STATUSES),
                                          Appointment.confirmed_at.is_not(None)))
    recent = sa.exists().where(mine, sa.or_(Appointment.ended_at.is_(None),
                                            Appointment.ended_at > cutoff))
    return sa.and_(Intake.purged_at.is_(None), sa.exists().where(mine), ~kept, ~recent,
                   _settled())


def unbooked_due(now: datetime) -> list[int]:
    """Return the intakes that never held a consultation and are past their time."""
    return list(db.session.scalars(sa.select(Intake.id).where(_unbooked(now))))


def declined_due(now: datetime) -> list[int]:
    """Return the intakes whose every request was declined, withdrawn or expired, past their
    time."""
    return list(db.session.scalars(sa.select(Intake.id).where(_declined(now))))


def erase(session, intake: Intake, now: datetime, *, with_partner: bool = True) -> None:
    """Erase an intake's answers and contact details (and, `with_partner`, its couple's
    partner's), keeping an anonymous shell: its pages and links refuse it from now on (see
    `purged_at`), its waitlist places end, its consultations keep no note, and its emails
    lose their bodies, recipients and subjects (those still to be sent go out first, and lose
    theirs at the next purge)."""
    # The waitlist first, place before offers, in the order leaving the list takes them.
    places = sa.select(WaitlistEntry.id).where(WaitlistEntry.intake_id == intake.id)
    session.execute(sa.update(WaitlistEntry).where(WaitlistEntry.intake_id == intake.id,
                                                   WaitlistEntry.status.in_(ON_THE_LIST))
                    .values(status=LEFT, ended_at=now)
                    .execution_options(synchronize_session=False))
    session.execute(sa.update(WaitlistOffer).where(WaitlistOffer.entry_id.in_(places),
                                                   WaitlistOffer.status == OFFERED)
                    .values(status=CLOSED).execution_options(synchronize_session=False))
    for name, empty in ERASED.items():
        setattr(intake, name, empty)
    intake.reference = new_reference()
    intake.purged_at = now
    partner = session.scalar(sa.select(Partner).where(Partner.intake_id == intake.id))
    if partner is not None and with_partner:
        for name, empty in PARTNER_ERASED.items():
            setattr(partner, name, empty)
    theirs = sa.select(Appointment.id).where(Appointment.intake_id == intake.id)
    session.execute(sa.update(Appointment).where(Appointment.intake_id == intake.id)
                    .values(decline_message="").execution_options(synchronize_session=False))
    session.execute(sa.update(OutboxMessage).where(
        sa.or_(OutboxMessage.intake_id == intake.id, OutboxMessage.appointment_id.in_(theirs)),
        OutboxMessage.status != QUEUED)
        .values(raw=b"", recipient="", subject="", body_purged_at=now)
        .execution_options(synchronize_session=False))


def _erase_all(ids: list[int], now: datetime, condition) -> int:
    """Erase each intake in its own transaction, locked and read again with the `condition`
    that made it due (one booked or taken up again since is left as it is); return how
    many."""
    done = 0
    for intake_id in ids:
        with unit_of_work() as session:
            # Locked first, then asked again: on PostgreSQL a locked row is not re-read for
            # the rest of a statement's condition (a booking made meanwhile is seen only now).
            intake = session.scalar(sa.select(Intake).where(Intake.id == intake_id)
                                    .with_for_update(key_share=True))
            if intake is None or not session.scalar(sa.select(sa.exists().where(
                    Intake.id == intake_id, condition))):
                continue
            erase(session, intake, now)
            done += 1
    return done


def _mail_files(now: datetime) -> int:
    """Remove development mail files older than the mail's time; return how many."""
    folder = Path(current_app.config["MAIL_SINK_DIR"])
    cutoff = (now - timedelta(days=current_app.config["RETENTION_MAIL_DAYS"])).timestamp()
    removed = 0
    for path in folder.glob("*.eml") if folder.is_dir() else ():
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def purge(now: datetime | None = None) -> Purged:
    """Erase everything past its time (see the module's docstring); return the counts, also
    recorded in the audit trail when anything was erased."""
    now = now or now_utc()
    cfg = current_app.config
    unbooked = _erase_all(unbooked_due(now), now, _unbooked(now))
    declined = _erase_all(declined_due(now), now, _declined(now))
    with unit_of_work() as session:
        bodies = session.execute(sa.update(OutboxMessage).where(
            OutboxMessage.status.in_((SENT, FAILED)), OutboxMessage.body_purged_at.is_(None),
            OutboxMessage.created_at <= now - timedelta(days=cfg["RETENTION_MAIL_DAYS"]))
            .values(raw=b"", body_purged_at=now)
            .execution_options(synchronize_session=False)).rowcount
        # A couple's partner whose answers stayed theirs when the first partner's intake was
        # erased: erased in turn at their own time, once nothing of theirs waits for a call.
        session.execute(sa.update(Partner).where(
            Partner.intake_id.in_(sa.select(Intake.id).where(Intake.purged_at.is_not(None))),
            Partner.email != "",
            Partner.invited_at <= now - timedelta(days=cfg["RETENTION_UNBOOKED_DAYS"]),
            ~sa.and_(Partner.status.in_((FLAGGED, EXPIRED, BOUNCED)),
                     Partner.acknowledged_at.is_(None)))
            .values(**PARTNER_ERASED).execution_options(synchronize_session=False))
        # Emails of erased intakes that were still to be sent when they were erased.
        purged = sa.select(Intake.id).where(Intake.purged_at.is_not(None))
        session.execute(sa.update(OutboxMessage).where(
            OutboxMessage.status.in_((SENT, FAILED)), OutboxMessage.recipient != "",
            sa.or_(OutboxMessage.intake_id.in_(purged), OutboxMessage.appointment_id.in_(
                sa.select(Appointment.id).where(Appointment.intake_id.in_(purged)))))
            .values(raw=b"", recipient="", subject="", body_purged_at=now)
            .execution_options(synchronize_session=False))
        old = session.execute(sa.delete(AuditEvent).where(
            AuditEvent.at < now - timedelta(days=round(365.25 * cfg["RETENTION_AUDIT_YEARS"])))
            .execution_options(synchronize_session=False)).rowcount
        done = Purged(unbooked, declined, bodies, _mail_files(now), old)
        if done:
            audit.record(session, "purge", None, detail=str(done))
    return done


def checkpoint() -> bool:
    """Move what was erased out of SQLite's write-ahead log into the file, where it was
    overwritten; return False when a reader held it back (try again later). PostgreSQL keeps
    erased values in dead row versions until (auto)vacuum, and in its WAL archives and backups
    for as long as the practice keeps them."""
    if db.engine.dialect.name != "sqlite":
        return True
    db.session.rollback()  # this session's own read ends first
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        busy = cursor.fetchone()[0]
    finally:
        raw.close()
    return busy == 0


def mark_due() -> None:
    """Make the next worker pass run the purge again (what was erased is still in the log)."""
    with unit_of_work() as session:
        session.execute(sa.update(WorkerJob).where(WorkerJob.name == JOB)
                        .values(last_ok_at=None))


def due(now: datetime) -> bool:
    """Return True when no purge has run in the last day."""
    last = db.session.scalar(sa.select(WorkerJob.last_ok_at).where(WorkerJob.name == JOB))
    return last is None or last <= now - DAY


def daily(now: datetime | None = None) -> Purged | None:
    """Run the purge when a day has passed since the last one; return what it erased (None
    when it was not due). Two workers at once erase nothing twice."""
    now = now or now_utc()
    if not due(now):
        return None
    done = purge(now)
    if not checkpoint():  # not finished while something was still in the log: again soon
        return done
    try:
        with unit_of_work() as session:
            row = session.get(WorkerJob, JOB) or WorkerJob(name=JOB, failures=0)
            session.add(row)
            row.last_ok_at = row.last_started_at = row.last_finished_at = now
    except IntegrityError:  # the other worker wrote the row first: its time stands
        db.session.rollback()
    return done


def next_run() -> datetime | None:
    """Return when the next purge is due (None before the first)."""
    last = db.session.scalar(sa.select(WorkerJob.last_ok_at).where(WorkerJob.name == JOB))
    return last + DAY if last else None
