"""The appointment lifecycle at the service: which change is allowed from which state, and what
each one does (state, SEQUENCE, link version, emails and their invite method, audit, the time
given back). A change that is not allowed changes nothing and sends nothing."""

import re
from datetime import timedelta
from types import SimpleNamespace as Obj

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from intake.appointments import services
from intake.appointments.models import Appointment, Proposal
from intake.appointments.services import booking, changes
from intake.audit import AuditEvent
from intake.clock import now_utc
from intake.extensions import db
from intake.intakes.services import submit
from intake.mail.models import OutboxMessage, parse
from intake.scheduling.services import is_open, next_open_times
from intake.therapists.models import Therapist
from tests.helpers import GOOD_ANSWERS, book_directly

STATES = ["held", "confirmed", "declined", "cancelled", "expired"]


def in_state(state, clock):
    """Return Sam's appointment (Sam's requests wait for the front desk), brought to `state`."""
    appointment = book_directly("sam-whitaker")
    assert appointment.status == "held"
    # A history of earlier changes, so "one more" cannot pass for "the first".
    appointment.sequence, appointment.link_version = 4, 3
    db.session.commit()
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


REFUSED = {"confirm": "This request was already dealt with.",
           "decline": "This request was already dealt with.",
           "cancel": "This appointment is no longer active.",
           "propose": "This appointment is no longer active."}
# What the client's email must hold besides the invite: the way forward.
CLIENT_LINKS = {"decline": ["/intake/choose-again/", "Sam is away that week."],
                "cancel": ["/intake/choose-again/"],
                "propose": ["/offer/", "/intake/choose-instead/"],
                "confirm": ["/manage/"]}

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
        with pytest.raises(services.StateError, match=f"^{re.escape(REFUSED[action])}$"):
            act(action, appointment, staff.id)
        assert snapshot(appointment.id) == before  # nothing changed, nothing sent
        return
    act(action, appointment, staff.id)
    now = snapshot(appointment.id)
    assert now["emails"][len(before["emails"]):] == emails
    assert now["audit"] == [*before["audit"], action]
    audit = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (audit.user_id, audit.record_type, audit.record_id, audit.detail) == (
        staff.id, "appointment", appointment.id, "")
    client_email = db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.appointment_id == appointment.id,
        OutboxMessage.kind == emails[0][0])).one()
    text = parse(client_email).get_body(("plain",)).get_content()
    assert client_email.recipient == "alex@client.example"
    for expected in CLIENT_LINKS[action]:
        assert expected in text, (action, expected)
    if after is None:  # a proposal: the appointment itself is unchanged until the client answers
        assert now == {**before, "emails": now["emails"], "audit": now["audit"]}
        return
    assert now["status"] == after and now["sequence"] == before["sequence"] + 1
    # The practice's decision keeps the client's earlier links working: they show the new state.
    assert now["version"] == before["version"]
    a = db.session.get(Appointment, appointment.id)
    therapist = a.therapist
    if after in ("declined", "cancelled"):
        assert a.ended_at == clock.now()
        assert is_open(therapist, a.starts_at, clock.now())  # the time is free again
    if after == "confirmed":
        assert a.confirmed_at == clock.now() and a.hold_expires_at is None
    if action == "decline":
        assert a.decline_message == "Sam is away that week."  # trimmed


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
    assert after["status"] == "expired" and after["sequence"] == 5
    assert after["emails"][-2:] == [("expired_client", "CANCEL"),
                                    ("cancelled_therapist", "CANCEL")]
    assert db.session.get(Appointment, appointment.id).ended_at == ends
    assert services.expire_holds() == 0  # once
    expired_mail = db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.kind == "expired_client")).one()
    assert "/intake/choose-again/" in parse(expired_mail).get_body(("plain",)).get_content()


