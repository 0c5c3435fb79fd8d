"""Settings a deployment turns on from the environment: HTTPS (Secure cookies, HSTS, https
links) and PROXY_FIX (the client's address and scheme from the reverse proxy), and how often
the worker reads therapists' calendars (CALENDAR_SYNC_MINUTES)."""

import subprocess
import sys
import threading
from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa
from flask_migrate import upgrade
from werkzeug.serving import make_server

from intake import config, create_app
from intake.audit import AuditEvent
from intake.calendars.busy import sync_due
from intake.calendars.models import ExternalCalendar
from intake.clock import now_utc
from intake.demo import load_demo
from intake.extensions import db
from intake.mail.delivery import deliver_due
from intake.staff.accounts import create_user
from intake.therapists.models import Therapist
from tests.helpers import PASSWORD, ROOT, book_directly, free_port

PROXIED = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
DEPLOYMENT_KEYS = ("SESSION_COOKIE_SECURE", "PREFERRED_URL_SCHEME", "PROXY_FIX",
                   "CALENDAR_SYNC_MINUTES")


@pytest.fixture
def deployed(settings, tmp_path):
    """Return a function: the app as the given environment variables configure it."""
    made = []

    def make(**env):
        loaded = config.load(str(tmp_path), {"SECRET_KEY": "x", **env})
        app = create_app({**settings, **{k: loaded[k] for k in DEPLOYMENT_KEYS}})
        context = app.app_context()
        context.push()
        upgrade()
        made.append(context)
        return app

    yield make
    for context in reversed(made):
        db.session.remove()
        db.engine.dispose()
        context.pop()


def signed_in_through(app, headers):
    """Sign a new front-desk account in over real HTTP (plain, as from a proxy), sending
    `headers` with the login; return the login response and the address its audit event
    recorded."""
    create_user("desk@harbor.example", PASSWORD, "front_desk", name="Desk")
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        response = requests.post(f"http://127.0.0.1:{server.server_port}/staff/login",
                                 data={"email": "desk@harbor.example", "password": PASSWORD},
                                 headers=headers, allow_redirects=False, timeout=10)
    finally:
        server.shutdown()
    address = db.session.scalar(sa.select(AuditEvent.address).where(AuditEvent.action == "login"))
    return response, address


def test_https_behind_one_proxy_gives_secure_cookies_hsts_and_the_clients_address(deployed):
    app = deployed(HTTPS="true", PROXY_FIX="1")
    response, address = signed_in_through(app, PROXIED)
    assert response.status_code == 303
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert address == "203.0.113.9"
    assert app.config["PREFERRED_URL_SCHEME"] == "https"  # links built outside a request


def test_without_https_cookies_are_not_secure_and_there_is_no_hsts(deployed):
    app = deployed(PROXY_FIX="1")
    response, _ = signed_in_through(app, {"X-Forwarded-For": "203.0.113.9"})
    assert response.status_code == 303
    assert "Secure" not in response.headers["Set-Cookie"]
    assert "Strict-Transport-Security" not in response.headers


def test_without_proxy_fix_forwarded_headers_are_not_believed(deployed):
    app = deployed(HTTPS="true")
    response, address = signed_in_through(app, PROXIED)
    assert response.status_code == 303
    assert address == "127.0.0.1"  # not the address a client could claim in a header
    assert "Strict-Transport-Security" not in response.headers  # the request came over http


def test_calendars_are_read_again_every_calendar_sync_minutes(settings, deployed, clock):
    settings["CALENDAR_ALLOW_PRIVATE"] = True
    app = deployed(CALENDAR_SYNC_MINUTES="20")
    assert app.config["CALENDAR_SYNC_MINUTES"] == 20
    load_demo(clock.now())
    therapist = db.session.scalar(sa.select(Therapist).limit(1))
    # Nothing listens on port 9: each read fails at once and is recorded as a try.
    row = ExternalCalendar(therapist_id=therapist.id, kind="ics", url="http://127.0.0.1:9/x.ics",
                           created_at=clock.now())
    db.session.add(row)
    db.session.commit()
    assert sync_due() == (0, 1)  # never read: at once
    clock.advance(timedelta(minutes=19, seconds=59))
    assert sync_due() == (0, 0)
    clock.advance(timedelta(seconds=1))
    assert sync_due() == (0, 1)
    db.session.refresh(row)
    assert row.last_attempt_at == clock.now()


def test_the_web_app_never_loads_the_workers_delivery_code(tmp_path):
    """A web process assembles every page and command without the worker or its SMTP code."""
    script = ("import sys; from intake import create_app; "
              f"create_app({{'SQLALCHEMY_DATABASE_URI': 'sqlite:///{tmp_path}/w.db', "
              "'SECRET_KEY': 'x' * 32}); "
              "print(sorted(m for m in ('intake.worker', 'intake.mail.delivery') "
              "if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True, cwd=ROOT).stdout.strip()
    assert loaded == "[]"


def test_production_settings_that_would_expose_clients_refuse_to_start(tmp_path):
    base = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p.db", "SECRET_KEY": "k" * 32}
    create_app(base)  # a long secret and no mail login: starts

    with pytest.raises(RuntimeError, match="SECRET_KEY must be at least 32 characters"):
        create_app({**base, "SECRET_KEY": "k" * 31})
    with pytest.raises(RuntimeError, match="neither MAIL_USE_TLS nor MAIL_USE_SSL"):
        create_app({**base, "MAIL_USERNAME": "bookings@practice.example"})
    create_app({**base, "MAIL_USERNAME": "bookings@practice.example", "MAIL_USE_TLS": True})
    create_app({**base, "MAIL_USERNAME": "bookings@practice.example", "MAIL_USE_SSL": True})

    # Development (the dev inbox) may run with a short secret.
    create_app({**base, "SECRET_KEY": "dev", "DEV_INBOX": True})


def test_the_database_and_delivered_emails_are_readable_by_their_owner_only(tmp_path):
    database = tmp_path / "data" / "intake.db"
    sink = tmp_path / "mail"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
                      "SECRET_KEY": "k" * 32, "MAIL_SINK_DIR": str(sink)})
    with app.app_context():
        upgrade()
        load_demo(now_utc())
        book_directly("maya-chen")
        assert deliver_due().sent == 2
        db.session.remove()
    assert database.parent.stat().st_mode & 0o777 == 0o700
    assert sink.stat().st_mode & 0o777 == 0o700
    files = [database, database.with_name("intake.db-wal"), *sink.glob("*.eml")]
    assert len(files) == 4
    assert {path.name: path.stat().st_mode & 0o777 for path in files} == {
        path.name: 0o600 for path in files}

    # Files made earlier with wider permissions are narrowed when the app opens them.
    wal = database.with_name("intake.db-wal")
    database.chmod(0o644)
    wal.chmod(0o644)
    create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}", "SECRET_KEY": "k" * 32})
    assert database.stat().st_mode & 0o777 == wal.stat().st_mode & 0o777 == 0o600


def test_the_development_inbox_refuses_to_serve_beyond_this_machine(tmp_path):
    base = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/d.db", "SECRET_KEY": "dev",
            "DEV_INBOX": True}
    create_app({**base, "BASE_URL": "http://localhost:5000"})
    for unsafe in ({"BASE_URL": "https://book.practice.example"},
                   {"BASE_URL": "http://127.0.0.1:5000", "SESSION_COOKIE_SECURE": True}):
        with pytest.raises(RuntimeError, match="DEV_INBOX shows every email"):
            create_app({**base, **unsafe})
