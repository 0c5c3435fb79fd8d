"""The database busy or gone: a calm 503 with Retry-After, never a 500, and a form being sent
comes back with everything typed (and its idempotency key), so sending it again books once.

Each test here picks its own database (SQLite held locked by a second connection, or a
PostgreSQL server of its own that is stopped and started again), so the module runs once: in
the first pass of `make test`, not again in the PostgreSQL pass.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from intake.appointments.models import Appointment
from intake.database import IDLE_BEFORE_PING
from intake.extensions import db
from intake.intakes.models import Intake
from tests.helpers import (
    GOOD_ANSWERS,
    Postgres,
    fill_intake,
    hidden_inputs,
    post_step,
    running_postgres,
    slot_links,
)

HTMX = {"HX-Request": "true"}
BUSY_SECONDS = 1


# ---------------------------------------------------------------- databases of their own

@pytest.fixture
def own_postgres():
    """Start a PostgreSQL server for this test alone (the session's one is shared)."""
    yield from running_postgres()


@pytest.fixture
def database_url(request, tmp_path):
    """Return a new database on the test's own PostgreSQL when it asks for `own_postgres`,
    else a SQLite file; never the `backend` of the run."""
    if "own_postgres" in request.fixturenames:
        return request.getfixturevalue("own_postgres").new_database()
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def settings(settings):
    """The usual test settings, with a one-second SQLite busy timeout."""
    return {**settings, "DATABASE_BUSY_SECONDS": BUSY_SECONDS}


@contextmanager
def write_lock() -> Iterator[None]:
    """Hold SQLite's write lock from a second connection, as a long write elsewhere would."""
    other = sqlite3.connect(db.engine.url.database, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def pg_ctl(server: Postgres, *args: str) -> None:
    """Run pg_ctl on the server's data folder, as its unprivileged user (the data is kept)."""
    server._run("pg_ctl", "-D", str(server.dir / "data"), "-w", *args)


def stop_keeping_data(server: Postgres) -> None:
    """Stop the server as an administrator would; its data stays for a restart."""
    pg_ctl(server, "-m", "fast", "stop")


def start_again(server: Postgres) -> None:
    """Start the stopped server on the same port with the same data."""
    pg_ctl(server, "-l", str(server.dir / "log"), "-o",
           f"-p {server.port} -k {server.dir} -c listen_addresses=127.0.0.1 -c fsync=off",
           "start")


# ---------------------------------------------------------------- reading pages as a browser

class FormValues(HTMLParser):
    """Collect what a browser would send from a page's form: inputs, ticked boxes, text areas
    and chosen options (buttons excluded)."""

    def __init__(self):
        super().__init__()
        self.values: list[tuple[str, str]] = []
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("submit", "button") or (kind in ("checkbox", "radio")
                                               and "checked" not in attrs):
                return
            self.values.append((name, attrs.get("value") or ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self.values.append((name, ""))
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select and "selected" in attrs:
            self.values.append((self._select, attrs.get("value", "")))

    def handle_data(self, data):
        if self._textarea:
            name, text = self.values.pop()
            self.values.append((name, text + data))

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None


def form_values(html: str) -> dict[str, list[str]]:
    """Return what the page's form would send, each name with its list of values."""
    parser = FormValues()
    parser.feed(html)
    values: dict[str, list[str]] = {}
    for name, value in parser.values:
        values.setdefault(name, []).append(value)
    return values


def form_action(html: str) -> str:
    """Return where the page's booking form posts."""
    return re.search(r'<form method="post" action="([^"]+)"', html).group(1)


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def assert_calm_503(response) -> None:
    """A 503 that says when to try again, in the product's voice, with a way to call."""
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "30"
    assert "Traceback" not in response.text and "OperationalError" not in response.text
    assert "+1 555 010 2040" in response.text  # the practice's phone
    assert 'href="tel:988"' in response.text  # the crisis line, as on every page


def review_first_time(client, reference: str):
    """Open the review page of the first open time on the match page."""
    page = client.get(f"/intake/{reference}/match")
    review = client.get(slot_links(page.text)[0])
    assert review.status_code == 200, review.text
    return review


# ---------------------------------------------------------------- SQLite: the write lock held

def test_a_locked_database_gives_the_intake_back_and_saves_it_once_unlocked(client):
    answers = dict(GOOD_ANSWERS)
    for step in range(3):
        assert post_step(client, step, answers).status_code == 200
    started = time.monotonic()
    with write_lock():
        busy = post_step(client, 3, answers)
        htmx = post_step(client, 3, answers, headers=HTMX)
    assert time.monotonic() - started < 10 * BUSY_SECONDS  # DATABASE_BUSY_SECONDS, not 15 s

    assert_calm_503(busy)
    assert "We couldn't save this just now" in busy.text
    assert "Nothing you typed is lost" in busy.text and "See who fits" in busy.text
    sent_back = form_values(busy.text)
    for name, value in answers.items():
        assert sent_back[name] == (value if isinstance(value, list) else [value]), name
    assert count(Intake) == 0
    # With htmx only the step is swapped in place, with the same note and answers.
    assert htmx.status_code == 503 and htmx.headers["Retry-After"] == "30"
    step = re.sub(r"^\s*<title>[^<]*</title>\s*", "", htmx.text)  # the step names the page
    assert step.startswith('<div id="intake-step"') and "<html" not in htmx.text
    assert "We couldn't save this just now" in htmx.text
    assert form_values(htmx.text)["story"] == [answers["story"]]

    # The lock is gone: sending what the page holds finishes the intake, once.
    done = post_step(client, 3, sent_back)
    assert done.status_code == 303, done.text
    assert re.search(r"/intake/[^/]+/match$", done.headers["Location"])
    assert count(Intake) == 1
    assert db.session.scalar(sa.select(Intake.story)) == answers["story"]


def test_a_locked_database_still_shows_crisis_help_at_once(client):
    with write_lock():
        busy = post_step(client, 0, {"safety": "yes"})
    assert_calm_503(busy)
    assert "Help is available right now" in busy.text
    assert form_values(busy.text)["safety"] == ["yes"]
    assert count(Intake) == 0


def test_a_locked_database_gives_the_booking_back_and_books_it_once(client, demo):
    reference = fill_intake(client)
    review = review_first_time(client, reference)
    action, sent = form_action(review.text), hidden_inputs(review.text)
    assert set(sent) >= {"start", "key", "tz"}

    with write_lock():
        busy = client.post(action, data=sent)
    assert_calm_503(busy)
    assert "We couldn't save this just now" in busy.text and "Book this time" in busy.text
    assert hidden_inputs(busy.text) == sent  # the same time and the same idempotency key
    assert form_action(busy.text) == action
    assert count(Appointment) == 0

    done = client.post(form_action(busy.text), data=hidden_inputs(busy.text))
    assert done.status_code == 303, done.text
    assert "/booked/" in done.headers["Location"]
    assert count(Appointment) == 1
    again = client.post(action, data=sent)  # pressed once more: the same booking
    assert again.status_code == 303
    assert again.headers["Location"] == done.headers["Location"]
    assert count(Appointment) == 1


# ---------------------------------------------------------------- PostgreSQL: stopped, started

def test_postgres_restarted_while_the_app_sat_idle_loses_nobody_a_page(own_postgres, client,
                                                                      demo):
    reference = fill_intake(client)
    match_url = f"/intake/{reference}/match"
    assert client.get(match_url).status_code == 200
    db.session.remove()  # as at the end of a served request: its connection waits in the pool

    stop_keeping_data(own_postgres)
    start_again(own_postgres)
    time.sleep(IDLE_BEFORE_PING)  # a restart takes longer than this anyway

    # The pooled connection died with the old server; it is tested before use and replaced.
    assert client.get(match_url).status_code == 200


def test_postgres_stopped_gives_calm_pages_and_started_again_works(own_postgres, client, demo):
    reference = fill_intake(client)
    match_url = f"/intake/{reference}/match"
    review = review_first_time(client, reference)
    action, sent = form_action(review.text), hidden_inputs(review.text)

    stop_keeping_data(own_postgres)
    try:
        match = client.get(match_url)
        assert_calm_503(match)
        assert "Please give us a moment" in match.text
        htmx = client.get(match_url, headers=HTMX)
        assert htmx.status_code == 503 and htmx.headers["Retry-After"] == "30"
        assert htmx.headers["HX-Retarget"] == "#main" and "<html" not in htmx.text
        busy = client.post(action, data=sent)
        assert_calm_503(busy)
        assert hidden_inputs(busy.text) == sent and form_action(busy.text) == action
        intake = post_step(client, 3, GOOD_ANSWERS)
        assert_calm_503(intake)
        assert form_values(intake.text)["email"] == [GOOD_ANSWERS["email"]]
    finally:
        start_again(own_postgres)

    # The same app, not restarted: connections idle through the outage are tested and replaced.
    assert client.get(match_url).status_code == 200
    done = client.post(action, data=hidden_inputs(busy.text))
    assert done.status_code == 303, done.text
    assert count(Appointment) == 1