def test_an_urgent_intake_cannot_be_booked_at_the_service(app, demo):
    answers = {**GOOD_ANSWERS, "consent_contact": True, "consent_privacy": True,
               "safety": "yes"}
    intake = submit(answers, "yes")
    assert intake.urgent
    therapist = db.session.scalar(sa.select(Therapist).where(Therapist.slug == "maya-chen"))
    (slot,) = next_open_times(therapist, now_utc(), 1)
    with pytest.raises(services.NotAFit, match="^Please call us so we can help you directly.$"):
        services.book(intake, therapist, slot.starts_at, "urgent-key-1234567890")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
        OutboxMessage.appointment_id.is_not(None))) == 0



def test_a_decline_note_is_trimmed_and_kept_to_a_thousand_characters(app, demo, clock):
    for message, kept in [(None, ""), ("   ", ""), ("x" * 1200, "x" * 1000),
                          ("  Call us on Monday.\n", "Call us on Monday.")]:
        appointment = in_state("held", clock)
        services.decline(appointment.id, None, message)
        db.session.expire_all()
        assert db.session.get(Appointment, appointment.id).decline_message == kept


# ---------------------------------------------------------------- the client's own changes

def client_state(clock, state="confirmed"):
    """Return a booked appointment, its manage-link version, and the clock two days before."""
    appointment = in_state(state, clock)
    clock.set(appointment.starts_at - timedelta(days=2))
    return appointment, appointment.link_version


def test_a_client_reschedule_moves_the_same_event_and_renews_a_hold(app, demo, clock):
    for state in ("held", "confirmed"):
        appointment, version = client_state(clock, state)
        db.session.execute(sa.update(Appointment).where(Appointment.id == appointment.id)
                           .values(reminder_sent_at=clock.now()))
        db.session.commit()
        before = snapshot(appointment.id)
        (slot,) = next_open_times(appointment.therapist,
                                  appointment.starts_at + timedelta(hours=1), 1)
        services.reschedule(appointment.id, version, slot.starts_at)
        after = snapshot(appointment.id)
        a = db.session.get(Appointment, appointment.id)
        assert (a.starts_at, a.ends_at) == (slot.starts_at, slot.ends_at)
        assert after["status"] == state and after["sequence"] == before["sequence"] + 1
        assert after["version"] == version + 1 and a.reminder_sent_at is None
        assert after["emails"][len(before["emails"]):] == [
            ("rescheduled_client", "REQUEST"), ("rescheduled_therapist", "REQUEST")]
        if state == "held":
            assert a.hold_expires_at == clock.now() + timedelta(hours=24)
        event = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert (event.action, event.user_id, event.record_type, event.record_id,
                event.detail) == ("reschedule", None, "appointment", a.id, "by client")
        # The old time is free again; the old link is out of date.
        assert is_open(a.therapist, before["starts_at"], clock.now())
        with pytest.raises(services.StateError, match="^This link is no longer valid"):
            services.reschedule(appointment.id, version, before["starts_at"])


def test_a_client_cancel_ends_it_for_both_and_offers_a_new_time(app, demo, clock):
    appointment, version = client_state(clock)
    before = snapshot(appointment.id)
    assert services.cancel_or_ask_desk(appointment.id, version) is True
    after = snapshot(appointment.id)
    a = db.session.get(Appointment, appointment.id)
    assert after["status"] == "cancelled" and a.ended_at == clock.now()
    assert after["sequence"] == before["sequence"] + 1 and after["version"] == version + 1
    assert after["emails"][len(before["emails"]):] == [
        ("cancelled_by_client", "CANCEL"), ("cancelled_therapist", "CANCEL")]
    mail = db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.kind == "cancelled_by_client")).one()
    assert "/intake/choose-again/" in parse(mail).get_body(("plain",)).get_content()
    event = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (event.action, event.user_id, event.record_type, event.record_id, event.detail) == (
        "cancel", None, "appointment", a.id, "by client")
    assert is_open(a.therapist, a.starts_at, clock.now())


