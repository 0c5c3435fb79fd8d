"""A person's own record: everything kept about them, to export on request, or to erase.

Found by email address: the intakes filled with it, and a couple's partner intake given it.
What belongs to someone else (a partner's answers on the first partner's record, another
client's anything) is never in it.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from .. import audit
from ..appointments import services as appointments
from ..appointments.models import ACTIVE_STATUSES, Appointment
from ..audit import AuditEvent
from ..clock import now_utc
from ..couples.models import Partner
from ..database import unit_of_work
from ..extensions import db
from ..intakes.models import Intake
from ..mail.models import OutboxMessage
from ..waitlist.models import WaitlistEntry
from .retention import PARTNER_ERASED, erase

INTAKE_FIELDS = ("created_at", "safety", "urgent", "concerns", "story", "modality", "kind",
                 "partner_name", "partner_email", "partner_agreed", "format", "language",
                 "preferred_times", "timezone", "name", "email", "phone", "discreet",
                 "consent_contact", "consent_privacy", "contact_requested_at")
PARTNER_FIELDS = ("invited_at", "answered_at", "status", "name", "email", "phone", "timezone",
                  "safety", "feels_safe", "concerns", "story", "discreet", "consent_contact",
                  "consent_privacy")


def _address(email: str) -> str:
    return (email or "").strip().lower()


def intakes_of(email: str) -> list[Intake]:
    """Return the intakes filled with `email` that still hold their answers, oldest first."""
    return list(db.session.scalars(sa.select(Intake).where(
        sa.func.lower(Intake.email) == _address(email), Intake.purged_at.is_(None))
        .order_by(Intake.created_at)))


def partner_intakes_of(email: str) -> list[Partner]:
    """Return the partner intakes (of couples) given `email`."""
    return list(db.session.scalars(sa.select(Partner).where(
        sa.func.lower(Partner.email) == _address(email)).order_by(Partner.invited_at)))


def _value(value):
    return value.isoformat() if isinstance(value, datetime) else value


def export(email: str) -> dict:
    """Return everything kept about the person with `email`, as plain values: their intakes
    (answers and consents, with when they were given), their consultations with every change
    recorded, the emails sent to them (when, what, how it went; never another's), their
    places on the waitlist, and any partner intake of theirs."""
    record: dict = {"email": _address(email), "intakes": [], "partner_intakes": []}
    for intake in intakes_of(email):
        appointments_ = list(db.session.scalars(sa.select(Appointment).where(
            Appointment.intake_id == intake.id).order_by(Appointment.starts_at)))
        ids = [a.id for a in appointments_]
        changes = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.record_type == "appointment", AuditEvent.record_id.in_(ids))
            .order_by(AuditEvent.at)).all() if ids else []
        emails = db.session.scalars(sa.select(OutboxMessage).where(
            sa.or_(OutboxMessage.intake_id == intake.id,
                   OutboxMessage.appointment_id.in_(ids) if ids else sa.false()),
            sa.func.lower(OutboxMessage.recipient) == _address(email))
            .order_by(OutboxMessage.id)).all()
        waiting = db.session.scalars(sa.select(WaitlistEntry).where(
            WaitlistEntry.intake_id == intake.id).order_by(WaitlistEntry.created_at)).all()
        record["intakes"].append({
            **{name: _value(getattr(intake, name)) for name in INTAKE_FIELDS},
            "consents": {"contact": intake.consent_contact, "privacy": intake.consent_privacy,
                         "given_at": _value(intake.created_at)},
            "appointments": [{
                "therapist": a.therapist.name, "starts_at": _value(a.starts_at),
                "ends_at": _value(a.ends_at), "status": a.status, "format": a.format,
                "booked_at": _value(a.created_at), "confirmed_at": _value(a.confirmed_at),
                "ended_at": _value(a.ended_at),
                "changes": [{"at": _value(e.at), "what": audit.ACTIONS.get(e.action, e.action),
                             "detail": e.detail} for e in changes if e.record_id == a.id],
            } for a in appointments_],
            "emails": [{"at": _value(m.sent_at or m.created_at), "subject": m.subject,
                        "kind": m.kind, "outcome": m.status} for m in emails],
            "waitlist": [{"since": _value(w.created_at), "until": _value(w.until),
                          "status": w.status, "days": w.days, "parts": w.parts}
                         for w in waiting],
        })
    for partner in partner_intakes_of(email):
        record["partner_intakes"].append(
            {name: _value(getattr(partner, name)) for name in PARTNER_FIELDS})
    return record


def erase_person(email: str, user_id: int, now: datetime | None = None) -> dict[str, int]:
    """Erase the person with `email` at their request; return what was done, by kind.

    Their consultations still to come are cancelled first, through the lifecycle (both they and
    the therapist get METHOD:CANCEL by email); then each intake is erased as retention erases
    (an anonymous shell stays, the therapist's feed shows no name), and any partner intake of
    theirs too. The audit trail of who did what stays whole; the erasure is recorded in it with
    counts, never whose.
    """
    now = now or now_utc()
    intakes = intakes_of(email)
    cancelled = 0
    for intake in intakes:
        ahead = db.session.scalars(sa.select(Appointment.id).where(
            Appointment.intake_id == intake.id, Appointment.status.in_(ACTIVE_STATUSES),
            Appointment.starts_at > now)).all()
        for appointment_id in ahead:
            appointments.cancel(appointment_id, user_id, now)
            cancelled += 1
    erased = 0
    for intake in intakes:
        with unit_of_work() as session:
            row = session.scalar(sa.select(Intake).where(Intake.id == intake.id)
                                 .with_for_update())
            if row.purged_at is None:
                erase(session, row, now, keep_queued=True)
                erased += 1
    partners = 0
    with unit_of_work() as session:
        for partner in session.scalars(sa.select(Partner).where(
                sa.func.lower(Partner.email) == _address(email))):
            for name, empty in PARTNER_ERASED.items():
                setattr(partner, name, empty)
            partners += 1
        done = {"cancelled": cancelled, "intakes": erased, "partner_intakes": partners}
        audit.record(session, "erase_record", user_id,
                     detail=f"{erased} intakes, {partners} partner intakes, "
                            f"{cancelled} consultations cancelled")
    return done
