"""Inviting a couple's partner: once, when the first partner books, by an email of their own.

Kept apart from the couple's other rules so that booking can call it without depending on
them (they depend on booking).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from .. import i18n, links
from ..intakes.models import Intake
from ..mail.outbox import enqueue
from .models import INVITED, JOINED, Partner

INVITE_KIND = "partner_invite"


def partner_of(session, intake_id: int, *, lock: bool = False) -> Partner | None:
    """Return the intake's partner, if one was invited (row-locked with `lock`)."""
    query = sa.select(Partner).where(Partner.intake_id == intake_id)
    return session.scalar(query.with_for_update() if lock else query)


def joined_partner(session, intake_id: int) -> Partner | None:
    """Return the intake's partner once they have joined the consultation (they then get
    their own copy of every email and invite about it), else None."""
    return session.scalar(sa.select(Partner).where(Partner.intake_id == intake_id,
                                                   Partner.status == JOINED))


def for_booking(session, intake: Intake, starts_at: datetime, now: datetime) -> Partner | None:
    """Return the partner of a couple's intake as a booking is made, inviting them first when
    this is the first booking and their partner said they agreed to be contacted; None for
    anyone else.

    The invitation is an email of its own, in the booking's transaction: neutral words from the
    practice and a signed link to their own short intake. It says nothing of what the first
    partner wrote.
    """
    if intake.kind != "couple":  # no look-up for the individual bookings that are most
        return None
    partner = partner_of(session, intake.id, lock=True)
    if partner is not None:  # invited before (even if their address was erased since)
        return partner
    if not intake.partner_agreed or not intake.partner_email:
        return None
    cfg = current_app.config
    days = cfg["PARTNER_INTAKE_DAYS"]
    # PARTNER_INTAKE_DAYS to answer, or less when the consultation is sooner: the front desk
    # hears in time to call before it.
    answer_by = max(now, min(now + timedelta(days=days),
                             starts_at - timedelta(hours=cfg["HOLD_HOURS"])))
    partner = Partner(intake_id=intake.id, status=INVITED, invited_at=now,
                      answer_by=answer_by, name=intake.partner_name,
                      email=intake.partner_email, timezone=intake.timezone)
    session.add(partner)
    session.flush()
    enqueue(session, "partner_invite", partner.name, partner.email,
            {"first_name": partner.first_name, "other_name": intake.first_name,
             "link": links.partner_intake_url(partner.id), "days": days},
            kind=INVITE_KIND, intake_id=intake.id, language=i18n.for_intake(intake))
    return partner


def waits_for(partner: Partner | None) -> bool:
    """Return True when a booking must wait for the front desk because it is a couple's whose
    partner was invited: the desk confirms it, whatever the therapist's setting, so that nothing
    the first partner receives depends on what the partner answered (or whether they need a
    call first)."""
    return partner is not None


def hold_until(partner: Partner, starts_at: datetime, now: datetime) -> datetime:
    """Return when a request held for the partner lapses if nobody confirms it: the front
    desk's usual hours after the partner's last day to answer (before the consultation, and
    never sooner than usual), the same whatever the partner answered."""
    hours = timedelta(hours=current_app.config["HOLD_HOURS"])
    return min(max(partner.answer_by, now) + hours, starts_at)