def test_inside_the_cancellation_window_a_client_change_is_a_request(app, demo, clock):
    appointment, version = client_state(clock)
    window = timedelta(hours=24)  # CANCELLATION_WINDOW_HOURS
    clock.set(appointment.starts_at - window)
    assert not services.inside_window(appointment)
    clock.advance(timedelta(seconds=1))
    assert services.inside_window(appointment)
    (slot,) = next_open_times(appointment.therapist, appointment.starts_at, 1)
    with pytest.raises(services.StateError, match="^It's too close to the appointment"):
        services.reschedule(appointment.id, version, slot.starts_at)
    before = snapshot(appointment.id)
    assert services.cancel_or_ask_desk(appointment.id, version) is False
    a = db.session.get(Appointment, appointment.id)
    assert snapshot(appointment.id) == before  # still booked, nobody emailed yet
    assert (a.change_request, a.change_requested_at) == ("cancel", clock.now())
    services.request_change(appointment.id, version, "reschedule")
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).change_request == "reschedule"
    with pytest.raises(services.StateError, match="^Choose whether to cancel or to find"):
        services.request_change(appointment.id, version, "refund")
    with pytest.raises(services.StateError, match="^This link is no longer valid"):
        services.request_change(appointment.id, version + 1, "cancel")
    clock.set(appointment.starts_at)
    with pytest.raises(services.StateError, match="^This appointment has already started"):
        services.cancel_by_client(appointment.id, version)


def test_links_of_ended_appointments_change_nothing(app, demo, clock):
    for state in ("declined", "cancelled", "expired"):
        appointment = in_state(state, clock)
        clock.set(appointment.starts_at - timedelta(days=2))
        version = appointment.link_version
        before = snapshot(appointment.id)
        with pytest.raises(services.StateError, match="^This link is no longer valid"):
            services.cancel_or_ask_desk(appointment.id, version)
        with pytest.raises(services.StateError, match="^This link is no longer valid"):
            services.request_change(appointment.id, version, "cancel")
        assert snapshot(appointment.id) == before, state



def test_a_client_change_judges_the_window_at_the_time_it_is_given(app, demo, clock):
    """A change made with an explicit `now` (as the manage page's request would pass down) is
    judged at that instant, not at whatever the app's clock says by the time it runs."""
    appointment, version = client_state(clock)  # the app's clock: two days before
    inside = appointment.starts_at - timedelta(hours=1)
    with pytest.raises(services.StateError, match="^It's too close to the appointment"):
        services.cancel_by_client(appointment.id, version, inside)
    assert services.cancel_or_ask_desk(appointment.id, version, inside) is False
    db.session.expire_all()
    a = db.session.get(Appointment, appointment.id)
    assert (a.status, a.change_request, a.change_requested_at) == ("confirmed", "cancel", inside)
    later = clock.now() + timedelta(minutes=7)  # still outside the window
    assert services.cancel_or_ask_desk(appointment.id, version, later) is True
    db.session.expire_all()
    a = db.session.get(Appointment, appointment.id)
    assert (a.status, a.ended_at) == ("cancelled", later)


def test_a_booking_that_loses_the_race_at_the_database_is_told_kindly(app, demo, clock,
                                                                       monkeypatch):
    """Both checked the time while it was open; the database refuses the second one's row."""
    first = book_directly("maya-chen")
    before = snapshot(first.id)
    emails = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))
    monkeypatch.setattr(booking, "is_open", lambda *args, **kwargs: True)
    answers = {**GOOD_ANSWERS, "email": "second@client.example"}
    answers["consent_contact"] = answers["consent_privacy"] = True
    second = submit(answers, "no")
    with pytest.raises(services.TimeTaken, match="^Someone booked that time a moment ago.$"):
        services.book(second, first.therapist, first.starts_at, "second-booking-key-123")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == emails
    assert snapshot(first.id) == before


def test_the_same_booking_sent_twice_at_once_books_once(app, demo, clock, monkeypatch):
    """The second copy passed the "already booked with this key?" check before the first
    committed; the database refuses its row and it is answered with the first booking."""
    first = book_directly("maya-chen")
    emails = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))
    real_by_key = booking._by_key
    looks = []

    def not_committed_yet(key, intake):
        looks.append(key)
        return None if len(looks) == 1 else real_by_key(key, intake)

    monkeypatch.setattr(booking, "_by_key", not_committed_yet)
    monkeypatch.setattr(booking, "is_open", lambda *args, **kwargs: True)
    again = services.book(first.intake, first.therapist, first.starts_at, first.idempotency_key)
    assert (again.appointment.id, again.created) == (first.id, False)
    assert looks == [first.idempotency_key, first.idempotency_key]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == emails


