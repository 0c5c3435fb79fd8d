"""A couple as a couple: the partner's answers, their place in the consultation, and what
staff see when something needs a call.

The partner's answers are theirs: they are stored here, shown to staff who may read the
couple's intake, and never sent in an email or shown on the first partner's pages. A sign of
risk in them changes nothing the first partner can see: the request simply stays with the
front desk, who call the partner first.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from .. import audit
from ..appointments.models import HELD, OPEN, Proposal
from ..appointments.services import active_ahead, has_room
from ..appointments.services.lifecycle import locked, mark_confirmed, notify
from ..calendars.invites import REQUEST
from ..choices import PARTNER_RISK_ANSWERS, RISK_ANSWERS, TELEHEALTH
from ..clock import now_utc
from ..database import unit_of_work
from ..errors import UserError
from ..extensions import db
from ..mail.models import FAILED, OutboxMessage
from ..mail.outbox import enqueue
from .invitations import INVITE_KIND
from .models import BOUNCED, EXPIRED, FLAGGED, INVITED, JOINED, UNANSWERED, Partner

ANSWERED = "You've already answered: thank you. If anything has changed, please call us."


class AlreadyAnswered(UserError):
    """The partner's intake was answered before (a second tab, or Back and send again)."""


def signals_risk(safety: str | None, feels_safe: str | None) -> bool:
    """Return True when the partner's answers call for a private call before any joint
    session: risk in the safety question, or not feeling safe with their partner."""
    return safety in RISK_ANSWERS or feels_safe in PARTNER_RISK_ANSWERS


def answer(partner_id: int, answers: dict, now: datetime | None = None) -> Partner:
    """Store the partner's answers and return them, flagged or joined.

    Flagged (risk signalled): the front desk is told only that a couple's booking needs a
    call, and a request waiting for them stays held until it starts, for staff to decide.
    Otherwise they join the consultation (see `_join`). Raises AlreadyAnswered.
    """
    now = now or now_utc()
    with unit_of_work() as session:
        partner = session.scalar(sa.select(Partner).where(Partner.id == partner_id)
                                 .with_for_update())
        if partner is None or partner.status not in UNANSWERED:
            raise AlreadyAnswered(ANSWERED)
        for name in ("safety", "feels_safe", "story", "timezone", "name", "email", "phone"):
            value = answers.get(name)
            if value:
                setattr(partner, name, value)
        partner.concerns = list(answers.get("concerns") or [])
        for flag in ("discreet", "consent_contact", "consent_privacy"):
            setattr(partner, flag, bool(answers.get(flag)))
        partner.answered_at = now
        if signals_risk(partner.safety, partner.feels_safe):
            partner.status = FLAGGED
            partner.acknowledged_at = partner.acknowledged_by = None  # a new call to make
            for appointment_id in active_ahead(partner.intake_id, now):
                appointment = locked(session, appointment_id)
                if appointment.status == HELD:
                    appointment.hold_expires_at = appointment.starts_at
            cfg = current_app.config
            enqueue(session, "staff_couple_call", "Practice team", cfg["STAFF_EMAIL"],
                    {"arrived_at": now, "zone": cfg["PRACTICE_TIMEZONE"],
                     "link": cfg["BASE_URL"] + "/"},
                    kind="couple_call", intake_id=partner.intake_id)
        else:
            partner.status = JOINED
            _join(session, partner, now)
    return partner


def _join(session, partner: Partner, now: datetime) -> None:
    """Put the partner on the consultation the couple holds: their own invite (same UID, a
    new SEQUENCE, them as its attendee, in their zone) and manage link.

    A request that waited only for them is confirmed now when the therapist confirms at once
    (both get the confirmed invite); otherwise it waits for the front desk as usual. The first
    partner hears nothing else.
    """
    for appointment_id in active_ahead(partner.intake_id, now):
        appointment = locked(session, appointment_id)
        appointment.sequence += 1
        therapist = appointment.therapist
        open_offer = session.scalar(sa.select(sa.func.count()).select_from(Proposal).where(
            Proposal.appointment_id == appointment.id, Proposal.status == OPEN))
        if (appointment.status == HELD and therapist.auto_confirm and not open_offer
                and (appointment.format != TELEHEALTH or has_room(therapist))):
            mark_confirmed(appointment, now)
            session.flush()
            notify(session, appointment, REQUEST, "confirmed_client", "partner_joined_therapist",
                   partner_template="partner_joined")
            continue
        if appointment.status == HELD:
            appointment.hold_expires_at = min(
                now + timedelta(hours=current_app.config["HOLD_HOURS"]), appointment.starts_at)
        session.flush()
        notify(session, appointment, REQUEST, None, "partner_joined_therapist",
               partner_template="partner_joined")


