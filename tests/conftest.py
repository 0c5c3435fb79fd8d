"""Fixtures: the app on a fresh migrated database (SQLite, or PostgreSQL started here), a real
SMTP server, a live HTTP server, and helpers that walk the intake like a person would."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import limits.storage.memory as limits_memory
import pytest
from aiosmtpd.controller import Controller
from flask import g
from flask_migrate import upgrade
from werkzeug.serving import make_server

from intake import create_app
from intake.extensions import db

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


class _DaemonTimer(threading.Timer):
    """A timer that never keeps the process alive."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.daemon = True


class _ThreadingWithDaemonTimers:
    """`threading` as the rate limiter's in-memory storage sees it in the tests: its expiry
    timer is a daemon. Under a shifted clock (libfaketime) a timed wait never ends, and that
    timer would keep the test process from exiting."""

    Timer = _DaemonTimer

    def __getattr__(self, name):
        return getattr(threading, name)


if "faketime" in os.environ.get("LD_PRELOAD", ""):
    limits_memory.threading = _ThreadingWithDaemonTimers()
ROOT = Path(__file__).resolve().parent.parent


def missing(what: str) -> None:
    """Fail in CI, skip elsewhere, when a real component the test needs is not installed."""
    if IN_CI:
        pytest.fail(f"{what} is required in CI but is not available")
    pytest.skip(f"{what} is not available")


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- PostgreSQL

class Postgres:
    """A throwaway PostgreSQL server on 127.0.0.1, run as an unprivileged user."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="intake-pg-"))
        self.port = free_port()
        self.counter = itertools.count()
        self.user = None
        if os.geteuid() == 0:
            self.user = "pgtest"
            if subprocess.run(["id", "-u", self.user], capture_output=True).returncode != 0:
                subprocess.run(["useradd", "-M", "-s", "/bin/false", self.user], check=True)
            shutil.chown(self.dir, self.user)
            self.dir.chmod(0o700)

    def _run(self, *args: str) -> None:
        command = list(args)
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, capture_output=True)

    def start(self) -> None:
        data = self.dir / "data"
        self._run("initdb", "-D", str(data), "-A", "trust", "-U", "postgres")
        self._run("pg_ctl", "-D", str(data), "-w", "-l", str(self.dir / "log"), "-o",
                  f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off",
                  "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, name: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def new_database(self) -> str:
        """Return the URL of a new empty database."""
        import psycopg

        name = f"t{next(self.counter)}"
        with psycopg.connect(self.url().replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)


def running_postgres():
    """Yield a started PostgreSQL server, stopped afterwards; fail in CI if its binaries are
    missing (skip elsewhere)."""
    if not shutil.which("initdb") or not shutil.which("pg_ctl"):
        missing("PostgreSQL (initdb, pg_ctl)")
    server = Postgres()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres():
    """Start PostgreSQL once for the session."""
    yield from running_postgres()


# ---------------------------------------------------------------- the app

@pytest.fixture(params=[os.environ.get("INTAKE_TEST_DATABASE", "sqlite")])
def backend(request):
    """The database backend: SQLite unless INTAKE_TEST_DATABASE=postgresql; tests that must
    hold on both parametrize this indirectly."""
    return request.param


@pytest.fixture
def database_url(backend, tmp_path, request):
    """Return a fresh database URL for the test's backend."""
    if backend == "postgresql":
        return request.getfixturevalue("postgres").new_database()
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def settings(database_url, tmp_path):
    """Return the configuration the test app starts with (tests may change it first)."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "INTAKE_MIN_SECONDS": 0,
        "RATELIMIT_ENABLED": False,
        "MAIL_SERVER": "",
        "MAIL_SINK_DIR": str(tmp_path / "mail"),
        "MAIL_DEFAULT_SENDER": "bookings@harbor.example",
        "STAFF_EMAIL": "frontdesk@harbor.example",
        "BASE_URL": "http://127.0.0.1:5000",
        "DEV_INBOX": True,
        "PRACTICE_TIMEZONE": "America/New_York",
    }


@pytest.fixture
def app(settings):
    """Return the app on a freshly migrated database, inside an app context."""
    application = create_app(settings)

    def fresh_g():
        # Tests keep one app context open (for db.session); in production every request has
        # its own, so start each test request with an empty `g` as a real one would.
        for key in list(vars(g)):
            g.pop(key)

    application.before_request_funcs.setdefault(None, []).insert(0, fresh_g)

    with application.app_context():
        upgrade()
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def clock():
    """The app's one clock, stopped at the real time now: `clock.set(instant)` and
    `clock.advance(delta)` move it for every page, service and worker job alike."""
    from intake.clock import now_utc, stopped_at

    with stopped_at(now_utc()) as handle:
        yield handle


@pytest.fixture
def demo(app):
    """Load the demo practice."""
    from intake.clock import now_utc
    from intake.demo import load_demo

    load_demo(now_utc())


# ---------------------------------------------------------------- SMTP

class Inbox:
    """Collects what the SMTP server received."""

    def __init__(self):
        self.envelopes = []
        self.refuse: int | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return f"{self.refuse} Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    @property
    def messages(self):
        """Return received messages parsed with the standard library's modern policy."""
        return [message_from_bytes(e.content, policy=default_policy) for e in self.envelopes]

    def to(self, address: str):
        """Return messages delivered to `address`."""
        return [m for e, m in zip(self.envelopes, self.messages, strict=True)
                if address in e.rcpt_tos]


