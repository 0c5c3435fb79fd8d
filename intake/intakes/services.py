"""Recording intakes: the rules for what is stored and who is told."""

from __future__ import annotations

from flask import current_app

from .. import audit
from ..choices import RISK_ANSWERS
from ..clock import now_utc
from ..database import unit_of_work
from ..mail.outbox import enqueue
from .models import Intake

INTAKE_FIELDS = (
    "concerns", "story", "modality", "kind", "partner_name", "partner_agreed", "partner_email",
    "format", "language", "times", "timezone", "name", "email", "phone", "discreet",
    "consent_contact", "consent_privacy",
)


FLAGS = ("partner_agreed", "discreet", "consent_contact", "consent_privacy")


def signals_risk(answer: str | None) -> bool:
    """Return True when the safety answer means self-booking must stop."""
    return answer in RISK_ANSWERS


def _notify_staff(session, intake: Intake, kind: str, template: str) -> None:
    """Queue a note to the practice's staff mailbox that says only that something arrived."""
    cfg = current_app.config
    enqueue(session, template, "Practice team", cfg["STAFF_EMAIL"],
            {"arrived_at": intake.created_at, "zone": cfg["PRACTICE_TIMEZONE"],
             "link": cfg["BASE_URL"] + "/"},
            kind=kind, intake_id=intake.id)


def record_urgent(safety: str, timezone: str) -> Intake:
    """Store an intake flagged urgent from the safety answer alone and alert staff.

    Returns the new intake. The alert says only that an urgent intake arrived.
    """
    with unit_of_work() as session:
        intake = Intake(safety=safety, urgent=True, timezone=timezone or "")
        session.add(intake)
        session.flush()
        _notify_staff(session, intake, "urgent_intake", "staff_urgent")
    return intake


def add_urgent_contact(intake: Intake, name: str, phone: str) -> None:
    """Keep the name and phone someone in crisis left so staff can call them back."""
    with unit_of_work() as session:
        row = session.get(Intake, intake.id)
        row.name, row.phone = name, phone
        row.consent_contact = True


def submit(data: dict, safety: str) -> Intake:
    """Store a finished intake and return it. `data` holds the form's values by field name."""
    values = {key: data.get(key) for key in INTAKE_FIELDS}
    values["preferred_times"] = list(values.pop("times") or [])
    values["concerns"] = list(values["concerns"] or [])
    if not values.get("partner_agreed"):
        values["partner_email"] = ""
    values = {k: (bool(v) if k in FLAGS else ("" if v is None else v))
              for k, v in values.items()}
    with unit_of_work() as session:
        intake = Intake(safety=safety, urgent=signals_risk(safety), **values)
        session.add(intake)
    return intake


def request_contact(intake: Intake) -> None:
    """Record that nobody fitted and the person asked to be contacted; tell staff (no details)."""
    with unit_of_work() as session:
        row = session.get(Intake, intake.id)
        if row.contact_requested_at is None:
            row.contact_requested_at = now_utc()
            _notify_staff(session, row, "contact_request", "staff_contact_request")



def acknowledge(intake_id: int, user_id: int) -> Intake:
    """Record that a staff member has taken on an urgent intake or contact request."""
    with unit_of_work() as session:
        intake = session.get(Intake, intake_id)
        if intake.acknowledged_at is None:
            intake.acknowledged_at = now_utc()
            intake.acknowledged_by = user_id
            audit.record(session, "acknowledge", user_id, "intake", intake_id)
    return intake


def record_view(intake_id: int, user_id: int) -> None:
    """Record in the audit trail that a staff member opened an intake's answers."""
    with unit_of_work() as session:
        audit.record(session, "view_intake", user_id, "intake", intake_id)
