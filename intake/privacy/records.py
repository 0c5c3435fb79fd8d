"""A person's own record: everything kept about them, to export on request, or to erase.

Found by email address: the intakes filled with it, and a couple's partner intake given it.
What belongs to someone else (a partner's answers on the first partner's record, another
client's anything) is never in it.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from .. import audit
from ..appointments.models import ACTIVE_STATUSES, CANCELLED, HELD, Appointment
from ..appointments.services.lifecycle import end, locked
from ..audit import AuditEvent
from ..clock import now_utc
from ..couples.models import BOUNCED, EXPIRED, FLAGGED, Partner
from ..database import unit_of_work
from ..errors import UserError
from ..extensions import db
from ..intakes.models import Intake
from ..mail.models import OutboxMessage
from ..waitlist.models import WaitlistEntry
from .retention import PARTNER_ERASED, checkpoint, erase, mark_due

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


def export(email: str, *, exported_by: int | None = None, form: str = "") -> dict:
    """Return everything kept about the person with `email`, as plain values: their intakes
    (answers and consents, with when they were given), their consultations with every change
    recorded, the emails sent to them (when, what, how it went; never another's), their
    places on the waitlist, and any partner intake of theirs.

    With `exported_by` (a staff user), the export leaves the practice as `form`: each intake
    in it is recorded in the audit trail (its anonymous record id, never the address).
    """
    if exported_by is not None:
        with unit_of_work() as session:
            for intake in intakes_of(email) or [None]:
                audit.record(session, "export_record", exported_by, "intake",
                             intake.id if intake else None, detail=f"as {form}")
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


UNSETTLED = ("An urgent item or a request for contact for this person waits for someone to "
             "take it on. Acknowledge it on the dashboard first, then erase.")


class NotYet(UserError):
    """The record cannot be erased yet: something about the person waits for staff."""


def erase_person(email: str, user_id: int, now: datetime | None = None) -> dict[str, int]:
    """Erase the person with `email` at their request; return what was done, by kind.

    Each intake is locked, its consultations still to come are cancelled (they and the
    therapist get METHOD:CANCEL by email; theirs says it was erased, with no link to choose
    again) and it is erased as retention erases, all in one transaction, so nothing can be
    booked in between. A couple's partner's own answers stay theirs: they go only when the
    partner asks (their address finds their partner intake). The audit trail of who did what
    stays whole; the erasure is recorded in it with counts, never whose. Raises NotYet while an
    urgent item or contact request of theirs waits for someone to take it on.
    """
    now = now or now_utc()
    intakes = intakes_of(email)
    partners_ = partner_intakes_of(email)
    if (any((i.urgent or i.contact_requested_at) and i.acknowledged_at is None for i in intakes)
            or any(p.status in (FLAGGED, EXPIRED, BOUNCED) and p.acknowledged_at is None
                   for p in partners_)):
        raise NotYet(UNSETTLED)
    cancelled = erased = 0
    for intake in intakes:
        with unit_of_work() as session:
            row = session.scalar(sa.select(Intake).where(
                Intake.id == intake.id, Intake.purged_at.is_(None))
                .with_for_update(key_share=True))
            if row is None:
                continue
            # Every request still held (even one past its start, which would lapse and write
            # to nobody) and every consultation to come.
            ahead = session.scalars(sa.select(Appointment.id).where(
                Appointment.intake_id == row.id, Appointment.status.in_(ACTIVE_STATUSES),
                sa.or_(Appointment.status == HELD, Appointment.starts_at > now))).all()
            for appointment_id in ahead:
                end(session, locked(session, appointment_id), CANCELLED, now, "erased_client",
                    action="cancel", by_user_id=user_id, detail="erased at their request",
                    partner_template="cancelled_client")
                cancelled += 1
            session.flush()
            erase(session, row, now, with_partner=False)
            erased += 1
    partners = 0
    for found in partners_:
        with unit_of_work() as session:
            # Their couple's intake first, then their own row: the order booking takes.
            session.scalar(sa.select(Intake.id).where(Intake.id == found.intake_id)
                           .with_for_update(key_share=True))
            partner = session.scalar(sa.select(Partner).where(Partner.id == found.id)
                                     .with_for_update())
            for name, empty in PARTNER_ERASED.items():
                setattr(partner, name, empty)
            session.execute(sa.update(Intake).where(Intake.id == partner.intake_id)
                            .values(partner_email="", partner_name=""))
            partners += 1
    with unit_of_work() as session:
        done = {"cancelled": cancelled, "intakes": erased, "partner_intakes": partners}
        audit.record(session, "erase_record", user_id,
                     detail=f"{erased} intakes, {partners} partner intakes, "
                            f"{cancelled} consultations cancelled")
    if not checkpoint():  # still in SQLite's log: the worker's next pass moves it out
        mark_due()
    return done
