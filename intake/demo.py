"""The demo practice: seven therapists across modalities, zones, languages and settings."""

from __future__ import annotations

from datetime import datetime, time

import sqlalchemy as sa

from .choices import CFT, COUPLES, EMDR, IN_PERSON, TELEHEALTH
from .database import unit_of_work
from .extensions import db
from .intakes.models import Intake
from .scheduling.models import WeeklyHours
from .staff.accounts import create_user
from .staff.models import User
from .therapists.models import Therapist

COUPLES_CONCERNS = ["disconnection", "conflict", "defensiveness", "withdrawal", "intimacy",
                    "repair", "attachment"]
TRAUMA_CONCERNS = ["trauma", "ptsd"]
CFT_CONCERNS = ["trauma", "ptsd", "shame", "self_criticism", "attachment"]

WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}

THERAPISTS = [
    dict(slug="maya-chen", name="Maya Chen", credentials="LMFT", pronouns="she/her",
         bio="Maya helps couples slow down, listen differently and find their way back to "
             "each other when conflict has taken over.",
         timezone="America/New_York", modalities=[COUPLES, CFT],
         concerns=COUPLES_CONCERNS + ["shame"], languages=["en"],
         formats=[TELEHEALTH, IN_PERSON], auto_confirm=True, buffer_minutes=10,
         consultation_minutes=30, min_notice_hours=24, horizon_days=28,
         hours={"mon": ["09:00-12:00", "13:00-17:00"], "tue": ["09:00-12:00"],
                "thu": ["13:00-18:00"]}),
    dict(slug="daniel-okafor", name="Daniel Okafor", credentials="LCSW", pronouns="he/him",
         bio="Daniel is EMDR-trained and works gently with people carrying the weight of "
             "difficult experiences.",
         timezone="America/Chicago", modalities=[EMDR], concerns=TRAUMA_CONCERNS,
         languages=["en", "fr"], formats=[TELEHEALTH], auto_confirm=False, buffer_minutes=15,
         consultation_minutes=45, min_notice_hours=48, horizon_days=35,
         hours={d: ["12:00-19:00"] for d in ("mon", "tue", "wed", "thu", "fri")}),
    dict(slug="lucia-herrera", name="Lucía Herrera", credentials="PsyD", pronouns="she/her",
         bio="Lucía offers compassion-focused therapy and EMDR, in Spanish and English, for "
             "people who are hard on themselves after hard times.",
         timezone="America/New_York", modalities=[CFT, EMDR], concerns=CFT_CONCERNS,
         languages=["es", "en"], formats=[TELEHEALTH, IN_PERSON], auto_confirm=True,
         buffer_minutes=10, consultation_minutes=50, min_notice_hours=24, horizon_days=28,
         hours={"tue": ["10:00-14:00"], "wed": ["10:00-14:00", "17:00-20:00"],
                "fri": ["10:00-14:00"], "sat": ["10:00-13:00"]}),
    dict(slug="sam-whitaker", name="Sam Whitaker", credentials="LPC", pronouns="they/them",
         bio="Sam works with couples of every shape on communication, repair and the patterns "
             "that keep them stuck.",
         timezone="America/Los_Angeles", modalities=[COUPLES], concerns=COUPLES_CONCERNS,
         languages=["en"], formats=[TELEHEALTH], auto_confirm=False, buffer_minutes=0,
         consultation_minutes=30, min_notice_hours=12, horizon_days=21,
         hours={"mon": ["15:00-20:00"], "tue": ["15:00-20:00"], "wed": ["15:00-20:00"],
                "thu": ["15:00-20:00"], "sun": ["10:00-13:00"]}),
    dict(slug="priya-raman", name="Priya Raman", credentials="LMFT", pronouns="she/her",
         bio="Priya brings EMDR into couples work when old injuries keep a relationship "
             "from feeling safe.",
         timezone="America/New_York", modalities=[COUPLES, EMDR],
         concerns=["repair", "attachment", "trauma", "conflict", "intimacy"],
         languages=["en", "pt"], formats=[IN_PERSON, TELEHEALTH], auto_confirm=True,
         buffer_minutes=15, consultation_minutes=60, min_notice_hours=24, horizon_days=42,
         hours={"mon": ["08:00-11:00"], "wed": ["08:00-11:00"], "fri": ["08:00-11:00"]}),
    dict(slug="camille-laurent", name="Camille Laurent", credentials="PhD", pronouns="she/her",
         bio="Camille offers compassion-focused therapy online, in French and English, from "
             "Paris.",
         timezone="Europe/Paris", modalities=[CFT], concerns=CFT_CONCERNS,
         languages=["fr", "en"], formats=[TELEHEALTH], auto_confirm=False, buffer_minutes=10,
         consultation_minutes=30, min_notice_hours=24, horizon_days=28,
         hours={d: ["14:00-19:00"] for d in ("mon", "tue", "wed", "thu", "fri")}),
    dict(slug="joao-silva", name="João Silva", credentials="LCSW", pronouns="he/him",
         bio="João works with trauma using EMDR. His caseload is full for now.",
         timezone="America/Sao_Paulo", modalities=[EMDR, CFT], concerns=TRAUMA_CONCERNS,
         languages=["pt", "es", "en"], formats=[TELEHEALTH], auto_confirm=False,
         accepting_new_clients=False, buffer_minutes=10, consultation_minutes=30,
         min_notice_hours=24, horizon_days=28,
         hours={"tue": ["09:00-13:00"], "thu": ["09:00-13:00"]}),
]