def test_a_reschedule_that_loses_the_race_at_the_database_is_told_kindly(app, demo, clock,
                                                                         monkeypatch):
    appointment, version = client_state(clock)
    other = book_directly("sam-whitaker", email="other@client.example")
    before = snapshot(appointment.id)
    monkeypatch.setattr(changes, "is_open", lambda *args, **kwargs: True)
    with pytest.raises(services.TimeTaken, match="^Someone booked that time a moment ago.$"):
        services.reschedule(appointment.id, version, other.starts_at)
    assert snapshot(appointment.id) == before

# ---------------------------------------------------------------- offers of another time

def test_an_offer_keeps_the_length_and_replaces_only_its_own_earlier_offer(app, demo, clock,
                                                                            make_user):
    staff = make_user("front_desk")
    first = in_state("held", clock)
    second = book_directly("sam-whitaker", email="second@client.example")
    later = next_open_times(first.therapist, first.starts_at + timedelta(days=1), 3)
    other = services.propose(second.id, later[0].starts_at, staff.id)
    offer = services.propose(first.id, later[1].starts_at, staff.id)
    assert (offer.starts_at, offer.ends_at - offer.starts_at, offer.therapist_id,
            offer.created_by, offer.created_at, offer.status) == (
        later[1].starts_at, first.ends_at - first.starts_at, first.therapist_id, staff.id,
        clock.now(), "open")
    assert not is_open(first.therapist, offer.starts_at, clock.now())  # kept for the client
    again = services.propose(first.id, later[2].starts_at, staff.id)
    db.session.expire_all()
    assert [db.session.get(Proposal, p.id).status for p in (other, offer, again)] == [
        "open", "withdrawn", "open"]
    # A time someone else holds is refused; the appointment's own time is not in its way.
    with pytest.raises(services.TimeNotOpen,
                       match="^That time isn't open. Choose one of the open times.$"):
        services.propose(first.id, second.starts_at, staff.id)
    services.propose(first.id, first.starts_at, staff.id)


def test_accepting_an_offer_moves_and_confirms_the_same_event(app, demo, clock):
    first = in_state("held", clock)
    db.session.execute(sa.update(Appointment).where(Appointment.id == first.id).values(
        reminder_sent_at=clock.now(), change_request="reschedule"))
    db.session.commit()
    (slot,) = next_open_times(first.therapist, first.starts_at + timedelta(days=1), 1)
    offer = services.propose(first.id, slot.starts_at, None)
    before = snapshot(first.id)
    clock.advance(timedelta(hours=2))
    services.accept_proposal(offer.id)
    after = snapshot(first.id)
    a = db.session.get(Appointment, first.id)
    assert (a.starts_at, a.ends_at) == (offer.starts_at, offer.ends_at)
    assert (a.status, a.confirmed_at, a.hold_expires_at) == ("confirmed", clock.now(), None)
    assert after["sequence"] == before["sequence"] + 1 and after["version"] == before["version"] + 1
    assert (a.reminder_sent_at, a.change_request) == (None, "")
    assert after["emails"][len(before["emails"]):] == [("moved_client", "REQUEST"),
                                                       ("moved_therapist", "REQUEST")]
    assert db.session.get(Proposal, offer.id).status == "accepted"
    assert is_open(a.therapist, before["starts_at"], clock.now())  # the old time is free
    for proposal_id in (offer.id, 987654):
        with pytest.raises(services.StateError, match="^This offer is no longer open.$"):
            services.accept_proposal(proposal_id)


