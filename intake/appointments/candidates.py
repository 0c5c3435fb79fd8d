"""Turning stored therapists and intakes into the plain values the matcher scores."""

from __future__ import annotations

import json
from datetime import date, timedelta
from functools import lru_cache
from types import SimpleNamespace

import sqlalchemy as sa

from ..clock import now_utc
from ..database import read
from ..extensions import db
from ..intakes.models import Intake
from ..matching import Candidate, Match, Wish, rank
from ..scheduling.services import hours_at_versions, hours_for
from ..scheduling.slots import HoursRange
from ..therapists.models import Therapist
from .models import Appointment, holds_its_time


def candidate_for(therapist: Therapist, load: int = 0,
                  hours: tuple[HoursRange, ...] | None = None) -> Candidate:
    """Return the therapist (or a row of the same columns) as a matching candidate (`hours`:
    their weekly hours when already read, else they are read now)."""
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


_LOADS = (
    sa.select(Appointment.therapist_id, sa.func.count())
    .where(holds_its_time(Appointment.status),
           Appointment.starts_at >= sa.bindparam("start"),
           Appointment.starts_at < sa.bindparam("end"))
    .group_by(Appointment.therapist_id)
)
# What matching reads of every therapist; the few matched are then loaded whole.
_LISTS = ("modalities", "concerns", "languages", "formats")
# The lists come as stored text, so a row can key `_candidate`'s memory.
_ROSTER = sa.select(Therapist.id, *[sa.cast(getattr(Therapist, name), sa.Text).label(name)
                                    for name in _LISTS],
                    Therapist.accepting_new_clients, Therapist.timezone,
                    Therapist.schedule_version).order_by(Therapist.id)
_BY_IDS = sa.select(Therapist).where(Therapist.id.in_(sa.bindparam("ids", expanding=True)))


@lru_cache(maxsize=4096)
def _candidate(row: sa.Row, load: int, hours: tuple[HoursRange, ...]) -> Candidate:
    """Return a roster row as a candidate; remembered by its values (the lists as stored
    text), which rarely change."""
    values = {**row._mapping, **{name: json.loads(row._mapping[name]) for name in _LISTS}}
    return candidate_for(SimpleNamespace(**values), load, hours)


def loads(days: int = 14) -> dict[int, int]:
    """Return each therapist's count of active appointments in the coming `days`."""
    now = now_utc()
    return dict(read(
        _LOADS, {"start": now, "end": now + timedelta(days=days)}).all())


def matches_for(intake: Intake, today: date, limit: int = 3) -> list[tuple[Therapist, Match]]:
    """Return the best-fitting therapists for the intake, with their reasons, best first.

    Four statements whatever the size of the practice: what matching needs of every
    therapist, their hours (only those changed since they were last read), their loads, and
    the matched therapists themselves.
    """
    roster = read(_ROSTER).all()
    hours = hours_at_versions({row.id: row.schedule_version for row in roster})
    counts = loads()
    ranked = rank([_candidate(row, counts.get(row.id, 0), hours[row.id]) for row in roster],
                  wish_for(intake), today, limit)
    if not ranked:
        return []
    chosen = {t.id: t for t in db.session.scalars(
        _BY_IDS, {"ids": [m.therapist_id for m in ranked]})}
    return [(chosen[m.therapist_id], m) for m in ranked]
