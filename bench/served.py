"""The client's pages and the feed over HTTP at a group practice's scale, against a bare Flask
app served the same way in the same run.

For each database (SQLite, and PostgreSQL when its binaries are present) the practice is seeded
with 1,000 past appointments, every path is driven, then the history grows to 100,000 and every
path is driven again. Both apps run under gunicorn with the same settings (WORKERS sync workers)
and the same load generator (`wrk`, Debian's package). It prints one table; it asserts nothing.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

from intake import create_app
from intake.appointments.candidates import candidate_for, wish_for
from intake.appointments.models import ACTIVE_STATUSES, Appointment
from intake.clock import now_utc
from intake.extensions import db
from intake.intakes.models import Intake
from intake.matching import passes_filters
from intake.scheduling.services import upcoming_times
from intake.therapists.models import Therapist

from .scale import BENCH_SECRET, add_history, seed

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
WORKERS, THREADS, CONNECTIONS = 2, 2, 16
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
SMALL, LARGE = 1_000, 100_000
SESSIONS = 8  # browsers booking at once, each with its own session and form token
NO_LIMIT = "1000000 per minute"  # one load generator must not be told to slow down

REPORT = """
done = function(summary, latency, requests)
  local failed = summary.errors.connect + summary.errors.read + summary.errors.write
                 + summary.errors.timeout
  io.write(string.format("RESULT %d %d %d %d %d\\n", summary.requests, summary.duration,
                         latency:percentile(99), summary.errors.status, failed))
end
"""


@dataclass
class Result:
    """One path under load: requests per second, p99 latency, and the workers' memory."""

    rate: float
    p99_ms: float
    refused: int  # answers that were neither 2xx nor 3xx
    failed: int  # connections that broke or timed out
    rss_mib: float


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """`gunicorn -w WORKERS` serving `target` on a free port, with this project's settings."""

    def __init__(self, target: str, env: dict[str, str]):
        self.port = free_port()
        self.process = subprocess.Popen(
            [GUNICORN, "-w", str(WORKERS), "-k", "sync", "-b", f"127.0.0.1:{self.port}", target],
            cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"gunicorn {target} did not start")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def worker_rss_mib(self) -> float:
        """Return the largest resident memory of this server's worker processes, in MiB."""
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        sizes = []
        for child in children:
            status = Path(f"/proc/{child}/status").read_text()
            sizes.append(int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024)
        return max(sizes, default=0.0)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(20)


def drive(server: Gunicorn, path: str, headers: dict[str, str] | None = None,
          script: str = "") -> Result:
    """Return what `wrk` measured for `path` (after a short warm-up at the same load)."""
    folder = Path(tempfile.mkdtemp(prefix="intake-wrk-"))
    lua = folder / "run.lua"
    lua.write_text(script + REPORT)
    command = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", "-s", str(lua)]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    subprocess.run([*command, "-d1s", server.url(path)], capture_output=True, check=True)
    out = subprocess.run([*command, f"-d{SECONDS:g}s", server.url(path)], capture_output=True,
                         text=True, check=True).stdout
    shutil.rmtree(folder, ignore_errors=True)
    requests, duration, p99, refused, failed = map(
        int, re.search(r"RESULT (\d+) (\d+) (\d+) (\d+) (\d+)", out).groups())
    return Result(requests / (duration / 1e6), p99 / 1e3, refused, failed,
                  server.worker_rss_mib())


