"""The client's own links: the whole lifecycle through SMTP, the window, and links that can't
be used."""

import re
from datetime import timedelta

import vobject
from icalendar import Calendar

from intake import links
from intake.appointments import services
from intake.appointments.models import Appointment
from intake.extensions import db
from intake.mail.delivery import deliver_due
from tests.helpers import book_directly, sign_in


def manage_path(message) -> str:
    text = message.get_body(("plain",)).get_content()
    url = next(line.strip() for line in text.splitlines() if "/manage/" in line)
    return url.replace("http://127.0.0.1:5000", "")


def invite(message):
    (part,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    raw = part.get_payload(decode=True)
    cal = Calendar.from_ical(raw)
    assert all(c.errors == [] for c in cal.walk())
    vobject.readOne(raw.decode()).validate()
    return part.get_param("method"), str(cal["METHOD"]), cal.walk("VEVENT")[0]


def client_messages(smtp):
    return smtp.to("alex@client.example")


def test_book_confirm_reschedule_cancel_keeps_one_event_in_every_calendar(
    app, client, demo, smtp
):
    # Daniel needs 48 hours' notice, so the first time is outside the 24-hour window whatever
    # the hour the test runs; his requests wait for the front desk (tentative at first).
    appointment = book_directly("daniel-okafor", modality="emdr", kind="individual",
                                concerns=["trauma"])
    services.confirm(appointment.id, None)
    deliver_due()
    page = client.get(manage_path(client_messages(smtp)[-1]))
    assert page.status_code == 200 and "Choose another time" in page.text
    ics = client.get(re.search(r'href="([^"]+calendar\.ics)"', page.text).group(1))
    assert ics.mimetype == "text/calendar"
    added = Calendar.from_ical(ics.data)
    assert "METHOD" not in added and str(added.walk("VEVENT")[0]["UID"]) == appointment.uid

    path = manage_path(client_messages(smtp)[-1])
    choices = client.get(path + "/reschedule")
    assert f'value="{appointment.starts_at.isoformat()}"' not in choices.text  # its own time
    start = re.search(r'name="start" value="([^"]+)"', choices.text).group(1)
    moved = client.post(path + "/reschedule", data={"start": start})
    assert moved.status_code == 303
    assert "has moved" in client.get(moved.headers["Location"]).text
    deliver_due()
    cancel_path = manage_path(client_messages(smtp)[-1])
    # The link from before the move no longer works, and says why.
    stale = client.get(path)
    assert stale.status_code == 410 and "out of date" in stale.text
    done = client.post(cancel_path + "/cancel")
    assert "Your appointment is cancelled" in done.text
    deliver_due()
    again = client.post(cancel_path + "/cancel")
    assert again.status_code == 410  # reused after cancel: nothing changes

    for address in ("alex@client.example", "daniel.okafor@practice.example"):
        sequence, seen = [], []
        for message in smtp.to(address):
            mime_method, method, event = invite(message)
            assert mime_method == method
            assert str(event["UID"]) == appointment.uid
            sequence.append(int(event["SEQUENCE"]))
            seen.append((method, str(event["STATUS"])))
        assert sequence == sorted(set(sequence)) and len(sequence) == 4
        assert seen == [("REQUEST", "TENTATIVE"), ("REQUEST", "CONFIRMED"),
                        ("REQUEST", "CONFIRMED"), ("CANCEL", "CANCELLED")]
    db.session.expire_all()
    final = db.session.get(Appointment, appointment.id)
    assert final.status == "cancelled" and final.starts_at.isoformat() == start


def test_inside_the_window_changes_become_requests_to_the_front_desk(
    app, client, demo, smtp, clock, make_user
):
    appointment = book_directly("maya-chen")
    deliver_due()
    path = manage_path(client_messages(smtp)[-1])
    clock.set(appointment.starts_at - timedelta(hours=3))
    page = client.get(path)
    assert "less than 24 hours away" in page.text and "Ask to cancel" in page.text
    response = client.post(path + "/cancel")
    assert "passed your request to cancel" in response.text
    db.session.expire_all()
    kept = db.session.get(Appointment, appointment.id)
    assert kept.status == "confirmed" and kept.change_request == "cancel"
    assert deliver_due().sent == 0  # nothing sent to anyone yet
    desk = make_user("front_desk")

    staff = app.test_client()
    sign_in(staff, desk.email)
    assert f'id="change-{appointment.id}"' in staff.get("/staff/").text


def test_links_that_cannot_be_used_change_nothing(app, client, demo):
    appointment = book_directly("maya-chen")
    good = links.manage_token(appointment)
    tampered = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    assert client.get(f"/manage/{tampered}").status_code == 404
    other_purpose = links.make(links.REBOOK, appointment.id)
    assert client.get(f"/manage/{other_purpose}").status_code == 404
    assert client.post(f"/manage/{other_purpose}/cancel").status_code == 404
    app.config["MANAGE_LINK_DAYS"] = -1  # every link is now past its age
    expired = client.post(f"/manage/{good}/cancel")
    assert expired.status_code == 404 and "expired" in expired.text
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).status == "confirmed"


def test_rescheduling_to_a_taken_or_made_up_time_is_refused(client, demo):
    appointment = book_directly("maya-chen")
    other = book_directly("maya-chen", email="other@client.example")
    path = f"/manage/{links.manage_token(appointment)}"
    taken = client.post(path + "/reschedule", data={"start": other.starts_at.isoformat()})
    assert taken.status_code == 409 and "available" in taken.text
    bogus = client.post(path + "/reschedule", data={"start": "tomorrow at nine"})
    assert bogus.status_code == 422
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).starts_at == appointment.starts_at
