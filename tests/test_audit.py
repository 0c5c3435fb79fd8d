"""The audit trail: every action leaves a row; no intake text or secret is ever in it or the log."""

import logging
import re
from datetime import timedelta
from html import unescape

import pytest
import requests
import sqlalchemy as sa

from intake.appointments import services
from intake.audit import AuditEvent
from intake.extensions import db
from intake.scheduling.services import next_open_times
from intake.therapists.services import add_time_off, update_profile
from tests.helpers import PASSWORD, book_directly, csrf_from, sign_in, token, wait_for


def actions():
    return [a for (a,) in db.session.execute(sa.select(AuditEvent.action).order_by(
        AuditEvent.id))]


def test_every_kind_of_change_is_recorded_with_who_and_from_where(
    app, client, demo, make_user, caplog
):
    caplog.set_level(logging.DEBUG)
    admin = make_user("admin")
    desk = make_user("front_desk")
    sign_in(client, admin.email)
    one = book_directly("sam-whitaker", story="A private story about our marriage.")
    two = book_directly("sam-whitaker", email="two@client.example")
    three = book_directly("maya-chen", email="three@client.example")
    services.decline(one.id, desk.id, "Sorry")
    slot = next_open_times(two.therapist, two.created_at, 1)[0]
    services.propose(two.id, slot.starts_at, desk.id)
    services.cancel(three.id, desk.id)
    update_profile(three.therapist_id, {"bio": "New bio"}, None, admin.id)

    add_time_off(three.therapist_id, three.created_at + timedelta(days=60),
                 three.created_at + timedelta(days=61), "dentist", admin.id)
    client.get(f"/staff/intakes/{one.intake_id}")
    client.post(f"/staff/admin/accounts/{desk.id}",
                data={"csrf_token": token(client), "role": "front_desk", "action": "disable"})
    client.post(f"/staff/admin/accounts/{desk.id}",
                data={"csrf_token": token(client), "role": "therapist",
                      "therapist_id": str(two.therapist_id), "action": "role"})
    recorded = set(actions())
    assert {"account_create", "login", "decline", "propose", "cancel", "edit_profile",
            "edit_time_off", "view_intake", "account_disable", "account_update"} <= recorded
    view = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "view_intake"))
    assert view.user_id == admin.id and view.address == "127.0.0.1"

    everything = " ".join(
        f"{e.action} {e.record_type} {e.detail}" for e in db.session.scalars(
            sa.select(AuditEvent)))
    assert "marriage" not in everything and "dentist" not in everything
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "marriage" not in logged
    assert "correct horse" not in logged


def test_admins_filter_the_trail(client, make_user, demo):
    admin = make_user("admin")
    desk = make_user("front_desk")
    sign_in(client, admin.email)

    sign_in(client.application.test_client(), desk.email, PASSWORD + "x")
    page = client.get("/staff/admin/audit?action=login_failed")
    assert page.status_code == 200
    assert page.text.count("Failed sign-in") == 2  # the row and the filter's option
    by_person = client.get(f"/staff/admin/audit?user={admin.id}")
    assert "Signed in" in by_person.text and "Failed sign-in</td>" not in by_person.text
    for odd in ("²", "9" * 40, "-1", " 1"):  # no person: everyone's events, never an error
        assert client.get("/staff/admin/audit", query_string={"user": odd}).status_code == 200


@pytest.mark.usefixtures("with_csrf")
def test_staff_changes_need_the_csrf_token_and_htmx_sends_it_as_a_header(client, demo,
                                                                          make_user):
    desk = make_user("front_desk")
    sign_in(client, desk.email)
    held = book_directly("sam-whitaker")
    refused = client.post(f"/staff/appointments/{held.id}/confirm",
                          headers={"HX-Request": "true"})
    assert refused.status_code == 400
    db.session.refresh(held)
    assert held.status == "held"

    header = re.search(r'"X-CSRFToken": "([^"]+)"', client.get("/staff/").text).group(1)
    accepted = client.post(f"/staff/appointments/{held.id}/confirm",
                           headers={"HX-Request": "true", "X-CSRFToken": header})
    assert accepted.status_code == 200 and "Confirmed" in accepted.text


def test_the_access_log_never_shows_what_staff_searched_for(app, demo, make_user, live_server,
                                                            caplog):
    caplog.set_level(logging.INFO)
    browser = requests.Session()
    page = browser.get(f"{live_server}/staff/login")
    browser.post(f"{live_server}/staff/login", data={
        "email": make_user("front_desk").email, "password": PASSWORD,
        "csrf_token": csrf_from(page.text)})
    found = browser.get(f"{live_server}/staff/search", params={"q": "Ottoline Sparrow"})
    assert found.status_code == 200
    browser.get(f"{live_server}/staff/search?page=2&q=ottoline%40client.example")
    # Signed out, the search sends the browser to sign in with the way back in `next`.
    signed_out = requests.get(f"{live_server}/staff/search", params={"q": "Ottoline"})
    assert "/staff/login" in signed_out.url

    def searches():  # the server writes its line just after answering
        return [r.getMessage() for r in caplog.records if "/staff/search" in r.getMessage()]

    wait_for(lambda: len(searches()) >= 3)
    assert all("q=…" in line for line in searches()), searches()
    lines = [r.getMessage() for r in caplog.records]
    assert not [line for line in lines if "Ottoline" in line or "ottoline" in line.lower()]


def test_a_failed_statement_never_carries_its_values(app):
    with pytest.raises(sa.exc.DBAPIError) as failed:
        db.session.execute(sa.text("SELECT no_such_column FROM intake WHERE story = :story"),
                           {"story": "A private story about our marriage."})
    db.session.rollback()
    assert "no_such_column" in str(failed.value)
    assert "marriage" not in str(failed.value)


def test_the_trail_names_people_and_records_in_plain_words(client, make_user, demo):
    admin = make_user("admin")
    sign_in(client, admin.email)
    page = "/staff/admin/accounts"
    made = client.post(page, data={"csrf_token": token(client, page), "role": "front_desk",
                                   "email": "jo.park@harbor.example", "name": "Jo Park",
                                   "password": "quiet lantern orchard river"})
    assert made.status_code in (200, 303)
    trail = unescape(client.get("/staff/admin/audit").text)
    assert "Created account (Front desk)" in trail and "Account: Jo Park" in trail
    assert "Admin</span>" in trail  # who did it, by name and role
    assert "staff_user" not in trail and "front_desk)" not in trail