@pytest.fixture
def smtp(app):
    """Run a real SMTP server on 127.0.0.1 and point the app's mail settings at it."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_TIMEOUT=5)
    yield inbox
    controller.stop()


@pytest.fixture
def smtp_server():
    """Run a real SMTP server on 127.0.0.1 for other processes (no app needed); yield
    (inbox, port)."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


# ---------------------------------------------------------------- Redis and other processes

def wait_for_port(port: int, process: subprocess.Popen, what: str, timeout: float = 20) -> None:
    """Return once `process` accepts connections on `port`; fail if it stops or is too slow."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what} stopped: {process.stdout.read() if process.stdout else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"{what} did not start")


def without_faketime() -> dict[str, str]:
    """Return this process's environment without libfaketime's preload: Redis does not start
    under it, and a server's own clock does not matter to what the tests check."""
    return {k: v for k, v in os.environ.items()
            if k not in ("LD_PRELOAD", "FAKETIME", "FAKETIME_NO_CACHE", "DONT_FAKE_MONOTONIC")}


@pytest.fixture
def redis_url(tmp_path):
    """Run a throwaway Redis server on 127.0.0.1; yield its URL."""
    if not shutil.which("redis-server"):
        missing("Redis (Debian package 'redis-server')")
    port = free_port()
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                               env=without_faketime())
    wait_for_port(port, process, "Redis")
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(10)


# ---------------------------------------------------------------- live server

@pytest.fixture
def live_server(app):
    """Serve the app over HTTP on 127.0.0.1 in a thread; yield its base URL."""
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


# ---------------------------------------------------------------- walking the intake

GOOD_ANSWERS = {
    "safety": "no",
    "concerns": ["conflict", "withdrawal"],
    "story": "We keep having the same fight about chores and it ends in silence.",
    "modality": "couples",
    "kind": "couple",
    "partner_name": "Robin",
    "format": "telehealth",
    "language": "en",
    "times": ["evening"],
    "timezone": "Europe/London",
    "name": "Alex Morgan",
    "email": "alex@client.example",
    "phone": "+44 20 7946 0000",
    "consent_contact": "y",
    "consent_privacy": "y",
}


def post_step(client, step: int, answers: dict, nav: str = "next", headers=None):
    """Post the intake form as a browser would from `step`; return the response."""
    data = {k: v for k, v in answers.items() if v is not None}
    data.update(step=str(step), nav=nav)
    return client.post("/intake", data=data, headers=headers or {})


def fill_intake(client, **changes) -> str:
    """Walk every step with good answers (plus `changes`); return the intake's reference."""
    answers = {**GOOD_ANSWERS, **changes}
    for step in range(3):
        response = post_step(client, step, answers)
        assert response.status_code == 200, response.text
    response = post_step(client, 3, answers)
    assert response.status_code == 303, response.text
    return re.search(r"/intake/([^/]+)/match", response.headers["Location"]).group(1)


def slot_links(html: str) -> list[str]:
    """Return the review links of the open times on a page."""
    return [link.replace("&amp;", "&") for link in re.findall(r'href="([^"]*/book/[^"]+)"', html)]


def hidden_inputs(html: str) -> dict[str, str]:
    """Return the hidden inputs of a page's form by name."""
    return dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*type="hidden"[^>]*value="([^"]*)"',
                           html))


def wait_for(predicate, timeout: float = 10.0):
    """Return the predicate's first truthy value, polling until `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def book_first_time(client, slug: str, **intake_changes):
    """Fill an intake and book the first open time with `slug`; return the appointment."""
    import sqlalchemy as sa

    from intake.appointments.models import Appointment

    reference = fill_intake(client, **intake_changes)
    page = client.get(f"/intake/{reference}/match")
    link = next(link for link in slot_links(page.text) if f"/book/{slug}?" in link)
    review = client.get(link)
    action = re.search(r'<form method="post" action="([^"]+)"', review.text).group(1)
    done = client.post(action, data=hidden_inputs(review.text))
    assert done.status_code == 303, done.text
    uid = done.headers["Location"].rsplit("/", 1)[1]
    return db.session.scalar(sa.select(Appointment).where(Appointment.uid == uid))


# ---------------------------------------------------------------- staff accounts

PASSWORD = "correct horse battery staple"


@pytest.fixture
def make_user(app):
    """Return a function that creates an account: role, and a therapist slug for therapists."""
    counter = iter(range(1000))

    def make(role: str, slug: str | None = None, email: str | None = None):
        import sqlalchemy as sa

        from intake.staff.accounts import create_user
        from intake.therapists.models import Therapist

        therapist_id = None
        if slug:
            therapist_id = db.session.scalar(sa.select(Therapist.id).where(Therapist.slug == slug))
        email = email or f"{role}{next(counter)}@harbor.example"
        return create_user(email, PASSWORD, role, name=role.title(), therapist_id=therapist_id)

    return make




def book_directly(slug: str, **intake_changes):
    """Record an intake and book the therapist's first open time through the services (no web);
    return the appointment."""
    import secrets

    import sqlalchemy as sa

    from intake.appointments.services import book
    from intake.clock import now_utc
    from intake.intakes.services import submit
    from intake.scheduling.services import next_open_times
    from intake.therapists.models import Therapist

    answers = {**GOOD_ANSWERS, **intake_changes}
    answers["consent_contact"] = answers["consent_privacy"] = True
    intake = submit(answers, answers["safety"])
    therapist = db.session.scalar(sa.select(Therapist).where(Therapist.slug == slug))
    (slot,) = next_open_times(therapist, now_utc(), 1)
    return book(intake, therapist, slot.starts_at, secrets.token_urlsafe(24)).appointment
