"""What the tests share that is not a fixture: walking the intake and booking as a person
would, signing in, waiting for servers, and the real components' whereabouts."""

from __future__ import annotations

import itertools
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from intake.appointments.models import Appointment
from intake.appointments.services import book
from intake.clock import now_utc
from intake.extensions import db
from intake.intakes.services import submit
from intake.scheduling.services import next_open_times
from intake.therapists.models import Therapist

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

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
    return [link.replace("&amp;", "&")
            for link in re.findall(r'href="(/intake/[^"]*/book/[^"]+)"', html)]


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
    reference = fill_intake(client, **intake_changes)
    page = client.get(f"/intake/{reference}/match")
    link = next(link for link in slot_links(page.text) if f"/book/{slug}?" in link)
    review = client.get(link)
    action = re.search(r'<form method="post" action="([^"]+)"', review.text).group(1)
    done = client.post(action, data=hidden_inputs(review.text))
    assert done.status_code == 303, done.text
    uid = done.headers["Location"].rsplit("/", 1)[1]
    return db.session.scalar(sa.select(Appointment).where(Appointment.uid == uid))

PASSWORD = "correct horse battery staple"

def book_directly(slug: str, **intake_changes):
    """Record an intake and book the therapist's first open time through the services (no web);
    return the appointment."""
    answers = {**GOOD_ANSWERS, **intake_changes}
    answers["consent_contact"] = answers["consent_privacy"] = True
    intake = submit(answers, answers["safety"])
    therapist = db.session.scalar(sa.select(Therapist).where(Therapist.slug == slug))
    (slot,) = next_open_times(therapist, now_utc(), 1)
    return book(intake, therapist, slot.starts_at, secrets.token_urlsafe(24)).appointment
NODE = ROOT / "node_modules"


def csrf_from(html: str) -> str:
    """Return the CSRF token in a page's form, or "" when it has none."""
    match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html)
    return match.group(1) if match else ""


def sign_in(client, email: str, password: str = PASSWORD):
    """Sign in through the login form; return the response."""
    page = client.get("/staff/login")
    return client.post("/staff/login", data={"email": email, "password": password,
                                             "csrf_token": csrf_from(page.text)})


def token(client, path: str = "/staff/") -> str:
    """Return a CSRF token from a staff page, for the next post."""
    return csrf_from(client.get(path).text)


AXE = (NODE / "axe-core" / "axe.min.js")


def axe_violations(page) -> list[str]:
    """Run axe-core on the page; return serious or critical violations as readable lines."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']]}"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


def maya() -> Therapist:
    """Return the demo practice's Maya Chen."""
    return db.session.scalar(sa.select(Therapist).where(Therapist.slug == "maya-chen"))


def rebind(host: str, port: int, monkeypatch) -> None:
    """Make `host` answer a public address to its first look-up (the check) and loopback to
    every later one (the connection), as a rebinding DNS server would."""
    real = socket.getaddrinfo
    answers = iter([[(socket.AF_INET, socket.SOCK_STREAM, 6, "",
                      ("93.184.216.34", port))]])

    def rebinding(name, *args, **kwargs):
        if name == host:
            try:
                return next(answers)
            except StopIteration:
                return real("127.0.0.1", *args, **kwargs)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
