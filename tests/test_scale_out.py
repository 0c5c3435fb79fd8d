"""Scale-out, proven: the production layout under load.

Two gunicorn servers (two sync workers each) and two email workers share one PostgreSQL
database, with rate limits in Redis and a real SMTP server. Two hundred people book through the
real pages from twenty concurrent browsers, each request going to the other server than the one
before; then twenty people race for one and the same time. No page fails, no time is given
twice, exactly one racer wins, and every email is delivered exactly once.

It always runs on PostgreSQL, so `make test` runs it once, in its first pass, and leaves it out of
the second.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests
import sqlalchemy as sa

from intake.appointments.models import ACTIVE_STATUSES, Appointment
from intake.clock import now_utc
from intake.extensions import db
from intake.mail.models import QUEUED, SENT, OutboxMessage
from intake.scheduling.services import open_times
from intake.scheduling.slots import GRID
from intake.therapists.models import Therapist
from tests.helpers import GOOD_ANSWERS, ROOT, free_port, slot_links, wait_for_port


@pytest.fixture
def backend():
    """PostgreSQL whatever the run's backend: the layout proved here is PostgreSQL's."""
    return "postgresql"

BOOKINGS = 200
CLIENTS = 20
RACERS = 20
INTAKE_LIMIT = 100_000
WARNING = "RATELIMIT_STORAGE_URI=redis://"
ZONES = ["Europe/London", "America/New_York", "America/Los_Angeles", "Asia/Tokyo"]

# Answers that put each accepting demo therapist among the three suggested on the match page
# (each of these modalities has exactly three accepting therapists), so booking them is what a
# person would do.
COUPLE = {}
INDIVIDUAL = {"kind": "individual", "partner_name": None}
ANSWERS_FOR = {
    "maya-chen": COUPLE,
    "sam-whitaker": COUPLE,
    "priya-raman": COUPLE,
    "daniel-okafor": {**INDIVIDUAL, "modality": "emdr", "concerns": ["trauma", "ptsd"]},
    "lucia-herrera": {**INDIVIDUAL, "modality": "emdr", "concerns": ["trauma"]},
    "camille-laurent": {**INDIVIDUAL, "modality": "cft", "concerns": ["shame", "self_criticism"]},
}


# ---------------------------------------------------------------- processes

class Processes:
    """Processes started by the test, each writing its output to a file; all stopped at the
    end."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.started: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        with (self.folder / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log,
                                       stderr=subprocess.STDOUT)
        self.started.append((name, process))
        return process

    def output(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    @staticmethod
    def stop(process: subprocess.Popen) -> None:
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

    def stop_all(self) -> None:
        for _, process in reversed(self.started):
            self.stop(process)


@pytest.fixture
def processes(tmp_path):
    running = Processes(tmp_path)
    try:
        yield running
    finally:
        running.stop_all()


def gunicorn(port: int) -> list[str]:
    """Return the README's production command, on `port`."""
    return [sys.executable, "-m", "gunicorn", "--workers", "2", "--worker-class", "sync",
            "--bind", f"127.0.0.1:{port}", "wsgi:app"]


def own_control_socket(env: dict[str, str], folder: Path) -> dict[str, str]:
    """Return `env` with a runtime folder of its own: gunicorn (25.1+) puts its control socket
    there, and several servers on one machine would otherwise share one path."""
    folder.mkdir()
    return {**env, "XDG_RUNTIME_DIR": str(folder)}


# ---------------------------------------------------------------- the plan

@dataclass(frozen=True)
class Visit:
    """One person's booking: whom, when, and the answers that lead to that therapist."""

    number: int
    slug: str
    starts_at: datetime
    zone: str

    def answers(self) -> dict:
        changes = {**ANSWERS_FOR[self.slug], "timezone": self.zone,
                   "name": f"Client {self.number}", "email": f"client{self.number}@client.example"}
        return {k: v for k, v in {**GOOD_ANSWERS, **changes}.items() if v is not None}


def bookable_times(therapist: Therapist, now: datetime) -> list[datetime]:
    """Return open times of the therapist that stay open whatever else of this list is booked
    meanwhile, in any order.

    Booking a time moves the later times of its working range onto the 15-minute grid after it.
    When a consultation and its buffer fill whole grid steps, nothing moves and every open time
    stays; otherwise only one time per working range is taken. Times near the minimum notice are
    left out, so none closes while the test runs.
    """
    buffer = timedelta(minutes=therapist.buffer_minutes)
    step = timedelta(minutes=therapist.consultation_minutes) + buffer
    start = now + timedelta(hours=therapist.min_notice_hours + 2)
    slots = open_times(therapist, start, now + timedelta(days=therapist.horizon_days), now)
    if step % GRID == timedelta(0):
        return [slot.starts_at for slot in slots]
    firsts, previous = [], None
    for slot in slots:
        if previous is None or slot.starts_at != previous.ends_at + buffer:
            firsts.append(slot.starts_at)
        previous = slot
    return firsts


def plan(now: datetime) -> tuple[list[Visit], list[Visit]]:
    """Return the bookings (distinct times, spread over therapists) and the racers (all for one
    time that no booking takes)."""
    therapists = db.session.scalars(
        sa.select(Therapist).where(Therapist.slug.in_(list(ANSWERS_FOR))).order_by(Therapist.id)).all()
    times = {t.slug: bookable_times(t, now) for t in therapists}
    race_slug = "daniel-okafor"
    race_time = times[race_slug].pop()
    racers = [Visit(1000 + n, race_slug, race_time, ZONES[n % len(ZONES)])
              for n in range(RACERS)]
    bookings: list[Visit] = []
    while len(bookings) < BOOKINGS:
        before = len(bookings)
        for slug, left in times.items():
            if left and len(bookings) < BOOKINGS:
                n = len(bookings)
                bookings.append(Visit(n, slug, left.pop(0), ZONES[n % len(ZONES)]))
        assert len(bookings) > before, "the demo practice has too few open times for the plan"
    return bookings, racers


# ---------------------------------------------------------------- a person's browser

HIDDEN = re.compile(r"<input\b[^>]*>")


def hidden_fields(html: str) -> dict[str, str]:
    """Return the name and value of every hidden input on a page, whatever the attribute
    order."""
    fields = {}
    for tag in HIDDEN.findall(html):
        attributes = dict(re.findall(r'(\w[\w-]*)="([^"]*)"', tag))
        if attributes.get("type") == "hidden" and "name" in attributes:
            fields[attributes["name"]] = attributes.get("value", "").replace("&amp;", "&")
    return fields


class Log:
    """Every response seen by every browser: page, status, time taken, rate-limit headers."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rows: list[tuple[str, int, float, str]] = []
        self.intake_remaining: list[int] = []

    def add(self, page: str, response: requests.Response) -> None:
        with self.lock:
            self.rows.append((page, response.status_code, response.elapsed.total_seconds(),
                              response.request.url))
            remaining = response.headers.get("X-RateLimit-Remaining")
            if page == "POST /intake" and remaining is not None:
                self.intake_remaining.append(int(remaining))

    def summary(self) -> str:
        by_page = defaultdict(list)
        for page, _, seconds, _ in self.rows:
            by_page[page].append(seconds)
        lines = []
        for page, seconds in by_page.items():
            seconds.sort()
            lines.append(f"{page:14} n={len(seconds):4} median={statistics.median(seconds):.3f}s "
                         f"p95={seconds[int(len(seconds) * 0.95) - 1]:.3f}s "
                         f"max={seconds[-1]:.3f}s")
        return "\n".join(lines)


class Browser:
    """One person's browser with its own cookies, sending each request to the next server."""

    def __init__(self, servers: list[str], first: int, log: Log):
        self.session = requests.Session()
        self.servers = servers
        self.turn = first
        self.log = log

    def send(self, page: str, method: str, path: str, **kwargs) -> requests.Response:
        server = self.servers[self.turn % len(self.servers)]
        self.turn += 1
        response = self.session.request(method, server + path, timeout=60,
                                        allow_redirects=False, **kwargs)
        self.log.add(page, response)
        return response


def redirect_path(response: requests.Response) -> str:
    """Return the path (and query) a redirect points to, on whichever server."""
    location = urlsplit(response.headers["Location"])
    return location.path + (f"?{location.query}" if location.query else "")


def kind_refusal(response: requests.Response) -> bool:
    """Return True for the kind page a lost race gets: 409, with other times offered."""
    return response.status_code == 409 and "Please choose another time" in response.text


def book(browser: Browser, visit: Visit, barrier: threading.Barrier | None = None):
    """Walk the real pages as a person: the intake's four steps, the match page, the
    therapist's week at the day of the time, the review page and the booking. Return
    ("booked", uid) or (why not, None)."""
    page = browser.send("GET /intake", "GET", "/intake")
    assert page.status_code == 200, page.text
    form = {**hidden_fields(page.text), **visit.answers(), "nav": "next"}
    for step in range(4):
        response = browser.send("POST /intake", "POST", "/intake",
                                data={**form, "step": str(step)})
        assert response.status_code == (303 if step == 3 else 200), response.text
    match_path = redirect_path(response)
    reference = re.search(r"/intake/([^/]+)/match", match_path).group(1)

    match = browser.send("GET match", "GET", match_path)
    assert match.status_code == 200, match.text
    assert f"/times/{visit.slug}?" in match.text, f"{visit.slug} is not suggested"

    zone = ZoneInfo(visit.zone)
    local_day = visit.starts_at.astimezone(zone).date()
    monday = local_day - timedelta(days=local_day.weekday())
    week = browser.send("GET times", "GET", f"/intake/{reference}/times/{visit.slug}",
                        params={"week": monday.isoformat(), "day": local_day.isoformat(),
                                "tz": visit.zone})
    assert week.status_code == 200, week.text
    offered = [link for link in slot_links(week.text)
               if datetime.fromisoformat(parse_qs(urlsplit(link).query)["start"][0])
               == visit.starts_at]
    if not offered:
        return "not offered", None

    review = browser.send("GET review", "GET", offered[0])
    if kind_refusal(review):
        return "taken before review", None
    assert review.status_code == 200, review.text
    action = re.search(r'<form method="post" action="([^"]+)"', review.text).group(1)
    if barrier is not None:
        barrier.wait(120)
    done = browser.send("POST book", "POST", action, data=hidden_fields(review.text))
    if kind_refusal(done):
        return "taken", None
    assert done.status_code == 303, done.text
    booked = browser.send("GET booked", "GET", redirect_path(done))
    assert booked.status_code == 200, booked.text
    return "booked", redirect_path(done).rsplit("/", 1)[1]


# ---------------------------------------------------------------- the test

def test_two_servers_and_two_workers_on_one_database_under_load(
        app, demo, database_url, redis_url, smtp_server, processes, tmp_path):
    began = time.monotonic()
    inbox, smtp_port = smtp_server
    now = now_utc()
    bookings, racers = plan(now)
    db.session.rollback()

    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("GUNICORN_", "RATELIMIT_", "MAIL_", "FLASK_"))}
    env.update({
        "DATABASE_URL": database_url, "SECRET_KEY": "scale-out-secret-" + "s" * 32,
        "RATELIMIT_STORAGE_URI": redis_url, "INTAKE_RATE_LIMIT": f"{INTAKE_LIMIT} per hour",
        "INTAKE_MIN_SECONDS": "0", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp_port),
        # Every simulated client books from this one machine, most with one email address.
        "BOOKINGS_PER_ADDRESS_PER_DAY": f"{INTAKE_LIMIT} per day",
        "BOOKINGS_PER_EMAIL_PER_DAY": str(INTAKE_LIMIT),
        "MAIL_DEFAULT_SENDER": "bookings@harbor.example", "STAFF_EMAIL": "desk@harbor.example",
        "WORKER_INTERVAL": "1", "PYTHONUNBUFFERED": "1",
    })
    ports = [free_port(), free_port(), free_port()]
    servers = [processes.start(f"web{n}", gunicorn(port),
                               own_control_socket(env, tmp_path / f"run-web{n}"))
               for n, port in enumerate(ports[:2])]
    # The same command with rate limits left in memory, only to read what it says at start.
    memory_env = {k: v for k, v in env.items() if k != "RATELIMIT_STORAGE_URI"}
    in_memory = processes.start("memory", gunicorn(ports[2]),
                                own_control_socket(memory_env, tmp_path / "run-memory"))
    workers = [processes.start(f"worker{n}", [sys.executable, "-m", "flask", "--app", "wsgi",
                                              "worker"], env)
               for n in range(2)]
    for port, server in zip(ports, [*servers, in_memory], strict=True):
        wait_for_port(port, server, "gunicorn", timeout=60)
    assert requests.get(f"http://127.0.0.1:{ports[2]}/", timeout=30).status_code == 200
    processes.stop(in_memory)
    assert WARNING in processes.output("memory"), processes.output("memory")
    urls = [f"http://127.0.0.1:{port}" for port in ports[:2]]
    started = time.monotonic()

    log = Log()
    with ThreadPoolExecutor(CLIENTS) as pool:
        outcomes = list(pool.map(
            lambda visit: book(Browser(urls, visit.number, log), visit), bookings))
    loaded = time.monotonic()
    barrier = threading.Barrier(RACERS)
    with ThreadPoolExecutor(RACERS) as pool:
        race = list(pool.map(
            lambda visit: book(Browser(urls, visit.number, log), visit, barrier), racers))
    raced = time.monotonic()

    print(f"\n{len(log.rows)} requests; {BOOKINGS} bookings in {loaded - started:.1f} s, "
          f"race in {raced - loaded:.1f} s\n{log.summary()}")
    failures = [row for row in log.rows if row[1] >= 500]
    assert not failures, failures[:10]

    # The database: one active appointment per time, the one each success was told about.
    db.session.rollback()
    doubled = db.session.execute(
        sa.select(Appointment.therapist_id, Appointment.starts_at, sa.func.count())
        .where(Appointment.status.in_(ACTIVE_STATUSES))
        .group_by(Appointment.therapist_id, Appointment.starts_at)
        .having(sa.func.count() > 1)).all()
    assert doubled == []
    active = set(db.session.scalars(
        sa.select(Appointment.uid).where(Appointment.status.in_(ACTIVE_STATUSES))))
    told = [uid for _, uid in outcomes + race if uid]
    assert sorted(told) == sorted(active)

    # Every planned time is distinct and stays open whatever else is booked (see
    # `bookable_times`), so each of the 200 must succeed: a refusal here is a bug.
    assert Counter(outcome for outcome, _ in outcomes) == {"booked": BOOKINGS}
    assert Counter(outcome for outcome, _ in race) == {"booked": 1, "taken": RACERS - 1}
    race_visit = racers[0]
    assert db.session.scalar(
        sa.select(sa.func.count()).select_from(Appointment).join(Therapist).where(
            Therapist.slug == race_visit.slug, Appointment.starts_at == race_visit.starts_at,
            Appointment.status.in_(ACTIVE_STATUSES))) == 1

    # Limits were counted in Redis, by all four web processes together.
    intake_posts = sum(1 for row in log.rows if row[0] == "POST /intake")
    assert min(log.intake_remaining) <= INTAKE_LIMIT - intake_posts * 0.9

    # Email: everything queued is delivered, each message exactly once.
    deadline = time.monotonic() + 60
    while True:
        db.session.rollback()
        rows = db.session.execute(
            sa.select(OutboxMessage.status, OutboxMessage.message_id)).all()
        queued = sum(1 for status, _ in rows if status == QUEUED)
        if not queued or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    drained = time.monotonic()
    assert queued == 0, f"{queued} of {len(rows)} emails still queued after 60 s"
    assert Counter(status for status, _ in rows) == {SENT: len(rows)}
    assert len(rows) >= 2 * len(active)
    received = [message["Message-ID"] for message in inbox.messages]
    assert len(received) == len(rows)
    assert set(received) == {message_id for _, message_id in rows}

    for worker in workers:
        assert worker.poll() is None, "an email worker stopped"
    processes.stop_all()
    for name in ("web0", "web1"):
        assert WARNING not in processes.output(name)
    for name in ("web0", "web1", "worker0", "worker1"):
        assert "Traceback" not in processes.output(name), processes.output(name)
    by_worker = {name: sum(int(n) for n in re.findall(r"email: (\d+) sent",
                                                      processes.output(name)))
                 for name in ("worker0", "worker1")}
    print(f"emails: {len(rows)} sent ({by_worker}), the last {drained - raced:.1f} s after the "
          f"race; whole test {time.monotonic() - began:.1f} s")