def test_an_offer_for_an_appointment_that_ended_cannot_be_accepted(app, demo, clock):
    held = in_state("held", clock)
    (slot,) = next_open_times(held.therapist, held.starts_at + timedelta(days=1), 1)
    offer = services.propose(held.id, slot.starts_at, None)
    # Ended by some path that left the offer open: the appointment's state still decides.
    db.session.execute(sa.update(Appointment).where(Appointment.id == held.id)
                       .values(status="cancelled"))
    db.session.commit()
    before = snapshot(held.id)
    with pytest.raises(services.StateError, match="^This offer is no longer open.$"):
        services.accept_proposal(offer.id)
    assert snapshot(held.id) == before


def test_changing_an_appointment_that_does_not_exist_is_refused(app, demo):
    for change in (services.confirm, services.decline, services.cancel):
        with pytest.raises(services.StateError, match="^That appointment no longer exists.$"):
            change(987654, None)


# ---------------------------------------------------------------- booking


def test_booking_confirms_at_once_for_therapists_who_auto_confirm(app, demo, clock):
    maya = db.session.scalar(sa.select(Therapist).where(Therapist.slug == "maya-chen"))
    appointment = book_directly("maya-chen")
    assert appointment.therapist_id == maya.id and maya.auto_confirm
    assert (appointment.status, appointment.confirmed_at, appointment.hold_expires_at) == (
        "confirmed", clock.now(), None)
    assert appointment.ends_at - appointment.starts_at == timedelta(minutes=30)
    held = book_directly("sam-whitaker")
    assert (held.status, held.confirmed_at, held.hold_expires_at) == (
        "held", None, clock.now() + timedelta(hours=24))


def test_a_time_someone_holds_is_taken_and_one_beside_it_is_only_not_open(app, demo, clock):
    first = book_directly("maya-chen")  # 30 minutes, a 10-minute buffer
    maya = first.therapist
    answers = {**GOOD_ANSWERS, "consent_contact": True, "consent_privacy": True,
               "email": "next@client.example"}
    intake = submit(answers, "no")
    taken = "^Someone booked that time a moment ago.$"
    not_open = "^That time isn't available. Please choose one of the open times shown.$"
    for start, error, message in [
        (first.starts_at, services.TimeTaken, taken),
        (first.starts_at + timedelta(minutes=15), services.TimeTaken, taken),
        (first.starts_at - timedelta(minutes=15), services.TimeTaken, taken),
        # Touching it, after or before: not open here, but not taken either.
        (first.ends_at, services.TimeNotOpen, not_open),
        (first.starts_at - timedelta(minutes=30), services.TimeNotOpen, not_open),
    ]:
        with pytest.raises(error, match=message):
            services.book(intake, maya, start, f"key-{start.isoformat()}")
    # Another therapist's appointment at that time is not in the way: merely not open here.
    other = book_directly("sam-whitaker", email="sam@client.example")
    with pytest.raises(services.TimeNotOpen, match=not_open):
        services.book(intake, maya, other.starts_at + timedelta(minutes=5), "key-other")
    services.cancel(first.id, None)
    # A cancelled appointment holds nothing: an off-grid time beside it is merely not open.
    with pytest.raises(services.TimeNotOpen, match=not_open):
        services.book(intake, maya, first.starts_at + timedelta(minutes=15), "key-after-cancel")
    # The same key gives back the first booking, once.
    booked = services.book(intake, maya, first.starts_at, "same-key")
    again = services.book(intake, maya, first.starts_at + timedelta(hours=3), "same-key")
    assert booked.created is True and again.created is False
    assert again.appointment.id == booked.appointment.id


def test_a_therapist_who_does_not_fit_is_refused_by_name(app, demo):
    answers = {**GOOD_ANSWERS, "consent_contact": True, "consent_privacy": True}
    intake = submit(answers, "no")  # couples therapy
    daniel = db.session.scalar(sa.select(Therapist).where(Therapist.slug == "daniel-okafor"))
    (slot,) = next_open_times(daniel, now_utc(), 1)
    with pytest.raises(services.NotAFit, match="^Daniel Okafor doesn't offer what you asked for. "
                                               "Please choose one of the therapists suggested "
                                               "for you.$"):
        services.book(intake, daniel, slot.starts_at, "not-a-fit-key")