def include(partner_id: int, user_id: int, now: datetime | None = None) -> Partner:
    """Staff decided, after talking with them, that a flagged partner joins the consultation
    (or one who answered late, or by phone); return them."""
    now = now or now_utc()
    with unit_of_work() as session:
        partner = session.scalar(sa.select(Partner).where(Partner.id == partner_id)
                                 .with_for_update())
        if partner is None or partner.status == JOINED:
            return partner
        partner.status = JOINED
        partner.acknowledged_at = partner.acknowledged_at or now
        partner.acknowledged_by = partner.acknowledged_by or user_id
        audit.record(session, "include_partner", user_id, "intake", partner.intake_id)
        _join(session, partner, now)
    return partner


def acknowledge(partner_id: int, user_id: int, now: datetime | None = None) -> Partner:
    """Record that a staff member has taken on a partner who needs a call; return them."""
    now = now or now_utc()
    with unit_of_work() as session:
        partner = session.get(Partner, partner_id)
        if partner is not None and partner.acknowledged_at is None:
            partner.acknowledged_at = now
            partner.acknowledged_by = user_id
            audit.record(session, "acknowledge_partner", user_id, "intake", partner.intake_id)
    return partner


def lapse(now: datetime | None = None) -> int:
    """Mark invited partners whose email could not be delivered (bounced) or who did not
    answer by their last day (expired), for the front desk's dashboard, and tell the first
    partner only that the practice will be in touch; return how many.

    A partner who lapsed may still answer from their link while it works.
    """
    now = now or now_utc()
    # Failed invitations are few, and read by the outbox's (status, ...) index.
    failed = sa.select(OutboxMessage.intake_id).where(OutboxMessage.status == FAILED,
                                                      OutboxMessage.kind == INVITE_KIND)
    due = db.session.scalars(sa.select(Partner.id).where(
        Partner.status == INVITED,
        sa.or_(Partner.answer_by <= now, Partner.intake_id.in_(failed)))).all()
    for partner_id in due:
        with unit_of_work() as session:
            partner = session.scalar(sa.select(Partner).where(Partner.id == partner_id)
                                     .with_for_update())
            if partner.status != INVITED:
                continue
            bounced = partner.intake_id in set(session.scalars(failed))
            partner.status = BOUNCED if bounced else EXPIRED
            partner.first_told_at = now
            intake = partner.intake
            enqueue(session, "partner_pending_client", intake.name, intake.email,
                    {"first_name": intake.first_name}, kind="partner_pending",
                    intake_id=intake.id)
    return len(due)


def needing_a_call() -> list[Partner]:
    """Return flagged partners nobody has taken on yet, oldest answer first."""
    return list(db.session.scalars(sa.select(Partner).where(
        Partner.status == FLAGGED, Partner.acknowledged_at.is_(None))
        .order_by(Partner.answered_at)))


def not_heard_from() -> list[Partner]:
    """Return partners whose email bounced or who did not answer in time, and whom nobody has
    taken on yet, oldest invitation first."""
    return list(db.session.scalars(sa.select(Partner).where(
        Partner.status.in_((EXPIRED, BOUNCED)), Partner.acknowledged_at.is_(None))
        .order_by(Partner.invited_at)))


def partners_of(intake_ids: list[int]) -> dict[int, Partner]:
    """Return the partners invited for the intakes, by intake id (one query)."""
    if not intake_ids:
        return {}
    return {p.intake_id: p for p in db.session.scalars(
        sa.select(Partner).where(Partner.intake_id.in_(set(intake_ids))))}


def partner_for(intake_id: int) -> Partner | None:
    """Return the partner invited for an intake, if any (for the staff page)."""
    return db.session.scalar(sa.select(Partner).where(Partner.intake_id == intake_id))