def _hours(spec: dict[str, list[str]]) -> list[WeeklyHours]:
    """Return weekly-hours rows from {"mon": ["09:00-12:00", ...]}."""
    rows = []
    for day, ranges in spec.items():
        for text in ranges:
            start, end = text.split("-")
            rows.append(WeeklyHours(weekday=WEEKDAYS[day], starts=time.fromisoformat(start),
                                    ends=time.fromisoformat(end)))
    return rows


DEMO_PASSWORD = "demo-password-123"  # noqa: S105  (the demo practice only; never in production)
DEMO_ACCOUNTS = [
    ("admin@practice.example", "Avery Admin", "admin", None),
    ("frontdesk@practice.example", "Frankie Desk", "front_desk", None),
    ("maya.chen@practice.example", "Maya Chen", "therapist", "maya-chen"),
    ("sam.whitaker@practice.example", "Sam Whitaker", "therapist", "sam-whitaker"),
]


def real_data() -> str:
    """Return what the database holds that is not the demo's ("3 intakes, 1 account"), or ""
    when it holds nothing else."""
    demo_emails = [email for email, *_ in DEMO_ACCOUNTS]
    intakes = db.session.scalar(sa.select(sa.func.count()).select_from(Intake))
    accounts = db.session.scalar(sa.select(sa.func.count()).select_from(User).where(
        User.email.not_in(demo_emails)))
    found = [f"{n} {word}{'' if n == 1 else 's'}"
             for n, word in ((intakes, "intake"), (accounts, "account")) if n]
    return ", ".join(found)


def load_demo_accounts() -> int:
    """Add the demo staff accounts that are missing (password DEMO_PASSWORD); return how many."""
    added = 0
    for email, name, role, slug in DEMO_ACCOUNTS:
        if db.session.scalar(sa.select(User.id).where(User.email == email)):
            continue
        therapist_id = db.session.scalar(sa.select(Therapist.id).where(Therapist.slug == slug))
        create_user(email, DEMO_PASSWORD, role, name=name, therapist_id=therapist_id)
        added += 1
    return added


def load_demo(now: datetime) -> int:
    """Add the demo therapists that are missing; return how many were added.

    Their weekly hours recur, so whatever today's date, the coming two weeks have open times.
    """
    added = 0
    with unit_of_work() as session:
        existing = set(session.scalars(sa.select(Therapist.slug)))
        for spec in THERAPISTS:
            if spec["slug"] in existing:
                continue
            values = dict(spec)
            hours = values.pop("hours")
            online = TELEHEALTH in spec["formats"]
            therapist = Therapist(email=f"{spec['slug'].replace('-', '.')}@practice.example",
                                  office="22 Harbor Street, Suite 4, Portland, ME" if IN_PERSON in
                                  spec["formats"] else "",
                                  video_room=f"https://video.practice.example/room/{spec['slug']}"
                                  if online else "", **values)
            therapist.hours = _hours(hours)
            session.add(therapist)
            added += 1
    return added