# ---------------------------------------------------------------- more of each rule


def open_offer(appointment):
    """Offer the appointment's client another time; return the proposal."""
    (slot,) = next_open_times(appointment.therapist, appointment.starts_at + timedelta(days=1), 1)
    return services.propose(appointment.id, slot.starts_at, None)


def test_a_client_change_withdraws_an_open_offer(app, demo, clock):
    for change in ("reschedule", "cancel"):
        appointment, version = client_state(clock)
        offer = open_offer(appointment)
        if change == "reschedule":
            (slot,) = next_open_times(appointment.therapist, offer.ends_at, 1)
            services.reschedule(appointment.id, version, slot.starts_at)
        else:
            services.cancel_by_client(appointment.id, version)
        db.session.expire_all()
        assert db.session.get(Proposal, offer.id).status == "withdrawn", change


def test_a_client_cannot_move_to_a_time_that_is_not_open(app, demo, clock):
    appointment, version = client_state(clock)
    other = book_directly("sam-whitaker", email="other@client.example")
    for start in (other.starts_at, appointment.starts_at + timedelta(minutes=7)):
        with pytest.raises(services.TimeNotOpen, match="^That time isn't available. Please "
                                                       "choose one of the open times shown.$"):
            services.reschedule(appointment.id, version, start)
    assert snapshot(appointment.id)["starts_at"] == appointment.starts_at


def test_a_request_to_the_desk_records_when_it_was_asked(app, demo, clock):
    appointment, version = client_state(clock)
    clock.set(appointment.starts_at - timedelta(hours=3))
    services.request_change(appointment.id, version, "reschedule")
    db.session.expire_all()
    a = db.session.get(Appointment, appointment.id)
    assert (a.change_request, a.change_requested_at) == ("reschedule", clock.now())


def test_expiry_frees_every_due_hold_in_one_pass_and_withdraws_their_offers(app, demo, clock):
    first = in_state("held", clock)
    second = book_directly("sam-whitaker", email="second@client.example")
    offer = open_offer(first)
    clock.advance(timedelta(hours=25))
    assert services.expire_holds() == 2
    db.session.expire_all()
    assert {db.session.get(Appointment, a.id).status for a in (first, second)} == {"expired"}
    assert db.session.get(Proposal, offer.id).status == "withdrawn"


def test_reminders_go_to_every_due_client_in_one_pass_and_never_after_the_start(app, demo,
                                                                                 clock):
    discreet = book_directly("maya-chen", email="quiet@client.example", discreet=True)
    first = book_directly("maya-chen", email="first@client.example")
    second = book_directly("maya-chen", email="second@client.example")
    # Three appointments an hour apart, the discreet client's first, a day after all three
    # (so no move lands on another's time, which the database refuses).
    base = max(a.ends_at for a in (discreet, first, second)) + timedelta(days=1)
    for n, appointment in enumerate((discreet, first, second)):
        db.session.execute(sa.update(Appointment).where(Appointment.id == appointment.id).values(
            starts_at=base + timedelta(hours=n), ends_at=base + timedelta(hours=n, minutes=30)))
    db.session.commit()
    clock.set(base - timedelta(hours=1))
    assert services.send_reminders() == 2  # the discreet client's none, then both others
    # An appointment that has started (or starts this very moment) gets none.
    late = book_directly("maya-chen", email="late@client.example")
    clock.set(late.starts_at)
    assert services.send_reminders() == 0
    clock.advance(timedelta(minutes=5))
    assert services.send_reminders() == 0


