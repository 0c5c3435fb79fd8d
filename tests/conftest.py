"""Fixtures: the app on a fresh migrated database (SQLite, or PostgreSQL started here), a real
SMTP server, Redis, a live HTTP server and staff accounts. Plain helpers are in helpers.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from email import message_from_bytes
from email.policy import default as default_policy

import limits.storage.memory as limits_memory
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import g
from flask_migrate import upgrade
from werkzeug.serving import make_server

from intake import create_app
from intake.clock import now_utc, stopped_at
from intake.demo import load_demo
from intake.extensions import db
from intake.staff.accounts import create_user
from intake.therapists.models import Therapist
from tests.helpers import (
    PASSWORD,
    ROOT,
    free_port,
    missing,
    running_postgres,
    wait_for_port,
    without_faketime,
)


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
# ---------------------------------------------------------------- PostgreSQL

def pytest_sessionstart(session):
    """Outside CI, compile the translations when their catalogues are newer (as `make install`
    does); in CI the Makefile's own step is what is tested, so nothing is done here."""
    if os.environ.get("CI"):
        return
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in (ROOT / "intake" / "translations").glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as source, mo.open("wb") as target:
                write_mo(target, read_po(source))


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
        "BOOKINGS_PER_EMAIL_PER_DAY": 1000,  # tests book often with one address; see test_caps
        # Staff sign in with the password alone here; tests/staff/test_second_factor.py (and
        # the staff browser journey) sign in as the roles really must, with a code.
        "SECOND_FACTOR_ROLES": (),
        "MAIL_SERVER": "",
        "MAIL_SINK_DIR": str(tmp_path / "mail"),
        "MAIL_DEFAULT_SENDER": "bookings@harbor.example",
        "STAFF_EMAIL": "frontdesk@harbor.example",
        "BASE_URL": "http://127.0.0.1:5000",
        "DEV_INBOX": True,
        "PRACTICE_TIMEZONE": "America/New_York",
    }


@pytest.fixture
def with_csrf(settings):
    """Check CSRF tokens as in production (the other tests leave it off)."""
    settings["WTF_CSRF_ENABLED"] = True


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
    with stopped_at(now_utc()) as handle:
        yield handle


@pytest.fixture
def demo(app):
    """Load the demo practice."""
    load_demo(now_utc())


# ---------------------------------------------------------------- SMTP

class Inbox:
    """Collects what the SMTP server received."""

    def __init__(self):
        self.envelopes = []
        self.refuse: int | None = None
        self.unknown: set[str] = set()  # addresses refused for good, as a real server would

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return f"{self.refuse} Mailbox unavailable"
        if address in self.unknown:
            return "550 No such mailbox"
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

# ---------------------------------------------------------------- staff accounts

@pytest.fixture
def make_user(app):
    """Return a function that creates an account: role, and a therapist slug for therapists."""
    counter = iter(range(1000))

    def make(role: str, slug: str | None = None, email: str | None = None):
        therapist_id = None
        if slug:
            therapist_id = db.session.scalar(sa.select(Therapist.id).where(Therapist.slug == slug))
        email = email or f"{role}{next(counter)}@harbor.example"
        return create_user(email, PASSWORD, role, name=role.title(), therapist_id=therapist_id)

    return make




