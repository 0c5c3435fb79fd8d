"""Forgetting a password: a link by email that works once, for 30 minutes, and ends every
other session; the same answer whether or not an account exists."""

from __future__ import annotations

import re
from datetime import timedelta
from email import message_from_bytes, policy
from html import unescape

import sqlalchemy as sa

from intake.extensions import db
from intake.mail.models import OutboxMessage
from tests.helpers import PASSWORD, sign_in, token

NEW = "lantern orchard quietly"


def ask(client, email):
    url = "/staff/password/forgot"
    return client.post(url, data={"csrf_token": token(client, url), "email": email})


def reset_link(email) -> str:
    """Return the site path of the reset link in the newest email to `email`."""
    row = db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.recipient == email, OutboxMessage.kind == "password_reset")
        .order_by(OutboxMessage.id.desc())).first()
    text = message_from_bytes(row.raw, policy=policy.default).get_body(("plain",)).get_content()
    return re.search(r"http://127\.0\.0\.1:5000(/staff/password/reset/\S+)", text).group(1)


def choose(client, path, password):
    return client.post(path, data={"csrf_token": token(client, path), "new": password})


def test_a_reset_link_works_once_and_ends_every_other_session(app, client, make_user):
    user = make_user("front_desk")
    elsewhere = app.test_client()
    assert sign_in(elsewhere, user.email).status_code == 303

    unknown = ask(client, "nobody@harbor.example")
    known = ask(client, user.email.upper())
    assert unknown.status_code == known.status_code == 200
    assert unknown.text == known.text and "Check your email" in known.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 1

    path = reset_link(user.email)
    assert "Choose a new password" in client.get(path).text
    weak = choose(client, path, "password1234")
    assert weak.status_code == 422 and "very common password" in unescape(weak.text)
    done = choose(client, path, NEW)
    assert done.status_code == 303 and done.headers["Location"] == "/staff/login"

    assert elsewhere.get("/staff/").status_code == 302  # signed out everywhere
    assert sign_in(app.test_client(), user.email).status_code == 401  # the old password
    assert sign_in(app.test_client(), user.email, NEW).status_code == 303
    used = client.get(path)
    assert used.status_code == 404 and "no longer works" in used.text
    assert choose(client, path, "another fine passphrase").status_code == 404


def test_a_reset_link_lasts_thirty_minutes(app, client, demo, make_user, clock):
    user = make_user("therapist", "maya-chen")
    ask(client, user.email)
    path = reset_link(user.email)
    clock.advance(timedelta(minutes=29))
    assert client.get(path).status_code == 200
    clock.advance(timedelta(minutes=2))
    assert client.get(path).status_code == 404
    assert sign_in(app.test_client(), user.email, PASSWORD).status_code == 303