@pytest.mark.parametrize("state", ["held", "confirmed"])
def test_a_new_booking_replaces_the_intake_s_earlier_one_and_no_one_else_s(app, demo, clock,
                                                                           state):
    old = in_state(state, clock)
    intake = old.intake
    stranger = book_directly("sam-whitaker", email="stranger@client.example")
    kept = snapshot(stranger.id)
    (slot,) = next_open_times(old.therapist, old.starts_at + timedelta(days=1), 1)
    before = snapshot(old.id)
    clock.advance(timedelta(minutes=10))
    new = services.book(intake, old.therapist, slot.starts_at, "replace-key").appointment
    after = snapshot(old.id)
    a = db.session.get(Appointment, old.id)
    assert (a.status, a.ended_at) == ("cancelled", clock.now())
    assert after["sequence"] == before["sequence"] + 1
    assert after["emails"][len(before["emails"]):] == [("replaced_client", "CANCEL"),
                                                       ("cancelled_therapist", "CANCEL")]
    withdrawn = db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.appointment_id == old.id, OutboxMessage.kind == "replaced_client")).one()
    earlier = "appointment" if state == "confirmed" else "request"
    assert withdrawn.subject.startswith(f"Your earlier {earlier} for ")
    event = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (event.action, event.user_id, event.record_type, event.record_id, event.detail) == (
        "cancel", None, "appointment", old.id, "replaced by client")
    # One time to come per intake; another client's booking is never touched.
    assert services.active_ahead(intake.id, clock.now()) == [new.id]
    assert snapshot(stranger.id) == kept


def test_an_offered_time_taken_meanwhile_is_refused_kindly(app, demo, clock):
    held = in_state("held", clock)
    offer = open_offer(held)
    other = book_directly("sam-whitaker", email="other@client.example")
    # Someone's appointment lands on the offered time by a path that skipped the checks.
    db.session.execute(sa.update(Appointment).where(Appointment.id == other.id).values(
        starts_at=offer.starts_at, ends_at=offer.ends_at))
    db.session.commit()
    before = snapshot(held.id)
    with pytest.raises(services.TimeTaken, match="^Someone booked that time a moment ago.$"):
        services.accept_proposal(offer.id)
    assert snapshot(held.id) == before


def invite_of(row):
    """Return the VEVENT of an outbox email's invite."""
    for part in parse(row).walk():
        if part.get_content_type() == "text/calendar":
            return Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")[0]
    raise AssertionError("no invite")


def emails_of(appointment_id):
    return {r.kind: r for r in db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.appointment_id == appointment_id))}


ROOM = "https://video.practice.example/room/maya-chen"  # the demo's room for Maya


