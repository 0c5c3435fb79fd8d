"""The appointment lifecycle at the service: which change is allowed from which state, and what
each one does (state, SEQUENCE, link version, emails and their invite method, audit, the time
given back). A change that is not allowed changes nothing and sends nothing."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from intake.appointments import services
from intake.appointments.models import Appointment, Proposal
from intake.clock import now_utc
from intake.extensions import db
from intake.intakes.services import submit
from intake.mail.models import OutboxMessage, parse
from intake.scheduling.service import is_open, next_open_times
from intake.staff.models import AuditEvent
from intake.therapists.models import Therapist
from tests.conftest import GOOD_ANSWERS, book_directly

STATES = ["held", "confirmed", "declined", "cancelled", "expired"]


def in_state(state, clock):
    """Return Sam's appointment (Sam's requests wait for the front desk), brought to `state`."""
    appointment = book_directly("sam-whitaker")
    assert appointment.status == "held"
    if state == "confirmed":
        services.confirm(appointment.id, None)
    elif state == "declined":
        services.decline(appointment.id, None)
    elif state == "cancelled":
        services.cancel(appointment.id, None)
    elif state == "expired":
        clock.advance(timedelta(hours=25))
        assert services.expire_holds() == 1
    db.session.expire_all()
    return db.session.get(Appointment, appointment.id)


def snapshot(appointment_id):
    """Return what a change may touch: state, SEQUENCE, link version, emails, audit rows."""
    db.session.expire_all()
    a = db.session.get(Appointment, appointment_id)
    emails = db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.appointment_id == appointment_id).order_by(OutboxMessage.id)).all()
    audit = db.session.scalars(sa.select(AuditEvent.action).where(
        AuditEvent.record_id == appointment_id).order_by(AuditEvent.id)).all()
    return {"status": a.status, "sequence": a.sequence, "version": a.link_version,
            "starts_at": a.starts_at, "emails": [(e.kind, invite_method(e)) for e in emails],
            "audit": list(audit)}


def invite_method(row):
    """Return the METHOD of the email's calendar invite, or None when it carries none."""
    for part in parse(row).walk():
        if part.get_content_type() == "text/calendar":
            return part.get_param("method")
    return None


def act(action, appointment, staff_id):
    """Apply one staff or worker change to the appointment."""
    if action == "confirm":
        return services.confirm(appointment.id, staff_id)
    if action == "decline":
        return services.decline(appointment.id, staff_id, "  Sam is away that week.  ")
    if action == "cancel":
        return services.cancel(appointment.id, staff_id)
    if action == "propose":
        (slot,) = next_open_times(appointment.therapist, appointment.starts_at, 1)
        return services.propose(appointment.id, slot.starts_at, staff_id)
    raise AssertionError(action)


# action: the states it is allowed from, the state after, and the emails queued (kind, method)
ACTIONS = {
    "confirm": ({"held"}, "confirmed",
                [("confirmed_client", "REQUEST"), ("confirmed_therapist", "REQUEST")]),
    "decline": ({"held"}, "declined",
                [("declined_client", "CANCEL"), ("cancelled_therapist", "CANCEL")]),
    "cancel": ({"held", "confirmed"}, "cancelled",
               [("cancelled_client", "CANCEL"), ("cancelled_therapist", "CANCEL")]),
    "propose": ({"held", "confirmed"}, None, [("proposed_client", None)]),
}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", ACTIONS)
def test_each_change_is_allowed_only_from_its_states(app, demo, clock, make_user, state,
                                                     action):
    appointment = in_state(state, clock)
    staff = make_user("front_desk")
    before = snapshot(appointment.id)
    allowed, after, emails = ACTIONS[action]
    if state not in allowed:
        with pytest.raises(services.StateError):
            act(action, appointment, staff.id)
        assert snapshot(appointment.id) == before  # nothing changed, nothing sent
        return
    act(action, appointment, staff.id)
    now = snapshot(appointment.id)
    assert now["emails"][len(before["emails"]):] == emails
    assert now["audit"] == [*before["audit"], action]
    audit = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert audit.user_id == staff.id and audit.record_type == "appointment"
    if after is None:  # a proposal: the appointment itself is unchanged until the client answers
        assert now == {**before, "emails": now["emails"], "audit": now["audit"]}
        return
    assert now["status"] == after and now["sequence"] == before["sequence"] + 1
    a = db.session.get(Appointment, appointment.id)
    therapist = a.therapist
    if after in ("declined", "cancelled"):
        assert a.ended_at == clock.now()
        assert is_open(therapist, a.starts_at, clock.now())  # the time is free again
    if after == "confirmed":
        assert a.confirmed_at == clock.now() and a.hold_expires_at is None
    if action == "decline":
        assert a.decline_message == "Sam is away that week."


def test_confirming_or_ending_withdraws_an_open_proposal(app, demo, clock):
    for end in ("confirm", "decline", "cancel"):
        appointment = in_state("held", clock)
        (slot,) = next_open_times(appointment.therapist, appointment.starts_at, 1)
        proposal = services.propose(appointment.id, slot.starts_at, None)
        act(end, appointment, None)
        db.session.expire_all()
        assert db.session.get(Proposal, proposal.id).status == "withdrawn", end
        with pytest.raises(services.StateError, match="no longer open"):
            services.accept_proposal(proposal.id)


def test_holds_expire_at_their_end_and_not_a_minute_before(app, demo, clock):
    appointment = in_state("held", clock)
    ends = appointment.hold_expires_at
    assert ends == clock.now() + timedelta(hours=24)  # HOLD_HOURS
    clock.set(ends - timedelta(minutes=1))
    assert services.expire_holds() == 0
    clock.set(ends)
    assert services.expire_holds() == 1
    after = snapshot(appointment.id)
    assert after["status"] == "expired" and after["sequence"] == 1
    assert after["emails"][-2:] == [("expired_client", "CANCEL"),
                                    ("cancelled_therapist", "CANCEL")]
    assert db.session.get(Appointment, appointment.id).ended_at == ends
    assert services.expire_holds() == 0  # once


def test_an_urgent_intake_cannot_be_booked_at_the_service(app, demo):
    answers = {**GOOD_ANSWERS, "consent_contact": True, "consent_privacy": True,
               "safety": "yes"}
    intake = submit(answers, "yes")
    assert intake.urgent
    therapist = db.session.scalar(sa.select(Therapist).where(Therapist.slug == "maya-chen"))
    (slot,) = next_open_times(therapist, now_utc(), 1)
    with pytest.raises(services.NotAFit, match="call us"):
        services.book(intake, therapist, slot.starts_at, "urgent-key-1234567890")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
        OutboxMessage.appointment_id.is_not(None))) == 0

