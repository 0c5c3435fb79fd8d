"""A group practice's scale, seeded into an empty, migrated database: the demo's seven
therapists and as many more as asked (same kinds of hours, zones and settings), years of past
appointments, some upcoming ones, and finished intakes to book from."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from intake.appointments.models import Appointment
from intake.calendars.feeds import rotate
from intake.demo import THERAPISTS, _hours, load_demo
from intake.extensions import db
from intake.intakes.models import Intake
from intake.intakes.services import submit
from intake.therapists.models import Therapist

ANSWERS = {
    "safety": "no", "concerns": ["conflict"], "story": "", "modality": "couples",
    "kind": "couple", "partner_name": "R", "partner_agreed": False, "partner_email": "",
    "format": "telehealth", "language": "en", "times": ["evening"], "timezone": "Europe/London",
    "name": "Bench Person", "email": "bench@client.example", "phone": "", "discreet": False,
    "consent_contact": True, "consent_privacy": True,
}
CHUNK = 5_000

BENCH_SECRET = "bench-" + "b" * 32  # long enough to start as production would


@dataclass(frozen=True)
class Seeded:
    """What a benchmark needs to reach the seeded practice."""

    references: list[str]  # finished intakes, the first one the one the pages are read for
    feed_token: str  # Maya Chen's subscription feed


def add_therapists(total: int) -> None:
    """Add therapists (copies of the demo's kinds under new names) until there are `total`."""
    have = db.session.scalar(sa.select(sa.func.count()).select_from(Therapist))
    for n, spec in zip(range(have + 1, total + 1), itertools.cycle(THERAPISTS), strict=False):
        values = dict(spec)
        hours = values.pop("hours")
        values.update(slug=f"{spec['slug']}-{n}", name=f"{spec['name']} {n}",
                      email=f"therapist{n}@practice.example")
        therapist = Therapist(**values)
        therapist.hours = _hours(hours)
        db.session.add(therapist)
    db.session.commit()


def add_history(intake_id: int, count: int, now: datetime, first: int = 0) -> None:
    """Add past appointments number `first` to `first + count`, taking turns among the
    therapists on a grid that fills ten years up to fifty days ago at 100,000 (so a later call
    adds to an earlier one without overlapping it, and none is recent enough to be shown)."""
    ids = list(db.session.scalars(sa.select(Therapist.id).order_by(Therapist.id)))
    start = now - timedelta(days=3650)
    step = timedelta(days=3600) / 100_000
    for offset in range(0, count, CHUNK):
        rows = []
        for i in range(first + offset, first + min(offset + CHUNK, count)):
            at = start + step * i
            rows.append(dict(
                therapist_id=ids[i % len(ids)], intake_id=intake_id, uid=f"h{i}@bench",
                starts_at=at, ends_at=at + timedelta(minutes=30),
                status="cancelled" if i % 10 == 0 else "confirmed", format="telehealth",
                client_timezone="UTC", sequence=0, idempotency_key=f"bench-{i}",
                link_version=0, decline_message="", change_request="", created_at=at,
                updated_at=at))
        db.session.execute(sa.insert(Appointment), rows)
    db.session.commit()


def seed(now: datetime, therapists: int = 50, history: int = 100_000,
         intakes: int = 1) -> Seeded:
    """Seed the practice at `now`; return the intakes' references and a feed token."""
    load_demo(now)
    add_therapists(therapists)
    references = [submit(ANSWERS, "no").reference for _ in range(intakes)]
    intake_id = db.session.scalar(sa.select(Intake.id).where(Intake.reference == references[0]))
    add_history(intake_id, history, now)
    maya = db.session.scalar(sa.select(Therapist.id).where(Therapist.slug == "maya-chen"))
    return Seeded(references, rotate(maya, None))
