"""Accounts: argon2id, one answer for every failure, throttling, sessions that really end."""

import re
from datetime import timedelta
from html import unescape

import pytest
import sqlalchemy as sa

from intake.audit import AuditEvent
from intake.extensions import db, limiter
from intake.staff import accounts
from intake.staff.models import StaffSession, User
from tests.helpers import PASSWORD, sign_in, token


def audit_actions():
    return [a for (a,) in db.session.execute(
        sa.select(AuditEvent.action).order_by(AuditEvent.id))]


def test_passwords_are_hashed_with_argon2id(make_user):
    user = make_user("front_desk")
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_sign_in_and_the_same_answer_for_unknown_email_and_wrong_password(client, make_user):
    user = make_user("front_desk")
    wrong = sign_in(client, user.email, "not the password at all")
    unknown = sign_in(client, "nobody@harbor.example", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    message = "That email and password don&#39;t match an active account."
    assert message in wrong.text and message in unknown.text
    ok = sign_in(client, user.email)
    assert ok.status_code == 303
    assert client.get("/staff/").status_code == 200
    assert audit_actions() == ["account_create", "login_failed", "login_failed", "login"]


def test_staff_pages_need_a_session(client):
    response = client.get("/staff/")
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]


@pytest.fixture
def limited(settings):
    settings.update(RATELIMIT_ENABLED=True, LOGIN_LIMIT_ACCOUNT="3 per 15 minutes",
                    LOGIN_LIMIT_ADDRESS="5 per 15 minutes")


def test_repeated_failures_get_429_per_account_then_per_address(limited, app, client,
                                                                 make_user):
    limiter.reset()
    user = make_user("front_desk")
    codes = [sign_in(client, user.email, "wrong password!!").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    # Even the right password waits now, from that address.
    assert sign_in(client, user.email).status_code == 429
    # The person at the front desk, at another address, still signs in.
    desk = app.test_client()
    desk.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert sign_in(desk, user.email).status_code == 303
    # Another account from the same address still has two tries before the address limit.
    other = make_user("admin")
    assert [sign_in(client, other.email, "wrong password!!").status_code
            for _ in range(3)] == [401, 401, 429]
    limiter.reset()
    # On IPv6 a guesser's whole /64 is one address: moving within it starts nothing afresh.
    guesser = app.test_client()
    for n in range(3):
        guesser.environ_base["REMOTE_ADDR"] = f"2001:db8:1:2::{n + 1}"
        assert sign_in(guesser, user.email, "wrong password!!").status_code == 401
    guesser.environ_base["REMOTE_ADDR"] = "2001:db8:1:2:ffff::9"
    assert sign_in(guesser, user.email, "wrong password!!").status_code == 429
    neighbour = app.test_client()
    neighbour.environ_base["REMOTE_ADDR"] = "2001:db8:1:3::1"  # another /64
    assert sign_in(neighbour, user.email).status_code == 303
    limiter.reset()


def test_logout_ends_the_session_even_for_a_copied_cookie(app, client, make_user):
    user = make_user("front_desk")
    sign_in(client, user.email)
    copied = client.get_cookie("session").value
    client.post("/staff/logout", data={"csrf_token": token(client)})
    assert client.get("/staff/").status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/staff/").status_code == 302
    assert "logout" in audit_actions()


def test_disabling_an_account_ends_its_sessions_at_once(app, client, make_user):
    admin = make_user("admin")
    desk = make_user("front_desk")
    desk_browser = app.test_client()
    sign_in(desk_browser, desk.email)
    assert desk_browser.get("/staff/").status_code == 200
    accounts.set_active(desk.id, False, db.session.get(User, admin.id))
    assert desk_browser.get("/staff/").status_code == 302
    assert sign_in(app.test_client(), desk.email).status_code == 401


def test_idle_and_absolute_timeouts(app, client, make_user, clock):
    user = make_user("front_desk")
    sign_in(client, user.email)
    start = clock.now()

    def at(minutes):
        clock.set(start + timedelta(minutes=minutes))

    # Active every 20 minutes for 11 hours: never idle, still signed in.
    for minutes in range(20, 11 * 60, 20):
        at(minutes)
        assert client.get("/staff/").status_code == 200, minutes
    # Past the 12-hour absolute limit, even while active.
    at(12 * 60 + 5)
    assert client.get("/staff/").status_code == 302

    other = app.test_client()
    clock.set(start)
    sign_in(other, user.email)
    at(29)
    assert other.get("/staff/").status_code == 200
    at(29 + 31)  # 31 minutes idle
    assert other.get("/staff/").status_code == 302
    ended = db.session.scalars(sa.select(StaffSession.ended_at)).all()
    assert all(ended)


def test_a_new_session_at_every_sign_in(client, make_user):
    user = make_user("front_desk")
    sign_in(client, user.email)
    first = client.get_cookie("session").value
    sign_in_again = client.post("/staff/logout", data={"csrf_token": token(client)})
    assert sign_in_again.status_code == 303
    sign_in(client, user.email)
    assert client.get_cookie("session").value != first
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffSession)) == 2


