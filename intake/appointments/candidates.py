"""Turning stored therapists and intakes into the plain values the matcher scores."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from ..clock import now_utc
from ..extensions import db
from ..intakes.models import Intake
from ..matching import Candidate, Match, Wish, rank
from ..scheduling.services import hours_by_therapist, hours_for
from ..scheduling.slots import HoursRange
from ..therapists.models import Therapist
from .models import ACTIVE_STATUSES, Appointment


def candidate_for(therapist: Therapist, load: int = 0,
                  hours: tuple[HoursRange, ...] | None = None) -> Candidate:
    """Return the therapist as a matching candidate (`hours`: their weekly hours when already
    read, else they are read now)."""
    return Candidate(
        id=therapist.id,
        modalities=frozenset(therapist.modalities),
        concerns=frozenset(therapist.concerns),
        languages=frozenset(therapist.languages),
        formats=frozenset(therapist.formats),
        accepting=therapist.accepting_new_clients,
        timezone=therapist.timezone,
        hours=hours_for(therapist) if hours is None else hours,
        load=load,
    )


def wish_for(intake: Intake) -> Wish:
    """Return what the intake asked for, as the matcher reads it."""
    return Wish(
        modality=intake.modality,
        concerns=frozenset(intake.concerns or ()),
        kind=intake.kind,
        format=intake.format or "either",
        language=intake.language,
        times=frozenset(intake.preferred_times or ()),
        timezone=intake.timezone or "UTC",
    )


def loads(days: int = 14) -> dict[int, int]:
    """Return each therapist's count of active appointments in the coming `days`."""
    now = now_utc()
    rows = db.session.execute(
        sa.select(Appointment.therapist_id, sa.func.count())
        .where(Appointment.status.in_(ACTIVE_STATUSES),
               Appointment.starts_at >= now, Appointment.starts_at < now + timedelta(days=days))
        .group_by(Appointment.therapist_id)
    ).all()
    return dict(rows)


def matches_for(intake: Intake, today: date, limit: int = 3) -> list[tuple[Therapist, Match]]:
    """Return the best-fitting therapists for the intake, with their reasons, best first.

    Three statements whatever the size of the practice: the therapists, their hours, their loads.
    """
    therapists = db.session.scalars(sa.select(Therapist).order_by(Therapist.id)).all()
    hours = hours_by_therapist([t.id for t in therapists])
    counts = loads()
    ranked = rank([candidate_for(t, counts.get(t.id, 0), hours[t.id]) for t in therapists],
                  wish_for(intake), today, limit)
    by_id = {t.id: t for t in therapists}
    return [(by_id[m.therapist_id], m) for m in ranked]