def answer(server: Gunicorn, path: str, headers: dict[str, str]) -> int:
    """Return the status of one GET of `path`."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", path, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


def booking_script(app, references: list[str]) -> tuple[str, dict]:
    """Return a wrk script that reviews then books open times across the practice, one browser
    session per group of intakes, and its first request's headers.

    Each session's cookie and form token are made the way a browser gets them: by opening a
    review page.
    """
    now = now_utc()
    with app.app_context():
        intake = db.session.scalar(sa.select(Intake).where(Intake.reference == references[0]))
        wish = wish_for(intake)
        # Maya Chen's times and feed are what the other paths read: her calendar is left as
        # it is, so both rounds read the same.
        fitting = [t for t in db.session.scalars(sa.select(Therapist).order_by(Therapist.id))
                   if passes_filters(candidate_for(t), wish) and t.slug != "maya-chen"]
        open_by = upcoming_times(fitting, now)
        slots = []
        for round_ in range(max(len(s) for s in open_by.values())):
            for therapist in fitting:
                if round_ < len(open_by[therapist.id]):
                    slots.append((therapist.slug, open_by[therapist.id][round_].starts_at))
    groups = [references[i::SESSIONS] for i in range(SESSIONS)]
    sessions = []
    for group in groups:
        client = app.test_client()
        with client.session_transaction() as session:
            session["intakes"] = group
        # Any page with a form gives the session its token (a review page shows none once
        # the session's intake has booked).
        page = client.get("/intake")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
        sessions.append({"cookie": f"session={client.get_cookie('session').value}",
                         "token": token.group(1), "refs": group})
    entries = []
    for n, (slug, start) in enumerate(slots):
        browser = sessions[n % SESSIONS]
        reference = browser["refs"][(n // SESSIONS) % len(browser["refs"])]
        when = start.isoformat().replace("+", "%2B")
        entries.append({
            "review": f"/intake/{reference}/book/{slug}?start={when}&tz=UTC",
            "book": f"/intake/{reference}/book/{slug}",
            "body": f"start={when}&tz=UTC&csrf_token={browser['token']}",
            "cookie": browser["cookie"]})
    script = """