def test_both_invites_say_who_when_where_and_nothing_about_why(app, demo, clock):
    clock.advance(timedelta(hours=1))  # the app's clock, not the machine's, stamps the invites
    appointment = book_directly("maya-chen")  # online: the intake asked for telehealth
    cfg = app.config
    emails = emails_of(appointment.id)
    client, therapist = invite_of(emails["booking_client"]), invite_of(emails["booking_therapist"])
    assert str(client["SUMMARY"]) == "Consultation with Maya Chen"
    assert str(therapist["SUMMARY"]) == "Consultation: A. M."
    for event in (client, therapist):
        assert str(event["UID"]) == appointment.uid and event["STATUS"] == "CONFIRMED"
        assert (event.decoded("DTSTART"), event.decoded("DTEND")) == (
            appointment.starts_at, appointment.ends_at)
        # Confirmed and online: the therapist's video room, as LOCATION and as RFC 7986's
        # CONFERENCE, and first in the description.
        assert str(event["LOCATION"]) == ROOM
        assert str(event["CONFERENCE"]) == ROOM
        assert (event["CONFERENCE"].params["FEATURE"], event["CONFERENCE"].params["VALUE"]) == (
            "VIDEO", "URI")
        assert str(event["DESCRIPTION"]).startswith(f"Join the video consultation: {ROOM}\n")
        assert str(event["ORGANIZER"]) == "mailto:bookings@harbor.example"
        assert event["ORGANIZER"].params["CN"] == cfg["PRACTICE_NAME"]
        assert event.decoded("DTSTAMP") == clock.now().replace(microsecond=0)
    assert str(client["DESCRIPTION"]) == (
        f"Join the video consultation: {ROOM}\n"
        f"Consultation booked through {cfg['PRACTICE_NAME']}.\n"
        f"Questions or changes: {cfg['PRACTICE_PHONE']}.\n{cfg['BASE_URL']}/")
    assert str(client["URL"]) == cfg["BASE_URL"] + "/"
    assert [(str(a), a.params["CN"]) for a in client["ATTENDEE"]] == [
        ("mailto:alex@client.example", "Alex Morgan"),
        ("mailto:maya.chen@practice.example", "Maya Chen")]
    # The therapist's copy goes into their calendar provider: initials, the therapist alone as
    # attendee, and a link to the appointment behind sign-in; never the client's name or email.
    staff_page = f"{cfg['BASE_URL']}/staff/appointments/{appointment.id}"
    assert str(therapist["URL"]) == staff_page
    assert str(therapist["DESCRIPTION"]) == (
        f"Join the video consultation: {ROOM}\n"
        f"Consultation booked through {cfg['PRACTICE_NAME']}.\n"
        f"Details (sign-in needed): {staff_page}")
    attendees = therapist["ATTENDEE"]
    attendees = attendees if isinstance(attendees, list) else [attendees]
    assert [(str(a), a.params["CN"]) for a in attendees] == [
        ("mailto:maya.chen@practice.example", "Maya Chen")]
    parts = [part.get_payload(decode=True) for part in parse(emails["booking_therapist"]).walk()
             if not part.is_multipart()]
    whole = b"".join(parts).decode()
    assert "BEGIN:VCALENDAR" in whole
    assert "alex@client.example" not in whole.lower() and "Morgan" not in whole
    text = parse(emails["booking_therapist"]).get_body(("plain",)).get_content()
    assert "Client: A. M." in text and "Morgan" not in text
    assert "Where:  Online (video)" in text and f"Join:   {ROOM}" in text
    assert emails["booking_therapist"].subject.startswith("New consultation ")
    text = parse(emails["booking_client"]).get_body(("plain",)).get_content()
    assert text.startswith("Hello Alex,") and "Your free consultation is booked." in text
    assert f"Where: Online (video)\r\nJoin:  {ROOM}" in text
    # A request that waits for the front desk says so, to both.
    held = emails_of(book_directly("sam-whitaker", email="held@client.example").id)
    assert "We're holding this time" in parse(held["booking_client"]).get_body(
        ("plain",)).get_content()
    assert held["booking_therapist"].subject.endswith("(awaiting confirmation)")


def test_in_person_meetings_are_at_the_therapists_office_or_the_practice(app, demo):
    at_office = book_directly("maya-chen", format="in_person")
    assert at_office.format == "in_person"
    assert services.location_of(at_office) == "22 Harbor Street, Suite 4, Portland, ME"
    at_office.therapist.office = ""
    assert services.location_of(at_office) == app.config["PRACTICE_ADDRESS"]
    db.session.rollback()
    # "Either" takes what the therapist offers: Sam sees clients online only.
    either = book_directly("sam-whitaker", format="either", email="either@client.example")
    assert either.format == "telehealth"
    assert services.meeting_format(either.intake, either.therapist) == "telehealth"


def test_an_accepted_offer_stays_accepted_when_the_appointment_later_ends(app, demo, clock):
    held = in_state("held", clock)
    offer = open_offer(held)
    services.accept_proposal(offer.id)
    services.cancel(held.id, None)
    db.session.expire_all()
    assert db.session.get(Proposal, offer.id).status == "accepted"


def test_a_decline_without_a_note_has_none(app, demo, clock):
    appointment = in_state("held", clock)
    services.decline(appointment.id, None)
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).decline_message == ""
    text = parse(emails_of(appointment.id)["declined_client"]).get_body(("plain",)).get_content()
    assert "A note from our front desk" not in text


def test_how_they_meet_follows_the_client_then_what_the_therapist_offers():
    online_only, office_only = Obj(formats=["telehealth"]), Obj(formats=["in_person"])
    both = Obj(formats=["in_person", "telehealth"])
    assert services.meeting_format(Obj(format="in_person"), online_only) == "in_person"
    assert services.meeting_format(Obj(format="telehealth"), office_only) == "telehealth"
    assert services.meeting_format(Obj(format="either"), office_only) == "in_person"
    assert services.meeting_format(Obj(format="either"), both) == "telehealth"