def test_cli_creates_an_account_asking_for_the_password(app, demo):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "--email", "Maya.Chen@Harbor.example",
                                 "--role", "therapist", "--therapist", "maya-chen"],
                           input="a long enough password\na long enough password\n")
    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(User))
    assert user.email == "maya.chen@harbor.example" and user.therapist.slug == "maya-chen"
    short = runner.invoke(args=["users", "create", "--email", "x@harbor.example", "--role",
                                "admin"], input="short\nshort\n")
    assert short.exit_code != 0 and "at least 12 characters" in short.output
    assert runner.invoke(args=["users", "create", "--email", "x@harbor.example", "--role",
                               "admin", "--password", "whatever-long-1"]).exit_code != 0


def test_cookies_are_httponly_and_samesite(client, make_user):
    user = make_user("front_desk")
    response = sign_in(client, user.email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_changing_ones_password_signs_out_other_devices(app, client, make_user):
    user = make_user("front_desk")
    other = app.test_client()
    sign_in(client, user.email)
    sign_in(other, user.email)
    url = "/staff/password"
    wrong = client.post(url, data={"csrf_token": token(client, url), "current": "nope",
                                   "new": "a brand new password"})
    assert wrong.status_code == 422 and "isn&#39;t your current password" in wrong.text
    short = client.post(url, data={"csrf_token": token(client, url), "current": PASSWORD,
                                   "new": "short"})
    assert short.status_code == 422 and "at least 12 characters" in short.text
    done = client.post(url, data={"csrf_token": token(client, url), "current": PASSWORD,
                                  "new": "a brand new password"})
    assert done.status_code == 303
    assert client.get("/staff/").status_code == 200
    assert other.get("/staff/").status_code == 302
    fresh = app.test_client()
    assert sign_in(fresh, user.email).status_code == 401
    assert sign_in(fresh, user.email, "a brand new password").status_code == 303
    assert "password_change" in audit_actions()


def test_common_and_guessable_passwords_are_refused_with_the_reason_beside_the_field(
        app, client, make_user):
    user = make_user("front_desk", email="robin.ashby@harbor.example")
    sign_in(client, user.email)
    url = "/staff/password"
    for weak, reason in [("password1234", "This is a very common password"),
                         ("RobinAshby2026", "built from your name, your email"),
                         ("harborlight2026", "built from your name, your email"),
                         ("qwertyuiopasdf", "similar to a commonly used password")]:
        answer = client.post(url, data={"csrf_token": token(client, url), "current": PASSWORD,
                                        "new": weak})
        assert answer.status_code == 422, weak
        text = unescape(answer.text)
        assert reason in text and "Try a few unrelated words together" in text, weak
        assert sign_in(app.test_client(), user.email, weak).status_code == 401
    # An admin creating an account meets the same check.
    admin = make_user("admin")
    browser = app.test_client()
    sign_in(browser, admin.email)
    page = "/staff/admin/accounts"
    made = browser.post(page, data={"csrf_token": token(browser, page), "role": "front_desk",
                                    "email": "new@harbor.example", "name": "New Person",
                                    "password": "password1234"})
    assert made.status_code == 422 and "very common password" in unescape(made.text)


def test_a_new_account_starts_with_the_least_access(app, make_user):
    browser = app.test_client()
    sign_in(browser, make_user("admin").email)
    page = browser.get("/staff/admin/accounts").text
    roles = page.split('name="role"')[1].split("</select>")[0]
    assert re.findall(r'<option value="(\w+)"', roles) == ["therapist", "front_desk", "admin"]
    assert re.search(r'<option value="therapist" selected', roles)


def test_the_dashboard_refreshing_itself_does_not_keep_a_session_awake(app, client, make_user,
                                                                       clock):
    user = make_user("front_desk")
    sign_in(client, user.email)
    start = clock.now()
    poll = {"HX-Request": "true", "HX-Trigger": "urgent-panel"}
    for minutes in (10, 20, 29):  # the panel asks for itself; nobody touches the page
        clock.set(start + timedelta(minutes=minutes))
        assert client.get("/staff/urgent", headers=poll).status_code == 200
    clock.set(start + timedelta(minutes=31))
    signed_out = client.get("/staff/urgent", headers=poll)
    assert signed_out.status_code == 204  # the whole page goes to sign in, names and all
    assert signed_out.headers["HX-Redirect"] == "/staff/login"
    assert client.get("/staff/").status_code == 302