local entries = ENTRIES
local threads, step, posting = THREADS, 0, false
local counter = 0
setup = function(thread) thread:set("id", counter); counter = counter + 1 end
init = function(args) step = id end
request = function()
  local e = entries[(step % #entries) + 1]
  if not posting then
    posting = true
    return wrk.format("GET", e.review, {Cookie = e.cookie})
  end
  posting = false
  step = step + threads
  local body = e.body .. "&key=k" .. id .. "-" .. step .. "-" .. math.random(1, 1e9)
  return wrk.format("POST", e.book, {Cookie = e.cookie,
    ["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
"""
    return script.replace("ENTRIES", _lua(entries)).replace("THREADS", str(THREADS)), {}


def _lua(value) -> str:
    """Return a JSON-like value as a Lua table literal."""
    if isinstance(value, list):
        return "{" + ",".join(_lua(v) for v in value) + "}"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}={_lua(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


def double_bookings(app) -> int:
    """Return how many pairs of active appointments of one therapist overlap."""
    a, b = sa.orm.aliased(Appointment), sa.orm.aliased(Appointment)
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(a).join(b, sa.and_(
            a.therapist_id == b.therapist_id, a.id < b.id, a.starts_at < b.ends_at,
            b.starts_at < a.ends_at)).where(
            a.status.in_(ACTIVE_STATUSES), b.status.in_(ACTIVE_STATUSES),
            a.starts_at >= now_utc() - timedelta(days=1)))


def bookings_since(app, since) -> int:
    """Return how many appointments were booked since `since`."""
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Appointment).where(
            Appointment.created_at >= since))


def settle(app) -> None:
    """Leave the database as a running practice's would be after bulk writes: statistics
    gathered and the write-ahead log folded in (PostgreSQL's autovacuum would otherwise do it
    in the middle of a measurement)."""
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
                conn.exec_driver_sql("CHECKPOINT")
        else:
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.session.remove()


def run_database(name: str, url: str) -> list[tuple[str, Result, Result | None, str]]:
    """Seed the practice on `url`, drive every path at both history sizes; return the rows."""
    env = {"DATABASE_URL": url, "SECRET_KEY": BENCH_SECRET, "INTAKE_RATE_LIMIT": NO_LIMIT,
           "FEED_RATE_LIMIT": NO_LIMIT, "BOOKINGS_PER_ADDRESS_PER_DAY": NO_LIMIT,
           "BOOKINGS_PER_EMAIL_PER_DAY": "1000000", "INTAKE_MIN_SECONDS": "0"}
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": BENCH_SECRET})
    with app.app_context():
        upgrade()
        # An intake books once from the pages (later sends are shown the booking it holds),
        # so there are enough for a run's bookings to be real ones.
        seeded = seed(now_utc(), therapists=50, history=SMALL, intakes=SESSIONS * 50)
        intake_id = db.session.scalar(sa.select(Intake.id).where(
            Intake.reference == seeded.references[0]))
        db.session.remove()
    first = seeded.references[0]
    client = app.test_client()
    client.get("/intake")  # a browser that filled an intake holds its form token too
    with client.session_transaction() as session:
        session["intakes"] = [first]
    cookie = {"Cookie": f"session={client.get_cookie('session').value}"}
    feed = f"/feeds/{seeded.feed_token}.ics"
    rows: dict[str, list] = {}
    for history in (SMALL, LARGE):
        if history == LARGE:
            with app.app_context():
                add_history(intake_id, LARGE - SMALL, now_utc(), first=SMALL)
                db.session.remove()
        settle(app)
        with app.app_context():
            etag = client.get(feed).headers["ETag"]
            db.session.remove()
        paths = [
            ("home", "/", {}),
            ("intake (first step)", "/intake", {}),
            ("match", f"/intake/{first}/match", cookie),
            ("times", f"/intake/{first}/times/maya-chen", cookie),
            ("feed, full", feed, {}),
            ("feed, 304", feed, {"If-None-Match": etag}),
        ]
        bare = Gunicorn("bench.bare:app", {"DATABASE_URL": url})
        server = Gunicorn("wsgi:app", env)
        try:
            for label, path, headers in paths:  # each path answers as it should before timing
                status = answer(server, path, headers)
                expected = 304 if "If-None-Match" in headers else 200
                if status != expected:
                    raise RuntimeError(f"{label}: {status} instead of {expected}")
            base = drive(bare, "/")
            rows.setdefault("bare Flask, one read", [base]).append(drive(bare, "/read"))
            for label, path, headers in paths:
                result = drive(server, path, headers)
                rows.setdefault(label, [base]).append(result)
            script, headers = booking_script(app, seeded.references)
            since = now_utc()
            result = drive(server, "/", headers, script)
            made = bookings_since(app, since)
            rows.setdefault("review + book", [base]).append(
                Result(result.rate / 2, result.p99_ms, result.refused, result.failed,
                       result.rss_mib))
            rows.setdefault("bookings made", []).append(made)
        finally:
            server.stop()
            bare.stop()
    doubles = double_bookings(app)
    table = []
    for label, values in rows.items():
        if label == "bookings made":
            continue
        base, small, large = values[0], values[1], values[2]
        table.append((label, base, small, large, f"{doubles} double bookings"
                      if label == "review + book" else ""))
    print(f"\n{name}: {rows['bookings made'][-1]} bookings made in the last booking run, "
          f"{doubles} double bookings")
    return table


def print_table(name: str, table) -> None:
    """Print one database's rows: rate, ratio to bare, p99, worker RSS, large vs small."""
    print(f"\n{name} (gunicorn -w {WORKERS} sync; wrk -t{THREADS} -c{CONNECTIONS} "
          f"-d{SECONDS:g}s; 100,000 past appointments; 50 therapists)")
    print(f"{'path':22} {'req/s':>8} {'vs bare':>8} {'p99 ms':>8} {'RSS MiB':>8} "
          f"{'100k/1k':>8} {'refused':>8}")
    base = table[0][1]
    print(f"{'bare Flask':22} {base.rate:8.0f} {1:8.2f}x {base.p99_ms:8.1f} "
          f"{base.rss_mib:8.1f}")
    for label, bare, small, large, _ in table:
        print(f"{label:22} {large.rate:8.0f} {large.rate / bare.rate:8.2f}x "
              f"{large.p99_ms:8.1f} {large.rss_mib:8.1f} {small.rate / large.rate:8.2f} "
              f"{large.refused:8d}")


def main() -> None:
    if not shutil.which("wrk"):
        print("The HTTP benchmark needs wrk: apt-get install wrk")
        return
    folder = Path(tempfile.mkdtemp(prefix="intake-bench-http-"))
    print_table("SQLite", run_database("SQLite", f"sqlite:///{folder / 'bench.db'}"))
    if shutil.which("initdb") and shutil.which("pg_ctl"):
        from tests.helpers import Postgres

        server = Postgres()
        server.start()
        try:
            print_table("PostgreSQL", run_database("PostgreSQL", server.new_database()))
        finally:
            server.stop()
    else:
        print("PostgreSQL's binaries (initdb, pg_ctl) are not here: SQLite only.")


if __name__ == "__main__":
    main()
