"""Who may do what: every staff route against every role, enforced on the server."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from intake.appointments.models import Appointment
from intake.extensions import db
from intake.mail.models import OutboxMessage
from intake.scheduling.services import next_open_times
from tests.helpers import book_directly, sign_in, token

ROLES = ["anonymous", "admin", "front_desk", "therapist"]

# path, then the status each role gets: anonymous, admin, front desk, therapist (Sam Whitaker).
# {own}/{own_intake}: Sam's client; {other}/{other_intake}: Maya's client.
READS = [
    ("/staff/", 302, 200, 200, 302),
    ("/staff/search?q=morgan", 302, 200, 200, 403),
    ("/staff/schedule", 302, 200, 200, 200),
    ("/staff/schedule?therapist=maya-chen", 302, 200, 200, 200),
    ("/staff/week", 302, 200, 200, 200),
    ("/staff/week?therapist=maya-chen", 302, 200, 200, 404),
    ("/staff/intakes/{own_intake}", 302, 200, 200, 200),
    ("/staff/intakes/{other_intake}", 302, 200, 200, 404),
    ("/staff/appointments/{own}", 302, 200, 200, 200),
    ("/staff/appointments/{other}", 302, 200, 200, 404),
    ("/staff/therapists", 302, 200, 403, 403),
    ("/staff/therapists/sam-whitaker", 302, 200, 403, 200),
    ("/staff/therapists/maya-chen", 302, 200, 403, 404),
    ("/staff/therapists/maya-chen/hours", 302, 200, 403, 404),
    ("/staff/therapists/maya-chen/time-off", 302, 200, 403, 404),
    ("/staff/admin/accounts", 302, 200, 403, 403),
    ("/staff/admin/audit", 302, 200, 403, 403),
    ("/staff/password", 302, 200, 200, 200),
]

# Changes: a status that means "allowed" (303, or 422 for a form left empty) or refused.
WRITES = [
    ("/staff/appointments/{own}/confirm", {}, 302, 303, 303, 403),
    ("/staff/appointments/{own}/decline", {}, 302, 303, 303, 403),
    ("/staff/appointments/{own}/propose", {"start": "{slot}"}, 302, 303, 303, 403),
    ("/staff/intakes/{own_intake}/acknowledge", {}, 302, 303, 303, 403),
    ("/staff/emails/{email}/retry", {}, 302, 303, 303, 403),
    ("/staff/admin/accounts", {"email": "new@harbor.example", "role": "admin",
                               "password": "long enough password"}, 302, 303, 403, 403),
    ("/staff/admin/accounts/{self_id}", {"role": "admin", "action": "disable"},
     302, 303, 403, 403),
    ("/staff/therapists/maya-chen/hours", {"consultation_minutes": "30", "buffer_minutes": "0",
                                           "min_notice_hours": "1", "horizon_days": "10",
                                           "d0s0": "09:00", "d0e0": "17:00"},
     302, 303, 403, 404),
    ("/staff/therapists/sam-whitaker/time-off", {"starts": "2031-01-01T09:00",
                                                 "ends": "2031-01-02T09:00"},
     302, 303, 403, 303),
]


@pytest.fixture
def world(app, client, demo, make_user):
    """Sam's held request, Maya's booking, one account per role; returns the URL values."""
    own = book_directly("sam-whitaker", name="Ottoline Sparrow")
    other = book_directly("maya-chen", name="Wilhelmina Fairweather", email="other@client.example")
    users = {"admin": make_user("admin"), "front_desk": make_user("front_desk"),
             "therapist": make_user("therapist", "sam-whitaker")}
    email = db.session.scalar(sa.select(OutboxMessage.id).where(
        OutboxMessage.appointment_id == own.id))
    db.session.execute(sa.update(OutboxMessage).values(status="failed"))
    db.session.commit()

    slot = next_open_times(own.therapist, own.created_at, 1)[0].starts_at.isoformat()
    values = {"own": own.id, "other": other.id, "own_intake": own.intake_id,
              "other_intake": other.intake_id, "email": email, "slot": slot,
              "self_id": users["front_desk"].id}
    return users, values


def browser_as(app, role, users):
    browser = app.test_client()
    if role != "anonymous":
        assert sign_in(browser, users[role].email).status_code == 303
    return browser


def test_every_read_route_answers_each_role_as_it_should(app, world):
    users, values = world
    failures = []
    for role_index, role in enumerate(ROLES):
        browser = browser_as(app, role, users)
        for path, *expected in READS:
            url = path.format(**values)
            got = browser.get(url).status_code
            if got != expected[role_index]:
                failures.append((role, url, expected[role_index], got))
    assert failures == []


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("write", WRITES, ids=[w[0] for w in WRITES])
def test_every_change_is_refused_to_roles_that_may_not_make_it(app, world, role, write):
    users, values = world
    path, form, *expected = write
    browser = browser_as(app, role, users)
    data = {k: v.format(**values) for k, v in form.items()}
    response = browser.post(path.format(**values), data=data)
    assert response.status_code == expected[ROLES.index(role)], response.text[:500]


# Pages that show clients, and whose clients each role must see there: Sam's (Ottoline
# Sparrow, a held request) or Maya's (Wilhelmina Fairweather). A therapist sees their own
# clients only, whatever the address asks for. A client shows as a name or a link to their
# appointment (the week grid shows initials only).
SAM, MAYA = "sam", "maya"
SEEN = [
    ("/staff/schedule", {"therapist": {SAM}}),
    ("/staff/schedule?therapist=maya-chen", {"admin": {MAYA}, "front_desk": {MAYA},
                                             "therapist": {SAM}}),
    ("/staff/schedule?therapist=sam-whitaker", {"admin": {SAM}, "front_desk": {SAM},
                                                "therapist": {SAM}}),
    # The whole practice's week for the desk (Maya's too, when hers falls in it); their own
    # for a therapist.
    ("/staff/week?week={monday}", {"admin": "practice", "front_desk": "practice",
                                   "therapist": {SAM}}),
    ("/staff/week?therapist=sam-whitaker&week={monday}", {"admin": {SAM}, "front_desk": {SAM},
                                                          "therapist": {SAM}}),
    ("/staff/week?therapist=maya-chen&week={other_monday}", {"admin": {MAYA},
                                                             "front_desk": {MAYA}}),
    ("/staff/intakes/{own_intake}", {"admin": {SAM}, "front_desk": {SAM}, "therapist": {SAM}}),
    ("/staff/appointments/{own}", {"admin": {SAM}, "front_desk": {SAM}, "therapist": {SAM}}),
    ("/staff/", {"admin": {SAM}, "front_desk": {SAM}}),  # Sam's request waits; Maya's is booked
    ("/staff/search?q=client.example", {"admin": {SAM, MAYA}, "front_desk": {SAM, MAYA}}),
]


def test_each_role_sees_exactly_whose_clients_it_may(app, world):
    users, values = world

    def monday(appointment_id):
        appointment = db.session.get(Appointment, appointment_id)
        day = appointment.starts_at.astimezone(ZoneInfo(appointment.therapist.timezone)).date()
        return (day - timedelta(days=day.weekday())).isoformat()

    values = {**values, "monday": monday(values["own"]), "other_monday": monday(values["other"])}
    markers = {SAM: ("Ottoline", f'/staff/appointments/{values["own"]}"'),
               MAYA: ("Wilhelmina", f'/staff/appointments/{values["other"]}"')}
    failures = []
    for role in ("admin", "front_desk", "therapist"):
        browser = browser_as(app, role, users)
        for path, seen in SEEN:
            page = browser.get(path.format(**values))
            shown = {who for who, marks in markers.items()
                     if any(mark in page.text for mark in marks)}
            expected = seen.get(role, set())
            if expected == "practice":
                expected = {SAM, MAYA} if values["monday"] == values["other_monday"] else {SAM}
            assert page.status_code in (200, 302, 403, 404), (role, path, page.status_code)
            got = shown if page.status_code == 200 else page.status_code
            if got != expected and not (page.status_code != 200 and not expected):
                failures.append((role, path, expected, got))
    assert failures == []


def test_a_therapist_stops_reading_an_intake_once_its_request_with_them_ends(app, world):
    users, values = world
    therapist = browser_as(app, "therapist", users)
    page = f"/staff/intakes/{values['own_intake']}"
    assert therapist.get(page).status_code == 200  # Sam's request is waiting

    desk = browser_as(app, "front_desk", users)
    own = f"/staff/appointments/{values['own']}"
    answer = desk.post(f"{own}/decline", data={"csrf_token": token(desk, own), "message": ""})
    assert answer.status_code == 303
    assert db.session.get(Appointment, values["own"]).status == "declined"

    assert therapist.get(page).status_code == 404
    assert desk.get(page).status_code == 200  # the front desk still follows the client up
