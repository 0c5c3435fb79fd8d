"""A couple as a couple: the partner's answers, their place in the consultation, and what
staff see when something needs a call.

The partner's answers are theirs: they are stored here, shown to staff who may read the
couple's intake, and never sent in an email or shown on the first partner's pages. A sign of
risk in them changes nothing the first partner can see: the request simply stays with the
front desk, who call the partner first. A couple's request is always confirmed by the front
desk, so nothing the first partner receives depends on what the partner answered.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from .. import audit, i18n
from ..appointments.models import HELD, Appointment
from ..appointments.services import active_ahead
from ..appointments.services.lifecycle import locked, notify
from ..calendars.invites import REQUEST
from ..choices import PARTNER_RISK_ANSWERS, RISK_ANSWERS
from ..clock import now_utc
from ..database import unit_of_work
from ..errors import UserError
from ..extensions import db
from ..mail.models import FAILED, OutboxMessage
from ..mail.outbox import enqueue
from .invitations import INVITE_KIND
from .models import BOUNCED, EXPIRED, FLAGGED, INVITED, JOINED, UNANSWERED, Partner

ANSWERED = _l("You've already answered: thank you. If anything has changed, please call us.")


class AlreadyAnswered(UserError):
    """The partner's intake was answered before (a second tab, or Back and send again)."""


def signals_risk(safety: str | None, feels_safe: str | None) -> bool:
    """Return True when the partner's answers call for a private call before any joint
    session: risk in the safety question, or not feeling safe with their partner."""
    return safety in RISK_ANSWERS or feels_safe in PARTNER_RISK_ANSWERS


def answer(partner_id: int, answers: dict, now: datetime | None = None) -> Partner:
    """Store the partner's answers and return them, flagged or joined.

    Flagged (risk signalled): the front desk is told only that a couple's booking needs a
    call, and no joint invite goes out until staff decide. Otherwise they join the
    consultation (see `_join`). Either way the first partner hears nothing new: a couple's
    request is confirmed by the front desk, never by the partner's answer.

    A partner who answered before and sends a risky answer now (Back and send again, or later
    from their link) is flagged from then on; anything else sent again raises AlreadyAnswered.
    """
    now = now or now_utc()
    risky = signals_risk(answers.get("safety"), answers.get("feels_safe"))
    with unit_of_work() as session:
        partner = session.scalar(sa.select(Partner).where(Partner.id == partner_id)
                                 .with_for_update())
        if partner is None or (partner.status not in UNANSWERED and not risky):
            raise AlreadyAnswered(ANSWERED)
        if partner.status not in UNANSWERED:  # they thought again: the new answer counts
            partner.safety = answers.get("safety") or partner.safety
            partner.feels_safe = answers.get("feels_safe") or partner.feels_safe
            if partner.status != FLAGGED:
                _flag(session, partner, now, first_answer=False)
            return partner
        for name in ("safety", "feels_safe", "story", "timezone", "name", "email", "phone"):
            value = answers.get(name)
            if value:
                setattr(partner, name, value)
        partner.concerns = list(answers.get("concerns") or [])
        for flag in ("discreet", "consent_contact", "consent_privacy"):
            setattr(partner, flag, bool(answers.get(flag)))
        partner.answered_at = now
        if risky:
            _flag(session, partner, now, first_answer=True)
        else:
            partner.status = JOINED
            _join(session, partner, now)
    return partner


def _flag(session, partner: Partner, now: datetime, *, first_answer: bool) -> None:
    """Mark the partner as needing a private call before any joint session, and tell the front
    desk only that a couple's booking needs a call. The request waits for the front desk as
    every couple's does, and the partner is on no invite from now on.

    On a first answer the couple's consultation takes a new SEQUENCE, as it does when a partner
    joins, but nothing is sent: the first partner's calendar and later invites read the same
    whatever the partner answered.
    """
    if first_answer:
        for appointment_id in active_ahead(partner.intake_id, now):
            locked(session, appointment_id).sequence += 1
    partner.status = FLAGGED
    partner.acknowledged_at = partner.acknowledged_by = None  # a new call to make
    cfg = current_app.config
    enqueue(session, "staff_couple_call", "Practice team", cfg["STAFF_EMAIL"],
            {"arrived_at": now, "zone": cfg["PRACTICE_TIMEZONE"], "link": cfg["BASE_URL"] + "/"},
            kind="couple_call", intake_id=partner.intake_id)


def _join(session, partner: Partner, now: datetime) -> None:
    """Put the partner on the consultation the couple holds: their own invite (same UID, a
    new SEQUENCE, them as its attendee, in their zone) and manage link; the therapist's copy
    names both. The request still waits for the front desk; the first partner hears nothing."""
    partner.joined_at = now
    for appointment_id in active_ahead(partner.intake_id, now):
        appointment = locked(session, appointment_id)
        appointment.sequence += 1
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
    """Follow up couples whose partner's last day to answer has come; return how many.

    A partner whose email could not be delivered is marked bounced at once, one who has not
    answered by their last day expired: both for the front desk's dashboard (a late answer is
    still welcome). From the partner's last day, a first partner whose request still waits for
    the front desk is told, once, only that the practice will be in touch: by the same rule and
    in the same words whether their partner did not answer, answered, or needs a call.
    """
    now = now or now_utc()
    # Failed invitations are few, and read by the outbox's (status, ...) index.
    failed = sa.select(OutboxMessage.intake_id).where(OutboxMessage.status == FAILED,
                                                      OutboxMessage.kind == INVITE_KIND)
    due = db.session.scalars(sa.select(Partner.id).where(sa.or_(
        sa.and_(Partner.status == INVITED,
                sa.or_(Partner.answer_by <= now, Partner.intake_id.in_(failed))),
        sa.and_(Partner.first_told_at.is_(None), Partner.answer_by <= now,
                _waiting(Partner.intake_id, now))))).all()
    done = 0
    for partner_id in due:
        with unit_of_work() as session:
            partner = session.scalar(sa.select(Partner).where(Partner.id == partner_id)
                                     .with_for_update())
            changed = False
            if partner.status == INVITED:
                if partner.intake_id in set(session.scalars(failed)):
                    partner.status, changed = BOUNCED, True
                elif partner.answer_by <= now:
                    partner.status, changed = EXPIRED, True
            if (partner.first_told_at is None and partner.answer_by <= now
                    and session.scalar(sa.select(_waiting(partner.intake_id, now)))):
                partner.first_told_at, changed = now, True
                intake = partner.intake
                enqueue(session, "partner_pending_client", intake.name, intake.email,
                        {"first_name": intake.first_name}, kind="partner_pending",
                        intake_id=intake.id, language=i18n.for_intake(intake))
            done += changed
    return done


def _waiting(intake_id, now: datetime):
    """Return the condition that the intake holds a request still waiting for the front desk
    (`intake_id` a value or a column)."""
    return sa.exists().where(Appointment.intake_id == intake_id, Appointment.status == HELD,
                             Appointment.starts_at > now)


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
