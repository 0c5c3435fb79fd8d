"""Two-step sign-in: required for admins and the front desk, offered to therapists; a stolen
password alone reads nothing."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pyotp
import pytest
import sqlalchemy as sa

from intake.audit import AuditEvent
from intake.extensions import db, limiter
from intake.staff import accounts
from intake.staff.models import User
from tests.helpers import PASSWORD, csrf_from, token


@pytest.fixture
def required(settings):
    settings["SECOND_FACTOR_ROLES"] = ("admin", "front_desk")


def password_step(app, email, password=PASSWORD):
    """Give the email and password in a new browser; return it and the answer."""
    browser = app.test_client()
    page = browser.get("/staff/login")
    answer = browser.post("/staff/login?next=/staff/search", data={
        "email": email, "password": password, "csrf_token": csrf_from(page.text)})
    return browser, answer


def send_code(browser, path, code):
    return browser.post(path, data={"csrf_token": token(browser, path), "code": code})


def key_on(browser, path) -> str:
    """Return the key shown as text on the set-up page at `path`."""
    page = browser.get(path)
    assert page.status_code == 200 and 'src="data:image/svg+xml' in page.text
    return re.search(r'<code class="secret">([A-Z2-7]+)</code>', page.text).group(1)


def signed_in(browser) -> bool:
    return browser.get("/staff/").status_code == 200


def audit_actions():
    return db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()


def test_the_front_desk_sets_up_the_app_and_every_sign_in_asks_for_a_fresh_code(
        required, app, demo, make_user, clock):
    desk = make_user("front_desk")
    browser, answer = password_step(app, desk.email)
    assert answer.status_code == 303 and answer.headers["Location"] == "/staff/login/set-up"
    assert not signed_in(browser)  # the password alone reads nothing

    page = browser.get("/staff/login/set-up")
    assert page.status_code == 200 and 'src="data:image/svg+xml' in page.text
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page.text).group(1)
    totp = pyotp.TOTP(secret)
    wrong = send_code(browser, "/staff/login/set-up", "000000")
    assert wrong.status_code == 401 and "didn&#39;t match" in wrong.text
    assert not signed_in(browser)
    done = send_code(browser, "/staff/login/set-up", totp.at(clock.now()))
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([0-9a-f-]+)</code></li>", done.text)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert 'href="/staff/search"' in done.text  # then on to the page first asked for
    assert signed_in(browser)
    stored = db.session.scalar(sa.select(User.totp_secret).where(User.id == desk.id))
    assert stored and secret not in stored  # kept encrypted

    # The next sign-in asks for the code; the one used to set up is not accepted again.
    other, answer = password_step(app, desk.email)
    assert answer.headers["Location"] == "/staff/login/code"
    assert not signed_in(other)
    reused = send_code(other, "/staff/login/code", totp.at(clock.now()))
    assert reused.status_code == 401 and "didn't work" in unescape(reused.text)
    clock.advance(timedelta(seconds=30))
    fresh = send_code(other, "/staff/login/code", totp.at(clock.now()))
    assert fresh.status_code == 303 and fresh.headers["Location"] == "/staff/search"
    assert signed_in(other)

    # A recovery code signs in once.
    third, _ = password_step(app, desk.email)
    assert send_code(third, "/staff/login/code", codes[0].upper().replace("-", " ")
                     ).status_code == 303
    fourth, _ = password_step(app, desk.email)
    assert send_code(fourth, "/staff/login/code", codes[0]).status_code == 401
    assert not signed_in(fourth)
    assert {"second_factor_on", "second_factor_failed", "recovery_code_used"} <= set(
        audit_actions())

    # The password step is good for five minutes.
    late, _ = password_step(app, desk.email)
    clock.advance(timedelta(minutes=6))
    expired = send_code(late, "/staff/login/code", totp.at(clock.now()))
    assert expired.status_code == 303 and expired.headers["Location"] == "/staff/login"
    assert not signed_in(late)


def test_an_admin_resets_a_lost_second_factor_and_its_sessions_end(required, app, demo,
                                                                   make_user, clock):
    desk = make_user("front_desk")
    desk_browser, _ = password_step(app, desk.email)
    secret = key_on(desk_browser, "/staff/login/set-up")
    send_code(desk_browser, "/staff/login/set-up", pyotp.TOTP(secret).at(clock.now()))
    assert signed_in(desk_browser)

    admin = make_user("admin")
    admin_browser, answer = password_step(app, admin.email)
    assert answer.headers["Location"] == "/staff/login/set-up"  # admins must have it too
    admin_secret = key_on(admin_browser, "/staff/login/set-up")
    send_code(admin_browser, "/staff/login/set-up", pyotp.TOTP(admin_secret).at(clock.now()))
    accounts = admin_browser.get("/staff/admin/accounts")
    assert "Reset two-step sign-in" in accounts.text
    reset = admin_browser.post(f"/staff/admin/accounts/{desk.id}", data={
        "csrf_token": token(admin_browser, "/staff/admin/accounts"), "role": "front_desk",
        "action": "reset_second_factor"})
    assert reset.status_code == 303
    assert not signed_in(desk_browser)  # a lost phone's sessions end with it
    assert "second_factor_reset" in audit_actions()
    _, answer = password_step(app, desk.email)
    assert answer.headers["Location"] == "/staff/login/set-up"


def test_a_therapist_may_turn_it_on_and_is_then_asked_every_time(required, app, demo,
                                                                  make_user, clock):
    therapist = make_user("therapist", "maya-chen")
    browser, answer = password_step(app, therapist.email)
    assert answer.headers["Location"] == "/staff/search"  # offered, not required
    page = browser.get("/staff/two-step")
    assert "Set up two-step sign-in" in page.text
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page.text).group(1)
    done = send_code(browser, "/staff/two-step", pyotp.TOTP(secret).at(clock.now()))
    assert done.status_code == 200 and len(re.findall(r"<li><code>", done.text)) == 10
    assert "10 of your recovery codes are unused" in browser.get("/staff/two-step").text

    _, answer = password_step(app, therapist.email)
    assert answer.headers["Location"] == "/staff/login/code"


def test_odd_codes_are_refused_calmly_and_a_password_change_ends_the_pending_step(
        required, app, demo, make_user, clock):
    desk = make_user("front_desk")
    browser, _ = password_step(app, desk.email)
    secret = key_on(browser, "/staff/login/set-up")
    # The key being set up never rides in the cookie in clear (it is signed, not encrypted).
    cookie = browser.get_cookie("session").value
    assert secret not in cookie and secret not in unescape(repr(cookie))
    for odd in ["١٢٣٤٥٦", "é", "１２３４５６", "0" * 41]:
        assert send_code(browser, "/staff/login/set-up", odd).status_code in (401, 422), odd
    send_code(browser, "/staff/login/set-up", pyotp.TOTP(secret).at(clock.now()))

    other, _ = password_step(app, desk.email)
    for odd in ["١٢٣٤٥٦", "é"]:
        assert send_code(other, "/staff/login/code", odd).status_code == 401, odd
    # The password changes (a reset elsewhere) while this step waits: it is over.
    with app.test_request_context():
        user = db.session.get(User, desk.id)
        token_path = accounts.links.password_reset_url(user.id,
                                                       accounts.password_fingerprint(user))
    accounts.reset_password(token_path.rsplit("/", 1)[1], "lantern orchard quietly")
    clock.advance(timedelta(seconds=30))
    late = send_code(other, "/staff/login/code", pyotp.TOTP(secret).at(clock.now()))
    assert late.status_code == 303 and late.headers["Location"] == "/staff/login"
    assert not signed_in(other)


@pytest.fixture
def three_codes(settings):
    settings.update(RATELIMIT_ENABLED=True, LOGIN_LIMIT_ACCOUNT="3 per 15 minutes",
                    LOGIN_LIMIT_ADDRESS="100 per 15 minutes")


def test_typed_codes_are_counted_before_they_are_checked(required, three_codes, app, demo,
                                                          make_user, clock):
    limiter.reset()
    desk = make_user("front_desk")
    browser, _ = password_step(app, desk.email)
    secret = key_on(browser, "/staff/login/set-up")
    assert send_code(browser, "/staff/login/set-up", pyotp.TOTP(secret).at(clock.now())
                     ).status_code == 200  # a right code uses nothing up
    for step in range(2):  # nor do the right codes of later sign-ins
        clock.advance(timedelta(seconds=30))
        again, _ = password_step(app, desk.email)
        assert send_code(again, "/staff/login/code", pyotp.TOTP(secret).at(clock.now())
                         ).status_code == 303, step

    other, _ = password_step(app, desk.email)
    assert [send_code(other, "/staff/login/code", "123456").status_code
            for _ in range(3)] == [401, 401, 401]
    clock.advance(timedelta(seconds=30))
    # Three wrong codes use the limit up: even the right code waits now.
    right = send_code(other, "/staff/login/code", pyotp.TOTP(secret).at(clock.now()))
    assert right.status_code == 429 and not signed_in(other)
    limiter.reset()


def test_the_set_up_page_opens_the_app_on_a_phone_and_is_not_shown_once_signed_in(
        required, app, demo, make_user, clock):
    desk = make_user("front_desk")
    browser, _ = password_step(app, desk.email)
    page = browser.get("/staff/login/set-up")
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page.text).group(1)
    link = unescape(re.search(r'<a href="(otpauth://[^"]+)"', page.text).group(1))
    assert pyotp.parse_uri(link).secret == secret
    send_code(browser, "/staff/login/set-up", pyotp.TOTP(secret).at(clock.now()))
    for path, goes_to in [("/staff/login/set-up", "/staff/two-step"),
                          ("/staff/login/code", "/staff/")]:
        again = browser.get(path)
        assert again.status_code == 302 and again.headers["Location"] == goes_to, path
    assert "Please sign in again" not in browser.get("/staff/").text
